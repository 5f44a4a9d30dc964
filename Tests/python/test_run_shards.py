"""scripts/run --shards 2: two broker pairs, each owning the rooms of its shard (SipHash-2-4 of the name
under the run's own placement key, mod 2), behind two gateways on one port; with --metrics-port, each
broker's Prometheus metrics name its shard and role."""
import os
import signal
import subprocess
import time

import pytest
import requests

from support.clients import close_all
from support.processes import REPO, free_consecutive_ports, free_port, skip_if_external
from support.scripts_run import SCRIPT, RunScript, chatter


@pytest.fixture
def sharded():
    skip_if_external("tests the start script, not a running server")
    metrics_port = free_consecutive_ports(4)
    with RunScript(extra=["--shards", "2", "--metrics-port", str(metrics_port)]) as script:
        script.metrics_port = metrics_port
        yield script


def _created_by(script, label, room):
    """Whether the broker `label` logged the creation of `room`."""
    return any(line.startswith(f"{label} |") and " create " in line and f" room={room} " in line + " "
               for line in script.output)


def _wait_metric(port, sample, value=1.0, timeout=10):
    """Waits until broker metrics on `port` show `sample` (with its labels) at `value`; returns whether."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            if any(line == f"{sample} {value}" or line == f"{sample} {int(value)}" for line in text.splitlines()):
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


def test_each_shard_pair_serves_its_rooms_and_its_standby_takes_over(sharded):
    url = sharded.url
    for label in ("broker-0a", "broker-0b", "broker-1a", "broker-1b"):
        assert sharded.seen(lambda line, label=label: line.startswith(f"{label} |") and " listening " in line, 10), sharded.text()
    clients, passwords = [], {}
    try:
        # 32 rooms: with the run's random key, both shards get some (all on one: odds 2^-31).
        for index in range(32):
            room = f"room-{index}"
            created = requests.post(f"{url}/api/rooms", json={"name": "owner", "room": room}, timeout=5)
            assert created.status_code == 201, created.text
            passwords[room] = created.json()["password"]
        owners = {}
        for room in passwords:
            assert sharded.seen(lambda line, room=room: _created_by(sharded, "broker-0a", room)
                                or _created_by(sharded, "broker-1a", room), 5), sharded.text()
            owners[room] = [label for label in ("broker-0a", "broker-1a") if _created_by(sharded, label, room)]
            assert len(owners[room]) == 1, f"{room} created by {owners[room]}"
        random = next(room for room, labels in owners.items() if labels == ["broker-0a"])
        lobby = next(room for room, labels in owners.items() if labels == ["broker-1a"])
        for room in (random, lobby):
            clients.append(chatter(url, f"owner-{room}", room, passwords[room])[0])
        listed = requests.get(f"{url}/api/rooms", timeout=5).json()
        assert {random, lobby} <= {entry["room"] for entry in listed["rooms"]}, listed

        # --metrics-port P: broker-0a on P, broker-0b on P+1, broker-1a on P+2, broker-1b on P+3.
        port = sharded.metrics_port
        assert _wait_metric(port, 'chat_broker_shard{index="0",count="2"}'), "broker-0a's metrics"
        assert _wait_metric(port + 2, 'chat_broker_shard{index="1",count="2"}'), "broker-1a's metrics"
        assert _wait_metric(port + 2, 'chat_broker_role{role="active"}'), "broker-1a active"
        assert _wait_metric(port + 3, 'chat_broker_role{role="standby"}'), "broker-1b standby"

        # Shard 1's active broker dies: its standby takes over with its room; shard 0 goes on.
        assert sharded.seen(lambda line: line.startswith("broker-1a") and "standby-in-sync" in line, 10), sharded.text()
        os.kill(sharded.pids()["broker-1a"], signal.SIGKILL)
        assert sharded.read_until(lambda line: line.startswith("broker-1b") and "broker active" in line, 10), sharded.text()
        late, _, _ = chatter(url, "late", lobby, passwords[lobby])
        clients.append(late)
        assert "seq" in late.call("message", {"room": lobby, "text": "after the takeover"}, timeout=5)
        assert "seq" in clients[0].call("message", {"room": random, "text": "shard 0 goes on"}, timeout=5)
        assert _wait_metric(port + 3, 'chat_broker_role{role="active"}'), "broker-1b active after the takeover"
    finally:
        close_all(clients)


def test_shards_with_connection_state_recovery_are_refused_at_once():
    result = subprocess.run(
        [str(SCRIPT), "--debug", "--shards", "2", "--connection-state-recovery", "--port", str(free_port())],
        cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "--connection-state-recovery works with one shard only" in result.stderr, result.stderr
