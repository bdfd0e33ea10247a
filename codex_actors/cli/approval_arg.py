"""The argument of `/approvals` in `run`, and how a policy is shown (footer, /status, header).

`/approvals POLICY` takes what `-c approval_policy=...` takes: a policy name, or Codex's granular table written
as TOML (`{ granular = { sandbox_approval = true, rules = false, mcp_elicitations = true } }`), checked by the
one schema (`config/schema.py`). A shorter spelling of the table is accepted too:
`granular sandbox_approval=true rules=false mcp_elicitations=true` (every flag named, as in the table).
"""

from __future__ import annotations

from typing import Any

from codex_actors.config import ConfigError, parse_override
from codex_actors.config.schema import APPROVAL_POLICIES, GRANULAR_OPTIONAL, GRANULAR_REQUIRED, approval_policy

USAGE = (f"expected one of {', '.join(APPROVAL_POLICIES)}, or granular "
         + " ".join(f"{key}=true|false" for key in GRANULAR_REQUIRED)
         + f" (optional: {', '.join(GRANULAR_OPTIONAL)})")


def parse_approvals_arg(arg: str) -> tuple[str | dict[str, Any] | None, str | None]:
    """(the policy, None) or (None, why not) for the text after `/approvals`."""
    text = arg.strip()
    words = text.split()
    if words and words[0] == "granular" and all("=" in w for w in words[1:]):
        flags: dict[str, Any] = {}
        for word in words[1:]:
            key, _, raw = word.partition("=")
            if raw not in ("true", "false"):
                return None, f"{key}: expected true or false, got {raw!r}"
            flags[key] = raw == "true"
        value: Any = {"granular": flags}
    elif text in APPROVAL_POLICIES:
        value = text
    else:
        try:
            _path, value = parse_override(f"approval_policy={text}")
        except ConfigError:
            return None, USAGE
    problem = approval_policy(value)
    if problem is not None:
        return None, USAGE if isinstance(value, str) else f"expected {problem}"
    return value, None


def describe_approval_policy(value: Any) -> str:
    """`on-request`, or `granular (asks: sandbox_approval, mcp_elicitations; rejects: rules)` for the table form."""
    if not isinstance(value, dict) or not isinstance(value.get("granular"), dict):
        return str(value)
    flags = value["granular"]
    asks = [key for key, on in flags.items() if on]
    rejects = [key for key, on in flags.items() if not on]
    parts = [f"asks: {', '.join(asks)}" if asks else "", f"rejects: {', '.join(rejects)}" if rejects else ""]
    return f"granular ({'; '.join(p for p in parts if p)})"
