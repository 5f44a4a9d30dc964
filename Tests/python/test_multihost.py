"""The chat across hosts: Linux network namespaces stand in for machines.

broker-a and broker-b (an active/standby pair) each run in a namespace of their own, gateway 1 and
gateway 2 in two others, and the clients (python-socketio) in the root namespace; a bridge joins them on
a private 10.77.<n>.0/24 (support/netns.py). The brokers bind tcp://<their address>, and every ZeroMQ
link is CURVE: keys made here with pyzmq's zmq.auth.create_certificates (the format of scripts/keys),
gateway and broker public keys in an allow-list folder. The tests check what users and an outsider on
the network see: chat across the two gateways; a gateway whose key is not on the list never serves
(and the broker logs the refusal); a SUB socket without keys hears nothing while rooms chat; cutting
the active broker's link makes the standby take over and the chat goes on. Partitions between two hosts
only (`Network.block`: blackhole routes) check the pair's quorum rules: a gateway that loses only the
active never makes the standby take over, and when the active loses its standby and one of the two
gateways at once, the active goes on serving (a tie is the incumbent's) and nothing acknowledged is lost. While partitioned,
gateway-1's /status.json is sampled and the brokers' logs are read: never two brokers serve at once.

Needs root and `ip netns` (CI runs as root); skipped with the reason otherwise (under CI=true it fails
instead).
"""
import os
import re
import shutil
import subprocess
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from support.clients import QUIET, TIMEOUT, acked_within, assert_error, create_room, join, member_pool
from support.cluster import Cluster, other_side
from support.netns import PREFIX, Network, _ip, clean_leftovers, links, namespaces, unavailable_reason
from support.processes import skip_if_external

zmq = pytest.importorskip("zmq", reason="pyzmq is missing: pip install -r Tests/python/requirements.txt")
import zmq.auth  # noqa: E402  (after the import check above)

UNAVAILABLE = unavailable_reason()
pytestmark = pytest.mark.skipif(
    UNAVAILABLE is not None and not os.environ.get("CI"),
    reason=f"multi-host test (network namespaces) skipped: {UNAVAILABLE}")

# The hosts and the short keys of their namespaces; gateway-x holds a key that is not on the allow-list.
HOSTS = {"broker-a": "ba", "broker-b": "bb", "gateway-1": "g1", "gateway-2": "g2", "gateway-x": "gx"}
PORTS = {"commands": 5555, "broadcasts": 5556, "peer": 5557}  # every broker on its own host: the same ports
HTTP_PORT = 8080
ADMIN_PORT = 9470  # each gateway's --admin listener, on its own host's address
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


class Hosts(Cluster):
    """The broker pair and gateways 1 and 2 of `net`, each in its own namespace; CURVE with `keys`."""

    def __init__(self, net, keys):
        super().__init__(TAG, pair=True, insecure=False)
        self.net, self.keys = net, keys
        try:
            self.start_broker("a")
            self.start_broker("b")
            for name in ("gateway-1", "gateway-2"):
                self.start_gateway(name)
            for name in ("gateway-1", "gateway-2"):
                self.wait_healthy(self.gateway_url(name))
                say(f"{name} at {self.gateway_url(name)} is healthy")
            self.wait_log("a", r"standby-in-sync", 20)
            say("broker-b is in sync with broker-a")
        except BaseException:
            self.stop()
            raise

    def host(self, name):
        return self.net.hosts[HOSTS[name]]

    def endpoint(self, side, kind):
        """The broker's ZeroMQ endpoint `kind` on its own address."""
        return f"tcp://{self.host(f'broker-{side}').address}:{PORTS[kind]}"

    def gateway_url(self, gateway):
        return f"http://{self.host(gateway).address}:{HTTP_PORT}"

    def admin_url(self, gateway):
        """The gateway's admin listener, on its host's address (127.0.0.1 in its namespace is not this one's)."""
        return f"http://{self.host(gateway).address}:{ADMIN_PORT}"

    def start_broker(self, side="a", *args):
        """Starts broker `side` in its namespace, with its CURVE keys."""
        name = f"broker-{side}"
        process = super().start_broker(
            side, "--curve-secret-key", self.keys.secret(name), "--authorized-keys", self.keys.authorized,
            "--peer-public-key", self.keys.public(f"broker-{other_side(side)}"), *args,
            wrapper=self.host(name).command())
        say(f"{name} started in {self.host(name).netns} ({self.endpoint(side, 'commands')})")
        return process

    def start_gateway(self, name):
        process = self.add_gateway(
            "--allowed-origin", self.gateway_url(name), "--curve-secret-key", self.keys.secret(name),
            "--broker-public-key", self.keys.public("broker-a"), "--broker-public-key", self.keys.public("broker-b"),
            port=HTTP_PORT, host=self.host(name).address, name=name, wrapper=self.host(name).command(),
            admin=f"{self.host(name).address}:{ADMIN_PORT}")
        say(f"{name} started in {self.host(name).netns} ({self.gateway_url(name)})")
        return process


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    skip_if_external("starts its own hosts (network namespaces)")
    if UNAVAILABLE:
        pytest.fail(f"CI is set, so the multi-host test does not skip: {UNAVAILABLE}")
    keys = Keys(tmp_path_factory.mktemp("keys"))
    with Network(HOSTS.values(), log=say) as net:
        running = Hosts(net, keys)
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture
def members(cluster):
    """members(gateway name) -> Member connected from the root namespace to that gateway."""
    yield from member_pool(cluster.gateway_url)


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
            sub.connect(cluster.endpoint(s, "broadcasts"))
            keyless.append(sub)
        # The control: the same SUB with an allowed key (gateway-2's) and the broker's key pinned hears
        # the room, so silence on the keyless ones means refused, not a wrong topic or endpoint.
        control = context.socket(zmq.SUB)
        control.linger = 0
        cluster.keys.client(control, "gateway-2", f"broker-{side}")
        control.setsockopt(zmq.SUBSCRIBE, f"room/{room}/".encode())
        control.connect(cluster.endpoint(side, "broadcasts"))
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
                answers.append(requests.get(f"{cluster.gateway_url('gateway-x')}/healthz", timeout=1).status_code)
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
        cluster.stop_process(rogue)


def alice_and_bob(members, first_text):
    """Alice on gateway-1 and bob on gateway-2 in a new room, after alice's `first_text` reached bob:
    (alice, bob, room, password, the ack of `first_text`)."""
    alice, bob = members("gateway-1"), members("gateway-2")
    room, password = create_room(alice)
    join(alice, room, password, "alice")
    join(bob, room, password, "bob")
    first, _ = acked_within(alice, room, first_text, TIMEOUT)
    bob.wait_for("message", lambda d: d["seq"] == first["seq"])
    return alice, bob, room, password, first


def test_cutting_the_active_brokers_link_makes_the_standby_take_over(cluster, members):
    alice, bob, room, password, first = alice_and_bob(members, "before the cut")

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


# --- Partitions between two hosts only (Network.block): the pair's quorum rules ---------------------

PARTITION = 8        # seconds each partition lasts while the brokers are sampled
SAMPLE_EVERY = 0.15  # seconds between two looks at gateway-1's /status.json
PACE = 0.25          # seconds between two messages of a chatting member
SETTLE = 45          # seconds for the pair to settle after a partition heals (TCP backoff, a reload)


def broker_states(cluster, gateway="gateway-1"):
    """{side: (state, replication state, term)} of both brokers as `gateway`'s /status.json shows them."""
    response = requests.get(f"{cluster.admin_url(gateway)}/status.json", timeout=2)
    assert response.status_code == 200, f"{gateway} /status.json: {response.status_code} {response.text[:200]}"
    sides = {cluster.endpoint(s, "commands"): s for s in "ab"}
    states = {}
    for broker in response.json()["brokers"]:
        replication = broker.get("replication") or {}
        states[sides[broker["endpoint"]]] = (broker["state"], replication.get("state"), broker.get("term"))
    return states


def serving(states):
    """The sides that say they are active and are not fenced. Left out: an active that still counts its
    standby in sync while that standby says it is active. It holds every reply until its standby has
    the change, which an active never acknowledges, so it serves nothing: it is the moment (well under
    a second) between the standby's takeover and the old active noticing that its standby went silent."""
    actives = {s for s, (state, replication, _) in states.items() if state == "active" and replication != "fenced"}
    return sorted(s for s in actives if not (states[s][1] == "standby_in_sync" and actives - {s}))


def show(samples):
    """One line per sample: seconds since the partition began, then each broker's state/replication/term."""
    return "\n".join(f"  {t:5.2f} s  " + "  ".join(
        f"{s}={states[s][0]}/{states[s][1]}/term {states[s][2]}" if s in states else f"{s}=?" for s in "ab")
        for t, states in samples)


def wait_states(cluster, predicate, timeout, what):
    """Gateway-1's view of the brokers once `predicate(states)` holds (fails, with the last view, after
    `timeout` s)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            states = broker_states(cluster)
            if predicate(states):
                return states
        except (requests.RequestException, AssertionError) as exc:
            states = repr(exc)
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not seen within {timeout} s; gateway-1 last showed {states}")
        time.sleep(0.2)


def in_sync(states):
    """Exactly one active, its standby in sync, the other a standby following it."""
    return (serving(states) == [s for s in "ab" if states.get(s, ("",))[0] == "active"]
            and sorted(v[0] for v in states.values()) == ["active", "standby"]
            and sorted(v[1] for v in states.values()) == ["following", "standby_in_sync"])


def log_since(cluster, side, offset):
    return cluster.log(side)[offset:]


def wait_log_since(cluster, side, pattern, offset, timeout):
    """Waits for `pattern` in broker `side`'s log after its first `offset` characters."""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, log_since(cluster, side, offset)):
        if time.monotonic() > deadline:
            pytest.fail(f"broker {side} never logged /{pattern}/ within {timeout} s:\n{log_since(cluster, side, offset)[-3000:]}")
        time.sleep(0.05)


def pair_lines(cluster, side, offset):
    """The broker's lines about who serves (active, standby, fenced, unfenced, standby lost), after `offset`."""
    return [line for line in log_since(cluster, side, offset).splitlines()
            if re.search(r" broker (active|standby|fenced|unfenced|standby-lost|standby-in-sync|standby-loaded|standby-reloading) ", line)]


def alone(cluster, side, offset):
    """The spans of broker `side`'s log after `offset` in which it acknowledged without a standby, as
    (start, end, first line): from `active` (a new active has no standby yet), `standby-lost` (acknowledging
    alone) or `unfenced`, to `fenced`, `standby` or `standby-in-sync` (or now). Neither broker is alone at
    `offset` (the tests start from a pair in sync). An active whose standby is in sync holds every reply
    until the standby has the change, so only these spans can acknowledge what the other broker lacks."""
    spans, start = [], None
    for line in log_since(cluster, side, offset).splitlines():
        match = re.match(r"(\S+Z) .* broker (active|standby-lost|unfenced|fenced|standby|standby-in-sync) ", line)
        if not match:
            continue
        at = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        if match.group(2) in ("active", "standby-lost", "unfenced"):
            start = start or (at, line)
        elif start:
            spans.append((start[0], at, start[1]))
            start = None
    if start:
        spans.append((start[0], datetime.now(timezone.utc), start[1]))
    return spans


def assert_never_two_alone(cluster, offsets, seen):
    """Fails if the brokers' logs show both acknowledging without a standby at the same moment (a split
    brain, to the millisecond: finer than the samples of /status.json, which a gateway refreshes once a
    second)."""
    spans = {side: alone(cluster, side, offsets[side]) for side in "ab"}
    both = [(a, b) for a in spans["a"] for b in spans["b"] if max(a[0], b[0]) < min(a[1], b[1])]
    assert not both, "both brokers acknowledged alone at once:\n" + "\n".join(
        f"  broker-a from {a[2]}\n    until {a[1]:%H:%M:%S.%f}\n  broker-b from {b[2]}\n    until {b[1]:%H:%M:%S.%f}"
        for a, b in both) + f"\n{seen}"


def sample_for(cluster, seconds):
    """Gateway-1's view of the brokers every SAMPLE_EVERY s for `seconds` s: [(seconds since start, states)]."""
    samples, errors = [], []
    started = time.monotonic()
    while (now := time.monotonic() - started) < seconds:
        try:
            samples.append((now, broker_states(cluster)))
        except (requests.RequestException, AssertionError) as exc:
            errors.append(f"{now:.2f} s: {exc!r}")
        time.sleep(SAMPLE_EVERY)
    assert len(samples) >= seconds / SAMPLE_EVERY / 2, f"too few answers from gateway-1's /status.json: {errors}"
    return samples


class Chatter(threading.Thread):
    """Sends numbered messages to `room` through `member` every PACE s until `stop()`; keeps the texts
    that were acknowledged and those that were not (with the answer). Each message has its own
    idempotency id and is sent once: an answer that is not an ack counts as refused."""

    def __init__(self, member, room, label):
        super().__init__(name=f"chatter-{label}", daemon=True)
        self.member, self.room, self.label = member, room, label
        self.acked, self.refused = [], []
        self.halt = threading.Event()

    def run(self):
        number = 0
        while not self.halt.is_set():
            number += 1
            text = f"{self.label} {number}"
            try:
                answer = self.member.sio.call("message", {"room": self.room, "text": text, "id": f"{self.label}-{number}-{self.room}"},
                                              timeout=2)
            except Exception as exc:  # no answer within 2 s
                answer = repr(exc)
            if isinstance(answer, dict) and "seq" in answer:
                self.acked.append(text)
            else:
                self.refused.append((text, answer))
            self.halt.wait(PACE)

    def stop(self):
        self.halt.set()
        self.join(timeout=10)
        assert not self.is_alive(), f"{self.name} did not stop"

    def summary(self):
        codes = sorted({a.get("error", {}).get("code", str(a)) if isinstance(a, dict) else "no answer" for _, a in self.refused})
        return f"{self.label}: {len(self.acked)} acked, {len(self.refused)} refused {codes}"


def joined_within(member, room, password, name, seconds):
    """Joins (retrying while the brokers settle) and returns the ack."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            ack = member.sio.call("join", {"room": room, "password": password, "name": name}, timeout=5)
        except Exception as exc:
            ack = repr(exc)
        if isinstance(ack, dict) and "error" not in ack:
            return ack
        if time.monotonic() > deadline:
            pytest.fail(f"{name} could not join {room} within {seconds} s: {ack}")
        time.sleep(0.3)


def make_active(cluster, side):
    """Makes broker `side` the active one, in sync with the other: if it is the standby, the active's
    link is cut until `side` takes over, then restored (the old active becomes its standby)."""
    wait_states(cluster, in_sync, SETTLE, "an active with its standby in sync")
    if cluster.active() == side:
        return
    victim = other_side(side)
    offsets = {s: len(cluster.log(s)) for s in "ab"}
    cluster.net.cut(HOSTS[f"broker-{victim}"])
    try:
        wait_log_since(cluster, side, r"broker active ", offsets[side], TAKEOVER)
    finally:
        cluster.net.restore(HOSTS[f"broker-{victim}"])
    wait_log_since(cluster, victim, r"broker standby ", offsets[victim], HEAL)
    wait_states(cluster, lambda s: in_sync(s) and s[side][0] == "active", SETTLE, f"broker-{side} active, in sync")
    say(f"broker-{side} is now the active, broker-{victim} its standby in sync")


def test_a_gateway_that_loses_only_the_active_does_not_make_a_second_active(cluster, members):
    """Gateway-2 cannot reach the active broker, the brokers still hear each other: gateway-2 votes for
    the standby, which must not take over (its peer is alive). Gateway-1 keeps chatting through the
    active; once the block is lifted both gateways chat again."""
    alice, _, room, password, _ = alice_and_bob(members, "before the block")
    wait_states(cluster, in_sync, SETTLE, "an active with its standby in sync")
    active = cluster.active()
    standby = other_side(active)
    offsets = {s: len(cluster.log(s)) for s in "ab"}
    gateway_2_log = cluster.gateways[1].log_path
    gateway_2_offset = len(gateway_2_log.read_text(errors="replace"))

    chatter = Chatter(alice, room, "alice")
    cluster.net.block(HOSTS["gateway-2"], HOSTS[f"broker-{active}"])
    say(f"blocked gateway-2 <-> broker-{active} (the active); broker-{standby} is the standby")
    try:
        chatter.start()
        samples = sample_for(cluster, PARTITION)
        chatter.stop()
    finally:
        chatter.halt.set()
        cluster.net.unblock(HOSTS["gateway-2"], HOSTS[f"broker-{active}"])
    say(f"unblocked after {PARTITION} s: {chatter.summary()}")
    lines = {s: pair_lines(cluster, s, offsets[s]) for s in "ab"}
    seen = f"gateway-1's view of the brokers while blocked:\n{show(samples)}\nbroker log lines: {lines}"
    doubles = [(t, s) for t, s in samples if len(serving(s)) > 1]
    assert not doubles, f"two brokers active and not fenced at once:\n{show(doubles)}\n{seen}"
    assert all(serving(s) == [active] for _, s in samples), f"broker-{active} stops serving:\n{seen}"
    assert_never_two_alone(cluster, offsets, seen)
    assert not re.search(r"broker active ", log_since(cluster, standby, offsets[standby])), (
        f"the standby became active though its peer was alive:\n{seen}")
    assert chatter.acked and not chatter.refused, f"chat through gateway-1 was not always acked: {chatter.refused[:5]}\n{seen}"
    # The standby was asked: gateway-2 gave up the active and said hello to the standby (its vote).
    assert re.search(r"failing-over", gateway_2_log.read_text(errors="replace")[gateway_2_offset:]), (
        f"gateway-2 never failed over, so the standby was never voted for:\n{seen}")
    say(f"only broker-{active} served for {PARTITION} s; gateway-1's {len(chatter.acked)} messages were all acked")

    # Lifted: gateway-2 finds the active again; chat works both ways through fresh members.
    carol, dave = members("gateway-1"), members("gateway-2")
    joined_within(carol, room, password, "carol", HEAL)
    joined_within(dave, room, password, "dave", HEAL)
    ack, took = acked_within(dave, room, "dave after the block", HEAL)
    assert carol.wait_for("message", lambda d: d["text"] == "dave after the block")["seq"] == ack["seq"]
    ack, _ = acked_within(carol, room, "carol after the block", TIMEOUT)
    assert dave.wait_for("message", lambda d: d["text"] == "carol after the block")["seq"] == ack["seq"]
    history = [m["text"] for m in joined_within(members("gateway-2"), room, password, "erin", TIMEOUT)["history"]]
    assert set(chatter.acked) <= set(history), f"acked but missing: {sorted(set(chatter.acked) - set(history))}"
    assert cluster.active() == active
    say(f"gateway-2 chats again {took:.1f} s after the block was lifted")


@pytest.mark.parametrize("active_role", ["backup", "primary"])
def test_a_cut_between_the_brokers_and_one_gateway_leaves_one_active(cluster, members, active_role):
    """The active loses its standby and gateway-2 at once; gateway-1 still reaches both brokers and
    gateway-2 reaches the standby. Each broker hears one gateway of two: a tie goes to the incumbent (the
    active) for ten peer timeouts (docs/ARCHITECTURE.md, *Partitions*), longer than this partition. So
    the active keeps serving on gateway-1, whether it is the primary or the backup, and the standby never
    takes over on gateway-2's single vote. Never two serve, and every message acknowledged during the
    partition is in the room's history afterwards."""
    active = "a" if active_role == "primary" else "b"  # broker-a is started as the primary
    standby = other_side(active)
    make_active(cluster, active)
    alice, bob, room, password, _ = alice_and_bob(members, "before the partition")
    wait_states(cluster, lambda s: in_sync(s) and s[active][0] == "active", SETTLE, f"broker-{active} active, in sync")
    offsets = {s: len(cluster.log(s)) for s in "ab"}

    chatters = [Chatter(alice, room, "alice"), Chatter(bob, room, "bob")]
    blocked = [(HOSTS["gateway-2"], HOSTS[f"broker-{active}"]), (HOSTS[f"broker-{active}"], HOSTS[f"broker-{standby}"])]
    for pair in blocked:
        cluster.net.block(*pair)
    say(f"blocked gateway-2 <-> broker-{active} (the active, the {active_role}) and broker-{active} <-> broker-{standby}")
    try:
        for chatter in chatters:
            chatter.start()
        samples = sample_for(cluster, PARTITION)
        for chatter in chatters:
            chatter.stop()
        # The active still serves, and gateway-1 follows it.
        acked_within(alice, room, "alice at the end of the partition", TAKEOVER)
    finally:
        for chatter in chatters:
            chatter.halt.set()
        cluster.net.unblock_all()
    acked = [text for chatter in chatters for text in chatter.acked] + ["alice at the end of the partition"]
    say(f"unblocked after {PARTITION} s: {'; '.join(c.summary() for c in chatters)}")
    lines = {s: pair_lines(cluster, s, offsets[s]) for s in "ab"}
    seen = f"gateway-1's view of the brokers during the partition:\n{show(samples)}\nbroker log lines: {lines}"
    doubles = [(t, s) for t, s in samples if len(serving(s)) > 1]
    assert not doubles, f"two brokers active and not fenced at once:\n{show(doubles)}\n{seen}"
    assert serving(samples[-1][1]) == [active], f"broker-{active} (the active) does not serve at the end:\n{seen}"
    assert_never_two_alone(cluster, offsets, seen)
    assert not re.search(r"broker active ", log_since(cluster, standby, offsets[standby])), (
        f"the standby took over on one vote of two:\n{seen}")
    assert not re.search(r"broker fenced ", log_since(cluster, active, offsets[active])), (
        f"the active was fenced though it hears half of the gateways:\n{seen}")
    say(f"never two brokers served; broker-{active} (the {active_role}) serves throughout")

    # Healed: one active, the other back in sync, and every acknowledged message in the history.
    settled = wait_states(cluster, in_sync, SETTLE, "one active with its standby in sync after the partition")
    new_standby = "a" if settled["a"][0] == "standby" else "b"
    carol = members("gateway-1")
    history = [m["text"] for m in joined_within(carol, room, password, "carol", SETTLE)["history"]]
    missing = [text for text in acked if text not in history]
    assert not missing, (f"acknowledged during the partition but missing from the history: {missing}\n"
                         f"history: {history}\n{seen}\nafter: {[pair_lines(cluster, s, offsets[s]) for s in 'ab']}")
    assert history[0] == "before the partition"
    assert_never_two_alone(cluster, offsets, seen)  # healing included
    say(f"settled: broker-{other_side(new_standby)} active, broker-{new_standby} in sync; "
        f"the history holds all {len(acked)} acknowledged messages")
