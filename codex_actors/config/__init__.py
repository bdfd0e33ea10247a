"""Layered configuration (spec agent-core 7 and "Choices for this project")."""

from codex_actors.config.loader import (
    Config,
    ConfigError,
    Layer,
    codex_home,
    find_project_root,
    load_config,
    parse_override,
)

__all__ = ["Config", "ConfigError", "Layer", "codex_home", "find_project_root", "load_config", "parse_override"]
