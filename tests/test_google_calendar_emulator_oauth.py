"""Conformance of the Google emulator's OAuth 2.0 endpoints with a plain HTTP client; one test
per behaviour listed in google_calendar_emulator/README.md (OAuth section)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tests.fixtures_google_calendar_emulator import ALL_SCOPES, AUTH, CALLBACK, query_of

pytestmark = pytest.mark.timeout(30)


def _pkce(verifier: str = "v" * 50) -> tuple[str, str]:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def _exchange(gcal, client, code, **extra):
    form = {"grant_type": "authorization_code", "code": code, "client_id": client[0],
            "client_secret": client[1], "redirect_uri": CALLBACK, **extra}
    return gcal.http.post(f"{gcal.url}/token", data=form, timeout=10)


def _code(gcal, client, **params):
    return query_of(gcal.authorize(gcal.authorize_url(client[0], **params)))


def test_authorize_signs_in_consents_and_redirects_with_code_and_state(gcal):
    client = gcal.register_client()
    page = gcal.http.get(gcal.authorize_url(client[0]), timeout=10)
    assert page.status_code == 200 and 'name="password"' in page.text
    answer = _code(gcal, client)
    assert answer["state"] == "st-1" and answer["code"].startswith("4/")
    assert set(answer["scope"].split()) == set(
        ALL_SCOPES.replace("email", AUTH + "userinfo.email").split())


def test_consent_denied_redirects_with_access_denied(gcal):
    client = gcal.register_client()
    location = gcal.authorize(gcal.authorize_url(client[0]), allow=False)
    assert location.startswith(CALLBACK)
    assert query_of(location) == {"error": "access_denied", "state": "st-1"}


def test_unknown_client_is_an_error_page_not_a_redirect(gcal):
    page = gcal.http.get(gcal.authorize_url("nope.apps.googleusercontent.com"),
                         allow_redirects=False, timeout=10)
    assert page.status_code == 401 and "invalid_client" in page.text


def test_unregistered_redirect_uri_is_redirect_uri_mismatch_page(gcal):
    client = gcal.register_client()
    page = gcal.http.get(gcal.authorize_url(client[0], redirect_uri="https://evil.example/cb"),
                         allow_redirects=False, timeout=10)
    assert page.status_code == 400 and "redirect_uri_mismatch" in page.text
    assert "Location" not in page.headers


def test_unknown_scope_is_invalid_scope_page(gcal):
    client = gcal.register_client()
    page = gcal.http.get(gcal.authorize_url(client[0], scope=AUTH + "calendar.everything"),
                         timeout=10)
    assert page.status_code == 400 and "invalid_scope" in page.text


def test_wrong_password_stays_on_sign_in_with_an_alert(gcal):
    client = gcal.register_client()
    with pytest.raises(AssertionError, match="sign-in failed"):
        gcal.authorize(gcal.authorize_url(client[0]), password="wrong")


def test_prompt_none_without_a_session_answers_login_required(gcal):
    client = gcal.register_client()
    location = gcal.http.get(gcal.authorize_url(client[0], prompt="none"),
                             allow_redirects=False, timeout=10).headers["Location"]
    assert query_of(location)["error"] == "login_required"


def test_code_exchange_with_pkce_s256_returns_bearer_tokens(gcal):
    client = gcal.register_client()
    verifier, challenge = _pkce()
    code = _code(gcal, client, code_challenge=challenge, code_challenge_method="S256")["code"]
    answer = _exchange(gcal, client, code, code_verifier=verifier)
    body = answer.json()
    assert answer.status_code == 200 and body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599 and body["refresh_token"].startswith("1//")
    assert "no-store" in answer.headers["Cache-Control"]


@pytest.mark.parametrize("verifier,message", [(None, "Missing code verifier."),
                                               ("w" * 50, "Invalid code verifier.")])
def test_pkce_verifier_missing_or_wrong_is_invalid_grant(gcal, verifier, message):
    client = gcal.register_client()
    _v, challenge = _pkce()
    code = _code(gcal, client, code_challenge=challenge, code_challenge_method="S256")["code"]
    extra = {"code_verifier": verifier} if verifier else {}
    answer = _exchange(gcal, client, code, **extra)
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_grant", "error_description": message}


def test_a_verifier_without_a_challenge_is_refused(gcal):
    client = gcal.register_client()
    answer = _exchange(gcal, client, _code(gcal, client)["code"], code_verifier="v" * 50)
    assert answer.json() == {"error": "invalid_grant",
                             "error_description": "code_verifier or verifier is not needed."}


def test_code_is_single_use_and_garbage_is_malformed(gcal):
    client = gcal.register_client()
    code = _code(gcal, client)["code"]
    assert _exchange(gcal, client, code).status_code == 200
    again = _exchange(gcal, client, code)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    garbage = _exchange(gcal, client, "4/garbage")
    assert garbage.json() == {"error": "invalid_grant", "error_description": "Malformed auth code."}


def test_token_redirect_uri_must_match(gcal):
    client = gcal.register_client()
    answer = _exchange(gcal, client, _code(gcal, client)["code"],
                       redirect_uri="https://apo.example/other")
    assert (answer.status_code, answer.json()["error"]) == (400, "redirect_uri_mismatch")


def test_wrong_client_secret_is_401_invalid_client(gcal):
    client = gcal.register_client()
    answer = _exchange(gcal, (client[0], "bad"), _code(gcal, client)["code"])
    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid_client", "error_description": "Unauthorized"}


def test_unsupported_grant_type(gcal):
    client = gcal.register_client()
    answer = gcal.http.post(f"{gcal.url}/token", data={
        "grant_type": "password", "client_id": client[0], "client_secret": client[1]})
    assert (answer.status_code, answer.json()["error"]) == (400, "unsupported_grant_type")


def test_refresh_grant_returns_a_new_access_token_without_a_new_refresh_token(gcal):
    tokens = gcal.token_for()
    answer = gcal.http.post(f"{gcal.url}/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": tokens["client_id"], "client_secret": tokens["client_secret"]}).json()
    assert answer["access_token"] != tokens["access_token"]
    assert "refresh_token" not in answer and answer["scope"] == tokens["scope"]


def test_refresh_token_only_offline_and_again_only_with_prompt_consent(gcal):
    client = gcal.register_client()
    online = _exchange(gcal, client, _code(gcal, client, access_type="online")["code"]).json()
    assert "refresh_token" not in online
    quiet = _exchange(gcal, client, _code(gcal, client, prompt="")["code"]).json()
    assert "refresh_token" not in quiet  # the user had consented before
    forced = _exchange(gcal, client, _code(gcal, client, prompt="consent")["code"]).json()
    assert "refresh_token" in forced


def _refresh(gcal, tokens):
    return gcal.http.post(f"{gcal.url}/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": tokens["client_id"], "client_secret": tokens["client_secret"]})


def test_revoked_refresh_token_is_invalid_grant_expired_or_revoked(gcal):
    tokens = gcal.token_for()
    assert gcal.http.post(f"{gcal.url}/revoke",
                          data={"token": tokens["refresh_token"]}).status_code == 200
    answer = _refresh(gcal, tokens)
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_grant",
                             "error_description": "Token has been expired or revoked."}
    api = gcal.http.get(gcal.cal("users/me/calendarList"),
                        headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert api.status_code == 401  # revoking the grant ends its access tokens too


def test_revoking_an_unknown_token_is_400_invalid_token(gcal):
    answer = gcal.http.post(f"{gcal.url}/revoke", data={"token": "nope"})
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_token")


def test_control_revoke_user_simulates_removing_app_access(gcal):
    tokens = gcal.token_for("suzuki@example.com")
    assert gcal.control("POST", "tokens/revoke", {"user": "suzuki@example.com"})["revoked"] >= 1
    assert _refresh(gcal, tokens).json()["error"] == "invalid_grant"


def test_access_token_expires_after_3599_seconds(gcal):
    api = gcal.api()
    assert api.get(gcal.cal("users/me/calendarList")).status_code == 200
    gcal.control("POST", "clock", {"advance_seconds": 3600})
    answer = api.get(gcal.cal("users/me/calendarList"))
    assert answer.status_code == 401
    assert answer.json()["error"]["errors"][0] == {
        "domain": "global", "reason": "authError", "message": "Invalid Credentials",
        "locationType": "header", "location": "Authorization"}


def test_userinfo_names_the_signed_in_account(gcal):
    api = gcal.api("tanaka@example.com")
    info = api.get(f"{gcal.url}/v1/userinfo").json()
    assert info["email"] == "tanaka@example.com" and info["email_verified"] is True
    assert info["sub"].isdigit()


def test_codes_expire_after_ten_minutes(gcal):
    client = gcal.register_client()
    code = _code(gcal, client)["code"]
    gcal.control("POST", "clock", {"advance_seconds": 601})
    assert _exchange(gcal, client, code).json()["error"] == "invalid_grant"


def test_refresh_token_of_another_client_is_refused(gcal):
    tokens = gcal.token_for()
    other = gcal.register_client()
    answer = gcal.http.post(f"{gcal.url}/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": other[0], "client_secret": other[1]})
    assert (answer.status_code, answer.json()["error"]) == (401, "unauthorized_client")


def test_unknown_client_at_the_token_endpoint_is_401(gcal):
    answer = gcal.http.post(f"{gcal.url}/token", data={
        "grant_type": "authorization_code", "code": "4/x", "client_id": "nope",
        "client_secret": "x", "redirect_uri": CALLBACK})
    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid_client",
                             "error_description": "The OAuth client was not found."}
