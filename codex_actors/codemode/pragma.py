"""The `// @exec:` pragma parser for `exec` input (spec code-mode.md 1.1 and the errors E1-E7 of 1.4)."""

from __future__ import annotations

import json

import attrs

CODE_MODE_PRAGMA_PREFIX = "// @exec:"
DEFAULT_EXEC_YIELD_TIME_MS = 10000
DEFAULT_WAIT_YIELD_TIME_MS = 10000
DEFAULT_MAX_OUTPUT_TOKENS_PER_EXEC_CALL = 10000
MAX_JS_SAFE_INTEGER = 2**53 - 1

E1_EMPTY = (
    "exec expects raw JavaScript source text (non-empty). Provide JS only, optionally with first-line "
    '`// @exec: {"yield_time_ms": 10000, "max_output_tokens": 1000}`.'
)
E2_NO_SOURCE = "exec pragma must be followed by JavaScript source on subsequent lines"
E3_NOT_OBJECT = "exec pragma must be a JSON object with supported fields `yield_time_ms` and `max_output_tokens`"
E4_BAD_JSON = "exec pragma must be valid JSON with supported fields `yield_time_ms` and `max_output_tokens`: {err}"
E5_UNKNOWN_KEY = "exec pragma only supports `yield_time_ms` and `max_output_tokens`; got `{key}`"
E6_NOT_SAFE_INT = (
    "exec pragma fields `yield_time_ms` and `max_output_tokens` must be non-negative safe integers: {err}"
)
E7_TOO_LARGE = "exec pragma field `{field}` must be a non-negative safe integer"

_ALLOWED_KEYS = ("yield_time_ms", "max_output_tokens")


class PragmaError(ValueError):
    """An `exec` input the model must fix; `str(error)` is the exact message of spec 1.4 (E1-E7)."""


@attrs.frozen
class ExecSource:
    """Parsed `exec` input: `code` (pragma line removed) and the optional pragma values (ms / tokens)."""

    code: str
    yield_time_ms: int | None = None
    max_output_tokens: int | None = None


def parse_exec_source(text: str) -> ExecSource:
    """Split an optional first-line `// @exec: {...}` pragma off `text` (spec 1.1 steps 1-8).

    Raises `PragmaError` carrying E1-E7 verbatim. Without a pragma the whole input is the code, unchanged.
    """
    if not text.strip():
        raise PragmaError(E1_EMPTY)
    first, newline, rest = text.partition("\n")
    first = first.lstrip()
    if not first.startswith(CODE_MODE_PRAGMA_PREFIX):
        return ExecSource(code=text)
    if not newline or not rest.strip():
        raise PragmaError(E2_NO_SOURCE)
    directive = first[len(CODE_MODE_PRAGMA_PREFIX):].strip()
    if not directive:
        raise PragmaError(E3_NOT_OBJECT)
    try:
        value = json.loads(directive, parse_constant=_reject_constant)
    except ValueError as exc:
        raise PragmaError(E4_BAD_JSON.format(err=_json_error_text(exc))) from None
    if not isinstance(value, dict):
        raise PragmaError(E3_NOT_OBJECT)
    for key in value:
        if key not in _ALLOWED_KEYS:
            raise PragmaError(E5_UNKNOWN_KEY.format(key=key))
    options = {key: _safe_int(key, value.get(key)) for key in _ALLOWED_KEYS}
    return ExecSource(code=rest, **options)


def _safe_int(field: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PragmaError(E6_NOT_SAFE_INT.format(err=f"invalid type: {_json_kind(value)}, expected u64"))
    if isinstance(value, float):
        raise PragmaError(E6_NOT_SAFE_INT.format(err=f"invalid type: floating point `{value}`, expected u64"))
    if value < 0:
        raise PragmaError(E6_NOT_SAFE_INT.format(err=f"invalid value: integer `{value}`, expected u64"))
    if value > MAX_JS_SAFE_INTEGER:
        raise PragmaError(E7_TOO_LARGE.format(field=field))
    return value


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, str):
        return f"string {json.dumps(value)}"
    if isinstance(value, list):
        return "sequence"
    if isinstance(value, dict):
        return "map"
    return type(value).__name__


def _reject_constant(name: str) -> None:
    raise ValueError(f"invalid constant {name}")


def _json_error_text(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return str(exc)
