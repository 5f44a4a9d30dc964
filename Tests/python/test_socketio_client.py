"""Protocol tests with the official python-socketio client (WebSocket transport only).

Each test uses fresh room and display names, so tests do not depend on each other.
"""
import json
import re
import time

import pytest
import requests
import websocket

from support.clients import TIMEOUT, assert_error, create_room, join, member_pool, unique

PASSWORD_RE = re.compile(r"^[A-Za-z0-9]{12}$")
ROOM_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@pytest.fixture
def connect(chat_server):
    """connect(url=None) -> Member; all are disconnected after the test."""
    yield from member_pool(lambda url=None: url or chat_server.url)


# ---- create / join -------------------------------------------------------


def test_create_returns_room_and_generated_password(connect):
    m = connect()
    room = unique("r")
    ack = m.call("create", {"name": "alice", "room": room})
    assert ack["room"] == room
    assert PASSWORD_RE.match(ack["password"]), ack

    # Without a room name the server picks a valid one.
    ack = m.call("create", {"name": "alice"})
    assert ROOM_RE.match(ack["room"]), ack
    assert PASSWORD_RE.match(ack["password"]), ack

    # The same name again is refused.
    assert_error(m.call("create", {"name": "alice", "room": room}), "room_exists")


def test_create_does_not_make_creator_a_member(connect):
    m = connect()
    room, password = create_room(m, "alice")
    assert_error(m.call("message", {"room": room, "text": "hi"}), "not_member")
    ack = join(m, room, password, "alice")
    assert ack["members"] == ["alice"]


def test_join_ack_shape(connect):
    m = connect()
    room, password = create_room(m)
    ack = join(m, room, password, "alice")
    assert ack["room"] == room
    assert isinstance(ack["seq"], int)
    assert ack["members"] == ["alice"]
    assert ack["count"] == 1
    assert ack["history"] == []


def test_wrong_password_is_refused(connect):
    owner, intruder = connect(), connect()
    room, password = create_room(owner)
    join(owner, room, password, "alice")

    wrong = password[::-1] if password[::-1] != password else password + "x"
    assert_error(intruder.call("join", {"room": room, "password": wrong, "name": "mallory"}), "wrong_password")
    # Not a member: cannot post, and does not hear the room.
    assert_error(intruder.call("message", {"room": room, "text": "let me in"}), "not_member")
    owner.call("message", {"room": room, "text": "secret"})
    assert [e for e in intruder.drain() if e[0] == "message"] == []
    # The owner never saw mallory join.
    assert all(ev != "joined" for ev, _ in owner.drain(0.1))


def test_join_unknown_room_and_bad_fields(connect):
    m = connect()
    assert_error(m.call("join", {"room": unique("nope"), "password": "x" * 12, "name": "alice"}), "no_such_room")
    room, password = create_room(m)
    assert_error(m.call("join", {"room": room, "password": password, "name": "   "}), "bad_request")
    assert_error(m.call("join", {"room": room, "password": password, "name": "x" * 33}), "bad_request")
    assert_error(m.call("create", {"name": "alice", "room": "bad room!"}), "bad_request")


def test_name_in_use_in_same_room(connect):
    a, b = connect(), connect()
    room, password = create_room(a)
    join(a, room, password, "alice")
    assert_error(b.call("join", {"room": room, "password": password, "name": "alice"}), "name_in_use")


def test_unknown_event_gets_error_ack(connect):
    m = connect()
    assert_error(m.call("dance", {"x": 1}), "unknown_event")


# ---- messages --------------------------------------------------------------


def test_message_reaches_other_member_with_seq(connect):
    a, b = connect(), connect()
    room, password = create_room(a)
    join(a, room, password, "alice")
    b_ack = join(b, room, password, "bob")
    assert sorted(b_ack["members"]) == ["alice", "bob"]

    before = int(time.time() * 1000)
    ack = a.call("message", {"room": room, "text": "hello bob"})
    assert set(ack) == {"seq"} and isinstance(ack["seq"], int), ack
    assert ack["seq"] > b_ack["seq"]

    msg = b.wait_for("message", lambda d: d["room"] == room)
    assert msg["seq"] == ack["seq"]
    assert msg["name"] == "alice"
    assert msg["text"] == "hello bob"
    assert abs(msg["ts"] - before) < 60_000, msg


def test_joined_event_goes_to_existing_members_only(connect):
    a, b = connect(), connect()
    room, password = create_room(a)
    join(a, room, password, "alice")
    b_ack = join(b, room, password, "bob")

    ev = a.wait_for("joined", lambda d: d["room"] == room)
    assert ev["name"] == "bob"
    # A delta: who joined and how many members there are now, never the member list.
    assert set(ev) == {"room", "seq", "name", "count"}, ev
    assert ev["count"] == 2
    assert ev["seq"] == b_ack["seq"]
    # bob gets the ack, not a joined event about himself.
    assert [e for e in b.drain() if e[0] == "joined"] == []


def test_non_member_gets_nothing(connect):
    a, b, outsider = connect(), connect(), connect()
    room, password = create_room(a)
    join(a, room, password, "alice")
    join(b, room, password, "bob")
    other_room, other_pw = create_room(outsider)
    join(outsider, other_room, other_pw, "olivia")

    a.call("message", {"room": room, "text": "members only"})
    b.wait_for("message", lambda d: d["text"] == "members only")
    # A message in the outsider's own room arrives; nothing from the other room before or after it.
    outsider.call("message", {"room": other_room, "text": "marker"})
    got = outsider.drain()
    assert all(d.get("room") == other_room for _, d in got), got


def test_history_in_join_ack(connect):
    a, late = connect(), connect()
    room, password = create_room(a)
    join(a, room, password, "alice")
    seqs = [a.call("message", {"room": room, "text": f"m{i}"})["seq"] for i in range(3)]

    ack = join(late, room, password, "carol")
    history = [h for h in ack["history"] if h["name"] == "alice"]
    assert [h["text"] for h in history] == ["m0", "m1", "m2"]
    assert [h["seq"] for h in history] == seqs
    for h in history:
        assert h["room"] == room and isinstance(h["ts"], int)
    assert ack["seq"] >= seqs[-1]


def test_a_member_pages_back_through_the_history(connect):
    a, late, outsider = connect(), connect(), connect()
    room, password = create_room(a)
    join(a, room, password, "alice")
    seqs = [a.call("message", {"room": room, "text": f"m{i}"})["seq"] for i in range(5)]
    join(late, room, password, "carol")
    page = late.call("history", {"room": room, "before": seqs[3]})
    assert [h["text"] for h in page["history"]] == ["m0", "m1", "m2"] and page["more"] is False
    assert page["room"] == room and [h["seq"] for h in page["history"]] == seqs[:3]
    assert outsider.call("history", {"room": room, "before": seqs[3]})["code"] == "not_member"
    assert late.call("history", {"room": room, "before": 0})["code"] == "bad_request"


def test_all_members_see_the_same_order(connect):
    a, b, c = connect(), connect(), connect()
    room, password = create_room(a)
    join(a, room, password, "alice")
    join(b, room, password, "bob")
    join(c, room, password, "carol")
    sent = []
    for i in range(4):
        sent.append(a.call("message", {"room": room, "text": f"a{i}"})["seq"])
        sent.append(b.call("message", {"room": room, "text": f"b{i}"})["seq"])
    assert sent == sorted(sent) and len(set(sent)) == len(sent)

    seen = [c.wait_for("message", lambda d: d["room"] == room)["seq"] for _ in sent]
    assert seen == sent


def test_text_limits(connect):
    a = connect()
    room, password = create_room(a)
    join(a, room, password, "alice")
    assert_error(a.call("message", {"room": room, "text": "   "}), "bad_request")
    assert_error(a.call("message", {"room": room, "text": "x" * 2001}), "bad_request")
    assert "seq" in a.call("message", {"room": room, "text": "x" * 2000})


# ---- leave -----------------------------------------------------------------


def test_leave_is_announced(connect):
    a, b = connect(), connect()
    room, password = create_room(a)
    join(a, room, password, "alice")
    join(b, room, password, "bob")

    assert b.call("leave", {"room": room}) == {"room": room}
    ev = a.wait_for("left", lambda d: d["room"] == room)
    assert ev["name"] == "bob"
    assert set(ev) == {"room", "seq", "name", "count"}, ev
    assert ev["count"] == 1
    assert isinstance(ev["seq"], int)

    # bob hears nothing more and cannot post.
    b.drain(0.1)
    a.call("message", {"room": room, "text": "after bob left"})
    assert [e for e in b.drain() if e[0] == "message"] == []
    assert_error(b.call("message", {"room": room, "text": "hi"}), "not_member")
    assert_error(b.call("leave", {"room": room}), "not_member")


def test_disconnect_keeps_the_member_and_a_rejoin_resumes_it(connect):
    # The broker keeps a dropped member for its session grace (120 s here): no `left`, and a join
    # with the same name and the password takes the membership over (tests/python/test_sessions.py
    # covers the end of the grace).
    a, b = connect(), connect()
    room, password = create_room(a)
    join(a, room, password, "alice")
    join(b, room, password, "bob")
    b.close()
    assert [d for ev, d in a.drain() if ev == "left"] == []
    b2 = connect()
    ack = join(b2, room, password, "bob")
    assert ack["count"] == 2
    ev = a.wait_for("resumed", lambda d: d["room"] == room)
    assert ev["name"] == "bob" and ev["count"] == 2
    assert [d for ev, d in a.drain() if ev in ("joined", "left")] == []


# ---- rooms list ------------------------------------------------------------


def test_rooms_list_over_http_and_socket(connect, chat_server):
    a = connect()
    room, password = create_room(a)
    join(a, room, password, "alice")

    # The list is paged by room name: {rooms, next}; follow `next` (as `?after=`) to our room.
    entry, after = None, None
    for _ in range(200):
        r = requests.get(f"{chat_server.url}/api/rooms", params={"after": after} if after else None, timeout=TIMEOUT)
        assert r.status_code == 200
        body = r.json()
        assert "next" in body and len(body["rooms"]) <= 200, body
        assert password not in r.text and "password" not in r.text
        names = [x["room"] for x in body["rooms"]]
        assert names == sorted(names)
        entry = next((x for x in body["rooms"] if x["room"] == room), None)
        if entry or body["next"] is None or body["next"] == after:
            break
        after = body["next"]
    assert entry, f"room {room} not listed"
    assert entry["members"] == 1
    assert abs(entry["created"] - time.time() * 1000) < 60_000

    ack = a.call("rooms", {})
    assert "next" in ack, ack
    entry = next((x for x in ack["rooms"] if x["room"] == room), None)
    if entry is not None or ack["next"] is None:
        assert entry["members"] == 1 and "password" not in entry


# ---- HTTP API --------------------------------------------------------------


def test_http_create_and_post_reach_websocket_member(connect, chat_server):
    r = requests.post(f"{chat_server.url}/api/rooms", json={"name": "bot"}, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    room, password = r.json()["room"], r.json()["password"]
    assert PASSWORD_RE.match(password)

    m = connect()
    join(m, room, password, "alice")
    r = requests.post(f"{chat_server.url}/api/rooms/{room}/messages",
                      json={"name": "webhook", "text": "deploy finished"},
                      headers={"Authorization": f"Bearer {password}"}, timeout=TIMEOUT)
    assert r.status_code == 202, r.text
    seq = r.json()["seq"]
    msg = m.wait_for("message", lambda d: d["room"] == room)
    assert (msg["seq"], msg["name"], msg["text"]) == (seq, "webhook", "deploy finished")
    assert msg["via"] == "http", msg  # marked: it cannot pass for a member's message


def _assert_json_error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("code"), str) and body["code"], body
    return body


def test_http_errors_are_json(chat_server):
    url = chat_server.url
    r = requests.post(f"{url}/api/rooms", json={"name": "bot"}, timeout=TIMEOUT)
    room, password = r.json()["room"], r.json()["password"]
    post = f"{url}/api/rooms/{room}/messages"
    good = {"name": "bot", "text": "hi"}

    _assert_json_error(requests.post(post, json=good, timeout=TIMEOUT), 401)
    _assert_json_error(requests.post(post, json=good, headers={"Authorization": "Bearer wrongwrong12"},
                                     timeout=TIMEOUT), 401)
    body = _assert_json_error(requests.post(f"{url}/api/rooms/{unique('nope')}/messages", json=good,
                                            headers={"Authorization": f"Bearer {password}"},
                                            timeout=TIMEOUT), 404)
    assert body["code"] == "no_such_room"
    auth = {"Authorization": f"Bearer {password}", "Content-Type": "application/json"}
    _assert_json_error(requests.post(post, data="{not json", headers=auth, timeout=TIMEOUT), 400)
    _assert_json_error(requests.post(post, data=json.dumps({"name": "bot"}), headers=auth, timeout=TIMEOUT), 400)
    _assert_json_error(requests.post(f"{url}/api/rooms", json={}, timeout=TIMEOUT), 400)


def test_healthz_and_polling_refused(chat_server):
    r = requests.get(f"{chat_server.url}/healthz", timeout=TIMEOUT)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = requests.get(f"{chat_server.url}/socket.io/?EIO=4&transport=polling", timeout=TIMEOUT)
    assert _assert_json_error(r, 400)["code"] == "websocket_only"


# ---- raw Engine.IO framing (what static/socketio-client.js relies on) -------


def test_raw_engineio_handshake_and_ack_framing(chat_server):
    ws_url = chat_server.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    ws = websocket.create_connection(ws_url, timeout=TIMEOUT)
    try:
        opened = ws.recv()
        assert opened.startswith("0"), opened
        info = json.loads(opened[1:])
        assert info["sid"] and info["upgrades"] == [] and info["pingInterval"] > 0, info

        ws.send("40")
        reply = ws.recv()
        assert reply.startswith("40{"), reply
        assert json.loads(reply[2:])["sid"]

        ws.send('427["rooms",{}]')
        reply = ws.recv()
        assert reply.startswith("437["), reply
        assert isinstance(json.loads(reply[3:])[0]["rooms"], list)

        ws.send("40/admin,")
        reply = ws.recv()
        assert reply.startswith("44/admin,"), reply
    finally:
        ws.close()


# ---- several gateways ------------------------------------------------------


def test_members_on_a_shared_port_all_hear_each_other(connect):
    # With two gateways on one port, connections are spread over both.
    members = [connect() for _ in range(4)]
    room, password = create_room(members[0])
    for i, m in enumerate(members):
        join(m, room, password, f"user{i}")
    ack = members[-1].call("message", {"room": room, "text": "to everyone"})
    for m in members[:-1]:
        assert m.wait_for("message", lambda d: d["room"] == room)["seq"] == ack["seq"]


def test_message_crosses_gateways_on_two_ports(chat_server_two_ports, connect):
    url1, url2 = chat_server_two_ports.urls
    a, b = connect(url1), connect(url2)
    room, password = create_room(b)
    join(a, room, password, "alice")
    join(b, room, password, "bob")
    assert a.wait_for("joined", lambda d: d["room"] == room)["name"] == "bob"
    ack = a.call("message", {"room": room, "text": "across"})
    msg = b.wait_for("message", lambda d: d["room"] == room)
    assert (msg["seq"], msg["text"]) == (ack["seq"], "across")
    ack = b.call("message", {"room": room, "text": "and back"})
    assert a.wait_for("message", lambda d: d["text"] == "and back")["seq"] == ack["seq"]
