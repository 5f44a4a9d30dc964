"""A large broker state, made and checked over the public API (used by bench/chaos.py --state-rooms and
Tests/python/test_big_state.py).

`fill` creates ROOMS rooms over `POST /api/rooms` and posts MESSAGES texts of TEXT_BYTES bytes of UTF-8 to
each over `POST /api/rooms/{room}/messages` (with the room's password as bearer token and an idempotency
id, so a retried post is applied once). Requests come from many loopback source addresses
(127.0.4.1, 127.0.4.2, ...; Linux answers on all of 127.0.0.0/8) so that the per-address limits (HTTP
requests per second, rooms and creates per address) hold as for real clients, and are retried on 429,
503 and dropped connections. It returns what it posted: each room's name, password and (seq, digest)
of every message, in seq order.

`check_rooms` joins every room over Socket.IO with its password and compares the join ack's history
with what was posted (and with extra acknowledged messages, e.g. a chat that went on meanwhile).

A text of 8000 bytes (the most a message may have, with at most 2000 Unicode scalars) is made of
4-byte scalars: two that name the room and the message (U+20000 + number), then U+1F600 repeated.
"""
import hashlib
import http.client
import json
import threading
import time
from dataclasses import dataclass, field

import socketio

MAX_TEXT_BYTES = 8000
MAX_TEXT_SCALARS = 2000


def source_address(index):
    """The index-th loopback source address: 127.0.4.1 ... 127.0.4.250, then 127.0.5.1, ..."""
    return f"127.0.{4 + index // 250}.{1 + index % 250}"


def make_text(room_number, message_number, size):
    """`size` bytes of UTF-8 (16..8000), at most 2000 scalars, different for each (room, message)."""
    if not 16 <= size <= MAX_TEXT_BYTES:
        raise ValueError(f"text size must be 16..{MAX_TEXT_BYTES} bytes")
    tag = chr(0x20000 + room_number % 40000) + chr(0x20000 + message_number % 40000)
    rest = size - 8
    text = tag + "\U0001F600" * (rest // 4) + "x" * (rest % 4)
    assert len(text.encode()) == size and len(text) <= MAX_TEXT_SCALARS
    return text


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class BigRoom:
    room: str
    password: str
    posted: list = field(default_factory=list)  # (seq, digest of the text), in seq order


class _Progress:
    def __init__(self):
        self.lock = threading.Lock()
        self.rooms = 0
        self.messages = 0
        self.bytes = 0
        self.retries = {}  # reason -> count
        self.error = None

    def retry(self, reason):
        with self.lock:
            self.retries[reason] = self.retries.get(reason, 0) + 1


class _Poster:
    """One worker's keep-alive HTTP connections, one per source address it uses, taken in turn."""

    def __init__(self, host, port, addresses, progress, deadline):
        self.host, self.port = host, port
        self.addresses = addresses
        self.connections = {}
        self.turn = 0
        self.progress = progress
        self.deadline = deadline

    def close(self):
        for connection in self.connections.values():
            connection.close()

    def request(self, path, body, password=None):
        """(status, JSON answer) of a POST, from the next source address; retried (with the same body,
        so the same idempotency id) on 429, 503 and connection errors until the deadline."""
        payload = json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if password is not None:
            headers["Authorization"] = f"Bearer {password}"
        while True:
            if time.monotonic() > self.deadline:
                raise TimeoutError(f"POST {path} not answered before the fill's deadline")
            address = self.addresses[self.turn % len(self.addresses)]
            self.turn += 1
            connection = self.connections.get(address)
            if connection is None:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=10, source_address=(address, 0))
                self.connections[address] = connection
            try:
                connection.request("POST", path, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                del self.connections[address]
                self.progress.retry(type(error).__name__)
                time.sleep(0.05)
                continue
            if response.status in (429, 503):
                self.progress.retry(str(response.status))
                time.sleep(0.1 if response.status == 429 else 0.3)
                continue
            return response.status, json.loads(data) if data else {}


def fill(url, rooms=300, messages=64, text_bytes=MAX_TEXT_BYTES, addresses=250, workers=24, say=print,
         seconds=300, prefix="big", progress_every=3.0):
    """Creates `rooms` rooms and posts `messages` texts of `text_bytes` bytes to each (see the module's
    doc); returns the list of BigRoom. Raises if anything is refused or it takes over `seconds`."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    deadline = time.monotonic() + seconds
    progress = _Progress()
    result = [None] * rooms
    pool = [source_address(i) for i in range(addresses)]
    workers = max(1, min(workers, rooms))

    def work(worker):
        # Worker w creates and fills rooms w, w + workers, ... one after the other (so a room's seqs
        # follow its posts), from the addresses w, w + workers, ... in turn.
        poster = _Poster(host, int(port), pool[worker::workers] or pool, progress, deadline)
        try:
            for number in range(worker, rooms, workers):
                status, answer = poster.request("/api/rooms", {"name": "filler", "room": f"{prefix}{number:04d}", "id": f"create-{number}"})
                if status != 201:
                    raise RuntimeError(f"creating room {prefix}{number:04d}: HTTP {status} {answer}")
                big = BigRoom(answer["room"], answer["password"])
                path = f"/api/rooms/{big.room}/messages"
                for k in range(messages):
                    text = make_text(number, k, text_bytes)
                    status, answer = poster.request(path, {"name": "filler", "text": text, "id": f"fill-{number}-{k}"},
                                                    big.password)
                    if status != 202 or not isinstance(answer.get("seq"), int):
                        raise RuntimeError(f"posting to {big.room}: HTTP {status} {answer}")
                    big.posted.append((answer["seq"], digest(text)))
                    with progress.lock:
                        progress.messages += 1
                        progress.bytes += text_bytes
                big.posted.sort()
                result[number] = big
                with progress.lock:
                    progress.rooms += 1
        except BaseException as error:  # noqa: BLE001 - reported by the caller
            with progress.lock:
                progress.error = progress.error or error
        finally:
            poster.close()

    started = time.monotonic()
    say(f"filling {rooms} rooms with {messages} messages of {text_bytes} bytes each from {len(pool)} "
        f"source addresses ({pool[0]} ...), {workers} threads")
    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(workers)]
    for thread in threads:
        thread.start()
    def report():
        with progress.lock:
            done, sent, size, retries = progress.rooms, progress.messages, progress.bytes, dict(progress.retries)
        elapsed = time.monotonic() - started
        say(f"  {elapsed:5.1f} s: {done}/{rooms} rooms full, {sent}/{rooms * messages} messages "
            f"({size / 2**20:.0f} MiB, {sent / max(elapsed, 0.001):.0f}/s); retried: {retries or 'none'}")

    next_report = started + progress_every
    while any(thread.is_alive() for thread in threads) and progress.error is None:
        time.sleep(0.1)
        if time.monotonic() >= next_report:
            report()
            next_report += progress_every
    report()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + 1)
    if progress.error is not None:
        raise RuntimeError(f"filling the state failed: {progress.error!r}") from progress.error
    if any(big is None for big in result):
        raise RuntimeError("filling the state did not finish")
    return result


def check_room(client, big, extra=None, name="checker"):
    """Problems (a list of strings, empty when all is well) of `big` as a join with its password finds it:
    the room must open, and its history must be what was posted: each message is a posted one (same
    digest) or one of `extra` ({seq: text}, messages acknowledged otherwise), none is missing after the
    first one shown, and the newest known message is there."""
    extra = extra or {}
    # Joins from one address are limited (60 at once, then 10 a second): wait as the refusal says.
    for _ in range(30):
        ack = client.call("join", {"room": big.room, "password": big.password, "name": name}, timeout=15)
        if not (isinstance(ack, dict) and ack.get("code") == "rate_limited"):
            break
        time.sleep(1)
    if not isinstance(ack, dict) or "error" in ack:
        return [f"{big.room}: join refused: {ack}"]
    try:
        client.call("leave", {"room": big.room}, timeout=15)
    except Exception:  # noqa: BLE001 - only tidying
        pass
    history = [m for m in ack.get("history", []) if isinstance(m, dict) and m.get("room", big.room) == big.room]
    posted = dict(big.posted)
    known = set(posted) | set(extra)
    problems = []
    if not history:
        return [f"{big.room}: empty history (its head seq is {ack.get('seq')}; {len(posted)} messages were posted)"]
    seqs = [m.get("seq") for m in history]
    if len(set(seqs)) != len(seqs) or seqs != sorted(seqs):
        problems.append(f"{big.room}: history seqs repeated or out of order: {seqs}")
    for message in history:
        seq, text = message.get("seq"), message.get("text", "")
        if seq in posted:
            if digest(text) != posted[seq]:
                problems.append(f"{big.room}: seq {seq} is not the text posted at that seq")
        elif seq in extra:
            if text != extra[seq]:
                problems.append(f"{big.room}: seq {seq} is {text[:40]!r}, acknowledged as {extra[seq][:40]!r}")
        else:
            problems.append(f"{big.room}: seq {seq} ({text[:20]!r}...) was never acknowledged")
    shown = set(seqs)
    missing = sorted(seq for seq in known if seq >= seqs[0] and seq not in shown)
    if missing:
        problems.append(f"{big.room}: acknowledged messages missing from the history: seqs {missing[:10]}"
                        f"{' ...' if len(missing) > 10 else ''} ({len(missing)})")
    if max(known) > seqs[-1]:
        problems.append(f"{big.room}: the history ends at seq {seqs[-1]}, the last acknowledged message has seq {max(known)}")
    if not isinstance(ack.get("seq"), int) or ack["seq"] < max(known):
        problems.append(f"{big.room}: the room's head seq {ack.get('seq')} is behind its last acknowledged message {max(known)}")
    return problems


def check_rooms(url, rooms, extra=None, clients=4, seconds=120):
    """Problems of every room (check_room), joined by `clients` Socket.IO clients in parallel; `extra` maps
    a room to its other acknowledged messages ({seq: text})."""
    extra = extra or {}
    deadline = time.monotonic() + seconds
    problems, lock = [], threading.Lock()
    checked = [0]

    def work(part):
        client = socketio.Client(reconnection=False)
        try:
            client.connect(url, transports=["websocket"], wait_timeout=10)
            for big in part:
                if time.monotonic() > deadline:
                    with lock:
                        problems.append(f"checking the rooms took over {seconds} s: {big.room} and later ones unchecked")
                    return
                found = check_room(client, big, extra.get(big.room))
                with lock:
                    problems.extend(found)
                    checked[0] += 1
        except Exception as error:  # noqa: BLE001 - reported as a problem
            with lock:
                problems.append(f"checking rooms failed: {error!r}")
        finally:
            try:
                client.disconnect()
            except Exception:  # noqa: BLE001
                pass

    threads = [threading.Thread(target=work, args=(rooms[i::clients],), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + 20)
    return problems, checked[0]
