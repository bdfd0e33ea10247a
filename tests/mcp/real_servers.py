"""Real MCP servers nobody here wrote: `mcp-server-time` / `mcp-server-fetch` (PyPI, in the test venv) and
`@modelcontextprotocol/server-everything` (npm), installed once into `$CODEX_ACTORS_MCP_CACHE` (default
`~/.cache/codex-actors-test/mcp-everything`, outside the repository)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EVERYTHING_VERSION = "2026.8.31"
VENV_BIN = Path(sys.executable).parent


def venv_command(name: str) -> str:
    """The path of a console script of the test venv (`mcp-server-time`)."""
    path = VENV_BIN / name
    assert path.exists(), f"{name} is missing from the test venv: install the `test` extra"
    return str(path)


def everything_command() -> str:
    """The `mcp-server-everything` binary, npm-installed on first use (skips, saying why, without npm)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for @modelcontextprotocol/server-everything")
    cache = Path(os.environ.get("CODEX_ACTORS_MCP_CACHE",
                                Path.home() / ".cache" / "codex-actors-test" / "mcp-everything"))
    binary = cache / "node_modules" / ".bin" / "mcp-server-everything"
    if binary.exists():
        return str(binary)
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "package.json").write_text('{"name": "codex-actors-mcp-everything", "private": true}\n')
    try:
        proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund",
                               f"@modelcontextprotocol/server-everything@{EVERYTHING_VERSION}"],
                              cwd=cache, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.skip("npm install @modelcontextprotocol/server-everything timed out (registry unreachable?)")
    if proc.returncode != 0 or not binary.exists():
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"npm install @modelcontextprotocol/server-everything failed: {tail}")
    return str(binary)
