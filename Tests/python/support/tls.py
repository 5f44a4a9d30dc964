"""Helpers of the TLS and nginx tests: a test certificate made by openssl, clients whose TCP
connections come from a chosen loopback address (all of 127.0.0.0/8 is local on Linux, so 127.0.0.2 and
127.0.0.3 are two different clients), and raw WebSocket upgrades.
"""
import os
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import socketio
import urllib3

from support.clients import TIMEOUT, Member

# The test certificate is self-signed: clients here do not verify it, on purpose.
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

WEBSOCKET_PATH = "/socket.io/?EIO=4&transport=websocket"


def make_certificate(directory, host="127.0.0.1"):
    """(certificate, key) paths of a new self-signed certificate for `host`, made by openssl."""
    cert, key = Path(directory) / "cert.pem", Path(directory) / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "2", "-subj", f"/CN={host}", "-addext", f"subjectAltName=IP:{host}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    key.chmod(0o600)
    return cert, key


def tcp_from(source, port, host="127.0.0.1"):
    """A TCP connection to host:port whose source address is `source`."""
    return socket.create_connection((host, port), timeout=TIMEOUT, source_address=(source, 0))


def tls_from(source, port, host="127.0.0.1"):
    """`tcp_from` wrapped in TLS (the test certificate is not verified)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context.wrap_socket(tcp_from(source, port, host), server_hostname=host)


class MemberFrom(Member):
    """A python-socketio client (wss://, or ws:// with tls=False) whose connection comes from `source`."""

    def __init__(self, port, source="127.0.0.1", tls=True):
        sock = tls_from(source, port) if tls else tcp_from(source, port)
        self.sio = socketio.SimpleClient(reconnection=False, ssl_verify=False,
                                         websocket_extra_options={"socket": sock})
        self.sio.connect(f"{'https' if tls else 'http'}://127.0.0.1:{port}", transports=["websocket"],
                         wait_timeout=TIMEOUT)
        self.pending = []


def upgrade(sock, host, extra_headers=()):
    """Sends a Socket.IO WebSocket upgrade on `sock`; returns (status, body) of the answer."""
    request = [f"GET {WEBSOCKET_PATH} HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", *extra_headers, "", ""]
    sock.sendall("\r\n".join(request).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"connection closed before an answer: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0")) if status != 101 else 0
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return status, body[:length].decode("utf-8", errors="replace")


def closed_by_peer(sock, within):
    """Whether the peer closes `sock` (EOF or reset) within `within` seconds, sending nothing readable."""
    sock.settimeout(within)
    try:
        return sock.recv(4096) == b""
    except (ConnectionResetError, ssl.SSLError):
        return True
    except (socket.timeout, TimeoutError):
        return False


def nginx_binary():
    """Debian's nginx, or None (scripts/test installs it)."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
