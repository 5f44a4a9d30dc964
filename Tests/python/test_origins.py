"""Which pages may open a WebSocket when the gateway listens beyond loopback. Without --allowed-origin
the origin check used to compare the Origin with the request's own Host header, which a DNS-rebinding
page controls (its name resolves to the server, so Origin and Host agree). Beyond loopback the gateway
now needs --public-origin (or --allowed-origin) and refuses to start without, saying what to pass;
on loopback the Host-based default stays.
"""
import json
import subprocess

from support.cluster import Cluster
from support.processes import REPO, STATIC_DIR, binary, free_port, skip_if_external
from support.tls import tcp_from, upgrade


def test_beyond_loopback_without_an_origin_the_gateway_refuses_to_start_and_says_what_to_pass(tmp_path):
    result = subprocess.run(
        [binary("Gateway"), "--host", "0.0.0.0", "--port", "0", "--static-dir", STATIC_DIR,
         "--broker-commands", f"ipc://{tmp_path}/c", "--broker-broadcasts", f"ipc://{tmp_path}/b"],
        capture_output=True, text=True, timeout=30, cwd=REPO)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "--public-origin" in output and "https://chat.example.com" in output, output


def test_with_a_public_origin_a_rebound_host_is_refused_and_loopback_keeps_the_host_check():
    skip_if_external("starts its own gateways")
    with Cluster("origins", links="ipc") as cluster:
        cluster.start_broker()
        public_port, loopback_port = free_port(), free_port()
        public = f"http://chat.test:{public_port}"
        cluster.add_gateway("--public-origin", public, host="0.0.0.0", port=public_port)
        cluster.add_gateway(port=loopback_port)  # 127.0.0.1, no origin option
        for port in (public_port, loopback_port):
            cluster.wait_healthy(f"http://127.0.0.1:{port}")

        # A page of rebound.example, whose name now resolves to this server: Host and Origin agree.
        rebound = f"rebound.example:{public_port}"
        with tcp_from("127.0.0.1", public_port) as sock:
            status, body = upgrade(sock, rebound, [f"Origin: http://{rebound}"])
        assert status == 403 and json.loads(body)["code"] == "origin_not_allowed", (status, body)
        # The page of the public origin gets in, whatever Host it came by.
        with tcp_from("127.0.0.1", public_port) as sock:
            assert upgrade(sock, f"127.0.0.1:{public_port}", [f"Origin: {public}"])[0] == 101

        # Loopback only: the server's own origin (from Host) as before.
        own = f"127.0.0.1:{loopback_port}"
        with tcp_from("127.0.0.1", loopback_port) as sock:
            assert upgrade(sock, own, [f"Origin: http://{own}"])[0] == 101
        with tcp_from("127.0.0.1", loopback_port) as sock:
            assert upgrade(sock, own, ["Origin: http://elsewhere.example"])[0] == 403
