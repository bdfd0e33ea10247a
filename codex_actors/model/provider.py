"""Model providers: one `[model_providers.<id>]` config table as a `ProviderInfo` (spec agent-core 3.5).

Import-light on purpose (attrs and the standard library only): the config module reads `BUILTIN_PROVIDERS`
from here without loading httpx or trio.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from typing import Any

import attrs

DEFAULT_REQUEST_MAX_RETRIES = 4
DEFAULT_STREAM_MAX_RETRIES = 5
DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000
DEFAULT_WEBSOCKET_CONNECT_TIMEOUT_MS = 15_000
MAX_RETRIES = 100

# Built-in providers as plain config tables (spec 3.5). `openai`'s base_url yields to $OPENAI_BASE_URL and its
# key may also come from $CODEX_API_KEY; `oss`'s base_url yields to $CODEX_ACTORS_OSS_BASE_URL. Both overrides are
# applied by `ProviderInfo.from_table`. `oss` is what `--oss` picks: any local OpenAI-compatible chat server
# (Ollama's port by default; llama-cpp-python's or vLLM's server with the base URL set).
BUILTIN_PROVIDERS: dict[str, dict[str, Any]] = {
    "openai": {
        "name": "OpenAI",
        "base_url": "https://api.openai.com/v1",
        "env_key": "OPENAI_API_KEY",
        "env_key_instructions": "Create an API key at https://platform.openai.com/api-keys and export it.",
        "wire_api": "responses",
        "supports_websockets": True,
        "env_http_headers": {"OpenAI-Organization": "OPENAI_ORGANIZATION", "OpenAI-Project": "OPENAI_PROJECT"},
    },
    "ollama": {"name": "Ollama", "base_url": "http://localhost:11434/v1", "wire_api": "chat"},
    "lmstudio": {"name": "LM Studio", "base_url": "http://localhost:1234/v1", "wire_api": "chat"},
    "oss": {"name": "Local model server", "base_url": "http://localhost:11434/v1", "wire_api": "chat"},
}

OSS_PROVIDER = "oss"
OSS_BASE_URL_ENV = "CODEX_ACTORS_OSS_BASE_URL"

# Providers that are a server on the user's own machine, and how to start each: a refused connection to one of
# them is reported with this advice instead of being retried (see `ProviderInfo.local_server_hint`).
_LOCAL_SERVER_HINTS = {
    "oss": f"start one with `ollama serve` (or set {OSS_BASE_URL_ENV})",
    "ollama": "start one with `ollama serve`",
    "lmstudio": "start one with `lms server start` (LM Studio)",
}

_OPENAI_KEY_FALLBACK = "CODEX_API_KEY"


class ProviderError(ValueError):
    """A provider table is invalid, or its API key variable is not set. The message names the key or variable."""


@attrs.frozen
class ProviderInfo:
    """One model provider. Durations in milliseconds. `wire_api` is "responses" or "chat".

    `max_output_tokens` (tokens, chat wire only, None = no cap): sent as `max_tokens` on each chat request so
    that a small local model cannot generate until its context window is full; an answer cut at the cap ends
    the response with what was generated (see `codex_actors.model.chat`)."""

    id: str
    base_url: str
    name: str = ""
    env_key: str | None = None
    env_key_instructions: str | None = None
    experimental_bearer_token: str | None = None
    wire_api: str = "responses"
    query_params: dict[str, str] = attrs.field(factory=dict)
    http_headers: dict[str, str] = attrs.field(factory=dict)
    env_http_headers: dict[str, str] = attrs.field(factory=dict)
    request_max_retries: int = DEFAULT_REQUEST_MAX_RETRIES
    stream_max_retries: int = DEFAULT_STREAM_MAX_RETRIES
    stream_idle_timeout_ms: int = DEFAULT_STREAM_IDLE_TIMEOUT_MS
    supports_websockets: bool = False
    websocket_connect_timeout_ms: int = DEFAULT_WEBSOCKET_CONNECT_TIMEOUT_MS
    max_output_tokens: int | None = None
    requires_openai_auth: bool = False
    stored_api_key: str | None = attrs.field(default=None, repr=False)

    @classmethod
    def from_table(
        cls, provider_id: str, table: Mapping[str, Any], env: Mapping[str, str] | None = None, *,
        stored_api_key: str | None = None,
    ) -> ProviderInfo:
        """Build from a config table (plain dict, spec 3.5) that the config schema already checked (key types,
        bounds, `max_output_tokens` only on the chat wire, where a response cut at the cap is an answer rather
        than a retried `response.incomplete`). `env` defaults to `os.environ` and is read only for the base URL
        overrides `OPENAI_BASE_URL` (provider `openai`) and `CODEX_ACTORS_OSS_BASE_URL` (provider `oss`), which
        beat the table's `base_url` when set and non-empty. Retries are capped at 100. `stored_api_key`: the key
        of Codex's `auth.json`, used by a provider that `requires_openai_auth` (default for `openai`) when its
        variables are unset."""
        env = os.environ if env is None else env
        base_url = table.get("base_url") or ""
        if provider_id == "openai" and env.get("OPENAI_BASE_URL"):
            base_url = env["OPENAI_BASE_URL"]
        if provider_id == OSS_PROVIDER and env.get(OSS_BASE_URL_ENV):
            base_url = env[OSS_BASE_URL_ENV]
        return cls(
            id=provider_id,
            base_url=base_url.rstrip("/"),
            name=table.get("name") or provider_id,
            env_key=table.get("env_key"),
            env_key_instructions=table.get("env_key_instructions"),
            experimental_bearer_token=table.get("experimental_bearer_token"),
            wire_api=table.get("wire_api", "responses"),
            query_params=dict(table.get("query_params") or {}),
            http_headers=dict(table.get("http_headers") or {}),
            env_http_headers=dict(table.get("env_http_headers") or {}),
            request_max_retries=min(table.get("request_max_retries", DEFAULT_REQUEST_MAX_RETRIES), MAX_RETRIES),
            stream_max_retries=min(table.get("stream_max_retries", DEFAULT_STREAM_MAX_RETRIES), MAX_RETRIES),
            stream_idle_timeout_ms=table.get("stream_idle_timeout_ms", DEFAULT_STREAM_IDLE_TIMEOUT_MS),
            supports_websockets=table.get("supports_websockets", False),
            websocket_connect_timeout_ms=table.get("websocket_connect_timeout_ms",
                                                   DEFAULT_WEBSOCKET_CONNECT_TIMEOUT_MS),
            max_output_tokens=table.get("max_output_tokens"),
            requires_openai_auth=table.get("requires_openai_auth", provider_id == "openai"),
            stored_api_key=stored_api_key,
        )

    @property
    def local_server_hint(self) -> str | None:
        """For the built-in local-server providers (`oss`, `ollama`, `lmstudio`): how to start the server, as a
        clause for the one-line "no local model server at {base_url}: {hint}" error. None for other providers."""
        return _LOCAL_SERVER_HINTS.get(self.id)

    def api_key(self, env: Mapping[str, str] | None = None) -> str | None:
        """The bearer token: `experimental_bearer_token`, else `$env_key` (for `openai` also `$CODEX_API_KEY`),
        else (providers that `requires_openai_auth`) the `stored_api_key` from Codex's auth.json. None when the
        provider needs no key. Raises ProviderError naming the variable when none of these is set."""
        env = os.environ if env is None else env
        if self.experimental_bearer_token:
            return self.experimental_bearer_token
        if not self.env_key:
            return None
        key = env.get(self.env_key, "").strip()
        if not key and self.id == "openai":
            key = env.get(_OPENAI_KEY_FALLBACK, "").strip()
        if not key and self.requires_openai_auth and self.stored_api_key:
            key = self.stored_api_key
        if key:
            return key
        message = f"Missing environment variable: `{self.env_key}`."
        if self.env_key_instructions:
            message += f" {self.env_key_instructions}"
        raise ProviderError(message)

    def headers(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """Authorization (if a key applies) + `http_headers` + `env_http_headers` whose variable is set and
        non-empty. Raises ProviderError for a missing key."""
        env = os.environ if env is None else env
        headers: dict[str, str] = {}
        key = self.api_key(env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        headers.update(self.http_headers)
        for header, var in self.env_http_headers.items():
            value = env.get(var, "").strip()
            if value:
                headers[header] = value
        return headers

    def url(self, path: str, *, websocket: bool = False) -> str:
        """`{base_url}/{path}` with `query_params` appended; with `websocket`, http→ws and https→wss."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        if self.query_params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(self.query_params)
        if websocket:
            if url.startswith("https://"):
                url = "wss://" + url[len("https://"):]
            elif url.startswith("http://"):
                url = "ws://" + url[len("http://"):]
        return url
