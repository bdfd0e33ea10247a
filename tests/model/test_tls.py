"""The model client's TLS setting: an `http://` provider skips loading CA certificates and trusts none (issue 21)."""

import ssl

from codex_actors.model.tls import verify_setting


def test_a_plain_http_provider_gets_a_context_that_trusts_no_certificate():
    ctx = verify_setting("http://localhost:11434/v1", {"http_proxy": "http://proxy:3128"})
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.cert_store_stats()["x509_ca"] == 0
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname


def test_https_providers_and_https_proxies_keep_httpx_default_verification():
    assert verify_setting("https://api.openai.com/v1", {}) is True
    assert verify_setting("HTTPS://example.test/v1", {}) is True
    assert verify_setting("http://localhost:1234/v1", {"HTTPS_PROXY": " https://proxy:443"}) is True
    assert verify_setting("http://localhost:1234/v1", {"ALL_PROXY": "https://proxy"}) is True
