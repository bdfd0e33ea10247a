"""`codex-actors app-server`: Codex's embedding protocol (JSON-RPC 2.0, v2 threads / turns / items) over stdio or
a WebSocket, so the official SDKs and IDE extensions drive codex-actors unchanged.

Layers: `jsonrpc` (framing, sans I/O) -> `shapes` + `translate` (v2 shapes, events to notifications, sans I/O)
-> `methods` (the v2 method table) -> `connection` (one client) -> `server` (stdio / ws listeners).
"""
