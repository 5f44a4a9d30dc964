"""scripts/run as a user starts it (a debug build, on loopback), its output read line by line.

Environment: CHAT_RUN_TIMEOUT, seconds for scripts/run to say it is ready (default 300: it may build).
"""
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import socketio

from support.clients import unique
from support.processes import REPO, free_consecutive_ports, free_port

START_TIMEOUT = float(os.environ.get("CHAT_RUN_TIMEOUT", "300"))  # may include a build
SCRIPT = REPO / "scripts" / "run"


class RunScript:
    """scripts/run with 2 gateways and `extra` options, its output read line by line; with `broker_ports`,
    the brokers are linked over that many consecutive loopback ports from --broker-port (else ipc://).
    The brokers keep their rooms in `data_dir` (default: a temporary folder removed by stop()).
    `admin_urls`: gw-1's and gw-2's admin listeners (/status, /status.json, /metrics; --admin-port).
    Returns once scripts/run said it is ready; stopped by stop() (SIGTERM), also as a context manager."""

    def __init__(self, extra=(), broker_ports=0, data_dir=None):
        self.port = free_port()
        # The brokers keep their rooms in a folder of this run's (not var/ of the checkout), unless given one.
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="chat-run-data-")
        self.owns_data_dir = data_dir is None
        self.broker_port = free_consecutive_ports(broker_ports) if broker_ports else None
        self.url = f"http://127.0.0.1:{self.port}"
        admin_port = free_consecutive_ports(2)
        self.admin_urls = [f"http://127.0.0.1:{admin_port + i}" for i in range(2)]
        self.admin_url = self.admin_urls[0]
        links = ["--broker-port", str(self.broker_port)] if self.broker_port else []  # default: ipc:// sockets
        self.proc = subprocess.Popen(
            [str(SCRIPT), "--debug", "--gateways", "2", "--port", str(self.port),
             "--host", "127.0.0.1", "--admin-port", str(admin_port), "--data-dir", str(self.data_dir),
             *links, *extra],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines = queue.Queue()
        self.output = []
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.proc.stdout], daemon=True).start()
        try:
            assert self.read_until(lambda line: "Chat server ready" in line, START_TIMEOUT), self.text()
        except BaseException:
            self.stop()
            raise

    def text(self):
        return "".join(self.output[-80:])

    def read_until(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.output.append(line)
            if predicate(line):
                return line
        return None

    def seen(self, predicate, timeout):
        """Whether a line read so far, or one arriving within `timeout`, satisfies `predicate`."""
        return any(predicate(line) for line in self.output) or self.read_until(predicate, timeout)

    def pids(self):
        """label -> pid of the current process, from the "started" and "replacement ready" lines."""
        self.read_until(lambda line: False, 0.2)
        current = {}
        for line in self.output:
            if m := re.search(r"==> (\S+) started \(pid (\d+)\)", line):
                current[m[1]] = int(m[2])
            if m := re.search(r"==> (\S+): replacement \(pid (\d+)\) ready", line):
                current[m[1]] = int(m[2])
        return current

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                # Its children run in sessions of their own (and get SIGTERM when it dies): kill them too.
                children = self.pids().values()
                os.killpg(self.proc.pid, signal.SIGKILL)
                for pid in children:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                raise
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def chatter(url, name, room=None, password=None):
    """A python-socketio client in `room` (created when not given); returns (client, room, password)."""
    sio = socketio.SimpleClient()
    sio.connect(url, transports=["websocket"], wait_timeout=5)
    if room is None:
        created = sio.call("create", {"name": name, "room": unique("r")}, timeout=5)
        assert "error" not in created, created
        room, password = created["room"], created["password"]
    joined = sio.call("join", {"room": room, "password": password, "name": name}, timeout=5)
    assert "error" not in joined, joined
    return sio, room, password
