"""Keep `import httpx` from importing httpx's command-line client (issue 21: start-up cost).

httpx's `__init__` runs `from ._main import main` inside `try: ... except ImportError:` and falls back to a stub
`main` that explains the CLI extras are missing. When click, pygments and rich happen to be installed (rich is
ours), that import succeeds and loads click, pygments and rich's progress/syntax/table modules: 60 to 90 ms of
every start-up on this machine, for a CLI this process never runs. `block_cli_import()` marks `httpx._main` as
unimportable (a `None` entry in `sys.modules`, the documented way to make an import raise ImportError) before
httpx is first imported, so httpx takes its own fallback. Only `httpx.main` (the `httpx` console command's entry,
another process) is affected.

This relies on httpx's private module layout: `TESTED_HTTPX` lists the minor versions checked
(tests/model/test_lean_httpx.py fails on any other installed version, and checks that the import still works).
"""

from __future__ import annotations

import sys

CLI_MODULE = "httpx._main"
TESTED_HTTPX = ("0.27", "0.28", "0.29")


def block_cli_import() -> None:
    """Mark httpx's CLI module unimportable, unless httpx (or that module) is already imported. Idempotent."""
    if "httpx" not in sys.modules:
        sys.modules.setdefault(CLI_MODULE, None)


def is_tested(version: str) -> bool:
    """True when httpx `version` ("0.28.1") is a minor version whose `__init__` was checked (`TESTED_HTTPX`)."""
    return ".".join(version.split(".")[:2]) in TESTED_HTTPX
