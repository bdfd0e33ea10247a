"""The tools of `codex-actors mcp-server`, as codex-rs `mcp-server` names them (`codex_tool_config.rs`):

- `codex {prompt, model?, profile?, cwd?, sandbox?, approval-policy?, config?, base-instructions?,
  developer-instructions?}`: start a thread and run one turn;
- `codex-reply {threadId (or the older conversationId), prompt}`: run one more turn on a thread of this server.

Both return the final agent message as text content and `{"threadId", "content"}` as structured content; a
failed turn returns `isError: true` with its error. Bad arguments are tool errors naming the field.
"""

from __future__ import annotations

from typing import Any

import attrs

SANDBOX_MODES = ["read-only", "workspace-write", "danger-full-access"]
APPROVAL_POLICIES = ["untrusted", "on-failure", "on-request", "never"]

CODEX_TOOL: dict[str, Any] = {
    "name": "codex",
    "title": "Codex",
    "description": "Run a Codex session. Accepts configuration parameters matching the Codex Config struct.",
    "inputSchema": {
        "type": "object",
        "properties": {
            "prompt": {"type": "string", "description": "The *initial user prompt* to start the Codex conversation."},
            "model": {"type": "string", "description": "Optional override for the model name (e.g. 'o3')."},
            "profile": {"type": "string", "description": "Configuration profile from config.toml."},
            "cwd": {"type": "string", "description": "Working directory for the session (absolute or relative to the server's)."},
            "sandbox": {"type": "string", "enum": SANDBOX_MODES, "description": "Sandbox mode."},
            "approval-policy": {"type": "string", "enum": APPROVAL_POLICIES,
                                "description": "Approval policy for shell commands the model runs."},
            "config": {"type": "object", "additionalProperties": True,
                       "description": "Individual config settings that override config.toml (dotted keys)."},
            "base-instructions": {"type": "string", "description": "Instructions used instead of the defaults."},
            "developer-instructions": {"type": "string", "description": "Developer instructions for the session."},
        },
        "required": ["prompt"],
        "additionalProperties": False,
    },
}

CODEX_REPLY_TOOL: dict[str, Any] = {
    "name": "codex-reply",
    "title": "Codex Reply",
    "description": "Continue a Codex conversation by providing the thread id and prompt.",
    "inputSchema": {
        "type": "object",
        "properties": {
            "threadId": {"type": "string", "description": "The thread id for this Codex session."},
            "conversationId": {"type": "string", "description": "DEPRECATED: use threadId instead."},
            "prompt": {"type": "string", "description": "The *next user prompt* to continue the Codex conversation."},
        },
        "required": ["prompt"],
        "additionalProperties": False,
    },
}


class ToolArgumentError(ValueError):
    """A tool argument is missing or malformed; the message names it."""


@attrs.frozen
class CodexCall:
    """The `codex` tool's arguments, checked: `flags` are the config keys (dotted) they set."""

    prompt: str
    flags: dict[str, Any]
    cwd: str | None = None
    profile: str | None = None
    base_instructions: str | None = None


@attrs.frozen
class ReplyCall:
    """The `codex-reply` tool's arguments, checked."""

    thread_id: str
    prompt: str


def parse_codex_call(args: dict[str, Any]) -> CodexCall:
    """Check the `codex` tool's `args` once. Raises ToolArgumentError naming the first bad argument."""
    unknown = set(args) - set(CODEX_TOOL["inputSchema"]["properties"])
    if unknown:
        raise ToolArgumentError(f"unknown argument(s): {', '.join(sorted(unknown))}")
    flags: dict[str, Any] = {}
    config = args.get("config")
    if config is not None:
        if not isinstance(config, dict):
            raise ToolArgumentError("argument `config` must be an object of dotted config keys")
        flags.update({str(k): v for k, v in config.items()})
    for name, key in (("model", "model"), ("developer-instructions", "developer_instructions")):
        value = _string_arg(args, name)
        if value is not None:
            flags[key] = value
    sandbox = _choice_arg(args, "sandbox", SANDBOX_MODES)
    if sandbox is not None:
        flags["sandbox_mode"] = sandbox
    policy = _choice_arg(args, "approval-policy", APPROVAL_POLICIES)
    flags["approval_policy"] = policy or "never"
    return CodexCall(prompt=_prompt(args), flags=flags, cwd=_string_arg(args, "cwd"),
                     profile=_string_arg(args, "profile"), base_instructions=_string_arg(args, "base-instructions"))


def parse_reply_call(args: dict[str, Any]) -> ReplyCall:
    """Check the `codex-reply` tool's `args` once (`threadId`, or the older `conversationId`). Raises
    ToolArgumentError naming the first bad argument."""
    thread_id = _string_arg(args, "threadId") or _string_arg(args, "conversationId")
    if thread_id is None:
        raise ToolArgumentError("missing required argument `threadId`")
    return ReplyCall(thread_id=thread_id, prompt=_prompt(args))


def _prompt(args: dict[str, Any]) -> str:
    prompt = args.get("prompt")
    if prompt is None:
        raise ToolArgumentError("missing required argument `prompt`")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ToolArgumentError("argument `prompt` must be a non-empty string")
    return prompt


def _string_arg(args: dict[str, Any], name: str) -> str | None:
    value = args.get(name)
    if value is not None and not isinstance(value, str):
        raise ToolArgumentError(f"argument `{name}` must be a non-empty string")
    return value


def _choice_arg(args: dict[str, Any], name: str, choices: list[str]) -> str | None:
    value = _string_arg(args, name)
    if value is not None and value not in choices:
        raise ToolArgumentError(f"argument `{name}` must be one of {', '.join(choices)}, got {value!r}")
    return value
