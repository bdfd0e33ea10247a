"""The v2 methods the app-server answers (the `thread/*` ones live in `thread_methods.py`) (codex-rs `app-server` `codex_message_processor`; shapes from
`app-server-protocol` v2). Each is `async def handler(conn, params) -> result`; bad params raise RpcError -32602
naming the field, requests about threads not loaded on this connection -32600.

Differences from codex-rs, stated rather than hidden: approvals go to the client, as with codex-rs's
`approvalsReviewer: "user"`, whatever reviewer is asked for (there is no reviewer model; threads report `user`;
the official Python SDK asks for `auto_review` by default, and its default approval handler accepts);
`account/login/start` supports `apiKey` only, and the key lives in this server process (it becomes the bearer token of threads started afterwards), not in an auth file;
`model/list` lists what the provider's `/models` lists (no Codex model catalogue: efforts are generic).
"""

from __future__ import annotations

from typing import Any

from codex_actors.app_server import thread_methods as threads
from codex_actors.app_server.jsonrpc import INVALID_REQUEST, RpcError, invalid_params
from codex_actors.app_server.shapes import Params, sandbox_from_v2
from codex_actors.app_server.translate import turn_json
from codex_actors.config import ConfigError
from codex_actors.protocol import ops

JSON = dict[str, Any]


# -- session ------------------------------------------------------------------------------------------------


async def initialize(conn: Any, params: Any) -> JSON:
    p = Params(params)
    if p.opt_dict("clientInfo") is None:
        raise invalid_params("clientInfo", "missing field")
    from codex_actors.runtime import CLI_VERSION

    conn.initialized = True
    return {"userAgent": f"codex-actors/{CLI_VERSION}", "serverInfo": {"name": "codex-actors", "version": CLI_VERSION},
            "platformFamily": "unix", "platformOs": "linux"}


# -- turns --------------------------------------------------------------------------------------------------


def _active_turn(loaded: Any) -> str | None:
    return loaded.active_turn


async def turn_start(conn: Any, params: Any) -> JSON:
    p = Params(params)
    loaded = conn.loaded(p.str("threadId"))
    items = p.inputs()
    sandbox = sandbox_from_v2(p.raw["sandboxPolicy"]) if p.raw.get("sandboxPolicy") is not None else None
    p.approvals_reviewer()
    schema = p.raw.get("outputSchema")
    if schema is not None and not isinstance(schema, dict):
        raise invalid_params("outputSchema", "expected a JSON Schema object")
    op = ops.UserInputWithTurnContext(items=items, cwd=p.opt_str("cwd"), approval_policy=p.approval_policy(),
                                      sandbox_policy=sandbox, model=p.opt_str("model"), effort=p.opt_str("effort"),
                                      summary=p.opt_str("summary"), final_output_json_schema=schema)
    active = _active_turn(loaded)
    turn_id, answer = await conn.manager.submit(loaded.handle.thread_id, op)
    if answer == "rejected":
        raise RpcError(INVALID_REQUEST, "turn/start rejected: the turn context is invalid (see the error notification)")
    if answer == "steered" and active is not None:
        turn_id = active
    else:
        loaded.active_turn = turn_id
    return {"turn": turn_json(turn_id, [], "inProgress")}


def _expect_turn(loaded: Any, turn_id: str) -> None:
    active = _active_turn(loaded)
    if active is None:
        raise RpcError(INVALID_REQUEST, f"no active turn to interrupt or steer; expected {turn_id}")
    if active != turn_id:
        raise RpcError(INVALID_REQUEST, f"expected active turn id `{turn_id}` but found `{active}`")


async def turn_interrupt(conn: Any, params: Any) -> JSON:
    p = Params(params)
    loaded = conn.loaded(p.str("threadId"))
    _expect_turn(loaded, p.str("turnId"))
    await conn.manager.submit(loaded.handle.thread_id, ops.Interrupt())
    return {}


async def turn_steer(conn: Any, params: Any) -> JSON:
    p = Params(params)
    loaded = conn.loaded(p.str("threadId"))
    expected = p.str("expectedTurnId")
    items = p.inputs()
    _expect_turn(loaded, expected)
    _, answer = await conn.manager.submit(loaded.handle.thread_id, ops.SteerInput(items=items))
    if answer != "steered":
        raise RpcError(INVALID_REQUEST, f"turn {expected} no longer accepts input")
    return {"turnId": expected}


# -- models and account -------------------------------------------------------------------------------------


async def model_list(conn: Any, params: Any) -> JSON:
    """`model/list {cursor?, includeHidden?, limit?}` -> `{data: [Model], nextCursor}`: the models the
    provider's `GET {base_url}/models` lists (OpenAI-compatible `data[].id`, or Codex's `models[].slug`), the
    configured model first when the provider does not list it (and alone when the provider cannot be asked),
    marked `isDefault`. `cursor` is the offset a previous page returned."""
    p = Params(params)
    p.opt_bool("includeHidden")
    cursor, limit = p.opt_str("cursor"), p.opt_int("limit")
    if cursor is not None and not cursor.isdigit():
        raise invalid_params("cursor", f"expected a cursor returned by model/list, got {cursor!r}")
    from codex_actors.model.listing import provider_models
    from codex_actors.model.provider import ProviderError
    from codex_actors.runtime import provider_info

    config = await conn.server.load_config()
    configured = config.get("model")
    try:
        listed, _reason = await provider_models(provider_info(config))
    except (ConfigError, ProviderError):
        listed = []
    slugs = listed if configured in listed else [configured, *listed]
    start = int(cursor or 0)
    end = len(slugs) if limit is None or limit == 0 else min(len(slugs), start + limit)
    models = [_model_json(slug, config, default=slug == configured) for slug in slugs[start:end]]
    return {"data": models, "nextCursor": str(end) if end < len(slugs) else None}


def _model_json(slug: str, config: Any, *, default: bool) -> JSON:
    efforts = ("low", "medium", "high")
    effort = (config.get("model_reasoning_effort") if default else None) or "medium"
    provider = config.get("model_provider")
    return {"id": slug, "model": slug, "displayName": slug,
            "description": f"the configured model ({slug})" if default else f"listed by provider {provider}",
            "hidden": False, "isDefault": default, "defaultReasoningEffort": effort,
            "supportedReasoningEfforts": [{"reasoningEffort": e, "description": e} for e in efforts],
            "inputModalities": ["text", "image"]}


async def account_read(conn: Any, params: Any) -> JSON:
    Params(params).opt_bool("refreshToken")
    from codex_actors.model.provider import ProviderError
    from codex_actors.runtime import provider_info

    config = await conn.server.load_config()
    try:
        provider = provider_info(config)
        has_key = conn.server.api_key is not None or provider.api_key() is not None
    except (ConfigError, ProviderError):
        has_key = conn.server.api_key is not None
    return {"account": {"type": "apiKey"} if has_key else None, "requiresOpenaiAuth": not has_key}


async def account_login_start(conn: Any, params: Any) -> JSON:
    p = Params(params)
    kind = p.str("type")
    if kind != "apiKey":
        raise invalid_params("type", f"only apiKey login is supported, got {kind!r}")
    conn.server.api_key = p.str("apiKey")
    conn.notify("account/login/completed", {"loginId": None, "success": True, "error": None})
    conn.notify("account/updated", {"authMode": "apikey"})
    return {"type": "apiKey"}


async def account_logout(conn: Any, params: Any) -> JSON:
    conn.server.api_key = None
    conn.notify("account/updated", {"authMode": None})
    return {}


METHODS = {
    "initialize": initialize,
    "thread/start": threads.thread_start,
    "thread/resume": threads.thread_resume,
    "thread/fork": threads.thread_fork,
    "thread/list": threads.thread_list,
    "thread/read": threads.thread_read,
    "thread/archive": threads.thread_archive,
    "thread/unarchive": threads.thread_unarchive,
    "thread/name/set": threads.thread_name_set,
    "thread/compact/start": threads.thread_compact_start,
    "turn/start": turn_start,
    "turn/interrupt": turn_interrupt,
    "turn/steer": turn_steer,
    "model/list": model_list,
    "account/read": account_read,
    "account/login/start": account_login_start,
    "account/logout": account_logout,
}
