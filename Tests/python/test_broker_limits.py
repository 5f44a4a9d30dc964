"""End-to-end tests of the broker's limits against hostile input, through the real gateway as a user would see it:
no per-room lockout, presence as deltas, limits in bytes, replies that never outgrow a frame.

Clients bind their sockets to other loopback source addresses (127.0.0.x; Linux routes 127/8 to lo)
to act as separate users.
"""
import http.client
import json
import socket
import subprocess
import time

import pytest
import websocket

from support.clients import Member, http_create_room, unique
from support.cluster import Cluster
from support.processes import binary

TIMEOUT = 10


def port_of(url):
    return int(url.rsplit(":", 1)[1])


def http_post(url, path, body, headers, source="127.0.0.1"):
    """POST from `source` (a loopback address); returns (status, parsed body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port_of(url), timeout=TIMEOUT, source_address=(source, 0))
    try:
        data = json.dumps(body).encode()
        conn.request("POST", path, body=data,
                     headers={"Content-Type": "application/json", "Content-Length": str(len(data)), **headers})
        response = conn.getresponse()
        text = response.read().decode()
        return response.status, json.loads(text) if text else None
    finally:
        conn.close()


class RawMember:
    """A minimal Socket.IO client over one WebSocket, bound to a source address, that keeps the exact
    text of every frame it receives (python-socketio hides the sizes)."""

    def __init__(self, url, source="127.0.0.1"):
        sock = socket.create_connection(("127.0.0.1", port_of(url)), timeout=TIMEOUT, source_address=(source, 0))
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{port_of(url)}/socket.io/?EIO=4&transport=websocket", socket=sock, timeout=TIMEOUT)
        assert self.ws.recv().startswith("0{")
        self.ws.send("40")
        assert self.ws.recv().startswith("40")
        self.next_ack = 1
        self.frames = []  # every later text frame, verbatim

    def emit(self, event, data):
        """Sends an event with an ack id and returns the ack object, or None if the server closed."""
        ack_id = self.next_ack
        self.next_ack += 1
        self.ws.send(f"42{ack_id}" + json.dumps([event, data], ensure_ascii=False))
        prefix = f"43{ack_id}"
        while True:
            try:
                text = self.ws.recv()
            except (websocket.WebSocketConnectionClosedException, ConnectionError):
                return None
            if not text:
                return None
            if text == "2":
                self.ws.send("3")
            elif text.startswith(prefix):
                return json.loads(text[len(prefix):])[0]
            else:
                self.frames.append(text)

    def drain(self, quiet=0.3):
        """Reads what arrives until `quiet` seconds pass without a frame."""
        self.ws.settimeout(quiet)
        try:
            while True:
                text = self.ws.recv()
                if text == "2":
                    self.ws.send("3")
                elif text:
                    self.frames.append(text)
        except (websocket.WebSocketTimeoutException, TimeoutError, socket.timeout):
            pass
        finally:
            self.ws.settimeout(TIMEOUT)

    def events(self, name):
        prefix = f'42["{name}",'
        return [frame for frame in self.frames if frame.startswith(prefix)]

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass


def create_room(url):
    return http_create_room(url, room=unique("r"), timeout=TIMEOUT)


def test_wrong_passwords_from_many_addresses_never_lock_the_right_password_out(chat_server):
    url = chat_server.url
    room, password = create_room(url)
    path = f"/api/rooms/{room}/messages"
    statuses = []
    for index in range(175):
        source = f"127.0.0.{2 + index % 7}"
        status, _ = http_post(url, path, {"name": "guess", "text": "guess"}, {"Authorization": "Bearer WrongPass123"}, source)
        statuses.append(status)
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) >= 100, "most guesses reached the password check"

    # A user at 127.0.0.1 with the right password gets in, over HTTP and over the WebSocket.
    status, body = http_post(url, path, {"name": "bot", "text": "still works"}, {"Authorization": f"Bearer {password}"})
    assert status == 202, body
    client = Member(url)
    try:
        ack = client.sio.call("join", {"room": room, "password": password, "name": "ann"}, timeout=TIMEOUT)
        assert "error" not in ack, ack
        assert ack["history"][-1]["text"] == "still works"
    finally:
        client.close()


def test_presence_events_stay_small_in_a_room_of_300(chat_server):
    url = chat_server.url
    room, password = create_room(url)
    members = []
    try:
        for index in range(300):
            # Ten users per source address, as if from 30 machines.
            member = RawMember(url, source=f"127.0.1.{10 + index // 10}")
            members.append(member)
            ack = member.emit("join", {"room": room, "password": password, "name": f"member-{index:03d}"})
            assert ack and "error" not in ack, ack
        assert ack["count"] == 300
        assert len(ack["members"]) == 200, "the ack lists the first 200 members"
        assert ack["members"][0] == "member-000"
        for member in members:
            member.drain(quiet=0.05)
        first = members[0].events("joined")
        assert len(first) == 299, len(first)
        for member in members:
            for frame in member.events("joined"):
                assert len(frame.encode()) < 200, frame
        assert json.loads(first[-1][2:])[1]["count"] == 300
    finally:
        for member in members:
            member.close()


def test_oversized_fields_are_refused_and_reach_nobody(chat_server):
    url = chat_server.url
    room, password = create_room(url)
    alice = RawMember(url)
    bob = RawMember(url)
    try:
        assert "error" not in alice.emit("join", {"room": room, "password": password, "name": "alice"})
        assert "error" not in bob.emit("join", {"room": room, "password": password, "name": "bob"})
        alice.drain(quiet=0.2)
        alice.frames.clear()

        # One grapheme of 10 000 combining marks (20 KB): "1 character", refused by its bytes and scalars.
        ack = bob.emit("message", {"room": room, "text": "a" + "\u0301" * 10_000})
        assert ack and ack["code"] == "bad_request", ack
        # 200 KB in one grapheme: refused, or the connection closed for a frame over maxPayload.
        big = RawMember(url)
        assert "error" not in big.emit("join", {"room": room, "password": password, "name": "big"})
        ack = big.emit("message", {"room": room, "text": "a" + "\u0301" * 100_000})
        assert ack is None or ack["code"] == "bad_request", ack
        big.close()
        # A 40 KB name (and a 16 KB one, which fits in any frame).
        for size in (16_000, 40_000):
            client = RawMember(url)
            ack = client.emit("join", {"room": room, "password": password, "name": "n" * size})
            assert ack is None or ack["code"] == "bad_request", ack
            if size == 16_000:
                assert ack is not None and ack["code"] == "bad_request", ack
            client.close()
        # A 30 KB text posted over HTTP.
        status, body = http_post(url, f"/api/rooms/{room}/messages", {"name": "bot", "text": "t" * 30_000},
                                 {"Authorization": f"Bearer {password}"})
        assert status == 400 and body["code"] == "bad_request", (status, body)

        alice.drain(quiet=0.5)
        assert alice.events("message") == [], "nothing reached the members"
        time.sleep(0.3)
        log = chat_server.log("a")
        assert "\u0301" * 100 not in log and "n" * 100 not in log and "t" * 100 not in log, "oversized text in the log"
    finally:
        alice.close()
        bob.close()


@pytest.fixture(scope="module")
def roomy_server():
    """A broker that keeps 300 messages per room with no per-room byte budget to speak of, so that
    only the trimming of the join reply keeps a join ack of maximum-size messages under 1 MiB."""
    with Cluster("roomy") as cluster:
        cluster.start_broker("a", "--history", "300", "--history-budget", "65536", "--replay-budget", "65536")
        gateway = cluster.add_gateway()
        cluster.wait_healthy()
        yield gateway.url


def test_a_join_whose_ack_would_be_too_big_gets_a_trimmed_history(roomy_server):
    url = roomy_server
    room, password = create_room(url)
    # As large as the validator allows once encoded: 2000 four-byte scalars (8000 bytes) per message,
    # sent escaped as surrogate pairs (24 KB per frame). 150 of them make 1.2 MB of history.
    text = "\U0001F600" * 2000
    senders = [RawMember(url) for _ in range(5)]
    try:
        for index, sender in enumerate(senders):
            assert "error" not in sender.emit("join", {"room": room, "password": password, "name": f"s{index}"})
        sent = 0
        while sent < 150:
            ack = senders[sent % 5].emit("message", {"room": room, "text": text})
            assert ack is not None, "connection closed"
            if ack.get("code") == "rate_limited":
                time.sleep(0.2)
                continue
            assert "seq" in ack, ack
            last_seq = ack["seq"]
            sent += 1
        client = Member(url)
        try:
            ack = client.sio.call("join", {"room": room, "password": password, "name": "late"}, timeout=TIMEOUT)
        finally:
            client.close()
        assert "error" not in ack, ack
        history = ack["history"]
        assert 50 < len(history) < 150, len(history)
        assert history[-1]["seq"] == last_seq, "the newest messages are kept"
        assert all(m["text"] == text for m in history)
    finally:
        for sender in senders:
            sender.close()


@pytest.fixture
def small_rooms_server():
    """A broker whose rooms hold at most 100 members, so at most 50 kept disconnected."""
    with Cluster("small-rooms") as cluster:
        cluster.start_broker("a", "--max-members-per-room", "100")
        gateway = cluster.add_gateway()
        cluster.wait_healthy()
        yield gateway.url


def test_connections_that_join_and_drop_in_a_loop_leave_a_bounded_number_of_members(small_rooms_server):
    """One address, 20 connections cycling Socket.IO `40` / `join` with a fresh name / `41`: each drop
    keeps a member for the session grace, but a room keeps at most half its cap of them (the oldest
    leave first), so the room never fills with them and a newcomer from elsewhere joins."""
    url = small_rooms_server
    room, password = create_room(url)
    cyclers = [RawMember(url, source="127.0.0.2") for _ in range(20)]
    counts = []
    try:
        for cycle in range(150):
            member = cyclers[cycle % len(cyclers)]
            ack = member.emit("join", {"room": room, "password": password, "name": f"ghost-{cycle}"})
            assert ack is not None and "error" not in ack, ack
            counts.append(ack["count"])
            member.ws.send("41")  # leaves the namespace: the broker keeps the member for its grace
            member.ws.send("40")
            while not (text := member.ws.recv()).startswith("40"):
                if text == "2":
                    member.ws.send("3")
        # One connected cycler at a time plus at most 50 kept: never the room's 100.
        assert max(counts) <= 51, counts
        newcomer = RawMember(url, source="127.0.0.3")
        try:
            ack = newcomer.emit("join", {"room": room, "password": password, "name": "newcomer"})
            assert ack is not None and "error" not in ack, ack
            assert ack["count"] == 51, "50 kept (the newest), and the newcomer"
            assert "ghost-0" not in ack["members"] and "ghost-149" in ack["members"], ack["members"]
        finally:
            newcomer.close()
    finally:
        for member in cyclers:
            member.close()


def test_an_unlimited_broadcast_queue_is_refused_at_start(tmp_path):
    """--broadcast-high-water-mark 0 would be ZeroMQ's "no limit": one stalled gateway's queue could then
    grow until the broker runs out of memory. The broker refuses it and says what to give."""
    result = subprocess.run(
        [binary("RoomBroker"), "--commands", f"ipc://{tmp_path}/c", "--broadcasts", f"ipc://{tmp_path}/b",
         "--broadcast-high-water-mark", "0"],
        capture_output=True, text=True, timeout=30)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "--broadcast-high-water-mark must be at least 1" in output, output
