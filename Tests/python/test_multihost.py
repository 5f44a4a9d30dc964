"""The chat across hosts: Linux network namespaces stand in for machines.

broker-a and broker-b (an active/standby pair) each run in a namespace of their own, gateway 1 and
gateway 2 in two others, and the clients (python-socketio) in the root namespace; a bridge joins them on
a private 10.77.<n>.0/24 (multihost_net.py). The brokers bind tcp://<their address>, and every ZeroMQ
link is CURVE: keys made here with pyzmq's zmq.auth.create_certificates (the format of scripts/keys),
gateway and broker public keys in an allow-list folder. The tests check what users and an outsider on
the network see: chat across the two gateways; a gateway whose key is not on the list never serves
(and the broker logs the refusal); a SUB socket without keys hears nothing while rooms chat; cutting
the active broker's link makes the standby take over and the chat goes on.

Needs root and `ip netns` (CI runs as root); skipped with the reason otherwise (under CI=true it fails
instead).
"""
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import STATIC_DIR, _binary, _start, _stop, _wait_healthy
from multihost_net import PREFIX, Network, _ip, clean_leftovers, links, namespaces, unavailable_reason
from test_socketio_client import QUIET, TIMEOUT, assert_error, create_room, join, member_pool
from test_standby import Pair, acked_within

zmq = pytest.importorskip("zmq", reason="pyzmq is missing: pip install -r Tests/python/requirements.txt")
import zmq.auth  # noqa: E402  (after the import check above)

UNAVAILABLE = unavailable_reason()
pytestmark = pytest.mark.skipif(
    UNAVAILABLE is not None and not os.environ.get("CI"),
    reason=f"multi-host test (network namespaces) skipped: {UNAVAILABLE}")

# The hosts and the short keys of their namespaces; gateway-x holds a key that is not on the allow-list.
HOSTS = {"broker-a": "ba", "broker-b": "bb", "gateway-1": "g1", "gateway-2": "g2", "gateway-x": "gx"}
PORTS = {"cmd": 5555, "pub": 5556, "peer": 5557}  # every broker on its own host: the same ports
HTTP_PORT = 8080
TAKEOVER = 15  # seconds allowed for the standby to take over across namespaces (design: ~1.5 s)
HEAL = 30      # seconds for the cut broker to hear the new active once its link is back (TCP backoff)
TAG = "multihost"


def say(message):
    print(f"[multihost] {message}", flush=True)


class Keys:
    """CURVE key pairs as scripts/keys writes them: NAME.key (public) and NAME.key_secret (0600) in
    `folder`, the allowed public keys copied into folder/authorized; gateway-x's pair is kept apart."""

    ALLOWED = ("broker-a", "broker-b", "gateway-1", "gateway-2")

    def __init__(self, folder):
        self.folder = Path(folder)
        self.authorized = self.folder / "authorized"
        self.authorized.mkdir(parents=True)
        unlisted = self.folder / "unlisted"
        unlisted.mkdir()
        self.files = {}
        for name in (*self.ALLOWED, "gateway-x"):
            public, secret = zmq.auth.create_certificates(self.folder if name in self.ALLOWED else unlisted, name)
            os.chmod(secret, 0o600)
            self.files[name] = (Path(public), Path(secret))
            if name in self.ALLOWED:
                shutil.copy(public, self.authorized)

    def public(self, name):
        return str(self.files[name][0])

    def secret(self, name):
        return str(self.files[name][1])

    def z85(self, name):
        """The public key as its 40 Z85 characters (the broker's log names the first 8)."""
        return zmq.auth.load_certificate(self.public(name))[0].decode()

    def client(self, socket, name, server):
        """Makes `socket` a CURVE client with `name`'s key pair that trusts only `server`'s key."""
        public, secret = zmq.auth.load_certificate(self.secret(name))
        socket.curve_publickey, socket.curve_secretkey = public, secret
        socket.curve_serverkey = zmq.auth.load_certificate(self.public(server))[0]


class Cluster(Pair):
    """The broker pair and gateways 1 and 2 of `net`, each in its own namespace; CURVE with `keys`.
    Reuses Pair's log reading (`active`, `wait_log`, `stop`); not its loopback set-up."""

    def __init__(self, net, keys):  # Pair.__init__ is not called: it starts its processes on loopback
        self.net, self.keys, self.tag = net, keys, TAG
        self.brokers, self.gateways = {}, []
        try:
            self.start_broker("a")
            self.start_broker("b")
            for name in ("gateway-1", "gateway-2"):
                self.gateways.append(self.start_gateway(name))
            for name in ("gateway-1", "gateway-2"):
                _wait_healthy(self.url(name), self.processes)
                say(f"{name} at {self.url(name)} is healthy")
            self.wait_log("a", r"standby-in-sync", 20)
            say("broker-b is in sync with broker-a")
        except BaseException:
            self.stop()
            raise

    def host(self, name):
        return self.net.hosts[HOSTS[name]]

    def endpoint(self, name):
        """`a-cmd`, `b-pub`, `a-peer`, ...: the broker's ZeroMQ endpoint on its own address."""
        side, port = name.split("-")
        return f"tcp://{self.host(f'broker-{side}').address}:{PORTS[port]}"

    def url(self, gateway):
        return f"http://{self.host(gateway).address}:{HTTP_PORT}"

    def start_broker(self, side):
        name, other = f"broker-{side}", "b" if side == "a" else "a"
        args = [_binary("RoomBroker"), "--commands", self.endpoint(f"{side}-cmd"),
                "--broadcasts", self.endpoint(f"{side}-pub"),
                "--pair-role", "primary" if side == "a" else "backup",
                "--peer-bind", self.endpoint(f"{side}-peer"), "--peer", self.endpoint(f"{other}-peer"),
                "--log-level", "debug", "--creates-per-client", "1000", "--rooms-per-address", "100000",
                "--curve-secret-key", self.keys.secret(name), "--authorized-keys", str(self.keys.authorized),
                "--peer-public-key", self.keys.public(f"broker-{other}")]
        self.brokers[side] = _start(name, self.host(name).command(*args), TAG)
        say(f"{name} started in {self.host(name).netns} ({self.endpoint(f'{side}-cmd')})")

    def start_gateway(self, name):
        links = []
        for side in ("a", "b"):
            links += ["--broker-commands", self.endpoint(f"{side}-cmd"), "--broker-broadcasts", self.endpoint(f"{side}-pub")]
        args = [_binary("Gateway"), "--host", self.host(name).address, "--port", str(HTTP_PORT), *links,
                "--static-dir", str(STATIC_DIR), "--log-level", "debug", "--allowed-origin", self.url(name),
                "--curve-secret-key", self.keys.secret(name),
                "--broker-public-key", self.keys.public("broker-a"), "--broker-public-key", self.keys.public("broker-b")]
        process = _start(name, self.host(name).command(*args), TAG)
        say(f"{name} started in {self.host(name).netns} ({self.url(name)})")
        return process


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.environ.get("CHAT_URL"):
        pytest.skip("starts its own hosts (network namespaces)")
    if UNAVAILABLE:
        pytest.fail(f"CI is set, so the multi-host test does not skip: {UNAVAILABLE}")
    keys = Keys(tmp_path_factory.mktemp("keys"))
    with Network(HOSTS.values(), log=say) as net:
        running = Cluster(net, keys)
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture
def members(cluster):
    """members(gateway name) -> Member connected from the root namespace to that gateway."""
    yield from member_pool(cluster.url)


def test_leftovers_of_a_killed_run_are_removed():
    """A run killed before its clean-up leaves namespaces, a bridge and servers; the next run removes
    them. Names carry the run's pid; one above the kernel's pid_max can never be alive."""
    dead = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    netns, bridge = f"{PREFIX}{dead}-ba", f"{PREFIX}{dead}br"
    _ip("netns", "add", netns)
    _ip("link", "add", "name", bridge, "type", "bridge")
    server = subprocess.Popen(["ip", "netns", "exec", netns, "sleep", "60"])
    try:
        clean_leftovers(log=say)
        assert netns not in namespaces()
        assert bridge not in links()
        server.wait(timeout=5)  # the server left in the namespace was killed
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        _ip("netns", "del", netns, check=False)
        _ip("link", "del", bridge, check=False)


def test_chat_across_gateways_on_two_hosts(cluster, members):
    alice, bob = members("gateway-1"), members("gateway-2")
    room, password = create_room(alice)
    join(alice, room, password, "alice")
    join(bob, room, password, "bob")
    say(f"alice on gateway-1 and bob on gateway-2 joined {room}")
    ack = alice.call("message", {"room": room, "text": "hello from host 1"})
    got = bob.wait_for("message", lambda d: d["text"] == "hello from host 1")
    assert got["seq"] == ack["seq"] and got["name"] == "alice"
    ack = bob.call("message", {"room": room, "text": "hello from host 2"})
    got = alice.wait_for("message", lambda d: d["text"] == "hello from host 2")
    assert got["seq"] == ack["seq"] and got["name"] == "bob"
    say("messages crossed both ways")


def _frames(sockets, seconds):
    """Every message the SUB `sockets` receive within `seconds` (as lists of frames)."""
    poller = zmq.Poller()
    for s in sockets:
        poller.register(s, zmq.POLLIN)
    got = []
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        for s, _ in poller.poll(int(remaining * 1000) + 1):
            got.append(s.recv_multipart(zmq.NOBLOCK))
    return got


def test_a_subscriber_without_keys_receives_nothing(cluster, members):
    alice, bob = members("gateway-1"), members("gateway-2")
    room, password = create_room(alice)
    join(alice, room, password, "alice")
    join(bob, room, password, "bob")
    side = cluster.active()
    context = zmq.Context()
    try:
        # An outsider on the network: a plain SUB to both brokers' broadcast endpoints, every topic.
        keyless = []
        for s in ("a", "b"):
            sub = context.socket(zmq.SUB)
            sub.linger = 0
            sub.setsockopt(zmq.SUBSCRIBE, b"")
            sub.connect(cluster.endpoint(f"{s}-pub"))
            keyless.append(sub)
        # The control: the same SUB with an allowed key (gateway-2's) and the broker's key pinned hears
        # the room, so silence on the keyless ones means refused, not a wrong topic or endpoint.
        control = context.socket(zmq.SUB)
        control.linger = 0
        cluster.keys.client(control, "gateway-2", f"broker-{side}")
        control.setsockopt(zmq.SUBSCRIBE, f"room/{room}/".encode())
        control.connect(cluster.endpoint(f"{side}-pub"))
        assert _frames([control], TIMEOUT), "the keyed SUB got the room's head marker (its subscription is live)"
        say(f"keyed SUB subscribed to room/{room}/ on broker-{side}; keyless SUBs on both brokers")

        texts = [f"not for outsiders {i}" for i in range(3)]
        for text in texts:
            ack = alice.call("message", {"room": room, "text": text})
            assert bob.wait_for("message", lambda d, t=text: d["text"] == t)["seq"] == ack["seq"]
        heard = b"".join(b"".join(frames) for frames in _frames([control], 2))
        assert all(t.encode() in heard for t in texts), "the keyed SUB heard every message"
        leaked = _frames(keyless, QUIET)
        assert leaked == [], f"a SUB without keys received {len(leaked)} messages, on {sorted({m[0] for m in leaked})}"
        say("the keyless SUBs received nothing while the room chatted")
    finally:
        context.destroy(linger=0)


def test_a_gateway_with_an_unknown_key_is_refused(cluster, members):
    alice = members("gateway-1")
    room, password = create_room(alice)
    join(alice, room, password, "alice")
    rogue = cluster.start_gateway("gateway-x")
    try:
        # It listens, but no broker ever answers it: /healthz never turns OK.
        answers = []
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            assert rogue.poll() is None, f"gateway-x exited with {rogue.returncode}"
            try:
                answers.append(requests.get(f"{cluster.url('gateway-x')}/healthz", timeout=1).status_code)
            except requests.RequestException:
                pass
            time.sleep(0.2)
        assert answers and 200 not in answers, f"gateway-x /healthz answers: {sorted(set(answers))}"
        say(f"gateway-x /healthz: {sorted(set(answers))} for 4 s")

        # Its clients get no room, even with the right password; the room's members see nobody come.
        mallory = members("gateway-x")
        assert_error(mallory.sio.call("join", {"room": room, "password": password, "name": "mallory"}, timeout=15),
                     "broker_unavailable")
        assert_error(mallory.sio.call("create", {"name": "mallory"}, timeout=15), "broker_unavailable")
        assert [e for e in alice.drain() if e[0] == "joined"] == []
        say("gateway-x's client got broker_unavailable for join and create")

        # The brokers log the refusal with the gateway's address and the start of its key.
        names = [cluster.host("gateway-x").address, cluster.keys.z85("gateway-x")[:8]]
        deadline = time.monotonic() + 10
        while True:
            lines = [line for side in ("a", "b") for line in cluster.log(side).splitlines()
                     if "link-refused" in line and "allow-list" in line and all(n in line for n in names)]
            if lines:
                break
            assert time.monotonic() < deadline, (
                f"no broker logged link-refused naming {names}:\n{cluster.log('a')[-3000:]}")
            time.sleep(0.1)
        say(f"broker log: {lines[0]}")
    finally:
        _stop([rogue])


def test_cutting_the_active_brokers_link_makes_the_standby_take_over(cluster, members):
    alice, bob = members("gateway-1"), members("gateway-2")
    room, password = create_room(alice)
    join(alice, room, password, "alice")
    join(bob, room, password, "bob")
    first, _ = acked_within(alice, room, "before the cut", TIMEOUT)
    bob.wait_for("message", lambda d: d["seq"] == first["seq"])

    victim = cluster.active()
    survivor = "b" if victim == "a" else "a"
    cluster.wait_log(victim, r"standby-in-sync", TIMEOUT)
    cluster.net.cut(HOSTS[f"broker-{victim}"])
    say(f"cut the link of broker-{victim} (the active)")
    ack, took = acked_within(alice, room, "after the cut", TAKEOVER)
    say(f"broker-{survivor} acknowledged after {took:.1f} s")
    assert ack["seq"] == first["seq"] + 1, f"the sequence carries on: {first} then {ack}"
    assert bob.wait_for("message", lambda d: d["text"] == "after the cut")["seq"] == ack["seq"]
    reply, _ = acked_within(bob, room, "bob after the cut", TAKEOVER)
    assert alice.wait_for("message", lambda d: d["text"] == "bob after the cut")["seq"] == reply["seq"]
    cluster.wait_log(survivor, r"broker active .*gateway voted", TIMEOUT)
    say("chat goes on across both gateways")

    # The link comes back: the cut broker hears the higher term and becomes the standby.
    cluster.net.restore(HOSTS[f"broker-{victim}"])
    cluster.wait_log(victim, r"broker standby .*higher term", HEAL)
    cluster.wait_log(victim, r"standby-loaded", HEAL)
    assert cluster.active() == survivor
    say(f"broker-{victim} is the standby again")
    carol = members("gateway-1")
    history = [m["text"] for m in join(carol, room, password, "carol")["history"]]
    assert history == ["before the cut", "after the cut", "bob after the cut"]
