"""Microsoft identity platform v2.0: authorize (sign-in and consent pages) and token.

learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow. Tenants ``common``,
``organizations`` and the demo tenant's id are accepted in the path.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, render_template, request

from . import oidc
from .errors import aad_error, json_response
from .seed import TENANT_ID

bp = Blueprint("identity", __name__)
COOKIE = "ESTSAUTH"
TENANTS = ("common", "organizations", TENANT_ID)
OIDC_SCOPES = {"openid", "profile", "email", "offline_access"}
GRAPH_PREFIX = "https://graph.microsoft.com/"


def _tenant():
    return current_app.config["TENANT"]


def normalize_scopes(raw: str) -> list[str]:
    """Graph scopes without the resource prefix; ``.default`` means every known one."""
    scopes = []
    for scope in (raw or "").split():
        short = scope[len(GRAPH_PREFIX):] if scope.startswith(GRAPH_PREFIX) else scope
        if short == ".default":
            short = "User.Read"
        if short not in scopes:
            scopes.append(short)
    return scopes


def _error_page(code: int, message: str) -> Response:
    return Response(render_template("error.html", code=code, message=message), status=400)


def _to_client(redirect_uri: str, **params) -> Response:
    params = {k: v for k, v in params.items() if v is not None}
    joiner = "&" if "?" in redirect_uri else "?"
    return redirect(redirect_uri + joiner + urlencode(params), code=302)


def _deny(redirect_uri, state, error, code, message):
    return _to_client(redirect_uri, error=error, error_description=f"AADSTS{code}: {message}",
                      error_uri=f"https://login.microsoftonline.com/error?code={code}",
                      state=state)


@bp.get("/<tenant_name>/oauth2/v2.0/authorize")
def authorize(tenant_name):
    tenant, args = _tenant(), request.args
    state = args.get("state")
    if tenant_name not in TENANTS:
        return _error_page(90002, f"Tenant '{tenant_name}' not found.")
    with tenant.lock:
        app = tenant.apps.get(args.get("client_id") or "")
        if app is None:
            return _error_page(700016, f"Application with identifier '{args.get('client_id')}'"
                               " was not found in the directory.")
        redirect_uri = args.get("redirect_uri") or ""
        if redirect_uri not in app["redirect_uris"]:
            return _error_page(50011, f"The redirect URI '{redirect_uri}' specified in the "
                               "request does not match the redirect URIs configured for the "
                               f"application '{app['client_id']}'.")
        if args.get("response_type") != "code":
            return _deny(redirect_uri, state, "unsupported_response_type", 700054,
                         "response_type 'id_token' is not enabled for the application.")
        scopes = normalize_scopes(args.get("scope"))
        if not scopes:
            return _deny(redirect_uri, state, "invalid_request", 900144,
                         "The request body must contain the following parameter: 'scope'.")
        method = args.get("code_challenge_method") or ("plain" if args.get("code_challenge")
                                                       else None)
        if method not in (None, "plain", "S256"):
            return _deny(redirect_uri, state, "invalid_request", 501491,
                         "Invalid size of Code_Challenge parameter.")
        prompt = args.get("prompt")
        user = tenant.users.get(tenant.browser_sessions.get(request.cookies.get(COOKIE, ""), ""))
        if user is None or prompt == "login":
            if prompt == "none":
                return _deny(redirect_uri, state, "login_required", 50058,
                             "A silent sign-in request was sent but no user is signed in.")
            # prompt=login is satisfied by this sign-in; prompt=consent must survive it.
            rest = {k: v for k, v in args.items() if not (k == "prompt" and v == "login")}
            return render_template("login.html", action=request.path, params=rest,
                                   login_hint=args.get("login_hint", ""), error=None)
        needs = [s for s in scopes if (user["id"], app["client_id"], s) not in tenant.consents]
        if needs or prompt == "consent":
            if prompt == "none":
                return _deny(redirect_uri, state, "consent_required", 65001,
                             "The user or administrator has not consented to use the "
                             f"application with ID '{app['client_id']}'.")
            nonce = secrets.token_urlsafe(16)
            tenant.consent_nonces[nonce] = {"user_id": user["id"], "args": args.to_dict()}
            return render_template("consent.html", app=app, user=user, scopes=scopes,
                                   nonce=nonce, action=request.path.replace("authorize",
                                                                            "consent"))
        return _issue_code(tenant, app, user, scopes, args)


def _issue_code(tenant, app, user, scopes, args) -> Response:
    code = "0.A" + secrets.token_urlsafe(48)
    tenant.codes[code] = {"client_id": app["client_id"], "user_id": user["id"],
                          "redirect_uri": args.get("redirect_uri"), "scopes": scopes,
                          "challenge": args.get("code_challenge"),
                          "method": args.get("code_challenge_method") or "plain",
                          "nonce": args.get("nonce"), "issued_at": tenant.now(),
                          "used": False}
    return _to_client(args["redirect_uri"], code=code, state=args.get("state"),
                      session_state=secrets.token_hex(16))


@bp.post("/<tenant_name>/oauth2/v2.0/authorize")
def sign_in(tenant_name):
    """The sign-in form posts back here with the original query parameters."""
    tenant, form = _tenant(), request.form
    params = {k: v for k, v in form.items() if k not in ("login", "passwd")}
    with tenant.lock:
        user = tenant.user_by_mail(form.get("login", ""))
        if user is None or not user["enabled"] or user["password"] != form.get("passwd"):
            return render_template("login.html", action=request.path, params=params,
                                   login_hint=form.get("login", ""),
                                   error="Your account or password is incorrect."), 200
        session_id = secrets.token_urlsafe(24)
        tenant.browser_sessions[session_id] = user["id"]
    response = redirect(request.path + "?" + urlencode(params), code=302)
    response.set_cookie(COOKIE, session_id, httponly=True, samesite="Lax")
    return response


@bp.post("/<tenant_name>/oauth2/v2.0/consent")
def consent(tenant_name):
    tenant = _tenant()
    with tenant.lock:
        pending = tenant.consent_nonces.pop(request.form.get("nonce", ""), None)
        if pending is None:
            return _error_page(90014, "The consent request has expired. Sign in again.")
        args = pending["args"]
        app, user = tenant.apps[args["client_id"]], tenant.users[pending["user_id"]]
        if request.form.get("decision") != "accept":
            return _deny(args["redirect_uri"], args.get("state"), "access_denied", 65004,
                         "User declined to consent to access the app.")
        scopes = normalize_scopes(args.get("scope"))
        for scope in scopes:
            tenant.consents.add((user["id"], app["client_id"], scope))
        return _issue_code(tenant, app, user, scopes, args)


def _pkce_ok(grant: dict, verifier: str | None) -> bool:
    if not grant["challenge"]:
        return True
    if not verifier:
        return False
    if grant["method"] == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=") == grant["challenge"]
    return verifier == grant["challenge"]


@bp.post("/<tenant_name>/oauth2/v2.0/token")
def token(tenant_name):
    tenant, form = _tenant(), request.form
    with tenant.lock:
        tenant.count("POST /oauth2/v2.0/token", None)
        if tenant_name not in TENANTS:
            return aad_error("invalid_request", 90002, f"Tenant '{tenant_name}' not found.")
        app = tenant.apps.get(form.get("client_id") or "")
        if app is None:
            return aad_error("unauthorized_client", 700016, "Application with identifier "
                             f"'{form.get('client_id')}' was not found in the directory.")
        if not form.get("client_secret"):
            return aad_error("invalid_client", 7000218, "The request body must contain the "
                             "following parameter: 'client_assertion' or 'client_secret'.", 401)
        if form["client_secret"] != app["client_secret"]:
            return aad_error("invalid_client", 7000215, "Invalid client secret provided. "
                             "Ensure the secret being sent in the request is the client "
                             "secret value, not the client secret ID.", 401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return _redeem_code(tenant, app, form)
        if grant_type == "refresh_token":
            return _redeem_refresh(tenant, app, form)
        return aad_error("unsupported_grant_type", 70003, "The app requested an unsupported "
                         f"grant type '{grant_type}'.")


def _redeem_code(tenant, app, form) -> Response:
    grant = tenant.codes.get(form.get("code") or "")
    if grant is None or grant["client_id"] != app["client_id"]:
        return aad_error("invalid_grant", 9002313, "Invalid request. Request is malformed or "
                         "invalid.")
    if grant["used"]:
        return aad_error("invalid_grant", 54005, "OAuth2 Authorization code was already "
                         "redeemed, please retry with a new valid code or use an existing "
                         "refresh token.")
    age = (tenant.now() - grant["issued_at"]).total_seconds()
    if age > tenant.settings["code_ttl_seconds"]:
        return aad_error("invalid_grant", 70008, "The provided authorization code or refresh "
                         "token has expired due to inactivity. Send a new interactive "
                         "authorization request for this user and resource.")
    if form.get("redirect_uri") != grant["redirect_uri"]:
        return aad_error("invalid_grant", 50148, "The redirect_uri does not match the one used "
                         "in the authorization request.")
    if not _pkce_ok(grant, form.get("code_verifier")):
        return aad_error("invalid_grant", 501481, "The Code_Verifier does not match the "
                         "code_challenge supplied in the authorization request.")
    grant["used"] = True
    return _tokens(tenant, app, grant["user_id"], grant["scopes"], grant.get("nonce"),
                   form.get("client_info") == "1")


def _redeem_refresh(tenant, app, form) -> Response:
    saved = tenant.refresh_tokens.get(form.get("refresh_token") or "")
    if saved is None or saved["client_id"] != app["client_id"]:
        return aad_error("invalid_grant", 9002313, "Invalid request. Request is malformed or "
                         "invalid.")
    if saved["revoked"]:
        return aad_error("invalid_grant", 50173, "The provided grant has expired due to it "
                         "being revoked, a fresh auth token is needed. The user might have "
                         "changed or reset their password.")
    idle = tenant.now() - saved["last_used_at"]
    if idle > dt.timedelta(days=tenant.settings["refresh_token_idle_days"]):
        return aad_error("invalid_grant", 700082, "The refresh token has expired due to "
                         "inactivity. The token was issued on "
                         f"{saved['issued_at']:%Y-%m-%dT%H:%M:%S}Z and was inactive for "
                         f"{idle.days}.00:00:00.")
    saved["last_used_at"] = tenant.now()
    requested = normalize_scopes(form.get("scope")) or saved["scopes"]
    extra = [s for s in requested if s not in saved["scopes"] and s not in OIDC_SCOPES]
    if extra:
        return aad_error("invalid_grant", 65001, "The user or administrator has not consented "
                         f"to use the application with ID '{app['client_id']}'.")
    return _tokens(tenant, app, saved["user_id"], saved["scopes"], None,
                   form.get("client_info") == "1")


def _tokens(tenant, app, user_id: str, scopes: list[str], nonce: str | None = None,
            want_client_info: bool = False) -> Response:
    ttl = tenant.settings["access_token_ttl_seconds"]
    access = "eyJ0eXAiOiJKV1QiLCJub25jZSI6" + secrets.token_urlsafe(64)
    granted = [s for s in scopes if s not in OIDC_SCOPES]
    tenant.access_tokens[access] = {"user_id": user_id, "client_id": app["client_id"],
                                    "scopes": granted, "expires_at":
                                    tenant.now() + dt.timedelta(seconds=ttl)}
    body = {"token_type": "Bearer", "scope": " ".join(granted), "expires_in": ttl,
            "ext_expires_in": ttl, "access_token": access}
    if "offline_access" in scopes:
        refresh = "1.AXEA" + secrets.token_urlsafe(96)
        tenant.refresh_tokens[refresh] = {"user_id": user_id, "client_id": app["client_id"],
                                          "scopes": scopes, "issued_at": tenant.now(),
                                          "last_used_at": tenant.now(), "revoked": False}
        body["refresh_token"] = refresh
    user = tenant.users[user_id]
    # An ID token answers the openid scope (v2-protocols-oidc); it carries the authorize
    # request's nonce so the client can match it.
    if "openid" in scopes:
        body["id_token"] = oidc.id_token(tenant, user, app["client_id"], nonce)
    if want_client_info:
        body["client_info"] = oidc.client_info(user)
    response = json_response(body)
    response.headers["Cache-Control"] = "no-store, no-cache"
    return response
