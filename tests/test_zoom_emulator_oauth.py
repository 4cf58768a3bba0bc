"""The Zoom emulator's OAuth 2.0 for user-managed apps, over real HTTP against the running
process (plain requests: no maintained Python client speaks Zoom's user-level OAuth; see
zoom_emulator/README.md). Each test names the README row it proves."""

from __future__ import annotations

import re
import shutil
import tempfile

import pytest
import requests

from tests.fixtures_zoom import (
    CALLBACK,
    SATO,
    SUZUKI,
    pkce_pair,
    query_of,
    start_zoom_emulator,
)
from zoom_emulator.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD, DEMO_SCOPES

DEMO = (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)


def code_for(zoom, email=SATO, challenge=None, **params) -> str:
    location = zoom.authorize(zoom.authorize_url(DEMO_CLIENT_ID, challenge, **params), email)
    assert location.startswith(CALLBACK + "?")
    return query_of(location)["code"]


def test_code_flow_with_pkce_and_basic_auth_yields_zoom_token_answer(zoom):
    browser = zoom.new_session()
    first = browser.get(zoom.authorize_url(DEMO_CLIENT_ID), allow_redirects=False, timeout=10)
    assert first.status_code == 200 and 'name="password"' in first.text  # the sign-in page
    verifier, challenge = pkce_pair()
    location = zoom.authorize(zoom.authorize_url(DEMO_CLIENT_ID, challenge, state="xyz"), SATO)
    params = query_of(location)
    assert params["state"] == "xyz" and params["code"]
    answer = zoom.token_request(DEMO, grant_type="authorization_code", code=params["code"],
                                redirect_uri=CALLBACK, code_verifier=verifier)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3599
    assert body["scope"] == DEMO_SCOPES and body["access_token"] != body["refresh_token"]
    me = zoom.api(access_token=body["access_token"]).get(zoom.v2("users/me"), timeout=10)
    assert me.status_code == 200
    assert (me.json()["email"], me.json()["last_name"], me.json()["first_name"],
            me.json()["display_name"]) == (SATO, "佐藤", "花子", "佐藤 花子")


def test_consent_page_names_the_app_and_a_user_who_added_it_is_not_asked_again(zoom):
    browser = zoom.new_session()
    sign_in = browser.get(zoom.authorize_url(DEMO_CLIENT_ID), timeout=10)
    ticket = re.search(r'name="ticket" value="([^"]*)"', sign_in.text).group(1)
    consent = browser.post(f"{zoom.url}/oauth/authorize/login", timeout=10, data={
        "ticket": ticket, "email": SUZUKI, "password": DEMO_PASSWORD})
    assert "Apo (demo)" in consent.text and "鈴木 一郎" in consent.text
    assert "meeting:write:meeting" in consent.text
    zoom.authorize(zoom.authorize_url(DEMO_CLIENT_ID), SUZUKI, session=browser)
    again = browser.get(zoom.authorize_url(DEMO_CLIENT_ID, state="two"),
                        allow_redirects=False, timeout=10)
    assert again.status_code == 302 and query_of(again.headers["Location"])["state"] == "two"
    assert query_of(again.headers["Location"])["code"]


def test_declined_consent_returns_access_denied_with_the_state(zoom):
    location = zoom.authorize(zoom.authorize_url(DEMO_CLIENT_ID, state="s9"), allow=False)
    assert query_of(location) == {"error": "access_denied", "state": "s9"}


def test_wrong_password_shows_the_sign_in_page_again_and_issues_nothing(zoom):
    with pytest.raises(AssertionError, match="sign-in failed"):
        zoom.authorize(zoom.authorize_url(DEMO_CLIENT_ID), password="wrong")


@pytest.mark.parametrize(("client_id", "change"), [
    ("nope", {}), (DEMO_CLIENT_ID, {"redirect_uri": "https://evil.example/cb"})])
def test_unknown_app_or_unregistered_redirect_gets_an_error_page_and_no_redirect(
        zoom, client_id, change):
    response = zoom.http.get(zoom.authorize_url(client_id, **change),
                             allow_redirects=False, timeout=10)
    assert response.status_code == 400 and 'role="alert"' in response.text


@pytest.mark.parametrize(("verifier", "reason"), [
    (None, "Invalid code verifier."), ("not-the-verifier", "Invalid code verifier.")])
def test_pkce_verifier_must_match_the_challenge(zoom, verifier, reason):
    _right, challenge = pkce_pair()
    code = code_for(zoom, challenge=challenge)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    if verifier:
        form["code_verifier"] = verifier
    answer = zoom.token_request(DEMO, **form)
    assert answer.status_code == 400
    assert answer.json() == {"reason": reason, "error": "invalid_grant"}


def test_pkce_plain_method_is_the_default(zoom):
    code = code_for(zoom, code_challenge="plain-verifier-" + "x" * 40)
    answer = zoom.token_request(DEMO, grant_type="authorization_code", code=code,
                                redirect_uri=CALLBACK, code_verifier="plain-verifier-" + "x" * 40)
    assert answer.status_code == 200


def test_codes_are_single_use_and_expire_after_five_minutes(zoom):
    code = code_for(zoom)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    assert zoom.token_request(DEMO, **form).status_code == 200
    reused = zoom.token_request(DEMO, **form)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    late = code_for(zoom)
    zoom.control("POST", "clock", {"advance_seconds": 301})
    expired = zoom.token_request(DEMO, **dict(form, code=late))
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"


def test_redirect_uri_must_match_the_authorize_request(zoom):
    answer = zoom.token_request(DEMO, grant_type="authorization_code", code=code_for(zoom),
                                redirect_uri=CALLBACK + "/other")
    assert answer.status_code == 400


def test_client_authentication_basic_or_parameters_and_its_errors(zoom):
    wrong = zoom.token_request((DEMO_CLIENT_ID, "wrong"), grant_type="refresh_token",
                               refresh_token="x")
    assert wrong.status_code == 401
    assert wrong.json() == {"reason": "Invalid client secret.", "error": "invalid_client"}
    unknown = zoom.token_request(("nobody", "x"), grant_type="refresh_token", refresh_token="x")
    assert unknown.json()["reason"] == "Invalid client."
    missing = zoom.http.post(f"{zoom.url}/oauth/token", timeout=10,
                             data={"grant_type": "refresh_token", "refresh_token": "x"})
    assert missing.status_code == 401
    assert missing.json()["reason"] == "Client ID or client secret is missing."
    in_form = zoom.http.post(f"{zoom.url}/oauth/token", timeout=10, data={
        "grant_type": "authorization_code", "code": code_for(zoom), "redirect_uri": CALLBACK,
        "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET})
    assert in_form.status_code == 200


def test_parameters_in_the_query_string_are_accepted(zoom):
    code = code_for(zoom)
    answer = zoom.http.post(f"{zoom.url}/oauth/token", auth=DEMO, timeout=10, params={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK})
    assert answer.status_code == 200


def test_unsupported_grant_type(zoom):
    answer = zoom.token_request(DEMO, grant_type="password", username="a", password="b")
    assert answer.status_code == 400
    assert answer.json() == {"reason": "Grant type is not supported from token endpoint.",
                             "error": "unsupported_grant_type"}


def test_refresh_rotates_the_refresh_token_and_the_old_one_is_spent(zoom):
    first = zoom.tokens()
    second = zoom.token_request(DEMO, grant_type="refresh_token",
                                refresh_token=first["refresh_token"])
    assert second.status_code == 200
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert zoom.api(access_token=body["access_token"]).get(
        zoom.v2("users/me"), timeout=10).status_code == 200
    replay = zoom.token_request(DEMO, grant_type="refresh_token",
                                refresh_token=first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert zoom.token_request(DEMO, grant_type="refresh_token",
                              refresh_token=body["refresh_token"]).status_code == 200


def test_access_token_expires_on_the_emulators_clock_and_refresh_still_works(zoom):
    tokens = zoom.tokens()
    api = zoom.api(access_token=tokens["access_token"])
    zoom.control("POST", "clock", {"advance_seconds": 3598})
    assert api.get(zoom.v2("users/me"), timeout=10).status_code == 200
    zoom.control("POST", "clock", {"advance_seconds": 2})
    expired = api.get(zoom.v2("users/me"), timeout=10)
    assert expired.status_code == 401
    assert expired.json() == {"code": 124, "message": "Access token is expired."}
    assert zoom.token_request(DEMO, grant_type="refresh_token",
                              refresh_token=tokens["refresh_token"]).status_code == 200


def test_revoke_ends_the_apps_authorization_for_that_user(zoom):
    tokens = zoom.tokens()
    other = zoom.tokens(SUZUKI)
    answer = zoom.http.post(f"{zoom.url}/oauth/revoke", auth=DEMO, timeout=10,
                            data={"token": tokens["access_token"]})
    assert answer.status_code == 200 and answer.json() == {"status": "success"}
    refused = zoom.api(access_token=tokens["access_token"]).get(zoom.v2("users/me"), timeout=10)
    assert refused.status_code == 401
    assert refused.json() == {"code": 124, "message": "Invalid access token."}
    assert zoom.token_request(DEMO, grant_type="refresh_token",
                              refresh_token=tokens["refresh_token"]).status_code == 400
    assert zoom.api(access_token=other["access_token"]).get(
        zoom.v2("users/me"), timeout=10).status_code == 200
    again = zoom.http.post(f"{zoom.url}/oauth/revoke", auth=DEMO, timeout=10,
                           data={"token": tokens["access_token"]})
    assert again.status_code == 400


def test_control_revoke_is_the_user_removing_the_app_in_zoom(zoom):
    tokens = zoom.tokens()
    other = zoom.tokens(SUZUKI)
    assert zoom.control("POST", "tokens/revoke", {"user": SATO})["revoked"] == 2
    assert zoom.api(access_token=tokens["access_token"]).get(
        zoom.v2("users/me"), timeout=10).status_code == 401
    assert zoom.token_request(DEMO, grant_type="refresh_token",
                              refresh_token=tokens["refresh_token"]).json()["error"] == \
        "invalid_grant"
    assert zoom.api(access_token=other["access_token"]).get(
        zoom.v2("users/me"), timeout=10).status_code == 200
    # The grant went too: the next authorize asks for consent again.
    browser = zoom.new_session()
    zoom.authorize(zoom.authorize_url(DEMO_CLIENT_ID), SATO, session=browser)
    zoom.control("POST", "tokens/revoke", {"user": SATO})
    page = browser.get(zoom.authorize_url(DEMO_CLIENT_ID), allow_redirects=False, timeout=10)
    assert page.status_code == 200 and 'id="consent_form"' in page.text


def test_access_token_in_the_query_string_is_refused(zoom):
    tokens = zoom.tokens()
    answer = zoom.http.get(zoom.v2("users/me"), params={"access_token": tokens["access_token"]},
                           timeout=10)
    assert answer.status_code == 401
    assert answer.json() == {"code": 124, "message": "Invalid access token, this access token "
                                                    "is not supported as query parameter string."}


def test_state_dir_keeps_connections_and_meetings_across_a_restart():
    folder = tempfile.mkdtemp(prefix="zoomemu-state-")
    try:
        first = start_zoom_emulator("--state-dir", folder)
        try:
            tokens = first.tokens()
            created = first.api(access_token=tokens["access_token"]).post(
                first.v2("users/me/meetings"), timeout=10,
                json={"topic": "残る", "start_time": "2030-06-05T01:00:00Z", "duration": 30})
            assert created.status_code == 201
        finally:
            first.stop()
        second = start_zoom_emulator("--state-dir", folder)
        try:
            api = second.api(access_token=tokens["access_token"])
            again = api.get(second.v2(f"meetings/{created.json()['id']}"), timeout=10)
            assert again.status_code == 200 and again.json()["topic"] == "残る"
            assert second.token_request(DEMO, grant_type="refresh_token",
                                        refresh_token=tokens["refresh_token"]).status_code == 200
            second.reset()  # a reset is written too: nothing of the old state comes back
        finally:
            second.stop()
        third = start_zoom_emulator("--state-dir", folder)
        try:
            assert third.meetings() == []
        finally:
            third.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_https_with_a_certificate_the_client_trusts():
    server = start_zoom_emulator("--https")
    try:
        assert server.url.startswith("https://") and server.cert_path
        tokens = server.tokens()
        me = server.api(access_token=tokens["access_token"]).get(server.v2("users/me"),
                                                                 timeout=10)
        assert me.status_code == 200 and me.json()["email"] == SATO
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(server.url + "/__emulator__/health", timeout=10)  # not trusted
    finally:
        server.stop()
