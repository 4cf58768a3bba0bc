"""The Salesforce client module against the emulator over real HTTP: OAuth, refresh, errors."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest

from webapp.integrations import salesforce as sf

CALLBACK = "http://127.0.0.1/cb"


@pytest.fixture
def oauth_app(emulator):
    """A connected app with PKCE required and refresh-token rotation off: (key, secret)."""
    return emulator.register_app([CALLBACK], pkce_required=True)


def get_code(emulator, key: str, verifier: str) -> str:
    url = sf.authorization_url(emulator.login_url, key, CALLBACK, "st", verifier)
    location = emulator.authorize(url)
    params = parse_qs(urlsplit(location).query)
    assert params["state"] == ["st"]
    return params["code"][0]


def tokens_for(emulator, key: str, secret: str) -> sf.TokenSet:
    verifier = secrets.token_urlsafe(64)
    code = get_code(emulator, key, verifier)
    return sf.exchange_code(emulator.login_url, key, secret, CALLBACK, code, verifier)


@pytest.fixture
def tokens(emulator, oauth_app) -> sf.TokenSet:
    """Tokens from the full web-server flow (PKCE) for the emulator's system administrator."""
    return tokens_for(emulator, *oauth_app)


def make_client(emulator, oauth_app, tokens, **kwargs) -> sf.SalesforceClient:
    return sf.SalesforceClient(tokens.instance_url, tokens.access_token, tokens.refresh_token,
                               *oauth_app, login_url=emulator.login_url, **kwargs)


def test_C2_web_server_flow_with_pkce_returns_tokens(emulator, tokens):
    assert tokens.instance_url == emulator.instance_url
    assert tokens.refresh_token and tokens.access_token
    assert tokens.access_token not in repr(tokens) and tokens.refresh_token not in repr(tokens)


def test_C2_authorization_url_asks_for_the_three_scopes_and_s256(emulator):
    url = sf.authorization_url("https://login.salesforce.com", "key", CALLBACK, "s", "v" * 50)
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith("https://login.salesforce.com/services/oauth2/authorize?")
    assert params["scope"] == sf.SCOPES == "api refresh_token offline_access"
    assert params["code_challenge_method"] == "S256" and params["state"] == "s"


def test_C5_wrong_verifier_and_reused_code_are_auth_errors(emulator, oauth_app):
    key, secret = oauth_app
    verifier = secrets.token_urlsafe(64)
    code = get_code(emulator, key, verifier)
    with pytest.raises(sf.SalesforceAuthError) as wrong:
        sf.exchange_code(emulator.login_url, key, secret, CALLBACK, code, "w" * 64)
    assert wrong.value.code == "invalid_request"
    code = get_code(emulator, key, verifier)
    sf.exchange_code(emulator.login_url, key, secret, CALLBACK, code, verifier)
    with pytest.raises(sf.SalesforceAuthError) as reused:
        sf.exchange_code(emulator.login_url, key, secret, CALLBACK, code, verifier)
    assert reused.value.code == "invalid_grant"


def test_C4_identity_names_the_connecting_user(emulator, tokens):
    identity = sf.fetch_identity(tokens.id_url, tokens.access_token)
    assert identity.username == "admin@apo-demo.example"
    assert identity.user_id.startswith("005") and identity.org_id.startswith("00D")
    with pytest.raises(sf.SalesforceAuthError):
        sf.fetch_identity(tokens.id_url, "00Dbad!token")


def test_C4_user_profile_tells_a_system_administrator(emulator, oauth_app, tokens):
    client = make_client(emulator, oauth_app, tokens)
    identity = sf.fetch_identity(tokens.id_url, tokens.access_token)
    assert client.user_profile(identity.user_id)["name"] == "System Administrator"


def test_S5_client_refreshes_once_on_401_and_repeats_the_call(emulator, oauth_app, tokens):
    refreshed = []
    client = make_client(emulator, oauth_app, tokens, on_token_refresh=refreshed.append)
    emulator.control("POST", "tokens/expire")
    result = client.query("SELECT Id FROM User WHERE IsActive = true")
    assert result.total_size >= 1
    assert len(refreshed) == 1 and refreshed[0].access_token != tokens.access_token
    assert refreshed[0].refresh_token is None  # no rotation: Salesforce keeps the old one
    assert client.last_limit_info.startswith("api-usage=")


def test_S5_a_second_401_after_refreshing_is_an_auth_error(emulator, oauth_app, tokens):
    client = make_client(emulator, oauth_app, tokens, refresher=lambda stale: "00Dstill!bad")
    emulator.control("POST", "tokens/expire")
    with pytest.raises(sf.SalesforceAuthError) as caught:
        client.describe("Lead")
    assert caught.value.code == "INVALID_SESSION_ID"


def test_C7_revoked_refresh_token_is_an_auth_error(emulator, oauth_app, tokens):
    client = make_client(emulator, oauth_app, tokens)
    emulator.control("POST", "tokens/revoke")
    with pytest.raises(sf.SalesforceAuthError) as caught:
        client.describe("Lead")
    assert caught.value.code == "invalid_grant"


def test_rotation_returns_the_new_refresh_token_and_kills_the_old(emulator):
    key, secret = emulator.register_app([CALLBACK], rotation=True)
    tokens = tokens_for(emulator, key, secret)
    rotated = sf.refresh_access_token(emulator.login_url, key, secret, tokens.refresh_token)
    assert rotated.refresh_token and rotated.refresh_token != tokens.refresh_token
    with pytest.raises(sf.SalesforceAuthError):
        sf.refresh_access_token(emulator.login_url, key, secret, tokens.refresh_token)


@pytest.mark.parametrize("kind", ["503", "500", "unable_to_lock_row", "request_limit_exceeded"])
def test_transient_failures_are_retryable(emulator, oauth_app, tokens, kind):
    client = make_client(emulator, oauth_app, tokens)
    emulator.control("POST", "faults", {"kind": kind})
    with pytest.raises(sf.SalesforceRetryableError):
        client.describe("Lead")
    assert client.describe("Lead")["name"] == "Lead"


def test_rejected_requests_carry_the_salesforce_code(emulator, oauth_app, tokens):
    client = make_client(emulator, oauth_app, tokens)
    with pytest.raises(sf.SalesforceRequestError) as bad_field:
        client.query("SELECT Nope__c FROM Lead")
    assert bad_field.value.code == "INVALID_FIELD"
    with pytest.raises(sf.SalesforceRequestError) as missing:
        client.create("Lead", {"Email": "a@example.com"})
    assert missing.value.code == "REQUIRED_FIELD_MISSING" and "LastName" in missing.value.fields
    emulator.set_org(api_disabled=True)
    with pytest.raises(sf.SalesforceRequestError) as disabled:
        client.describe("Lead")
    assert disabled.value.code == "API_DISABLED_FOR_ORG"


def test_every_call_has_a_timeout(emulator, oauth_app, tokens):
    client = make_client(emulator, oauth_app, tokens, timeout=0.3)
    emulator.control("POST", "faults", {"kind": "delay", "delay_ms": 1500})
    with pytest.raises(sf.SalesforceRetryableError) as caught:
        client.describe("Lead")
    assert caught.value.code == "TIMEOUT"


def test_unreachable_salesforce_is_retryable():
    client = sf.SalesforceClient("http://127.0.0.1:9", "00Dx!y", timeout=1)
    with pytest.raises(sf.SalesforceRetryableError) as caught:
        client.describe("Lead")
    assert caught.value.code == "CONNECTION_ERROR"


def test_C6_revoke_kills_the_grant(emulator, oauth_app, tokens):
    assert sf.revoke_token(emulator.login_url, tokens.refresh_token) is True
    with pytest.raises(sf.SalesforceAuthError):
        sf.refresh_access_token(emulator.login_url, *oauth_app, tokens.refresh_token)
    assert sf.revoke_token(emulator.login_url, tokens.refresh_token) is False


def test_C8_client_never_logs_tokens(emulator, oauth_app, caplog):
    caplog.set_level(logging.DEBUG)
    tokens = tokens_for(emulator, *oauth_app)
    client = make_client(emulator, oauth_app, tokens)
    emulator.control("POST", "tokens/expire")
    client.describe("Lead")
    emulator.control("POST", "tokens/revoke")
    emulator.control("POST", "tokens/expire")
    with pytest.raises(sf.SalesforceAuthError) as caught:
        client.describe("Event")
    text = caplog.text + str(caught.value) + repr(client)
    for secret in (tokens.access_token, tokens.refresh_token, oauth_app[1]):
        assert secret not in text


@pytest.mark.parametrize(("url", "trusted"), [
    ("https://acme.my.salesforce.com", True),
    ("https://acme--dev.sandbox.my.salesforce.com", True),
    ("https://na1.salesforce.com", True),
    ("https://acme.lightning.force.com", True),
    ("http://acme.my.salesforce.com", False),
    ("https://acme.my.salesforce.com.evil.com", False),
    ("https://evilsalesforce.com", False),
    ("https://user@acme.my.salesforce.com", False),
    ("https://acme.my.salesforce.com:8443", False),
    ("http://127.0.0.1:5101", False),
])
def test_C5_instance_url_allowlist(url, trusted):
    assert sf.is_trusted_url(url) is trusted


def test_C5_configured_emulator_origin_is_trusted():
    assert sf.is_trusted_url("http://127.0.0.1:5101/", ["127.0.0.1:5101"])
    assert not sf.is_trusted_url("http://127.0.0.1:5102/", ["127.0.0.1:5101"])


def test_soql_literals_are_escaped():
    assert sf.escape_soql("o'brien\\x") == "o\\'brien\\\\x"
