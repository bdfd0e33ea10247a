"""Recognise an apply_patch invocation sent as a shell command (agent-core spec 4.5, "Shell interception").

Recognised (and routed to the apply_patch machinery instead of being executed):

* `["apply_patch", "<patch>"]` and `["applypatch", "<patch>"]`;
* `[bash|zsh|sh, "-lc"|"-c", script]` where the whole script is `apply_patch <<'EOF' … EOF` (any delimiter word,
  quoted or not, `applypatch` too), optionally preceded by exactly `cd <dir> &&` with one plain, '…' or "…"
  directory. Anything else around it (`;`, `||`, `|`, a second command, an argument to apply_patch) means the
  script is not an interception and runs as a normal command.

A raw patch body sent as the command itself (`["*** Begin Patch…"]` or `bash -lc "*** Begin Patch…"`) is refused
with `IMPLICIT_INVOCATION_MESSAGE` so the model learns to call apply_patch explicitly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import attrs

from .parser import PatchParseError, parse_patch

APPLY_PATCH_COMMANDS = ("apply_patch", "applypatch")
IMPLICIT_INVOCATION_MESSAGE = (
    'patch detected without explicit call to apply_patch. Rerun as ["apply_patch", "<patch>"]'
)

_SHELLS = ("bash", "zsh", "sh")
_SHELL_FLAGS = ("-lc", "-c")

# `cd DIR && ` then `apply_patch <<DELIM` (DELIM optionally quoted), a newline, the body, the DELIM line, and
# nothing but whitespace after it.
_HEREDOC_SCRIPT = re.compile(
    r"""\A\s*
    (?:cd[ \t]+(?:(?P<bare>[^\s'"&|;<>()$`\\]+)|'(?P<single>[^']*)'|"(?P<double>[^"$`\\]*)")[ \t]+&&[ \t]+)?
    (?:apply_patch|applypatch)[ \t]*<<-?[ \t]*(?P<q>['"]?)(?P<delim>\w+)(?P=q)[ \t]*\n
    (?P<body>(?:(?!(?P=delim)[ \t]*(?:\n|\Z)).*\n)*)
    (?P=delim)[ \t]*(?:\n\s*)?\Z""",
    re.VERBOSE,
)


class ImplicitInvocationError(ValueError):
    """A patch body was sent as a command without the `apply_patch` word; `str()` is the message for the model."""

    def __init__(self) -> None:
        super().__init__(IMPLICIT_INVOCATION_MESSAGE)


@attrs.frozen
class ApplyPatchInvocation:
    """An intercepted call: `patch` is the patch text (not yet parsed; a malformed patch is reported by the
    handler), `workdir` the `cd` directory of the heredoc form, relative to the call's cwd unless absolute."""

    patch: str
    workdir: str | None = None

    def resolve_cwd(self, cwd: str | os.PathLike[str]) -> str:
        """The directory the patch's relative paths resolve against: `cwd` joined with `workdir`."""
        return os.path.join(cwd, self.workdir) if self.workdir is not None else os.fspath(cwd)


def intercept_argv(argv: Sequence[str]) -> ApplyPatchInvocation | None:
    """The apply_patch invocation `argv` spells, or None if it is an ordinary command.

    Raises `ImplicitInvocationError` when `argv` is a bare patch body (one argument, or a shell script) that
    parses as a patch.
    """
    if len(argv) == 2 and argv[0] in APPLY_PATCH_COMMANDS:
        return ApplyPatchInvocation(patch=argv[1])
    if len(argv) == 1 and _is_patch(argv[0]):
        raise ImplicitInvocationError()
    if len(argv) == 3 and os.path.basename(argv[0]).lower() in _SHELLS and argv[1] in _SHELL_FLAGS:
        return intercept_script(argv[2])
    return None


def intercept_script(script: str) -> ApplyPatchInvocation | None:
    """Like `intercept_argv` for a shell script (e.g. `exec_command`'s `cmd`): the heredoc form or None.

    Raises `ImplicitInvocationError` when the whole script is a patch body.
    """
    if _is_patch(script):
        raise ImplicitInvocationError()
    m = _HEREDOC_SCRIPT.match(script)
    if m is None:
        return None
    workdir = m["bare"] if m["bare"] is not None else m["single"] if m["single"] is not None else m["double"]
    return ApplyPatchInvocation(patch=m["body"].rstrip("\n"), workdir=workdir)


def _is_patch(text: str) -> bool:
    try:
        parse_patch(text)
    except PatchParseError:
        return False
    return True
