"""A wall-clock step of ±30 s (an NTP step, a VM resume) changes nothing a user sees.

The broker and a gateway run under Debian's libfaketime with a timestamp file the test rewrites while
they run (FAKETIME_NO_CACHE=1). FAKETIME_DONT_FAKE_MONOTONIC=1 leaves the monotonic clock alone, as a
real NTP step does: only `Date()` jumps. Every timeout, heartbeat and token bucket runs on the
monotonic clock, so members stay, messages flow and rate limits neither bite early nor stop refilling.
With wall-clock timeouts, the forward step made the broker drop the gateway's members (`left` for
everyone) and the backward step froze each connection's token bucket (`rate_limited` after its burst).
"""
import os
import shutil
import time

import pytest

from support.clients import Member, unique
from support.cluster import Cluster

pytestmark = pytest.mark.skipif(
    shutil.which("faketime") is None and not os.environ.get("CI"),
    reason="faketime is not installed (apt-get install faketime); scripts/test installs it")


# Started through Debian's `faketime` wrapper (which sets up libfaketime's shared state; a Swift program
# preloaded with libfaketime without it sees no command-line arguments), with its FAKETIME variable
# removed again so that libfaketime reads the offset from the timestamp file the test rewrites.
FAKETIME_WRAPPER = ["faketime", "-m", "--exclude-monotonic", "-f", "+0s",
                    "sh", "-c", 'unset FAKETIME; exec "$0" "$@"']


@pytest.fixture
def faked_cluster(tmp_path):
    """A broker and a gateway whose wall clock the test steps through `step(offset)`."""
    assert shutil.which("faketime"), "faketime missing: scripts/test installs Debian's faketime"
    stamp = tmp_path / "faketime"
    stamp.write_text("+0s\n")
    env = dict(os.environ,
               FAKETIME_TIMESTAMP_FILE=str(stamp),
               FAKETIME_NO_CACHE="1",
               FAKETIME_DONT_FAKE_MONOTONIC="1")

    def step(offset):
        stamp.write_text(f"{offset}\n")

    with Cluster("clock-step", env=env, wrapper=FAKETIME_WRAPPER) as cluster:
        cluster.start_broker()
        gateway = cluster.add_gateway()
        cluster.wait_healthy()
        yield gateway.url, step, cluster.processes


def test_faked_clock_really_moves(faked_cluster):
    """Guards the test itself: the server's `ts` follows the faked wall clock."""
    url, step, _ = faked_cluster
    ann = Member(url)
    try:
        room = ann.call("create", {"name": "ann"})
        ann.call("join", {"room": room["room"], "password": room["password"], "name": "ann"})
        step("+3600s")
        time.sleep(0.3)
        ann.call("message", {"room": room["room"], "text": "from the future"})
        message = ann.wait_for("message", lambda m: m["text"] == "from the future")
        assert message["ts"] / 1000 - time.time() > 3000, "libfaketime did not shift the server's wall clock"
    finally:
        ann.sio.disconnect()


@pytest.mark.parametrize("offset", ["+30s", "-30s"])
def test_wall_clock_step_changes_nothing(faked_cluster, offset):
    url, step, processes = faked_cluster
    name = unique("r", 8)
    ann, bob = Member(url), Member(url)
    try:
        created = ann.call("create", {"name": "ann", "room": name})
        for member, who in ((ann, "ann"), (bob, "bob")):
            ack = member.call("join", {"room": name, "password": created["password"], "name": who})
            assert "error" not in ack, ack
        # Use up most of ann's burst before the step, so a frozen bucket would show at once.
        for i in range(30):
            assert "error" not in ann.call("message", {"room": name, "text": f"before {i}"})

        step(offset)
        # Longer than the broker's gateway timeout (5 s) and several heartbeats and ticks.
        time.sleep(7)

        # Steady sending at 12 msg/s for 4 s: within the 20/s limit, so nothing may be refused.
        for i in range(48):
            ack = ann.call("message", {"room": name, "text": f"after {i}"})
            assert "error" not in ack, f"message {i} after a {offset} clock step was refused: {ack}"
            time.sleep(1 / 12)
        last = bob.wait_for("message", lambda m: m["text"] == "after 47", timeout=5)
        assert last["name"] == "ann"
        left = [data for ev, data in bob.drain(0.5) if ev == "left"]
        assert not left, f"members were dropped after a {offset} clock step: {left}"
        for p in processes:
            assert p.poll() is None, f"{p.label} exited after the clock step"
    finally:
        ann.sio.disconnect()
        bob.sio.disconnect()
