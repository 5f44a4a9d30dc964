"""The proxy way to TLS: Debian's nginx, configured by deploy/nginx.conf itself (rendered to free ports,
a temp folder and a test certificate), in front of two gateways that trust only nginx's address
(--trusted-proxy 127.0.0.1) for client addresses. Clients come from 127.0.0.2 and 127.0.0.3: the
gateways' per-address limits and log lines must see those addresses, not nginx's, and nobody can
choose their address by sending X-Forwarded-For or Forwarded themselves.
"""
import json
import re
import subprocess

import pytest
import requests
import socketio

from support.clients import TIMEOUT, create_room, join, member_pool
from support.cluster import Cluster
from support.processes import REPO, free_port
from support.tls import MemberFrom, make_certificate, nginx_binary, tcp_from, tls_from, upgrade

# The test certificate is self-signed: not verifying it is the point.
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

DEPLOY_CONF = REPO / "deploy" / "nginx.conf"
PER_ADDRESS = 2  # the gateways' --max-connections-per-address here


def render_nginx_conf(directory, https_port, http_port, gateway_ports, cert, key):
    """deploy/nginx.conf with its CHANGE lines set for this test, and every path in `directory`."""
    temp_paths = "".join(f"    {kind}_temp_path {directory}/{kind}_temp;\n"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    replacements = [
        (r"(?m)^worker_processes auto;", "worker_processes 1;", 1),
        (r"worker_connections \d+;", "worker_connections 1024;", 1),
        (r"(?m)^[ \t]*listen \[::\]:\d+( ssl)?;\n", "", 2),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};", 1),
        (r"listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;", 1),
        (r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", 1),
        (r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", 1),
        (r"access_log \S+;", f"access_log {directory}/access.log;", 1),
        (r"server 127\.0\.0\.1:8081 ", f"server 127.0.0.1:{gateway_ports[0]} ", 1),
        (r"server 127\.0\.0\.1:8082 ", f"server 127.0.0.1:{gateway_ports[1]} ", 1),
        (r"(?m)^http \{\n", "http {\n" + temp_paths, 1),
    ]
    text = DEPLOY_CONF.read_text()
    for pattern, replacement, count in replacements:
        text, n = re.subn(pattern, lambda _: replacement, text)
        assert n == count, f"deploy/nginx.conf changed shape: /{pattern}/ matched {n} times, not {count}"
    return text


class Proxied:
    """A broker, two gateways on loopback (one port each) and nginx in front of them."""

    def __init__(self, cluster, nginx):
        self.cluster = cluster
        directory = cluster.directory
        self.cert, self.key = make_certificate(directory)
        cluster.start_broker()
        for _ in range(2):
            cluster.add_gateway("--trusted-proxy", "127.0.0.1", "--max-connections-per-address", PER_ADDRESS)
        self.gateway_ports = [gateway.port for gateway in cluster.gateways]
        cluster.wait_healthy()

        self.https_port, self.http_port = free_port(), free_port()
        conf = directory / "nginx.conf"
        conf.write_text(render_nginx_conf(directory, self.https_port, self.http_port, self.gateway_ports,
                                          self.cert, self.key))
        args = [nginx, "-p", f"{directory}/", "-c", conf, "-e", "stderr",
                "-g", f"daemon off; pid {directory}/nginx.pid;"]
        check = subprocess.run([str(a) for a in args] + ["-t"], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, f"nginx -t refused the rendered deploy/nginx.conf:\n{check.stderr}"
        cluster.start("nginx", args)
        self.url = f"https://127.0.0.1:{self.https_port}"
        cluster.wait_healthy(self.url)


@pytest.fixture(scope="module")
def proxied():
    nginx = nginx_binary()
    if not nginx:
        pytest.skip("nginx is not installed (scripts/test installs Debian's nginx)")
    with Cluster("nginx", links="ipc") as cluster:
        yield Proxied(cluster, nginx)


@pytest.fixture
def member_from(proxied):
    """member_from(source) -> a python-socketio client through nginx (wss://) from `source`."""
    yield from member_pool(lambda source: source, make=lambda source: MemberFrom(proxied.https_port, source))


def refused_upgrade(sock, host, headers=()):
    status, body = upgrade(sock, host, headers)
    return status == 429 and json.loads(body)["code"] == "too_many_connections"


def test_clients_chat_through_nginx_and_each_address_has_its_own_limit(proxied, member_from):
    page = requests.get(proxied.url + "/", timeout=TIMEOUT, verify=False)
    assert page.status_code == 200 and "<html" in page.text.lower()

    # Two connections from 127.0.0.2 and one from 127.0.0.3 chat in one room.
    ann = member_from("127.0.0.2")
    room, password = create_room(ann, "ann")
    join(ann, room, password, "ann")
    ann_phone = member_from("127.0.0.2")
    join(ann_phone, room, password, "ann-phone")
    bob = member_from("127.0.0.3")
    join(bob, room, password, "bob")
    ann.call("message", {"room": room, "text": "hello from 127.0.0.2"})
    assert bob.wait_for("message", lambda m: m["text"] == "hello from 127.0.0.2")["name"] == "ann"
    bob.call("message", {"room": room, "text": "hello from 127.0.0.3"})
    assert ann.wait_for("message", lambda m: m["text"] == "hello from 127.0.0.3")["name"] == "bob"
    assert ann_phone.wait_for("message", lambda m: m["text"] == "hello from 127.0.0.3")

    # A third connection from 127.0.0.2 is refused, whatever forwarding headers it sends itself.
    host = f"127.0.0.1:{proxied.https_port}"
    for headers in ([], ["X-Forwarded-For: 203.0.113.7"], ["Forwarded: for=203.0.113.8"], ["X-Real-IP: 203.0.113.9"]):
        with tls_from("127.0.0.2", proxied.https_port) as sock:
            assert refused_upgrade(sock, host, headers), f"a third connection from 127.0.0.2 got in with {headers}"
    with pytest.raises(socketio.exceptions.ConnectionError):
        member_from("127.0.0.2")

    # 127.0.0.3 still gets its second connection.
    bob_phone = member_from("127.0.0.3")
    join(bob_phone, room, password, "bob-phone")
    assert ann.wait_for("joined", lambda e: e["name"] == "bob-phone")

    # The gateways' log lines name the clients, not nginx, and never a forged address.
    gateways = proxied.cluster.gateways
    for pattern in (r" connect .*client=127\.0\.0\.2\b", r" connect .*client=127\.0\.0\.3\b",
                    r" limited client=127\.0\.0\.2 limit=connections_per_address"):
        logs = proxied.cluster.wait_log(gateways, pattern)
    assert "203.0.113." not in logs


def test_a_forged_x_forwarded_for_sent_to_a_gateway_directly_counts_under_the_sender(proxied):
    port = proxied.gateway_ports[0]
    host = f"127.0.0.1:{port}"
    held = []
    try:
        for i in range(PER_ADDRESS):
            sock = tcp_from("127.0.0.4", port)
            held.append(sock)
            status, body = upgrade(sock, host, [f"X-Forwarded-For: 203.0.113.{20 + i}"])
            assert status == 101, body
        sock = tcp_from("127.0.0.4", port)
        held.append(sock)
        assert refused_upgrade(sock, host, ["X-Forwarded-For: 203.0.113.30", "Forwarded: for=203.0.113.31"]), \
            "a client that is not the proxy chose its address with X-Forwarded-For"
    finally:
        for sock in held:
            sock.close()
    log = proxied.cluster.wait_log(proxied.cluster.gateways[:1], r" limited client=127\.0\.0\.4 limit=connections_per_address")
    assert "203.0.113." not in log


def test_ipv6_clients_are_counted_under_their_slash_56_and_slash_48_too(proxied):
    # The proxy's address (127.0.0.1) is trusted: X-Forwarded-For names the client. 16 clients, each
    # from its own /64 of one /56, within their own budget (2 each): the /56's budget (4 × 2) runs out.
    port = proxied.gateway_ports[1]
    host = f"127.0.0.1:{port}"
    held, statuses = [], []
    try:
        for subnet in range(16):
            sock = tcp_from("127.0.0.1", port)
            held.append(sock)
            status, _ = upgrade(sock, host, [f"X-Forwarded-For: 2001:db8:7:{subnet:x}::1"])
            statuses.append(status)
        # Another /56 of the same /48 still has room.
        sock = tcp_from("127.0.0.1", port)
        held.append(sock)
        other_site, _ = upgrade(sock, host, ["X-Forwarded-For: 2001:db8:7:100::1"])
    finally:
        for sock in held:
            sock.close()
    assert statuses == [101] * (4 * PER_ADDRESS) + [429] * (16 - 4 * PER_ADDRESS), statuses
    assert other_site == 101
    proxied.cluster.wait_log(proxied.cluster.gateways[1:], r" limited client=2001:db8:7::/56 limit=connections_per_address")


def test_plain_http_is_redirected_to_https(proxied):
    r = requests.get(f"http://127.0.0.1:{proxied.http_port}/", allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 301 and r.headers["Location"].startswith("https://127.0.0.1/"), r.headers


def test_the_admin_pages_are_not_reachable_through_nginx(proxied):
    """/status, /status.json and /metrics show broker endpoints, gateway ids and room names: through the
    proxy (the public side) they answer 404; the gateways' admin listeners serve them."""
    for path in ("/status", "/status.json", "/metrics", "/metrics?x=1", "/status.json/"):
        answer = requests.get(f"{proxied.url}{path}", verify=False, timeout=TIMEOUT)
        assert answer.status_code == 404, f"{path} through nginx: {answer.status_code} {answer.text[:200]}"
        assert "chat_gateway_" not in answer.text and "brokers" not in answer.text, answer.text[:200]
    for gateway in proxied.cluster.gateways:
        assert requests.get(f"{gateway.admin_url}/status.json", timeout=TIMEOUT).json()["brokers"]
        assert "chat_gateway_" in requests.get(f"{gateway.admin_url}/metrics", timeout=TIMEOUT).text
    assert requests.get(f"{proxied.url}/healthz", verify=False, timeout=TIMEOUT).status_code == 200
