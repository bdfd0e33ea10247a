"""The `verify` setting of the model client's httpx client: skip loading CA certificates nobody will use.

httpx builds its TLS context when the client is created, loading certifi's CA bundle (`load_verify_locations`,
about 100 ms of every start-up on this machine, 185 ms when it is loaded) even when every request goes to a plain
`http://` base URL, as with local model servers (Ollama, llama.cpp, vLLM on localhost). For such a provider,
`verify_setting` returns a TLS context that trusts no certificate at all (verification still required), so the
bundle is never read and any TLS handshake would fail closed instead of passing unchecked. An `https://` base URL,
or a proxy reached over `https://` (`*_proxy` variables, which httpx honours), keeps httpx's default (`True`).
The model client never follows redirects, so a request cannot move from the `http://` base to an `https://` URL.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


def verify_setting(base_url: str, env: Mapping[str, str]) -> bool | ssl.SSLContext:
    """httpx's `verify` for a client whose requests all go to `base_url`: `True` (certifi, httpx's default)
    unless the URL is plain `http://` and no proxy variable in `env` names an `https://` proxy; then a
    certificate-less context with `CERT_REQUIRED` and hostname checking."""
    if not base_url.lower().startswith("http://"):
        return True
    for key, value in env.items():
        if key.lower() in PROXY_VARIABLES and value.strip().lower().startswith("https://"):
            return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CA loaded: trusts nothing
