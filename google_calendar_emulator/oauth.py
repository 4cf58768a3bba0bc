"""Google OAuth 2.0 for web-server apps: the authorization endpoint with sign-in and consent
pages, the token endpoint (authorization_code with PKCE, refresh_token), revocation and
OpenID Connect userinfo."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, redirect, render_template, request

from .errors import oauth_error

bp = Blueprint("oauth", __name__)
AUTH = "https://www.googleapis.com/auth/"
SHORT = {"email": AUTH + "userinfo.email", "profile": AUTH + "userinfo.profile"}
CALENDAR_SCOPES = {
    "calendar": "Google カレンダーのすべてのカレンダーの参照、編集、共有、完全な削除",
    "calendar.readonly": "Google カレンダーでアクセスできるすべてのカレンダーの参照とダウンロード",
    "calendar.events": "すべてのカレンダーの予定の表示と編集",
    "calendar.events.readonly": "すべてのカレンダーの予定の表示",
    "calendar.events.owned": "所有している Google カレンダーの予定の参照、作成、変更、削除",
    "calendar.events.owned.readonly": "所有している Google カレンダーの予定の参照",
    "calendar.events.freebusy": "アクセスできる Google カレンダーの空き時間情報の参照",
    "calendar.freebusy": "カレンダーの空き時間情報の表示",
    "calendar.calendarlist.readonly": "登録している Google カレンダーのリストの参照",
    "calendar.calendarlist": "登録している Google カレンダーの参照、追加、削除",
}
OTHER_SCOPES = {"openid": "個人情報との関連付け", AUTH + "userinfo.email": "メールアドレスの参照",
                AUTH + "userinfo.profile": "個人情報の参照"}
COOKIE = "GAPS_EMU"
CODE_SECONDS = 600


def store():
    return current_app.config["STORE"]


def normalize_scope(raw: str) -> list[str] | None:
    scopes = []
    for name in raw.split():
        name = SHORT.get(name, name)
        if name not in OTHER_SCOPES and name[len(AUTH):] not in CALENDAR_SCOPES:
            return None
        if name not in scopes:
            scopes.append(name)
    return scopes


def describe(scope: str) -> str:
    return OTHER_SCOPES.get(scope) or CALENDAR_SCOPES.get(scope[len(AUTH):], scope)


def error_page(status: int, error: str, detail: str):
    return render_template("error.html", error=error, detail=detail, status=status), status


def back(req: dict, **params):
    query = {k: v for k, v in params.items() if v is not None}
    if req.get("state") is not None:
        query["state"] = req["state"]
    sep = "&" if "?" in req["redirect_uri"] else "?"
    return redirect(req["redirect_uri"] + sep + urlencode(query), 302)


@bp.get("/o/oauth2/v2/auth")
@bp.get("/o/oauth2/auth")
def authorize():
    s, a = store(), request.args
    with s.lock:
        client = s.clients.get(a.get("client_id", ""))
        if client is None:
            return error_page(401, "invalid_client", "The OAuth client was not found.")
        if a.get("redirect_uri") not in client["redirect_uris"]:
            return error_page(400, "redirect_uri_mismatch",
                              "You can't sign in to this app because it doesn't comply with "
                              "Google's OAuth 2.0 policy. redirect_uri=" +
                              str(a.get("redirect_uri")))
        if not a.get("scope"):
            return error_page(400, "invalid_request", "Missing required parameter: scope")
        scopes = normalize_scope(a["scope"])
        if scopes is None:
            return error_page(400, "invalid_scope", "Some requested scopes were invalid.")
        req = {"client_id": a["client_id"], "redirect_uri": a["redirect_uri"],
               "state": a.get("state"), "scopes": scopes,
               "offline": a.get("access_type") == "offline",
               "prompt": a.get("prompt", ""), "challenge": a.get("code_challenge"),
               "method": a.get("code_challenge_method", "plain" if a.get("code_challenge")
                               else None), "login_hint": a.get("login_hint", "")}
        if a.get("response_type") != "code":
            return back(req, error="unsupported_response_type")
        if req["method"] not in (None, "plain", "S256"):
            return back(req, error="invalid_request",
                        error_description="Invalid code_challenge_method")
        ticket = secrets.token_urlsafe(16)
        s.codes["req:" + ticket] = req
        user = s.sessions.get(request.cookies.get(COOKIE, ""))
        if "none" in req["prompt"].split():
            if user is None:
                return back(req, error="login_required")
            if (user, req["client_id"]) not in s.grants:
                return back(req, error="consent_required")
            return _issue_code(s, req, user)
    if user is None or "select_account" in req["prompt"].split():
        return render_template("login.html", ticket=ticket, email=req["login_hint"])
    return _consent(req, ticket, user)


def _consent(req: dict, ticket: str, user: str):
    return render_template("consent.html", ticket=ticket, user=user,
                           scopes=[describe(x) for x in req["scopes"]],
                           client_id=req["client_id"])


@bp.post("/o/oauth2/v2/auth/login")
def login():
    s, form = store(), request.form
    with s.lock:
        req = s.codes.get("req:" + form.get("ticket", ""))
        if req is None:
            return error_page(400, "invalid_request", "The sign-in session expired.")
        email = form.get("email", "").strip().lower()
        account = s.users.get(email)
        if account is None or account["password"] != form.get("password"):
            return render_template("login.html", ticket=form["ticket"], email=email,
                                   error="メールアドレスまたはパスワードが正しくありません"), 200
        cookie = secrets.token_urlsafe(16)
        s.sessions[cookie] = email
    response = _consent(req, form["ticket"], email)
    response = current_app.make_response(response)
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="Lax")
    return response


@bp.post("/o/oauth2/v2/auth/consent")
def consent():
    s, form = store(), request.form
    with s.lock:
        req = s.codes.pop("req:" + form.get("ticket", ""), None)
        user = s.sessions.get(request.cookies.get(COOKIE, ""))
        if req is None or user is None:
            return error_page(400, "invalid_request", "The sign-in session expired.")
        if form.get("decision") != "allow":
            return back(req, error="access_denied")
        return _issue_code(s, req, user)


def _issue_code(s, req: dict, user: str):
    code = "4/0A" + secrets.token_urlsafe(32)
    first = (user, req["client_id"]) not in s.grants
    s.grants.add((user, req["client_id"]))
    s.codes[code] = dict(req, user=user, used=False, first=first,
                         expires=s.now() + dt.timedelta(seconds=CODE_SECONDS))
    return back(req, code=code, scope=" ".join(req["scopes"]), authuser="0",
                prompt="consent")


def _client(s):
    client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
    if request.authorization and request.authorization.type == "basic":
        client_id, secret = request.authorization.username, request.authorization.password
    client = s.clients.get(client_id or "")
    if client is None:
        return None, oauth_error(401, "invalid_client", "The OAuth client was not found.")
    if client["secret"] != secret:
        return None, oauth_error(401, "invalid_client", "Unauthorized")
    return client_id, None


def _verifier_ok(grant: dict, verifier: str | None) -> str | None:
    if not grant.get("challenge"):
        return "code_verifier or verifier is not needed." if verifier else None
    if not verifier:
        return "Missing code verifier."
    if grant["method"] == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        computed = verifier
    return None if secrets.compare_digest(computed, grant["challenge"]) else \
        "Invalid code verifier."


@bp.post("/token")
def token():
    s, form = store(), request.form
    with s.lock:
        s.count("POST /token", None)
        fault = s.take_fault("POST /token")
        if fault:
            return oauth_error(fault["status"], fault.get("reason", "internal_failure"),
                               fault.get("message") or "Backend Error")
        client_id, failure = _client(s)
        if failure:
            return failure
        kind = form.get("grant_type")
        if kind == "authorization_code":
            return _code_grant(s, client_id, form)
        if kind == "refresh_token":
            return _refresh_grant(s, client_id, form)
        if not kind:
            return oauth_error(400, "invalid_request", "Missing required parameter: grant_type")
        return oauth_error(400, "unsupported_grant_type", "Invalid grant_type: " + kind)


def _code_grant(s, client_id: str, form):
    grant = s.codes.get(form.get("code", ""))
    if grant is None or "user" not in grant:
        return oauth_error(400, "invalid_grant", "Malformed auth code.")
    if grant["used"] or grant["expires"] <= s.now() or grant["client_id"] != client_id:
        return oauth_error(400, "invalid_grant", "Bad Request")
    if form.get("redirect_uri") != grant["redirect_uri"]:
        return oauth_error(400, "redirect_uri_mismatch", "Bad Request")
    problem = _verifier_ok(grant, form.get("code_verifier"))
    if problem:
        return oauth_error(400, "invalid_grant", problem)
    grant["used"] = True
    scope = " ".join(grant["scopes"])
    refresh = None
    if grant["offline"] and (grant["first"] or "consent" in grant["prompt"].split()):
        refresh = s.issue_refresh(grant["user"], client_id, scope)
    answer = {"access_token": s.issue_access(grant["user"], client_id, scope, refresh),
              "expires_in": 3599, "scope": scope, "token_type": "Bearer"}
    if refresh:
        answer["refresh_token"] = refresh
    return _no_store(jsonify(answer))


def _refresh_grant(s, client_id: str, form):
    value = form.get("refresh_token", "")
    grant = s.refresh_tokens.get(value)
    if grant is None or grant["revoked"] or grant["user"] not in s.users:
        return oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
    if grant["client"] != client_id:
        return oauth_error(401, "unauthorized_client", "Unauthorized")
    s.usage_by_user[grant["user"]] += 1
    answer = {"access_token": s.issue_access(grant["user"], client_id, grant["scope"], value),
              "expires_in": 3599, "scope": grant["scope"], "token_type": "Bearer"}
    return _no_store(jsonify(answer))


def _no_store(response):
    response.headers["Cache-Control"] = "no-cache, no-store, max-age=0, must-revalidate"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.post("/revoke")
@bp.post("/o/oauth2/revoke")
def revoke():
    s = store()
    value = request.form.get("token") or request.args.get("token", "")
    with s.lock:
        s.count("POST /revoke", None)
        if value in s.refresh_tokens and not s.refresh_tokens[value]["revoked"]:
            s.revoke_refresh(value)
        elif value in s.access_tokens:
            access = s.access_tokens.pop(value)
            if access["refresh"] and not s.refresh_tokens[access["refresh"]]["revoked"]:
                s.revoke_refresh(access["refresh"])
        else:
            return oauth_error(400, "invalid_token", "Token expired or revoked")
    return jsonify({})


@bp.get("/v1/userinfo")
@bp.get("/oauth2/v3/userinfo")
def userinfo():
    s = store()
    header = request.headers.get("Authorization", "")
    with s.lock:
        s.count("GET /v1/userinfo", None)
        grant = s.access_tokens.get(header[7:] if header.startswith("Bearer ") else "")
        if grant is None or grant["expires"] <= s.now():
            return oauth_error(401, "invalid_request", "Invalid Credentials")
        user = s.users[grant["user"]]
        answer = {"sub": user["sub"], "picture": "", "hd": grant["user"].split("@")[1]}
        if AUTH + "userinfo.email" in grant["scope"].split():
            answer.update(email=grant["user"], email_verified=True)
        if AUTH + "userinfo.profile" in grant["scope"].split():
            answer.update(name=user["name"])
    return jsonify(answer)
