"""scripts/run, as a user starts it: a broker pair, N gateways on one port, a clean stop on SIGTERM;
supervision (a killed process is restarted; a killed active broker's standby takes over with the rooms),
rolling restart on SIGHUP, and a gateway's drain on SIGTERM."""
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest
import requests
import socketio
import websocket

from conftest import REPO, STATIC_DIR, _binary, _start, _stop, _wait_healthy, free_port

START_TIMEOUT = float(os.environ.get("CHAT_RUN_TIMEOUT", "300"))  # may include a build


def _free_consecutive_ports(count=6):
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


def _port_is_closed(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.skipif(bool(os.environ.get("CHAT_URL")), reason="tests the start script, not a running server")
def test_run_starts_a_broker_and_gateways_on_one_port_and_stops_them():
    port = free_port()
    proc = subprocess.Popen(
        [str(REPO / "scripts" / "run"), "--debug", "--gateways", "2", "--port", str(port),
         "--host", "127.0.0.1"],
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
        for name in ("broker-a | ", "broker-b | ", "gw-1     | ", "gw-2     | "):
            assert any(line.startswith(name) for line in output), f"no lines from {name!r}:\n{text}"
        assert sum(1 for line in output if line.startswith("gw-") and " listening " in line) == 2, text
        # The ZeroMQ links are ipc:// sockets in a folder only this user may enter (no tcp port, no keys).
        links = re.search(r"ipc://(\S+)/broker-a-commands", text)
        assert links, f"the brokers do not listen on ipc:// sockets:\n{text}"
        folder = links.group(1)
        assert os.stat(folder).st_mode & 0o777 == 0o700, oct(os.stat(folder).st_mode)
        assert "tcp://" not in text, f"a ZeroMQ link over tcp://:\n{text}"
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
    assert text.count(" stopped") >= 4, f"both brokers and both gateways report a clean stop:\n{text}"
    assert _port_is_closed(port), "a gateway is still listening after scripts/run stopped"
    assert not os.path.exists(folder), "the private folder of the ipc:// sockets stays after scripts/run stopped"


# ---- supervision, rolling restart, drain ----------------------------------

DRAIN_REASON = "server restarting: reconnect"


class RunScript:
    """scripts/run with 2 gateways and `extra` options, its output read line by line; with `broker_ports`,
    the brokers are linked over that many consecutive loopback ports from --broker-port (else ipc://)."""

    def __init__(self, extra=(), broker_ports=0):
        self.port = free_port()
        self.broker_port = _free_consecutive_ports(broker_ports) if broker_ports else None
        self.url = f"http://127.0.0.1:{self.port}"
        links = ["--broker-port", str(self.broker_port)] if self.broker_port else []  # default: ipc:// sockets
        self.proc = subprocess.Popen(
            [str(REPO / "scripts" / "run"), "--debug", "--gateways", "2", "--port", str(self.port),
             "--host", "127.0.0.1", *links, *extra],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines = queue.Queue()
        self.output = []
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.proc.stdout], daemon=True).start()
        assert self.read_until(lambda line: "Chat server ready" in line, START_TIMEOUT), self.text()

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
                os.killpg(self.proc.pid, signal.SIGKILL)
                raise


@pytest.fixture
def run_script():
    if os.environ.get("CHAT_URL"):
        pytest.skip("tests the start script, not a running server")
    script = RunScript()
    try:
        yield script
    finally:
        script.stop()


def _chatter(url, name, room=None, password=None):
    """A python-socketio client in `room` (created when not given); returns (client, room, password)."""
    sio = socketio.SimpleClient()
    sio.connect(url, transports=["websocket"], wait_timeout=5)
    if room is None:
        created = sio.call("create", {"name": name, "room": f"r{uuid.uuid4().hex[:10]}"}, timeout=5)
        assert "error" not in created, created
        room, password = created["room"], created["password"]
    joined = sio.call("join", {"room": room, "password": password, "name": name}, timeout=5)
    assert "error" not in joined, joined
    return sio, room, password


def _acked_within(sio, room, text, seconds):
    start = time.monotonic()
    ack = sio.call("message", {"room": room, "text": text}, timeout=seconds)
    assert "seq" in ack, ack
    return time.monotonic() - start


def _healthy(url):
    try:
        return requests.get(f"{url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _raw_client(port):
    """A raw Engine.IO/Socket.IO WebSocket connected to the default namespace."""
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket", timeout=10,
        origin=f"http://127.0.0.1:{port}")
    assert ws.recv().startswith("0")
    ws.send("40")
    assert ws.recv().startswith("40")
    return ws


def _close_of(ws, timeout):
    """(code, reason) of the server's close frame; fails on a Socket.IO disconnect packet (41)."""
    ws.settimeout(timeout)
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big"), data[2:].decode()
        assert data != b"41", "a Socket.IO disconnect packet tells clients not to reconnect"
        if data == b"2":
            ws.send("3")


def _drain_closes(ws, timeout):
    try:
        return _close_of(ws, timeout)
    except (websocket.WebSocketException, OSError) as error:
        return ("no close frame", repr(error))


def test_a_killed_gateway_is_restarted_while_the_other_serves(run_script):
    url = run_script.url
    before = run_script.pids()
    owner, room, password = _chatter(url, "owner")
    others = [_chatter(url, f"user{i}", room, password)[0] for i in range(4)]
    try:
        victim = before["gw-1"]
        os.kill(victim, signal.SIGKILL)
        line = run_script.read_until(lambda line: "gw-1 exited" in line, 10)
        assert line and "killed by signal 9" in line and "restarting in" in line, run_script.text()
        assert run_script.proc.poll() is None, "scripts/run stopped the cluster:\n" + run_script.text()
        # The other gateway answers on the shared port meanwhile.
        for _ in range(10):
            assert _healthy(url), run_script.text()
            time.sleep(0.05)
        late, _, _ = _chatter(url, f"late{uuid.uuid4().hex[:6]}", room, password)
        others.append(late)
        assert _acked_within(late, room, "after the crash", 2.0) < 2.0
        assert run_script.read_until(lambda line: re.search(r"==> gw-1 started \(pid \d+\)", line), 10), run_script.text()
        assert run_script.read_until(lambda line: line.startswith("gw-1     |") and " listening " in line, 30), run_script.text()
        after = run_script.pids()
        assert after["gw-1"] != victim and after["gw-2"] == before["gw-2"]
        os.kill(after["gw-1"], 0)
        os.kill(after["gw-2"], 0)
    finally:
        for sio in [owner, *others]:
            try:
                sio.disconnect()
            except Exception:
                pass


def test_gateways_killed_together_are_all_restarted(run_script):
    """bash's `wait -n` names one of several children that die at once: the others must not be lost."""
    before = run_script.pids()
    for label in ("gw-1", "gw-2"):
        os.kill(before[label], signal.SIGKILL)
    deadline = time.monotonic() + 15
    after = run_script.pids()
    while time.monotonic() < deadline and any(after.get(label) == before[label] for label in ("gw-1", "gw-2")):
        after = run_script.pids()
    assert all(after.get(label) != before[label] for label in ("gw-1", "gw-2")), "not every gateway came back:\n" + run_script.text()
    for label in ("gw-1", "gw-2"):
        assert after[label] != before[label]
        os.kill(after[label], 0)
    deadline = time.monotonic() + 20
    while not _healthy(run_script.url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _healthy(run_script.url), run_script.text()


def test_a_killed_active_broker_is_replaced_by_its_standby_with_the_rooms(run_script):
    url = run_script.url
    run_script.read_until(lambda line: "standby-in-sync" in line, 10)
    owner, room, password = _chatter(url, "owner")
    members = [_chatter(url, f"user{i}", room, password)[0] for i in range(3)]
    try:
        assert _acked_within(owner, room, "before", 2.0) < 2.0
        victim = run_script.pids()["broker-a"]  # the primary is active after a normal start
        os.kill(victim, signal.SIGKILL)
        line = run_script.read_until(lambda line: "broker-a exited" in line, 10)
        assert line and "killed by signal 9" in line, run_script.text()
        assert run_script.read_until(lambda line: line.startswith("broker-b") and "broker active" in line, 10), run_script.text()
        # The same room, by its old password, on the standby: within 2 s /healthz is OK and new messages
        # are acked.
        # (Both gateways answer on the port: wait until ten answers in a row are OK.)
        deadline = time.monotonic() + 2.5
        consecutive = 0
        while consecutive < 10 and time.monotonic() < deadline:
            consecutive = consecutive + 1 if _healthy(url) else 0
            time.sleep(0.02)
        assert consecutive >= 10, "/healthz not OK within 2.5 s of the takeover:\n" + run_script.text()
        assert _acked_within(owner, room, "after", 2.0) < 2.0
        late, _, _ = _chatter(url, "late", room, password)
        members.append(late)
        # broker-a is restarted and comes back as the standby with the state.
        assert run_script.seen(lambda line: re.search(r"==> broker-a started \(pid \d+\)", line), 10), run_script.text()
        assert run_script.seen(lambda line: line.startswith("broker-a") and "standby-loaded" in line, 10), run_script.text()
        assert run_script.proc.poll() is None
        assert run_script.pids()["broker-a"] != victim
    finally:
        for sio in [owner, *members]:
            try:
                sio.disconnect()
            except Exception:
                pass


def test_sighup_replaces_the_gateways_one_by_one_without_downtime(run_script):
    url, port = run_script.url, run_script.port
    before = run_script.pids()
    clients = [_raw_client(port) for _ in range(6)]
    failures, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            try:
                response = requests.get(f"{url}/healthz", timeout=2)
                status = response.status_code
                if status != 200:
                    failures.append(f"HTTP {status} {response.text} at {time.strftime('%H:%M:%S', time.gmtime())}.{int(time.time() * 1000) % 1000:03d}")
            except requests.RequestException as error:
                failures.append(repr(error))
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        run_script.proc.send_signal(signal.SIGHUP)
        done = run_script.read_until(lambda line: "Rolling restart done" in line, 90)
        assert done, run_script.text()
        time.sleep(0.5)
    finally:
        stop.set()
        poller.join()
    text = "".join(run_script.output)
    after = run_script.pids()
    assert after["gw-1"] not in (before["gw-1"], before["gw-2"]), text
    assert after["gw-2"] not in (before["gw-1"], before["gw-2"], after["gw-1"]), text
    assert after["broker-a"] == before["broker-a"] and after["broker-b"] == before["broker-b"]
    # One after the other: gw-2's replacement starts only after gw-1's old gateway exited.
    assert text.index(f"old gateway (pid {before['gw-1']}) exited") < text.index("gw-2: started a replacement"), text
    assert not failures, f"/healthz failed during the rolling restart: {failures}\n{text}"
    for ws in clients:
        assert _drain_closes(ws, 10) == (1001, DRAIN_REASON)
    # And they can reconnect.
    sio, room, _ = _chatter(url, "back")
    try:
        assert _acked_within(sio, room, "after the rolling restart", 2.0) < 2.0
    finally:
        sio.disconnect()


def test_sigterm_drains_a_lone_gateway(tmp_path):
    if os.environ.get("CHAT_URL"):
        pytest.skip("starts its own processes")
    port = free_port()
    commands, broadcasts = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    broker = _start("RoomBroker", [_binary("RoomBroker"), "--commands", commands, "--broadcasts", broadcasts,
                                   "--log-level", "debug", "--insecure-loopback"], "drain")
    ready = tmp_path / "gateway.ready"
    gateway = _start("Gateway", [_binary("Gateway"), "--port", str(port), "--host", "127.0.0.1",
                                 "--broker-commands", commands, "--broker-broadcasts", broadcasts,
                                 "--static-dir", str(STATIC_DIR), "--log-level", "debug",
                                 "--ready-file", str(ready), "--insecure-loopback"], "drain")
    processes = [broker, gateway]
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", processes)
        deadline = time.monotonic() + 10
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.read_text().strip() == str(gateway.pid)
        name = f"n{uuid.uuid4().hex[:8]}"
        owner, room, password = _chatter(f"http://127.0.0.1:{port}", name)
        raw = _raw_client(port)
        assert "error" not in owner.call("message", {"room": room, "text": "hi"}, timeout=5)
        started = time.monotonic()
        gateway.send_signal(signal.SIGTERM)
        assert _drain_closes(raw, 10) == (1001, DRAIN_REASON)
        gateway.wait(timeout=10)
        assert time.monotonic() - started < 10
        assert not ready.exists(), "the ready file stays while the gateway drains"
        # The broker heard of the member's disconnect at once, not after its 5 s gateway timeout (it
        # keeps the membership for the session grace, so that the client can resume elsewhere).
        while time.monotonic() - started < 3:
            log = broker.log_path.read_text(errors="replace")
            if any(" away " in line and name in line and "kept for the session grace" in line for line in log.splitlines()):
                break
            time.sleep(0.1)
        else:
            pytest.fail("the broker did not log the member's disconnect within 3 s:\n" + broker.log_path.read_text()[-3000:])
        try:
            owner.disconnect()
        except Exception:
            pass
    finally:
        _stop(processes)
