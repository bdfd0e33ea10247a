"""SandboxPolicy: what a sandboxed command may read, write and reach (spec 5.1).

The launcher imports this module on every command start, so it imports only `os`: its
value objects are frozen classes written out here (`_Value`), not dataclasses or attrs, whose imports
(`dataclasses` pulls in `inspect`, `ast`, `dis`, `tokenize`; `typing` its own weight) cost the launcher about
15 ms of CPU per command. They are converted to the spec's JSON shape with `to_json`/`from_json`.
"""

from __future__ import annotations

import os
from _collections_abc import Mapping  # what `collections.abc` re-exports, already loaded by `os`

READ_ONLY = "read-only"
WORKSPACE_WRITE = "workspace-write"
DANGER_FULL_ACCESS = "danger-full-access"
MODES = (READ_ONLY, WORKSPACE_WRITE, DANGER_FULL_ACCESS)

# Top-level names that stay read-only inside every writable root (spec 5.1; `.codex-actors` is ours).
PROTECTED_NAMES = (".git", ".codex", ".agents", ".codex-actors")
# Protected in the cwd's root even before they exist (spec 5.1), so a command cannot create one and plant config.
PROTECTED_EVEN_WHEN_MISSING = (".codex", ".codex-actors")

_WORKSPACE_KEYS = {"writable_roots", "network_access", "exclude_tmpdir_env_var", "exclude_slash_tmp"}


class SandboxUnavailable(Exception):
    """The kernel (or the process's privileges) cannot enforce the requested policy; the command must not run."""


class _Value:
    """A frozen value object, as `dataclasses.dataclass(frozen=True)` makes one: the fields named by `_FIELDS`
    are set once in `__init__` (through `_set`), then compared (same class only), hashed and shown in that order;
    assigning or deleting an attribute raises AttributeError."""

    _FIELDS: tuple[str, ...] = ()

    def _set(self, **fields: object) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self._FIELDS)})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")


class WritableRoot(_Value):
    """An absolute, resolved directory the command may write, minus `read_only_subpaths` (absolute; all exist
    but the cwd root's `PROTECTED_EVEN_WHEN_MISSING` entries, which are listed whether they exist or not)."""

    _FIELDS = ("root", "read_only_subpaths")
    root: str
    read_only_subpaths: tuple[str, ...]

    def __init__(self, root: str, read_only_subpaths: tuple[str, ...] = ()) -> None:
        self._set(root=root, read_only_subpaths=read_only_subpaths)

    def allows(self, path: str) -> bool:
        """True when absolute, normalised `path` is inside the root and outside every read-only subpath."""
        return _is_within(path, self.root) and not any(_is_within(path, p) for p in self.read_only_subpaths)


def _is_within(path: str, root: str) -> bool:
    """`path` equals `root` or lies below it (both absolute and normalised; compared as strings)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


class SandboxPolicy(_Value):
    """A sandbox policy (spec 5.1): `mode` is `read-only`, `workspace-write` or `danger-full-access`.

    `writable_roots` (absolute paths) and the two `exclude_*` flags only matter for workspace-write;
    `network_access` for read-only and workspace-write (danger-full-access always has network).
    Build it from config values with `SandboxPolicy.from_config(mode, workspace_write_table)`.
    Raises `ValueError` with a readable message for an unknown mode, a bad key or a relative root.
    """

    _FIELDS = ("mode", "writable_roots", "network_access", "exclude_tmpdir_env_var", "exclude_slash_tmp")
    mode: str
    writable_roots: tuple[str, ...]
    network_access: bool
    exclude_tmpdir_env_var: bool
    exclude_slash_tmp: bool

    def __init__(self, mode: str = READ_ONLY, writable_roots: tuple[str, ...] = (), network_access: bool = False,
                 exclude_tmpdir_env_var: bool = False, exclude_slash_tmp: bool = False) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown sandbox mode {mode!r}; expected one of {', '.join(MODES)}")
        for root in writable_roots:
            if not isinstance(root, str) or not os.path.isabs(root):
                raise ValueError(f"sandbox_workspace_write.writable_roots must be absolute paths, got {root!r}")
        self._set(mode=mode, writable_roots=writable_roots, network_access=network_access,
                  exclude_tmpdir_env_var=exclude_tmpdir_env_var, exclude_slash_tmp=exclude_slash_tmp)

    # -- construction --------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, mode: str | None, workspace_write: Mapping[str, object] | None = None) -> "SandboxPolicy":
        """From config values: `sandbox_mode` (None = read-only) and the `[sandbox_workspace_write]` table."""
        table = dict(workspace_write or {})
        unknown = set(table) - _WORKSPACE_KEYS
        if unknown:
            raise ValueError(f"unknown key(s) in sandbox_workspace_write: {', '.join(sorted(unknown))}")
        mode = mode or READ_ONLY
        if mode == WORKSPACE_WRITE:
            roots = table.get("writable_roots", [])
            if isinstance(roots, str) or not isinstance(roots, (list, tuple)):
                raise ValueError("sandbox_workspace_write.writable_roots must be a list of absolute paths")
            return cls(
                mode,
                tuple(roots),
                _flag(table, "network_access"),
                _flag(table, "exclude_tmpdir_env_var"),
                _flag(table, "exclude_slash_tmp"),
            )
        if mode == READ_ONLY:
            return cls(mode, network_access=_flag(table, "network_access"))
        return cls(mode)

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> "SandboxPolicy":
        """Inverse of `to_json` (the spec's tagged shape, `type` in kebab-case)."""
        kind = obj.get("type")
        rest = {k: v for k, v in obj.items() if k != "type"}
        if kind == WORKSPACE_WRITE:
            return cls.from_config(kind, rest)
        if kind == READ_ONLY:
            return cls(kind, network_access=bool(rest.get("network_access", False)))
        return cls(kind)

    def to_json(self) -> dict[str, object]:
        """The spec 5.1 JSON shape: `{"type": mode, ...fields of that mode}`."""
        if self.mode == WORKSPACE_WRITE:
            return {
                "type": self.mode,
                "writable_roots": list(self.writable_roots),
                "network_access": self.network_access,
                "exclude_tmpdir_env_var": self.exclude_tmpdir_env_var,
                "exclude_slash_tmp": self.exclude_slash_tmp,
            }
        if self.mode == READ_ONLY:
            return {"type": self.mode, "network_access": self.network_access}
        return {"type": self.mode}

    # -- questions -----------------------------------------------------------------------------------
    @property
    def is_unrestricted(self) -> bool:
        """True for danger-full-access: no sandbox at all."""
        return self.mode == DANGER_FULL_ACCESS

    @property
    def network_blocked(self) -> bool:
        return self.mode != DANGER_FULL_ACCESS and not self.network_access

    def env_overrides(self) -> dict[str, str]:
        """Variables the spawned command gets because of the policy (`CODEX_SANDBOX_NETWORK_DISABLED=1`)."""
        return {"CODEX_SANDBOX_NETWORK_DISABLED": "1"} if self.network_blocked else {}

    def effective_writable_roots(self, cwd: str, env: Mapping[str, str] | None = None) -> list[WritableRoot]:
        """Spec 5.1 roots for workspace-write, resolved against `cwd`: configured roots + cwd + /tmp + $TMPDIR.

        Each root is resolved (symlinks followed) and paired with its existing protected top-level entries
        (`.git` plus the `gitdir:` target of a worktree pointer file, `.codex`, `.agents`, `.codex-actors`; an
        entry that is a symlink is listed as its resolved target);
        the cwd's root also lists `.codex` and `.codex-actors` when they do not exist yet (as codex-rs's
        `protect_missing_dot_codex`; the launcher creates a placeholder to bind read-only, placeholders.py).
        Roots that do not exist are left out. Empty for the other modes.
        """
        if self.mode != WORKSPACE_WRITE:
            return []
        env = os.environ if env is None else env
        candidates = [*self.writable_roots, cwd]
        if not self.exclude_slash_tmp:
            candidates.append("/tmp")
        if not self.exclude_tmpdir_env_var and env.get("TMPDIR"):
            candidates.append(env["TMPDIR"])
        cwd_root = os.path.realpath(cwd)
        seen: dict[str, WritableRoot] = {}
        for candidate in candidates:
            real = os.path.realpath(os.path.join(cwd, candidate))
            if real in seen or not os.path.isdir(real):
                continue
            seen[real] = WritableRoot(real, _protected_subpaths(real, protect_missing=real == cwd_root))
        return list(seen.values())


def _flag(table: Mapping[str, object], key: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"sandbox_workspace_write.{key} must be true or false, got {value!r}")
    return value


def _protected_subpaths(root: str, *, protect_missing: bool) -> tuple[str, ...]:
    found: list[str] = []
    for name in PROTECTED_NAMES:
        path = os.path.join(root, name)
        if not os.path.lexists(path):
            if protect_missing and name in PROTECTED_EVEN_WHEN_MISSING:
                found.append(path)
            continue
        if os.path.islink(path):
            # A mount cannot sit on a symlink: protect what it points to, as bubblewrap's --ro-bind does (a
            # dangling link protects nothing, since nothing can be written through it).
            path = os.path.realpath(path)
            if not os.path.isdir(path) and not os.path.isfile(path):
                continue
        found.append(path)
        if name == ".git" and os.path.isfile(path):
            target = _gitdir_target(path)
            if target:
                found.append(target)
    return tuple(found)


def _gitdir_target(pointer_file: str) -> str | None:
    try:
        with open(pointer_file, encoding="utf-8") as handle:
            first = handle.readline().strip()
    except OSError:
        return None
    if not first.startswith("gitdir:"):
        return None
    target = os.path.join(os.path.dirname(pointer_file), first[len("gitdir:"):].strip())
    target = os.path.realpath(target)
    return target if os.path.exists(target) else None
