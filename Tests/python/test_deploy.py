"""deploy/: the systemd units and the example environment files.

- `systemd-analyze verify` accepts both units (in a scratch root: the host's unit folder for the
  targets they name, a stand-in executable at each ExecStart path, as no systemd runs as PID 1 in a
  container) and reports a unit broken on purpose; `systemd-analyze security --offline` rates their
  hardening at most 2.0 ("OK").
- The example environment files alone (CHAT_* variables, no command-line arguments; the ipc:// folder
  moved into the test's scratch folder) run a broker pair and a gateway that chat, with JSON logs
  that hold no password.
- Both executables list their variables in --help, and a malformed variable is named in the error.
"""
import json
import os
import re
import shutil
import subprocess

import pytest

from support.clients import Member, create_room, join
from support.cluster import Cluster
from support.processes import REPO, STATIC_DIR, binary, free_port, poll_until

DEPLOY = REPO / "deploy"
UNITS = {"chat-broker@.service": "chat-broker@broker-a.service", "chat-gateway@.service": "chat-gateway@gateway-1.service"}


def systemd_analyze():
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.skip("systemd-analyze is not installed (scripts/test installs Debian's systemd package)")
    return path


def unit_lines(name):
    return (DEPLOY / name).read_text().splitlines()


@pytest.fixture
def unit_root(tmp_path):
    """A root for `systemd-analyze --root`: the units, the host's unit folder and stand-in executables
    (of ExecStart= and ExecReload=)."""
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for name in UNITS:
        shutil.copy(DEPLOY / name, root / "etc/systemd/system" / name)
        for line in unit_lines(name):
            if line.startswith(("ExecStart=", "ExecReload=")):
                executable = root / line.split("=", 1)[1].split()[0].lstrip("/")
                executable.parent.mkdir(parents=True, exist_ok=True)
                executable.write_text("#!/bin/sh\n")
                executable.chmod(0o755)
    return root


def verify(root):
    return subprocess.run([systemd_analyze(), "verify", f"--root={root}", *UNITS.values()],
                          capture_output=True, text=True, timeout=60)


def test_units_pass_systemd_analyze_verify(unit_root):
    result = verify(unit_root)
    # verify exits 0 on settings it ignores (a typo, a bad value) but prints them: both must be clean.
    assert (result.returncode, result.stdout + result.stderr) == (0, ""), result.stdout + result.stderr


@pytest.mark.parametrize("good, broken", [
    ("Restart=always", "Restart=alwayz"),
    ("ProtectSystem=strict", "ProtectSytem=strict"),
    ("TimeoutStopSec=20", "TimeoutStopSec=twenty"),
    ("ExecStart=/usr/local/bin/", "ExecStart=/usr/local/nowhere/"),
])
def test_verify_reports_a_broken_unit(unit_root, good, broken):
    """The check above has teeth: each unit broken on purpose is reported."""
    for name in UNITS:
        path = unit_root / "etc/systemd/system" / name
        text = path.read_text()
        assert good in text, f"{name} has no {good}"
        path.write_text(text.replace(good, broken, 1))
        result = verify(unit_root)
        path.write_text(text)
        assert result.returncode != 0 or (result.stdout + result.stderr).strip(), f"{name} with {broken} passed"


def test_units_are_hardened(unit_root):
    result = subprocess.run([systemd_analyze(), "security", "--offline=yes", "--threshold=20", f"--root={unit_root}",
                             *UNITS.values()], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    for name in UNITS:
        settings = dict(line.split("=", 1) for line in unit_lines(name) if re.match(r"^[A-Z]\w*=", line))
        assert settings["Restart"] == "always"
        assert settings["DynamicUser"] == "yes" and settings["NoNewPrivileges"] == "yes"
        assert settings["EnvironmentFile"] == "/etc/chat/%i.env"
        assert settings["KillSignal"] == "SIGTERM"
        assert int(settings["TimeoutStopSec"]) >= 15, "above the gateway's 10 s drain"
        assert int(settings["LimitNOFILE"]) >= 65536


def read_env_file(path):
    """The variables an EnvironmentFile= sets (the simple KEY=value lines these files use)."""
    return dict(line.split("=", 1) for line in path.read_text().splitlines()
                if line.strip() and not line.startswith("#"))


def env_file_variables(path):
    """Every CHAT_* variable a file names, commented-out examples included."""
    return set(re.findall(r"^#?(CHAT_[A-Z0-9_]+)=", path.read_text(), re.MULTILINE))


def help_variables(executable):
    result = subprocess.run([binary(executable), "--help"], capture_output=True, text=True, timeout=30, env=clean_env())
    assert result.returncode == 0, result.stderr
    assert "ENVIRONMENT:" in result.stdout, result.stdout
    section = result.stdout.split("ENVIRONMENT:", 1)[1]
    return set(re.findall(r"^\s+(CHAT_[A-Z0-9_]+)\s+--", section, re.MULTILINE))


def clean_env(**variables):
    """This process's environment without CHAT_* variables, plus `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}
    env.update(variables)
    return env


def test_help_lists_the_variables_of_every_option_and_the_example_files_use_only_those():
    broker, gateway = help_variables("RoomBroker"), help_variables("Gateway")
    assert {"CHAT_COMMANDS", "CHAT_BROADCASTS", "CHAT_PAIR_ROLE", "CHAT_PEER", "CHAT_LOG_FORMAT"} <= broker
    assert {"CHAT_PORT", "CHAT_BROKER_COMMANDS", "CHAT_TRUSTED_PROXY", "CHAT_LISTEN_ONCE_BROKER_ANSWERS", "CHAT_LOG_FORMAT"} <= gateway
    for path in DEPLOY.glob("*.env"):
        known = broker if path.name.startswith("broker") else gateway
        unknown = env_file_variables(path) - known
        assert not unknown, f"{path.name} names variables its command does not have: {sorted(unknown)}"
        assert set(read_env_file(path)) <= known, f"{path.name}: {sorted(set(read_env_file(path)) - known)}"


def test_a_malformed_variable_is_named_in_the_error():
    for variables, phrase in [({"CHAT_PORT": "eighty"}, "CHAT_PORT"),
                              ({"CHAT_LISTEN_ONCE_BROKER_ANSWERS": "maybe"}, "CHAT_LISTEN_ONCE_BROKER_ANSWERS"),
                              ({"CHAT_LOG_FORMAT": "xml"}, "CHAT_LOG_FORMAT")]:
        result = subprocess.run([binary("Gateway"), "--static-dir", str(STATIC_DIR)], capture_output=True, text=True,
                                timeout=30, env=clean_env(**variables))
        assert result.returncode != 0 and phrase in result.stderr, (variables, result.stdout, result.stderr)


def test_the_example_env_files_alone_run_a_pair_and_a_gateway_with_json_logs(tmp_path):
    run = tmp_path / "run"  # stands for /run/chat, the units' RuntimeDirectory parent
    for instance in ("broker-a", "broker-b", "gateway-1"):
        (run / instance).mkdir(parents=True, mode=0o700)
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def variables(name, **overrides):
        env = {key: value.replace("/run/chat/", f"{run}/").replace("/var/lib/chat/", f"{run}/state-")
               for key, value in read_env_file(DEPLOY / f"{name}.env").items()}
        env.update(CHAT_LOG_FORMAT="json", **overrides)
        return env

    cluster = Cluster("deploy")
    try:
        for broker in ("broker-a", "broker-b"):
            # every test client comes from 127.0.0.1
            cluster.start(broker, [binary("RoomBroker")], env=clean_env(**variables(broker, CHAT_CREATES_PER_CLIENT="1000")))
        cluster.start("gateway-1", [binary("Gateway")], env=clean_env(**variables(
            "gateway-1", CHAT_HOST="127.0.0.1", CHAT_PORT=str(port), CHAT_STATIC_DIR=str(STATIC_DIR),
            CHAT_ALLOWED_ORIGIN=url)))
        cluster.wait_healthy(url)
        poll_until(lambda: (run / "gateway-1" / "ready").exists(), "the ready file of CHAT_READY_FILE")
        poll_until(lambda: '"message":"standby-in-sync"' in cluster.others[0].log(), "broker-a's standby-in-sync line")

        ann, bob = Member(url), Member(url)
        room, password = create_room(ann, "ann")
        join(ann, room, password, "ann")
        join(bob, room, password, "bob")
        assert "seq" in ann.call("message", {"room": room, "text": "over ipc, set up by CHAT_* alone"})
        got = bob.wait_for("message", lambda m: m["room"] == room)
        assert got["text"] == "over ipc, set up by CHAT_* alone" and got["name"] == "ann"
        ann.close()
        bob.close()
    finally:
        cluster.stop(timeout=15)

    events = []
    for p in cluster.others:
        text = p.log()
        assert password not in text, f"{p.label} logged the room's password"
        for line in text.splitlines():
            event = json.loads(line)  # every line is one JSON object
            assert set(event) == {"time", "level", "label", "message", "metadata"}, line
            events.append(event)
    assert any(e["message"] == "create" and e["metadata"].get("room") == room for e in events), "no create event"
    assert any(e["message"] == "join" and e["metadata"].get("name") == "bob" for e in events), "no join event"
