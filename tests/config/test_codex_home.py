"""A Codex user's `~/.codex` (tests/fixtures/codex_home, a real Codex setup) read unchanged, as the lower user
layer; its AGENTS.md and auth.json key used; Codex's value shapes accepted; unknown keys warned in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from codex_actors.config import ConfigError, load_config
from codex_actors.config.codex_auth import stored_api_key
from codex_actors.mcp.config import parse_server, stdio_env
from codex_actors.runtime import RunOptions, provider_info, session_settings
from codex_actors.tools.approvals.policy import GranularApproval

FIXTURE = Path(__file__).parent.parent / "fixtures" / "codex_home"


@pytest.fixture
def codex_home(tmp_path) -> Path:
    home = tmp_path / "dot-codex"
    shutil.copytree(FIXTURE, home)
    return home


@pytest.fixture
def own_home(tmp_path) -> Path:
    return tmp_path / "dot-codex-actors"


def load(own_home: Path, codex_home: Path, cwd: Path, **kwargs):
    return load_config(cwd=cwd, environ={"CODEX_ACTORS_HOME": str(own_home), "CODEX_HOME": str(codex_home)},
                       **kwargs)


def test_a_codex_users_config_loads_unchanged_and_config_show_names_it(codex_home, own_home, tmp_path):
    config = load(own_home, codex_home, tmp_path)
    assert config.get("model") == "gpt-5.1-codex" and config.origins["model"] == "codex-user"
    assert [(l.name, l.path) for l in config.layers] == [("default", None),
                                                         ("codex-user", codex_home / "config.toml")]
    assert config.get("mcp_servers.time.startup_timeout_sec") == 20.0
    assert config.get("approval_policy") == {"granular": {"sandbox_approval": True, "rules": False,
                                                          "mcp_elicitations": True}}
    assert config.provider("azure")["query_params"] == {"api-version": "2025-04-01-preview"}
    assert config.codex_home == codex_home


def test_keys_codex_honours_and_we_do_not_give_one_warning_line_naming_each(codex_home, own_home, tmp_path):
    config = load(own_home, codex_home, tmp_path, overrides=["no_such_key=1"])
    source = codex_home / "config.toml"
    assert config.warnings == (
        f"config keys not understood (ignored): file_opener ({source}), hide_agent_reasoning ({source}), "
        f"tui ({source}), no_such_key (-c)",)


def test_our_own_user_config_beats_codex_and_ignore_user_config_skips_both(codex_home, own_home, tmp_path):
    own_home.mkdir()
    (own_home / "config.toml").write_text('model = "ours"\n')
    config = load(own_home, codex_home, tmp_path)
    assert config.get("model") == "ours" and config.origins["model"] == "user"
    assert config.get("model_verbosity") == "low" and config.origins["model_verbosity"] == "codex-user"
    bare = load(own_home, codex_home, tmp_path, ignore_user_config=True)
    assert bare.get("model") == "gpt-5.3-codex" and bare.origins["model"] == "default"
    assert [l.name for l in bare.layers] == ["default"]


def test_profiles_of_the_codex_config_apply(codex_home, own_home, tmp_path):
    config = load(own_home, codex_home, tmp_path, profile="fast")
    assert (config.get("model"), config.get("approval_policy")) == ("gpt-5.1-codex-mini", "never")
    assert config.origins["model"] == "profile:fast"


def test_mcp_servers_keep_float_timeouts_and_table_env_vars(codex_home, own_home, tmp_path):
    config = load(own_home, codex_home, tmp_path)
    time_server = parse_server("time", config.get("mcp_servers.time"))
    assert (time_server.startup_timeout_sec, time_server.tool_timeout_sec) == (20.0, 60.5)
    fetch = parse_server("fetch", config.get("mcp_servers.fetch"))
    assert fetch.transport.env_vars == ("HTTPS_PROXY", "NO_PROXY")
    assert stdio_env(fetch.transport, {"NO_PROXY": "localhost"})["NO_PROXY"] == "localhost"


def test_granular_approval_policy_becomes_the_session_policy(codex_home, own_home, tmp_path):
    settings = session_settings(load(own_home, codex_home, tmp_path), RunOptions(ephemeral=True))
    assert settings.approval_policy == GranularApproval(sandbox_approval=True, rules=False, skill_approval=False,
                                                        request_permissions=False, mcp_elicitations=True)
    assert settings.verbosity == "low"


def test_codex_agents_md_applies_until_our_home_has_one(codex_home, own_home, tmp_path):
    config = load(own_home, codex_home, tmp_path)
    assert "Always answer in British English." in session_settings(config, RunOptions()).user_instructions
    own_home.mkdir()
    (own_home / "AGENTS.md").write_text("Ours wins.\n")
    text = session_settings(config, RunOptions()).user_instructions
    assert "Ours wins." in text and "British" not in text


def test_auth_json_key_is_used_only_when_the_variables_are_unset(codex_home, own_home, tmp_path):
    info = provider_info(load(own_home, codex_home, tmp_path))
    assert info.api_key(env={}) == "sk-from-codex-auth-json"
    assert info.api_key(env={"OPENAI_API_KEY": "sk-env"}) == "sk-env"
    azure = provider_info(load(own_home, codex_home, tmp_path, profile="azure"))
    with pytest.raises(ValueError, match="AZURE_OPENAI_API_KEY"):  # not an OpenAI-auth provider
        azure.api_key(env={})
    assert sorted(p.name for p in codex_home.iterdir()) == ["AGENTS.md", "auth.json", "config.toml",
                                                            "history.jsonl"]  # nothing written there


def test_a_broken_auth_json_is_a_clear_error(tmp_path):
    (tmp_path / "auth.json").write_text("{nope")
    with pytest.raises(ConfigError, match=r"auth.json: invalid JSON"):
        stored_api_key(tmp_path)
    assert stored_api_key(tmp_path / "absent") is None


def test_codex_home_that_is_not_a_directory_is_rejected(own_home, tmp_path):
    with pytest.raises(ConfigError, match=r"^CODEX_HOME=.*: not an existing directory$"):
        load(own_home, tmp_path / "missing", tmp_path)


def test_a_trusted_project_without_sandbox_mode_gets_workspace_write(own_home, tmp_path):
    project = tmp_path / "repo"
    (project / ".git").mkdir(parents=True)
    codex = tmp_path / "codex"
    codex.mkdir()
    (codex / "config.toml").write_text(f'[projects."{project}"]\ntrust_level = "trusted"\n')
    config = load(own_home, codex, project)
    assert config.get("sandbox_mode") == "workspace-write" and config.origins["sandbox_mode"] == "trusted project"
    assert load(own_home, codex, tmp_path).get("sandbox_mode") == "read-only"  # not that project
    explicit = load(own_home, codex, project, overrides=["sandbox_mode=read-only"])
    assert explicit.get("sandbox_mode") == "read-only" and explicit.origins["sandbox_mode"] == "-c"


@pytest.mark.parametrize(("override", "message"), [
    ('approval_policy={granular={sandbox_approval=true}}',
     "approval_policy: expected granular booleans sandbox_approval, rules, mcp_elicitations"),
    ('approval_policy={granular={sandbox_approval=true, rules=1, mcp_elicitations=true}}',
     "approval_policy: expected granular booleans"),
    ('mcp_servers.x={command="x", env_vars=[{name="T", source="remote"}]}',
     "mcp_servers.x.env_vars: expected a list of names or .* \\(source 'remote' is not supported\\)"),
    ("mcp_servers.x={command='x', startup_timeout_sec=-1.5}", "mcp_servers.x.startup_timeout_sec: expected a number >= 0"),
    ("mcp_servers.x={command='x', tools={t={approval_mode='sometimes'}}}",
     "mcp_servers.x.tools.t.approval_mode: expected one of: auto, prompt, approve"),
    ('model_providers.x={base_url="http://h", wire_api="grpc"}', "model_providers.x.wire_api: expected one of: responses"),
    ('model_providers.x={base_url="http://h", stream_max_retries="5"}',
     "model_providers.x.stream_max_retries: expected an integer >= 0, got '5'"),
    ('model_providers.x={base_url="http://h", max_output_tokens=100}',
     'model_providers.x.max_output_tokens: only supported with wire_api = "chat"'),
    ('model_providers.oss.max_output_tokens=0', "model_providers.oss.max_output_tokens: expected an integer >= 1"),
    ("history.persistence=some", "history.persistence: expected one of: save-all, none"),
])
def test_bad_values_are_refused_by_the_schema_naming_the_key(override, message, own_home, tmp_path):
    codex = tmp_path / "empty"
    codex.mkdir()
    with pytest.raises(ConfigError, match=message):
        load(own_home, codex, tmp_path, overrides=[override])


def test_a_selected_provider_without_base_url_is_refused(own_home, tmp_path):
    codex = tmp_path / "empty"
    codex.mkdir()
    with pytest.raises(ConfigError, match=r"^model_providers.x.base_url: required"):
        load(own_home, codex, tmp_path, overrides=['model_providers.x={name="x"}', "model_provider=x"])
