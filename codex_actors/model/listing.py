"""The models a provider lists, for `/model` without a name: `GET {base_url}/models`.

OpenAI, Ollama, llama.cpp, vLLM and LM Studio answer `{"object": "list", "data": [{"id": ...}, ...]}`;
Codex's own backend answers `{"models": [{"slug": ...}, ...]}`; both are read. A provider that lists none
(an error status, a timeout, another shape) yields an empty list and the reason, never an exception: the
caller then offers the configured model alone.
"""

from __future__ import annotations

from typing import Any

LIST_TIMEOUT_S = 5.0


async def provider_models(provider: Any) -> tuple[list[str], str | None]:
    """(model ids in the provider's order, without duplicates; None or why the list is empty).
    `provider`: a `model.provider.ProviderInfo`."""
    import httpx

    try:
        headers = provider.headers()
    except Exception as exc:  # noqa: BLE001 - a missing key: the provider cannot be asked
        return [], str(exc)
    try:
        async with httpx.AsyncClient(timeout=LIST_TIMEOUT_S) as client:
            reply = await client.get(provider.url("models"), headers=headers)
    except httpx.HTTPError as exc:
        return [], f"{provider.url('models')}: {type(exc).__name__}"
    if reply.status_code != 200:
        return [], f"{provider.url('models')}: HTTP {reply.status_code}"
    try:
        ids = model_ids(reply.json())
    except ValueError:
        return [], f"{provider.url('models')}: not JSON"
    return ids, None if ids else f"{provider.url('models')}: no models listed"


def model_ids(payload: Any) -> list[str]:
    """Model ids of a `/models` answer (OpenAI `data[].id` or Codex `models[].slug`), first occurrence kept."""
    entries = []
    if isinstance(payload, dict):
        entries = payload.get("data") or payload.get("models") or []
    ids: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        value = entry.get("id") or entry.get("slug") if isinstance(entry, dict) else None
        if isinstance(value, str) and value and value not in ids:
            ids.append(value)
    return ids
