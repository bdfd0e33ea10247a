"""Which tools a session offers, from config (spec agent-core 4.1 with this project's choices).

MCP servers from `[mcp_servers]` start in parallel; their tools join as `mcp__<server>__<tool>`, and a server that
fails to start becomes a startup warning. Direct tools: `exec_command` + `write_stdin` (unified exec; with
`features.unified_exec = false`, `shell_command` instead), `apply_patch`, `update_plan`, `view_image`; the argv
`shell` tool is registered but not offered (any of these names works when a model calls it).
`shell_snapshot` (default true): both shell tools run login commands against one `ShellSnapshot` of the user's
shell per session (`exec/shell_snapshot.py`), captured once the first model request has gone out (or one lent by
`codex-actors batch`, shared by its jobs of the same cwd and environment).
`features.code_mode` (default true) offers code mode's `exec`/`wait` beside the direct tools;
`features.code_mode_only` offers only `exec`/`wait`, every other tool reachable as `tools.*` from a cell.
On the Chat Completions wire apply_patch is the JSON-function variant (that wire has no freeform tools).
"""

from __future__ import annotations

import os
from typing import Any, Awaitable, Callable

import trio

from codex_actors.actors import start_actor

from codex_actors.config import Config
from codex_actors.exec.environment import build_env
from codex_actors.exec.policy import SandboxPolicy
from codex_actors.exec.shell_snapshot import SNAPSHOT_DIR, ShellSnapshot
from codex_actors.codemode import DEFAULT_MAX_HEAP_BYTES, CodeModeService, NestedToolSpec
from codex_actors.tools.apply_patch_tool import ApplyPatchTool
from codex_actors.tools.code_mode_host import ExecTool, WaitTool, make_dispatcher, nested_tool_specs
from codex_actors.tools.approvals.rules import ExecPolicy
from codex_actors.tools.command_approval import GuardedShellTool
from codex_actors.tools.exec_policy_files import load_exec_policy, rules_dirs
from codex_actors.tools.plan import UpdatePlanTool
from codex_actors.tools.router import ToolCall, ToolContext, ToolHandler, ToolResult, ToolRouter
from codex_actors.tools.services import SessionServices
from codex_actors.tools.shell import ShellTool
from codex_actors.tools.shell_command import ShellCommandTool
from codex_actors.tools.unified_exec import UNIFIED_EXEC_ENV, UnifiedExec
from codex_actors.tools.unified_exec_handlers import ExecCommandTool, WriteStdinTool
from codex_actors.tools.view_image import ViewImageTool


async def build_router(config: Config, wire_api: str, nursery: trio.Nursery, services: SessionServices, *,
                       runtime_pool: Any = None, shell_snapshots: Any = None) -> ToolRouter:
    """Start the tool-owned services in `nursery` (setting them on `services`, whose `aclose` the session calls)
    and return the router for this session. `runtime_pool`: a running code-mode `RuntimePool` shared by many
    sessions (`codex-actors batch`) instead of one warmed per session; `shell_snapshots`: likewise, an owner of
    shell snapshots shared by many sessions (`batch/snapshots.py`: `await get(shell, directory=, cwd=, env=)`)
    instead of one captured per session."""
    policy = SandboxPolicy.from_json(services.settings.sandbox_policy)
    env = build_env(config.get("shell_environment_policy"), os.environ)
    rules, rule_warnings = (ExecPolicy(), []) if config.get("ignore_rules") else load_exec_policy(rules_dirs(config))
    services.exec_policy = rules
    services.exec_policy_home = config.home
    services.startup_warnings.extend(rule_warnings)
    shell = os.environ.get("SHELL") or "/bin/bash"
    snapshot = None
    if config.get("shell_snapshot", True):
        snapshot_env = {**env, **UNIFIED_EXEC_ENV}
        if shell_snapshots is not None:
            snapshot = await shell_snapshots.get(shell, directory=config.home / SNAPSHOT_DIR, cwd=str(config.cwd),
                                                 env=snapshot_env)
        else:
            snapshot = ShellSnapshot(shell, directory=config.home / SNAPSHOT_DIR, session_id=services.session_id,
                                     cwd=str(config.cwd), env=snapshot_env)
            await nursery.start(snapshot.run)
        services.shell_snapshot = snapshot
        services.after_first_request.append(snapshot.begin)
    token_limit = config.get("tool_output_token_limit")
    processes = UnifiedExec(nursery, policy=policy, env=env, default_shell=shell, snapshot=snapshot,
                            allow_login_shell=config.get("allow_login_shell", True),
                            background_terminal_max_timeout_ms=config.get("background_terminal_max_timeout", 300000),
                            output_token_limit=token_limit)
    services.processes = processes
    shell_tool = ShellTool(policy=policy, env=env, snapshot=snapshot,
                           max_output_tokens=min(token_limit or 10_000, 10_000))
    shell_command = GuardedShellTool(ShellCommandTool(shell_tool,
                                                      allow_login_shell=config.get("allow_login_shell", True)))
    unified = config.get("features.unified_exec", True)
    handlers: list[ToolHandler] = [
        GuardedShellTool(ExecCommandTool(processes)),
        WriteStdinTool(processes),
        ApplyPatchTool(freeform=wire_api == "responses"),
        UpdatePlanTool(),
        ViewImageTool(),
        GuardedShellTool(shell_tool),
    ]
    if not unified:  # registered only then, so that code mode's tool list stays as it was by default
        handlers.append(shell_command)
    servers = config.get("mcp_servers") or {}
    if servers:
        # Imported only when configured: the MCP SDK costs about a second of start-up.
        from codex_actors.mcp import ListMcpTools, McpManager
        from codex_actors.tools.mcp import mcp_tool_handlers
        from codex_actors.tools.mcp_resources import mcp_resource_tools

        manager = await start_actor(nursery, McpManager(servers, cwd=str(config.cwd)))
        services.mcp = manager
        listing = await manager.ask(ListMcpTools())
        services.startup_warnings.extend(listing.warnings)
        services.mcp_startup = (listing.ready, listing.failed)
        handlers += mcp_tool_handlers(listing)
        handlers += mcp_resource_tools(listing.connections)
    web_search = config.get("web_search", "cached")

    def server_tools(sandbox_mode: str | None) -> tuple[dict[str, Any], ...]:
        return web_search_tools(web_search, wire_api, sandbox_mode)

    if config.origins.get("web_search", "default") != "default" and web_search != "disabled" \
            and wire_api != "responses":
        services.startup_warnings.append(
            f"web_search = \"{config.get('web_search')}\" needs the Responses wire; the chat wire of provider "
            f"{config.get('model_provider')!r} has no built-in web search, so none is offered")
    # One family of shell tools is offered: unified exec, or shell_command without it; the others still answer.
    hidden = {"shell"} if unified else {"shell", "exec_command", "write_stdin"}
    code_mode_only = bool(config.get("features.code_mode_only"))
    if code_mode_only or config.get("features.code_mode"):
        router_holder: list[ToolRouter] = []
        service = CodeModeService(
            make_dispatcher(lambda: router_holder[0], services.tool_context),
            notifier=services.notify_from_cell,
            max_heap_bytes=config.get("code_mode.max_heap_bytes", DEFAULT_MAX_HEAP_BYTES),
            pool_size=config.get("code_mode.pool_size", 2),
            pool=runtime_pool,
        )
        services.code_mode = service
        # The runtime pool (threads, V8 isolates) starts once the first request is out, or at the first exec.
        start_code_mode = StartOnce(lambda: nursery.start(service.run))
        services.after_first_request.append(start_code_mode)
        nested: list[NestedToolSpec] = []
        if code_mode_only:
            hidden |= {h.name for h in handlers}
        handlers += [StartsFirst(ExecTool(lambda: service, lambda: nested, code_mode_only=code_mode_only),
                                 start_code_mode),
                     StartsFirst(WaitTool(lambda: service), start_code_mode)]
        router = ToolRouter(handlers, hidden=frozenset(hidden), server_tools=server_tools)
        router_holder.append(router)
        nested.extend(nested_tool_specs(router))
        service.prepare(nested)  # warm runtimes come pre-configured for this tool set
        return router
    return ToolRouter(handlers, hidden=frozenset(hidden), server_tools=server_tools)


class StartOnce:
    """`await once()` runs `start()` the first time; later and concurrent callers wait for that one run."""

    def __init__(self, start: Callable[[], Awaitable[Any]]) -> None:
        self._start = start
        self._begun = False
        self._done = trio.Event()

    async def __call__(self) -> None:
        if self._begun:
            await self._done.wait()
            return
        self._begun = True
        try:
            await self._start()
        finally:
            self._done.set()


class StartsFirst:
    """A handler that awaits `start` (a `StartOnce`) before its first call; otherwise it is `handler`."""

    def __init__(self, handler: ToolHandler, start: StartOnce) -> None:
        self._handler = handler
        self._start = start
        self.name, self.kind, self.parallel = handler.name, handler.kind, handler.parallel

    def spec(self) -> dict[str, Any]:
        return self._handler.spec()

    async def handle(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        await self._start()
        return await self._handler.handle(call, ctx)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handler, name)


def web_search_tools(mode: str | None, wire_api: str, sandbox_mode: str | None = None) -> tuple[dict[str, Any], ...]:
    """The Responses built-in web search for config `web_search` (spec agent-core 4.9; default "cached", as
    Codex 0.169 sends it): "live" may fetch pages (`external_web_access: true`), "cached" reads the provider's
    index only; under `danger-full-access` any mode but "disabled" is live (codex-rs
    `resolve_web_search_mode_for_turn`, observed with 0.169 even for an explicit "cached"). "disabled" and the
    chat wire (which has no built-in tools) offer none."""
    mode = mode or "cached"
    if wire_api != "responses" or mode == "disabled":
        return ()
    live = mode == "live" or sandbox_mode == "danger-full-access"
    return ({"type": "web_search", "external_web_access": live},)
