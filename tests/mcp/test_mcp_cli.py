import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

COMMENTED = """\
# my codex-actors settings
model = "gpt-5"  # the default model

[mcp_servers.docs]
# the docs server
command = "docs-server"
args = ["--stdio"]

[profiles.fast]
model = "small"
"""


def cli(*args, home):
    env = {**os.environ, "CODEX_ACTORS_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "codex_actors", "mcp", *args], cwd=home, env=env,
                          capture_output=True, text=True, timeout=60)


def test_add_then_remove_leaves_a_commented_config_byte_for_byte_intact(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(COMMENTED)
    added = cli("add", "echo", "--env", "TOKEN=abc", "--", "python", "-m", "echo_server", "--flag", home=tmp_path)
    assert added.returncode == 0, added.stderr
    text = config.read_text()
    assert text.startswith(COMMENTED.split("[profiles.fast]")[0])
    assert "# the docs server" in text and 'model = "small"' in text
    listed = cli("list", "--json", home=tmp_path)
    assert listed.returncode == 0, listed.stderr
    servers = {s["name"]: s for s in json.loads(listed.stdout)}
    assert servers["echo"] == {"name": "echo", "command": "python", "args": ["-m", "echo_server", "--flag"],
                               "env": {"TOKEN": "abc"}}
    assert servers["docs"]["command"] == "docs-server"

    removed = cli("remove", "echo", home=tmp_path)
    assert removed.returncode == 0, removed.stderr
    assert config.read_text() == COMMENTED


def test_list_get_and_url_servers(tmp_path):
    assert cli("add", "remote", "--url", "http://127.0.0.1:1/mcp", "--bearer-token-env-var", "TOK",
               home=tmp_path).returncode == 0
    listed = cli("list", home=tmp_path)
    assert listed.stdout.splitlines() == ["remote\thttp://127.0.0.1:1/mcp\tenabled"]
    got = cli("get", "remote", home=tmp_path)
    assert got.returncode == 0
    assert "  bearer_token_env_var: TOK" in got.stdout.splitlines()
    assert "  url: http://127.0.0.1:1/mcp" in got.stdout.splitlines()


def test_get_and_remove_of_an_unknown_server_fail_clearly(tmp_path):
    (tmp_path / "config.toml").write_text(COMMENTED)
    got = cli("get", "nope", home=tmp_path)
    assert got.returncode == 2
    assert got.stderr.strip() == "codex-actors mcp: no MCP server named 'nope'"
    removed = cli("remove", "nope", home=tmp_path)
    assert removed.returncode == 1
    assert "No MCP server named 'nope'" in removed.stderr
    assert (tmp_path / "config.toml").read_text() == COMMENTED


def test_add_needs_a_command_or_a_url(tmp_path):
    result = cli("add", "x", home=tmp_path)
    assert result.returncode == 2
    assert "give either a command after -- (stdio) or --url URL" in result.stderr
    assert not (tmp_path / "config.toml").exists()


async def test_the_readme_add_form_registers_a_real_server_package_that_a_turn_then_calls(tmp_path):
    """`codex-actors mcp add NAME -- COMMAND ARGS...` (Codex's form; argparse used to eat the `--`), with
    `mcp-server-time` from PyPI, then `mcp list` and an `exec` turn calling its tool."""
    from codex_actors.testing import function_call, response, text_message
    from tests.cli.test_exec import exec_json

    home = tmp_path / "home"
    home.mkdir()
    added = cli("add", "time", "--", sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC", home=home)
    assert added.returncode == 0, added.stderr
    listed = cli("list", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    [server] = json.loads(listed.stdout)
    assert (server["name"], server["command"], server["args"]) == \
        ("time", sys.executable, ["-m", "mcp_server_time", "--local-timezone", "UTC"])

    script = [response(function_call("mcp__time__get_current_time", {"timezone": "UTC"}, "t1")),
              response(text_message("It is now."))]
    proc, model = await exec_json(tmp_path, script, "what time is it?")
    assert proc.returncode == 0, proc.stderr.decode()
    [call] = [json.loads(line)["item"] for line in proc.stdout.decode().splitlines()
              if '"mcp_tool_call"' in line and '"item.completed"' in line]
    assert (call["server"], call["tool"], call["status"]) == ("time", "get_current_time", "completed")
    [output] = [item for item in model.requests[1].body["input"]
                if item.get("call_id") == "t1" and item["type"] == "function_call_output"]
    answer = json.loads(output["output"])
    assert answer["timezone"] == "UTC" and answer["datetime"].endswith("+00:00"), answer
