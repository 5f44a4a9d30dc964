"""Socket.IO connection-state recovery with the OFFICIAL JavaScript client (socket.io-client >= 4.6),
in headless Chromium, against the real RoomBroker and Gateways started with --connection-state-recovery.

The client connects through gateway 1 and joins a room; gateway 1 is killed with SIGKILL; meanwhile
another client sends messages through gateway 2 (which shares the port); the JS client then reconnects
(to gateway 2, the only one left on the port) and must see `socket.recovered === true` and every
missed event, in order, none twice, before the live ones.

socket.io.min.js is not committed: the fixture takes it from the nicegui wheel on PyPI (which ships it)
into .build/csr/ on first use.
"""
import functools
import glob
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

import pytest
import requests
from selenium.webdriver.support.ui import WebDriverWait

from support.browser import chromium
from support.clients import TIMEOUT, Member, close_all, create_room, http_create_room, join
from support.cluster import Cluster
from support.processes import REPO, free_port, skip_if_external
from support.scripts_run import RunScript

CACHE = REPO / ".build" / "csr"
WAIT = 15  # seconds: upper bound for anything to happen

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>connection-state recovery</title>
<script src="socket.io.min.js"></script>
<script src="client.js"></script>
"""

# Everything the official client's own handlers see, in order: event name and all its arguments.
CLIENT = """
window.seen = [];
window.connects = [];
window.disconnects = [];
const url = new URLSearchParams(location.search).get("url");
// The client reconnects by itself, as in production, after a fixed 3 s (the missed messages go out
// meanwhile, in well under a second).
const socket = io(url, {
  transports: ["websocket"], reconnection: true,
  reconnectionDelay: 3000, reconnectionDelayMax: 3000, randomizationFactor: 0,
});
window.socket = socket;
socket.on("connect", () => window.connects.push({ id: socket.id, recovered: socket.recovered }));
socket.on("disconnect", (reason) => window.disconnects.push(reason));
for (const name of ["message", "joined", "left", "resumed"]) {
  socket.on(name, (...args) => window.seen.push([name, ...args]));
}
"""


def socket_io_js():
    """socket.io.min.js (>= 4.6) from the nicegui wheel, cached in .build/csr/."""
    target = CACHE / "socket.io.min.js"
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            subprocess.run([sys.executable, "-m", "pip", "download", "nicegui", "--no-deps", "--quiet",
                            "--disable-pip-version-check", "-d", folder], check=True, timeout=300)
            wheel = glob.glob(os.path.join(folder, "nicegui-*.whl"))[0]
            with zipfile.ZipFile(wheel) as archive:
                name = next(n for n in archive.namelist() if n.endswith("/socket.io.min.js"))
                target.write_bytes(archive.read(name))
    version = re.search(rb"Socket\.IO v(\d+)\.(\d+)\.(\d+)", target.read_bytes()[:400])
    assert version and (int(version[1]), int(version[2])) >= (4, 6), \
        f"socket.io.min.js must be 4.6 or later (connection-state recovery): {version and version[0]}"
    return target


@pytest.fixture(scope="module")
def page_server():
    """A local HTTP server for the test page (the gateway serves only its own page, whose CSP forbids
    other scripts): returns its origin."""
    folder = Path(tempfile.mkdtemp(prefix="csr-page-"))
    shutil.copy(socket_io_js(), folder / "socket.io.min.js")
    (folder / "index.html").write_text(PAGE)
    (folder / "client.js").write_text(CLIENT)
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class SharedPort(Cluster):
    """A broker and gateways on one shared port, started one by one."""

    def __init__(self, tag, origin, recovery=True, broker_args=()):
        super().__init__(tag, broker_args=broker_args)
        self.origin = origin
        self.recovery = recovery
        self.port = free_port()
        self.start_broker()

    def start_gateway(self):
        """Starts one more gateway on the shared port; returns once it listens and the broker answered it."""
        return self.add_gateway(
            "--allowed-origin", self.origin, "--allowed-origin", f"http://127.0.0.1:{self.port}",
            "--listen-once-broker-answers", *(["--connection-state-recovery"] if self.recovery else []),
            port=self.port, ready=True)


@pytest.fixture
def cluster(page_server):
    made = []

    def _make(recovery=True, broker_args=()):
        skip_if_external("starts and kills its own processes")
        c = SharedPort(f"csr-{len(made)}", page_server, recovery=recovery, broker_args=broker_args)
        made.append(c)
        return c

    yield _make
    for c in made:
        c.stop()


@pytest.fixture
def browser(page_server):
    drivers = []

    def _open(url):
        driver = chromium()
        drivers.append(driver)
        driver.get(f"{page_server}/index.html?url={url}")
        wait(driver, "return window.connects && window.connects.length === 1", "the JS client never connected")
        return driver

    yield _open
    for d in drivers:
        d.quit()


def wait(driver, script, message, timeout=WAIT):
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: d.execute_script(script), message)


def emit(driver, event, data):
    """The ack of `event` emitted by the JS client."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.socket.timeout(5000).emit(arguments[0], arguments[1], (err, ack) => done(err ? {error: String(err)} : ack));",
        event, data)


def seen(driver):
    return driver.execute_script("return window.seen")


def first_message_event(member):
    """The first `message` event `member` receives, as SimpleClient.receive gives it: [event, *arguments]."""
    event = member.sio.receive(timeout=TIMEOUT)
    while event[0] != "message":
        event = member.sio.receive(timeout=TIMEOUT)
    return event


def offset_number(offset):
    instance, _, gseq = offset.rpartition(".")
    assert instance and gseq.isdigit(), offset
    return int(gseq)


def test_the_official_js_client_recovers_after_its_gateway_is_killed(cluster, browser):
    c = cluster()
    first = c.start_gateway()
    driver = browser(c.url)  # only gateway 1 listens: the client is on it
    room, password = http_create_room(c.url, "creator")
    ack = emit(driver, "join", {"room": room, "password": password, "name": "ann"})
    assert ack.get("room") == room, ack
    post = requests.post(f"{c.url}/api/rooms/{room}/messages", json={"name": "bot", "text": "before"},
                         headers={"Authorization": f"Bearer {password}"}, timeout=TIMEOUT)
    assert post.status_code == 202, post.text
    wait(driver, "return window.seen.length === 1", "the first message never arrived")
    before = seen(driver)[0]
    assert before[0] == "message" and before[1]["text"] == "before"
    assert len(before) == 3 and isinstance(before[2], str), f"the event carries its offset last: {before}"

    c.start_gateway()
    c.kill(first)
    wait(driver, "return window.disconnects.length === 1", "the JS client never noticed its gateway died")

    # Meanwhile, through gateway 2 (the only one left on the port): bob joins and talks.
    bob = Member(c.url)
    try:
        join(bob, room, password, "bob")
        missed = [f"m{i}" for i in range(1, 6)]
        for text in missed:
            assert "seq" in bob.call("message", {"room": room, "text": text})

        wait(driver, "return window.connects.length === 2", "the JS client never reconnected by itself")
        connects = driver.execute_script("return window.connects")
        assert connects[1]["recovered"] is True, f"socket.recovered must be true: {connects}"
        assert connects[1]["id"] == connects[0]["id"], "the same sid"

        wait(driver, f"return window.seen.length >= {2 + len(missed)}", "the missed events never arrived")
        assert "seq" in bob.call("message", {"room": room, "text": "after"})
        wait(driver, "return window.seen.some(e => e[0] === 'message' && e[1].text === 'after')", "live events stopped")
        events = seen(driver)
        described = [(e[0], e[1].get("text") or e[1].get("name")) for e in events]
        assert described == [("message", "before"), ("joined", "bob"), *[("message", t) for t in missed],
                             ("message", "after")], \
            f"every missed event once, in order, before the live ones: {described}"
        offsets = [offset_number(e[-1]) for e in events]
        assert offsets == sorted(set(offsets)), f"offsets grow: {offsets}"
        seqs = [e[1]["seq"] for e in events]
        # Between the missed events and "after", the room's only other event is ann's own `resumed`.
        assert seqs == [*range(seqs[0], seqs[0] + len(seqs) - 1), seqs[-2] + 2], f"no room event missing: {seqs}"
        assert bob.wait_for("resumed", lambda d: d["name"] == "ann")["seq"] == seqs[-2] + 1, "the others see ann back"

        # The session's membership came back with it: the client talks in the room without joining.
        ack = emit(driver, "message", {"room": room, "text": "ann is back"})
        assert "seq" in ack, ack
        assert bob.wait_for("message", lambda d: d["text"] == "ann is back")["name"] == "ann"
    finally:
        bob.close()


def test_a_session_the_broker_cannot_recover_gets_a_fresh_pid(cluster, browser):
    c = cluster(broker_args=["--replay-budget", "80"])  # 80 KiB of events kept per room
    first = c.start_gateway()
    driver = browser(c.url)
    room, password = http_create_room(c.url, "creator")
    assert emit(driver, "join", {"room": room, "password": password, "name": "ann"}).get("room") == room
    c.start_gateway()
    c.kill(first)
    wait(driver, "return window.disconnects.length === 1", "the JS client never noticed its gateway died")
    # More than the room keeps happens meanwhile: the gap cannot be replayed.
    for index in range(12):
        post = requests.post(f"{c.url}/api/rooms/{room}/messages", json={"name": "bot", "text": f"m{index} " + "\U0001F600" * 1990},
                             headers={"Authorization": f"Bearer {password}"}, timeout=TIMEOUT)
        assert post.status_code == 202, post.text
    wait(driver, "return window.connects.length === 2", "the JS client never reconnected by itself")
    assert driver.execute_script("return window.connects")[1]["recovered"] is False, "no partial recovery"
    assert seen(driver) == [], "nothing is replayed to a fresh session"


def test_without_the_flag_events_carry_no_offset_and_with_it_one(cluster):
    for recovery, arguments in ((False, 1), (True, 2)):
        c = cluster(recovery=recovery)
        c.start_gateway()
        alice, bob = Member(c.url), Member(c.url)
        try:
            room, password = create_room(alice)
            join(alice, room, password, "alice")
            join(bob, room, password, "bob")
            bob.call("message", {"room": room, "text": "hi"})
            event = first_message_event(alice)
            assert len(event) - 1 == arguments, f"--connection-state-recovery {recovery}: {event}"
            if recovery:
                assert offset_number(event[2]) > 0
        finally:
            alice.close()
            bob.close()


def test_scripts_run_passes_the_flag_on_to_every_gateway():
    skip_if_external("tests the start script, not a running server")
    with RunScript(extra=["--connection-state-recovery"], broker_ports=6) as script:
        members = []
        try:
            members += [Member(script.url) for _ in range(6)]  # spread over both gateways
            room, password = create_room(members[0])
            for index, member in enumerate(members):
                join(member, room, password, f"m{index}")
            members[0].call("message", {"room": room, "text": "hi"})
            for member in members:
                event = first_message_event(member)
                assert len(event) == 3 and offset_number(event[2]) > 0, f"every gateway appends the offset: {event}"
        finally:
            close_all(members)
