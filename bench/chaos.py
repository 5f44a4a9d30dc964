#!/usr/bin/env python3
"""Chaos run: scripts/run serving a room of N chatting clients while processes are killed.

Starts `scripts/run` (a broker pair and G gateways on one port), puts --clients python-socketio
clients in one room, each sending --rate messages/s with an idempotency id, and applies faults one
after the other (kill -9 a gateway, kill -9 the active broker, SIGSTOP the active broker for 3 s,
kill -9 the standby, a rolling restart with SIGHUP). A client whose connection drops reconnects
(to any gateway: they share the port), joins again with `since` = the last seq it saw, and sends
again every message whose ack it did not get, with the same id.

With --state-rooms N the server is first filled over its HTTP API with a large state (bench/bigstate.py:
N rooms of --state-messages texts of --state-text-bytes bytes each, from many loopback source addresses),
so that the faults hit a broker pair with much to copy (a restarted standby gets all of it in a snapshot);
at the end every one of those rooms must still open with its password and show the messages posted to it.

At the end every client must have every acknowledged message exactly once (by seq), and no message
may have been applied twice (one id at two seqs). A message missing at a client that was told its resume
could not be completed (`complete: false`: the room's history, 100 messages by default, no longer held
everything it missed) counts as a reported gap, not a loss. Prints a table per fault (the longest time any
client waited for an ack after it) and the totals, writes them as JSON, and exits 1 on any loss or
duplicate.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import socketio

import bigstate

REPO = Path(__file__).resolve().parents[1]
FAULTS = ["kill-gateway", "kill-active-broker", "stop-active-broker", "kill-standby-broker", "rolling-restart"]
EMPTY_ROOM_GRACE = 300  # s: RoomBroker's --empty-room-grace default (scripts/run passes none)


def say(text):
    print(f"==> {text}", flush=True)


class Cluster:
    """scripts/run as a user starts it; its output is parsed for process ids and the active broker."""

    def __init__(self, port, broker_port, gateways, debug, log_path, extra):
        # gw-1's admin listener (/status.json) on a port free now; the others follow it (--admin-port).
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.admin_port = s.getsockname()[1]
        self.admin_url = f"http://127.0.0.1:{self.admin_port}"
        args = [str(REPO / "scripts" / "run"), "--port", str(port), "--host", "127.0.0.1",
                "--broker-port", str(broker_port), "--gateways", str(gateways), "--admin-port", str(self.admin_port),
                *extra]
        if not {"--data-dir", "--ephemeral"} & set(extra):
            # The brokers keep their rooms on disk as scripts/run does by default, in a fresh folder of this run's.
            data = Path(log_path).parent / "chaos-data"
            shutil.rmtree(data, ignore_errors=True)
            args += ["--data-dir", str(data)]
        if debug:
            args.append("--debug")
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     cwd=REPO, start_new_session=True)
        self.pids = {}
        self.state = {}  # broker label -> "active" | "standby"
        self.lines = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.log.write(line)
            self.log.flush()
            with self.lock:
                self.lines.append(line)
                if m := re.search(r"==> (\S+) started \(pid (\d+)\)", line):
                    self.pids[m.group(1)] = int(m.group(2))
                if m := re.search(r"==> (\S+): replacement \(pid (\d+)\) ready", line):
                    self.pids[m.group(1)] = int(m.group(2))
                if m := re.match(r"(broker-[ab]) *\| .* broker (active|standby) ", line):
                    self.state[m.group(1)] = m.group(2)
                if "Chat server ready" in line:
                    self.ready.set()

    def wait_ready(self, timeout):
        if not self.ready.wait(timeout):
            raise SystemExit(f"scripts/run did not become ready in {timeout} s; see {self.log_path}")

    def active_broker(self):
        with self.lock:
            return next((label for label, state in self.state.items() if state == "active"), None)

    def standby_broker(self):
        active = self.active_broker()
        return next((label for label in ("broker-a", "broker-b") if label != active), None)

    def pid(self, label):
        with self.lock:
            return self.pids.get(label)

    def signal(self, label, sig):
        pid = self.pid(label)
        if pid:
            os.kill(pid, sig)
        return pid

    def rolling_restart(self):
        os.kill(self.proc.pid, signal.SIGHUP)

    def wait_line(self, pattern, timeout, start=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if any(re.search(pattern, line) for line in self.lines[start:]):
                    return True
            time.sleep(0.05)
        return False

    def line_count(self):
        with self.lock:
            return len(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


class Client:
    """One chatting member that reconnects, resumes with `since` and resends unacknowledged messages."""

    def __init__(self, index, url, room, password, rate, stop):
        self.index, self.url, self.room, self.password = index, url, room, password
        self.name = f"c{index}"
        self.interval = 1.0 / rate
        self.stop = stop
        self.lock = threading.Lock()
        self.seen = {}        # seq -> id of every message seen (live or from a resume's history)
        self.last_seq = 0     # highest seq of any room event seen
        self.acked = {}       # id -> seq
        self.latencies = []   # (monotonic time of ack, seconds from first send to ack)
        self.reconnects = 0
        self.incomplete = 0   # resumes answered complete: false
        self.errors = {}
        self.counter = 0
        self.unacked = None   # (id, first send time) being sent
        self.thread = threading.Thread(target=self.run, daemon=True)

    def on_event(self, data):
        if isinstance(data, dict) and data.get("room") == self.room and isinstance(data.get("seq"), int):
            with self.lock:
                self.last_seq = max(self.last_seq, data["seq"])
                if "text" in data:
                    self.seen.setdefault(data["seq"], data["text"])

    def connect(self, final=False):
        """A connection joined to the room with `since` (what was missed comes in the history); `final`: also
        after sending stopped, with at most 20 tries."""
        sio = socketio.Client(reconnection=False)
        for event in ("message", "joined", "left", "resumed"):
            sio.on(event, self.on_event)
        sio.connect(self.url, transports=["websocket"], wait_timeout=5)
        ack, tries = None, 0
        while (final and tries < 20) or not self.stop.is_set():
            tries += 1
            with self.lock:
                since = self.last_seq
            ack = sio.call("join", {"room": self.room, "password": self.password, "name": self.name,
                                    "since": since}, timeout=5)
            if "error" not in ack:
                break
            self.errors[ack.get("code", "?")] = self.errors.get(ack.get("code", "?"), 0) + 1
            time.sleep(0.3)  # name_in_use until the broker learns the old connection is gone
        if ack is None or "error" in ack:
            sio.disconnect()
            raise ConnectionError(f"join not answered: {ack}")
        for message in ack.get("history", []):
            self.on_event(message)
        self.on_event({"room": self.room, "seq": ack.get("seq", 0)})
        if ack.get("complete") is False:
            self.incomplete += 1
        return sio

    def run(self):
        sio = None
        next_send = time.monotonic()
        while not self.stop.is_set():
            try:
                if sio is None or not sio.connected:
                    if sio is not None:
                        self.reconnects += 1
                        try:
                            sio.disconnect()
                        except Exception:
                            pass
                    sio = self.connect()
                if self.unacked is None:
                    self.counter += 1
                    self.unacked = (f"{self.name}-{self.counter}", time.monotonic())
                message_id, first = self.unacked
                reply = sio.call("message", {"room": self.room, "text": message_id, "id": message_id}, timeout=1.5)
                if "seq" in reply:
                    now = time.monotonic()
                    with self.lock:
                        self.acked[message_id] = reply["seq"]
                        self.latencies.append((now, now - first))
                    self.unacked = None
                    next_send = max(next_send + self.interval, now - 1)
                    time.sleep(max(0.0, next_send - time.monotonic()))
                else:
                    code = reply.get("code", "?")
                    self.errors[code] = self.errors.get(code, 0) + 1
                    time.sleep(0.1)
            except Exception as exc:  # timeouts and dropped connections: reconnect and resend
                kind = type(exc).__name__
                self.errors[kind] = self.errors.get(kind, 0) + 1
                if sio is not None:
                    try:
                        sio.disconnect()
                    except Exception:
                        pass
                    sio = None
                    self.reconnects += 1
                time.sleep(0.2)
        if sio is None or not sio.connected:
            # Sending stopped while the connection was down (a call timed out at the end): join once more
            # with `since`, so that finish() sees the messages the room got meanwhile.
            try:
                sio = self.connect(final=True)
            except Exception as exc:
                self.errors[type(exc).__name__] = self.errors.get(type(exc).__name__, 0) + 1
                sio = None
        self.sio = sio

    def finish(self, target_seq, timeout):
        """Waits until this client has seen `target_seq`, then disconnects."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.last_seq >= target_seq:
                    break
            time.sleep(0.05)
        if getattr(self, "sio", None) is not None:
            try:
                self.sio.disconnect()
            except Exception:
                pass


def percentile(values, fraction):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="length of the run (default 60)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2, help="messages per second per client (default 2)")
    parser.add_argument("--gateways", type=int, default=2)
    parser.add_argument("--faults", default=",".join(FAULTS), help="comma-separated, applied in turn: " + ", ".join(FAULTS))
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--broker-port", type=int, default=17555)
    parser.add_argument("--debug", action="store_true", help="scripts/run --debug (debug build)")
    parser.add_argument("--out", default=str(REPO / "bench-output"))
    parser.add_argument("--run-arg", action="append", default=[], help="extra scripts/run argument (repeatable)")
    parser.add_argument("--state-rooms", type=int, default=0,
                        help="first fill the server with this many rooms over the HTTP API (default 0: none)")
    parser.add_argument("--state-messages", type=int, default=64,
                        help="messages posted to each of those rooms (default 64: history and replay buffer full)")
    parser.add_argument("--state-text-bytes", type=int, default=bigstate.MAX_TEXT_BYTES,
                        help=f"bytes of UTF-8 in each of those messages (16-{bigstate.MAX_TEXT_BYTES}, default {bigstate.MAX_TEXT_BYTES})")
    args = parser.parse_args()
    faults = [f for f in args.faults.split(",") if f]
    for fault in faults:
        if fault not in FAULTS:
            parser.error(f"unknown fault {fault!r}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    say(f"Starting scripts/run on 127.0.0.1:{args.port} ({args.gateways} gateways, a broker pair); its output: {out / 'chaos-run.log'}")
    cluster = Cluster(args.port, args.broker_port, args.gateways, args.debug, out / "chaos-run.log", args.run_arg)
    url = f"http://127.0.0.1:{args.port}"
    stop = threading.Event()
    clients = []
    timeline = []
    state, state_problems, state_checked, filled_at = [], [], None, None
    try:
        cluster.wait_ready(600)
        # Let the standby copy the state before the first fault.
        cluster.wait_line(r"standby-in-sync", 10)
        if args.state_rooms:
            state = bigstate.fill(url, rooms=args.state_rooms, messages=args.state_messages,
                                  text_bytes=args.state_text_bytes, say=say, seconds=600)
            filled_at = time.monotonic()
            say("State filled; waiting (up to 60 s) for the standby to be in sync before the first fault")
            if not wait_in_sync(cluster.admin_url, 60):
                say("The standby is NOT in sync with the state (see chaos-run.log); the faults begin anyway")
        owner = socketio.SimpleClient()
        owner.connect(url, transports=["websocket"])
        created = owner.call("create", {"name": "owner", "room": "chaos"}, timeout=5)
        owner.disconnect()
        room, password = created["room"], created["password"]
        say(f"{args.clients} clients in room {room}, {args.rate:g} msg/s each, for {args.seconds:g} s; faults: {', '.join(faults)}")
        clients = [Client(i, url, room, password, args.rate, stop) for i in range(args.clients)]
        for client in clients:
            client.thread.start()
        started = time.monotonic()
        slot = args.seconds / (len(faults) + 1)
        for number, fault in enumerate(faults, start=1):
            time.sleep(max(0.0, started + number * slot - time.monotonic()))
            at_monotonic = time.monotonic()
            at = at_monotonic - started
            detail = apply_fault(cluster, fault)
            say(f"t={at:5.1f} s  {fault}: {detail}")
            timeline.append({"fault": fault, "at": at, "monotonic": at_monotonic, "detail": detail})
        time.sleep(max(0.0, started + args.seconds - time.monotonic()))
        stopped_at = time.monotonic()
        stop.set()
        for client in clients:
            client.thread.join(timeout=10)
        target = max((seq for c in clients for seq in c.acked.values()), default=0)
        say(f"Sending stopped; waiting until every client has seen seq {target}")
        deadline = time.monotonic() + 15
        for client in clients:
            client.finish(target, max(0.0, deadline - time.monotonic()))
        healthy = subprocess.run(["curl", "-fsS", f"{url}/healthz"], capture_output=True).returncode == 0
        if state:
            # Rooms without members are deleted after the broker's --empty-room-grace (300 s by default).
            if time.monotonic() - filled_at < EMPTY_ROOM_GRACE - 30:
                say(f"Checking the {len(state)} rooms of the state (join with the password, compare the history)")
                state_problems, state_checked = bigstate.check_rooms(url, state, seconds=300)
            else:
                say(f"The state's rooms are not checked: over {EMPTY_ROOM_GRACE - 30} s since the fill, rooms without "
                    f"members may have expired")
    finally:
        stop.set()
        say("Stopping scripts/run")
        cluster.stop()

    report = analyse(clients, timeline, healthy, stopped_at)
    report.update({"seconds": args.seconds, "clients": args.clients, "rate": args.rate, "gateways": args.gateways})
    if args.state_rooms:
        report["state"] = {"rooms": args.state_rooms, "messages": args.state_messages, "text_bytes": args.state_text_bytes,
                           "checked": state_checked, "problems": len(state_problems),
                           "problem_examples": state_problems[:10]}
    (out / "chaos.json").write_text(json.dumps(report, indent=2))
    print_report(report)
    say(f"JSON: {out / 'chaos.json'}; scripts/run output: {out / 'chaos-run.log'}")
    state_ok = not state_problems
    sys.exit(0 if report["lost"] == 0 and report["duplicated"] == 0 and report["healthy"] and state_ok else 1)


def wait_in_sync(admin_url, seconds):
    """Whether gw-1's /status.json (on its admin listener) shows the active's standby in sync within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = subprocess.run(["curl", "-fsS", "--max-time", "3", f"{admin_url}/status.json"], capture_output=True, text=True)
        try:
            brokers = json.loads(result.stdout).get("brokers", []) if result.returncode == 0 else []
        except ValueError:
            brokers = []
        if any(b.get("state") == "active" and (b.get("replication") or {}).get("state") == "standby_in_sync" for b in brokers):
            return True
        time.sleep(0.5)
    return False


def apply_fault(cluster, fault):
    if fault == "kill-gateway":
        pid = cluster.signal("gw-1", signal.SIGKILL)
        return f"kill -9 gw-1 (pid {pid})"
    if fault == "kill-active-broker":
        label = cluster.active_broker()
        pid = cluster.signal(label, signal.SIGKILL)
        return f"kill -9 {label} (pid {pid}, active)"
    if fault == "kill-standby-broker":
        label = cluster.standby_broker()
        pid = cluster.signal(label, signal.SIGKILL)
        return f"kill -9 {label} (pid {pid}, standby)"
    if fault == "stop-active-broker":
        label = cluster.active_broker()
        pid = cluster.signal(label, signal.SIGSTOP)
        time.sleep(3)
        cluster.signal(label, signal.SIGCONT)
        return f"kill -STOP {label} (pid {pid}, active) for 3 s, then -CONT"
    if fault == "rolling-restart":
        start = cluster.line_count()
        cluster.rolling_restart()
        done = cluster.wait_line(r"Rolling restart done", 60, start)
        return "kill -HUP scripts/run: rolling restart " + ("done" if done else "NOT done within 60 s")
    raise ValueError(fault)


def analyse(clients, timeline, healthy, stopped_at=None):
    """The report; `stopped_at` (when sending stopped): a message still unacknowledged then counts as
    having waited until then, in the window of the fault before it was first sent (a stall that never
    ends shows as a long wait, not as no wait)."""
    acked = {}  # id -> seq
    for client in clients:
        acked.update(client.acked)
    by_id = {}  # id -> set of seqs it was seen at (by anyone)
    for client in clients:
        for seq, message_id in client.seen.items():
            by_id.setdefault(message_id, set()).add(seq)
    duplicated = sorted(i for i, seqs in by_id.items() if len(seqs) > 1)
    # A message missing at a client that was told of a gap (a resume answered complete: false, because the
    # room's history no longer held everything after its `since`) is a reported gap; any other is lost.
    lost = gaps = 0
    lost_examples = []
    for client in clients:
        have = set(client.seen.values())
        missing = [i for i in acked if i not in have]
        if client.incomplete:
            gaps += len(missing)
        else:
            lost += len(missing)
            lost_examples += [f"{client.name} lacks {i}" for i in missing[:3]]
    latencies = [lat for c in clients for _, lat in c.latencies]
    unanswered = [c.unacked[1] for c in clients if c.unacked is not None and stopped_at is not None]
    faults = []
    for number, fault in enumerate(timeline):
        end = timeline[number + 1]["monotonic"] if number + 1 < len(timeline) else float("inf")
        waits = [lat for c in clients for t, lat in c.latencies if fault["monotonic"] <= t < end]
        pending = [stopped_at - first for first in unanswered if fault["monotonic"] <= first < end]
        faults.append({"fault": fault["fault"], "at": round(fault["at"], 1), "detail": fault["detail"],
                       "longest_ack_wait_s": round(max(waits + pending, default=0.0), 2),
                       "acks_after": len(waits), "unanswered": len(pending)})
    errors = {}
    for client in clients:
        for kind, count in client.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    return {
        "sent": sum(c.counter for c in clients), "acked": len(acked), "lost": lost, "lost_examples": lost_examples[:10],
        "missing_in_reported_gaps": gaps,
        "duplicated": len(duplicated), "duplicated_examples": duplicated[:10],
        "ack_p50_ms": round(percentile(latencies, 0.5) * 1000, 1), "ack_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "ack_max_ms": round(max(latencies, default=0) * 1000, 1),
        "reconnects": sum(c.reconnects for c in clients), "incomplete_resumes": sum(c.incomplete for c in clients),
        "errors": errors, "faults": faults, "healthy": healthy,
    }


def print_report(report):
    print()
    print(f"{'fault':<22} {'at s':>6} {'longest ack wait s':>19} {'acks after':>11} {'never acked':>12}")
    for fault in report["faults"]:
        print(f"{fault['fault']:<22} {fault['at']:>6} {fault['longest_ack_wait_s']:>19} {fault['acks_after']:>11} "
              f"{fault['unanswered']:>12}")
    print()
    print(f"sent {report['sent']}  acked {report['acked']}  lost {report['lost']}  duplicated {report['duplicated']}  "
          f"missing in reported gaps {report['missing_in_reported_gaps']}  "
          f"ack p50 {report['ack_p50_ms']} ms  p99 {report['ack_p99_ms']} ms  max {report['ack_max_ms']} ms  "
          f"reconnects {report['reconnects']}  incomplete resumes {report['incomplete_resumes']}  "
          f"healthy at the end: {report['healthy']}")
    print(f"client-side errors (retried): {report['errors']}")
    if report["lost_examples"]:
        print("lost:", report["lost_examples"])
    if report["duplicated_examples"]:
        print("duplicated:", report["duplicated_examples"])
    if "state" in report:
        state = report["state"]
        print(f"state: {state['rooms']} rooms of {state['messages']} messages of {state['text_bytes']} bytes; "
              f"checked at the end: {state['checked'] if state['checked'] is not None else 'no'}; "
              f"problems: {state['problems']}")
        for problem in state["problem_examples"]:
            print("  ", problem)


if __name__ == "__main__":
    main()
