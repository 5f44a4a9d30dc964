"""Gateway identities bound to CURVE keys, and keys reloaded without a restart, through the real processes.

Keys from scripts/keys (gateway-1, gateway-2, ...); the broker allows the keys of a copy of authorized/
that a test may change. What an attacker holding another gateway's key sees, and what an operator sees:
- a process with gateway-2's key that connects under gateway-1's routing id gets no reply: while
  gateway-1 is connected its id is not handed over, and under a free id of gateway-1's its commands are
  refused (the broker logs it), while the same key under its own routing id is answered;
- after a key is removed from the folder and the broker gets SIGHUP, the gateway holding it is served no
  more (its clients get errors), the broker logs what changed, and the other gateway keeps serving.
"""
import os
import shutil
import signal
import struct
import subprocess
import time

import pytest
import zmq
import zmq.auth

from support.clients import Member, close_all, create_room, join
from support.cluster import Cluster
from support.processes import BIN_DIR, REPO, binary, poll_until

pytestmark = pytest.mark.skipif(bool(os.environ.get("CHAT_URL")), reason="starts its own processes")

WAIT = 10  # seconds allowed for something that should happen (a loaded machine is slow)
WIRE_VERSION, HELLO = 4, 1


def _hello(name, request_id=7):
    """A `hello` command frame (ChatWire's WireCommand: version, kind, request id, connection id, client,
    sent-at, ttl, then the gateway's name)."""
    def text(value):
        data = value.encode()
        return struct.pack(">I", len(data)) + data
    return (bytes([WIRE_VERSION, HELLO]) + struct.pack(">IQ", request_id, 0) + text("")
            + struct.pack(">QI", 0, 0) + text(name))


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    binary("ChatKeys")
    folder = tmp_path_factory.mktemp("key-binding") / "keys"
    result = subprocess.run([str(REPO / "scripts" / "keys"), "--dir", str(folder), "--gateways", "2"],
                            env=dict(os.environ, CHAT_BIN_DIR=str(BIN_DIR)), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


@pytest.fixture
def cluster(keys, tmp_path):
    """A CURVE broker allowing a copy of authorized/, gateway-1 (routing id gateway-1/main) and gateway-2."""
    allowed = tmp_path / "authorized"
    shutil.copytree(keys / "authorized", allowed)
    with Cluster("key-binding", insecure=False) as started:
        started.start_broker("a", "--curve-secret-key", keys / "broker-a.key_secret", "--authorized-keys", allowed)
        for index, extra in ((1, ["--gateway-id", "gateway-1/main"]), (2, [])):
            started.add_gateway("--curve-secret-key", keys / f"gateway-{index}.key_secret",
                                "--broker-public-key", keys / "broker-a.key", *extra)
        started.wait_healthy()
        started.allowed = allowed
        yield started


def _dealer(context, keys, name, routing_id, endpoint):
    """A DEALER with gateway `name`'s key pair, pinning broker-a, connected under `routing_id`."""
    dealer = context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    public, secret = zmq.auth.load_certificate(str(keys / f"{name}.key_secret"))
    dealer.curve_secretkey, dealer.curve_publickey = secret, public
    dealer.curve_serverkey = zmq.auth.load_certificate(str(keys / "broker-a.key"))[0]
    dealer.setsockopt(zmq.ROUTING_ID, routing_id.encode())
    dealer.connect(endpoint)
    return dealer


def _chat(url, text):
    """A member of a new room on the gateway at `url` sends `text` and sees it: the gateway serves."""
    member = Member(url)
    try:
        room, password = create_room(member, "ann")
        join(member, room, password, "ann")
        assert "error" not in member.call("message", {"room": room, "text": text})
        member.wait_for("message", lambda m: m["text"] == text)
    finally:
        member.close()


def test_another_gateways_key_cannot_take_its_routing_id(cluster, keys):
    context = zmq.Context()
    try:
        endpoint = cluster.endpoint("a", "commands")
        # gateway-1's routing id while gateway-1 is connected: no handover to another connection.
        impostor = _dealer(context, keys, "gateway-2", "gateway-1/main", endpoint)
        impostor.send(_hello("gateway-1/main"))
        # A routing id of gateway-1's that is free (as while gateway-1 restarts): refused, unanswered.
        squatter = _dealer(context, keys, "gateway-2", "gateway-1/spare", endpoint)
        squatter.send(_hello("gateway-1/spare"))
        cluster.wait_log("a", r"message-refused(?=.* code=routing_id_not_bound)(?=.* gateway=gateway-1/spare)", WAIT)
        # The same key under a routing id of its own is answered: the probes would see a reply.
        control = _dealer(context, keys, "gateway-2", "gateway-2/probe", endpoint)
        control.send(_hello("gateway-2/probe"))
        assert control.poll(WAIT * 1000), "the broker did not answer gateway-2's key under its own routing id"
        assert control.recv()[:2] == bytes([WIRE_VERSION, HELLO])
        # gateway-1 itself still serves (its heartbeats and replies go to its own connection).
        _chat(cluster.gateways[0].url, "still mine")
        assert squatter.poll(0) == 0, "the squatter received a reply"
        assert impostor.poll(0) == 0, "the impostor received gateway-1's replies"
    finally:
        context.destroy(linger=0)


def test_a_key_removed_and_reloaded_is_served_no_more(cluster):
    first, second = cluster.gateways
    _chat(second.url, "before the reload")
    # A room with a member on each gateway: gateway-2 receives its broadcasts until its key is removed.
    ann, bob = Member(first.url), Member(second.url)
    room, password = create_room(ann, "ann")
    join(ann, room, password, "ann")
    join(bob, room, password, "bob")
    assert "error" not in ann.call("message", {"room": room, "text": "both see this"})
    bob.wait_for("message", lambda m: m["text"] == "both see this")
    (cluster.allowed / "gateway-2.key").unlink()
    cluster.brokers["a"].send_signal(signal.SIGHUP)
    cluster.wait_log("a", r"keys-reloaded .*removed=gateway-2", WAIT)
    assert cluster.brokers["a"].poll() is None, "the broker died of SIGHUP"
    # gateway-2's commands are refused: its clients get errors, never a room.
    member = Member(second.url)
    try:
        # Unanswered by the broker: the gateway answers broker_unavailable once its request times out.
        reply = member.sio.call("create", {"name": "eve"}, timeout=WAIT + 5)
        assert reply.get("code") == "broker_unavailable", reply
    finally:
        member.close()
    cluster.wait_log("a", r"message-refused(?=.* code=unknown_key)(?=.* gateway=gateway-2/)", WAIT)
    # Its subscriptions are cut too: the room's next message reaches ann on gateway-1, never bob.
    try:
        assert "error" not in ann.call("message", {"room": room, "text": "not for gateway-2"})
        ann.wait_for("message", lambda m: m["text"] == "not for gateway-2")
        assert "not for gateway-2" not in [m["text"] for event, m in bob.drain() if event == "message"]
    finally:
        ann.close()
        bob.close()
    cluster.wait_log("a", r"broadcasts-rebound", WAIT)
    # The other gateway keeps serving, with the same broker.
    _chat(first.url, "after the reload")


def test_without_curve_the_peer_link_listens_to_the_peer_only():
    """--insecure-loopback (tests only): a second connection to a broker's peer link is not listened to,
    so a local user cannot feed the standby updates or a higher term while the peer is connected."""
    context = zmq.Context()
    with Cluster("peer-gate", pair=True) as pair:
        try:
            pair.start_brokers()
            pair.add_gateway()
            pair.wait_healthy()
            pair.wait_log("a", "standby-in-sync", WAIT)
            rogue = context.socket(zmq.DEALER)
            rogue.setsockopt(zmq.LINGER, 0)
            rogue.connect(pair.endpoint("b", "peer"))
            rogue.send(b"\x00" * 32)
            pair.wait_log("b", r"message-refused(?=.* code=second_peer)", WAIT)
            assert pair.active() == "a"
            _chat(pair.urls[0], "the pair still serves")
        finally:
            context.destroy(linger=0)
