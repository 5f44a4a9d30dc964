"""scripts/run, as a user starts it: one broker, N gateways on one port, a clean stop on SIGTERM."""
import os
import queue
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from conftest import REPO, free_port

START_TIMEOUT = float(os.environ.get("CHAT_RUN_TIMEOUT", "300"))  # may include a build


def _two_free_consecutive_ports():
    for _ in range(50):
        first = free_port()
        if first < 65535:
            with socket.socket() as a, socket.socket() as b:
                try:
                    a.bind(("127.0.0.1", first))
                    b.bind(("127.0.0.1", first + 1))
                    return first
                except OSError:
                    continue
    pytest.fail("no two consecutive free ports")


def _port_is_closed(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.skipif(bool(os.environ.get("CHAT_URL")), reason="tests the start script, not a running server")
def test_run_starts_a_broker_and_gateways_on_one_port_and_stops_them():
    port, broker_port = free_port(), _two_free_consecutive_ports()
    proc = subprocess.Popen(
        [str(REPO / "scripts" / "run"), "--debug", "--gateways", "2", "--port", str(port),
         "--host", "127.0.0.1", "--broker-port", str(broker_port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    output = []

    def read_until(text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                if proc.poll() is not None:
                    break
                continue
            output.append(line)
            if text in line:
                return True
        return False

    try:
        assert read_until("Chat server ready", START_TIMEOUT), "".join(output[-40:])
        assert f"http://127.0.0.1:{port}" in output[-1]
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json() == {"status": "ok"}
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
        # Every process's lines are prefixed with its name; both gateways listen on the one port.
        read_until("no such line", 1.0)
        text = "".join(output)
        for name in ("broker | ", "gw-1   | ", "gw-2   | "):
            assert any(line.startswith(name) for line in output), f"no lines from {name!r}:\n{text}"
        assert sum(1 for line in output if line.startswith("gw-") and " listening " in line) == 2, text
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    read_until("no such line", 1.0)
    text = "".join(output)
    assert "Stopped" in text, text
    assert text.count(" stopped") >= 3, f"broker and both gateways report a clean stop:\n{text}"
    assert _port_is_closed(port), "a gateway is still listening after scripts/run stopped"
    assert _port_is_closed(broker_port), "the broker is still listening after scripts/run stopped"
