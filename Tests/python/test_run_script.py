"""scripts/run, as a user starts it: a broker pair, N gateways on one port, a clean stop on SIGTERM;
supervision (a killed process is restarted; a killed active broker's standby takes over with the rooms),
rolling restart on SIGHUP, and a gateway's drain on SIGTERM. A terminal's hang-up (SIGHUP to the whole
process group) reaches only scripts/run, and the processes survive the loss of their output."""
import os
import pty
import re
import signal
import socket
import threading
import time

import subprocess

import pytest
import requests
import socketio
import websocket

from support.clients import close_all, unique
from support.cluster import Cluster
from support.processes import STATIC_DIR, binary, free_port, poll_until, skip_if_external, wait_healthy
from support.scripts_run import SCRIPT, RunScript, chatter


def _port_is_closed(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_run_starts_a_broker_and_gateways_on_one_port_and_stops_them():
    skip_if_external("tests the start script, not a running server")
    script = RunScript()
    port, output = script.port, script.output
    try:
        assert f"http://127.0.0.1:{port}" in output[-1]
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json() == {"status": "ok"}
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
        # Every process's lines are prefixed with its name; both gateways listen on the one port.
        script.read_until(lambda line: False, 1.0)
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
        script.stop()
    script.read_until(lambda line: False, 1.0)
    text = "".join(output)
    assert "Stopped" in text, text
    assert text.count(" stopped") >= 4, f"both brokers and both gateways report a clean stop:\n{text}"
    assert _port_is_closed(port), "a gateway is still listening after scripts/run stopped"
    assert not os.path.exists(folder), "the private folder of the ipc:// sockets stays after scripts/run stopped"


# ---- supervision, rolling restart, drain ----------------------------------

DRAIN_REASON = "server restarting: reconnect"


@pytest.fixture
def run_script():
    skip_if_external("tests the start script, not a running server")
    with RunScript() as script:
        yield script


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
    owner, room, password = chatter(url, "owner")
    others = [chatter(url, f"user{i}", room, password)[0] for i in range(4)]
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
        late, _, _ = chatter(url, unique("late", 6), room, password)
        others.append(late)
        assert _acked_within(late, room, "after the crash", 2.0) < 2.0
        assert run_script.read_until(lambda line: re.search(r"==> gw-1 started \(pid \d+\)", line), 10), run_script.text()
        assert run_script.read_until(lambda line: line.startswith("gw-1     |") and " listening " in line, 30), run_script.text()
        after = run_script.pids()
        assert after["gw-1"] != victim and after["gw-2"] == before["gw-2"]
        os.kill(after["gw-1"], 0)
        os.kill(after["gw-2"], 0)
    finally:
        close_all([owner, *others])


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
    owner, room, password = chatter(url, "owner")
    members = [chatter(url, f"user{i}", room, password)[0] for i in range(3)]
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
        late, _, _ = chatter(url, "late", room, password)
        members.append(late)
        # broker-a is restarted and comes back as the standby with the state.
        assert run_script.seen(lambda line: re.search(r"==> broker-a started \(pid \d+\)", line), 10), run_script.text()
        assert run_script.seen(lambda line: line.startswith("broker-a") and "standby-loaded" in line, 10), run_script.text()
        assert run_script.proc.poll() is None
        assert run_script.pids()["broker-a"] != victim
    finally:
        close_all([owner, *members])


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
    sio, room, _ = chatter(url, "back")
    try:
        assert _acked_within(sio, room, "after the rolling restart", 2.0) < 2.0
    finally:
        sio.disconnect()


def test_sigterm_drains_a_lone_gateway():
    skip_if_external("starts its own processes")
    with Cluster("drain") as cluster:
        broker = cluster.start_broker()
        gateway = cluster.add_gateway(ready=True)
        assert gateway.ready_file.read_text().strip() == str(gateway.pid)
        name = unique("n", 8)
        owner, room, password = chatter(gateway.url, name)
        raw = _raw_client(gateway.port)
        assert "error" not in owner.call("message", {"room": room, "text": "hi"}, timeout=5)
        started = time.monotonic()
        gateway.send_signal(signal.SIGTERM)
        assert _drain_closes(raw, 10) == (1001, DRAIN_REASON)
        gateway.wait(timeout=10)
        assert time.monotonic() - started < 10
        assert not gateway.ready_file.exists(), "the ready file stays while the gateway drains"
        # The broker heard of the member's disconnect at once, not after its 5 s gateway timeout (it
        # keeps the membership for the session grace, so that the client can resume elsewhere).
        while time.monotonic() - started < 3:
            log = broker.log()
            if any(" away " in line and name in line and "kept for the session grace" in line for line in log.splitlines()):
                break
            time.sleep(0.1)
        else:
            pytest.fail("the broker did not log the member's disconnect within 3 s:\n" + broker.log()[-3000:])
        close_all([owner])


def test_a_hang_up_of_the_whole_process_group_keeps_every_room(run_script):
    """What a terminal does when it hangs up (a closed window, a dropped ssh): SIGHUP to the foreground
    process group, scripts/run's. The brokers and gateways run in sessions of their own, so only
    scripts/run gets it and does its rolling restart; the brokers keep every room."""
    owner, room, password = chatter(run_script.url, "ann")
    try:
        assert "seq" in owner.call("message", {"room": room, "text": "before the hang-up"}, timeout=5)
    finally:
        owner.disconnect()
    before = run_script.pids()

    os.killpg(os.getpgid(run_script.proc.pid), signal.SIGHUP)
    assert run_script.read_until(lambda line: "Rolling restart done" in line, 90), run_script.text()
    assert run_script.proc.poll() is None, "scripts/run died of the hang-up"
    text = "".join(run_script.output)
    after = run_script.pids()
    assert after["broker-a"] == before["broker-a"] and after["broker-b"] == before["broker-b"], text
    assert "restarting in" not in text, f"a process died of the hang-up:\n{text}"

    # The room still opens with its password and shows the message.
    bob = socketio.SimpleClient()
    bob.connect(run_script.url, transports=["websocket"], wait_timeout=5)
    try:
        joined = bob.call("join", {"room": room, "password": password, "name": "bob"}, timeout=5)
        assert "error" not in joined, joined
        assert [m["text"] for m in joined["history"]] == ["before the hang-up"], joined
    finally:
        bob.disconnect()


def test_a_broker_and_a_gateway_whose_output_is_gone_keep_serving(tmp_path):
    """Their standard output is a pipe nobody reads any more (a terminal or log reader that went away):
    each log line written is lost and counted, and the processes go on serving (no death by SIGPIPE)."""
    skip_if_external("starts its own processes")
    commands, broadcasts = f"ipc://{tmp_path}/commands", f"ipc://{tmp_path}/broadcasts"
    port = free_port()
    started = []
    try:
        for command in (
            [binary("RoomBroker"), "--commands", commands, "--broadcasts", broadcasts],
            [binary("Gateway"), "--port", str(port), "--broker-commands", commands, "--broker-broadcasts", broadcasts,
             "--static-dir", str(STATIC_DIR)],
        ):
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       start_new_session=True)
            process.stdout.close()  # the reader is gone: every later write gets EPIPE
            started.append(process)
        broker, gateway = started
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, [])
        created = requests.post(f"{url}/api/rooms", json={"name": "ann"}, timeout=5)
        assert created.status_code == 201, created.text  # the broker logged a create line, the gateway a request
        sio, room, _ = chatter(url, "bob")
        sio.disconnect()
        assert broker.poll() is None and gateway.poll() is None, (broker.returncode, gateway.returncode)
        assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=15)


def test_a_real_terminal_hang_up_costs_a_rolling_restart_and_scripts_run_goes_on(tmp_path):
    """scripts/run in a terminal (a pty whose session it leads), which then hangs up (its master side
    closed: what a closed window or a dropped ssh does). scripts/run gets SIGHUP and replaces the
    gateways; it must not die writing to the dead terminal, and the brokers keep the rooms."""
    skip_if_external("tests the start script, not a running server")
    port, admin = free_port(), free_port()
    pid, master = pty.fork()
    if pid == 0:  # the child: session leader with the pty as its controlling terminal
        os.chdir(SCRIPT.parents[1])
        # The rooms in a folder of the test's (not var/ of the checkout, which a user's scripts/run may hold).
        os.execv(str(SCRIPT), [str(SCRIPT), "--debug", "--port", str(port), "--admin-port", str(admin),
                               "--data-dir", str(tmp_path / "var")])
    try:
        text = ""
        while "Admin pages" not in text:
            chunk = os.read(master, 65536).decode(errors="replace")
            assert chunk, f"scripts/run ended before it was ready:\n{text}"
            text += chunk
        started = {m[0]: int(m[1]) for m in re.findall(r"==> (\S+) started \(pid (\d+)\)", text)}
        url = f"http://127.0.0.1:{port}"
        owner, room, password = chatter(url, "ann")
        assert "seq" in owner.call("message", {"room": room, "text": "before the hang-up"}, timeout=5)
        owner.disconnect()

        os.close(master)  # the terminal hangs up
        master = None

        def gone(p):
            try:
                with open(f"/proc/{p}/stat") as stat:
                    return stat.read().split()[2] == "Z"
            except FileNotFoundError:
                return True
        # The rolling restart replaced both gateways (they drained and exited) ...
        poll_until(lambda: gone(started["gw-1"]) and gone(started["gw-2"]), "the rolling restart after the hang-up",
                   timeout=90)
        poll_until(lambda: _healthy(url), "a healthy gateway after the hang-up", timeout=30)
        # ... while scripts/run and the brokers live on, with the room.
        assert os.waitpid(pid, os.WNOHANG) == (0, 0), "scripts/run died after the hang-up"
        assert not gone(started["broker-a"]) and not gone(started["broker-b"]), "a broker died of the hang-up"
        bob = socketio.SimpleClient()
        bob.connect(url, transports=["websocket"], wait_timeout=5)
        try:
            joined = bob.call("join", {"room": room, "password": password, "name": "bob"}, timeout=5)
            assert [m["text"] for m in joined.get("history", [])] == ["before the hang-up"], joined
        finally:
            bob.disconnect()
    finally:
        if master is not None:
            os.close(master)
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
