"""Assemble a working session from the resolved config: model client, tools, rollout, resume, notify.

This is what the CLI (`exec`, `run`) and embedders call; it sits above `session/`, `tools/` and the model client
and is the only place that knows how config keys map onto them.
"""

from __future__ import annotations

import functools
import subprocess
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import attrs
import trio

from codex_actors.actors import start_actor
from codex_actors.config import Config, ConfigError
from codex_actors.exec.policy import SandboxPolicy
from codex_actors.model.client import ModelClient
from codex_actors.model.provider import ProviderError, ProviderInfo
from codex_actors.protocol import items
from codex_actors.session.instructions import BASE_INSTRUCTIONS
from codex_actors.session.persistence import (
    HistoryLog,
    RolloutRecorder,
    load_user_instructions,
    notify_payload,
    read_rollout,
    spawn_notify,
)
from codex_actors.session.recording import RolloutSink
from codex_actors.session.session import SessionHandle, open_session
from codex_actors.session.settings import SessionSettings
from codex_actors.tools.approvals.policy import approval_policy_from_config
from codex_actors.tools.registry import build_router

CLI_VERSION = "0.1.0"


@attrs.frozen
class RunOptions:
    """Per-invocation choices that are not config keys.

    `ephemeral`: write no rollout. `resume`: path of a rollout to continue. `output_schema`: JSON schema for the
    final answer. `originator`: "codex_exec" or "codex_cli_py" (rollout session_meta, request header).
    `add_dirs`: extra writable roots (`--add-dir`). `thread_source`: `--thread-source`, recorded in the rollout's
    session_meta as `thread_source`. `fork_from`: path of a rollout whose history a new thread (new id, new
    rollout) starts from; `forked_from_id` is then recorded in its session_meta. `base_instructions`: replaces the
    built-in base instructions (and `model_instructions_file`)."""

    ephemeral: bool = False
    resume: Path | None = None
    fork_from: Path | None = None
    base_instructions: str | None = None
    output_schema: dict[str, Any] | None = None
    originator: str = "codex_exec"
    source: str = "exec"
    add_dirs: tuple[str, ...] = ()
    thread_source: str | None = None


@attrs.frozen
class SharedResources:
    """What the sessions of one process may share (`codex-actors batch`): `http`, an open `httpx.AsyncClient`
    whose connection pool every model client uses; `runtime_pool`, a running code-mode `RuntimePool` handing out
    V8 runtimes; `shell_snapshots`, a `batch.snapshots.SharedShellSnapshots` handing out shell snapshots. Their
    owner opens and closes them; a session never does. None fields: the session's own."""

    http: Any = None
    runtime_pool: Any = None
    shell_snapshots: Any = None


def sandbox_policy(config: Config, add_dirs: tuple[str, ...] = ()) -> SandboxPolicy:
    """The SandboxPolicy of `sandbox_mode` + `[sandbox_workspace_write]` (+ `--add-dir` roots, made absolute)."""
    table = dict(config.get("sandbox_workspace_write", {}) or {})
    roots = [str((config.cwd / d).resolve()) for d in (*table.get("writable_roots", []), *add_dirs)]
    table["writable_roots"] = roots
    try:
        return SandboxPolicy.from_config(config.get("sandbox_mode"), table)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def provider_info(config: Config) -> ProviderInfo:
    """The ProviderInfo of the configured `model_provider` (its table already checked by the config schema),
    with the API key of Codex's auth.json as a fallback. Raises ConfigError for an unknown provider or an
    unreadable auth.json."""
    from codex_actors.config.codex_auth import stored_api_key

    provider_id = config.get("model_provider")
    return ProviderInfo.from_table(provider_id, config.provider(provider_id),
                                   stored_api_key=stored_api_key(config.codex_home))


def session_settings(config: Config, options: RunOptions) -> SessionSettings:
    """SessionSettings from config keys (see spec agent-core 7.3 for their meaning)."""
    instructions = BASE_INSTRUCTIONS
    instructions_file = config.get("model_instructions_file")
    if options.base_instructions is not None:
        instructions = options.base_instructions
    elif instructions_file:
        try:
            instructions = Path(instructions_file).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"model_instructions_file: cannot read {instructions_file}: {exc.strerror}") from None
    reasoning = None
    effort, summary = config.get("model_reasoning_effort"), config.get("model_reasoning_summary")
    if effort or summary:
        reasoning = {k: v for k, v in (("effort", effort), ("summary", summary)) if v and v != "none"}
    user_instructions = load_user_instructions(
        config.home, config.cwd,
        config_instructions=config.get("instructions"),
        project_doc_max_bytes=config.get("project_doc_max_bytes", 32768),
        project_root_markers=config.get("project_root_markers", [".git"]),
        project_doc_fallback_filenames=config.get("project_doc_fallback_filenames", []),
        fallback_home=config.codex_home,
    )
    return SessionSettings(
        cwd=str(config.cwd),
        model=config.get("model"),
        provider_id=config.get("model_provider"),
        approval_policy=approval_policy_from_config(config.get("approval_policy")),
        sandbox_policy=sandbox_policy(config, options.add_dirs).to_json(),
        instructions=instructions,
        developer_instructions=config.get("developer_instructions"),
        user_instructions=user_instructions,
        reasoning=reasoning,
        context_window=config.get("model_context_window"),
        auto_compact_limit=config.get("model_auto_compact_token_limit"),
        max_tool_calls_per_turn=config.get("max_tool_calls_per_turn", 200),
        output_schema=options.output_schema,
        originator=options.originator,
        notify=tuple(config.get("notify") or ()),
        verbosity=config.get("model_verbosity"),
    )


def _git_info(cwd: str) -> dict[str, str] | None:
    """The rollout's `git` block: HEAD's commit hash and branch, from one `git rev-parse` (blocking, at most 2 s:
    call it from a worker thread); None outside a repository or without a commit."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD", "--abbrev-ref", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, timeout=2)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.split()
    if done.returncode != 0 or len(lines) != 2:
        return None
    return {"commit_hash": lines[0], "branch": lines[1]}


@asynccontextmanager
async def open_configured_session(config: Config, options: RunOptions = RunOptions(),
                                  shared: SharedResources = SharedResources()) -> AsyncIterator[SessionHandle]:
    """A running session for `config`: tools per `features.*`, rollout unless ephemeral, resume if asked;
    `shared` lends it a process-wide HTTP client and code-mode runtime pool.

    Raises ConfigError for config problems (bad provider, missing API key: the message names the variable)
    and RolloutError-derived ValueErrors for an unreadable rollout."""
    provider = provider_info(config)
    try:
        provider.api_key()
    except ProviderError as exc:
        raise ConfigError(str(exc)) from None
    settings = session_settings(config, options)
    session_id = None
    initial_history: list[items.ResponseItem] | None = None
    if options.resume is not None:
        resumed = read_rollout(options.resume)
        session_id = resumed.thread_id
        initial_history = [items.item_from_json(i) for i in resumed.history if _known_item(i)]
    forked_from = None
    if options.fork_from is not None:
        source = await trio.to_thread.run_sync(read_rollout, options.fork_from)
        forked_from = source.thread_id
        initial_history = [items.item_from_json(i) for i in source.history if _known_item(i)]

    headers = {"originator": options.originator}

    def open_client(notify):
        return ModelClient.open(provider, settings.model, notify=notify, http=shared.http,
                                extra_headers={**headers, **({"session_id": session_id} if session_id else {})})

    async with trio.open_nursery() as nursery:
        recorder = None
        resolved_id = session_id or _new_thread_id()
        if not options.ephemeral:
            meta = {"cwd": settings.cwd, "originator": options.originator, "cli_version": CLI_VERSION,
                    "source": options.source, "model_provider": settings.provider_id,
                    "base_instructions": {"text": settings.instructions}}
            if options.thread_source is not None:
                meta["thread_source"] = options.thread_source
            if forked_from is not None:
                meta["forked_from_id"] = forked_from
            git = await trio.to_thread.run_sync(_git_info, settings.cwd)
            if git:
                meta["git"] = git
            rollout = RolloutRecorder(home=config.home, thread_id=resolved_id, session_meta=meta,
                                      resume_path=options.resume)
            recorder = RolloutSink(await start_actor(nursery, rollout), rollout.path)

        on_turn_complete = None
        if settings.notify:
            async def on_turn_complete(info: dict[str, Any]) -> None:
                payload = notify_payload(thread_id=info["thread-id"], turn_id=info["turn-id"], cwd=info["cwd"],
                                         input_messages=info["input-messages"],
                                         last_assistant_message=info["last-assistant-message"])
                try:
                    await spawn_notify(nursery, settings.notify, payload)
                except OSError:
                    pass  # a missing notifier must not fail the turn

        build_tools = functools.partial(build_router, config, provider.wire_api, runtime_pool=shared.runtime_pool,
                                        shell_snapshots=shared.shell_snapshots)
        prompt_history = HistoryLog(config.home, persistence=config.get("history.persistence", "save-all"),
                                    max_bytes=config.get("history.max_bytes") or None)
        async with open_session(settings, open_client=open_client, build_tools=build_tools, recorder=recorder,
                                session_id=resolved_id, initial_history=initial_history,
                                on_turn_complete=on_turn_complete, prompt_history=prompt_history) as handle:
            handle.rollout_path = recorder.path if recorder is not None else None
            yield handle
        if recorder is not None:
            await recorder.ref.stop()


def _known_item(data: dict[str, Any]) -> bool:
    from codex_actors.protocol.items import RESPONSE_ITEMS

    return data.get("type") in RESPONSE_ITEMS.classes


def _new_thread_id() -> str:
    import uuid

    return str(uuid.uuid4())
