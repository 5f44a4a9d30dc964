"""Programs a test starts (output in test-output/logs/<tag>-<label>.log), stopping them, and waits.

Environment:
  CHAT_URL            an already running server (tests that start their own processes skip).
  CHAT_BIN_DIR        where RoomBroker, Gateway and ChatKeys are (default <repo>/.build/debug).
  CHAT_START_TIMEOUT  seconds to wait for GET /healthz == 200 (default 20).
"""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[3]
OUTPUT = REPO / "test-output"
LOG_DIR = OUTPUT / "logs"
SCREENSHOT_DIR = OUTPUT / "screenshots"
STATIC_DIR = REPO / "static"
BIN_DIR = Path(os.environ.get("CHAT_BIN_DIR", REPO / ".build" / "debug"))
START_TIMEOUT = float(os.environ.get("CHAT_START_TIMEOUT", "20"))


def external_url():
    """CHAT_URL without a trailing slash, or None when the tests start their own processes."""
    url = os.environ.get("CHAT_URL")
    return url.rstrip("/") if url else None


def skip_if_external(reason):
    """Skips the test (with `reason`) when CHAT_URL points at a running server."""
    if os.environ.get("CHAT_URL"):
        pytest.skip(reason)


def binary(name):
    """The path of executable `name` in BIN_DIR; fails the test when it was not built."""
    path = BIN_DIR / name
    if not path.exists():
        pytest.fail(f"{path} not found: build with `swift build` or set CHAT_BIN_DIR, "
                    f"or point CHAT_URL at a running server")
    return str(path)


_handed_out = set()  # ports free_port gave already: the kernel may offer a closed port again at once


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago and that this test run never handed out before
    (two servers of one test given the same port would fail to start)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def free_consecutive_ports(count=6):
    """The first of `count` consecutive free ports (a broker pair uses 6)."""
    for _ in range(50):
        first = free_port()
        if first + count - 1 > 65535:
            continue
        sockets = [socket.socket() for _ in range(count)]
        try:
            for offset, s in enumerate(sockets):
                s.bind(("127.0.0.1", first + offset))
            return first
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    pytest.fail(f"no {count} consecutive free ports")


def log_tail(path, lines=30):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Process(subprocess.Popen):
    """A program started in a session of its own, in the repository, its output in
    LOG_DIR/<tag>-<label>.log. With `group`, signals go to its whole process group (a wrapper such
    as faketime runs in front of it). `stopped` marks one the test stopped or killed on purpose."""

    def __init__(self, label, command, tag, env=None, group=False):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.label = label
        self.tag = tag
        self.start_env = env
        self.signal_group = group
        self.stopped = False
        self.log_path = LOG_DIR / f"{tag}-{label}.log"
        self.log_file = open(self.log_path, "wb")
        super().__init__([str(a) for a in command], stdout=self.log_file, stderr=subprocess.STDOUT, cwd=REPO,
                         env=env, start_new_session=True)

    def send_signal(self, sig):
        if self.signal_group and self.poll() is None:
            os.killpg(self.pid, sig)
        else:
            super().send_signal(sig)

    def log(self):
        return self.log_path.read_text(errors="replace")


def stop(processes, timeout=5):
    """SIGTERM to each process still running, then SIGKILL to any not gone within `timeout` s."""
    for p in processes:
        p.stopped = True
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=5)
        p.log_file.close()


def wait_healthy(url, processes, timeout=START_TIMEOUT):
    """Waits for GET `url`/healthz == 200 (an https certificate is not verified); fails with the logs
    when it does not come or one of `processes` (not stopped on purpose) exits meanwhile."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        for p in processes:
            if not p.stopped and p.poll() is not None:
                pytest.fail(f"{p.label} exited with {p.returncode} during startup:\n{log_tail(p.log_path)}")
        try:
            r = requests.get(f"{url}/healthz", timeout=1, verify=False)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except requests.RequestException as exc:
            last = repr(exc)
        time.sleep(0.1)
    logs = "\n".join(f"--- {p.label}\n{log_tail(p.log_path)}" for p in processes)
    pytest.fail(f"{url}/healthz not 200 after {timeout}s (last: {last})\n{logs}")


def poll_until(condition, what, timeout=10, interval=0.05):
    """condition()'s first truthy value, asked every `interval` s; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(interval)
    return value
