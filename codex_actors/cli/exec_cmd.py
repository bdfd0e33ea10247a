"""`codex-actors exec [OPTIONS] [PROMPT]` and `exec [OPTIONS] resume [SESSION_ID | --last] [PROMPT]`: one turn,
headless, with human output or the JSONL events of `--json` (spec agent-core 6).

Exit codes (spec agent-core 6.3): 0 when the turn completed; 1 when it failed or was interrupted, and for every
problem found while starting (config, missing API key, no prompt, unreadable schema or image, the git-repo
check); 2 only for arguments that cannot be parsed (unknown flag, conflicting flags). Expected failures print one line on stderr, never a traceback. Ctrl-C interrupts the turn
(exit 1 once the engine confirms); a second Ctrl-C leaves at once (exit 130).

The `@openai/codex-sdk` spawns this command as `exec --experimental-json [--config k=v ...] [flags] [resume ID]
[--image F ...]` with the prompt on stdin, so flags are accepted both before and after `resume`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from codex_actors.cli.errors import StartupError, UsageError
from codex_actors.config.json_file import JsonFileError, read_json_object
from codex_actors.config.schema import SANDBOX_MODES
from codex_actors.model.provider import OSS_BASE_URL_ENV, OSS_PROVIDER

EXIT_FAST = True
"""The console script ends the process without interpreter teardown once `run` returned (cli.main)."""
OSS_DEFAULT_MODEL = "gpt-oss:20b"
ORIGINATOR_ENV = "CODEX_INTERNAL_ORIGINATOR_OVERRIDE"
NOT_TRUSTED = "Not inside a trusted directory and --skip-git-repo-check was not specified."
NO_PROMPT = "No prompt provided. Either specify one as an argument or pipe the prompt into stdin."
NO_PROMPT_STDIN = "No prompt provided via stdin."


# -- argument parsing -------------------------------------------------------------------------------------


def one_line_errors(parser: argparse.ArgumentParser, *, strict: bool = True) -> None:
    """Make `parser` report bad arguments as one line on stderr, exit code 2; with `strict`, unknown flags too
    (a subparser otherwise hands them to the top-level parser, which prints its usage)."""

    def error(message: str) -> NoReturn:
        print(f"{parser.prog}: {message}", file=sys.stderr)
        sys.exit(2)

    original = parser.parse_known_args

    def parse_known_args(args=None, namespace=None):  # type: ignore[no-untyped-def]
        parsed, extras = original(args, namespace)
        if extras:
            error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    parser.error = error  # type: ignore[method-assign]
    if strict:
        parser.parse_known_args = parse_known_args  # type: ignore[method-assign]


def add_exec_flags(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """The flags of spec 6.1 (besides -c/-p/-C). With `suppress`, unset flags leave no attribute, so a second
    parse (of what follows the prompt or `resume`) only overrides what it really saw."""
    d = (lambda value: argparse.SUPPRESS) if suppress else (lambda value: value)
    add = parser.add_argument
    if suppress:
        add("-c", "--config", dest="overrides", action="append", default=d(None), metavar="KEY=VALUE")
        add("-p", "--profile", default=d(None))
        add("-C", "--cd", dest="cwd", metavar="DIR", default=d(None))
        add("--enable", dest="enable_features", action="append", default=d(None), metavar="FEATURE")
        add("--disable", dest="disable_features", action="append", default=d(None), metavar="FEATURE")
        add("--ignore-user-config", action="store_true", default=d(False))
    add("-m", "--model", default=d(None), help="model slug")
    add("--oss", action="store_true", default=d(False),
        help=f"use the local chat-wire provider '{OSS_PROVIDER}' (base URL from ${OSS_BASE_URL_ENV} if set)")
    add("-s", "--sandbox", choices=SANDBOX_MODES, default=d(None), help="sandbox mode for model commands")
    add("--full-auto", action="store_true", default=d(False), help="shortcut for --sandbox workspace-write")
    add("--dangerously-bypass-approvals-and-sandbox", "--yolo", dest="yolo", action="store_true", default=d(False),
        help="no sandbox, no approvals, no git check (only inside an externally sandboxed environment)")
    add("--add-dir", dest="add_dirs", action="append", default=d([]), metavar="DIR",
        help="extra writable root for workspace-write (repeatable)")
    add("--skip-git-repo-check", action="store_true", default=d(False), help="allow running outside a Git repository")
    add("--ephemeral", action="store_true", default=d(False), help="write no rollout (session file)")
    add("--ignore-rules", dest="ignore_rules", action="store_true", default=d(False),
        help="skip the execpolicy .rules files (user and project)")
    add("--json", "--experimental-json", dest="json", action="store_true", default=d(False),
        help="print the JSONL events of the run on stdout")
    add("-o", "--output-last-message", dest="output_last_message", metavar="FILE", default=d(None),
        help="write the final agent message to FILE")
    add("--output-schema", metavar="FILE", default=d(None), help="JSON Schema file the final answer must follow")
    add("-i", "--image", dest="images", action="append", default=d([]), metavar="FILE[,FILE...]",
        help="attach image(s) to the prompt (repeatable)")
    add("--color", choices=("always", "never", "auto"), default=d("auto"), help="ANSI colour in human output")
    add("--thread-source", default=d(None), metavar="VALUE", help="recorded in the rollout's session_meta")


def configure(parser: argparse.ArgumentParser) -> None:
    """Attach exec's arguments to `parser` (the `exec` subparser)."""
    from codex_actors.cli.common import add_config_options

    add_config_options(parser)
    add_exec_flags(parser)
    parser.add_argument("rest", nargs=argparse.REMAINDER, metavar="PROMPT | resume [SESSION_ID | --last] [PROMPT]",
                        help="instructions ('-' or omitted: read stdin), or `resume` to continue a session")
    one_line_errors(parser)


def _tail_parser(resume: bool) -> argparse.ArgumentParser:
    prog = "codex-actors exec resume" if resume else "codex-actors exec"
    parser = argparse.ArgumentParser(prog=prog, add_help=False)
    add_exec_flags(parser, suppress=True)
    if resume:
        parser.add_argument("--last", action="store_true", default=argparse.SUPPRESS)
        parser.add_argument("--all", action="store_true", default=argparse.SUPPRESS)
        parser.add_argument("positionals", nargs="*", default=[])
    else:
        parser.add_argument("positionals", nargs="*", default=[])
    one_line_errors(parser, strict=False)
    return parser


def resolve_args(args: argparse.Namespace) -> argparse.Namespace:
    """Fold what followed the prompt (or `resume`) into `args`; sets `prompt`, `resume`, `session_id`, `last`,
    `all`. Raises UsageError for extra positionals or conflicting flags."""
    rest = list(args.rest or [])
    resume = bool(rest) and rest[0] == "resume"
    tail = _tail_parser(resume).parse_intermixed_args(rest[1:] if resume else rest)
    for key, value in vars(tail).items():
        if key == "positionals":
            continue
        if isinstance(value, list) and isinstance(getattr(args, key, None), list):
            value = getattr(args, key) + value
        setattr(args, key, value)
    positionals = list(tail.positionals)
    args.resume = resume
    args.last = getattr(args, "last", False)
    args.all = getattr(args, "all", False)
    args.session_id = None
    if resume and not args.last:
        if not positionals:
            raise UsageError("resume: give a SESSION_ID or --last")
        args.session_id = positionals.pop(0)
    if len(positionals) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(positionals[1:])} (quote the prompt)")
    args.prompt = positionals[0] if positionals else None
    if args.full_auto and args.yolo:
        raise UsageError("--full-auto conflicts with --dangerously-bypass-approvals-and-sandbox")
    return args


# -- inputs -----------------------------------------------------------------------------------------------


def decode_stdin(data: bytes) -> str:
    """Decode piped input (spec 6.2): UTF-8 (BOM stripped), UTF-16 LE/BE with BOM; UTF-32 BOMs and invalid
    data raise StartupError."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise StartupError("stdin: UTF-32 input is not supported; send UTF-8")
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            return data[3:].decode("utf-8")
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StartupError(f"stdin: input is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None


def read_prompt(prompt: str | None, stdin: Any = None) -> str:
    """The turn's prompt per spec 6.2. `stdin` defaults to `sys.stdin` (its binary buffer is read).

    Prompt given: piped stdin is appended as a `<stdin>` block (notice on stderr); `-` or no prompt: stdin is the
    prompt. Raises StartupError when there is none."""
    stdin = sys.stdin if stdin is None else stdin
    is_tty = stdin is None or stdin.isatty()  # sys.stdin is None when fd 0 is closed: nothing to read
    if prompt is not None and prompt != "-":
        if is_tty:
            return prompt
        print("Reading additional input from stdin...", file=sys.stderr)
        extra = decode_stdin(_read_all(stdin))
        if not extra.strip():
            return prompt
        return f"{prompt}\n\n<stdin>\n{extra}\n</stdin>"
    if stdin is None or (prompt is None and is_tty):
        raise StartupError(NO_PROMPT)
    text = decode_stdin(_read_all(stdin))
    if not text.strip():
        raise StartupError(NO_PROMPT_STDIN)
    return text


def _read_all(stream: Any) -> bytes:
    buffer = getattr(stream, "buffer", None)
    data = (buffer or stream).read()
    return data.encode("utf-8") if isinstance(data, str) else data


def read_output_schema(path: str) -> dict[str, Any]:
    """The JSON schema in `path`; raises StartupError (one line) when unreadable, not JSON or not an object."""
    try:
        return read_json_object(path)
    except FileNotFoundError as exc:
        raise StartupError(f"--output-schema {path}: cannot read: {exc.strerror}") from None
    except JsonFileError as exc:
        raise StartupError(f"--output-schema {path}: {exc}") from None


def image_paths(values: list[str], cwd: Path) -> list[str]:
    """`-i` values (each possibly comma-separated) as absolute paths; raises StartupError for a missing file."""
    paths = []
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            path = (cwd / part.strip()).expanduser()
            if not path.is_file():
                raise StartupError(f"--image {part.strip()}: no such file")
            paths.append(str(path.resolve()))
    return paths


def config_flags(args: argparse.Namespace, *, approval_policy: str | None = "never") -> dict[str, Any]:
    """The dotted config keys the dedicated flags set (they beat `-c` and profiles)."""
    flags: dict[str, Any] = {"model": args.model, "approval_policy": approval_policy}
    if args.yolo:
        flags["sandbox_mode"] = "danger-full-access"
    elif args.full_auto:
        flags["sandbox_mode"] = "workspace-write"
    if args.sandbox:
        flags["sandbox_mode"] = args.sandbox
    if args.oss:
        flags["model_provider"] = OSS_PROVIDER
        flags["model"] = args.model or OSS_DEFAULT_MODEL
    if getattr(args, "ignore_rules", False):
        flags["ignore_rules"] = True
    return flags


def git_search_path(cwd: Path, environ: Any = None) -> list[Path]:
    """`cwd` and its ancestors, in the order Git looks for a repository, stopping below any directory named in
    `GIT_CEILING_DIRECTORIES` (colon-separated absolute paths; Git does not go up into them: git(1))."""
    environ = os.environ if environ is None else environ
    ceilings = {Path(p) for p in environ.get("GIT_CEILING_DIRECTORIES", "").split(":") if os.path.isabs(p)}
    path = []
    for directory in (cwd, *cwd.parents):
        if directory in ceilings:
            break
        path.append(directory)
    return path


def is_trusted_directory(config: Any) -> bool:
    """Inside a Git work tree (a `.git` in cwd or an ancestor, as far as Git would look), or a project marked
    trusted in the user config."""
    cwd = Path(config.cwd)
    if any((d / ".git").exists() for d in git_search_path(cwd)):
        return True
    projects = config.get("projects", {}) or {}
    return any((projects.get(str(d)) or {}).get("trust_level") == "trusted" for d in (cwd, *cwd.parents))


def find_session(home: Path, session_id: str | None, *, cwd: Path, any_cwd: bool) -> Path:
    """The rollout to resume: by thread id or thread name (`session_index.jsonl`, set by `/rename`), or the
    newest (whose cwd is `cwd` unless `any_cwd`). Raises StartupError when none matches."""
    from codex_actors.session.persistence import find_rollout, iter_rollout_paths
    from codex_actors.session.persistence.listing import summarize_rollout
    from codex_actors.session.persistence.session_index import find_thread_by_name

    if session_id is not None:
        path = find_rollout(home, session_id)
        if path is None:
            named = find_thread_by_name(home, session_id)
            path = find_rollout(home, named) if named is not None else None
        if path is None:
            raise StartupError(f"no saved session found with id or name {session_id} under {home / 'sessions'}")
        return path
    # Newest first, stopping at the first match: start-up must not grow with the number of saved sessions.
    for path in iter_rollout_paths(home):
        summary = summarize_rollout(path)
        if summary is not None and (any_cwd or summary.cwd is None or Path(summary.cwd) == cwd):
            return summary.path
    raise StartupError(f"no saved session to resume{'' if any_cwd else f' for {cwd}'} (try --all)")


# -- run --------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """Entry point of `codex-actors exec`; returns the exit code."""
    from codex_actors.cli.common import load_config_from_args

    args = resolve_args(args)
    config = load_config_from_args(args, config_flags(args))
    if not (args.skip_git_repo_check or args.yolo) and not is_trusted_directory(config):
        print(NOT_TRUSTED, file=sys.stderr)
        return 1
    schema = read_output_schema(args.output_schema) if args.output_schema else None
    images = image_paths(args.images, Path(config.cwd))
    resume_path = None
    if args.resume:
        resume_path = find_session(config.home, args.session_id, cwd=Path(config.cwd), any_cwd=args.all)
    prompt = read_prompt(args.prompt)

    from codex_actors.cli.exec_driver import ExecRequest, run_exec

    request = ExecRequest(
        prompt=prompt,
        images=tuple(images),
        output_schema=schema,
        json=args.json,
        color=args.color,
        output_last_message=args.output_last_message,
        ephemeral=args.ephemeral,
        resume=resume_path,
        add_dirs=tuple(args.add_dirs),
        thread_source=args.thread_source,
        originator=os.environ.get(ORIGINATOR_ENV) or "codex_exec",
    )
    return run_exec(config, request)
