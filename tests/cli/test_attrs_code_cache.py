"""attrs' generated methods kept across processes (`codex_actors/cli/attrs_code_cache.py`): a later process loads
them instead of compiling, and the classes behave exactly as attrs builds them (repr, eq, hash, frozen, defaults),
whatever the process's hash seed; bad files are compiled again; nothing is written when bytecode is not."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys

import attr._make

from codex_actors.cli import attrs_code_cache
from codex_actors.cli.attrs_code_cache import PLACEHOLDER, canonical_script, with_constant

PROBE = r"""
import json, sys
from codex_actors.cli import attrs_code_cache as cache
assert sys.argv[1] == "off" or cache.install(sys.argv[1])
import attrs

@attrs.frozen
class Point:
    x: int
    y: int = attrs.field(default=0, converter=int)

@attrs.frozen
class Empty:
    pass

@attrs.define
class Box:
    items: list = attrs.Factory(list)

point = Point(1, "2")
try:
    point.x = 5
    frozen = "not frozen"
except attrs.exceptions.FrozenInstanceError:
    frozen = "frozen"
box = Box()
box.items.append(3)
print(json.dumps({
    "stats": cache.stats,
    "repr": [repr(point), repr(Empty()), repr(box)],
    "eq": [point == Point(1, 2), point == Point(1, 3), Box() == Box()],
    # attrs' own hash: the hash of (hash of "<attrs generated hash MODULE.CLASS>", the fields...)
    "hash": [hash(point) == hash((hash("<attrs generated hash __main__.Point>"), 1, 2)),
             hash(Empty()) == hash((hash("<attrs generated hash __main__.Empty>"),))],
    "frozen": frozen,
    "default": Point(7).y,
    "annotations": repr(Point.__init__.__annotations__),
}))
"""


def probe(directory, *, seed: str, write: bool = True) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONHASHSEED"] = seed
    if not write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(directory)], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


EXPECTED = {
    "repr": ["Point(x=1, y=2)", "Empty()", "Box(items=[3])"],
    "eq": [True, False, True],
    "hash": [True, True],
    "frozen": "frozen",
    "default": 0,
}


def behaviour(result: dict) -> dict:
    """The probe's answers without its counters; `annotations` is compared with attrs' own (`probe("off")`)."""
    return {key: value for key, value in result.items() if key != "stats"}


def test_attrs_own_answers_are_the_expected_ones():
    own = behaviour(probe("off", seed="0"))
    assert own.pop("annotations").startswith("{") and own == EXPECTED


def test_a_later_process_loads_the_methods_and_they_behave_as_attrs_builds_them(tmp_path):
    own = behaviour(probe("off", seed="0"))
    first = probe(tmp_path, seed="1")
    assert behaviour(first) == own
    assert first["stats"]["hits"] == 0 and first["stats"]["misses"] >= 3
    assert first["stats"]["writes"] == first["stats"]["misses"] == len(os.listdir(tmp_path))
    second = probe(tmp_path, seed="2")  # another hash seed: another type hash in every __hash__
    assert behaviour(second) == own
    assert second["stats"] == {"hits": first["stats"]["misses"], "misses": 0, "writes": 0}


def test_unreadable_or_foreign_files_are_compiled_again_and_replaced(tmp_path):
    first = probe(tmp_path, seed="3")
    names = sorted(os.listdir(tmp_path))
    (tmp_path / names[0]).write_bytes(b"not marshal data")
    (tmp_path / names[1]).write_bytes(__import__("marshal").dumps(("<other file>", "x = 1", compile("1", "f", "eval"))))
    again = probe(tmp_path, seed="4")
    assert behaviour(again) == behaviour(first)
    assert again["stats"] == {"hits": first["stats"]["misses"] - 2, "misses": 2, "writes": 2}
    assert probe(tmp_path, seed="5")["stats"]["misses"] == 0


def test_nothing_is_written_when_python_writes_no_bytecode(tmp_path):
    result = probe(tmp_path / "cache", seed="6", write=False)
    assert behaviour(result) == behaviour(probe("off", seed="6"))
    assert result["stats"]["writes"] == 0 and not (tmp_path / "cache").exists()


def test_the_type_hash_is_put_back_into_the_compiled_constants():
    for fields in ("\n        self.a,", ""):  # with no field, `(N,)` is folded into one constant
        script = ("def __hash__(self):\n        return hash((\n                -4097894240111679546,"
                  f"{fields}\n            ))")
        canonical, value = canonical_script(script)
        assert value == -4097894240111679546 and str(PLACEHOLDER) in canonical and str(value) not in canonical
        namespace: dict = {}
        exec(with_constant(compile(canonical, "<f>", "exec"), PLACEHOLDER, value), namespace)
        own: dict = {}
        exec(compile(script, "<f>", "exec"), own)
        instance = type("Instance", (), {"a": "x"})()
        assert namespace["__hash__"](instance) == own["__hash__"](instance)
        assert namespace["__hash__"].__code__.co_consts == own["__hash__"].__code__.co_consts
        assert namespace["__hash__"].__code__.co_code == own["__hash__"].__code__.co_code
    assert canonical_script("def __init__(self): pass") == ("def __init__(self): pass", None)


def test_the_installed_attrs_is_a_tested_version_read_without_importlib_metadata():
    version = attrs_code_cache.attrs_version()
    assert version == importlib.metadata.version("attrs")
    assert attrs_code_cache.is_tested(version), (
        f"attrs {version} is not in TESTED_ATTRS: check attr._make._compile_and_eval, then add it")
    own = attr._make._compile_and_eval  # attrs' own, also once an in-process `main()` installed the cache
    own = getattr(own, "__wrapped__", own)
    assert own.__module__ == "attr._make"
    assert own.__code__.co_varnames[:4] == ("script", "globs", "locs", "filename")


def test_an_untested_attrs_is_left_alone(tmp_path):
    code = ("import sys\nfrom attr import _make\nfrom codex_actors.cli import attrs_code_cache as cache\n"
            "original = _make._compile_and_eval\ncache.attrs_version = lambda: '99.0.0'\n"
            "print(cache.install(sys.argv[1]), _make._compile_and_eval is original)")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["False", "True"], proc.stderr
    assert not attrs_code_cache.is_tested("25.1.0") and attrs_code_cache.is_tested("26.1.3")


def test_the_cli_installs_it_for_a_subcommand_but_not_for_help():
    code = ("import sys\nfrom attr import _make\nfrom codex_actors.cli.main import main\ntry:\n"
            "    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(getattr(_make._compile_and_eval, 'codex_code_cache', None) is not None)")
    for argv, installed in ((["--help"], "False"), (["sessions", "--help"], "True")):
        proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
        assert proc.stdout.splitlines()[-1] == installed, proc.stderr
