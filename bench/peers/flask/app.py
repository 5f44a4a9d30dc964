"""Reference chat server on the seed's stack (Flask-SocketIO, gevent, gevent-websocket) for ChatBench.

It implements the client events ChatBench uses, with the wire shapes of docs/PROTOCOL.md:
  create {name, room?}         -> ack {room, password}
  join   {room, password, name} -> ack {room, seq, members, count, history}, broadcast `joined`
  message {room, text}          -> ack {seq}, broadcast `message {room, seq, name, text, ts}`
  leave  {room}                 -> ack {room}, broadcast `left` (also on disconnect)
Each room numbers its events (joined, left, message) from 1 without gaps; a member that joined with
ack `seq = S` receives every event with seq > S and none before.

One process (no --redis-url) keeps rooms in memory and broadcasts with Flask-SocketIO's emit.
Several processes (--redis-url, the same port through SO_REUSEPORT) use Flask-SocketIO's Redis message
queue (python-socketio's RedisManager on the channel `flask-socketio`); a Lua script takes the room's
next seq and publishes the event in one step, and every process (the sender's own included) delivers
from the Redis channel, so all members see one order. A joiner enters the room when its own `joined`
event comes off that channel, which is what makes `seq > S` exact.
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import collections  # noqa: E402
import enum  # noqa: E402
import hashlib  # noqa: E402
import hmac  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import string  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import unicodedata  # noqa: E402

import gevent  # noqa: E402
import redis  # noqa: E402
import socketio  # noqa: E402
from flask import Flask, request  # noqa: E402
from flask_socketio import SocketIO  # noqa: E402
from gevent import pywsgi  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402

# Limits, as docs/PROTOCOL.md states them (bytes of UTF-8 and Unicode scalars).
MAX_PAYLOAD = 32768
NAME_MAX_SCALARS, NAME_MAX_BYTES = 32, 64
TEXT_MAX_SCALARS, TEXT_MAX_BYTES = 2000, 8000
PASSWORD_MAX_BYTES = 64
HISTORY = 100
MEMBERS_IN_ACK = 200
ROOMS_PER_CONNECTION = 32
ROOM_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
PASSWORD_ALPHABET = string.ascii_letters + string.digits
SALT_BYTES = 16
CHANNEL = "flask-socketio"  # Flask-SocketIO's default message-queue channel
QUEUE_HOST = "room-script"  # host_id of events published by the Lua scripts: no process skips them
ENTER_KEY = "enter_sid"  # extra field of a `joined` message: the joiner enters the room when it is delivered


class Code(enum.Enum):
    """Error codes of failed commands (docs/PROTOCOL.md)."""
    BAD_REQUEST = "bad_request"
    WRONG_PASSWORD = "wrong_password"
    NOT_MEMBER = "not_member"
    NO_SUCH_ROOM = "no_such_room"
    NAME_IN_USE = "name_in_use"
    ROOM_EXISTS = "room_exists"
    RATE_LIMITED = "rate_limited"


class Refused(Exception):
    """A command refused with `code`; `message` is for a person."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code

    def ack(self):
        return {"error": str(self), "code": self.code.value}


# --- Validation ---------------------------------------------------------------------------------------

def _field(argument, key, required=True):
    if not isinstance(argument, dict):
        raise Refused(Code.BAD_REQUEST, "the argument must be an object")
    value = argument.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise Refused(Code.BAD_REQUEST, f"`{key}` must be a string")
    return value


def _room(argument, required=True):
    room = _field(argument, "room", required)
    if room is not None and not ROOM_PATTERN.fullmatch(room):
        raise Refused(Code.BAD_REQUEST, "`room` must be 1-32 of A-Z a-z 0-9 _ -")
    return room


def _name(argument):
    name = _field(argument, "name").strip()
    if not 1 <= len(name) <= NAME_MAX_SCALARS or len(name.encode()) > NAME_MAX_BYTES:
        raise Refused(Code.BAD_REQUEST, f"`name` must be 1-{NAME_MAX_SCALARS} characters and {NAME_MAX_BYTES} bytes")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise Refused(Code.BAD_REQUEST, "`name` must not hold control or format characters")
    return name


def _text(argument):
    text = _field(argument, "text")
    if not 1 <= len(text) <= TEXT_MAX_SCALARS or len(text.encode()) > TEXT_MAX_BYTES or not text.strip():
        raise Refused(Code.BAD_REQUEST, f"`text` must be 1-{TEXT_MAX_SCALARS} characters, {TEXT_MAX_BYTES} bytes, not blank")
    return text


def _password(argument):
    password = _field(argument, "password")
    if not 1 <= len(password) <= PASSWORD_MAX_BYTES or not all(0x21 <= ord(c) <= 0x7E for c in password):
        raise Refused(Code.BAD_REQUEST, f"`password` must be 1-{PASSWORD_MAX_BYTES} printable ASCII characters")
    return password


def name_key(name):
    """Names are unique per room after NFKC and case folding."""
    return unicodedata.normalize("NFKC", name).casefold()


# --- Passwords: generated, stored as a random salt and SHA-256(salt || password) -------------------------

def new_password():
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(12))


def hash_password(password):
    salt = secrets.token_bytes(SALT_BYTES)
    return salt.hex() + ":" + hashlib.sha256(salt + password.encode()).hexdigest()


def password_matches(stored, password):
    salt, digest = stored.split(":", 1)
    candidate = hashlib.sha256(bytes.fromhex(salt) + password.encode()).hexdigest()
    return hmac.compare_digest(candidate, digest)


def now_ms():
    return int(time.time() * 1000)  # `ts` is wall-clock milliseconds, as in the protocol


def dumps(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- Room state: in memory (one process) or in Redis (several) ------------------------------------------

class LocalRooms:
    """Rooms of a single process. gevent runs one greenlet at a time and nothing here yields, so taking
    a seq and handing the event to every member's queue happen together."""

    def __init__(self, sio):
        self.sio = sio
        self.passwords = {}
        self.seqs = collections.Counter()
        self.members = collections.defaultdict(dict)  # room -> name key -> name, in join order
        self.history = collections.defaultdict(lambda: collections.deque(maxlen=HISTORY))

    def create(self, room, stored):
        if room in self.passwords:
            return False
        self.passwords[room] = stored
        return True

    def stored_password(self, room):
        return self.passwords.get(room)

    def join(self, room, key, name, sid):
        members = self.members[room]
        if key in members:
            return None
        members[key] = name
        self.seqs[room] += 1
        seq = self.seqs[room]
        self.sio.emit("joined", {"room": room, "seq": seq, "name": name, "count": len(members)}, to=room)
        self.sio.server.enter_room(sid, room)
        names = list(members.values())[:MEMBERS_IN_ACK]
        return seq, len(members), names, list(self.history[room])

    def message(self, room, name, text):
        self.seqs[room] += 1
        event = {"room": room, "seq": self.seqs[room], "name": name, "text": text, "ts": now_ms()}
        self.history[room].append(event)
        self.sio.emit("message", event, to=room)
        return event["seq"]

    def leave(self, room, key, name, sid):
        self.sio.server.leave_room(sid, room)
        members = self.members[room]
        members.pop(key, None)
        self.seqs[room] += 1
        self.sio.emit("left", {"room": room, "seq": self.seqs[room], "name": name, "count": len(members)}, to=room)


# KEYS[1] seq counter, KEYS[2] history list; ARGV: channel, data head, data tail, envelope head, envelope tail.
MESSAGE_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
local data = ARGV[2] .. n .. ARGV[3]
redis.call('RPUSH', KEYS[2], data)
redis.call('LTRIM', KEYS[2], -%d, -1)
redis.call('PUBLISH', ARGV[1], ARGV[4] .. data .. ARGV[5])
return n
""" % HISTORY

# KEYS[1] seq, KEYS[2] members hash (name key -> name), KEYS[3] join order list, KEYS[4] history;
# ARGV: channel, name key, name, data head, data middle (before count), data tail, envelope head, envelope tail.
JOIN_SCRIPT = """
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3]) == 0 then return {-1} end
redis.call('RPUSH', KEYS[3], ARGV[2])
local n = redis.call('INCR', KEYS[1])
local count = redis.call('HLEN', KEYS[2])
local data = ARGV[4] .. n .. ARGV[5] .. count .. ARGV[6]
redis.call('PUBLISH', ARGV[1], ARGV[7] .. data .. ARGV[8])
local keys = redis.call('LRANGE', KEYS[3], 0, %d)
local names = redis.call('HMGET', KEYS[2], unpack(keys))
return {n, count, names, redis.call('LRANGE', KEYS[4], 0, -1)}
""" % (MEMBERS_IN_ACK - 1)

# KEYS[1] seq, KEYS[2] members hash, KEYS[3] join order list; ARGV as JOIN_SCRIPT's first seven.
LEAVE_SCRIPT = """
if redis.call('HDEL', KEYS[2], ARGV[2]) == 0 then return -1 end
redis.call('LREM', KEYS[3], 1, ARGV[2])
local n = redis.call('INCR', KEYS[1])
local count = redis.call('HLEN', KEYS[2])
redis.call('PUBLISH', ARGV[1], ARGV[7] .. ARGV[4] .. n .. ARGV[5] .. count .. ARGV[6] .. ARGV[8])
return n
"""


class RedisRooms:
    """Rooms shared by several processes through Redis: a Lua script takes the seq and publishes the
    event on Flask-SocketIO's channel in one step, so the channel's order is the seq order."""

    def __init__(self, url):
        self.redis = redis.Redis.from_url(url)
        self.message_script = self.redis.register_script(MESSAGE_SCRIPT)
        self.join_script = self.redis.register_script(JOIN_SCRIPT)
        self.leave_script = self.redis.register_script(LEAVE_SCRIPT)

    @staticmethod
    def _keys(room):
        return {k: f"chat:{{{room}}}:{k}" for k in ("auth", "seq", "members", "order", "history")}

    @staticmethod
    def _envelope(event, room, enter_sid=None):
        head = '{"method":"emit","event":%s,"namespace":"/","room":%s,"skip_sid":null,"callback":null,' \
               '"binary":false,"host_id":%s,%s"data":[' % (
                   dumps(event), dumps(room), dumps(QUEUE_HOST),
                   "" if enter_sid is None else '"%s":%s,' % (ENTER_KEY, dumps(enter_sid)))
        return head, "]}"

    def create(self, room, stored):
        return bool(self.redis.set(self._keys(room)["auth"], stored, nx=True))

    def stored_password(self, room):
        value = self.redis.get(self._keys(room)["auth"])
        return value.decode() if value is not None else None

    def _membership(self, script, event, room, key, name, sid, extra_keys):
        keys = self._keys(room)
        head, tail = self._envelope(event, room, sid if event == "joined" else None)
        args = [CHANNEL, key, name, '{"room":%s,"seq":' % dumps(room), ',"name":%s,"count":' % dumps(name), "}", head, tail]
        return script(keys=[keys["seq"], keys["members"], keys["order"]] + extra_keys(keys), args=args)

    def join(self, room, key, name, sid):
        result = self._membership(self.join_script, "joined", room, key, name, sid, lambda k: [k["history"]])
        if result[0] == -1:
            return None
        seq, count, names, history = result
        return seq, count, [n.decode() for n in names if n is not None], [json.loads(h) for h in history]

    def message(self, room, name, text):
        keys = self._keys(room)
        head, tail = self._envelope("message", room)
        data_head = '{"room":%s,"seq":' % dumps(room)
        data_tail = ',"name":%s,"text":%s,"ts":%d}' % (dumps(name), dumps(text), now_ms())
        return self.message_script(keys=[keys["seq"], keys["history"]], args=[CHANNEL, data_head, data_tail, head, tail])

    def leave(self, room, key, name, sid):
        self._membership(self.leave_script, "left", room, key, name, sid, lambda k: [])


class OrderedRedisManager(socketio.RedisManager):
    """python-socketio's RedisManager, except that a `joined` event published by JOIN_SCRIPT also puts
    the joiner (when connected to this process) into the room right after delivering it."""

    def _handle_emit(self, message):
        super()._handle_emit(message)
        sid = message.get(ENTER_KEY)
        if sid is not None and self.is_connected(sid, "/"):
            self.basic_enter_room(sid, "/", message.get("room"))


# --- The application ------------------------------------------------------------------------------------

class Log:
    """One terminal line per command and message at level info (as the chat server logs), none at warning."""

    def __init__(self, level):
        self.verbose = level == "info"

    def line(self, text):
        if self.verbose:
            sys.stdout.write(text + "\n")


def make_app(redis_url, log):
    app = Flask(__name__)
    options = dict(async_mode="gevent", ping_interval=20, ping_timeout=10, max_http_buffer_size=MAX_PAYLOAD,
                   transports=["websocket"], cors_allowed_origins="*")
    if redis_url:
        options["client_manager"] = OrderedRedisManager(redis_url, channel=CHANNEL)
    sio = SocketIO(app, **options)
    rooms = RedisRooms(redis_url) if redis_url else LocalRooms(sio)
    joined = collections.defaultdict(dict)  # sid -> room -> (name key, name); this process's members only

    @app.route("/healthz")
    def healthz():
        return "ok\n"

    def command(handler):
        def wrapper(argument=None):
            try:
                return handler(argument)
            except Refused as refused:
                return refused.ack()
        wrapper.__name__ = handler.__name__
        return wrapper

    @sio.on("create")
    @command
    def create(argument):
        _name(argument)
        room = _room(argument, required=False) or "room-" + secrets.token_hex(6)
        password = new_password()
        if not rooms.create(room, hash_password(password)):
            raise Refused(Code.ROOM_EXISTS, f"a room named {room} exists")
        log.line(f"create room={room}")
        return {"room": room, "password": password}

    @sio.on("join")
    @command
    def join(argument):
        room, name, password = _room(argument), _name(argument), _password(argument)
        sid = request.sid
        memberships = joined[sid]
        if room in memberships:
            raise Refused(Code.NAME_IN_USE, f"you are in {room} already")
        if len(memberships) >= ROOMS_PER_CONNECTION:
            raise Refused(Code.RATE_LIMITED, f"at most {ROOMS_PER_CONNECTION} rooms per connection")
        stored = rooms.stored_password(room)
        if stored is None:
            raise Refused(Code.NO_SUCH_ROOM, f"no room is named {room}")
        if not password_matches(stored, password):
            raise Refused(Code.WRONG_PASSWORD, f"wrong password for room {room}")
        key = name_key(name)
        result = rooms.join(room, key, name, sid)
        if result is None:
            raise Refused(Code.NAME_IN_USE, f"{name} is already in {room}")
        memberships[room] = (key, name)
        seq, count, members, history = result
        log.line(f"join room={room} name={name} seq={seq}")
        return {"room": room, "seq": seq, "members": members, "count": count, "history": history}

    @sio.on("message")
    @command
    def message(argument):
        room, text = _room(argument), _text(argument)
        membership = joined.get(request.sid, {}).get(room)
        if membership is None:
            raise Refused(Code.NOT_MEMBER, f"join {room} before sending to it")
        seq = rooms.message(room, membership[1], text)
        log.line(f"message room={room} seq={seq} name={membership[1]} bytes={len(text.encode())}")
        return {"seq": seq}

    @sio.on("leave")
    @command
    def leave(argument):
        room = _room(argument)
        membership = joined.get(request.sid, {}).pop(room, None)
        if membership is None:
            raise Refused(Code.NOT_MEMBER, f"you are not in {room}")
        rooms.leave(room, membership[0], membership[1], request.sid)
        return {"room": room}

    @sio.on("disconnect")
    def disconnect(reason=None):
        for room, (key, name) in joined.pop(request.sid, {}).items():
            rooms.leave(room, key, name, request.sid)

    return app, sio


class NoDelayWSGIServer(pywsgi.WSGIServer):
    """gevent's WSGI server with TCP_NODELAY on each connection, as the chat gateway sets it: without it,
    Nagle's algorithm and delayed ACKs hold small frames back for up to 40 ms."""

    def handle(self, sock, address):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)


def listen(host, port, backlog):
    """A listening socket shared by every process on `port` (SO_REUSEPORT: the kernel spreads connections)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    listener.listen(backlog)
    return listener


def main():
    parser = argparse.ArgumentParser(description="Flask-SocketIO reference chat server for ChatBench")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", help="Redis message queue (several processes on one port); none: one process, in memory")
    parser.add_argument("--log-level", choices=["info", "warning"], default="info")
    parser.add_argument("--backlog", type=int, default=4096)
    parser.add_argument("--nagle", action="store_true", help="leave Nagle's algorithm on (gevent's default)")
    args = parser.parse_args()
    app, _ = make_app(args.redis_url, Log(args.log_level))
    server_class = pywsgi.WSGIServer if args.nagle else NoDelayWSGIServer
    server = server_class(listen(args.host, args.port, args.backlog), app, handler_class=WebSocketHandler, log=None)
    gevent.signal_handler(signal.SIGTERM, server.stop)
    gevent.signal_handler(signal.SIGINT, server.stop)
    sys.stdout.write(f"flask peer listening on {args.host}:{args.port} ({'redis ' + args.redis_url if args.redis_url else 'one process, in memory'})\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
