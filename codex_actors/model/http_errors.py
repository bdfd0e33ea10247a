"""HTTP status → ModelError mapping shared by every wire (spec agent-core 2.5, 3.2). Pure functions."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping

from codex_actors.model.events import ModelError
from codex_actors.model.provider import ProviderInfo
from codex_actors.model.sse import CONTEXT_WINDOW_MESSAGE, QUOTA_MESSAGE, retry_delay_from_message


def _error_fields(body: str) -> tuple[str, str]:
    """(code, message) from an OpenAI-style `{"error":{"code","message"}}` body, else ("", raw text)."""
    try:
        data = json.loads(body)
    except ValueError:
        return "", body.strip()[:500]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or error.get("type") or ""), str(error.get("message") or "")
    if isinstance(error, str):
        return "", error
    return "", body.strip()[:500]


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A `Retry-After` header (delta seconds or HTTP date) in seconds, or None when absent / unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def error_from_status(
    status: int, body: str, headers: Mapping[str, str], *, url: str = "", key_hint: str | None = None
) -> ModelError:
    """The ModelError of a non-2xx response. 400/401/403/404 and context-length / quota errors are fatal with
    a message a user can act on; 429 and 5xx (and other statuses) are retryable, 429 with the `Retry-After`
    delay (or a "try again in" hint). `key_hint` names the env var of the API key for 401/403 advice."""
    code, message = _error_fields(body)
    detail = f": {message}" if message else ""
    if code == "context_length_exceeded":
        return ModelError(CONTEXT_WINDOW_MESSAGE, codex_error_info="context_window_exceeded", http_status=status)
    if code == "insufficient_quota":
        return ModelError(QUOTA_MESSAGE, codex_error_info="usage_limit_exceeded", http_status=status)
    key_advice = f" Check the API key in ${key_hint}." if key_hint else " Check the provider's credentials."
    if status == 400:
        return ModelError(f"Invalid request (HTTP 400){detail}", codex_error_info="bad_request", http_status=status)
    if status == 401:
        return ModelError(
            f"Unauthorized (HTTP 401){detail}.{key_advice}", codex_error_info="unauthorized", http_status=status
        )
    if status == 403:
        return ModelError(
            f"Forbidden (HTTP 403){detail}.{key_advice}", codex_error_info="unauthorized", http_status=status
        )
    if status == 404:
        where = f" at {url}" if url else ""
        return ModelError(
            f"Not found (HTTP 404){where}{detail}. Check the provider's base_url and the model name.",
            codex_error_info="bad_request",
            http_status=status,
        )
    lower = {k.lower(): v for k, v in headers.items()}
    if status == 429:
        delay = retry_after_seconds(lower.get("retry-after"))
        if delay is None:
            delay = retry_delay_from_message(message)
        return ModelError(
            f"Rate limited (HTTP 429){detail}",
            codex_error_info="http_connection_failed",
            retryable=True,
            delay_s=delay,
            http_status=status,
        )
    if 500 <= status < 600:
        return ModelError(
            f"Server error (HTTP {status}){detail}",
            codex_error_info="internal_server_error",
            retryable=True,
            http_status=status,
        )
    return ModelError(
        f"Unexpected status (HTTP {status}){detail}",
        codex_error_info="http_connection_failed",
        retryable=True,
        http_status=status,
    )


def connection_error(exc: BaseException, url: str) -> ModelError:
    """A transport failure before any response (connect refused, TLS, timeout) as a retryable ModelError."""
    reason = str(exc) or type(exc).__name__
    return ModelError(
        f"Connection to {url} failed: {reason}",
        codex_error_info="http_connection_failed",
        retryable=True,
    )


def no_local_server_error(provider: ProviderInfo) -> ModelError | None:
    """For the local-server providers (`oss`, `ollama`, `lmstudio`): the one-line, non-retryable error that a
    refused connection raises, "no local model server at {base_url}: {how to start one}". Retrying cannot help
    when nothing listens on the user's own machine, so the user sees at once what to do. None for others."""
    hint = provider.local_server_hint
    if hint is None:
        return None
    return ModelError(f"no local model server at {provider.base_url}: {hint}", codex_error_info="http_connection_failed")
