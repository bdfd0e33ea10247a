"""`codex-actors mcp list | get NAME | add NAME ... | remove NAME`: manage `[mcp_servers.*]` (spec agent-core 7.6).

`list` and `get` show the resolved config (every layer, `-c` included); `add` and `remove` edit the user's
`$CODEX_ACTORS_HOME/config.toml` with tomlkit, so its comments, ordering and other keys survive.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from codex_actors.cli.common import add_config_options, load_config_from_args
from codex_actors.cli.errors import UsageError


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="mcp_command", metavar="ACTION", required=True)
    show_list = sub.add_parser("list", help="list configured MCP servers")
    show_list.add_argument("--json", action="store_true", help="print the servers as JSON")
    add_config_options(show_list)
    get = sub.add_parser("get", help="show one MCP server's configuration")
    get.add_argument("name")
    get.add_argument("--json", action="store_true", help="print the server's table as JSON")
    add_config_options(get)
    add = sub.add_parser(
        "add",
        help="add a server to the user config.toml",
        usage="codex-actors mcp add NAME [--env KEY=VALUE]... -- COMMAND [ARGS...]\n"
        "       codex-actors mcp add NAME --url URL [--bearer-token-env-var VAR]",
    )
    _add_options(add)
    # NAME and everything after it, options included, so `add NAME --env K=V -- cmd --flag` keeps `--flag` for
    # the command; `_split_add_arguments` parses it. NAME is part of the remainder on purpose: argparse drops a
    # `--` that starts a remainder (`add NAME -- cmd` lost its separator), never one inside it.
    add.add_argument("rest", nargs=argparse.REMAINDER, metavar="NAME [options] -- COMMAND [ARGS...]")
    remove = sub.add_parser("remove", help="remove a server from the user config.toml")
    remove.add_argument("name")


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="environment variable for a stdio server (repeatable)")
    parser.add_argument("--url", help="streamable HTTP endpoint instead of a command")
    parser.add_argument("--bearer-token-env-var", metavar="VAR", help="variable holding the HTTP bearer token")


def _split_add_arguments(args: argparse.Namespace) -> tuple[argparse.Namespace, list[str]]:
    """Parse the options between NAME (`args.rest[0]`) and `--`, merged with any given before NAME; return them and the
    command after `--`."""
    rest = list(args.rest)[1:]
    split = rest.index("--") if "--" in rest else len(rest)
    options, command = rest[:split], rest[split + 1 :]
    parser = argparse.ArgumentParser(prog="codex-actors mcp add", add_help=False, exit_on_error=False)
    _add_options(parser)
    try:
        parsed, unknown = parser.parse_known_args(options)
    except argparse.ArgumentError as exc:
        raise UsageError(str(exc)) from None
    if unknown:
        raise UsageError(f"unexpected arguments before --: {' '.join(unknown)}")
    parsed.env = [*args.env, *parsed.env]
    parsed.url = parsed.url or args.url
    parsed.bearer_token_env_var = parsed.bearer_token_env_var or args.bearer_token_env_var
    return parsed, command


def run(args: argparse.Namespace) -> int:
    if args.mcp_command == "add":
        return _add(args)
    if args.mcp_command == "remove":
        return _remove(args)
    servers = load_config_from_args(args).get("mcp_servers", {})
    if args.mcp_command == "list":
        return _list(servers, as_json=args.json)
    if args.name not in servers:
        raise UsageError(f"no MCP server named {args.name!r}")
    table = servers[args.name]
    if args.json:
        print(json.dumps({"name": args.name, **table}, indent=2, sort_keys=True))
        return 0
    print(args.name)
    for key in sorted(table):
        print(f"  {key}: {_show(key, table[key])}")
    return 0


def _show(key: str, value: Any) -> str:
    """One value for `get`; values of `env` and `http_headers` (often secrets) are masked."""
    if isinstance(value, list):
        return " ".join(str(v) for v in value) or "-"
    if isinstance(value, dict):
        secret = key in ("env", "http_headers")
        return ", ".join(f"{k}={'*****' if secret else v}" for k, v in value.items()) or "-"
    return str(value)


def _list(servers: dict[str, Any], *, as_json: bool) -> int:
    if as_json:
        print(json.dumps([{"name": name, **servers[name]} for name in sorted(servers)], indent=2))
        return 0
    if not servers:
        print("No MCP servers configured. Add one with `codex-actors mcp add NAME -- COMMAND...`.")
        return 0
    for name in sorted(servers):
        table = servers[name]
        target = table.get("url") or " ".join([table.get("command", ""), *table.get("args", [])])
        status = "enabled" if table.get("enabled", True) else "disabled"
        print(f"{name}\t{target}\t{status}")
    return 0


def _config_path() -> Path:
    from codex_actors.config import ConfigError, codex_home

    try:
        return codex_home() / "config.toml"
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _read(path: Path) -> Any:
    import tomlkit

    try:
        return tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    except tomlkit.exceptions.ParseError as exc:
        raise UsageError(f"{path}: {exc}") from None


def _write(path: Path, document: Any) -> None:
    """Write `document` next to `path` and rename it over, so a failure never leaves half a file."""
    import tomlkit

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(tomlkit.dumps(document), encoding="utf-8")
    os.replace(temporary, path)


def _add(args: argparse.Namespace) -> int:
    import tomlkit

    if not args.rest or args.rest[0].startswith("-"):
        raise UsageError("missing NAME: codex-actors mcp add NAME [--env KEY=VALUE]... -- COMMAND [ARGS...]")
    name = args.rest[0]
    args, command = _split_add_arguments(args)
    if not name or any(c in name for c in ".[]\"' "):
        raise UsageError(f"invalid server name {name!r}: use letters, digits, '-' and '_'")
    if bool(command) == bool(args.url):
        raise UsageError("give either a command after -- (stdio) or --url URL (streamable HTTP)")
    table = tomlkit.table()
    if args.url:
        if args.env:
            raise UsageError("--env applies to stdio servers only")
        table["url"] = args.url
        if args.bearer_token_env_var:
            table["bearer_token_env_var"] = args.bearer_token_env_var
    else:
        if args.bearer_token_env_var:
            raise UsageError("--bearer-token-env-var applies to --url servers only")
        table["command"] = command[0]
        if command[1:]:
            table["args"] = command[1:]
        env = {}
        for pair in args.env:
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise UsageError(f"--env {pair!r}: expected KEY=VALUE")
            env[key] = value
        if env:
            inline = tomlkit.inline_table()
            inline.update(env)
            table["env"] = inline
    path = _config_path()
    document = _read(path)
    servers = document.get("mcp_servers")
    if servers is None:
        servers = tomlkit.table(is_super_table=True)
        document["mcp_servers"] = servers
    replaced = name in servers
    if replaced:
        del servers[name]
    servers[name] = table
    _write(path, document)
    print(f"{'Updated' if replaced else 'Added'} MCP server {name!r} in {path}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    path = _config_path()
    document = _read(path)
    servers = document.get("mcp_servers")
    if servers is None or args.name not in servers:
        print(f"No MCP server named {args.name!r} in {path}", file=sys.stderr)
        return 1
    del servers[args.name]
    if not servers:
        del document["mcp_servers"]
    _write(path, document)
    print(f"Removed MCP server {args.name!r} from {path}")
    return 0
