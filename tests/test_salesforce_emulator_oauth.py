"""OAuth conformance of the emulator's login origin: Authlib's client end to end, and raw
requests for every error shape of the reference (sections 1.2-1.8)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from simple_salesforce import format_soql

from tests.fixtures_salesforce_emulator import ADMIN_USERNAME, DEMO_PASSWORD, STANDARD_USERNAME

CALLBACK = "https://apo.example/admin/salesforce/callback"
pytestmark = pytest.mark.timeout(30)


def _query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _authorize_url(emulator, client_id, **params) -> str:
    base = {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK,
            "state": "st-1"}
    base.update(params)
    return f"{emulator.login_url}/services/oauth2/authorize?{urlencode(base)}"


def _code(emulator, client_id, **params) -> str:
    return _query(emulator.authorize(_authorize_url(emulator, client_id, **params)))["code"]


def _token_post(emulator, **form):
    return requests.post(f"{emulator.login_url}/services/oauth2/token", data=form, timeout=10)


def _pkce_pair() -> tuple[str, str]:
    verifier = generate_token(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_C2_authlib_web_server_flow_with_pkce_refresh_and_revoke(emulator):
    client_id, secret = emulator.register_app([CALLBACK], pkce_required=True)
    client = OAuth2Session(client_id, secret, scope="api refresh_token offline_access",
                           redirect_uri=CALLBACK, code_challenge_method="S256")
    raw = {}

    def keep_raw(response):
        raw["refresh"] = response.json()
        return response

    client.register_compliance_hook("refresh_token_response", keep_raw)
    verifier = generate_token(48)
    url, state = client.create_authorization_url(
        f"{emulator.login_url}/services/oauth2/authorize", code_verifier=verifier)
    assert "code_challenge_method=S256" in url
    callback = emulator.authorize(url)
    assert callback.startswith(CALLBACK) and _query(callback)["state"] == state
    assert "%3D%3D" in callback  # codes end in '==' and arrive URL-encoded once

    token = client.fetch_token(f"{emulator.login_url}/services/oauth2/token",
                               authorization_response=callback, code_verifier=verifier)
    assert "expires_in" not in token and token.is_expired() is None
    assert token["access_token"].startswith("00D") and "!" in token["access_token"]
    assert token["instance_url"] == emulator.instance_url
    assert token["id"].startswith(f"{emulator.login_url}/id/00D")
    assert len(token["issued_at"]) == 13 and isinstance(token["issued_at"], str)
    expected = base64.b64encode(hmac.new(secret.encode(),
                                         (token["id"] + token["issued_at"]).encode(),
                                         hashlib.sha256).digest()).decode()
    assert token["signature"] == expected

    data = client.get(f"{emulator.instance_url}/services/data/v59.0/query",
                      params={"q": "SELECT Id FROM User"})
    assert data.status_code == 200 and data.json()["totalSize"] == 5

    first_refresh = token["refresh_token"]
    refreshed = client.refresh_token(f"{emulator.login_url}/services/oauth2/token")
    assert "refresh_token" not in raw["refresh"]  # no new refresh token without rotation
    assert refreshed["refresh_token"] == first_refresh  # authlib keeps the old one
    assert refreshed["access_token"] != token["access_token"]

    revoked = client.revoke_token(f"{emulator.login_url}/services/oauth2/revoke",
                                  token=first_refresh, token_type_hint="refresh_token")
    assert revoked.status_code == 200
    with pytest.raises(OAuthError) as info:
        client.refresh_token(f"{emulator.login_url}/services/oauth2/token",
                             refresh_token=first_refresh)
    assert info.value.error == "invalid_grant"
    # Revoking the refresh token also killed the access tokens issued from it.
    after = client.get(f"{emulator.instance_url}/services/data/v59.0/limits")
    assert after.status_code == 401


def test_C2_refresh_rotation_returns_new_token_and_kills_old(emulator):
    client_id, secret = emulator.register_app([CALLBACK], rotation=True)
    code = _code(emulator, client_id)
    first = _token_post(emulator, grant_type="authorization_code", code=code,
                        client_id=client_id, client_secret=secret,
                        redirect_uri=CALLBACK).json()
    second = _token_post(emulator, grant_type="refresh_token", client_id=client_id,
                         client_secret=secret, refresh_token=first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    reuse = _token_post(emulator, grant_type="refresh_token", client_id=client_id,
                        client_secret=secret, refresh_token=first["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    # Reusing a rotated-out token also invalidates the current one.
    current = _token_post(emulator, grant_type="refresh_token", client_id=client_id,
                          client_secret=secret, refresh_token=second["refresh_token"])
    assert current.json() == {"error": "invalid_grant",
                              "error_description": "expired access/refresh token"}


def test_token_endpoint_accepts_basic_and_body_client_auth(emulator):
    client_id, secret = emulator.register_app([CALLBACK])
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = requests.post(f"{emulator.login_url}/services/oauth2/token", data={
        "grant_type": "authorization_code", "code": _code(emulator, client_id),
        "redirect_uri": CALLBACK}, headers={"Authorization": f"Basic {basic}"}, timeout=10)
    assert response.status_code == 200 and "access_token" in response.json()
    body = _token_post(emulator, grant_type="authorization_code",
                       code=_code(emulator, client_id), client_id=client_id,
                       client_secret=secret, redirect_uri=CALLBACK)
    assert body.status_code == 200


@pytest.mark.parametrize("form, error, description", [
    ({}, "invalid_request", "grant type is missing"),
    ({"grant_type": "authorisation_code"}, "unsupported_grant_type", "grant type not supported"),
    ({"grant_type": "refresh_token", "refresh_token": "nope"}, "invalid_grant",
     "expired access/refresh token"),
    ({"grant_type": "authorization_code", "code": "aPrxnope=="}, "invalid_grant",
     "invalid authorization code"),
])
def test_token_endpoint_error_bodies(emulator, form, error, description):
    client_id, secret = emulator.register_app([CALLBACK])
    response = _token_post(emulator, client_id=client_id, client_secret=secret, **form)
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_wrong_client_secret_is_invalid_client(emulator):
    client_id, _ = emulator.register_app([CALLBACK])
    response = _token_post(emulator, grant_type="authorization_code",
                           code=_code(emulator, client_id), client_id=client_id,
                           client_secret="wrong", redirect_uri=CALLBACK)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client",
                               "error_description": "invalid client credentials"}


def test_code_is_single_use(emulator):
    client_id, secret = emulator.register_app([CALLBACK])
    code = _code(emulator, client_id)
    form = {"grant_type": "authorization_code", "code": code, "client_id": client_id,
            "client_secret": secret, "redirect_uri": CALLBACK}
    assert _token_post(emulator, **form).status_code == 200
    again = _token_post(emulator, **form)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_code_expires_after_15_minutes(emulator):
    client_id, secret = emulator.register_app([CALLBACK])
    code = _code(emulator, client_id)
    emulator.control("POST", "clock", {"advance_seconds": 15 * 60 + 1})
    response = _token_post(emulator, grant_type="authorization_code", code=code,
                           client_id=client_id, client_secret=secret, redirect_uri=CALLBACK)
    assert response.json() == {"error": "invalid_grant",
                               "error_description": "expired authorization code"}


def test_pkce_wrong_verifier_is_invalid_request_and_missing_is_invalid_grant(emulator):
    client_id, secret = emulator.register_app([CALLBACK])
    verifier, challenge = _pkce_pair()
    form = {"grant_type": "authorization_code", "client_id": client_id,
            "client_secret": secret, "redirect_uri": CALLBACK}
    wrong = _token_post(emulator, code=_code(emulator, client_id, code_challenge=challenge,
                                             code_challenge_method="S256"),
                        code_verifier="x" * 43, **form)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_request"
    missing = _token_post(emulator, code=_code(emulator, client_id, code_challenge=challenge),
                          **form)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant"
    right = _token_post(emulator, code=_code(emulator, client_id, code_challenge=challenge),
                        code_verifier=verifier, **form)
    assert right.status_code == 200


def test_pkce_plain_method_is_honoured(emulator):
    client_id, secret = emulator.register_app([CALLBACK])
    verifier = generate_token(48)
    response = _token_post(emulator, grant_type="authorization_code", client_id=client_id,
                           client_secret=secret, redirect_uri=CALLBACK, code_verifier=verifier,
                           code=_code(emulator, client_id, code_challenge=verifier,
                                      code_challenge_method="plain"))
    assert response.status_code == 200


def test_redirect_uri_must_match_at_token_step(emulator):
    client_id, secret = emulator.register_app([CALLBACK, CALLBACK + "2"])
    response = _token_post(emulator, grant_type="authorization_code",
                           code=_code(emulator, client_id), client_id=client_id,
                           client_secret=secret, redirect_uri=CALLBACK + "2")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_no_refresh_token_without_refresh_scope(emulator):
    client_id, secret = emulator.register_app([CALLBACK])
    response = _token_post(emulator, grant_type="authorization_code", client_id=client_id,
                           code=_code(emulator, client_id, scope="api id"),
                           client_secret=secret, redirect_uri=CALLBACK).json()
    assert "refresh_token" not in response and response["scope"] == "api id"


def test_bad_client_id_and_redirect_mismatch_stay_on_error_page(emulator):
    browser = requests.Session()
    unknown = browser.get(_authorize_url(emulator, "3MVGunknown"), allow_redirects=False)
    location = unknown.headers["Location"]
    assert location.startswith("/setup/secur/RemoteAccessErrorPage.apexp?")
    assert _query(location) == {"error": "invalid_client_id",
                                "error_description": "client identifier invalid",
                                "state": "st-1"}
    page = browser.get(emulator.login_url + location)
    assert page.status_code == 400 and "invalid_client_id" in page.text
    client_id, _ = emulator.register_app([CALLBACK])
    mismatch = browser.get(_authorize_url(emulator, client_id, redirect_uri=CALLBACK + "/"),
                           allow_redirects=False)
    assert _query(mismatch.headers["Location"])["error"] == "redirect_uri_mismatch"
    assert not mismatch.headers["Location"].startswith(CALLBACK)


def test_user_denies_access(emulator):
    client_id, _ = emulator.register_app([CALLBACK])
    callback = emulator.authorize(_authorize_url(emulator, client_id), allow=False)
    assert callback.startswith(CALLBACK)
    assert _query(callback) == {"error": "access_denied",
                                "error_description": "end-user denied authorization",
                                "state": "st-1"}


def test_pkce_required_app_refuses_authorize_without_challenge(emulator):
    client_id, _ = emulator.register_app([CALLBACK], pkce_required=True)
    response = requests.get(_authorize_url(emulator, client_id), allow_redirects=False)
    assert _query(response.headers["Location"])["error"] == "invalid_request"


def test_login_form_rejects_wrong_password_and_inactive_user(emulator):
    client_id, _ = emulator.register_app([CALLBACK])
    with pytest.raises(AssertionError, match="login failed"):
        emulator.authorize(_authorize_url(emulator, client_id), password="wrong")
    with pytest.raises(AssertionError, match="login failed"):
        emulator.authorize(_authorize_url(emulator, client_id),
                           username="takahashi@apo-demo.example")


def test_C4_standard_user_can_connect_and_identity_says_so(emulator):
    client_id, secret = emulator.register_app([CALLBACK])
    code = _query(emulator.authorize(_authorize_url(emulator, client_id),
                                     username=STANDARD_USERNAME))["code"]
    token = _token_post(emulator, grant_type="authorization_code", code=code,
                        client_id=client_id, client_secret=secret,
                        redirect_uri=CALLBACK).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    identity = requests.get(token["id"], headers=headers, params={"version": "59.0"}).json()
    assert identity["username"] == STANDARD_USERNAME
    assert identity["urls"]["rest"] == f"{emulator.instance_url}/services/data/v59.0/"
    profile = requests.get(f"{emulator.instance_url}/services/data/v59.0/query", params={
        "q": format_soql("SELECT Profile.Name FROM User WHERE Id = {}", identity["user_id"])},
        headers=headers).json()
    assert profile["records"][0]["Profile"]["Name"] == "Standard User"


def test_identity_and_userinfo_shapes_and_bad_token(emulator):
    token = emulator.password_token()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    identity = requests.get(token["id"], headers=headers).json()
    assert identity["username"] == ADMIN_USERNAME and identity["active"] is True
    assert identity["urls"]["rest"].endswith("/services/data/v{version}/")
    for base in (emulator.login_url, emulator.instance_url):
        info = requests.get(f"{base}/services/oauth2/userinfo", headers=headers)
        assert info.json()["preferred_username"] == ADMIN_USERNAME
        assert info.json()["sub"] == token["id"]
        bad = requests.get(f"{base}/services/oauth2/userinfo",
                           headers={"Authorization": "Bearer nope"})
        assert (bad.status_code, bad.text) == (403, "Bad_OAuth_Token")
    bad = requests.get(token["id"], headers={"Authorization": "Bearer nope"})
    assert (bad.status_code, bad.text) == (403, "Bad_OAuth_Token")


def test_revoke_errors_and_access_token_revoke(emulator):
    token = emulator.password_token()
    url = f"{emulator.login_url}/services/oauth2/revoke"
    assert requests.post(url, data={"token": token["access_token"]}).status_code == 200
    again = requests.post(url, data={"token": token["access_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_token"
    assert requests.post(url, data={}).json()["error"] == "unsupported_token_type"


def test_sixth_grant_revokes_the_oldest(emulator):
    client_id, secret = emulator.register_app([CALLBACK])
    refresh_tokens = []
    for _ in range(6):
        refresh_tokens.append(_token_post(
            emulator, grant_type="authorization_code", code=_code(emulator, client_id),
            client_id=client_id, client_secret=secret, redirect_uri=CALLBACK,
        ).json()["refresh_token"])
    form = {"grant_type": "refresh_token", "client_id": client_id, "client_secret": secret}
    assert _token_post(emulator, refresh_token=refresh_tokens[0], **form).status_code == 400
    assert _token_post(emulator, refresh_token=refresh_tokens[1], **form).status_code == 200


def test_C7_deactivated_user_ip_restriction_and_revoke_all_break_refresh(emulator):
    client_id, secret = emulator.register_app([CALLBACK])
    token = _token_post(emulator, grant_type="authorization_code",
                        code=_code(emulator, client_id), client_id=client_id,
                        client_secret=secret, redirect_uri=CALLBACK).json()
    form = {"grant_type": "refresh_token", "client_id": client_id, "client_secret": secret,
            "refresh_token": token["refresh_token"]}
    emulator.set_org(ip_restriction=True)
    blocked = _token_post(emulator, **form)
    assert blocked.json() == {"error": "invalid_grant",
                              "error_description": "IP restricted or invalid login hours"}
    emulator.set_org(ip_restriction=False)
    admin_id = token["id"].rsplit("/")[-1]
    emulator.control("POST", f"users/{admin_id}/deactivate")
    inactive = _token_post(emulator, **form)
    assert inactive.json()["error"] == "invalid_grant"
    emulator.control("POST", f"users/{admin_id}/activate")
    assert _token_post(emulator, **form).status_code == 200
    emulator.control("POST", "tokens/revoke")
    assert _token_post(emulator, **form).json()["error"] == "invalid_grant"


def test_expired_access_token_gets_401_and_refresh_still_works(emulator):
    client_id, secret = emulator.register_app([CALLBACK])
    token = _token_post(emulator, grant_type="authorization_code",
                        code=_code(emulator, client_id), client_id=client_id,
                        client_secret=secret, redirect_uri=CALLBACK).json()
    url = f"{emulator.instance_url}/services/data/v59.0/limits"
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert requests.get(url, headers=headers).status_code == 200
    emulator.control("POST", "tokens/expire")
    expired = requests.get(url, headers=headers)
    assert expired.status_code == 401
    assert expired.json() == [{"message": "Session expired or invalid",
                               "errorCode": "INVALID_SESSION_ID"}]
    fresh = _token_post(emulator, grant_type="refresh_token", client_id=client_id,
                        client_secret=secret, refresh_token=token["refresh_token"]).json()
    headers = {"Authorization": f"Bearer {fresh['access_token']}"}
    assert requests.get(url, headers=headers).status_code == 200


def test_origins_are_separate(emulator):
    token = emulator.password_token()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert requests.get(f"{emulator.login_url}/services/data/v59.0/limits",
                        headers=headers).status_code == 404
    wrong = requests.post(f"{emulator.instance_url}/services/oauth2/token",
                          data={"grant_type": "password"})
    assert wrong.status_code == 404
    assert requests.get(f"{emulator.instance_url}/services/oauth2/authorize").status_code == 404


def test_password_grant_for_scripts(emulator):
    response = _token_post(emulator, grant_type="password", client_id="x", username="a",
                           password=DEMO_PASSWORD)
    assert response.json()["error"] == "invalid_client_id"
