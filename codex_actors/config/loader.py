"""Layered config: built-in defaults < Codex's user config.toml < our user config.toml < project
.codex/config.toml < project .codex-actors/config.toml < profile < -c < flags.

This is the precedence of spec agent-core "Choices for this project" (a `-c` beats the profile, unlike Codex).
Codex's own `$CODEX_HOME/config.toml` (default `~/.codex/config.toml`, spec 7.1) is read, never written, as the
layer `codex-user`, so a Codex user's setup works unchanged; ours (`$CODEX_ACTORS_HOME`) wins over it.
Tables merge recursively; every leaf remembers the layer it came from, for `codex-actors config show`.
"""

from __future__ import annotations

import copy
import json
import os
import tomllib
from pathlib import Path
from typing import Any, Iterable, Mapping

import attrs

from codex_actors.config import schema
from codex_actors.config.trust import ProjectTrust

# Project config folders of one directory, lowest first: Codex's, then ours (as with the two user layers).
PROJECT_FOLDERS = ((".codex", "codex-project"), (".codex-actors", "project"))


class ConfigError(ValueError):
    """A config file or value is wrong. The message names the source (file or flag), the key and what was
    expected, e.g. `/home/u/.codex-actors/config.toml: approval_policy: expected one of: ..., got 'sometimes'`."""


@attrs.frozen
class Layer:
    """One source of settings: `name` (default, user, project, profile:NAME, -c, flags), the file it was read
    from (None for defaults, -c and flags) and its nested table."""

    name: str
    path: Path | None
    table: dict[str, Any]

    @property
    def source(self) -> str:
        return str(self.path) if self.path is not None else self.name


@attrs.frozen
class Config:
    """The resolved configuration.

    `values` is the merged nested table; `origins` maps each leaf's dotted key to the layer name it came from;
    `home` is `$CODEX_ACTORS_HOME` (default `~/.codex-actors`, not created here); `cwd` the working root;
    `notes` tells of layers that were found but not used (an untrusted project config); `warnings` holds at
    most one line naming every key that is not understood (kept, without effect); `codex_home` is Codex's home
    (`$CODEX_HOME`, default `~/.codex`), read for its config (not with `ignore_user_config`), its AGENTS.md
    and its auth.json; never written.
    """

    values: dict[str, Any]
    origins: dict[str, str]
    layers: tuple[Layer, ...]
    home: Path
    cwd: Path
    profile: str | None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    codex_home: Path | None = None

    def get(self, dotted: str, default: Any = None) -> Any:
        """The value at a dotted key (`"sandbox_workspace_write.network_access"`), or `default`."""
        node: Any = self.values
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def provider(self, provider_id: str | None = None) -> dict[str, Any]:
        """The `[model_providers.<id>]` table of `provider_id` (default: the `model_provider` key).

        Raises ConfigError naming the unknown id and the known ones."""
        provider_id = provider_id or self.get("model_provider")
        providers = self.get("model_providers", {})
        if provider_id not in providers:
            known = ", ".join(sorted(providers))
            raise ConfigError(f"model_provider: unknown provider {provider_id!r}; known: {known}")
        table = dict(providers[provider_id])
        if provider_id == "openai" and self.get("openai_base_url"):
            table["base_url"] = self.get("openai_base_url")
        return table


def codex_home(environ: Mapping[str, str] | None = None) -> Path:
    """`$CODEX_ACTORS_HOME`, else `~/.codex-actors`. Raises ConfigError if the variable names a non-directory."""
    environ = os.environ if environ is None else environ
    value = environ.get("CODEX_ACTORS_HOME")
    if not value:
        return Path.home() / ".codex-actors"
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"CODEX_ACTORS_HOME={value}: not a directory")
    return path


def codex_user_home(environ: Mapping[str, str] | None = None) -> Path:
    """Codex's home: `$CODEX_HOME`, else `$HOME/.codex` (spec agent-core 7.1). Read only, never written.
    Raises ConfigError when `$CODEX_HOME` is set but is not an existing directory (as Codex does)."""
    environ = os.environ if environ is None else environ
    value = environ.get("CODEX_HOME")
    if value:
        path = Path(value).expanduser()
        if not path.is_dir():
            raise ConfigError(f"CODEX_HOME={value}: not an existing directory")
        return path
    return Path(environ.get("HOME") or Path.home()) / ".codex"


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse one `-c key=value`: the key is a TOML dotted key, the value TOML, else a literal string.

    Returns (key path, value). Raises ConfigError for text without `=` or with an invalid key.
    Follows spec agent-core 7.2 (`-c` syntax).
    """
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key:
        raise ConfigError(f"-c {text}: expected key=value")
    try:
        # Let TOML itself split the dotted key (quoted segments included): descend until the probe value.
        probe: Any = tomllib.loads(f"{key} = 0")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"-c {text}: invalid key {key!r}: {exc}") from exc
    path: list[str] = []
    while isinstance(probe, dict):
        (name, probe), = probe.items()
        path.append(name)
    try:
        node: Any = tomllib.loads(f"{key} = {raw}")
    except tomllib.TOMLDecodeError:
        literal = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" else raw
        node = tomllib.loads(f"{key} = {json.dumps(literal)}")
    for name in path:
        node = node[name]
    return path, node


def _nest(path: list[str], value: Any) -> dict[str, Any]:
    for name in reversed(path):
        value = {name: value}
    return value  # type: ignore[return-value]


def read_toml(path: Path) -> dict[str, Any]:
    """Read one config file; raises ConfigError naming the file for unreadable or invalid TOML."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc


def find_project_root(cwd: str | os.PathLike[str], markers: Iterable[str] = (".git",)) -> Path:
    """The nearest directory at or above `cwd` holding any marker entry (file, dir or link); else `cwd`
    itself (also when `markers` is empty). Spec agent-core 7.4."""
    cwd = Path(os.path.abspath(cwd))
    markers = list(markers)
    for directory in (cwd, *cwd.parents) if markers else ():
        if any(os.path.lexists(directory / marker) for marker in markers):
            return directory
    return cwd


def load_config(
    *,
    cwd: Path | str | None = None,
    overrides: Iterable[str] = (),
    flags: Mapping[str, Any] | None = None,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
    ignore_user_config: bool = False,
) -> Config:
    """Resolve the config for a run in `cwd`.

    `overrides` are raw `-c key=value` strings; `flags` maps dotted keys to values set by dedicated CLI flags
    (`{"model": "o3", "sandbox_mode": "workspace-write"}`); `profile` is `--profile`, else the merged
    `profile` key picks one. The project layers are Codex's `.codex/config.toml` (layer `codex-project`) and
    then ours, `.codex-actors/config.toml` (layer `project`), in each directory from the project root down to
    `cwd` (deeper wins), each honoured only when that directory is trusted by the user layers or `-c`
    (`[projects."<abs path>"] trust_level = "trusted"` for the directory, else the project root, else the Git
    root; `trust.py`), as Codex does, so a cloned repository cannot widen its own sandbox; an untrusted file is
    not even parsed and gets a note. A folder that is Codex's or our home is no project folder. A trusted
    project (as decided for `cwd`) with no `sandbox_mode` set anywhere gets workspace-write (origin
    `trusted project`), as in Codex. Both user layers (Codex's and ours) are skipped with `ignore_user_config`.
    Raises ConfigError for bad files, bad values, an unknown profile.
    """
    environ = os.environ if environ is None else environ
    cwd = Path(cwd or os.getcwd()).resolve()
    home = codex_home(environ)
    layers: list[Layer] = [Layer("default", None, schema.defaults())]
    notes: list[str] = []

    user_file = home / "config.toml"
    codex_dir = codex_user_home(environ)
    if not ignore_user_config and codex_dir.resolve() != home.resolve():
        codex_file = codex_dir / "config.toml"
        if codex_file.is_file():
            layers.append(Layer("codex-user", codex_file, read_toml(codex_file)))
    if not ignore_user_config and user_file.is_file():
        layers.append(Layer("user", user_file, read_toml(user_file)))
    override_table: dict[str, Any] = {}
    for text in overrides:
        path, value = parse_override(text)
        _merge_into(override_table, _nest(path, value))
    flag_table: dict[str, Any] = {}
    for dotted, value in (flags or {}).items():
        if value is not None:
            _merge_into(flag_table, _nest(dotted.split("."), value))

    # As in Codex, the trust entries and root markers come from the user layers and -c, never from a project.
    user_merged = _merged([l.table for l in layers] + [override_table])
    root = find_project_root(cwd, user_merged.get("project_root_markers", [".git"]))
    trust = ProjectTrust.build(user_merged.get("projects"), root, cwd)
    trusted = trust.decision_for(cwd).trusted
    homes = {home.resolve(), codex_dir.resolve()}
    for directory in [root, *_between(root, cwd)]:
        for folder, layer_name in PROJECT_FOLDERS:
            project_file = directory / folder / "config.toml"
            if not project_file.is_file() or project_file.parent.resolve() in homes:
                continue
            reason = trust.disabled_reason(directory, user_file)
            if reason is None:
                layers.append(Layer(layer_name, project_file, read_toml(project_file)))
            else:
                notes.append(f"{project_file}: ignored. {reason}")

    below_profile = _merged([l.table for l in layers] + [override_table])
    profile = profile or below_profile.get("profile")
    if profile is not None:
        profiles = below_profile.get("profiles", {})
        if profile not in profiles:
            known = ", ".join(sorted(profiles)) or "none defined"
            raise ConfigError(f"profile {profile!r} not found in [profiles] (known: {known})")
        layers.append(Layer(f"profile:{profile}", None, copy.deepcopy(profiles[profile])))
    if override_table:
        layers.append(Layer("-c", None, override_table))
    if flag_table:
        layers.append(Layer("flags", None, flag_table))

    unknown: list[str] = []
    for layer in layers:
        errors, layer_unknown = schema.problems(layer.table)
        if errors:
            raise ConfigError(f"{layer.source}: {errors[0]}")
        if not layer.name.startswith("profile:"):  # a profile's keys were already seen inside its file
            unknown += [f"{key} ({layer.source})" for key in layer_unknown]

    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for layer in layers:
        _merge_into(values, copy.deepcopy(layer.table))
        for dotted in _leaves(layer.table):
            for existing in [k for k in origins if k.startswith(dotted + ".")]:
                del origins[existing]
            origins[dotted] = layer.name
    if trusted and origins.get("sandbox_mode") == "default":
        values["sandbox_mode"] = "workspace-write"
        origins["sandbox_mode"] = "trusted project"
    cross = schema.cross_key_problems(values)
    if cross:
        raise ConfigError(cross[0])
    warnings = (f"config keys not understood (ignored): {', '.join(unknown)}",) if unknown else ()
    return Config(values, origins, tuple(layers), home, cwd, profile, tuple(notes), warnings, codex_dir)


def _between(root: Path, cwd: Path) -> list[Path]:
    """Directories strictly below `root` down to `cwd` inclusive, in root-to-cwd order."""
    if root == cwd:
        return []
    chain = [d for d in (cwd, *cwd.parents) if d != root and root in d.parents]
    return list(reversed(chain))


def _merged(tables: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for t in tables:
        _merge_into(out, copy.deepcopy(t))
    return out


def _merge_into(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = value


def _leaves(table: dict[str, Any], prefix: str = "") -> Iterable[str]:
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from _leaves(value, dotted + ".")
        else:
            yield dotted
