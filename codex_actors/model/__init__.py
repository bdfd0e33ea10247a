"""Model client: Responses API over SSE and WebSocket, the Chat Completions wire, retries (spec agent-core 2.3,
2.5, 3).

Layering inside this package, bottom up: `events` (typed response events, errors), `provider` (config tables,
import-light), `prompt` (request bodies), `sse` / `chat` (pure stream parsing), `responses_http` /
`responses_ws` (thin trio drivers), `client` (the `ModelClient`: transport choice, retries, exactly-once items).

Import from the submodules; this file stays import-light so `codex_actors.model.provider` can be read by config
without loading httpx or trio.
"""

from codex_actors.model.lean_httpx import block_cli_import

block_cli_import()  # before any submodule imports httpx (see lean_httpx.py)
