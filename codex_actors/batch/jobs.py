"""The jobs file of `codex-actors batch`: one JSON object per line, checked line by line, sans I/O past reading.

A job line (issue 20): `{"id": str, "prompt": str, "cwd"?: str, "config"?: {key: value}, "images"?: [path],
"output_schema"?: object}`. Blank lines are skipped. A line that is not such an object, or repeats an earlier id,
becomes a `BadLine` naming its line number; the other lines still run. `config` keys are dotted config keys and
their values JSON values, applied as `-c key=value` overrides of that job (`override_args`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import attrs

KNOWN_KEYS = ("id", "prompt", "cwd", "config", "images", "output_schema")


@attrs.frozen
class Job:
    """One job. `line` is its 1-based line number in the jobs file; `cwd` is absolute; `images` are as given
    (resolved against `cwd` when the job starts); `config` maps dotted keys to JSON values."""

    id: str
    prompt: str
    cwd: str
    line: int
    config: dict[str, Any] = attrs.field(factory=dict)
    images: tuple[str, ...] = ()
    output_schema: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The job as a plain dict (what a Ray worker receives)."""
        return {"id": self.id, "prompt": self.prompt, "cwd": self.cwd, "line": self.line, "config": self.config,
                "images": list(self.images), "output_schema": self.output_schema}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        return cls(id=data["id"], prompt=data["prompt"], cwd=data["cwd"], line=data["line"], config=data["config"],
                   images=tuple(data["images"]), output_schema=data["output_schema"])


@attrs.frozen
class BadLine:
    """A line that cannot run: `line` number, `error` (starts with `line N: `), and the id when one was readable."""

    line: int
    error: str
    id: str | None = None


class JobsFileError(Exception):
    """The jobs file itself cannot be read (missing, not UTF-8): nothing runs."""


def read_jobs(path: str, *, base_cwd: Path, file_safe_ids: bool = False) -> Iterator[Job | BadLine]:
    """Every non-blank line of the jobs file `path` (`-` = stdin is not supported: give a file), in order, as a
    `Job` or a `BadLine`. Relative `cwd`s resolve against `base_cwd`. With `file_safe_ids` (for `--events-dir`),
    an id that cannot be a file name (`/`, NUL, `.`, `..`, empty) is a bad line. Raises JobsFileError when the
    file cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise JobsFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise JobsFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        parsed = parse_job_line(raw, number, base_cwd=base_cwd, file_safe_ids=file_safe_ids)
        if isinstance(parsed, Job):
            if parsed.id in seen:
                parsed = BadLine(number, f"line {number}: duplicate id {parsed.id!r}", parsed.id)
            else:
                seen.add(parsed.id)
        yield parsed


def parse_job_line(raw: str, number: int, *, base_cwd: Path, file_safe_ids: bool = False) -> Job | BadLine:
    """One line of the jobs file as a `Job`, or a `BadLine` saying what is wrong (see `read_jobs`)."""
    def bad(message: str, job_id: str | None = None) -> BadLine:
        return BadLine(number, f"line {number}: {message}", job_id)

    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return bad(f"invalid JSON: {exc.msg} (column {exc.colno})")
    if not isinstance(data, dict):
        return bad(f"expected a JSON object, got {type(data).__name__}")
    job_id = data.get("id")
    if not isinstance(job_id, str) or not job_id:
        return bad('"id" must be a non-empty string')
    unknown = sorted(set(data) - set(KNOWN_KEYS))
    if unknown:
        return bad(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(KNOWN_KEYS)})", job_id)
    if file_safe_ids and ("/" in job_id or "\0" in job_id or job_id in (".", "..")):
        return bad(f'id {job_id!r} cannot name a file in --events-dir (no "/", NUL, "." or "..")', job_id)
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return bad('"prompt" must be a non-empty string', job_id)
    cwd = data.get("cwd", ".")
    if not isinstance(cwd, str) or not cwd:
        return bad('"cwd" must be a non-empty string', job_id)
    config = data.get("config", {})
    if not isinstance(config, dict):
        return bad('"config" must be an object of config keys', job_id)
    for key, value in config.items():
        try:
            toml_value(value)
        except ValueError as exc:
            return bad(f'"config" key {key!r}: {exc}', job_id)
    images = data.get("images", [])
    if not isinstance(images, list) or not all(isinstance(i, str) and i for i in images):
        return bad('"images" must be a list of file paths', job_id)
    schema = data.get("output_schema")
    if schema is not None and not isinstance(schema, dict):
        return bad('"output_schema" must be a JSON object (a JSON Schema)', job_id)
    return Job(id=job_id, prompt=prompt, cwd=str((base_cwd / Path(cwd).expanduser()).resolve()), line=number,
               config=config, images=tuple(images), output_schema=schema)


def override_args(config: dict[str, Any]) -> list[str]:
    """A job's `config` as `-c key=value` strings (TOML values), in the job's key order."""
    return [f"{key}={toml_value(value)}" for key, value in config.items()]


def toml_value(value: Any) -> str:
    """A JSON value as TOML value text: strings, numbers, booleans, arrays, inline tables. Raises ValueError for
    null, which TOML cannot express."""
    if value is None:
        raise ValueError("null is not a config value")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return json.dumps(value)  # a JSON string / number is valid TOML
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise ValueError(f"unsupported value {value!r}")
