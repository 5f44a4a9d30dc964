"""Fixtures that run the real chat server (one RoomBroker + two Gateways) for the tests; the builder
and helpers they use are in support/ (support/__init__.py lists them).

Environment:
  CHAT_URL      use an already running server (e.g. http://127.0.0.1:8765) instead of
                starting processes; both fixtures then return that one URL.
  CHAT_BIN_DIR  where RoomBroker and Gateway live (default <repo>/.build/debug).
  CHAT_START_TIMEOUT  seconds to wait for GET /healthz == 200 (default 20).

Process output goes to <repo>/test-output/logs/.
"""
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
