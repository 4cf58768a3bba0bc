"""OAuth 2.0 with the Microsoft identity platform (v2.0, multi-tenant): the authorization
code flow with PKCE, and refresh.

Scopes (the narrowest that do the job, see README "Microsoft 365"): ``offline_access`` for a
refresh token, ``User.Read`` to learn who connected (``/me``), ``Calendars.ReadWrite`` because
writing the booking's event needs it (``Calendars.Read`` cannot create events; no narrower
delegated scope can). Token values are kept out of reprs, logs and exception messages.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from authlib.integrations.requests_client import OAuth2Session

from .errors import oauth_call

TIMEOUT = 10.0
SCOPES = "offline_access User.Read Calendars.ReadWrite"
LOGIN_URL = "https://login.microsoftonline.com"
GRAPH_URL = "https://graph.microsoft.com"
# "common": work, school and personal accounts of any tenant (a multi-tenant app).
TENANT = "common"
TRUSTED_HOSTS = ("login.microsoftonline.com", "graph.microsoft.com")


@dataclass(frozen=True)
class TokenSet:
    """A token response; tokens are excluded from repr so they never land in logs."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float = 0.0
    scope: str = ""

    def expiring(self, now: float | None = None, margin: float = 60.0) -> bool:
        return bool(self.expires_at) and (now or time.time()) >= self.expires_at - margin


def endpoints(login_url: str = LOGIN_URL, tenant: str = TENANT) -> dict:
    base = f"{login_url.rstrip('/')}/{tenant}/oauth2/v2.0"
    return {"authorize_url": f"{base}/authorize", "token_url": f"{base}/token"}


def is_trusted_url(url: str, extra_hosts: tuple[str, ...] | list[str] = ()) -> bool:
    """https on Microsoft's hosts, or a configured ``host:port`` (the emulator) over http(s)."""
    parts = urlsplit(url or "")
    if not parts.hostname or parts.username or parts.password or "\\" in (url or ""):
        return False
    if parts.netloc.lower() in {h.strip().lower() for h in extra_hosts if h.strip()}:
        return parts.scheme in ("http", "https")
    return parts.scheme == "https" and parts.port in (None, 443) and \
        parts.hostname.lower() in TRUSTED_HOSTS


def _session(client_id: str, client_secret: str | None = None, **kwargs) -> OAuth2Session:
    # The secret goes in the form body, as the v2.0 token endpoint documents it.
    return OAuth2Session(client_id, client_secret, scope=SCOPES,
                         code_challenge_method="S256",
                         token_endpoint_auth_method="client_secret_post", **kwargs)  # noqa: S106


def authorization_url(client_id: str, redirect_uri: str, state: str, code_verifier: str,
                      login_url: str = LOGIN_URL, login_hint: str | None = None) -> str:
    """The URL of Microsoft's sign-in and consent page (code flow, PKCE S256)."""
    session = _session(client_id, redirect_uri=redirect_uri)
    extra = {"response_mode": "query"}
    if login_hint:
        extra["login_hint"] = login_hint
    url, _ = session.create_authorization_url(endpoints(login_url)["authorize_url"],
                                              state=state, code_verifier=code_verifier, **extra)
    return url


def exchange_code(client_id: str, client_secret: str, redirect_uri: str, code: str,
                  code_verifier: str, login_url: str = LOGIN_URL,
                  timeout: float = TIMEOUT) -> TokenSet:
    """Trade an authorization code for tokens.

    Raises GraphAuthError (AADSTS error, code = OAuth ``error``) or GraphRetryableError.
    """
    session = _session(client_id, client_secret, redirect_uri=redirect_uri)
    token = oauth_call(lambda: session.fetch_token(
        endpoints(login_url)["token_url"], grant_type="authorization_code", code=code,
        code_verifier=code_verifier, timeout=timeout))
    return _token_set(token)


def refresh(client_id: str, client_secret: str, refresh_token: str,
            login_url: str = LOGIN_URL, timeout: float = TIMEOUT) -> TokenSet:
    """New tokens from a refresh token. Microsoft rotates refresh tokens: persist the new one.

    Raises GraphAuthError (invalid_grant: AADSTS70008, 700082, 50173, ...) or
    GraphRetryableError.
    """
    session = _session(client_id, client_secret)
    token = oauth_call(lambda: session.refresh_token(
        endpoints(login_url)["token_url"], refresh_token=refresh_token, scope=SCOPES,
        timeout=timeout))
    return _token_set(token, fallback_refresh=refresh_token)


def _token_set(token: dict, fallback_refresh: str | None = None) -> TokenSet:
    expires_in = float(token.get("expires_in") or 3600)
    return TokenSet(access_token=token["access_token"],
                    refresh_token=token.get("refresh_token") or fallback_refresh,
                    expires_at=time.time() + expires_in, scope=token.get("scope") or "")
