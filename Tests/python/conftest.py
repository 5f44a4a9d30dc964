"""Fixtures that run the real chat server (one RoomBroker + Gateways) for the tests.

Environment:
  CHAT_URL      use an already running server (e.g. http://127.0.0.1:8765) instead of
                starting processes; both fixtures then return that one URL.
  CHAT_BIN_DIR  where RoomBroker and Gateway live (default <repo>/.build/debug).
  CHAT_START_TIMEOUT  seconds to wait for GET /healthz == 200 (default 20).

Process output goes to <repo>/test-output/logs/.
"""
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "test-output"
LOG_DIR = OUTPUT / "logs"
SCREENSHOT_DIR = OUTPUT / "screenshots"
STATIC_DIR = REPO / "static"
BIN_DIR = Path(os.environ.get("CHAT_BIN_DIR", REPO / ".build" / "debug"))
START_TIMEOUT = float(os.environ.get("CHAT_START_TIMEOUT", "20"))


@dataclass
class ChatServer:
    """`url` is where clients connect; `urls` lists one URL per gateway port."""
    urls: list
    processes: list = field(default_factory=list)

    @property
    def url(self):
        return self.urls[0]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_tail(path, lines=30):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _binary(name):
    path = BIN_DIR / name
    if not path.exists():
        pytest.fail(f"{path} not found: build with `swift build` or set CHAT_BIN_DIR, "
                    f"or point CHAT_URL at a running server")
    return str(path)


def _start(name, args, tag):
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{tag}-{name}.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                            start_new_session=True)
    proc.log_path = log_path
    proc.log_file = log
    proc.label = name
    return proc


def _wait_healthy(url, processes):
    deadline = time.monotonic() + START_TIMEOUT
    last = None
    while time.monotonic() < deadline:
        for p in processes:
            if p.poll() is not None:
                pytest.fail(f"{p.label} exited with {p.returncode} during startup:\n{_log_tail(p.log_path)}")
        try:
            r = requests.get(f"{url}/healthz", timeout=1)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except requests.RequestException as exc:
            last = repr(exc)
        time.sleep(0.1)
    logs = "\n".join(f"--- {p.label}\n{_log_tail(p.log_path)}" for p in processes)
    pytest.fail(f"{url}/healthz not 200 after {START_TIMEOUT}s (last: {last})\n{logs}")


def _stop(processes):
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
        p.log_file.close()


def _run_cluster(tag, shared_port, broker_args=()):
    """Start a broker (with extra `broker_args`) and two gateways: both on one port (SO_REUSEPORT)
    or on two ports."""
    ports = [free_port()] if shared_port else [free_port(), free_port()]
    gateway_ports = [ports[0], ports[0]] if shared_port else ports
    commands, broadcasts = free_port(), free_port()
    broker_cmd = f"tcp://127.0.0.1:{commands}"
    broker_pub = f"tcp://127.0.0.1:{broadcasts}"
    origins = []
    for p in ports:
        origins += ["--allowed-origin", f"http://127.0.0.1:{p}"]

    processes = [_start("RoomBroker", [_binary("RoomBroker"), "--commands", broker_cmd,
                                       "--broadcasts", broker_pub, "--log-level", "debug",
                                       # every test client comes from 127.0.0.1
                                       "--creates-per-client", "1000", "--rooms-per-address", "100000",
                                       "--insecure-loopback", *broker_args], tag)]
    try:
        for i, port in enumerate(gateway_ports, start=1):
            processes.append(_start(f"Gateway{i}", [
                _binary("Gateway"), "--port", str(port), "--host", "127.0.0.1",
                "--broker-commands", broker_cmd, "--broker-broadcasts", broker_pub,
                "--static-dir", str(STATIC_DIR), "--log-level", "debug", "--insecure-loopback", *origins], tag))
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for url in urls:
            _wait_healthy(url, processes)
    except BaseException:
        _stop(processes)
        raise
    return ChatServer(urls=urls, processes=processes)


@pytest.fixture(scope="session")
def chat_server():
    """One broker and two gateways sharing one port."""
    if os.environ.get("CHAT_URL"):
        yield ChatServer(urls=[os.environ["CHAT_URL"].rstrip("/")])
        return
    server = _run_cluster("shared-port", shared_port=True)
    try:
        yield server
    finally:
        _stop(server.processes)


@pytest.fixture(scope="session")
def chat_server_two_ports():
    """One broker and two gateways on two different ports (urls[0], urls[1])."""
    if os.environ.get("CHAT_URL"):
        url = os.environ["CHAT_URL"].rstrip("/")
        yield ChatServer(urls=[url, url])
        return
    server = _run_cluster("two-ports", shared_port=False)
    try:
        yield server
    finally:
        _stop(server.processes)


@pytest.fixture(scope="session")
def screenshot_dir():
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
