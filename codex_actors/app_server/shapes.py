"""v2 wire shapes the app-server builds or reads besides items: `Thread`, sandbox policies, approval policies,
user inputs, and the params readers that answer bad input with -32602 naming the field.

Sources: codex-rs `app-server-protocol` v2 (`Thread`, `SandboxPolicy`, `SandboxMode`, `AskForApproval`,
`UserInput`), as the SDK's generated `v2_all.py` shows them.
"""

from __future__ import annotations

from typing import Any

from codex_actors.app_server.jsonrpc import invalid_params
from codex_actors.protocol import ops

JSON = dict[str, Any]

SANDBOX_MODES = ("read-only", "workspace-write", "danger-full-access")


class Params:
    """Typed reads of a request's `params` object; every problem raises RpcError -32602 naming the field."""

    def __init__(self, params: Any) -> None:
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise invalid_params("params", "expected an object")
        self.raw: JSON = params

    def str(self, name: str) -> str:
        value = self.raw.get(name)
        if not isinstance(value, str) or not value:
            raise invalid_params(name, "missing field" if value is None else "expected a non-empty string")
        return value

    def opt_str(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is not None and not isinstance(value, str):
            raise invalid_params(name, "expected a string")
        return value

    def opt_bool(self, name: str) -> bool | None:
        value = self.raw.get(name)
        if value is not None and not isinstance(value, bool):
            raise invalid_params(name, "expected a boolean")
        return value

    def opt_int(self, name: str, *, minimum: int = 0) -> int | None:
        value = self.raw.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < minimum):
            raise invalid_params(name, f"expected an integer >= {minimum}")
        return value

    def opt_dict(self, name: str) -> JSON | None:
        value = self.raw.get(name)
        if value is not None and not isinstance(value, dict):
            raise invalid_params(name, "expected an object")
        return value

    def opt_choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        value = self.opt_str(name)
        if value is not None and value not in choices:
            raise invalid_params(name, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def approval_policy(self, name: str = "approvalPolicy") -> str | JSON | None:
        """v2 `AskForApproval`: a policy name or `{"granular": {sandbox_approval, rules, mcp_elicitations, ...}}`
        (the config's shape, checked by the config schema)."""
        from codex_actors.config.schema import approval_policy

        value = self.raw.get(name)
        if value is None:
            return None
        problem = approval_policy(value)
        if problem is not None:
            raise invalid_params(name, f"expected {problem}")
        return value

    def approvals_reviewer(self, name: str = "approvalsReviewer") -> None:
        """v2 `ApprovalsReviewer` (`user`, `auto_review`, `guardian_subagent`), checked. There is no reviewer
        model here, so every value sends approvals to the client, and responses report `user`: the official
        Python SDK asks for `auto_review` by default, and refusing it would refuse every SDK program."""
        self.opt_choice(name, ("user", "auto_review", "guardian_subagent"))

    def inputs(self, name: str = "input") -> list[ops.UserInput]:
        value = self.raw.get(name)
        if not isinstance(value, list):
            raise invalid_params(name, "missing field" if value is None else "expected an array of inputs")
        return [user_input(item, f"{name}[{i}]") for i, item in enumerate(value)]


def user_input(item: Any, where: str) -> ops.UserInput:
    """One v2 `UserInput` (`text`, `image` url, `localImage` path) as an engine input."""
    if not isinstance(item, dict):
        raise invalid_params(where, "expected an object")
    kind = item.get("type")
    if kind == "text" and isinstance(item.get("text"), str):
        elements = item.get("text_elements") or item.get("textElements") or []
        return ops.TextInput(item["text"], list(elements) if isinstance(elements, list) else [])
    if kind == "image" and isinstance(item.get("url"), str):
        return ops.ImageInput(item["url"])
    if kind == "localImage" and isinstance(item.get("path"), str):
        return ops.LocalImageInput(item["path"])
    if kind in ("text", "image", "localImage"):
        field = {"text": "text", "image": "url", "localImage": "path"}[kind]
        raise invalid_params(f"{where}.{field}", "expected a string")
    raise invalid_params(f"{where}.type", f"unsupported input type {kind!r} (text, image, localImage)")


def sandbox_from_v2(policy: Any, where: str = "sandboxPolicy") -> JSON:
    """A v2 `SandboxPolicy` (`{"type": "workspaceWrite", "writableRoots": [...], ...}`) as the engine's
    (`{"type": "workspace-write", "writable_roots": [...], ...}`)."""
    if not isinstance(policy, dict):
        raise invalid_params(where, "expected an object")
    kind = policy.get("type")
    if kind == "readOnly":
        return {"type": "read-only", "network_access": bool(policy.get("networkAccess", False))}
    if kind == "workspaceWrite":
        roots = policy.get("writableRoots") or []
        if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
            raise invalid_params(f"{where}.writableRoots", "expected an array of paths")
        return {"type": "workspace-write", "writable_roots": roots,
                "network_access": bool(policy.get("networkAccess", False)),
                "exclude_tmpdir_env_var": bool(policy.get("excludeTmpdirEnvVar", False)),
                "exclude_slash_tmp": bool(policy.get("excludeSlashTmp", False))}
    if kind in ("dangerFullAccess", "externalSandbox"):
        return {"type": "danger-full-access"}
    raise invalid_params(f"{where}.type", "expected readOnly, workspaceWrite or dangerFullAccess")


def sandbox_to_v2(policy: JSON) -> JSON:
    """The engine's sandbox policy JSON as a v2 `SandboxPolicy`."""
    kind = policy.get("type")
    if kind == "workspace-write":
        return {"type": "workspaceWrite", "writableRoots": list(policy.get("writable_roots", [])),
                "networkAccess": bool(policy.get("network_access", False)),
                "excludeTmpdirEnvVar": bool(policy.get("exclude_tmpdir_env_var", False)),
                "excludeSlashTmp": bool(policy.get("exclude_slash_tmp", False))}
    if kind == "read-only":
        return {"type": "readOnly", "networkAccess": bool(policy.get("network_access", False))}
    return {"type": "dangerFullAccess"}


def thread_json(*, thread_id: str, cwd: str, model_provider: str, created_at: int, updated_at: int,
                path: str | None, ephemeral: bool, preview: str, source: Any, status: JSON,
                model: str | None = None, name: str | None = None, cli_version: str = "",
                originator: str | None = None, git: JSON | None = None, forked_from_id: str | None = None,
                turns: list[JSON] | None = None) -> JSON:
    """A v2 `Thread` (times in unix seconds; `status` e.g. `{"type": "idle"}`)."""
    git_info = None
    if git:
        git_info = {"sha": git.get("commit_hash"), "branch": git.get("branch"), "originUrl": git.get("repository_url")}
    return {"id": thread_id, "sessionId": thread_id, "preview": preview, "ephemeral": ephemeral,
            "modelProvider": model_provider, "model": model, "createdAt": created_at, "updatedAt": updated_at,
            "status": status, "path": path, "cwd": cwd, "cliVersion": cli_version, "source": session_source(source),
            "name": name, "originator": originator, "gitInfo": git_info, "forkedFromId": forked_from_id,
            "turns": list(turns or [])}


def session_source(source: Any) -> str:
    """A rollout's `source` ("exec", "cli", "app_server", ...) as a v2 SessionSource string."""
    return {"cli": "cli", "vscode": "vscode", "exec": "exec", "app_server": "appServer", "appServer": "appServer",
}.get(str(source), "unknown") if isinstance(source, str) else "unknown"


IDLE: JSON = {"type": "idle"}
NOT_LOADED: JSON = {"type": "notLoaded"}
ACTIVE: JSON = {"type": "active", "activeFlags": []}
