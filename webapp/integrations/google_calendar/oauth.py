"""OAuth 2.0 for web-server apps with Google (Authlib): PKCE S256, offline access, refresh,
revocation and the connected account's email.

Scopes (narrowest that do the job, checked against the Calendar API reference pages):
- ``calendar.events.owned``: see, create, change and delete events on calendars the member
  owns. Reading changes with sync tokens and writing the booking's event both need it;
  ``calendar.events`` would also reach calendars they merely subscribe to.
- ``calendar.calendarlist.readonly``: the list of calendars to pick from (calendarList.list).
- ``calendar.events.freebusy``: freeBusy.query, also for teammates' calendars shared in the
  Workspace domain, so one query can cover several members (busy times only, no details).
- ``openid email``: which Google account was connected (shown to the member and the admin).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from .errors import GoogleAuthError, GoogleUnavailable

AUTH = "https://www.googleapis.com/auth/"
SCOPES = ("openid", "email", AUTH + "calendar.calendarlist.readonly",
          AUTH + "calendar.events.owned", AUTH + "calendar.events.freebusy")
TIMEOUT = 10.0


@dataclass(frozen=True)
class GoogleEndpoints:
    """Google's hosts; ``emulator(base)`` puts every one on the local emulator's origin."""

    authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
    revoke_url: str = "https://oauth2.googleapis.com/revoke"
    userinfo_url: str = "https://openidconnect.googleapis.com/v1/userinfo"
    api_url: str = "https://www.googleapis.com/calendar/v3"

    @classmethod
    def emulator(cls, base: str) -> GoogleEndpoints:
        base = base.rstrip("/")
        return cls(f"{base}/o/oauth2/v2/auth", f"{base}/token", f"{base}/revoke",
                   f"{base}/v1/userinfo", f"{base}/calendar/v3")

    @classmethod
    def for_base(cls, base: str | None) -> GoogleEndpoints:
        return cls.emulator(base) if base else cls()


@dataclass(frozen=True)
class GoogleApp:
    """The OAuth client registered in Google Cloud (from config, never from a member)."""

    client_id: str
    client_secret: str = field(repr=False)
    endpoints: GoogleEndpoints = GoogleEndpoints()
    timeout: float = TIMEOUT


def _session(app: GoogleApp, redirect_uri: str | None = None, **kwargs) -> OAuth2Session:
    session = OAuth2Session(app.client_id, app.client_secret, scope=" ".join(SCOPES),
                            redirect_uri=redirect_uri, code_challenge_method="S256", **kwargs)
    session.trust_env = False
    return session


def authorization_url(app: GoogleApp, redirect_uri: str, state: str, code_verifier: str,
                      login_hint: str = "") -> str:
    """Google's consent page URL: PKCE S256, offline access for a refresh token, and
    ``prompt=consent`` so a reconnect gets a new refresh token too."""
    extra = {"login_hint": login_hint} if login_hint else {}
    url, _state = _session(app, redirect_uri).create_authorization_url(
        app.endpoints.authorize_url, state=state, code_verifier=code_verifier,
        access_type="offline", prompt="consent", include_granted_scopes="true", **extra)
    return url


def credentials_from(token: dict, previous: dict | None = None) -> dict:
    """What the connection stores (encrypted): tokens, absolute expiry, granted scope."""
    expires_at = token.get("expires_at") or int(time.time()) + int(token.get("expires_in", 0))
    refresh = token.get("refresh_token") or (previous or {}).get("refresh_token")
    return {"access_token": token["access_token"], "refresh_token": refresh,
            "expires_at": int(expires_at), "scope": token.get("scope", "")}


def exchange_code(app: GoogleApp, redirect_uri: str, code: str, code_verifier: str) -> dict:
    """Trade the callback's code for credentials; GoogleAuthError when Google refuses."""
    try:
        token = _session(app, redirect_uri).fetch_token(
            app.endpoints.token_url, code=code, code_verifier=code_verifier,
            grant_type="authorization_code", timeout=app.timeout)
    except OAuthError as exc:
        raise GoogleAuthError(f"Google refused the authorization code ({exc.error})") from None
    except requests.RequestException as exc:
        raise GoogleUnavailable(f"Google token endpoint unreachable ({type(exc).__name__})") \
            from None
    if not token.get("refresh_token"):
        raise GoogleAuthError("Google returned no refresh token (offline access not granted)")
    return credentials_from(token)


def refresh(app: GoogleApp, credentials: dict) -> dict:
    """New credentials from the refresh token (Google keeps the same refresh token)."""
    try:
        token = _session(app).refresh_token(
            app.endpoints.token_url, refresh_token=credentials["refresh_token"],
            timeout=app.timeout)
    except OAuthError as exc:
        if exc.error in ("invalid_grant", "unauthorized_client", "invalid_client"):
            raise GoogleAuthError(
                f"Google refused the refresh token ({exc.error}): reconnect Google") from None
        raise GoogleUnavailable(f"Google token refresh failed ({exc.error})") from None
    except requests.RequestException as exc:
        raise GoogleUnavailable(f"Google token endpoint unreachable ({type(exc).__name__})") \
            from None
    return credentials_from(token, credentials)


def revoke(app: GoogleApp, credentials: dict) -> bool:
    """Revoke the grant (refresh token, else access token); False when Google says it is
    already gone. Network errors are swallowed: disconnecting must work offline too."""
    value = credentials.get("refresh_token") or credentials.get("access_token")
    if not value:
        return False
    try:
        response = requests.post(app.endpoints.revoke_url, data={"token": value},
                                 timeout=app.timeout)
    except requests.RequestException:
        return False
    return response.status_code == 200


def account_email(app: GoogleApp, access_token: str) -> str:
    """The connected Google account's email (OpenID Connect userinfo)."""
    try:
        response = requests.get(app.endpoints.userinfo_url, timeout=app.timeout,
                                headers={"Authorization": "Bearer " + access_token})
    except requests.RequestException as exc:
        raise GoogleUnavailable(f"Google userinfo unreachable ({type(exc).__name__})") \
            from None
    if response.status_code != 200:
        raise GoogleAuthError(f"Google userinfo answered {response.status_code}")
    return str(response.json().get("email", ""))
