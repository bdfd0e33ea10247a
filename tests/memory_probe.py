"""Peak-memory checks that can fail: the scenario runs in a fresh interpreter, whose all-time peak RSS
(`ru_maxrss`) starts at the imports, so its growth is the scenario's own. (Measured in the pytest process, an
earlier test's higher peak hid any growth.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import trio

REPO = Path(__file__).resolve().parents[1]

_CHILD = """
import importlib, json, resource, sys
import trio
scenario = getattr(importlib.import_module(sys.argv[1]), sys.argv[2])

async def main():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = await scenario()
    result["peak_growth_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(json.dumps(result))

trio.run(main)
"""


async def run_measured(module: str, scenario: str, *, timeout_s: float = 120) -> dict[str, Any]:
    """Run `await module.scenario()` (an async function returning a JSON-able dict) in a fresh interpreter and
    return its dict plus `peak_growth_kib`: how far the peak RSS rose during the scenario (KiB). Raises
    AssertionError with the child's stderr when it fails."""
    with trio.fail_after(timeout_s):
        proc = await trio.run_process([sys.executable, "-c", _CHILD, module, scenario], cwd=REPO,
                                      capture_stdout=True, capture_stderr=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])
