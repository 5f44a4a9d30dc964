"""Rooms kept on disk (`RoomBroker --data-dir`): a broker killed with kill -9 (alone, or both of a pair)
comes back with every room, password, member name, history and sequence number; damaged journals and
snapshots are cut or set aside as documented; a full disk refuses new rooms and messages with
`storage_full` and recovers when space returns."""
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from support.clients import Member, unique
from support.cluster import Cluster
from support.processes import binary

TIMEOUT = 10


def post(url, room, password, text, name="poster"):
    r = requests.post(f"{url}/api/rooms/{room}/messages", json={"name": name, "text": text},
                      headers={"Authorization": f"Bearer {password}"}, timeout=TIMEOUT)
    return r


def create(url, name="owner"):
    r = requests.post(f"{url}/api/rooms", json={"name": name}, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    return r.json()["room"], r.json()["password"]


def wait_posted(url, room, password, text):
    """Posts `text` (retrying while the brokers come back); returns its seq."""
    deadline = time.monotonic() + 30
    last = None
    while time.monotonic() < deadline:
        try:
            last = post(url, room, password, text)
            if last.status_code == 202:
                return last.json()["seq"]
        except requests.RequestException as error:
            last = error
        time.sleep(0.2)
    pytest.fail(f"{text!r} not accepted: {getattr(last, 'text', last)}")


def history_of(url, room, password):
    """The texts and seqs a member joining `room` sees (retrying while the brokers come back)."""
    deadline = time.monotonic() + 30
    while True:
        member = Member(url)
        try:
            ack = member.call("join", {"room": room, "password": password, "name": unique("reader")})
        except Exception as error:  # closed by the gateway's resynchronisation after a restart
            ack = {"code": "broker_unavailable", "error": repr(error)}
        finally:
            member.close()
        if "history" in ack:
            return [(m["text"], m["seq"]) for m in ack["history"]]
        assert ack.get("code") == "broker_unavailable" and time.monotonic() < deadline, ack
        time.sleep(0.2)


def segments(folder):
    return sorted(Path(folder).glob("journal-*.log"))


def snapshots(folder):
    return sorted(Path(folder).glob("snapshot-*.snap"))


def durable_cluster(tag, tmp_path, *, pair=False, fsync="always", extra=()):
    folders = {side: tmp_path / f"data-{side}" for side in ("a", "b")}
    # Every request comes from 127.0.0.1: the HTTP API's per-address limits are raised.
    cluster = Cluster(tag, pair=pair, gateway_args=("--http-burst", "100000", "--http-requests-per-second", "100000"))
    cluster.folders = folders
    for side in cluster.sides:
        cluster.start_broker(side, "--data-dir", folders[side], "--fsync", fsync, *extra)
    cluster.add_gateway()
    cluster.wait_healthy()
    if pair:
        cluster.wait_log("a", r"standby-in-sync", 10)
    return cluster


def restart_brokers(cluster, *extra):
    for side in cluster.sides:
        cluster.kill(cluster.brokers[side])
    for side in cluster.sides:
        cluster.start_broker(side, "--data-dir", cluster.folders[side], "--fsync", cluster.fsync, *extra)


def test_a_broker_killed_comes_back_with_its_rooms_and_numbering(tmp_path):
    with durable_cluster("durable-alone", tmp_path) as cluster:
        cluster.fsync = "always"
        url = cluster.url
        rooms = [create(url, f"owner{i}") for i in range(5)]
        posted = {}
        for room, password in rooms:
            posted[room] = [(f"{room} {i}", post(url, room, password, f"{room} {i}").json()["seq"]) for i in range(8)]
        restart_brokers(cluster)
        cluster.wait_log("a", r"recovered", 20)
        assert "every acknowledged input kept" in cluster.log("a")
        for room, password in rooms:
            history = history_of(url, room, password)
            assert history[-8:] == posted[room]
            # The numbering goes on from where it was.
            seq = wait_posted(url, room, password, "after")
            assert seq > posted[room][-1][1]
        # A wrong password still fails: the hashes came back, not a room anyone may open.
        member = Member(url)
        try:
            ack = member.call("join", {"room": rooms[0][0], "password": "not-the-password", "name": "intruder"})
            assert ack.get("code") == "wrong_password", ack
        finally:
            member.close()


def test_both_brokers_of_a_pair_killed_come_back_and_the_newer_state_serves(tmp_path):
    with durable_cluster("durable-pair", tmp_path, pair=True) as cluster:
        cluster.fsync = "always"
        url = cluster.url
        room, password = create(url)
        sent = [(f"m{i}", post(url, room, password, f"m{i}").json()["seq"]) for i in range(10)]
        restart_brokers(cluster)
        cluster.active(timeout=20)
        assert history_of(url, room, password)[-10:] == sent
        assert wait_posted(url, room, password, "after") == sent[-1][1] + 2  # the reader's join took one


def test_a_torn_journal_tail_is_cut_with_a_log_line(tmp_path):
    with durable_cluster("durable-torn", tmp_path) as cluster:
        cluster.fsync = "always"
        url = cluster.url
        room, password = create(url)
        sent = [(f"m{i}", post(url, room, password, f"m{i}").json()["seq"]) for i in range(5)]
        cluster.kill(cluster.brokers["a"])
        last = segments(cluster.folders["a"])[-1]
        with open(last, "ab") as f:  # half a record: its header says 100 bytes, 10 follow
            f.write((100).to_bytes(4, "big") + b"\0" * 14)
        cluster.start_broker("a", "--data-dir", cluster.folders["a"], "--fsync", "always")
        cluster.wait_log("a", r"recovered", 20)
        assert re.search(r"journal-cut.*dropping 1 record\(s\) and 18 bytes", cluster.log("a")), cluster.log("a")
        assert history_of(url, room, password)[-5:] == sent


def test_a_flipped_byte_in_the_journal_cuts_it_there_and_says_what_was_dropped(tmp_path):
    with durable_cluster("durable-flip", tmp_path) as cluster:
        cluster.fsync = "always"
        url = cluster.url
        room, password = create(url)
        for i in range(20):
            post(url, room, password, f"m{i}")
        cluster.kill(cluster.brokers["a"])
        last = segments(cluster.folders["a"])[-1]
        data = bytearray(last.read_bytes())
        where = data.find(b"m10")
        assert where > 0
        data[where + 1] ^= 0x01
        last.write_bytes(bytes(data))
        cluster.start_broker("a", "--data-dir", cluster.folders["a"], "--fsync", "always")
        cluster.wait_log("a", r"recovered", 20)
        log = cluster.log("a")
        found = re.search(r"journal-cut.*checksum differs.*dropping (\d+) record\(s\) and (\d+) bytes", log)
        assert found, log
        assert int(found.group(1)) >= 2 and int(found.group(2)) > 0
        texts = [text for text, _ in history_of(url, room, password)]
        assert "m9" in texts and "m10" not in texts
        # Events after the cut may have been seen: the state comes back under a new instance id.
        assert "a new instance id" in log


def test_a_damaged_snapshot_falls_back_to_the_previous_one(tmp_path):
    with durable_cluster("durable-snap", tmp_path, extra=("--snapshot-every", "1")) as cluster:
        cluster.fsync = "always"
        url = cluster.url
        room, password = create(url)
        text = "x" * 1_500
        seqs = []
        deadline = time.monotonic() + 60
        while len(snapshots(cluster.folders["a"])) < 2 or len(seqs) < 40:
            r = post(url, room, password, f"{len(seqs)} {text}")
            assert r.status_code == 202, r.text
            seqs.append(r.json()["seq"])
            assert time.monotonic() < deadline, "no second snapshot"
        time.sleep(1)  # the last snapshot is saved and the older files removed
        cluster.kill(cluster.brokers["a"])
        newest = snapshots(cluster.folders["a"])[-1]
        data = bytearray(newest.read_bytes())
        data[len(data) // 2] ^= 0xFF
        newest.write_bytes(bytes(data))
        cluster.start_broker("a", "--data-dir", cluster.folders["a"], "--fsync", "always", "--snapshot-every", "1")
        cluster.wait_log("a", r"recovered", 30)
        log = cluster.log("a")
        assert re.search(r"snapshot-damaged.*checksum differs", log), log
        assert Path(str(newest) + ".damaged").exists()
        history = history_of(url, room, password)
        assert history[-1][1] == seqs[-1]


def test_a_second_broker_on_the_same_folder_is_refused(tmp_path):
    with durable_cluster("durable-lock", tmp_path) as cluster:
        result = subprocess.run([binary("RoomBroker"), "--commands", "ipc:///tmp/unused-c", "--broadcasts",
                                 "ipc:///tmp/unused-b", "--data-dir", cluster.folders["a"]],
                                capture_output=True, text=True, timeout=20)
        assert result.returncode != 0
        assert "in use by another broker" in result.stderr + result.stdout


def test_a_folder_of_another_format_is_refused_with_what_to_do(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "FORMAT").write_text("swift-zmq-chat broker data, format 99\n")
    result = subprocess.run([binary("RoomBroker"), "--commands", "ipc:///tmp/unused-c2", "--broadcasts",
                             "ipc:///tmp/unused-b2", "--data-dir", folder], capture_output=True, text=True, timeout=20)
    assert result.returncode != 0
    out = result.stderr + result.stdout
    assert "format 99" in out and "move the folder away" in out, out


def test_the_folder_and_its_files_are_private(tmp_path):
    with durable_cluster("durable-mode", tmp_path) as cluster:
        room, password = create(cluster.url)
        post(cluster.url, room, password, "hello")
        folder = cluster.folders["a"]
        assert folder.stat().st_mode & 0o777 == 0o700
        for path in folder.iterdir():
            assert path.stat().st_mode & 0o077 == 0, path


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_full_disk_refuses_new_messages_with_storage_full_and_recovers(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        with Cluster("durable-full", gateway_args=("--http-burst", "100000",
                                                   "--http-requests-per-second", "100000")) as cluster:
            folder = mount / "data"
            cluster.start_broker("a", "--data-dir", folder, "--fsync", "always")
            cluster.add_gateway()
            cluster.wait_healthy()
            url = cluster.url
            room, password = create(url)
            accepted = [("before", post(url, room, password, "before").json()["seq"])]
            # Fill the file system but for a few bytes.
            filler = mount / "filler"
            descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
            try:
                while True:
                    os.write(descriptor, b"\0" * 4096)
            except OSError:
                pass
            finally:
                os.close(descriptor)
            refused = None
            for i in range(200):
                r = post(url, room, password, f"full {i} " + "y" * 1900)
                if r.status_code == 202:
                    accepted.append((f"full {i} " + "y" * 1900, r.json()["seq"]))
                    continue
                refused = r
                break
            assert refused is not None, "no message refused on a full disk"
            assert refused.status_code == 507 and refused.json()["code"] == "storage_full", refused.text
            assert "disk is full" in refused.json()["error"]
            cluster.wait_log("a", r"journal-full", 5)
            # New rooms too; joining goes on.
            r = requests.post(f"{url}/api/rooms", json={"name": "someone"}, timeout=TIMEOUT)
            assert r.status_code == 507 and r.json()["code"] == "storage_full", r.text
            assert history_of(url, room, password)[0] == accepted[0]
            # Space again: writes resume, and everything acknowledged is on disk.
            filler.unlink()
            cluster.wait_log("a", r"journal-writing", 10)
            seq = wait_posted(url, room, password, "after")
            accepted.append(("after", seq))
            cluster.kill(cluster.brokers["a"])
            cluster.start_broker("a", "--data-dir", folder, "--fsync", "always")
            cluster.wait_log("a", r"recovered", 20)
            history = history_of(url, room, password)
            for item in accepted:
                assert item in history, item
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def descendants(pid):
    """Every process under `pid` (children, their children, ...)."""
    found = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            pending += children
    return found


def test_scripts_run_killed_whole_under_a_chat_comes_back_with_every_room(tmp_path):
    """scripts/run --fsync always, rooms and a running chat; kill -9 of scripts/run and every process under
    it at once, mid-chat; scripts/run again on the same folder: the rooms open with the same passwords and
    histories, every acknowledged message is there, and the numbering goes on."""
    from support.scripts_run import RunScript
    data = tmp_path / "var"
    options = ("--fsync", "always", "--", "--http-burst", "100000", "--http-requests-per-second", "100000")
    run = RunScript(data_dir=data, extra=options)
    acknowledged = {}
    try:
        rooms = [create(run.url, f"owner{i}") for i in range(20)]
        for room, password in rooms:
            acknowledged[room] = [(f"{room} says {i}", wait_posted(run.url, room, password, f"{room} says {i}"))
                                  for i in range(3)]
        stop = threading.Event()

        def chat(room, password):
            session = requests.Session()
            index = 0
            while not stop.is_set():
                text = f"{room} chats {index}"
                try:
                    r = session.post(f"{run.url}/api/rooms/{room}/messages", json={"name": "chatter", "text": text},
                                     headers={"Authorization": f"Bearer {password}"}, timeout=2)
                except requests.RequestException:
                    return  # killed: what was acknowledged is recorded
                if r.status_code == 202:
                    acknowledged[room].append((text, r.json()["seq"]))
                index += 1

        chatters = [threading.Thread(target=chat, args=room, daemon=True) for room in rooms[:4]]
        for thread in chatters:
            thread.start()
        time.sleep(1.5)
        # Every process at once, children first (scripts/run would restart them; its children would get a
        # SIGTERM when it dies, and must not have the time to use it).
        victims = [*reversed(descendants(run.proc.pid)), run.proc.pid]
        assert len(victims) >= 5, victims  # scripts/run, 2 brokers, 2 gateways (and their log pipes)
        for pid in victims:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        stop.set()
        for thread in chatters:
            thread.join(timeout=5)
        run.proc.wait(timeout=10)
    finally:
        run.stop()
    assert sum(len(v) for v in acknowledged.values()) > 100, "the chat was running when everything was killed"
    assert sorted(p.name for p in data.iterdir()) == ["broker-a", "broker-b"]
    with RunScript(data_dir=data, extra=options) as again:
        for room, password in rooms:
            history = history_of(again.url, room, password)
            # The history keeps the last 100 messages: every acknowledged one among them is there (with
            # perhaps a last one applied whose ack the kill cut off).
            kept = [item for item in acknowledged[room] if item[1] >= history[0][1]]
            missing = [item for item in kept if item not in history]
            assert not missing, f"acknowledged but lost: {missing}"
            assert len(history) - len(kept) <= 2 + 1, (history[-3:], kept[-3:])  # the readers' joins, one unacked
            seq = wait_posted(again.url, room, password, "back")
            assert seq > acknowledged[room][-1][1]
