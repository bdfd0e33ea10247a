import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cli(*args, home, cwd):
    env = {**os.environ, "CODEX_ACTORS_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "codex_actors", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_config_show_prints_each_key_with_its_layer(tmp_path):
    (tmp_path / "config.toml").write_text('model = "from-user"\n')
    result = cli("config", "show", "-c", "approval_policy=never", home=tmp_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("model " in l and '"from-user"' in l and "user" in l for l in lines)
    assert any("approval_policy" in l and '"never"' in l and "-c" in l for l in lines)


def test_config_show_json_for_machines(tmp_path):
    result = cli("config", "show", "--json", "-c", "model=x", home=tmp_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["values"]["model"] == "x"
    assert payload["origins"]["model"] == "-c"
    assert payload["origins"]["sandbox_mode"] == "default"


def test_bad_config_is_one_line_exit_1_no_traceback(tmp_path):
    (tmp_path / "config.toml").write_text("sandbox_mode = 'open'\n")
    result = cli("config", "show", home=tmp_path, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"codex-actors config: {tmp_path / 'config.toml'}: sandbox_mode: expected one of: read-only, "
        "workspace-write, danger-full-access, got 'open'"]


def test_help_does_not_import_trio_httpx_or_v8():
    code = ("import sys\nfrom codex_actors.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('trio', 'httpx', 'py_mini_racer', 'rich') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_config_show_at_80_columns_never_splits_a_key(tmp_path):
    """Piped at 80 columns: every key name appears whole on one line (values wrap instead)."""
    table = '{name="x",base_url="http://127.0.0.1:9/v1/a/rather/long/path/that/must/wrap",env_key="OPENAI_API_KEY"}'
    args = ("config", "show", "-c", f"model_providers.x={table}")
    keys = json.loads(cli(*args, "--json", home=tmp_path, cwd=tmp_path).stdout)["origins"]
    env = {**os.environ, "CODEX_ACTORS_HOME": str(tmp_path), "COLUMNS": "80"}
    result = subprocess.run([sys.executable, "-m", "codex_actors", *args], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    words = {word for line in lines for word in line.split()}
    missing = [key for key in keys if key not in words]
    assert not missing, f"keys broken across lines: {missing}\n{result.stdout}"
    assert any("model_providers.x.base_url" in line for line in lines)
    assert "/wrap" in result.stdout.replace("\n", "").replace(" ", "")
