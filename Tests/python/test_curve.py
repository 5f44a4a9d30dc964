"""CURVE on the ZeroMQ links (the ZeroMQ guide's Ironhouse), through the real processes.

Keys come from scripts/keys (ChatKeys); an intruder's pair from pyzmq's zmq.auth, as anyone could make one.
The broker binds plain tcp:// ports on loopback WITHOUT --insecure-loopback: only CURVE lets it start.
What a user (or an attacker on the network) sees:
- a gateway whose key is in the broker's allow-list chats;
- a gateway with an unknown key gets no service (/healthz not OK), and the broker logs the refusal (key
  prefix and address, never a secret);
- a SUB socket without keys, or with an unknown key, receives nothing of a room's messages, while one
  with an allowed key does (so the test would see them);
- a gateway key cannot talk to the brokers' peer link; a pair with CURVE replicates;
- plain tcp:// to a non-loopback address without keys is refused at start, naming the flag to add;
- a secret key file readable by others is refused, naming the fix.
"""
import os
import re
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
import requests
import zmq
import zmq.auth

from support.clients import Member, close_all, create_room, join
from support.cluster import Cluster, other_side
from support.processes import BIN_DIR, REPO, STATIC_DIR, binary, free_port, log_tail

pytestmark = pytest.mark.skipif(bool(os.environ.get("CHAT_URL")), reason="starts its own processes")

WAIT = 10  # seconds allowed for something that should happen (a loaded machine is slow)


def _z85_field(path, field):
    match = re.search(rf'{field}\s*=\s*"([^"]+)"', Path(path).read_text())
    assert match, f"no {field} in {path}"
    return match.group(1)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """scripts/keys' folder (broker-a, broker-b, gateway-1, gateway-2, authorized/) and an intruder pair."""
    binary("ChatKeys")
    base = tmp_path_factory.mktemp("curve")
    folder = base / "keys"
    result = subprocess.run([str(REPO / "scripts" / "keys"), "--dir", str(folder), "--gateways", "2"],
                            env=dict(os.environ, CHAT_BIN_DIR=str(BIN_DIR)), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    intruder = base / "intruder"
    intruder.mkdir()
    _, secret = zmq.auth.create_certificates(str(intruder), "intruder")
    os.chmod(secret, 0o600)
    return folder, Path(secret)


def test_scripts_keys_writes_owner_only_secrets_and_the_allow_list(keys):
    folder, _ = keys
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    names = ["broker-a", "broker-b", "gateway-1", "gateway-2"]
    for name in names:
        assert stat.S_IMODE((folder / f"{name}.key_secret").stat().st_mode) == 0o600, name
        assert stat.S_IMODE((folder / f"{name}.key").stat().st_mode) == 0o644, name
        assert "secret-key" not in (folder / f"{name}.key").read_text()
        # pyzmq reads them: the files are zcert certificates.
        public, secret = zmq.auth.load_certificate(str(folder / f"{name}.key_secret"))
        assert public.decode() == _z85_field(folder / f"{name}.key", "public-key") and secret
    assert sorted(p.name for p in (folder / "authorized").iterdir()) == [f"{n}.key" for n in names]
    # Run again: the keys are kept, not replaced under the hosts that hold them.
    before = (folder / "gateway-1.key_secret").read_text()
    result = subprocess.run([str(REPO / "scripts" / "keys"), "--dir", str(folder)],
                            env=dict(os.environ, CHAT_BIN_DIR=str(BIN_DIR)), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (folder / "gateway-1.key_secret").read_text() == before


def curve_gateway(cluster, folder, secret, brokers=("broker-a",)):
    """A gateway of `cluster` with the key pair `secret` that pins the public keys of `brokers`
    (from scripts/keys' `folder`)."""
    pins = [arg for broker in brokers for arg in ("--broker-public-key", folder / f"{broker}.key")]
    return cluster.add_gateway("--curve-secret-key", secret, *pins)


@pytest.fixture(scope="module")
def cluster(keys):
    """A broker on tcp://127.0.0.1 with CURVE (no --insecure-loopback) and gateway-1 with its keys."""
    folder, _ = keys
    with Cluster("curve", insecure=False) as started:
        started.start_broker("a", "--curve-secret-key", folder / "broker-a.key_secret",
                             "--authorized-keys", folder / "authorized")
        curve_gateway(started, folder, folder / "gateway-1.key_secret")
        started.wait_healthy()
        yield started


def _secrets(keys):
    folder, intruder = keys
    return [_z85_field(path, "secret-key") for path in [*folder.glob("*.key_secret"), intruder]]


def test_a_gateway_with_an_authorised_key_chats(cluster):
    alice, bob = Member(cluster.url), Member(cluster.url)
    try:
        room, password = create_room(alice, "alice")
        join(alice, room, password, "alice")
        join(bob, room, password, "bob")
        assert "error" not in alice.call("message", {"room": room, "text": "over curve"})
        assert bob.wait_for("message", lambda m: m["text"] == "over curve")["name"] == "alice"
    finally:
        close_all([alice, bob])
    log = cluster.log("a")
    assert re.search(r"link-allowed .*name=gateway-1", log), log_tail(cluster.brokers["a"].log_path)


def test_a_gateway_with_an_unknown_key_gets_no_service_and_the_broker_logs_it(cluster, keys):
    _, intruder = keys
    gateway = curve_gateway(cluster, keys[0], intruder)
    url = gateway.url
    prefix = zmq.auth.load_certificate(str(intruder))[0].decode()[:8]
    deadline = time.monotonic() + WAIT
    refused = None
    while time.monotonic() < deadline and not refused:
        assert gateway.poll() is None, log_tail(gateway.log_path)
        try:
            assert requests.get(f"{url}/healthz", timeout=1).status_code != 200, "the broker served an unknown key"
        except requests.ConnectionError:
            pass  # not listening yet
        refused = re.search(rf"link-refused .*key={re.escape(prefix)}.*", cluster.log("a"))
        time.sleep(0.2)
    log = cluster.log("a")
    assert refused, f"no refusal of key {prefix}… in the broker's log:\n{log[-3000:]}"
    assert "address=127.0.0.1" in refused.group(0) and "public key not in the allow-list" in refused.group(0), refused.group(0)
    # Still no service a few seconds on (the gateway keeps retrying its handshake).
    time.sleep(2)
    assert requests.get(f"{url}/healthz", timeout=2).status_code != 200
    for secret in _secrets(keys):
        assert secret not in log, "a secret key appears in the broker's log"
    # The gateway's side says what to check, naming its own public key (5 s after its start).
    hint = rf"broker-silent .*curve={re.escape(zmq.auth.load_certificate(str(intruder))[0].decode())}"
    deadline = time.monotonic() + WAIT
    while not re.search(hint, gateway.log_path.read_text(errors="replace")) and time.monotonic() < deadline:
        time.sleep(0.2)
    gateway_log = gateway.log_path.read_text(errors="replace")
    assert re.search(hint, gateway_log), f"the gateway does not say what to check:\n{gateway_log[-2000:]}"
    for secret in _secrets(keys):
        assert secret not in gateway_log, "a secret key appears in the gateway's log"


def _subscriber(context, endpoint, topic, keys=None):
    socket = context.socket(zmq.SUB)
    socket.setsockopt(zmq.LINGER, 0)
    if keys:
        secret_file, server_file = keys
        public, secret = zmq.auth.load_certificate(str(secret_file))
        socket.curve_secretkey, socket.curve_publickey = secret, public
        socket.curve_serverkey = zmq.auth.load_certificate(str(server_file))[0]
    socket.setsockopt(zmq.SUBSCRIBE, topic)
    socket.connect(endpoint)
    return socket


def _received(socket):
    frames = []
    while True:
        try:
            frames.append(socket.recv_multipart(zmq.NOBLOCK))
        except zmq.Again:
            return frames


def test_a_subscriber_without_an_allowed_key_receives_nothing(cluster, keys):
    folder, intruder = keys
    alice = Member(cluster.url)
    context = zmq.Context()
    try:
        room, password = create_room(alice, "alice")
        join(alice, room, password, "alice")
        topic = f"room/{room}/".encode()
        server, broadcasts = folder / "broker-a.key", cluster.endpoint("a", "broadcasts")
        allowed = _subscriber(context, broadcasts, topic, (folder / "gateway-2.key_secret", server))
        keyless = _subscriber(context, broadcasts, topic)
        stranger = _subscriber(context, broadcasts, topic, (intruder, server))
        # Messages until the allowed subscriber sees one (its subscription takes a moment to arrive).
        seen, deadline = False, time.monotonic() + WAIT
        while not seen and time.monotonic() < deadline:
            assert "error" not in alice.call("message", {"room": room, "text": "secret plans"})
            time.sleep(0.2)
            seen = any(b"secret plans" in b"".join(frames) for frames in _received(allowed))
        assert seen, "the subscriber with an allowed key got none of the room's messages"
        for _ in range(5):
            assert "error" not in alice.call("message", {"room": room, "text": "secret plans"})
        time.sleep(1)
        assert _received(keyless) == [], "a subscriber without keys read a room"
        assert _received(stranger) == [], "a subscriber with an unknown key read a room"
    finally:
        alice.close()
        context.destroy(linger=0)


def _run_briefly(args):
    """Runs an executable that should refuse to start; returns (exit status, output)."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=30, cwd=REPO)
    return result.returncode, result.stdout + result.stderr


def test_plain_tcp_beyond_loopback_is_refused_at_start():
    commands, broadcasts = f"tcp://0.0.0.0:{free_port()}", f"tcp://0.0.0.0:{free_port()}"
    for extra in ([], ["--insecure-loopback"]):
        status, output = _run_briefly([binary("RoomBroker"), "--commands", commands, "--broadcasts", broadcasts, *extra])
        assert status != 0, output
        assert commands in output and "--curve-secret-key and --authorized-keys" in output, output
    status, output = _run_briefly([
        binary("Gateway"), "--port", str(free_port()), "--static-dir", str(STATIC_DIR), "--insecure-loopback",
        "--broker-commands", "tcp://192.0.2.10:5555", "--broker-broadcasts", "tcp://192.0.2.10:5556"])
    assert status != 0, output
    assert "tcp://192.0.2.10:5555" in output and "--curve-secret-key and --broker-public-key" in output, output
    # On loopback, the flag is what is missing.
    status, output = _run_briefly([binary("RoomBroker"), "--commands", f"tcp://127.0.0.1:{free_port()}",
                                   "--broadcasts", f"tcp://127.0.0.1:{free_port()}"])
    assert status != 0 and "--insecure-loopback" in output, output


def test_a_secret_key_readable_by_others_is_refused(keys, tmp_path):
    folder, _ = keys
    exposed = tmp_path / "gateway-1.key_secret"
    shutil.copy(folder / "gateway-1.key_secret", exposed)
    os.chmod(exposed, 0o644)
    status, output = _run_briefly([
        binary("Gateway"), "--port", str(free_port()), "--static-dir", str(STATIC_DIR),
        "--broker-commands", f"tcp://127.0.0.1:{free_port()}", "--broker-broadcasts", f"tcp://127.0.0.1:{free_port()}",
        "--curve-secret-key", str(exposed), "--broker-public-key", str(folder / "broker-a.key")])
    assert status != 0 and f"chmod 600 {exposed}" in output, output
    assert _z85_field(exposed, "secret-key") not in output


def test_a_pair_with_curve_replicates_and_its_peer_link_takes_only_the_peer(keys):
    """broker-a and broker-b over tcp:// with CURVE on every socket, including the peer link."""
    folder, _ = keys
    context = zmq.Context()
    with Cluster("curve-pair", pair=True, insecure=False) as pair:
        try:
            for side in pair.sides:
                pair.start_broker(side, "--curve-secret-key", folder / f"broker-{side}.key_secret",
                                  "--authorized-keys", folder / "authorized",
                                  "--peer-public-key", folder / f"broker-{other_side(side)}.key")
            curve_gateway(pair, folder, folder / "gateway-2.key_secret", brokers=("broker-a", "broker-b"))
            pair.wait_healthy()
            pair.wait_log("a", "standby-in-sync", WAIT)
            member = Member(pair.url)
            try:
                room, password = create_room(member, "ann")
                join(member, room, password, "ann")
            finally:
                member.close()
            # A gateway's key is allowed on the gateways' sockets, not on the peer link (no forged updates).
            dealer = context.socket(zmq.DEALER)
            dealer.setsockopt(zmq.LINGER, 0)
            public, secret = zmq.auth.load_certificate(str(folder / "gateway-1.key_secret"))
            dealer.curve_secretkey, dealer.curve_publickey = secret, public
            dealer.curve_serverkey = zmq.auth.load_certificate(str(folder / "broker-b.key"))[0]
            dealer.connect(pair.endpoint("b", "peer"))
            pair.wait_log("b", rf"link-refused .*domain=chat-peer.*key={re.escape(public.decode()[:8])}", WAIT)
        finally:
            context.destroy(linger=0)
