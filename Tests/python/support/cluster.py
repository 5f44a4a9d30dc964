"""One builder for the chat processes of a test.

A `Cluster` starts what a test asks for, one call each: a RoomBroker (`start_broker()`), or with
`pair=True` broker-a (primary) and broker-b (backup) linked to each other; gateways (`add_gateway`,
each given every broker); other programs that stop with it (`start`, e.g. nginx). Every process logs to
test-output/logs/<tag>-<label>.log and runs with the cluster's `env`, behind its `wrapper` (a command
prefix such as faketime or `ip netns exec NS`; a process can have its own). The ZeroMQ links are plain
tcp:// on loopback with --insecure-loopback (`links="tcp"`, the default), tcp:// without it for CURVE
(`insecure=False`, keys in the extra arguments), or ipc:// in the cluster's private folder
(`links="ipc"`). A subclass can place the endpoints elsewhere by overriding `endpoint`.

Then: `wait_healthy()`, `log()`/`wait_log()`, `active()` (which broker of the pair serves), `kill()` and
`restart()` of one process, `stop()` (also as a context manager). `chat_cluster` is the usual one,
started and healthy.
"""
import re
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.processes import START_TIMEOUT, STATIC_DIR, Process, binary, free_port, stop, wait_healthy

# Every test client comes from 127.0.0.1: the per-address limits on creating and joining rooms are raised.
BROKER_DEFAULTS = ("--log-level", "debug", "--creates-per-client", "1000", "--creates-per-second", "100000",
                   "--rooms-per-address", "100000",
                   "--join-burst-per-address", "100000", "--joins-per-address", "100000")
GATEWAY_DEFAULTS = ("--log-level", "debug")


def other_side(side):
    return "b" if side == "a" else "a"


class Cluster:
    """Brokers and gateways started one call at a time (see the module's text)."""

    def __init__(self, tag, *, pair=False, links="tcp", insecure=True, env=None, wrapper=(), broker_args=(),
                 gateway_args=()):
        assert links in ("tcp", "ipc"), links
        self.tag = tag
        self.pair = pair
        self.sides = ("a", "b") if pair else ("a",)
        self.links = links
        self.insecure = insecure and links == "tcp"
        self.env = env
        self.wrapper = list(wrapper)
        self.broker_args = [str(a) for a in broker_args]
        self.gateway_args = [str(a) for a in gateway_args]
        self.brokers = {}   # side -> its current process
        self.gateways = []  # in the order they were added (a restarted one keeps its place)
        self.others = []
        self.started = []   # every process ever started, for stop()
        self._ports = {}
        self._directory = None

    # ---- set-up ---------------------------------------------------------------------------------

    @property
    def directory(self):
        """A private folder under /tmp (short: ipc:// paths are limited to ~100 bytes), removed by stop()."""
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(prefix=f"chat-{self.tag[:16]}-", dir="/tmp"))
            self._directory.chmod(0o711)  # nginx's workers (www-data) must reach their temp folders inside
        return self._directory

    def endpoint(self, side, kind):
        """The ZeroMQ endpoint `kind` ("commands", "broadcasts" or "peer") of broker `side`."""
        if self.links == "ipc":
            return f"ipc://{self.directory}/broker-{side}-{kind}"
        if (side, kind) not in self._ports:
            self._ports[side, kind] = free_port()
        return f"tcp://127.0.0.1:{self._ports[side, kind]}"

    def _label(self, label):
        """`label`, or for a process started again under it `label-again`, `label-again2`, ..."""
        base = re.sub(r"-again\d*$", "", label)
        count = sum(1 for p in self.started if re.sub(r"-again\d*$", "", p.label) == base)
        return base if count == 0 else f"{base}-again{count if count > 1 else ''}"

    def _start(self, label, command, wrapper=None, env=None):
        wrapper = self.wrapper if wrapper is None else list(wrapper)
        process = Process(self._label(label), [*wrapper, *command], self.tag, env=env or self.env,
                          group=bool(wrapper))
        self.started.append(process)
        return process

    def start_broker(self, side="a", *args, wrapper=None):
        """Starts broker `side` (again, after it died or was killed) with extra `args`; returns it."""
        command = [binary("RoomBroker"), "--commands", self.endpoint(side, "commands"),
                   "--broadcasts", self.endpoint(side, "broadcasts"), *BROKER_DEFAULTS]
        if self.pair:
            other = other_side(side)
            command += ["--pair-role", "primary" if side == "a" else "backup",
                        "--peer-bind", self.endpoint(side, "peer"), "--peer", self.endpoint(other, "peer")]
        if self.insecure:
            command.append("--insecure-loopback")
        self.brokers[side] = self._start(f"broker-{side}", [*command, *self.broker_args, *args], wrapper)
        return self.brokers[side]

    def start_brokers(self, *args):
        for side in self.sides:
            self.start_broker(side, *args)

    def add_gateway(self, *args, port=None, host="127.0.0.1", name=None, ready=False, wrapper=None, admin=None):
        """Starts a gateway on host:`port` (a new free port by default) given every broker, with extra
        `args`; returns its process, whose `url` and `port` say where it listens for clients and `admin_url`
        where its admin listener (`admin`, HOST:PORT; default 127.0.0.1 and a free port) serves /status,
        /status.json and /metrics. With `ready`, it writes
        a --ready-file (`ready_file`) and this returns once it did and /healthz answers."""
        args = [str(a) for a in args]
        port = port or free_port()
        name = name or f"gateway-{len(self.gateways) + 1}"
        admin = admin or f"127.0.0.1:{free_port()}"
        links = []
        for side in self.sides:
            links += ["--broker-commands", self.endpoint(side, "commands"),
                      "--broker-broadcasts", self.endpoint(side, "broadcasts")]
        command = [binary("Gateway"), "--port", port, "--host", host, "--admin", admin, *links,
                   "--static-dir", STATIC_DIR,
                   *GATEWAY_DEFAULTS, *(["--insecure-loopback"] if self.insecure else []), *self.gateway_args, *args]
        ready_file = self.directory / f"{name}.ready" if ready else None
        if ready_file:
            ready_file.unlink(missing_ok=True)
            command += ["--ready-file", ready_file]
        process = self._start(name, command, wrapper)
        process.url = f"{'https' if '--tls-cert' in args else 'http'}://{host}:{port}"
        process.port = port
        process.admin_url = f"http://{admin}"
        process.ready_file = ready_file
        self.gateways.append(process)
        if ready_file:
            deadline = time.monotonic() + START_TIMEOUT
            while not ready_file.exists():
                for p in [*self.brokers.values(), process]:
                    assert p.poll() is None, f"{p.label} exited: see {p.log_path}"
                assert time.monotonic() < deadline, f"{name} not ready within {START_TIMEOUT} s"
                time.sleep(0.05)
            self.wait_healthy(process.url)
        return process

    def start(self, name, command, env=None, wrapper=()):
        """Starts another program (nginx, an executable set up by its environment alone) that stops with
        the cluster; no wrapper unless given."""
        process = self._start(name, command, wrapper, env)
        self.others.append(process)
        return process

    # ---- looking at it -------------------------------------------------------------------------

    @property
    def processes(self):
        """The current processes: each broker's and gateway's latest, and the other programs."""
        return [*self.brokers.values(), *self.gateways, *self.others]

    @property
    def urls(self):
        """Where the gateways listen, once each, in the order they were added."""
        return list(dict.fromkeys(g.url for g in self.gateways))

    @property
    def url(self):
        return self.gateways[0].url

    @property
    def admin_urls(self):
        """Each gateway's admin listener (/status, /status.json, /metrics), in the order they were added."""
        return [g.admin_url for g in self.gateways]

    def wait_healthy(self, url=None):
        """Waits for GET /healthz == 200 on `url` (default: every gateway's), failing if a process that
        was not stopped on purpose exits meanwhile."""
        for each in [url] if url else self.urls:
            wait_healthy(each, self.processes)

    def _process(self, which):
        return self.brokers[which] if isinstance(which, str) else which

    def log(self, which):
        """The log so far of broker `which` ("a", "b") or of the process `which`."""
        return self._process(which).log()

    def wait_log(self, which, pattern, timeout=10):
        """The joined logs of `which` (a broker side, a process, or a list of them) once /pattern/ is in
        them (the programs write their lines from a thread: it may take a moment)."""
        processes = [self._process(w) for w in (which if isinstance(which, list) else [which])]
        deadline = time.monotonic() + timeout
        while True:
            text = "".join(p.log() for p in processes)
            if re.search(pattern, text):
                return text
            if time.monotonic() > deadline:
                names = ", ".join(p.label for p in processes)
                pytest.fail(f"{names} never logged /{pattern}/ within {timeout} s:\n{text[-3000:]}")
            time.sleep(0.05)

    def active(self, timeout=3):
        """The side of the pair whose last state line says active (log lines are flushed by a thread:
        wait a moment)."""
        deadline = time.monotonic() + timeout
        while True:
            last = {}
            for side in self.sides:
                states = re.findall(r"broker (active|standby) ", self.log(side))
                last[side] = states[-1] if states else None
            actives = [side for side, state in last.items() if state == "active" and self.brokers[side].poll() is None]
            if len(actives) == 1:
                return actives[0]
            if time.monotonic() > deadline:
                pytest.fail(f"expected one active broker, got {last}")
            time.sleep(0.05)

    # ---- faults and the end --------------------------------------------------------------------

    def kill(self, process, sig=signal.SIGKILL):
        """Sends `sig` to `process` (SIGKILL by default) and waits up to 5 s for it to exit; returns its
        exit status."""
        process.stopped = True
        process.send_signal(sig)
        return process.wait(timeout=5)

    def restart(self, process):
        """Starts `process`'s command again (same label, a new log) in its place; returns the new one."""
        again = Process(self._label(process.label), process.args, self.tag, env=process.start_env,
                        group=process.signal_group)
        self.started.append(again)
        for attribute in ("url", "port", "admin_url", "ready_file"):
            if hasattr(process, attribute):
                setattr(again, attribute, getattr(process, attribute))
        for side, broker in self.brokers.items():
            if broker is process:
                self.brokers[side] = again
        for group in (self.gateways, self.others):
            if process in group:
                group[group.index(process)] = again
        return again

    def stop_process(self, process):
        """Stops one process (SIGTERM, then SIGKILL) and leaves it out of the cluster's current ones."""
        stop([process])
        for group in (self.gateways, self.others):
            if process in group:
                group.remove(process)

    def stop(self, timeout=5):
        """Stops everything it started (SIGTERM, SIGKILL after `timeout` s) and removes its folder."""
        stop([p for p in self.started if not p.log_file.closed], timeout)
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def chat_cluster(tag, *, shared_port=True, pair=False, broker_args=(), gateway_args=()):
    """A started, healthy cluster: a broker (or with `pair` a broker pair, its standby in sync) with
    `broker_args`, and two gateways on one shared port (SO_REUSEPORT) or on two ports, each allowing
    the origin of every port, with `gateway_args`. Stopped as a context manager."""
    ports = [free_port()] if shared_port else [free_port(), free_port()]
    origins = [arg for port in ports for arg in ("--allowed-origin", f"http://127.0.0.1:{port}")]
    cluster = Cluster(tag, pair=pair, broker_args=broker_args, gateway_args=[*origins, *gateway_args])
    try:
        cluster.start_brokers()
        for port in (ports * 2)[:2]:
            cluster.add_gateway(port=port)
        cluster.wait_healthy()
        if pair:
            cluster.wait_log("a", r"standby-in-sync", 5)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@dataclass
class ExternalServer:
    """The server at CHAT_URL, as the fixtures give it: `url` is where clients connect, `urls` one URL
    per gateway port (the same one twice for the two-port fixture)."""
    urls: list

    @property
    def url(self):
        return self.urls[0]
