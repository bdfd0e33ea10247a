"""Which tools a session offers, from config (spec agent-core 4.1 with this project's choices).

`features.code_mode` (default true) offers code mode's `exec`/`wait` beside the direct tools;
`features.code_mode_only` offers only `exec`/`wait`, with every other tool reachable as `tools.*` from a cell.
On the Chat Completions wire apply_patch is the JSON-function variant (that wire has no freeform tools).
"""

from __future__ import annotations

from typing import Any

import trio

from codex_actors.config import Config
from codex_actors.tools.apply_patch_tool import ApplyPatchTool
from codex_actors.tools.plan import UpdatePlanTool
from codex_actors.tools.router import ToolHandler, ToolRouter
from codex_actors.tools.view_image import ViewImageTool


def direct_tools(wire_api: str) -> list[ToolHandler]:
    """The built-in tools every session has, before code mode and MCP."""
    return [
        ApplyPatchTool(freeform=wire_api == "responses"),
        UpdatePlanTool(),
        ViewImageTool(),
    ]


async def build_router(config: Config, wire_api: str, nursery: trio.Nursery, services: dict[str, Any]) -> ToolRouter:
    """Start the tool-owned actors in `nursery` (registering them in `services`) and return the router."""
    handlers = direct_tools(wire_api)
    return ToolRouter(handlers)
