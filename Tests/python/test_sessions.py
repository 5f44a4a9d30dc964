"""Sessions that outlive a connection, through the real processes (python-socketio clients).

A member whose connection drops stays in its rooms as "disconnected" for the broker's
`--session-grace`: nobody sees it leave, its name stays taken, and a `join` with the same name, the
room's password and `since` (the last seq it saw) takes the membership over and returns exactly the
messages it missed. Only when the grace ends is `left` announced.
"""
import time

import pytest

from support.clients import Member, assert_error, close_all, create_room, join, member_pool
from support.cluster import chat_cluster
from support.processes import poll_until, skip_if_external

GRACE = 2  # seconds of --session-grace for these tests


@pytest.fixture(scope="module")
def short_grace_server():
    """A broker with a 2 s session grace, and two gateways on two ports."""
    skip_if_external("needs its own broker options")
    with chat_cluster("sessions", shared_port=False, broker_args=["--session-grace", GRACE]) as server:
        yield server


@pytest.fixture
def members(short_grace_server):
    """members(index=0) -> Member connected to gateway `index`; all closed after the test."""
    yield from member_pool(lambda index=0: short_grace_server.urls[index])


def texts(history):
    return [m["text"] for m in history]


def test_a_dropped_member_resumes_with_exactly_the_messages_it_missed(members):
    alice, bob = members(0), members(1)
    room, password = create_room(alice)
    join(alice, room, password, "alice")
    join(bob, room, password, "bob")
    alice.wait_for("joined", lambda d: d["room"] == room and d["name"] == "bob")
    seen = alice.call("message", {"room": room, "text": "before"})["seq"]
    bob.wait_for("message", lambda d: d["seq"] == seen)
    alice.drain(0.1)

    bob.close()  # the socket just goes: no leave
    missed = [f"missed {i}" for i in range(5)]
    for text in missed:
        assert "seq" in alice.call("message", {"room": room, "text": text})

    bob2 = members(0)  # back, on the other gateway
    ack = bob2.call("join", {"room": room, "password": password, "name": "bob", "since": seen})
    assert "error" not in ack, f"resume refused: {ack}"
    assert texts(ack["history"]) == missed, ack["history"]
    assert [m["seq"] for m in ack["history"]] == sorted(m["seq"] for m in ack["history"])
    assert ack["complete"] is True
    assert ack["count"] == 2 and sorted(ack["members"]) == ["alice", "bob"]

    # Live messages follow the history, none twice.
    after = alice.call("message", {"room": room, "text": "welcome back"})["seq"]
    got = bob2.wait_for("message", lambda d: d["seq"] == after)
    assert got["text"] == "welcome back"
    assert [d for ev, d in bob2.drain() if ev == "message"] == []

    # Alice never saw bob leave nor arrive again; she saw the resume.
    events = [ev for ev, d in alice.drain(GRACE + 1.5) if d and d.get("room") == room]
    assert "left" not in events and "joined" not in events, events
    assert "resumed" in events, events


def test_an_abandoned_member_is_announced_as_left_after_the_grace(members):
    alice, bob = members(0), members(1)
    room, password = create_room(alice)
    join(alice, room, password, "alice")
    join(bob, room, password, "bob")
    bob.close()
    dropped = time.monotonic()
    # Within the grace nobody sees bob leave.
    events = [ev for ev, d in alice.drain(GRACE / 2) if d and d.get("room") == room]
    assert "left" not in events, events
    left = alice.wait_for("left", lambda d: d["room"] == room, timeout=GRACE + 5)
    assert time.monotonic() - dropped >= GRACE - 0.5, "left came before the grace ended"
    assert left["name"] == "bob" and left["count"] == 1
    # After it, the name is free for a new member (a normal join, announced as joined).
    stranger = members(0)
    join(stranger, room, password, "bob")
    assert alice.wait_for("joined", lambda d: d["room"] == room)["name"] == "bob"


def test_a_connected_members_name_is_still_refused(members):
    alice, other = members(0), members(1)
    room, password = create_room(alice)
    join(alice, room, password, "alice")
    assert_error(other.call("join", {"room": room, "password": password, "name": "Alice", "since": 0}), "name_in_use")


def test_since_is_validated(members):
    alice = members(0)
    room, password = create_room(alice)
    for since in (-1, 1.5, "3", 2 ** 53 + 2):
        assert_error(alice.call("join", {"room": room, "password": password, "name": "a", "since": since}), "bad_request")


def alice_and_bob_on_two_gateways(server, made):
    """alice on gateway 0 and bob on gateway 1 in a new room, both past a first message: returns them,
    the room, its password and that message's seq."""
    alice = Member(server.urls[0])
    bob = Member(server.urls[1])
    made += [alice, bob]
    room, password = create_room(alice)
    join(alice, room, password, "alice")
    join(bob, room, password, "bob")
    seen = alice.call("message", {"room": room, "text": "before the crash"})["seq"]
    bob.wait_for("message", lambda d: d["seq"] == seen)
    return alice, bob, room, password, seen


def test_a_killed_gateway_does_not_announce_its_members_as_left_within_the_grace():
    skip_if_external("kills a gateway of its own cluster")
    # A long grace here: the gateway timeout (2 s, twice the heartbeat interval) passes, the grace
    # does not.
    server = chat_cluster("sessions-kill", shared_port=False,
                          broker_args=["--session-grace", "30", "--gateway-timeout", "2"])
    made = []
    try:
        alice, bob, room, password, seen = alice_and_bob_on_two_gateways(server, made)

        server.kill(server.gateways[1])
        after = alice.call("message", {"room": room, "text": "during the outage"})["seq"]
        # Wait until the broker has given the dead gateway up (its log says so), then a bit more.
        poll_until(lambda: "gateway-lost" in server.log("a"), "gateway-lost line (the broker never dropped the killed gateway)",
                   interval=0.2)
        events = [ev for ev, d in alice.drain(1.0) if d and d.get("room") == room]
        assert "left" not in events, f"bob was announced as left within the grace: {events}"

        bob2 = Member(server.urls[0])
        made.append(bob2)
        ack = bob2.call("join", {"room": room, "password": password, "name": "bob", "since": seen})
        assert "error" not in ack, f"resume refused: {ack}"
        assert [m["seq"] for m in ack["history"]] == [after]
        assert ack["complete"] is True
    finally:
        close_all(made)
        server.stop()


def test_a_client_of_a_killed_gateway_rejoins_by_name_at_its_first_try():
    skip_if_external("kills a gateway of its own cluster")
    # The broker's default gateway timeout and heartbeats: only the closed connection tells it that
    # the gateway is gone this soon.
    server = chat_cluster("sessions-rejoin", shared_port=False, broker_args=["--session-grace", "30"])
    made = []
    try:
        alice, bob, room, password, seen = alice_and_bob_on_two_gateways(server, made)

        server.kill(server.gateways[1])
        killed = time.monotonic()
        # What python-socketio does with reconnection_delay=0.2: a new connection after 0.2 s, here
        # through the gateway that is still up, and the same join as before (name and password).
        time.sleep(0.2)
        bob2 = Member(server.urls[0])
        made.append(bob2)
        ack = bob2.call("join", {"room": room, "password": password, "name": "bob", "since": seen})
        took = time.monotonic() - killed
        assert "error" not in ack, f"rejoin {took:.2f} s after the gateway was killed was refused: {ack}"
        resumed = alice.wait_for("resumed", lambda d: d.get("room") == room)
        assert resumed["name"] == "bob"
        server.wait_log("a", "gateway-closed")
        sent = alice.call("message", {"room": room, "text": "after the rejoin"})["seq"]
        assert bob2.wait_for("message", lambda d: d["seq"] == sent)["text"] == "after the rejoin"
    finally:
        close_all(made)
        server.stop()


def test_the_resume_token_takes_a_live_membership_over_and_the_old_connection_is_told():
    skip_if_external("needs its own cluster")
    server = chat_cluster("sessions-token", shared_port=False, broker_args=["--session-grace", "30"])
    made = []
    try:
        alice = Member(server.urls[0])
        bob = Member(server.urls[1])
        made += [alice, bob]
        room, password = create_room(alice)
        join(alice, room, password, "alice")
        ack = bob.call("join", {"room": room, "password": password, "name": "bob"})
        token = ack["token"]
        assert len(token) == 32 and "token" not in bob.call("message", {"room": room, "text": "hi"})

        # bob's connection and gateway are up and well: by name and password nobody takes his place,
        # with his token (his other tab, his reconnected client) at once.
        bob2 = Member(server.urls[0])
        made.append(bob2)
        refused = bob2.call("join", {"room": room, "password": password, "name": "bob"})
        assert refused.get("code") == "name_in_use", f"a name and password took over a live member: {refused}"
        taken = bob2.call("join", {"room": room, "password": password, "name": "bob", "token": token})
        assert "error" not in taken, f"the token did not take the membership over: {taken}"
        assert taken["token"] != token, "every join gives a new token"
        assert alice.wait_for("resumed", lambda d: d["room"] == room)["name"] == "bob"

        # The old connection is told, and gets nothing more of the room.
        assert bob.wait_for("removed", lambda d: d["room"] == room) == {"room": room, "name": "bob", "reason": "taken_over"}
        sent = alice.call("message", {"room": room, "text": "after the takeover"})["seq"]
        assert bob2.wait_for("message", lambda d: d["seq"] == sent)["text"] == "after the takeover"
        assert not [d for ev, d in bob.drain(1.0) if ev == "message" and d.get("seq") == sent]
        assert bob.call("message", {"room": room, "text": "still here?"}).get("code") == "not_member"
        # The old token stopped working; neither was ever logged.
        again = Member(server.urls[1])
        made.append(again)
        assert again.call("join", {"room": room, "password": password, "name": "bob", "token": token}).get("code") == "name_in_use"
        for process in [*server.gateways, "a"]:
            assert token not in server.log(process) and taken["token"] not in server.log(process)
    finally:
        close_all(made)
        server.stop()
