"""Zoom OAuth (Authlib) and the Meetings API v2 over requests.

Each call has a timeout and the member's Bearer token, refreshed ahead of expiry and once more
on a 401 code 124. Zoom rotates refresh tokens: every refresh returns a new one and spends the
old, so the new credentials go to ``on_credentials_change`` before anything else happens.

Zoom's create takes no idempotency key. The caller tags each meeting with its own key in the
agenda (``tag``) and, when an earlier try may have reached Zoom, asks ``find_tagged`` before it
creates another (V3).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from webapp.integrations.calendar_port import (
    ProviderAuthError,
    ProviderError,
    ProviderUnavailable,
)

TIMEOUT = 10.0
REFRESH_MARGIN_SECONDS = 60
RETRY_STATUSES = {429, 500, 502, 503, 504}
INVALID_TOKEN, MEETING_NOT_FOUND = 124, 3001


class ZoomApiError(ProviderError):
    """An answer we do not retry (4xx other than 401 and 429)."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(f"Zoom {status} (code {code}): {message}")
        self.status, self.code = status, code


class ZoomAuthError(ProviderAuthError):
    """The grant is gone (revoked, refresh refused): the member must reconnect Zoom."""


class ZoomUnavailable(ProviderUnavailable):
    """Network errors, 5xx and rate limits: retry later."""


@dataclass(frozen=True)
class ZoomEndpoints:
    authorize_url: str = "https://zoom.us/oauth/authorize"
    token_url: str = "https://zoom.us/oauth/token"  # noqa: S105 - a URL
    revoke_url: str = "https://zoom.us/oauth/revoke"
    api_url: str = "https://api.zoom.us/v2"

    @classmethod
    def for_base(cls, base: str | None) -> ZoomEndpoints:
        """Zoom's two hosts, or both on one local origin (the emulator)."""
        if not base:
            return cls()
        base = base.rstrip("/")
        return cls(f"{base}/oauth/authorize", f"{base}/oauth/token", f"{base}/oauth/revoke",
                   f"{base}/v2")


@dataclass(frozen=True)
class ZoomApp:
    """The user-managed OAuth app registered in Zoom's marketplace (from config)."""

    client_id: str
    client_secret: str = field(repr=False)
    endpoints: ZoomEndpoints = ZoomEndpoints()
    timeout: float = TIMEOUT


def _session(app: ZoomApp, redirect_uri: str | None = None) -> OAuth2Session:
    # Zoom's token endpoint takes the client as HTTP Basic (its OAuth page).
    session = OAuth2Session(app.client_id, app.client_secret, redirect_uri=redirect_uri,
                            code_challenge_method="S256",
                            token_endpoint_auth_method="client_secret_basic")  # noqa: S106
    session.trust_env = False
    return session


def authorization_url(app: ZoomApp, redirect_uri: str, state: str, code_verifier: str) -> str:
    url, _state = _session(app, redirect_uri).create_authorization_url(
        app.endpoints.authorize_url, state=state, code_verifier=code_verifier)
    return url


def _credentials(token: dict) -> dict:
    expires_at = token.get("expires_at") or int(time.time()) + int(token.get("expires_in", 0))
    return {"access_token": token["access_token"], "refresh_token": token.get("refresh_token"),
            "expires_at": int(expires_at), "scope": token.get("scope", "")}


def exchange_code(app: ZoomApp, redirect_uri: str, code: str, code_verifier: str) -> dict:
    try:
        token = _session(app, redirect_uri).fetch_token(
            app.endpoints.token_url, code=code, code_verifier=code_verifier,
            grant_type="authorization_code", timeout=app.timeout)
    except OAuthError as exc:
        raise ZoomAuthError(f"Zoom refused the authorization code ({exc.error})") from None
    except requests.RequestException as exc:
        raise ZoomUnavailable(f"Zoom unreachable ({type(exc).__name__})") from None
    return _credentials(token)


def refresh(app: ZoomApp, credentials: dict) -> dict:
    try:
        token = _session(app).refresh_token(app.endpoints.token_url,
                                            refresh_token=credentials["refresh_token"],
                                            timeout=app.timeout)
    except OAuthError as exc:
        if exc.error in ("invalid_grant", "invalid_client", "invalid_request"):
            raise ZoomAuthError(f"Zoom refused the refresh token ({exc.error}): "
                                "reconnect Zoom") from None
        raise ZoomUnavailable(f"Zoom token refresh failed ({exc.error})") from None
    except requests.RequestException as exc:
        raise ZoomUnavailable(f"Zoom unreachable ({type(exc).__name__})") from None
    return _credentials(token)


def revoke(app: ZoomApp, credentials: dict) -> bool:
    """End the member's authorization of the app; False when Zoom did not confirm it."""
    value = credentials.get("access_token") or credentials.get("refresh_token")
    if not value:
        return False
    basic = base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode()
    try:
        response = requests.post(app.endpoints.revoke_url, data={"token": value},
                                 headers={"Authorization": "Basic " + basic},
                                 timeout=app.timeout)
    except requests.RequestException:
        return False
    return response.status_code == 200


def account_email(app: ZoomApp, access_token: str) -> str:
    return str(ZoomClient(app, {"access_token": access_token,
                                "expires_at": int(time.time()) + 3600})
               ._call("GET", "/users/me").get("email", ""))


def zoom_time(value: datetime) -> str:
    """GMT with Z, which Zoom reads regardless of the meeting's time zone."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ZoomClient:
    def __init__(self, app: ZoomApp, credentials: dict, *,
                 on_credentials_change: Callable[[dict], None] | None = None,
                 session: requests.Session | None = None):
        self.app, self.credentials = app, dict(credentials)
        self.on_credentials_change = on_credentials_change
        self.session = session or requests.Session()
        self.session.trust_env = False

    # -- meetings ---------------------------------------------------------------------------
    def create_meeting(self, topic: str, start: datetime, minutes: int, tag: str) -> dict:
        """A scheduled meeting (type 2) with ``tag`` as its agenda; the answer carries
        join_url, password and settings.global_dial_in_numbers."""
        return self._call("POST", "/users/me/meetings", json={
            "topic": topic[:200], "type": 2, "start_time": zoom_time(start),
            "duration": minutes, "timezone": "UTC", "agenda": tag[:2000]})

    def get_meeting(self, meeting_id: str) -> dict | None:
        try:
            return self._call("GET", f"/meetings/{quote(str(meeting_id), safe='')}")
        except ZoomApiError as exc:
            if exc.status == 404 and exc.code == MEETING_NOT_FOUND:
                return None
            raise

    def move_meeting(self, meeting_id: str, topic: str, start: datetime, minutes: int) -> bool:
        """PATCH time and topic; the id, join_url and passcode stay. False when it is gone."""
        try:
            self._call("PATCH", f"/meetings/{quote(str(meeting_id), safe='')}", json={
                "topic": topic[:200], "start_time": zoom_time(start), "duration": minutes,
                "timezone": "UTC"})
        except ZoomApiError as exc:
            if exc.status == 404 and exc.code == MEETING_NOT_FOUND:
                return False
            raise
        return True

    def delete_meeting(self, meeting_id: str) -> None:
        """Delete; a meeting already gone is fine."""
        try:
            self._call("DELETE", f"/meetings/{quote(str(meeting_id), safe='')}")
        except ZoomApiError as exc:
            if not (exc.status == 404 and exc.code == MEETING_NOT_FOUND):
                raise

    def find_tagged(self, tag: str) -> dict | None:
        """The user's meeting whose agenda is ``tag`` (read in full: lists may shorten it)."""
        params: dict = {"type": "scheduled", "page_size": 300}
        while True:
            page = self._call("GET", "/users/me/meetings", params=params)
            for item in page.get("meetings", []):
                if tag in (item.get("agenda") or ""):
                    found = self.get_meeting(str(item["id"]))
                    if found is not None and found.get("agenda") == tag:
                        return found
            if not page.get("next_page_token"):
                return None
            params = {"type": "scheduled", "page_size": 300,
                      "next_page_token": page["next_page_token"]}

    # -- plumbing -------------------------------------------------------------------------
    def _token(self, force: bool = False) -> str:
        if force or int(self.credentials.get("expires_at") or 0) - REFRESH_MARGIN_SECONDS \
                <= time.time():
            if not self.credentials.get("refresh_token"):
                raise ZoomAuthError("Zoom access expired and no refresh token is stored")
            self.credentials = refresh(self.app, self.credentials)
            if self.on_credentials_change:
                self.on_credentials_change(dict(self.credentials))
        return self.credentials["access_token"]

    def _call(self, method: str, path: str, **kwargs) -> dict:
        refreshed = False
        while True:
            try:
                response = self.session.request(
                    method, self.app.endpoints.api_url + path, timeout=self.app.timeout,
                    headers={"Authorization": "Bearer " + self._token()}, **kwargs)
            except requests.RequestException as exc:
                raise ZoomUnavailable(f"Zoom unreachable ({type(exc).__name__})") from None
            if response.status_code < 300:
                return response.json() if response.content else {}
            code, message = _error(response)
            if response.status_code == 401 and code == INVALID_TOKEN and not refreshed:
                refreshed = True
                self._token(force=True)
                continue
            if response.status_code == 401:
                raise ZoomAuthError(f"Zoom refused the token (code {code}): {message}")
            if response.status_code in RETRY_STATUSES:
                raise ZoomUnavailable(f"Zoom {response.status_code} (code {code}): {message}")
            raise ZoomApiError(response.status_code, code, message)


def _error(response) -> tuple[int, str]:
    try:
        body = response.json()
    except ValueError:
        return response.status_code, response.text[:200]
    return int(body.get("code") or response.status_code), str(body.get("message", ""))[:300]
