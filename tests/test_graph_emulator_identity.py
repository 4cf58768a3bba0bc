"""Conformance of the Graph emulator's identity platform (v2.0 auth code flow) with plain HTTP.

Sources: learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow,
learn.microsoft.com/entra/identity-platform/reference-error-codes (AADSTS codes).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from tests.fixtures_graph import (
    CALLBACK,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    SATO,
    SCOPES,
    pkce_pair,
)


def _token(graph, **data):
    body = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET, **data}
    return graph.http.post(f"{graph.login_url}/common/oauth2/v2.0/token", data=body, timeout=10)


def _query(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _assert_aadsts(response, error: str, code: int, status: int = 400):
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert body["trace_id"] and body["correlation_id"] and body["timestamp"]


def test_sign_in_consent_and_code_with_state(graph):
    verifier, challenge = pkce_pair()
    location = graph.authorize(graph.authorize_url(challenge, state="xyz"))
    params = _query(location)
    assert location.startswith(CALLBACK)
    assert params["state"] == "xyz" and params["code"]


def test_consent_page_lists_requested_scopes(graph):
    browser = graph.new_session()
    url = graph.authorize_url(None)
    page = browser.get(url, timeout=10)
    assert 'name="passwd"' in page.text
    hidden = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    hidden.update(login=SATO, passwd="apo-demo")
    consent = browser.post(f"{graph.login_url}/common/oauth2/v2.0/authorize", data=hidden,
                           timeout=10)
    for scope in ("offline_access", "User.Read", "Calendars.ReadWrite"):
        assert f'data-scope="{scope}"' in consent.text


def test_wrong_password_is_refused_on_the_page(graph):
    browser = graph.new_session()
    page = browser.get(graph.authorize_url(None), timeout=10)
    hidden = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    hidden.update(login=SATO, passwd="wrong")
    again = browser.post(f"{graph.login_url}/common/oauth2/v2.0/authorize", data=hidden,
                         timeout=10)
    assert 'role="alert"' in again.text and 'name="passwd"' in again.text


def test_declined_consent_redirects_access_denied_65004(graph):
    location = graph.authorize(graph.authorize_url(None), accept=False)
    params = _query(location)
    assert params["error"] == "access_denied"
    assert params["error_description"].startswith("AADSTS65004")
    assert params["state"] == "s1"


def test_unknown_redirect_uri_is_an_error_page_not_a_redirect_50011(graph):
    url = graph.authorize_url(None).replace("callback", "elsewhere")
    response = graph.http.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 400 and "AADSTS50011" in response.text


def test_prompt_none_without_session_is_login_required(graph):
    response = graph.http.get(graph.authorize_url(None, prompt="none"), allow_redirects=False,
                              timeout=10)
    assert response.status_code == 302
    assert _query(response.headers["Location"])["error"] == "login_required"


def test_code_redeemed_with_pkce_gives_tokens(graph):
    body = graph.tokens()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert body["access_token"] and body["refresh_token"]
    assert set(body["scope"].split()) == {"User.Read", "Calendars.ReadWrite"}


def test_no_refresh_token_without_offline_access(graph):
    body = graph.tokens(scope="User.Read Calendars.ReadWrite")
    assert "refresh_token" not in body


def test_wrong_code_verifier_is_invalid_grant_501481(graph):
    code, _verifier = graph.code_for()
    response = _token(graph, grant_type="authorization_code", code=code,
                      redirect_uri=CALLBACK, code_verifier="x" * 50, scope=SCOPES)
    _assert_aadsts(response, "invalid_grant", 501481)


def test_code_is_single_use_54005(graph):
    code, verifier = graph.code_for()
    data = dict(grant_type="authorization_code", code=code, redirect_uri=CALLBACK,
                code_verifier=verifier, scope=SCOPES)
    assert _token(graph, **data).status_code == 200
    _assert_aadsts(_token(graph, **data), "invalid_grant", 54005)


def test_expired_code_is_invalid_grant_70008(graph):
    code, verifier = graph.code_for()
    graph.control("POST", "clock", {"advance_seconds": 601})
    response = _token(graph, grant_type="authorization_code", code=code, redirect_uri=CALLBACK,
                      code_verifier=verifier, scope=SCOPES)
    _assert_aadsts(response, "invalid_grant", 70008)


def test_wrong_client_secret_is_invalid_client_7000215(graph):
    code, verifier = graph.code_for()
    response = graph.http.post(f"{graph.login_url}/common/oauth2/v2.0/token", data={
        "client_id": DEMO_CLIENT_ID, "client_secret": "nope", "grant_type":
        "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "code_verifier": verifier}, timeout=10)
    _assert_aadsts(response, "invalid_client", 7000215, status=401)


def test_refresh_token_grant_gives_new_access_token(graph):
    first = graph.tokens()
    response = _token(graph, grant_type="refresh_token", refresh_token=first["refresh_token"],
                      scope=SCOPES)
    assert response.status_code == 200
    renewed = response.json()
    assert renewed["access_token"] != first["access_token"]
    me = graph.http.get(graph.url("me"), headers={
        "Authorization": f"Bearer {renewed['access_token']}"}, timeout=10)
    assert me.status_code == 200


def test_idle_refresh_token_is_invalid_grant_700082(graph):
    first = graph.tokens()
    graph.control("POST", "clock", {"advance_seconds": 91 * 86400})
    response = _token(graph, grant_type="refresh_token", refresh_token=first["refresh_token"])
    _assert_aadsts(response, "invalid_grant", 700082)


def test_revoke_sign_in_sessions_kills_refresh_tokens_50173(graph):
    first = graph.tokens()
    revoked = graph.http.post(graph.url("me/revokeSignInSessions"), headers={
        "Authorization": f"Bearer {first['access_token']}"}, timeout=10)
    assert revoked.status_code == 200 and revoked.json()["value"] is True
    response = _token(graph, grant_type="refresh_token", refresh_token=first["refresh_token"])
    _assert_aadsts(response, "invalid_grant", 50173)


def test_expired_access_token_is_401_invalid_authentication_token(graph):
    api = graph.api()
    graph.control("POST", "clock", {"advance_seconds": 3600})
    response = api.get(graph.url("me"), timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_prompt_consent_asks_again_and_organizations_tenant_works(graph):
    graph.tokens()  # consent given once
    browser = graph.new_session()
    url = graph.authorize_url(None, prompt="consent").replace("/common/", "/organizations/")
    first = browser.get(url, timeout=10)
    hidden = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', first.text))
    hidden.update(login=SATO, passwd="apo-demo")
    again = browser.post(f"{graph.login_url}/organizations/oauth2/v2.0/authorize", data=hidden,
                         allow_redirects=True, timeout=10)
    assert 'data-scope="Calendars.ReadWrite"' in again.text


def test_unknown_tenant_is_an_error_page_90002(graph):
    url = graph.authorize_url(None).replace("/common/", "/not-a-tenant/")
    response = graph.http.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 400 and "AADSTS90002" in response.text


def test_unsupported_grant_type_70003(graph):
    _assert_aadsts(_token(graph, grant_type="password", username=SATO, password="apo-demo"),
                   "unsupported_grant_type", 70003)
