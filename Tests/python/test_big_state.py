"""A broker pair holding a realistic, large state through scripts/run: losing the standby, then the active.

scripts/run (a broker pair, 2 gateways) is filled over the HTTP API with 300 rooms whose history and
replay buffer are full of 8,000-byte messages (bench/bigstate.py: about 230 MiB of history and encoded
broadcasts in the broker), from 250 loopback source addresses so that the per-address limits hold as for
real clients. A steady chat (python-socketio clients of bench/chaos.py, 20 messages/s in all) goes on
while the standby broker is killed with kill -9 and restarted by scripts/run (the active sends it a
snapshot of all that), then while the active is killed. The promises checked (docs/RELIABILITY.md):
  - the standby follows the fill (in sync, every room, within 60 s of its end);
  - after kill -9 of the standby: no ack waits 2 s or more; the standby is in sync again within 60 s,
    and the same active still holds every room;
  - after kill -9 of the active: the standby takes over, every room opens with its password, its
    history ends with the messages posted to it (seqs and texts), and every message the steady chat had
    acknowledged is there exactly once.
About 3 minutes with a debug build (the fill alone 45-75 s). Bounded: a hard timeout stops scripts/run
(and so everything it started) however the test ends. Progress lines are printed as it goes (also while
pytest captures output); scripts/run's lines are kept in test-output/logs/big-state-run.log.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from support.processes import LOG_DIR, REPO, skip_if_external
from support.scripts_run import RunScript

sys.path.insert(0, str(REPO / "bench"))
import bigstate  # noqa: E402  (bench/bigstate.py: filling and checking the state, shared with bench/chaos.py)
import chaos  # noqa: E402  (bench/chaos.py's Client: chats, reconnects, resends with the same id)

# The state (smaller ones, e.g. to try the test's own steps quickly, by CHAT_BIG_STATE_ROOMS, _MESSAGES, _TEXT_BYTES).
ROOMS = int(os.environ.get("CHAT_BIG_STATE_ROOMS", "300"))
MESSAGES = int(os.environ.get("CHAT_BIG_STATE_MESSAGES", "64"))  # ~32 of 8,000 bytes fill the 256 KiB history,
TEXT_BYTES = int(os.environ.get("CHAT_BIG_STATE_TEXT_BYTES", "8000"))  # 64 the 512 KiB replay buffer; the most
STEADY_ROOMS = 2          # the first rooms also get a steady chat of
STEADY_CLIENTS = 4        # clients (spread over those rooms), each sending
STEADY_RATE = 5.0         # messages per second: 20/s in all
ACK_PAUSE_LIMIT = 2.0     # s: the longest an ack may take after kill -9 of the standby
RESYNC_LIMIT = 60.0       # s: for the restarted standby to be in sync again
TAKEOVER_ACK_LIMIT = 5.0  # s: the longest an ack may take across kill -9 of the active (design ~1.5 s)
TAKEOVER_LIMIT = 15.0     # s: for the standby to report itself active with the rooms
HARD_TIMEOUT = float(os.environ.get("CHAT_BIG_STATE_TIMEOUT", "480"))  # s, after scripts/run is ready


@pytest.fixture
def say(request):
    """Prints a progress line, captured (shown with a failure) and, while pytest captures output, also
    live on the terminal."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    started = time.monotonic()

    def say(text):
        line = f"[big-state {time.monotonic() - started:6.1f} s] {text}"
        print(line, flush=True)
        if capture is not None and capture.is_capturing():
            with capture.global_and_fixture_disabled():
                print(line, flush=True)
    return say


@pytest.fixture
def cluster():
    skip_if_external("starts scripts/run itself")
    run = RunScript()
    # Past the hard timeout scripts/run is stopped, so every wait below ends (and fails) soon after.
    expired = threading.Event()

    def stop():
        try:
            run.stop()
        except subprocess.TimeoutExpired:
            # It waits for its children; a broker busy on its only thread does not act on SIGTERM. stop()
            # has killed the whole process group (scripts/run, brokers, gateways) with SIGKILL.
            print("scripts/run did not stop within 30 s of SIGTERM: its process group was killed", flush=True)

    def expire():
        expired.set()
        stop()
    watchdog = threading.Timer(HARD_TIMEOUT, expire)
    watchdog.daemon = True
    watchdog.start()
    run.expired = expired
    try:
        yield run
    finally:
        watchdog.cancel()
        stop()
        while True:  # what scripts/run printed but nobody read yet
            try:
                run.output.append(run.lines.get(timeout=0.5))
            except Exception:  # queue.Empty
                break
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        (LOG_DIR / "big-state-run.log").write_text("".join(run.output))


def brokers(url):
    """label ("broker-a", "broker-b") -> that broker's entry in a gateway's /status.json, or {} when the
    gateway does not answer."""
    try:
        status = requests.get(f"{url}/status.json", timeout=3).json()
    except (requests.RequestException, ValueError):
        return {}
    found = {}
    for broker in status.get("brokers", []):
        if m := re.search(r"broker-([ab])", broker.get("endpoint", "")):
            found[f"broker-{m[1]}"] = broker
    return found


def roles(url):
    """(active label, standby label, {label: entry}); a label is None when no broker has that role. Of two
    that say active (one a dead broker's last answer), the one with the higher term."""
    found = brokers(url)
    actives = sorted((b.get("term") or 0, label) for label, b in found.items() if b.get("state") == "active")
    active = actives[-1][1] if actives else None
    standby = next((label for label, b in found.items() if b.get("state") == "standby"), None)
    return active, standby, found


def replication(entry):
    return (entry or {}).get("replication", {}).get("state")


def in_sync(url, rooms):
    """(True, text) when /status.json shows one broker active with `rooms` rooms or more and the other,
    heard from within the last 2 s, following it with as many rooms; else (False, what it shows). (A
    gateway keeps a broker's last answer for up to 3 s: right after a kill it still shows the dead one.)"""
    active, standby, found = roles(url)
    text = ", ".join(f"{label} {b.get('state')} rooms={b.get('rooms')} replication={replication(b)}"
                     for label, b in sorted(found.items())) or "no status"
    ok = (active is not None and standby is not None
          and replication(found[active]) == "standby_in_sync" and replication(found[standby]) == "following"
          and (found[standby].get("lastHeardMs") or 0) < 2000
          and (found[active].get("rooms") or 0) >= rooms and (found[standby].get("rooms") or 0) >= rooms)
    return ok, text


def line_after(run, start, pattern):
    """The first line of scripts/run's output from index `start` on that matches `pattern`, or None."""
    run.read_until(lambda line: False, 0.05)
    return next((line for line in run.output[start:] if re.search(pattern, line)), None)


def wait_until(check, timeout, run, interval=0.25):
    """Calls check() (-> (done, text)) until done or `timeout` s; returns (done, last text, seconds taken)."""
    started = time.monotonic()
    done, text = check()
    while not done and time.monotonic() - started < timeout and not run.expired.is_set():
        time.sleep(interval)
        done, text = check()
    return done, text, time.monotonic() - started


def ack_waits(clients, since, until=None):
    """The longest wait of an ack that arrived in [since, until) or (without `until`) is still awaited, and
    the longest gap between two consecutive acks of one client in that span (without `until`: up to now)."""
    until = until if until is not None else float("inf")
    longest = gap = 0.0
    now = time.monotonic()
    for client in clients:
        with client.lock:
            acks = [(t, latency) for t, latency in client.latencies if since <= t < until]
        for t, latency in acks:
            longest = max(longest, latency)
        times = [since] + [t for t, _ in acks] + ([now] if until == float("inf") else [])
        gap = max([gap] + [b - a for a, b in zip(times, times[1:])])
        pending = client.unacked
        if pending is not None and until == float("inf"):
            longest = max(longest, now - pending[1])
    return longest, gap


def broker_lines(run, count=25):
    """scripts/run's lines about the brokers' roles, snapshots and restarts (for failure messages)."""
    run.read_until(lambda line: False, 0.2)
    pattern = re.compile(r"broker-[ab].*(exited|started|snapshot|standby|active|voted|term|loaded|in-sync|lost|peer)")
    return "".join(line for line in run.output if pattern.search(line))[-6000:].splitlines()[-count:]


def test_a_large_state_survives_kill_9_of_the_standby_then_of_the_active(cluster, say):
    run, url, admin = cluster, cluster.url, cluster.admin_url  # admin: gw-1's /status.json
    done, text, _ = wait_until(lambda: in_sync(admin, 0), 30, run)
    assert done, f"the pair is not in sync after start: {text}"

    rooms = bigstate.fill(url, rooms=ROOMS, messages=MESSAGES, text_bytes=TEXT_BYTES, say=say, seconds=240)
    done, text, took = wait_until(lambda: in_sync(admin, ROOMS), RESYNC_LIMIT, run)
    say(f"filled; {text}")
    problems = []
    if not done:
        # A real fault too (a later takeover would lose what the standby lacks), but the kill of the
        # standby below restarts it anyway: go on, and report it with the rest.
        problems.append(f"the standby did not follow the fill: {text}; "
                        + " / ".join(line.strip() for line in broker_lines(run) if "standby-lost" in line))

    # The steady chat: clients of bench/chaos.py in the first rooms.
    stop = threading.Event()
    clients = [chaos.Client(i, url, rooms[i % STEADY_ROOMS].room, rooms[i % STEADY_ROOMS].password, STEADY_RATE, stop)
               for i in range(STEADY_CLIENTS)]
    try:
        for client in clients:
            client.thread.start()
        time.sleep(3)
        start = time.monotonic()
        baseline, _ = ack_waits(clients, start - 3, start)
        acked = sum(len(c.acked) for c in clients)
        say(f"steady chat: {STEADY_CLIENTS} clients in {STEADY_ROOMS} rooms, {acked} acks in 3 s, longest wait {baseline:.2f} s")
        assert acked > 0, "the steady chat gets no acks before any fault"

        # ---- kill -9 of the standby ----------------------------------------------------------------
        # scripts/run restarts it; it asks the active for a snapshot of everything and then follows.
        active, standby, found = roles(admin)
        assert active and standby, f"no active and standby broker in /status.json: {found}"
        victim = run.pids()[standby]
        earlier = len(problems)
        mark = len(run.output)
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        say(f"kill -9 {standby} (pid {victim}, the standby; {active} is active)")

        def resynced():
            # The active's own line says the restarted standby has the snapshot and every update since;
            # then /status.json must show both in sync with every room. A takeover ends the wait.
            if line := line_after(run, mark, rf"^{standby} *\|.* broker active "):
                return True, "the restarted standby became active: " + line.strip()
            if not line_after(run, mark, rf"^{active} *\|.* standby-in-sync"):
                return False, f"{active} has not logged standby-in-sync since the kill; " + in_sync(admin, ROOMS)[1]
            return in_sync(admin, ROOMS)
        synced, text, took = wait_until(resynced, RESYNC_LIMIT, run)
        synced = synced and not text.startswith("the restarted standby became active")
        time.sleep(2)  # acks after the resync count too
        longest, gap = ack_waits(clients, killed_at)
        active_after, _, found = roles(admin)
        rooms_after = (found.get(active_after) or {}).get("rooms")
        say(f"after kill -9 of the standby: {'in sync' if synced else 'NOT in sync'} after {took:.1f} s ({text}); "
            f"longest ack wait {longest:.2f} s, longest gap between acks {gap:.2f} s; "
            f"active: {active_after} with {rooms_after} rooms")
        if longest >= ACK_PAUSE_LIMIT:
            problems.append(f"an ack waited {longest:.2f} s after kill -9 of the standby (limit {ACK_PAUSE_LIMIT} s)")
        if not synced:
            problems.append(f"the restarted standby did not get in sync with every room (waited {took:.1f} s of "
                            f"{RESYNC_LIMIT:.0f}): {text}")
        if active_after != active:
            problems.append(f"the active changed from {active} to {active_after} when the standby was killed")
        if not isinstance(rooms_after, int) or rooms_after < ROOMS:
            problems.append(f"rooms lost: the active broker ({active_after}) holds {rooms_after} of {ROOMS} rooms "
                            f"after kill -9 of the standby")
        if len(problems) > earlier:  # no use killing the active: the state is gone or in doubt already
            pytest.fail("after kill -9 of the standby:\n  " + "\n  ".join(problems)
                        + "\nscripts/run's broker lines:\n  " + "\n  ".join(broker_lines(run)))

        # ---- kill -9 of the active -----------------------------------------------------------------
        victim = run.pids()[active]
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        say(f"kill -9 {active} (pid {victim}, the active)")

        def took_over():
            entry = brokers(admin).get(standby) or {}
            rooms_now = entry.get("rooms")
            return (entry.get("state") == "active" and isinstance(rooms_now, int) and rooms_now >= ROOMS,
                    f"{standby} is {entry.get('state')} with {rooms_now} rooms")
        over, text, took = wait_until(took_over, TAKEOVER_LIMIT, run)
        time.sleep(3)
        longest, gap = ack_waits(clients, killed_at)
        say(f"after kill -9 of the active: {text} after {took:.1f} s; longest ack wait {longest:.2f} s, "
            f"longest gap between acks {gap:.2f} s")
        assert over, f"{standby} did not take over with every room within {TAKEOVER_LIMIT:.0f} s ({text}):\n" + \
            "\n".join(broker_lines(run))
        if longest >= TAKEOVER_ACK_LIMIT:
            problems.append(f"an ack waited {longest:.2f} s across kill -9 of the active (limit {TAKEOVER_ACK_LIMIT} s)")
    finally:
        stop.set()
        for client in clients:
            client.thread.join(timeout=10)

    # Every client has seen what its room acknowledged, once; then every room as a join finds it.
    extra = {}
    for big in rooms[:STEADY_ROOMS]:
        members = [c for c in clients if c.room == big.room]
        target = max((seq for c in members for seq in c.acked.values()), default=0)
        for client in members:
            client.finish(target, 10)
        report = chaos.analyse(members, [], True)
        seqs = [seq for c in members for seq in c.acked.values()]
        say(f"steady chat in {big.room}: {report['acked']} acknowledged, lost {report['lost']}, "
            f"applied twice {report['duplicated']}, reconnects {report['reconnects']}, ack max {report['ack_max_ms']} ms")
        if report["lost"] or report["duplicated"] or report["missing_in_reported_gaps"]:
            problems.append(f"steady chat in {big.room}: {report['lost']} lost {report['lost_examples']}, "
                            f"{report['duplicated']} applied twice {report['duplicated_examples']}, "
                            f"{report['missing_in_reported_gaps']} missing behind a reported gap")
        if len(set(seqs)) != len(seqs):
            problems.append(f"steady chat in {big.room}: two messages acknowledged with one seq")
        extra[big.room] = {seq: message_id for c in members for message_id, seq in c.acked.items()}
    found, checked = bigstate.check_rooms(url, rooms, extra)
    say(f"checked {checked} of {len(rooms)} rooms after the takeover: {len(found)} problems")
    problems += found
    assert not problems, f"{len(problems)} problems after the takeover:\n  " + "\n  ".join(problems[:30]) + \
        "\nscripts/run's broker lines:\n  " + "\n  ".join(broker_lines(run))
    assert not run.expired.is_set(), f"the test ran past its hard timeout of {HARD_TIMEOUT:.0f} s"
