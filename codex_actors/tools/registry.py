"""Which tools a session offers, from config (spec agent-core 4.1 with this project's choices).

MCP servers from `[mcp_servers]` start in parallel; their tools join as `mcp__<server>__<tool>`, and a server that
fails to start becomes a startup warning. Direct tools: `exec_command` + `write_stdin` (unified exec), `apply_patch`, `update_plan`, `view_image`; the
argv `shell` tool is registered but not offered (any of these names works when a model calls it).
`features.code_mode` (default true) offers code mode's `exec`/`wait` beside the direct tools;
`features.code_mode_only` offers only `exec`/`wait`, every other tool reachable as `tools.*` from a cell.
On the Chat Completions wire apply_patch is the JSON-function variant (that wire has no freeform tools).
"""

from __future__ import annotations

import os
from typing import Any

import trio

from codex_actors.actors import start_actor

from codex_actors.config import Config
from codex_actors.exec.environment import build_env
from codex_actors.exec.policy import SandboxPolicy
from codex_actors.codemode import DEFAULT_MAX_HEAP_BYTES, CodeModeService, NestedToolSpec
from codex_actors.tools.apply_patch_tool import ApplyPatchTool
from codex_actors.tools.code_mode_host import ExecTool, WaitTool, make_dispatcher, nested_tool_specs
from codex_actors.tools.approvals.rules import ExecPolicy
from codex_actors.tools.command_approval import GuardedShellTool
from codex_actors.tools.exec_policy_files import load_exec_policy, rules_dirs
from codex_actors.tools.plan import UpdatePlanTool
from codex_actors.tools.router import ToolHandler, ToolRouter
from codex_actors.tools.shell import ShellTool
from codex_actors.tools.unified_exec import ExecCommandTool, UnifiedExec, WriteStdinTool
from codex_actors.tools.view_image import ViewImageTool


async def build_router(config: Config, wire_api: str, nursery: trio.Nursery, services: dict[str, Any], *,
                       runtime_pool: Any = None) -> ToolRouter:
    """Start the tool-owned services in `nursery` (registering them in `services`, so the session stops them)
    and return the router for this session. `runtime_pool`: a running code-mode `RuntimePool` shared by many
    sessions (`codex-actors batch`) instead of one warmed per session."""
    policy = SandboxPolicy.from_json(services["settings"].sandbox_policy)
    env = build_env(config.get("shell_environment_policy"), os.environ)
    rules, rule_warnings = (ExecPolicy(), []) if config.get("ignore_rules") else load_exec_policy(rules_dirs(config))
    services["exec_policy"] = rules
    services["exec_policy_home"] = config.home
    services.setdefault("startup_warnings", []).extend(rule_warnings)
    processes = UnifiedExec(nursery, policy=policy, env=env,
                            background_terminal_max_timeout_ms=config.get("background_terminal_max_timeout", 300000))
    services["processes"] = processes
    handlers: list[ToolHandler] = [
        GuardedShellTool(ExecCommandTool(processes)),
        WriteStdinTool(processes),
        ApplyPatchTool(freeform=wire_api == "responses"),
        UpdatePlanTool(),
        ViewImageTool(),
        GuardedShellTool(ShellTool(policy=policy, env=env)),
    ]
    servers = config.get("mcp_servers") or {}
    if servers:
        # Imported only when configured: the MCP SDK costs about a second of start-up.
        from codex_actors.mcp import ListMcpTools, McpManager
        from codex_actors.tools.mcp import mcp_tool_handlers

        manager = await start_actor(nursery, McpManager(servers, cwd=str(config.cwd)))
        services["mcp"] = manager
        listing = await manager.ask(ListMcpTools())
        services.setdefault("startup_warnings", []).extend(listing.warnings)
        services["mcp_startup"] = (listing.ready, listing.failed)
        handlers += mcp_tool_handlers(listing)
    hidden = {"shell"}
    code_mode_only = bool(config.get("features.code_mode_only"))
    if code_mode_only or config.get("features.code_mode"):
        router_holder: list[ToolRouter] = []
        service = CodeModeService(
            make_dispatcher(lambda: router_holder[0], services["tool_context"]),
            notifier=services["notify_from_cell"],
            max_heap_bytes=config.get("code_mode.max_heap_bytes", DEFAULT_MAX_HEAP_BYTES),
            pool_size=config.get("code_mode.pool_size", 2),
            pool=runtime_pool,
        )
        await nursery.start(service.run)
        services["code_mode"] = service
        nested: list[NestedToolSpec] = []
        if code_mode_only:
            hidden |= {h.name for h in handlers}
        handlers += [ExecTool(lambda: service, lambda: nested, code_mode_only=code_mode_only),
                     WaitTool(lambda: service)]
        router = ToolRouter(handlers, hidden=frozenset(hidden))
        router_holder.append(router)
        nested.extend(nested_tool_specs(router))
        return router
    return ToolRouter(handlers, hidden=frozenset(hidden))
