import os
from pathlib import Path

import pytest

from codex_actors.config import ConfigError, load_config, parse_override


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "sub").mkdir()
    return root


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def load(home, cwd, **kwargs):
    return load_config(cwd=cwd, environ={"CODEX_ACTORS_HOME": str(home)}, **kwargs)


def test_defaults_include_builtin_providers_and_code_mode(home, project):
    config = load(home, project)
    assert config.get("model_provider") == "openai"
    assert config.get("approval_policy") == "on-request"
    assert config.get("sandbox_mode") == "read-only"
    assert config.get("features.code_mode") is True
    assert config.get("features.code_mode_only") is False
    assert config.get("code_mode.max_heap_bytes") == 256 * 1024 * 1024
    assert config.provider("openai")["wire_api"] == "responses"
    assert config.provider("ollama")["wire_api"] == "chat"
    assert config.provider("lmstudio")["wire_api"] == "chat"
    assert config.origins["model"] == "default"


def test_each_layer_beats_the_one_below_and_origins_say_which(home, project):
    write(home / "config.toml", f"""
model = "user-model"
approval_policy = "untrusted"
sandbox_mode = "workspace-write"
history.persistence = "none"
profile = "fast"
[projects."{project}"]
trust_level = "trusted"
[profiles.fast]
model = "profile-model"
approval_policy = "never"
""")
    write(project / ".codex-actors" / "config.toml", 'model = "project-model"\nsandbox_mode = "read-only"\n'
          'project_doc_max_bytes = 10\n')
    write(project / "sub" / ".codex-actors" / "config.toml", 'project_doc_max_bytes = 20\n')
    config = load(home, project / "sub", overrides=['approval_policy="on-failure"', "model=cli-model"],
                  flags={"model": "flag-model"})
    assert config.profile == "fast"
    assert config.get("model") == "flag-model" and config.origins["model"] == "flags"
    assert config.get("approval_policy") == "on-failure" and config.origins["approval_policy"] == "-c"
    assert config.get("sandbox_mode") == "read-only" and config.origins["sandbox_mode"] == "project"
    assert config.get("project_doc_max_bytes") == 20
    assert config.get("history.persistence") == "none" and config.origins["history.persistence"] == "user"
    assert [layer.name for layer in config.layers] == ["default", "user", "project", "project", "profile:fast",
                                                        "-c", "flags"]


def test_profile_beats_project_but_minus_c_beats_profile(home, project):
    write(home / "config.toml", '[profiles.p]\nmodel = "from-profile"\n')
    assert load(home, project, profile="p").get("model") == "from-profile"
    assert load(home, project, profile="p", overrides=["model=from-c"]).get("model") == "from-c"


def test_untrusted_project_config_is_ignored_with_a_note(home, project):
    write(project / ".codex-actors" / "config.toml", 'sandbox_mode = "danger-full-access"\n')
    config = load(home, project)
    assert config.get("sandbox_mode") == "read-only"
    assert config.notes == (f"{project / '.codex-actors' / 'config.toml'}: ignored. To load config.toml, add "
                            f"{project} as a trusted project in {home / 'config.toml'}.",)


def test_override_values_parse_as_toml_else_literal_string():
    assert parse_override('model="o3"') == (["model"], "o3")
    assert parse_override("model=o3") == (["model"], "o3")
    assert parse_override("x='quoted text'") == (["x"], "quoted text")
    assert parse_override("sandbox_workspace_write.writable_roots=[\"/data\"]") == (
        ["sandbox_workspace_write", "writable_roots"], ["/data"])
    assert parse_override("features.code_mode=false") == (["features", "code_mode"], False)
    assert parse_override('model_providers.x={name="x",wire_api="chat"}') == (
        ["model_providers", "x"], {"name": "x", "wire_api": "chat"})
    assert parse_override('projects."/a.b".trust_level=trusted') == (["projects", "/a.b", "trust_level"], "trusted")
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_override("model")


def test_minus_c_provider_table_merges_over_builtin(home, project):
    config = load(home, project, overrides=["model_providers.ollama.base_url=http://127.0.0.1:9/v1",
                                            "model_provider=ollama"])
    provider = config.provider()
    assert provider["base_url"] == "http://127.0.0.1:9/v1"
    assert provider["wire_api"] == "chat"


def test_invalid_toml_names_the_file(home, project):
    path = write(home / "config.toml", "model = \n")
    with pytest.raises(ConfigError) as info:
        load(home, project)
    assert str(info.value).startswith(f"{path}: invalid TOML: ")


def test_bad_value_names_file_key_and_expectation(home, project):
    path = write(home / "config.toml", 'approval_policy = "sometimes"\n')
    with pytest.raises(ConfigError) as info:
        load(home, project)
    assert str(info.value) == (f"{path}: approval_policy: expected one of: untrusted, on-failure, on-request, "
                               "never, or { granular = { sandbox_approval, rules, mcp_elicitations } }, got 'sometimes'")
    path.write_text("")
    with pytest.raises(ConfigError, match=r"^-c: sandbox_workspace_write.network_access: expected a boolean"):
        load(home, project, overrides=["sandbox_workspace_write.network_access=maybe"])
    write(home / "config.toml", '[model_providers.x]\nwire_api = "grpc"\n')
    with pytest.raises(ConfigError, match=r"model_providers.x.wire_api: expected one of: responses, chat"):
        load(home, project)
    write(home / "config.toml", '[profiles.p]\nsandbox_mode = 3\n')
    with pytest.raises(ConfigError, match=r"profiles.p.sandbox_mode: expected one of: read-only"):
        load(home, project)


def test_unknown_profile_and_unknown_provider_are_clear(home, project):
    with pytest.raises(ConfigError, match=r"profile 'nope' not found in \[profiles\] \(known: none defined\)"):
        load(home, project, profile="nope")
    with pytest.raises(ConfigError, match=r"model_provider: unknown provider 'zz'; known: .*openai"):
        load(home, project, overrides=["model_provider=zz"]).provider()


def test_home_that_is_a_file_is_rejected(tmp_path):
    bogus = tmp_path / "file"
    bogus.write_text("")
    with pytest.raises(ConfigError, match="not a directory"):
        load_config(cwd=tmp_path, environ={"CODEX_ACTORS_HOME": str(bogus)})


def test_openai_base_url_key_overrides_the_builtin_base_url(home, project):
    config = load(home, project, overrides=["openai_base_url=http://127.0.0.1:1/v1"])
    assert config.provider("openai")["base_url"] == "http://127.0.0.1:1/v1"
