"""The `thread/*` methods of the app-server (codex-rs `codex_message_processor`; shapes from `app-server-protocol`
v2): start, resume, fork, list, read, archive, unarchive, name, compact. Each is `async def handler(conn,
params) -> result`; bad params raise RpcError -32602 naming the field, unknown threads -32600.

A thread another connection of this server already runs is joined (`ThreadManager.attach`), never started a
second time on the same rollout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from codex_actors.app_server.jsonrpc import INVALID_REQUEST, RpcError, invalid_params
from codex_actors.app_server.shapes import ACTIVE, IDLE, NOT_LOADED, SANDBOX_MODES, Params, sandbox_to_v2, thread_json
from codex_actors.app_server.translate import ThreadTranslator
from codex_actors.config import ConfigError
from codex_actors.protocol import events, ops
from codex_actors.threads import UnknownThread, catalog

JSON = dict[str, Any]
APP_SERVER_SOURCE = "vscode"  # the session source codex-rs's app-server records for its threads
ORIGINATOR = "codex_app_server"


def _flags(p: Params) -> dict[str, Any]:
    """Config keys set by thread/start, thread/resume or thread/fork params (they beat `-c` overrides)."""
    flags: dict[str, Any] = {}
    for name, key in (("model", "model"), ("modelProvider", "model_provider"),
                      ("developerInstructions", "developer_instructions")):
        value = p.opt_str(name)
        if value is not None:
            flags[key] = value
    policy = p.approval_policy()
    if policy is not None:
        flags["approval_policy"] = policy
    p.approvals_reviewer()
    sandbox = p.opt_choice("sandbox", SANDBOX_MODES)
    if sandbox is not None:
        flags["sandbox_mode"] = sandbox
    for key, value in (p.opt_dict("config") or {}).items():
        flags[str(key)] = value
    return flags


async def _config(conn: Any, p: Params) -> Any:
    cwd = p.opt_str("cwd")
    try:
        return await conn.server.load_config(cwd=cwd, flags=_flags(p))
    except ConfigError as exc:
        raise RpcError(INVALID_REQUEST, str(exc)) from None


def _options(p: Params, **extra: Any) -> Any:
    from codex_actors.runtime import RunOptions

    return RunOptions(ephemeral=bool(p.opt_bool("ephemeral")), originator=ORIGINATOR, source=APP_SERVER_SOURCE,
                      base_instructions=p.opt_str("baseInstructions"), thread_source=p.opt_str("threadSource"),
                      **extra)


async def _start(conn: Any, config: Any, options: Any, *, resume: Path | None = None,
                 fork: Path | None = None) -> Any:
    from codex_actors.session.persistence import RolloutError

    try:
        if resume is not None:
            handle = await conn.manager.resume(config, resume, options)
        elif fork is not None:
            handle = await conn.manager.fork(config, fork, options)
        else:
            handle = await conn.manager.start(config, options)
    except (ConfigError, RolloutError, OSError) as exc:
        raise RpcError(INVALID_REQUEST, str(exc)) from None
    return conn.load(handle)


def _thread_response(loaded: Any, *, turns: list[JSON] | None = None, stored: Any = None) -> JSON:
    """The common body of thread/start, thread/resume and thread/fork responses."""
    from codex_actors.runtime import sandbox_policy

    info = loaded.handle.info
    config = info.config
    sandbox = sandbox_policy(config, info.options.add_dirs).to_json()
    return {"thread": _live_thread_json(loaded, turns=turns, stored=stored), "model": config.get("model"),
            "modelProvider": config.get("model_provider"), "cwd": str(config.cwd),
            "approvalPolicy": config.get("approval_policy"), "approvalsReviewer": "user",
            "sandbox": sandbox_to_v2(sandbox), "reasoningEffort": config.get("model_reasoning_effort"),
            "serviceTier": None}


def _live_thread_json(loaded: Any, *, turns: list[JSON] | None = None, stored: Any = None) -> JSON:
    import time

    from codex_actors.runtime import CLI_VERSION

    info = loaded.handle.info
    now = int(time.time())
    meta = stored.meta if stored is not None else {}
    return thread_json(
        thread_id=info.thread_id, cwd=str(info.config.cwd), model_provider=info.config.get("model_provider"),
        created_at=stored.created if stored is not None else now, updated_at=now,
        path=str(info.rollout_path) if info.rollout_path is not None else None, ephemeral=info.options.ephemeral,
        preview=stored.preview if stored is not None else "", source=meta.get("source", APP_SERVER_SOURCE),
        status=ACTIVE if loaded.active_turn is not None else IDLE, model=info.config.get("model"),
        name=stored.name if stored is not None else None, cli_version=meta.get("cli_version", CLI_VERSION),
        originator=meta.get("originator", ORIGINATOR), git=meta.get("git"),
        forked_from_id=meta.get("forked_from_id"), turns=turns)


def _stored_thread_json(stored: catalog.StoredThread, *, status: JSON, turns: list[JSON] | None = None) -> JSON:
    meta = stored.meta
    return thread_json(
        thread_id=stored.thread_id, cwd=str(meta.get("cwd", "")), model_provider=str(meta.get("model_provider", "")),
        created_at=stored.created, updated_at=stored.updated, path=str(stored.path), ephemeral=False,
        preview=stored.preview, source=meta.get("source"), status=status, name=stored.name,
        cli_version=str(meta.get("cli_version", "")), originator=meta.get("originator"), git=meta.get("git"),
        forked_from_id=meta.get("forked_from_id"), turns=turns)


async def thread_start(conn: Any, params: Any) -> JSON:
    p = Params(params)
    config = await _config(conn, p)
    loaded = await _start(conn, config, _options(p))
    response = _thread_response(loaded)
    conn.notify("thread/started", {"thread": response["thread"]})
    return response


async def _find(conn: Any, thread_id: str) -> catalog.StoredThread | None:
    return await trio.to_thread.run_sync(catalog.find_thread, conn.server.home, thread_id)


async def _stored_or_error(conn: Any, thread_id: str) -> catalog.StoredThread:
    stored = await _find(conn, thread_id)
    if stored is None:
        raise RpcError(INVALID_REQUEST, f"no rollout found for thread id {thread_id}")
    return stored


async def thread_resume(conn: Any, params: Any) -> JSON:
    p = Params(params)
    thread_id = p.str("threadId")
    exclude_turns = bool(p.opt_bool("excludeTurns"))
    loaded = conn.threads.get(thread_id)
    stored = await _find(conn, thread_id)
    if loaded is None:
        if stored is None:
            raise RpcError(INVALID_REQUEST, f"no rollout found for thread id {thread_id}")
        if stored.archived:
            raise RpcError(INVALID_REQUEST, f"thread {thread_id} is archived; unarchive it first")
        try:
            loaded = conn.load(await conn.manager.attach(thread_id))
        except UnknownThread:
            config = await _config(conn, p)
            loaded = await _start(conn, config, _options(p), resume=stored.path)
    turns = None if exclude_turns or stored is None else await replay_turns(stored.path, thread_id)
    return _thread_response(loaded, turns=turns, stored=stored)


async def thread_fork(conn: Any, params: Any) -> JSON:
    p = Params(params)
    source = await _stored_or_error(conn, p.str("threadId"))
    config = await _config(conn, p)
    loaded = await _start(conn, config, _options(p), fork=source.path)
    response = _thread_response(loaded)
    response["thread"]["forkedFromId"] = source.thread_id
    conn.notify("thread/started", {"thread": response["thread"]})
    return response


async def thread_list(conn: Any, params: Any) -> JSON:
    p = Params(params)
    limit = p.opt_int("limit", minimum=1) or 25
    cursor = p.opt_str("cursor")
    try:
        offset = int(cursor) if cursor else 0
    except ValueError:
        raise invalid_params("cursor", "not a cursor this server gave out") from None
    cwd_filter = p.raw.get("cwd")
    cwds = [cwd_filter] if isinstance(cwd_filter, str) else cwd_filter if isinstance(cwd_filter, list) else None
    providers = p.raw.get("modelProviders")
    search = (p.opt_str("searchTerm") or "").lower()
    kinds = p.raw.get("sourceKinds")
    stored = await trio.to_thread.run_sync(lambda: catalog.list_threads(conn.server.home,
                                                                        archived=bool(p.opt_bool("archived"))))
    if p.opt_str("sortKey") == "updated_at":
        stored.sort(key=lambda s: s.updated, reverse=True)
    if p.opt_str("sortDirection") == "asc":
        stored.reverse()
    live = {info.thread_id for info in await conn.manager.live()}
    data = []
    for thread in stored:
        item = _stored_thread_json(thread, status=IDLE if thread.thread_id in live else NOT_LOADED)
        if cwds is not None and item["cwd"] not in cwds:
            continue
        if isinstance(providers, list) and providers and item["modelProvider"] not in providers:
            continue
        if isinstance(kinds, list) and kinds and item["source"] not in kinds:
            continue
        if search and search not in item["preview"].lower() and search not in (item["name"] or "").lower():
            continue
        data.append(item)
    page = data[offset:offset + limit]
    next_cursor = str(offset + limit) if offset + limit < len(data) else None
    return {"data": page, "nextCursor": next_cursor, "backwardsCursor": None}


async def thread_read(conn: Any, params: Any) -> JSON:
    p = Params(params)
    thread_id = p.str("threadId")
    include_turns = bool(p.opt_bool("includeTurns"))
    stored = await _find(conn, thread_id)
    loaded = conn.threads.get(thread_id)
    turns = await replay_turns(stored.path, thread_id) if include_turns and stored is not None else []
    if loaded is not None:
        return {"thread": _live_thread_json(loaded, turns=turns, stored=stored)}
    if stored is None:
        raise RpcError(INVALID_REQUEST, f"no rollout found for thread id {thread_id}")
    return {"thread": _stored_thread_json(stored, status=NOT_LOADED, turns=turns)}


async def thread_archive(conn: Any, params: Any) -> JSON:
    p = Params(params)
    thread_id = p.str("threadId")
    await conn.unload(thread_id, close=True)
    try:
        await trio.to_thread.run_sync(catalog.archive, conn.server.home, thread_id)
    except LookupError as exc:
        raise RpcError(INVALID_REQUEST, str(exc)) from None
    conn.notify("thread/archived", {"threadId": thread_id})
    return {}


async def thread_unarchive(conn: Any, params: Any) -> JSON:
    p = Params(params)
    thread_id = p.str("threadId")
    try:
        await trio.to_thread.run_sync(catalog.unarchive, conn.server.home, thread_id)
    except LookupError as exc:
        raise RpcError(INVALID_REQUEST, str(exc)) from None
    stored = await _stored_or_error(conn, thread_id)
    conn.notify("thread/unarchived", {"threadId": thread_id})
    return {"thread": _stored_thread_json(stored, status=NOT_LOADED)}


async def thread_name_set(conn: Any, params: Any) -> JSON:
    p = Params(params)
    thread_id, name = p.str("threadId"), p.str("name")
    if thread_id not in conn.threads and await _find(conn, thread_id) is None:
        raise RpcError(INVALID_REQUEST, f"thread not found: {thread_id}")
    await trio.to_thread.run_sync(catalog.set_thread_name, conn.server.home, thread_id, name)
    conn.notify("thread/name/updated", {"threadId": thread_id, "threadName": name})
    return {}


async def thread_compact_start(conn: Any, params: Any) -> JSON:
    p = Params(params)
    loaded = conn.loaded(p.str("threadId"))
    await conn.manager.submit(loaded.handle.thread_id, ops.Compact())
    return {}


async def replay_turns(path: Path, thread_id: str) -> list[JSON]:
    """The turns of a stored thread, rebuilt from its recorded events through the same translator that
    streams live ones: a turn per recorded user message (and its task end, when recorded)."""
    from codex_actors.session.persistence import read_rollout

    rollout = await trio.to_thread.run_sync(read_rollout, path)
    translator = ThreadTranslator(thread_id)
    for payload in rollout.events:
        try:
            msg = events.EVENT_MSGS.structure(payload)
        except Exception:  # noqa: BLE001 - an event kind this version does not know: skip it
            continue
        if isinstance(msg, events.UserMessage) and translator.turn is not None and translator.turn.items:
            translator.finish_replayed_turn()
        translator.feed(msg)
    translator.finish_replayed_turn()
    return translator.turns


