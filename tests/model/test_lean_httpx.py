"""httpx is imported without its command-line client (click, pygments, rich.syntax): start-up cost, issue 21."""

import subprocess
import sys

import httpx

from codex_actors.model.lean_httpx import is_tested

PROBE = """
import sys
from codex_actors.model.client import ModelClient
import httpx
print(sorted(m for m in ("click", "pygments", "rich.syntax", "httpx._main") if sys.modules.get(m) is not None))
print(httpx.AsyncClient.__name__)
"""


def test_the_model_client_loads_httpx_without_its_cli_modules():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    assert out == "[]\nAsyncClient\n"


def test_the_installed_httpx_is_a_version_whose_cli_import_was_checked():
    assert is_tested(httpx.__version__), (
        f"httpx {httpx.__version__}: check that its __init__ still guards `from ._main import main` with "
        "`except ImportError`, then add the version to lean_httpx.TESTED_HTTPX")
    assert not is_tested("0.30.0") and is_tested("0.27.2") and is_tested("0.29.0")
