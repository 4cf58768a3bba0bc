"""Connected apps, authorization codes, access and refresh tokens (no HTTP here).

Reference facts followed: codes are single-use and expire (default 15 min); token responses
never carry ``expires_in``; a refresh answers without ``refresh_token`` unless the app
rotates them; at most 5 grants per user and app; revoking a refresh token kills the access
tokens issued from it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from urllib.parse import unquote_plus

from .errors import OAuthError

MAX_GRANTS_PER_USER_AND_APP = 5
DEFAULT_SCOPES = ("api", "refresh_token", "offline_access", "id", "openid", "web", "full")
_EXPIRED_GRANT = OAuthError("invalid_grant", "expired access/refresh token")


def _org15(org) -> str:
    from .state import ORG_ID

    return ORG_ID[:15]


def register_app(org, callback_urls, *, pkce_required=False, rotation=False, client_id=None,
                 client_secret=None, name="Connected App", scopes=None, require_secret=True):
    app = {
        "client_id": client_id or "3MVG9" + secrets.token_urlsafe(60).replace("-", "A")[:80],
        "client_secret": client_secret or secrets.token_hex(32).upper(),
        "name": name, "callback_urls": list(callback_urls), "pkce_required": bool(pkce_required),
        "refresh_token_rotation": bool(rotation), "require_secret": bool(require_secret),
        "scopes": list(scopes or DEFAULT_SCOPES),
    }
    org.apps[app["client_id"]] = app
    return app


def granted_scopes(app: dict, requested: str | None) -> list[str]:
    """Requested scopes the app allows; no scope parameter means all of the app's scopes."""
    if not requested:
        return list(app["scopes"])
    wanted = requested.split()
    bad = [scope for scope in wanted if scope not in app["scopes"]]
    if bad:
        raise OAuthError("invalid_scope", "the requested scope is not allowed")
    return wanted


def issue_code(org, app, user_id, redirect_uri, scopes, challenge, method) -> str:
    # Codes contain '.' and end in '==' so that double-encoding bugs show up in clients.
    code = "aPrx" + secrets.token_urlsafe(40) + "." + secrets.token_urlsafe(24) + "=="
    org.codes[code] = {
        "client_id": app["client_id"], "user_id": user_id, "redirect_uri": redirect_uri,
        "scopes": scopes, "challenge": challenge, "method": (method or "S256"),
        "expires_at": org.epoch() + org.settings["code_ttl_seconds"], "used": False,
    }
    return code


def client_credentials(form, authorization: str | None) -> tuple[str | None, str | None]:
    """Client id and secret from HTTP Basic (standard or urlsafe base64) or from the body."""
    if authorization and authorization.lower().startswith("basic "):
        encoded = authorization[6:].strip()
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                raw = decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                continue
            if ":" in raw:
                client_id, _, secret = raw.partition(":")
                return unquote_plus(client_id), unquote_plus(secret)
    return form.get("client_id"), form.get("client_secret")


def authenticate_client(org, form, authorization) -> dict:
    client_id, secret = client_credentials(form, authorization)
    if not client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    app = org.apps.get(client_id)
    if app is None:
        # UNVERIFIED at the token endpoint (verified only at authorize), per the reference.
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if secret is None and not app["require_secret"]:
        return app
    if secret is None or not hmac.compare_digest(secret, app["client_secret"]):
        raise OAuthError("invalid_client", "invalid client credentials")
    return app


def _check_pkce(entry: dict, verifier: str | None) -> None:
    if not entry["challenge"]:
        return
    if not verifier:
        raise OAuthError("invalid_grant", "invalid code verifier")
    if entry["method"].lower() == "plain":
        expected = verifier
    else:
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    if not hmac.compare_digest(expected, entry["challenge"]):
        raise OAuthError("invalid_request", "invalid code verifier")


def _check_login_allowed(org, user_id: str) -> None:
    if org.settings["ip_restriction"]:
        raise OAuthError("invalid_grant", "IP restricted or invalid login hours")
    user = org.records["User"].get(user_id)
    if user is None or not user["IsActive"]:
        raise OAuthError("invalid_grant", "inactive user")


def exchange_code(org, app: dict, form) -> dict:
    code = form.get("code") or ""
    entry = org.codes.get(code)
    if entry is None or entry["client_id"] != app["client_id"]:
        raise OAuthError("invalid_grant", "invalid authorization code")
    if entry["used"]:
        # A replayed code is refused like an unknown one (and stays burnt).
        raise OAuthError("invalid_grant", "invalid authorization code")
    entry["used"] = True
    if entry["expires_at"] < org.epoch():
        raise OAuthError("invalid_grant", "expired authorization code")
    if form.get("redirect_uri") != entry["redirect_uri"]:
        raise OAuthError("invalid_grant", "redirect_uri must match configuration")
    _check_pkce(entry, form.get("code_verifier"))
    _check_login_allowed(org, entry["user_id"])
    refresh = None
    if {"refresh_token", "offline_access"} & set(entry["scopes"]):
        refresh = _new_refresh(org, app, entry["user_id"], entry["scopes"], grant=None)
        _enforce_grant_limit(org, app["client_id"], entry["user_id"])
    return issue_access(org, app, entry["user_id"], entry["scopes"], refresh)


def password_grant(org, app: dict, form) -> dict:
    from .seed import DEMO_PASSWORD

    username = (form.get("username") or "").lower()
    user = next((u for u in org.records["User"].values() if u["Username"] == username), None)
    if user is None or not user["IsActive"] or form.get("password") != DEMO_PASSWORD:
        raise OAuthError("invalid_grant", "authentication failure")
    _check_login_allowed(org, user["Id"])
    return issue_access(org, app, user["Id"], list(app["scopes"]), None)


def _new_refresh(org, app, user_id, scopes, grant) -> str:
    token = "5Aep861" + secrets.token_urlsafe(30) + "." + secrets.token_urlsafe(20)
    org.refresh_tokens[token] = {
        "client_id": app["client_id"], "user_id": user_id, "scopes": list(scopes),
        "grant": grant or token, "created": org.epoch(), "state": "active",
    }
    return token


def _enforce_grant_limit(org, client_id: str, user_id: str) -> None:
    """A 6th grant for the same user and app revokes the oldest one."""
    active = sorted(
        (entry["created"], entry["grant"]) for entry in org.refresh_tokens.values()
        if entry["state"] == "active" and entry["client_id"] == client_id
        and entry["user_id"] == user_id
    )
    while len(active) > MAX_GRANTS_PER_USER_AND_APP:
        _, grant = active.pop(0)
        revoke_grant(org, grant)


def issue_access(org, app: dict, user_id: str, scopes, refresh: str | None) -> dict:
    grant = org.refresh_tokens[refresh]["grant"] if refresh else None
    token = f"{_org15(org)}!AQ{secrets.token_urlsafe(40)}.{secrets.token_urlsafe(30)}"
    org.access_tokens[token] = {
        "client_id": app["client_id"], "user_id": user_id, "scopes": list(scopes),
        "grant": grant, "expires_at": org.epoch() + org.settings["session_timeout_seconds"],
    }
    return token_response(org, app, user_id, token, scopes, refresh)


def token_response(org, app, user_id, access, scopes, refresh) -> dict:
    from .state import ORG_ID

    issued_at = str(int(org.epoch() * 1000))  # a string of epoch milliseconds
    identity = f"{org.login_url}/id/{ORG_ID}/{user_id}"
    signature = base64.b64encode(hmac.new(app["client_secret"].encode(),
                                          (identity + issued_at).encode(),
                                          hashlib.sha256).digest()).decode()
    body = {"access_token": access}
    if refresh:
        body["refresh_token"] = refresh
    body.update({"signature": signature, "scope": " ".join(scopes),
                 "instance_url": org.instance_url, "id": identity, "token_type": "Bearer",
                 "issued_at": issued_at})
    return body


def refresh_grant(org, app: dict, form) -> dict:
    token = form.get("refresh_token") or ""
    entry = org.refresh_tokens.get(token)
    if entry is None or entry["client_id"] != app["client_id"] or entry["state"] == "revoked":
        raise _EXPIRED_GRANT
    if entry["state"] == "rotated":
        # Reuse of a rotated-out token: the whole grant and its access tokens die.
        revoke_grant(org, entry["grant"])
        raise _EXPIRED_GRANT
    _check_login_allowed(org, entry["user_id"])
    new_refresh = None
    if app["refresh_token_rotation"]:
        entry["state"] = "rotated"
        new_refresh = _new_refresh(org, app, entry["user_id"], entry["scopes"], entry["grant"])
    response = issue_access(org, app, entry["user_id"], entry["scopes"],
                            new_refresh or token)
    if not new_refresh:
        response.pop("refresh_token", None)
    return response


def revoke_grant(org, grant: str) -> None:
    for entry in org.refresh_tokens.values():
        if entry["grant"] == grant:
            entry["state"] = "revoked"
    for token in [t for t, e in org.access_tokens.items() if e["grant"] == grant]:
        del org.access_tokens[token]


def revoke(org, token: str) -> bool:
    """Revoke an access token, or a refresh token with every access token issued from it."""
    if token in org.access_tokens:
        del org.access_tokens[token]
        return True
    entry = org.refresh_tokens.get(token)
    if entry is not None and entry["state"] != "revoked":
        revoke_grant(org, entry["grant"])
        return True
    return False


def authenticate(org, header: str | None) -> dict | None:
    """The access-token entry for an ``Authorization: Bearer|OAuth <token>`` header."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in ("bearer", "oauth"):
        return None
    entry = org.access_tokens.get(token.strip())
    if entry is None or entry["expires_at"] < org.epoch():
        return None
    user = org.records["User"].get(entry["user_id"])
    if user is None or not user["IsActive"]:
        return None
    return entry
