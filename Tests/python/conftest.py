"""Fixtures that run the real chat server (one RoomBroker + two Gateways) for the tests; the builder
and helpers they use are in support/ (support/__init__.py lists them).

Environment:
  CHAT_URL      use an already running server (e.g. http://127.0.0.1:8765) instead of
                starting processes; both fixtures then return that one URL.
  CHAT_BIN_DIR  where RoomBroker and Gateway live (default <repo>/.build/debug).
  CHAT_START_TIMEOUT  seconds to wait for GET /healthz == 200 (default 20).
  CI            set (not empty, 0 or false; .ci/run sets CI=1): a test that skips fails instead, with its
                reason, so that a missing prerequisite (root, faketime, nginx, Chromium) cannot pass quietly.

Process output goes to <repo>/test-output/logs/.
"""
import os

import pytest

from support.cluster import ExternalServer, chat_cluster
from support.processes import SCREENSHOT_DIR, external_url


@pytest.fixture(scope="session")
def chat_server():
    """One broker and two gateways sharing one port."""
    if url := external_url():
        yield ExternalServer(urls=[url])
        return
    with chat_cluster("shared-port") as server:
        yield server


@pytest.fixture(scope="session")
def chat_server_two_ports():
    """One broker and two gateways on two different ports (urls[0], urls[1])."""
    if url := external_url():
        yield ExternalServer(urls=[url, url])
        return
    with chat_cluster("two-ports", shared_port=False) as server:
        yield server


@pytest.fixture(scope="session")
def screenshot_dir():
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR


def _ci():
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI, a skipped test (a skip mark, pytest.skip, a skipping fixture) is reported as failed."""
    outcome = yield
    report = outcome.get_result()
    if _ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI (CI={os.environ['CI']}), which counts as a failure: {reason}"


def pytest_collectreport(report):
    """Under CI, a module that skips itself while being collected fails too."""
    if _ci() and report.skipped:
        report.outcome = "failed"
