"""Linux network namespaces for the multi-host test: one namespace per host, each joined by a veth pair to
a bridge in the root namespace, on a private /24 (10.77.<n>.0/24) that only they use.

The root namespace holds the bridge's address (.1), where the test's clients come from; the hosts get
.11, .12, ... and no route beyond the bridge, so traffic stays between the test's own namespaces and
the root namespace's bridge address. Everything is named `cmh<pid of the test run>...` (namespaces
`cmh<pid>-<key>`, the bridge `cmh<pid>br`, the root ends of the veth pairs `cmh<pid><key>`), so two runs
never collide and a leftover of a killed run (its pid gone) is removed by the next run's start.
Needs root and iproute2's `ip`.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

PREFIX = "cmh"  # chat multi-host
SUBNET_PREFIX = "10.77"
INTERFACE = "eth0"  # the host's end of its veth pair, inside its namespace
_OWNED = re.compile(rf"^{PREFIX}(\d+)")


def _ip(*args, check=True):
    """Runs `ip ARGS` (bounded); raises with ip's own message when it fails and `check` is set."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if check and result.returncode != 0:
        raise RuntimeError(f"`ip {' '.join(args)}` failed ({result.returncode}): {result.stderr.strip()}")
    return result


def unavailable_reason():
    """Why namespaces cannot be made here (None when they can): not Linux, not root, no `ip`, or the
    kernel or sandbox refuses `ip netns add`."""
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "needs root to create network namespaces (`ip netns add`); CI runs as root"
    if shutil.which("ip") is None:
        return "needs `ip` from iproute2 (apt-get install iproute2)"
    probe = f"{PREFIX}{os.getpid()}-probe"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` is refused here: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def _run_alive(run_id):
    return int(run_id) == os.getpid() or os.path.exists(f"/proc/{run_id}")


def _kill_namespace_processes(netns):
    """SIGKILLs every process still inside `netns` (servers of a killed run) and waits for them to go."""
    pids = [int(p) for p in _ip("netns", "pids", netns, check=False).stdout.split()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if os.path.exists(f"/proc/{p}")]
        time.sleep(0.05)


def namespaces():
    """Names of the network namespaces that exist (`ip netns list`)."""
    return [line.split()[0] for line in _ip("netns", "list").stdout.splitlines() if line.strip()]


def links():
    """Names of the network interfaces of the root namespace."""
    return [line.split(": ")[1].split("@")[0] for line in _ip("-o", "link", "show").stdout.splitlines()]


def clean_leftovers(log=print):
    """Removes the namespaces and interfaces of runs whose process is gone (a run killed before its
    clean-up), with the processes still inside them."""
    for netns in namespaces():
        match = _OWNED.match(netns)
        if match and not _run_alive(match.group(1)):
            log(f"removing namespace {netns} left by a killed run")
            _kill_namespace_processes(netns)
            _ip("netns", "del", netns, check=False)
    for link in links():
        match = _OWNED.match(link)
        if match and not _run_alive(match.group(1)):
            log(f"removing interface {link} left by a killed run")
            _ip("link", "del", link, check=False)


def _free_subnet():
    """The third byte of a 10.77.<n>.0/24 that no address or route of the root namespace uses."""
    used = _ip("-4", "-o", "addr", "show").stdout + _ip("-4", "route", "show", "table", "all").stdout
    start = os.getpid() % 200 + 20
    for n in [(start + i) % 254 + 1 for i in range(254)]:
        if f"{SUBNET_PREFIX}.{n}." not in used:
            return n
    raise RuntimeError(f"every {SUBNET_PREFIX}.<n>.0/24 is in use in the root namespace")


def _write_sysctl(netns, path, value):
    """Best effort: writes `value` to /proc/sys/`path` inside `netns` (None: the root namespace)."""
    command = ["sh", "-c", f"echo {value} > /proc/sys/{path}"]
    if netns is not None:
        command = ["ip", "netns", "exec", netns, *command]
    subprocess.run(command, capture_output=True, timeout=20)


@dataclass
class Host:
    """One machine of the test: a namespace with one interface (`INTERFACE`) at `address`."""
    key: str       # short name, part of interface names (2 characters)
    netns: str
    address: str
    root_link: str  # the veth end in the root namespace, a port of the bridge

    def command(self, *args):
        """`args` as a command line that runs inside this host's namespace."""
        return ["ip", "netns", "exec", self.netns, *args]


class Network:
    """A bridge and one namespace per key of `keys`; `create()` makes them, `remove()` removes them
    (also after a failure half-way). Use as a context manager."""

    def __init__(self, keys, log=print):
        self.log = log
        self.run_id = f"{PREFIX}{os.getpid()}"
        self.bridge = f"{self.run_id}br"
        self.keys = list(keys)
        self.hosts = {}
        self.subnet = None
        self.blocked = set()  # frozensets of two keys: the pairs of hosts cut from each other (`block`)

    @property
    def gateway_address(self):
        """The root namespace's address on the bridge: where the test's clients come from."""
        return f"{SUBNET_PREFIX}.{self.subnet}.1"

    def __enter__(self):
        try:
            self.create()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc):
        self.remove()

    def create(self):
        clean_leftovers(self.log)
        self.subnet = _free_subnet()
        self.log(f"network {SUBNET_PREFIX}.{self.subnet}.0/24 on bridge {self.bridge}")
        _ip("link", "add", "name", self.bridge, "type", "bridge", "forward_delay", "0")
        _write_sysctl(None, f"net/ipv6/conf/{self.bridge}/disable_ipv6", 1)
        _ip("addr", "add", f"{self.gateway_address}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for number, key in enumerate(self.keys, start=11):
            host = Host(key=key, netns=f"{self.run_id}-{key}", address=f"{SUBNET_PREFIX}.{self.subnet}.{number}",
                        root_link=f"{self.run_id}{key}")
            self.hosts[key] = host
            _ip("netns", "add", host.netns)
            for scope in ("all", "default"):
                _write_sysctl(host.netns, f"net/ipv6/conf/{scope}/disable_ipv6", 1)
            _ip("link", "add", host.root_link, "type", "veth", "peer", "name", INTERFACE, "netns", host.netns)
            _write_sysctl(None, f"net/ipv6/conf/{host.root_link}/disable_ipv6", 1)
            _ip("link", "set", host.root_link, "master", self.bridge, "up")
            _ip("-n", host.netns, "addr", "add", f"{host.address}/24", "dev", INTERFACE)
            _ip("-n", host.netns, "link", "set", INTERFACE, "up")
            _ip("-n", host.netns, "link", "set", "lo", "up")
            self.log(f"host {key}: namespace {host.netns}, {host.address}")

    def cut(self, key):
        """Takes the host's only interface down: it reaches nobody and nobody reaches it."""
        _ip("-n", self.hosts[key].netns, "link", "set", INTERFACE, "down")

    def restore(self, key):
        _ip("-n", self.hosts[key].netns, "link", "set", INTERFACE, "up")

    def block(self, a, b):
        """Cuts the traffic between hosts `a` and `b` only, both ways: each gets a blackhole route to the
        other's address (what it sends there is dropped at once, so nothing of theirs gets through);
        every other pair of hosts, and the root namespace, still reach both."""
        for here, there in ((a, b), (b, a)):
            _ip("-n", self.hosts[here].netns, "route", "add", "blackhole", f"{self.hosts[there].address}/32")
        self.blocked.add(frozenset((a, b)))

    def unblock(self, a, b):
        """Undoes `block(a, b)` (and does nothing for a pair that is not blocked)."""
        for here, there in ((a, b), (b, a)):
            _ip("-n", self.hosts[here].netns, "route", "del", "blackhole", f"{self.hosts[there].address}/32", check=False)
        self.blocked.discard(frozenset((a, b)))

    def unblock_all(self):
        for pair in list(self.blocked):
            self.unblock(*pair)

    def remove(self):
        """Removes the namespaces (with any process still inside) and the bridge; the veth pairs go
        with their namespaces."""
        existing = set(namespaces())
        for key in self.keys:
            netns = f"{self.run_id}-{key}"
            if netns in existing:
                _kill_namespace_processes(netns)
                _ip("netns", "del", netns, check=False)
        for link in links():
            match = _OWNED.match(link)
            if match and match.group(1) == str(os.getpid()):
                _ip("link", "del", link, check=False)
        self.log(f"removed the namespaces and bridge of {self.run_id}")
