"""Operations through the real processes: the brokers' Prometheus /metrics and the gateways' /status.

A broker pair (each with --metrics on its own listener) and two gateways on two ports, each given both
brokers and an --admin listener. python-socketio members chat; the test then reads what an operator would:
the numbers on each broker's /metrics, and /status.json and /status on a gateway's admin listener (the
active and the standby, the rooms and members here, the gateways the active broker knows). Those pages
are on the admin listener only: the client port answers them 404. Hammering /status costs the brokers at
most one `status` command per second per gateway.
"""
import socket
import time

import pytest
import requests

from support.clients import TIMEOUT, create_room, join, member_pool
from support.cluster import Cluster
from support.processes import free_port, skip_if_external


class Operated(Cluster):
    """broker-a (primary) and broker-b (backup), each with --metrics, and gateways gw-1, gw-2 on two ports."""

    def __init__(self, tag):
        super().__init__(tag, pair=True)
        self.metrics_ports = {side: free_port() for side in self.sides}
        try:
            for side in self.sides:
                self.start_broker(side, "--metrics", f"127.0.0.1:{self.metrics_ports[side]}")
            for index in (1, 2):
                port = free_port()
                self.add_gateway("--gateway-id", f"gw-{index}", "--allowed-origin", f"http://127.0.0.1:{port}", port=port)
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise

    def metrics_url(self, side):
        return f"http://127.0.0.1:{self.metrics_ports[side]}/metrics"

    def metrics(self, side):
        """Broker `side`'s samples: {'name{label="value"}': float}."""
        response = requests.get(self.metrics_url(side), timeout=2)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        samples = {}
        for line in response.text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        return samples

    def wait_metrics(self, side, expected, timeout=TIMEOUT):
        """Waits until every sample of `expected` has its value (gauges are set twice a second)."""
        deadline = time.monotonic() + timeout
        while True:
            samples = self.metrics(side)
            wrong = {name: samples.get(name) for name, value in expected.items() if samples.get(name) != value}
            if not wrong:
                return samples
            if time.monotonic() > deadline:
                pytest.fail(f"broker {side}: expected {expected}, got {wrong}")
            time.sleep(0.1)

    def status(self, index, predicate=lambda s: True, timeout=TIMEOUT):
        """Gateway `index`'s /status.json once `predicate` holds for it."""
        deadline = time.monotonic() + timeout
        while True:
            response = requests.get(f"{self.admin_urls[index]}/status.json", timeout=3)
            assert response.status_code == 200, response.text
            status = response.json()
            if predicate(status):
                return status
            if time.monotonic() > deadline:
                pytest.fail(f"gateway {index + 1}'s status never matched: {status}")
            time.sleep(0.2)


@pytest.fixture
def cluster(request):
    skip_if_external("starts its own broker pair")
    with Operated("ops-" + request.node.name[:40]) as c:
        yield c


@pytest.fixture
def members(cluster):
    yield from member_pool(lambda index: cluster.urls[index])


def states(status):
    return [broker["state"] for broker in status["brokers"]]


def test_metrics_and_status_show_what_the_chat_did(cluster, members):
    alice, bob = members(0), members(1)
    room, password = create_room(alice)
    join(alice, room, password, "alice")
    join(bob, room, password, "bob")
    for n in range(3):
        assert "seq" in alice.call("message", {"room": room, "text": f"hello {n}"})

    active = cluster.wait_metrics("a", {
        'chat_broker_role{role="active"}': 1, 'chat_broker_role{role="standby"}': 0, "chat_broker_term": 1,
        "chat_broker_rooms": 1, "chat_broker_members": 2, "chat_broker_connected_members": 2, "chat_broker_gateways": 2,
        'chat_broker_replication{state="standby_in_sync"}': 1, "chat_broker_replication_held_outputs": 0,
    })
    assert active['chat_broker_commands_total{kind="message"}'] == 3
    assert active['chat_broker_commands_total{kind="join"}'] == 2
    assert active['chat_broker_commands_total{kind="create"}'] == 1
    assert active['chat_broker_broadcasts_total{kind="message"}'] == 3
    assert active['chat_broker_broadcasts_total{kind="joined"}'] == 2
    assert active['chat_broker_replies_total{code="ok"}'] >= 6
    assert active['chat_broker_replies_total{code="wrong_password"}'] == 0
    assert 0 <= active["chat_broker_replication_since_last_milliseconds"] < 2_000
    # What the state uses of each budget, with the bound where there is one in total.
    assert active['chat_broker_budget_used{budget="rooms"}'] == 1
    assert active['chat_broker_budget_limit{budget="rooms"}'] == 10_000
    assert active['chat_broker_budget_used{budget="message-keys"}'] == 3
    assert active['chat_broker_budget_used{budget="disconnected-members"}'] == 0
    # Log lines the output had to drop, by lane: none here, but the counters are there to alert on.
    assert active['chat_log_dropped_lines_total{lane="urgent"}'] == 0
    assert 'chat_log_dropped_lines_total{lane="urgent"} 0' in requests.get(f"{cluster.admin_urls[0]}/metrics", timeout=3).text
    bad = members(1).call("join", {"room": room, "password": "wrong-password", "name": "eve"})
    assert bad["code"] == "wrong_password"
    cluster.wait_metrics("a", {'chat_broker_replies_total{code="wrong_password"}': 1})

    # The standby holds a copy of the rooms, serves nobody, and counts no chat.
    standby = cluster.wait_metrics("b", {
        'chat_broker_role{role="standby"}': 1, 'chat_broker_role{role="active"}': 0, "chat_broker_rooms": 1,
        "chat_broker_members": 2, 'chat_broker_replication{state="following"}': 1,
    })
    assert standby['chat_broker_commands_total{kind="message"}'] == 0

    # Each gateway shows itself, both brokers and the gateways the active broker knows.
    status = cluster.status(0, lambda s: states(s) == ["active", "standby"] and s["gatewayCount"] == 2)
    assert status["gateway"]["id"] == "gw-1"
    assert status["gateway"]["connections"] == 1
    assert status["gateway"]["rooms"] == [{"room": room, "members": 1}]
    assert [b["endpoint"] for b in status["brokers"]] == [cluster.endpoint("a", "commands"), cluster.endpoint("b", "commands")]
    assert [b["term"] for b in status["brokers"]] == [1, 1]
    assert status["brokers"][0]["replication"]["state"] == "standby_in_sync"
    assert status["brokers"][1]["replication"]["state"] == "following"
    assert all(b["lastHeardMs"] < 3_000 for b in status["brokers"])
    assert [(g["id"], g["members"]) for g in status["gateways"]] == [("gw-1", 1), ("gw-2", 1)]
    budgets = {b["name"]: b for b in status["brokers"][0]["budgets"]}
    assert budgets["rooms"] == {"name": "rooms", "used": 1, "limit": 10_000}
    assert budgets["stored-bytes"]["limit"] == 512 << 20

    page = requests.get(f"{cluster.admin_urls[1]}/status", timeout=3)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"].startswith("default-src 'none'; style-src 'sha256-")
    assert "<script" not in page.text.lower()
    assert '<span class="state active">active</span>' in page.text
    assert '<span class="state standby">standby</span>' in page.text
    assert f"<code>{room}</code>" in page.text
    assert "Budgets of the active broker" in page.text and "<code>message-keys</code>" in page.text


def test_hammering_status_costs_the_brokers_one_request_per_second(cluster):
    cluster.status(0, lambda s: states(s) == ["active", "standby"])
    before = {side: cluster.metrics(side)['chat_broker_commands_total{kind="status"}'] for side in "ab"}
    started = time.monotonic()
    for _ in range(30):
        assert requests.get(f"{cluster.admin_urls[0]}/status.json", timeout=3).status_code == 200
    seconds = time.monotonic() - started
    for side in "ab":
        asked = cluster.metrics(side)['chat_broker_commands_total{kind="status"}'] - before[side]
        assert asked <= seconds + 2, f"broker {side} was asked {asked} times in {seconds:.1f} s"


def test_status_and_metrics_are_served_on_the_admin_listener_only(cluster):
    """What the status pages show (broker endpoints, gateway ids, room names) never reaches the client
    port, which a proxy forwards to the internet; the admin listener serves them and nothing else."""
    cluster.status(0, lambda s: states(s) == ["active", "standby"])
    client, admin = cluster.urls[0], cluster.admin_urls[0]
    for path in ("/status", "/status.json", "/metrics"):
        answer = requests.get(f"{client}{path}", timeout=3)
        assert answer.status_code == 404, f"{path} on the client port: {answer.status_code} {answer.text[:200]}"
        assert "broker" not in answer.text and "chat_" not in answer.text, answer.text[:200]
        assert requests.get(f"{admin}{path}", timeout=3).status_code == 200, path
    assert "chat_gateway_" in requests.get(f"{admin}/metrics", timeout=3).text
    assert cluster.endpoint("a", "commands") in requests.get(f"{admin}/status.json", timeout=3).text
    # The admin listener serves those pages only, read-only.
    for path in ("/", "/healthz", "/api/rooms", "/status/", "/index.html"):
        assert requests.get(f"{admin}{path}", timeout=3).status_code == 404, path
    refused = requests.post(f"{admin}/status.json", data=b"{}", timeout=3)
    assert refused.status_code == 405 and refused.headers["allow"] == "GET"
    # The client port still serves the clients.
    assert requests.get(f"{client}/healthz", timeout=3).status_code == 200


def test_a_killed_active_shows_as_unreachable_and_the_standby_takes_over(cluster, members):
    alice = members(0)
    room, password = create_room(alice)
    join(alice, room, password, "alice")
    cluster.status(0, lambda s: states(s) == ["active", "standby"])
    cluster.kill(cluster.brokers["a"])
    deadline = time.monotonic() + 10
    while "seq" not in (ack := alice.call("message", {"room": room, "text": "after", "id": "after-1"})):
        assert time.monotonic() < deadline, ack
        time.sleep(0.2)
    cluster.wait_metrics("b", {'chat_broker_role{role="active"}': 1, "chat_broker_term": 2,
                               'chat_broker_replication{state="standby_absent"}': 1, "chat_broker_rooms": 1})
    status = cluster.status(0, lambda s: states(s) == ["unreachable", "active"], timeout=10)
    assert status["brokers"][1]["term"] == 2
    assert status["gatewayCount"] == 2


def test_the_metrics_listener_answers_only_get_metrics_and_bounds_requests(cluster):
    base = cluster.metrics_url("a").rsplit("/", 1)[0]
    assert requests.get(f"{base}/", timeout=2).status_code == 404
    assert requests.get(f"{base}/metrics/x", timeout=2).status_code == 404
    refused = requests.post(f"{base}/metrics", data=b"", timeout=2)
    assert refused.status_code == 405 and refused.headers["allow"] == "GET"

    # A request head larger than any scraper sends is cut off, not parsed.
    with socket.create_connection(("127.0.0.1", cluster.metrics_ports["a"]), timeout=3) as raw:
        try:
            raw.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 20_000 + b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while chunk := raw.recv(65536):
                answer += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    assert not answer.startswith(b"HTTP/1.1 200"), answer[:200]
    # The listener still serves.
    assert "chat_broker_rooms" in requests.get(cluster.metrics_url("a"), timeout=2).text
