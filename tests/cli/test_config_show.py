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
