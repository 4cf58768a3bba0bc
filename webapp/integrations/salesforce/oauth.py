"""OAuth with Salesforce: the web-server flow with PKCE, refresh, revoke and identity.

Login hosts (production, sandbox, My Domain) come in from the caller; ``is_trusted_url`` is the
check every host and instance URL passes before a token goes to it. Token values are kept out
of reprs, log lines and exception messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import requests
from authlib.integrations.requests_client import OAuth2Session

from webapp.integrations.urls import is_allowed_url

from .errors import SalesforceAuthError, SalesforceRetryableError, oauth_call, send

TIMEOUT = 10.0
SCOPES = "api refresh_token offline_access"
# Every real login and instance host lives under these domains (my.salesforce.com,
# sandbox.my.salesforce.com, login/test.salesforce.com, *.force.com Experience sites).
TRUSTED_DOMAINS = ("salesforce.com", "force.com")


@dataclass(frozen=True)
class TokenSet:
    """A token response. Tokens are excluded from repr so they never land in logs or tracebacks."""

    access_token: str = field(repr=False)
    instance_url: str
    id_url: str
    refresh_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Identity:
    """The connecting user, from the identity URL."""

    user_id: str
    org_id: str
    username: str
    email: str
    display_name: str


def oauth_registration(login_url: str) -> dict:
    """Authlib-style registration values for one login host (production, sandbox, My Domain)."""
    base = login_url.rstrip("/")
    return {
        "authorize_url": f"{base}/services/oauth2/authorize",
        "access_token_url": f"{base}/services/oauth2/token",
        "revoke_url": f"{base}/services/oauth2/revoke",
        "client_kwargs": {"scope": SCOPES, "code_challenge_method": "S256"},
    }


def is_trusted_url(url: str, extra_hosts: tuple[str, ...] | list[str] = (),
                   suffixes: tuple[str, ...] = TRUSTED_DOMAINS) -> bool:
    """True for https URLs under a Salesforce domain, or an origin listed in ``extra_hosts``.

    ``extra_hosts`` holds ``host[:port]`` values (the emulator); they may be plain http. The URL
    is judged as requests will send it (X3, ``webapp.integrations.urls``).
    """
    return is_allowed_url(url, suffixes, extra_hosts, allow_path=True)


def _oauth_session(client_id: str, client_secret: str | None = None, **kwargs) -> OAuth2Session:
    return OAuth2Session(client_id, client_secret, scope=SCOPES,
                         code_challenge_method="S256", **kwargs)


def authorization_url(login_url: str, client_id: str, redirect_uri: str, state: str,
                      code_verifier: str) -> str:
    """The URL of Salesforce's authorize page for the web-server flow with PKCE (S256)."""
    session = _oauth_session(client_id, redirect_uri=redirect_uri)
    url, _ = session.create_authorization_url(
        oauth_registration(login_url)["authorize_url"], state=state, code_verifier=code_verifier
    )
    return url


def exchange_code(login_url: str, client_id: str, client_secret: str, redirect_uri: str,
                  code: str, code_verifier: str, timeout: float = TIMEOUT) -> TokenSet:
    """Trade an authorization code for tokens.

    Raises:
        SalesforceAuthError: the token endpoint answered an OAuth error (code = its ``error``).
        SalesforceRetryableError: timeout, connection error or 5xx.
    """
    session = _oauth_session(client_id, client_secret, redirect_uri=redirect_uri)
    url = oauth_registration(login_url)["access_token_url"]
    token = oauth_call(lambda: session.fetch_token(
        url, grant_type="authorization_code", code=code, code_verifier=code_verifier,
        timeout=timeout))
    return _token_set(token, token.get("refresh_token"))


def refresh_access_token(login_url: str, client_id: str, client_secret: str,
                         refresh_token: str, timeout: float = TIMEOUT) -> TokenSet:
    """Get a new access token; ``refresh_token`` in the result is set only when rotated.

    Raises:
        SalesforceAuthError: ``invalid_grant`` and friends: the connection needs a reconnect.
        SalesforceRetryableError: timeout, connection error or 5xx.
    """
    session = _oauth_session(client_id, client_secret)
    url = oauth_registration(login_url)["access_token_url"]
    token = oauth_call(lambda: session.refresh_token(
        url, refresh_token=refresh_token, timeout=timeout))
    # Authlib copies the old refresh token in when the response has none; report only rotation.
    rotated = token.get("refresh_token")
    return _token_set(token, rotated if rotated != refresh_token else None)


def revoke_token(login_url: str, token: str, timeout: float = TIMEOUT) -> bool:
    """Revoke a refresh (or access) token. Returns False when Salesforce says it is already gone.

    Raises:
        SalesforceRetryableError: timeout, connection error or 5xx.
    """
    url = oauth_registration(login_url)["revoke_url"]
    response = send(requests.post, url, data={"token": token}, timeout=timeout)
    if response.status_code >= 500:
        raise SalesforceRetryableError("Salesforce revoke failed", status=response.status_code)
    return response.status_code == 200


def fetch_identity(id_url: str, access_token: str, timeout: float = TIMEOUT) -> Identity:
    """GET the identity URL of a token response (the connecting user and org).

    Raises:
        SalesforceAuthError: the identity endpoint refused the token (403 ``Bad_OAuth_Token``).
        SalesforceRetryableError: timeout, connection error or 5xx.
    """
    response = send(requests.get, id_url, timeout=timeout,
                    headers={"Authorization": f"Bearer {access_token}"})
    if response.status_code >= 500:
        raise SalesforceRetryableError("identity service failed", status=response.status_code)
    if response.status_code != 200:
        raise SalesforceAuthError("identity refused the token", "Bad_OAuth_Token",
                                  response.status_code)
    data = response.json()
    return Identity(user_id=data["user_id"], org_id=data["organization_id"],
                    username=data.get("username") or "", email=data.get("email") or "",
                    display_name=data.get("display_name") or "")


def _token_set(token: dict, refresh_token: str | None = None) -> TokenSet:
    return TokenSet(access_token=token["access_token"], instance_url=token["instance_url"],
                    id_url=token.get("id", ""), refresh_token=refresh_token)
