"""Clients of the tests: the official python-socketio client as a `Member` with a buffer of events,
what tests do with it (create, join, expect an error, send until acknowledged), rooms made over HTTP,
and unique names so that tests do not depend on each other."""
import time
import uuid

import pytest
import requests
import socketio
from socketio.exceptions import TimeoutError as SioTimeout

TIMEOUT = 5          # seconds to wait for anything the server should send
QUIET = 0.5          # seconds we listen to make sure nothing (more) arrives


def unique(prefix, length=10):
    return f"{prefix}{uuid.uuid4().hex[:length]}"


class Member:
    """A python-socketio client plus a buffer of events not yet looked at."""

    def __init__(self, url):
        self.sio = socketio.SimpleClient()
        self.sio.connect(url, transports=["websocket"], wait_timeout=TIMEOUT)
        self.pending = []  # (event, data) received but not yet consumed

    def call(self, event, data=None):
        return self.sio.call(event, data, timeout=TIMEOUT)

    def _receive(self, timeout):
        item = self.sio.receive(timeout=timeout)
        return item[0], (item[1] if len(item) > 1 else None)

    def wait_for(self, event, match=lambda data: True, timeout=TIMEOUT):
        """Return the first `event` whose data satisfies `match`; keep other events."""
        for i, (ev, data) in enumerate(self.pending):
            if ev == event and match(data):
                return self.pending.pop(i)[1]
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                ev, data = self._receive(remaining)
            except (TimeoutError, SioTimeout):
                break
            if ev == event and match(data):
                return data
            self.pending.append((ev, data))
        raise AssertionError(f"no {event!r} event within {timeout}s; other events: {self.pending}")

    def drain(self, timeout=QUIET):
        """Everything that arrives within `timeout` seconds (plus what is buffered)."""
        got, self.pending = self.pending, []
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                got.append(self._receive(remaining))
            except (TimeoutError, SioTimeout):
                break
        return got

    def close(self):
        self.sio.disconnect()


def close_all(clients):
    """Closes each `Member` (or disconnects each python-socketio client), whatever state it is in."""
    for client in clients:
        try:
            client.close() if isinstance(client, Member) else client.disconnect()
        except Exception:
            pass


def member_pool(url_of, make=Member):
    """For fixtures: yields connect(*args) -> make(url_of(*args)), a Member; closes them all afterwards."""
    made = []

    def _connect(*args):
        m = make(url_of(*args))
        made.append(m)
        return m

    yield _connect
    close_all(made)


def create_room(member, name="creator"):
    room = unique("r")
    ack = member.call("create", {"name": name, "room": room})
    assert "error" not in ack, ack
    return ack["room"], ack["password"]


def join(member, room, password, name):
    ack = member.call("join", {"room": room, "password": password, "name": name})
    assert "error" not in ack, f"join refused: {ack}"
    return ack


def assert_error(ack, code):
    assert isinstance(ack, dict), ack
    assert ack.get("code") == code, ack
    assert isinstance(ack.get("error"), str) and ack["error"].strip(), ack


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


def http_create_room(url, name="owner", room=None, timeout=TIMEOUT):
    """(room, password) of a new room made with POST /api/rooms (named `room`, or by the server)."""
    body = {"name": name, **({"room": room} if room else {})}
    r = requests.post(f"{url}/api/rooms", json=body, timeout=timeout)
    assert r.status_code == 201, r.text
    return r.json()["room"], r.json()["password"]
