"""What the Python tests share, so that each test file says only what it checks.

- `processes`: the repository's paths, the executables (CHAT_BIN_DIR), free ports, a started program
  with its log in test-output/logs/, stopping, health and polling waits.
- `cluster`: `Cluster`, the one builder of brokers (one, or an active/standby pair) and gateways, with
  extra arguments, an environment and a wrapper (faketime, `ip netns exec`); `chat_cluster` for the
  usual started-and-healthy one; `ExternalServer` for CHAT_URL.
- `clients`: the python-socketio `Member` and what tests do with it (create, join, errors, retried sends),
  rooms made over HTTP, unique names.
- `scripts_run`: `RunScript`, scripts/run as a user starts it, its output read line by line.
- `browser`: headless Chromium and the chat page's elements.
- `tls`: a test certificate, connections from a chosen loopback address, raw WebSocket upgrades.
- `netns`: Linux network namespaces as hosts (the multi-host test).
"""
