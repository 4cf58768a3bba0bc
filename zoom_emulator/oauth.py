"""Zoom OAuth 2.0 for user-managed apps: the authorize endpoint with sign-in and consent
pages, the token endpoint (authorization_code with optional PKCE, refresh_token with
rotation) and revocation. The paths are zoom.us's."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, redirect, render_template, request

from .errors import oauth_error

bp = Blueprint("oauth", __name__)
COOKIE = "ZOOM_EMU_SESSION"


def store():
    return current_app.config["STORE"]


def error_page(status: int, message: str):
    return render_template("error.html", status=status, message=message), status


def back(req: dict, **params):
    query = {k: v for k, v in params.items() if v is not None}
    if req.get("state") is not None:
        query["state"] = req["state"]
    sep = "&" if "?" in req["redirect_uri"] else "?"
    return redirect(req["redirect_uri"] + sep + urlencode(query), 302)


@bp.get("/oauth/authorize")
def authorize():
    s, a = store(), request.args
    with s.lock:
        app = s.apps.get(a.get("client_id", ""))
        if app is None:
            return error_page(400, "Invalid client_id.")
        if a.get("redirect_uri") not in app["redirect_uris"]:
            return error_page(400, "Invalid redirect: " + str(a.get("redirect_uri")))
        req = {"client_id": app["client_id"], "redirect_uri": a["redirect_uri"],
               "state": a.get("state"), "challenge": a.get("code_challenge"),
               "method": a.get("code_challenge_method") or "plain"}
        if a.get("response_type") != "code":
            return back(req, error="unsupported_response_type")
        if req["challenge"] and req["method"] not in ("plain", "S256"):
            return back(req, error="invalid_request")
        ticket = secrets.token_urlsafe(16)
        s.pending[ticket] = req
        user = s.sessions.get(request.cookies.get(COOKIE, ""))
        if user is not None and s.granted(user, app["client_id"]):
            # An app the user already added: Zoom sends the code back without asking again.
            s.pending.pop(ticket)
            return _issue_code(s, req, user)
    if user is None:
        return render_template("login.html", ticket=ticket, email=a.get("login_hint", ""))
    return _consent(ticket, user)


def _consent(ticket: str, email: str):
    s = store()
    req = s.pending[ticket]
    app = s.apps[req["client_id"]]
    return render_template("consent.html", ticket=ticket, user=s.users[email], app=app,
                           scopes=app["scopes"].split())


@bp.post("/oauth/authorize/login")
def login():
    s, form = store(), request.form
    with s.lock:
        if form.get("ticket", "") not in s.pending:
            return error_page(400, "The sign-in session expired. Start again from the app.")
        email = form.get("email", "").strip().lower()
        user = s.users.get(email)
        if user is None or not secrets.compare_digest(user["password"],
                                                      form.get("password", "")):
            return render_template("login.html", ticket=form["ticket"], email=email,
                                   error="メールアドレスまたはパスワードが正しくありません"
                                         " / Incorrect email or password"), 200
        cookie = secrets.token_urlsafe(16)
        s.sessions[cookie] = email
        response = current_app.make_response(_consent(form["ticket"], email))
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="Lax")
    return response


@bp.post("/oauth/authorize/consent")
def consent():
    s, form = store(), request.form
    with s.lock:
        req = s.pending.pop(form.get("ticket", ""), None)
        user = s.sessions.get(request.cookies.get(COOKIE, ""))
        if req is None or user is None:
            return error_page(400, "The sign-in session expired. Start again from the app.")
        if form.get("decision") != "allow":
            return back(req, error="access_denied")
        if not s.granted(user, req["client_id"]):
            s.grants.append([user, req["client_id"]])
            s.save()
        return _issue_code(s, req, user)


def _issue_code(s, req: dict, user: str):
    code = secrets.token_urlsafe(24)
    s.codes[code] = dict(req, user=user, expires=s.timestamp() + s.settings["code_seconds"])
    return back(req, code=code)


# ----- token endpoint ----------------------------------------------------------------------

def _client(s):
    """The app from HTTP Basic (client_id:client_secret) or, failing that, the parameters."""
    client_id = request.values.get("client_id")
    secret = request.values.get("client_secret")
    if request.authorization and request.authorization.type == "basic":
        client_id = request.authorization.username
        secret = request.authorization.password
    if not client_id or not secret:
        return None, oauth_error(401, "invalid_client", "Client ID or client secret is missing.")
    app = s.apps.get(client_id)
    if app is None:
        return None, oauth_error(401, "invalid_client", "Invalid client.")
    if not secrets.compare_digest(app["client_secret"], secret):
        return None, oauth_error(401, "invalid_client", "Invalid client secret.")
    return app, None


def _verifier_matches(grant: dict, verifier: str | None) -> bool:
    if not grant.get("challenge"):
        return True
    if not verifier:
        return False
    if grant["method"] == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        verifier = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return secrets.compare_digest(verifier, grant["challenge"])


@bp.post("/oauth/token")
def token():
    s, values = store(), request.values  # Zoom takes the query string or the form body
    with s.lock:
        s.usage["POST /oauth/token"] += 1
        fault = s.take_fault("POST", request.path, ("status",))
        if fault:
            return oauth_error(fault["status"], "server_error", "Internal error.")
        app, failure = _client(s)
        if failure:
            return failure
        kind = values.get("grant_type")
        if kind == "authorization_code":
            answer = _code_grant(s, app, values)
        elif kind == "refresh_token":
            answer = _refresh_grant(s, app, values)
        else:
            return oauth_error(400, "unsupported_grant_type",
                               "Grant type is not supported from token endpoint.")
        s.save()
        return answer


def _code_grant(s, app: dict, values):
    code = values.get("code", "")
    grant = s.codes.pop(code, None)
    if grant is None or grant["client_id"] != app["client_id"] or \
            grant["expires"] <= s.timestamp():
        return oauth_error(400, "invalid_grant", f"Invalid authorization code {code}")
    if values.get("redirect_uri") != grant["redirect_uri"]:
        return oauth_error(400, "invalid_request", "Redirect URI mismatch.")
    if not _verifier_matches(grant, values.get("code_verifier")):
        return oauth_error(400, "invalid_grant", "Invalid code verifier.")
    if grant["user"] not in s.users:
        return oauth_error(400, "invalid_grant", f"Invalid authorization code {code}")
    return _no_store(jsonify(s.issue_tokens(grant["user"], app["client_id"], app["scopes"])))


def _refresh_grant(s, app: dict, values):
    value = values.get("refresh_token", "")
    grant = s.refresh_tokens.get(value)
    if grant is None or grant["client"] != app["client_id"]:
        return oauth_error(400, "invalid_grant", "Invalid Token!")
    # Rotation: the refresh token is spent; the answer carries the next one.
    del s.refresh_tokens[value]
    return _no_store(jsonify(s.issue_tokens(grant["user"], app["client_id"], grant["scope"])))


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.post("/oauth/revoke")
def revoke():
    s = store()
    with s.lock:
        s.usage["POST /oauth/revoke"] += 1
        app, failure = _client(s)
        if failure:
            return failure
        value = request.values.get("token", "")
        grant = s.access_tokens.get(value) or s.refresh_tokens.get(value)
        if grant is None or grant["client"] != app["client_id"]:
            return oauth_error(400, "invalid_request", "Invalid Token!")
        # Revoking ends the app's authorization for that user: every token goes.
        s.revoke_user(grant["user"], app["client_id"])
        s.save()
    return jsonify({"status": "success"})
