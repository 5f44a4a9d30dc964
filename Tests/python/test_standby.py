"""A broker pair through the real processes: the standby takes over with the same rooms.

Two RoomBrokers (--pair-role primary / backup, peer link on loopback) and two gateways given both
brokers. Each test kills, pauses or stops the active broker while python-socketio members chat and
checks what they see: acks within a few seconds, the old password still opens the room, the history
and the sequence numbers carry on, no acknowledged message is lost and none is applied twice.
"""
import os
import re
import signal
import time

import pytest
import requests

from conftest import STATIC_DIR, _binary, _start, _stop, _wait_healthy, free_port
from test_socketio_client import Member, TIMEOUT, create_room, join, member_pool

TAKEOVER = 5  # seconds allowed for a takeover here (the design: ~1.5 s; a loaded CI machine is slower)


class Pair:
    """broker-a (primary), broker-b (backup) and two gateways sharing one port."""

    def __init__(self, tag):
        self.tag = tag
        self.ports = {name: free_port() for name in ("a-cmd", "a-pub", "a-peer", "b-cmd", "b-pub", "b-peer")}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.brokers = {}
        self.gateways = []
        self.start_broker("a")
        self.start_broker("b")
        links = []
        for side in ("a", "b"):
            links += ["--broker-commands", self.endpoint(f"{side}-cmd"), "--broker-broadcasts", self.endpoint(f"{side}-pub")]
        for i in (1, 2):
            self.gateways.append(_start(f"Gateway{i}", [
                _binary("Gateway"), "--port", str(self.port), "--host", "127.0.0.1", *links,
                "--static-dir", str(STATIC_DIR), "--log-level", "debug", "--insecure-loopback",
                "--allowed-origin", self.url], f"{tag}"))
        _wait_healthy(self.url, self.processes)
        self.wait_log("a", r"standby-in-sync", TIMEOUT)

    def endpoint(self, name):
        return f"tcp://127.0.0.1:{self.ports[name]}"

    def start_broker(self, side):
        other = "b" if side == "a" else "a"
        role = "primary" if side == "a" else "backup"
        generation = sum(1 for label in self.brokers if label.startswith(side))
        self.brokers[side] = _start(f"RoomBroker-{side}{generation or ''}", [
            _binary("RoomBroker"), "--commands", self.endpoint(f"{side}-cmd"), "--broadcasts", self.endpoint(f"{side}-pub"),
            "--pair-role", role, "--peer-bind", self.endpoint(f"{side}-peer"), "--peer", self.endpoint(f"{other}-peer"),
            "--log-level", "debug", "--creates-per-client", "1000", "--rooms-per-address", "100000",
            "--insecure-loopback"], self.tag)

    @property
    def processes(self):
        return list(self.brokers.values()) + self.gateways

    def log(self, side):
        return self.brokers[side].log_path.read_text(errors="replace")

    def wait_log(self, side, pattern, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.log(side)):
                return
            time.sleep(0.05)
        pytest.fail(f"broker {side} never logged /{pattern}/ within {timeout} s:\n{self.log(side)[-3000:]}")

    def active(self, timeout=3):
        """The side whose last state line says active (log lines are flushed by a thread: wait a moment)."""
        deadline = time.monotonic() + timeout
        while True:
            last = {}
            for side in ("a", "b"):
                states = re.findall(r"broker (active|standby) ", self.log(side))
                last[side] = states[-1] if states else None
            actives = [side for side, state in last.items() if state == "active" and self.brokers[side].poll() is None]
            if len(actives) == 1:
                return actives[0]
            if time.monotonic() > deadline:
                pytest.fail(f"expected one active broker, got {last}")
            time.sleep(0.05)

    def stop(self):
        _stop(self.processes)


@pytest.fixture
def pair(request):
    if os.environ.get("CHAT_URL"):
        pytest.skip("starts its own broker pair")
    p = Pair(request.node.name[:40])
    yield p
    p.stop()


@pytest.fixture
def members(pair):
    yield from member_pool(lambda: pair.url)


def acked_within(member, room, text, seconds):
    """Sends `text` (one idempotency id, retried) until acked; returns the ack and how long it took."""
    started = time.monotonic()
    last = None
    while time.monotonic() - started < seconds:
        try:
            last = member.sio.call("message", {"room": room, "text": text, "id": text.replace(" ", "-")}, timeout=2)
        except Exception as exc:  # the call timed out: try again with the same id
            last = repr(exc)
            continue
        if isinstance(last, dict) and "seq" in last:
            return last, time.monotonic() - started
        time.sleep(0.1)
    pytest.fail(f"{text!r} not acked within {seconds} s (last answer: {last})")


def test_the_standby_takes_over_when_the_active_is_killed(pair, members):
    alice, bob = members(), members()
    room, password = create_room(alice)
    join(alice, room, password, "alice")
    join(bob, room, password, "bob")
    first, _ = acked_within(alice, room, "before the crash", 5)
    bob.wait_for("message", lambda d: d["seq"] == first["seq"])

    victim = pair.active()
    pair.brokers[victim].send_signal(signal.SIGKILL)
    pair.brokers[victim].wait(timeout=5)
    ack, took = acked_within(alice, room, "after the crash", TAKEOVER)
    assert ack["seq"] == first["seq"] + 1, f"the sequence carries on: {first} then {ack}"
    got = bob.wait_for("message", lambda d: d["text"] == "after the crash")
    assert got["seq"] == ack["seq"]
    survivor = "b" if victim == "a" else "a"
    pair.wait_log(survivor, r"broker active .*gateway voted", 3)
    # Both gateways follow the new active within a moment (one that was idle notices the silence after
    # 1 s): /healthz, answered by either, turns OK.
    deadline = time.monotonic() + TAKEOVER
    consecutive = 0
    while consecutive < 10:
        consecutive = consecutive + 1 if requests.get(f"{pair.url}/healthz", timeout=2).status_code == 200 else 0
        assert time.monotonic() < deadline, "a gateway did not follow the new active broker"
        time.sleep(0.02)

    # The old password still opens the room, and the history is complete.
    carol = members()
    ack = join(carol, room, password, "carol")
    assert [m["text"] for m in ack["history"]] == ["before the crash", "after the crash"]
    assert sorted(ack["members"]) == ["alice", "bob", "carol"]

    # The killed broker comes back as the standby and copies the state; then the other dies too.
    pair.start_broker(victim)
    pair.wait_log(victim, r"standby-loaded", 10)
    pair.wait_log(survivor, r"standby-in-sync", 10)
    pair.brokers[survivor].send_signal(signal.SIGKILL)
    ack, _ = acked_within(alice, room, "after the second crash", TAKEOVER)
    dave = members()
    ack = join(dave, room, password, "dave")
    assert [m["text"] for m in ack["history"]] == ["before the crash", "after the crash", "after the second crash"]


def test_a_paused_active_is_deposed_and_steps_down(pair, members):
    alice = members()
    room, password = create_room(alice)
    join(alice, room, password, "alice")
    acked_within(alice, room, "one", 5)
    victim = pair.active()
    os.kill(pair.brokers[victim].pid, signal.SIGSTOP)
    try:
        acked_within(alice, room, "two", TAKEOVER)
    finally:
        os.kill(pair.brokers[victim].pid, signal.SIGCONT)
    # Resumed, it hears the higher term and becomes the standby again; the room is whole.
    pair.wait_log(victim, r"broker standby .*higher term", 5)
    pair.wait_log(victim, r"standby-loaded", 10)
    acked_within(alice, room, "three", 5)
    bob = members()
    ack = join(bob, room, password, "bob")
    texts = [m["text"] for m in ack["history"]]
    assert texts == ["one", "two", "three"], f"each message once, in order: {texts}"


def test_sigterm_on_the_active_hands_over_at_once(pair, members):
    alice = members()
    room, password = create_room(alice)
    join(alice, room, password, "alice")
    acked_within(alice, room, "one", 5)
    victim = pair.active()
    pair.brokers[victim].send_signal(signal.SIGTERM)
    assert pair.brokers[victim].wait(timeout=5) == 0
    survivor = "b" if victim == "a" else "a"
    pair.wait_log(survivor, r"broker active .*handed over", 3)
    acked_within(alice, room, "two", TAKEOVER)
