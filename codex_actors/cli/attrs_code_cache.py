"""Reuse the methods attrs compiles for each class across processes (issue 21: start-up cost).

attrs writes the source of a class's methods (`__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__`, ...)
when the class is defined and compiles it: ~120 ms of the ~500 ms of CPU that `codex-actors exec` spent before its
first model request on this machine, for ~220 classes (ours, trio's, cattrs'). That source is the same in every
process for the same class definitions, so `install()` keeps each compiled code object on disk, next to this
package's bytecode (`codex_actors/__pycache__/attrs-<python tag>[-O<level>]/`, below `sys.pycache_prefix` when that
is set), and later processes load it with `marshal` instead of compiling, as Python does with a module's `.pyc`.

A file holds `(filename, source, code)` and is used only when both strings equal the script being compiled, so a
stale, foreign or colliding file costs a compile, never a wrong method. Files are written only when Python writes
bytecode (`sys.dont_write_bytecode`, `PYTHONDONTWRITEBYTECODE`), atomically (a temporary file renamed over), and
any error reading or writing one falls back to compiling; after a failed write this process writes no more.

Below attrs' public API: `install()` replaces `attr._make._compile_and_eval(script, globs, locs, filename)`, the
one function through which attrs compiles generated code, keeping what it does (compile with the future flags of
`attr._make`, then `eval` in `globs` / `locs`). `TESTED_ATTRS` lists the minor versions checked; with any other
installed attrs, `install()` leaves attrs alone and returns False (tests/cli/test_attrs_code_cache.py fails then,
so the new version gets looked at).
"""

from __future__ import annotations

import os
import re
import sys
from types import CodeType
from typing import Any, Mapping

TESTED_ATTRS = ("26.1",)
"""attrs minor versions whose `attr._make._compile_and_eval` was checked against this module."""
_SIGNATURE = ("script", "globs", "locs", "filename")
PLACEHOLDER = -(2**63) + 1
"""What a cached `__hash__` holds instead of attrs' type hash (`canonical_script`): 20 characters, as long as the
longest 64-bit hash (a type hash equal to it would be put back as itself)."""
_TYPE_HASH = re.compile(r"(hash\(\(\n[ ]*)(-?\d+)(,\n)")  # attrs' _make_hash_script: `hash((` then the type hash

stats = {"hits": 0, "misses": 0, "writes": 0}
"""Counts of this process: scripts loaded from files, compiled, and files written (for tests and benchmarks)."""


def is_tested(version: str) -> bool:
    """True when attrs `version` ("26.1.0") is a minor version listed in `TESTED_ATTRS`."""
    return ".".join(version.split(".")[:2]) in TESTED_ATTRS


def attrs_version() -> str | None:
    """The installed attrs version from its `attrs-<version>.dist-info` folder beside the `attr` package, else
    None. (`attr.__version__` would import `importlib.metadata`, ~10 ms, which start-up does not otherwise need.)"""
    import attr

    site = os.path.dirname(os.path.dirname(os.path.abspath(attr.__file__)))
    try:
        names = os.listdir(site)
    except OSError:
        return None
    for name in names:
        if name.startswith("attrs-") and name.endswith(".dist-info"):
            return name[len("attrs-"):-len(".dist-info")]
    return None


def default_directory() -> str:
    """`codex_actors/__pycache__/attrs-<cache tag>[-O<level>]`, below `sys.pycache_prefix` when set."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    name = f"attrs-{sys.implementation.cache_tag}" + (f"-O{sys.flags.optimize}" if sys.flags.optimize else "")
    if sys.pycache_prefix:
        return os.path.join(sys.pycache_prefix, package.lstrip(os.sep), name)
    return os.path.join(package, "__pycache__", name)


def install(directory: str | None = None) -> bool:
    """Make attrs load and keep its generated code in `directory` (default `default_directory()`) from now on.
    Returns True when installed (or already), False when the installed attrs is not one of `TESTED_ATTRS` or its
    private function does not have the expected shape (attrs then runs unchanged)."""
    from attr import _make

    current = _make._compile_and_eval
    if getattr(current, "codex_code_cache", None) is not None:
        return True
    version = attrs_version()
    if version is None or not is_tested(version):
        return False
    if current.__code__.co_varnames[:4] != _SIGNATURE:
        return False
    replacement = _cached_compile_and_eval(directory or default_directory(), _future_flags(_make))
    replacement.__wrapped__ = current  # attrs' own, as functools.wraps would record it
    _make._compile_and_eval = replacement
    return True


def _future_flags(module: Any) -> int:
    """The compiler flags of the `from __future__ import ...` statements of `module` (what its `compile` calls
    inherit)."""
    import __future__

    flags = 0
    for name in __future__.all_feature_names:
        feature = getattr(__future__, name)
        if module.__dict__.get(name) is feature:
            flags |= feature.compiler_flag
    return flags


def canonical_script(script: str) -> tuple[str, int | None]:
    """`(script with its type hash replaced by PLACEHOLDER, the type hash)`, or `(script, None)` when it has none.
    attrs writes `hash(<a name of the class>)` into each `__hash__` as a number (`return hash((\n  -409789,\n
    self.a, ...))`), and `str` hashes differ per process (PYTHONHASHSEED), so the script is
    cached with `PLACEHOLDER` there and the process's number put back into the compiled constants
    (`with_constant`). The code then differs from attrs' own only in the end column recorded for that one constant
    (the placeholder is 20 characters long), which no traceback shows: loading a constant cannot fail."""
    matches = list(_TYPE_HASH.finditer(script))
    if len(matches) != 1 or str(PLACEHOLDER) in script:
        return script, None
    start, end = matches[0].span(2)
    return script[:start] + str(PLACEHOLDER) + script[end:], int(matches[0].group(2))


def with_constant(code: Any, placeholder: int, value: int) -> Any:
    """`code` with every constant `placeholder` (also inside constant tuples and nested code) replaced by `value`;
    `code` itself when it holds none."""
    consts = list(code.co_consts)
    changed = False
    for index, const in enumerate(consts):
        if type(const) is int and const == placeholder:
            consts[index] = value
        elif type(const) is tuple and placeholder in const:
            consts[index] = tuple(value if type(item) is int and item == placeholder else item for item in const)
        elif type(const) is CodeType:
            consts[index] = with_constant(const, placeholder, value)
            if consts[index] is const:
                continue
        else:
            continue
        changed = True
    return code.replace(co_consts=tuple(consts)) if changed else code


def _cached_compile_and_eval(directory: str, flags: int) -> Any:
    import hashlib
    import marshal

    state = {"write": not sys.dont_write_bytecode}

    def compile_and_eval(script: str, globs: dict[str, Any] | None, locs: Mapping[str, object] | None = None,
                         filename: str = "") -> None:
        canonical, value = canonical_script(script)
        key = hashlib.sha1(f"{filename}\0{canonical}".encode(), usedforsecurity=False).hexdigest()
        path = os.path.join(directory, key)
        code = None
        try:
            with open(path, "rb") as file:
                stored = marshal.loads(file.read())
            if type(stored) is tuple and len(stored) == 3 and stored[0] == filename and stored[1] == canonical \
                    and type(stored[2]) is CodeType:
                code = stored[2]
        except (OSError, ValueError, EOFError, TypeError):
            code = None
        if code is not None:
            stats["hits"] += 1
        else:
            stats["misses"] += 1
            code = compile(canonical, filename, "exec", flags=flags, dont_inherit=True)
            if state["write"]:
                state["write"] = _write(path, marshal.dumps((filename, canonical, code)))
        if value is not None:
            code = with_constant(code, PLACEHOLDER, value)
        eval(code, globs, locs)

    compile_and_eval.codex_code_cache = directory  # type: ignore[attr-defined]
    return compile_and_eval


def _write(path: str, data: bytes) -> bool:
    """Write `data` to `path` atomically; False when that failed (read-only tree, full disk)."""
    import _thread

    temporary = f"{path}.{os.getpid()}.{_thread.get_ident()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return False
    stats["writes"] += 1
    return True
