"""OAuth endpoints of the login origin: authorize (login and consent screens), token,
revoke, identity URL and UserInfo. UserInfo is also served on the instance origin."""

from __future__ import annotations

import json
import secrets
import time
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, render_template, request

from . import tokens
from .errors import OAuthError
from .identity import identity_body, userinfo_body
from .seed import ADMIN_USERNAME, DEMO_PASSWORD
from .state import ORG_ID

bp = Blueprint("oauth", __name__)
userinfo_bp = Blueprint("userinfo", __name__)
SESSION_COOKIE = "sid"
ERROR_PAGE = "/setup/secur/RemoteAccessErrorPage.apexp"


def _org():
    return current_app.config["ORG"]


def _json(body, status=200) -> Response:
    response = Response(json.dumps(body), status=status,
                        content_type="application/json;charset=UTF-8")
    response.headers["Cache-Control"] = "no-cache,must-revalidate,max-age=0,no-store,private"
    return response


def _bad_token() -> Response:
    return Response("Bad_OAuth_Token", status=403, content_type="text/plain;charset=UTF-8")


def _callback(redirect_uri: str, **params) -> Response:
    params = {k: v for k, v in params.items() if v is not None}
    joiner = "&" if "?" in redirect_uri else "?"
    return redirect(redirect_uri + joiner + urlencode(params), code=302)


def _error_page(error: str, description: str, state: str | None) -> Response:
    params = {"error": error, "error_description": description}
    if state is not None:
        params["state"] = state
    return redirect(f"{ERROR_PAGE}?{urlencode(params)}", code=302)


@bp.route(ERROR_PAGE)
def error_page():
    return render_template("oauth_error.html", error=request.args.get("error", ""),
                           description=request.args.get("error_description", "")), 400


def _session_user(org) -> dict | None:
    user_id = org.browser_sessions.get(request.cookies.get(SESSION_COOKIE, ""))
    user = org.records["User"].get(user_id or "")
    return user if user and user["IsActive"] else None


@bp.route("/services/oauth2/authorize", methods=["GET"])
def authorize():
    org = _org()
    args = request.args
    state = args.get("state")
    with org.lock:
        app = org.apps.get(args.get("client_id") or "")
        if app is None:
            return _error_page("invalid_client_id", "client identifier invalid", state)
        redirect_uri = args.get("redirect_uri") or ""
        if redirect_uri not in app["callback_urls"]:
            return _error_page("redirect_uri_mismatch",
                               "redirect_uri must match configuration", state)
        if args.get("response_type") != "code":
            return _callback(redirect_uri, error="unsupported_response_type",
                             error_description="response type not supported", state=state)
        try:
            scopes = tokens.granted_scopes(app, args.get("scope"))
        except OAuthError as exc:
            return _callback(redirect_uri, error=exc.error, error_description=exc.description,
                             state=state)
        if app["pkce_required"] and not args.get("code_challenge"):
            return _callback(redirect_uri, error="invalid_request",
                             error_description="missing required code challenge", state=state)
        prompt = (args.get("prompt") or "").split()
        immediate = (args.get("immediate") or "").lower() == "true"
        user = _session_user(org)
        if user is None or "login" in prompt:
            if immediate:
                return _callback(redirect_uri, error="immediate_unsuccessful",
                                 error_description="user is not logged in", state=state)
            rest = {k: v for k, v in args.items() if k != "prompt"}
            kept = [p for p in prompt if p != "login"]
            if kept:
                rest["prompt"] = " ".join(kept)
            start = "/services/oauth2/authorize?" + urlencode(rest)
            return render_template("login.html", start_url=start, error=None,
                                   username=args.get("login_hint", ""))
        approved = f"{user['Id']}|{app['client_id']}" in org.approvals
        if not approved or "consent" in prompt:
            if immediate:
                return _callback(redirect_uri, error="immediate_unsuccessful",
                                 error_description="user has not approved", state=state)
            nonce = secrets.token_urlsafe(16)
            org.codes[f"consent:{nonce}"] = {"user_id": user["Id"], "args": args.to_dict()}
            return render_template("consent.html", app=app, user=user, scopes=scopes,
                                   nonce=nonce)
        code = tokens.issue_code(org, app, user["Id"], redirect_uri, scopes,
                                 args.get("code_challenge"), args.get("code_challenge_method"))
    return _callback(redirect_uri, code=code, state=state)


@bp.context_processor
def demo_login() -> dict:
    """The login page names the demo administrator when the org has one (every user of the
    emulator shares the demo password), so nobody hunts for it in the README."""
    org = _org()
    with org.lock:
        known = any(u["Username"] == ADMIN_USERNAME for u in org.records["User"].values())
    return {"demo_login": (ADMIN_USERNAME, DEMO_PASSWORD) if known else None}


@bp.route("/", methods=["GET", "POST"])
def login():
    """The login form. POST checks the password and goes on to ``startURL``."""
    org = _org()
    start = request.values.get("startURL") or "/"
    if request.method == "GET":
        return render_template("login.html", start_url=start, error=None, username="")
    username = (request.form.get("username") or "").strip().lower()
    with org.lock:
        user = next((u for u in org.records["User"].values()
                     if u["Username"] == username), None)
        ok = user is not None and user["IsActive"] and \
            request.form.get("pw") == DEMO_PASSWORD and not org.settings["ip_restriction"]
        if not ok:
            return render_template(
                "login.html", start_url=start, username=username,
                error="Please check your username and password. If you still can't log in, "
                      "contact your Salesforce administrator."), 200
        sid = secrets.token_urlsafe(24)
        org.browser_sessions[sid] = user["Id"]
        user["LastLoginDate"] = org.now_str()
    if not start.startswith("/"):
        start = "/"
    response = redirect(start if start != "/" else "/services/oauth2/authorize", code=302)
    response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Lax")
    return response


@bp.route("/setup/secur/RemoteAccessAuthorizationPage.apexp", methods=["POST"])
def consent():
    org = _org()
    with org.lock:
        pending = org.codes.pop(f"consent:{request.form.get('nonce', '')}", None)
        user = _session_user(org)
        if pending is None or user is None or user["Id"] != pending["user_id"]:
            return _error_page("invalid_request", "invalid consent request", None)
        args = pending["args"]
        app = org.apps.get(args.get("client_id") or "")
        if app is None:
            return _error_page("invalid_client_id", "client identifier invalid",
                               args.get("state"))
        if request.form.get("decision") != "allow":
            return _callback(args["redirect_uri"], error="access_denied",
                             error_description="end-user denied authorization",
                             state=args.get("state"))
        org.approvals.append(f"{user['Id']}|{app['client_id']}")
        code = tokens.issue_code(org, app, user["Id"], args["redirect_uri"],
                                 tokens.granted_scopes(app, args.get("scope")),
                                 args.get("code_challenge"), args.get("code_challenge_method"))
        org.save()
    return _callback(args["redirect_uri"], code=code, state=args.get("state"))


@bp.route("/services/oauth2/token", methods=["POST"])
def token():
    org = _org()
    form = request.form
    try:
        with org.lock:
            grant = form.get("grant_type")
            if not grant:
                raise OAuthError("invalid_request", "grant type is missing")
            handlers = {"authorization_code": tokens.exchange_code,
                        "refresh_token": tokens.refresh_grant,
                        "password": tokens.password_grant}
            if grant not in handlers:
                raise OAuthError("unsupported_grant_type", "grant type not supported")
            app = tokens.authenticate_client(org, form, request.headers.get("Authorization"))
            body = handlers[grant](org, app, form)
            org.save()
        status = 200
    except OAuthError as exc:
        body, status = exc.body(), exc.status
    if org.latency_ms:
        time.sleep(org.latency_ms / 1000)
    return _json(body, status)


@bp.route("/services/oauth2/revoke", methods=["GET", "POST"])
def revoke():
    org = _org()
    value = request.values.get("token")
    if not value:
        return _json({"error": "unsupported_token_type",
                      "error_description": "unsupported token type"}, 400)
    with org.lock:
        done = tokens.revoke(org, value)
        org.save()
    if not done:
        return _json({"error": "invalid_token", "error_description": "invalid token"}, 400)
    return Response("", status=200)


def _bearer_user(org) -> dict | None:
    header = request.headers.get("Authorization")
    if not header and request.args.get("oauth_token"):
        header = "Bearer " + request.args["oauth_token"]
    entry = tokens.authenticate(org, header)
    return org.records["User"].get(entry["user_id"]) if entry else None


@userinfo_bp.route("/services/oauth2/userinfo", methods=["GET", "POST"])
def userinfo():
    org = _org()
    with org.lock:
        user = _bearer_user(org)
        if user is None:
            return _bad_token()
        return _json(userinfo_body(org, user))


@bp.route("/id/<org_id>/<user_id>", methods=["GET", "POST"])
def identity(org_id: str, user_id: str):
    org = _org()
    with org.lock:
        caller = _bearer_user(org)
        if caller is None or org_id[:15] != ORG_ID[:15]:
            return _bad_token()
        from .ids import normalize

        user = org.records["User"].get(normalize(user_id) or "")
        if user is None:
            return Response("Bad_Id", status=404, content_type="text/plain;charset=UTF-8")
        return _json(identity_body(org, user, request.args.get("version")))


@bp.route("/.well-known/openid-configuration")
def openid_configuration():
    base = _org().login_url
    return _json({
        "issuer": base, "authorization_endpoint": f"{base}/services/oauth2/authorize",
        "token_endpoint": f"{base}/services/oauth2/token",
        "revocation_endpoint": f"{base}/services/oauth2/revoke",
        "userinfo_endpoint": f"{base}/services/oauth2/userinfo",
        "response_types_supported": ["code"], "subject_types_supported": ["public"],
        "code_challenge_methods_supported": ["S256", "plain"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "scopes_supported": list(tokens.DEFAULT_SCOPES),
    })
