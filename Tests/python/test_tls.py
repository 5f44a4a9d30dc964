"""TLS on the gateway (--tls-cert / --tls-key): the page over https://, chat over wss://, with a
certificate that openssl makes for the test; nothing in clear on that port; a TLS handshake that never
finishes is bounded by --request-timeout; bad flags (and a key others may read) stop the gateway with an
error naming the fix; SIGHUP serves a renewed certificate without a restart.
"""
import hashlib
import json
import re
import signal
import ssl
import subprocess

import pytest
import requests
from selenium.webdriver.common.keys import Keys

from support.browser import (WAIT, by_id, members, messages, open_chat_page, quit_checking_errors, set_value, shown,
                             wait_until)
from support.clients import join, unique
from support.cluster import Cluster
from support.processes import REPO, binary, poll_until
from support.tls import MemberFrom, closed_by_peer, make_certificate, tcp_from, tls_from, upgrade

# The test certificate is self-signed: not verifying it is the point.
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

REQUEST_TIMEOUT = 2  # the gateway's --request-timeout here, in seconds


class TLSGateway:
    """A broker and one gateway with --tls-cert and --tls-key (a certificate made for the test)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.cert, self.key = make_certificate(cluster.directory)
        cluster.start_broker()
        gateway = cluster.add_gateway("--tls-cert", self.cert, "--tls-key", self.key, "--request-timeout", REQUEST_TIMEOUT)
        self.port, self.url = gateway.port, gateway.url
        cluster.wait_healthy()


@pytest.fixture(scope="module")
def tls_gateway():
    with Cluster("tls", links="ipc") as cluster:
        yield TLSGateway(cluster)


@pytest.fixture
def browser():
    """browser(url) -> a headless Chromium at the chat page of `url`, taking the test certificate."""
    drivers = []

    def _open(url):
        drivers.append(open_chat_page(url, extra_args=["--ignore-certificate-errors"]))
        return drivers[-1]

    yield _open
    quit_checking_errors(drivers)


def test_a_page_served_over_https_chats_with_a_wss_client(tls_gateway, browser, screenshot_dir):
    page = browser(tls_gateway.url)
    assert page.execute_script("return location.protocol") == "https:"

    # Alice creates a room in the page and joins it.
    room = unique("tls-", 8)
    set_value(page, "name", "Alice")
    set_value(page, "create-room", room)
    by_id(page, "create-btn").click()
    wait_until(page, lambda d: shown(d, "created-password"), "no password shown after create")
    password = by_id(page, "created-password").text
    by_id(page, "join-created-btn").click()
    wait_until(page, lambda d: shown(d, "room-view") and members(d) == ["Alice"], "Alice not in the room")

    # Bob, the python-socketio client, joins over wss:// with the password the page showed.
    bob = MemberFrom(tls_gateway.port)
    try:
        assert bob.sio.client.eio.current_transport == "websocket"
        assert bob.sio.client.connection_url.startswith("https://")
        join(bob, room, password, "Bob")
        wait_until(page, lambda d: members(d) == ["Alice", "Bob"], "the page does not show Bob")

        bob.call("message", {"room": room, "text": "hello over wss"})
        wait_until(page, lambda d: ("Bob", "hello over wss") in messages(d), "the page did not show Bob's message")
        by_id(page, "message-input").send_keys("hi Bob, over https", Keys.ENTER)
        got = bob.wait_for("message", lambda m: m["text"] == "hi Bob, over https")
        assert got["name"] == "Alice" and got["room"] == room
    finally:
        bob.close()
    page.save_screenshot(str(screenshot_dir / "tls-room.png"))


def test_the_page_and_api_answer_over_https_and_plain_http_gets_no_page(tls_gateway):
    r = requests.get(tls_gateway.url + "/", timeout=WAIT, verify=False)
    assert r.status_code == 200 and "<html" in r.text.lower()

    # The same port in clear: the TLS layer refuses the bytes and closes; no page, no API.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{tls_gateway.port}/", timeout=WAIT)
    with tcp_from("127.0.0.1", tls_gateway.port) as sock:
        sock.sendall(f"GET /api/rooms HTTP/1.1\r\nHost: 127.0.0.1:{tls_gateway.port}\r\n\r\n".encode())
        sock.settimeout(WAIT)
        data = b""
        try:
            while chunk := sock.recv(4096):
                data += chunk
        except ConnectionResetError:
            pass
    assert b"HTTP/1." not in data and b"rooms" not in data, data


def test_the_default_origin_check_takes_the_https_origin_only(tls_gateway):
    host = f"127.0.0.1:{tls_gateway.port}"
    with tls_from("127.0.0.1", tls_gateway.port) as sock:
        status, _ = upgrade(sock, host, [f"Origin: https://{host}"])
        assert status == 101
    with tls_from("127.0.0.1", tls_gateway.port) as sock:
        status, body = upgrade(sock, host, [f"Origin: http://{host}"])
        assert status == 403 and json.loads(body)["code"] == "origin_not_allowed", body


def test_a_tls_handshake_that_never_finishes_is_closed_by_the_request_timeout(tls_gateway):
    silent = tcp_from("127.0.0.1", tls_gateway.port)
    # A TLS record header announcing a 512-byte ClientHello, and 3 bytes of it.
    partial = tcp_from("127.0.0.1", tls_gateway.port)
    partial.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]))
    try:
        # Generous: the gateway closes each after --request-timeout (2 s); without that bound, never.
        assert closed_by_peer(silent, within=5 * REQUEST_TIMEOUT + 5), "a silent TCP connection stayed open"
        assert closed_by_peer(partial, within=5 * REQUEST_TIMEOUT + 5), "a half-sent ClientHello stayed open"
    finally:
        silent.close()
        partial.close()
    # The port still serves.
    assert requests.get(tls_gateway.url + "/healthz", timeout=WAIT, verify=False).status_code == 200


@pytest.mark.parametrize("case", ["cert-only", "key-only", "missing-cert", "not-a-certificate", "wrong-key",
                                  "key-readable-by-group", "key-readable-by-others"])
def test_bad_tls_flags_stop_the_gateway_with_an_error_that_names_the_fix(case, tmp_path):
    cert, key = make_certificate(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, other_key = make_certificate(other)
    args, expected = {
        "cert-only": (["--tls-cert", cert], r"give --tls-cert and --tls-key together"),
        "key-only": (["--tls-key", key], r"give --tls-cert and --tls-key together"),
        "missing-cert": (["--tls-cert", tmp_path / "nope.pem", "--tls-key", key], r"--tls-cert \S+nope.pem cannot be read"),
        "not-a-certificate": (["--tls-cert", key, "--tls-key", key], r"holds no PEM certificate"),
        "wrong-key": (["--tls-cert", cert, "--tls-key", other_key], r"is not the private key of the first certificate"),
        "key-readable-by-group": (["--tls-cert", cert, "--tls-key", key], rf"chmod 600 {re.escape(str(key))}"),
        "key-readable-by-others": (["--tls-cert", cert, "--tls-key", key], rf"chmod 600 {re.escape(str(key))}"),
    }[case]
    if case.startswith("key-readable"):
        key.chmod(0o640 if case == "key-readable-by-group" else 0o604)
    # It stops before it would reach the broker, so the ipc:// endpoints need not exist.
    result = subprocess.run(
        [binary("Gateway"), "--port", "0", "--broker-commands", f"ipc://{tmp_path}/c",
         "--broker-broadcasts", f"ipc://{tmp_path}/b", *map(str, args)],
        capture_output=True, text=True, timeout=30, cwd=REPO)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert re.search(expected, output), output


def served_fingerprint(port):
    """The SHA-256 (upper-case hex) of the certificate a new TLS connection to `port` is served."""
    with tls_from("127.0.0.1", port) as sock:
        return hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest().upper()


def test_sighup_serves_a_renewed_certificate_without_a_restart(tmp_path):
    """Renewing the certificate: replace the files, SIGHUP the gateway. New connections get the new one
    from the same process (an open one keeps working); the log says what changed, never the key; a bad
    renewal keeps the current one."""
    with Cluster("tls-reload", links="ipc") as cluster:
        cert, key = make_certificate(cluster.directory)
        cluster.start_broker()
        gateway = cluster.add_gateway("--tls-cert", cert, "--tls-key", key)
        cluster.wait_healthy()
        first = served_fingerprint(gateway.port)
        room_member = MemberFrom(gateway.port)  # a connection open across the reload keeps working
        try:
            created = room_member.call("create", {"name": "ann", "room": unique("reload-")})
            join(room_member, created["room"], created["password"], "ann")

            make_certificate(cluster.directory)  # renewed in place: new key, new certificate
            renewed = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert.read_text())).hexdigest().upper()
            assert renewed != first
            gateway.send_signal(signal.SIGHUP)
            cluster.wait_log(gateway, "tls-reloaded")
            assert served_fingerprint(gateway.port) == renewed
            assert gateway.poll() is None, "the gateway stopped on SIGHUP"
            line = next(l for l in gateway.log().splitlines() if "tls-reloaded" in l)
            assert renewed in line and first in line, line
            assert "PRIVATE KEY" not in gateway.log()
            assert "seq" in room_member.call("message", {"room": created["room"], "text": "still here"})

            # A renewal that went wrong (a certificate whose key is not the one in --tls-key): refused,
            # the renewed certificate stays.
            other = tmp_path / "other"
            other.mkdir()
            other_cert, _ = make_certificate(other)
            cert.write_text(other_cert.read_text())
            gateway.send_signal(signal.SIGHUP)
            cluster.wait_log(gateway, "tls-reload-failed.*not the private key")
            assert served_fingerprint(gateway.port) == renewed
            assert requests.get(gateway.url + "/healthz", timeout=WAIT, verify=False).status_code == 200
        finally:
            room_member.close()
