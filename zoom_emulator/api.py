"""Zoom API v2 (api.zoom.us/v2): the signed-in user and their meetings."""

from __future__ import annotations

import datetime as dt
import secrets
import socket
import time

from flask import Blueprint, current_app, g, jsonify, request

from . import meetings as mt
from .errors import DAILY, EXPIRED_TOKEN, INVALID_TOKEN, PER_SECOND, QUERY_TOKEN, ZoomError, render

bp = Blueprint("api", __name__, url_prefix="/v2")
# Rate-limit labels the 429 answers name (X-RateLimit-Category).
CATEGORY = {"GET /v2/users/{userId}/meetings": "Medium"}
READ = ("meeting:read:meeting", "meeting:read", "meeting:read:admin")
LIST = ("meeting:read:list_meetings", "meeting:read", "meeting:read:admin")
WRITE = ("meeting:write:meeting", "meeting:write", "meeting:write:admin")
UPDATE = ("meeting:update:meeting", "meeting:write", "meeting:write:admin")
DELETE = ("meeting:delete:meeting", "meeting:write", "meeting:write:admin")
USER = ("user:read:user", "user:read", "user:read:admin")


def store():
    return current_app.config["STORE"]


@bp.errorhandler(ZoomError)
def _error(error):
    return render(error)


def _label() -> str:
    rule = request.url_rule.rule if request.url_rule else request.path
    rule = rule.replace("<user_id>", "{userId}").replace("<meeting_id>", "{meetingId}")
    return f"{request.method} {rule}"


def _rate_limited(fault: dict, label: str) -> ZoomError:
    daily = fault.get("limit_type") == "Daily-limit"
    if daily:
        tomorrow = store().now().date() + dt.timedelta(days=1)
        retry = tomorrow.strftime("%Y-%m-%dT00:00:00Z")
        message = DAILY.format(limit=fault.get("limit", 100))
    else:
        retry, message = "1", PER_SECOND
    headers = {"X-RateLimit-Category": fault.get("category") or CATEGORY.get(label, "Light"),
               "X-RateLimit-Type": "Daily-limit" if daily else "QPS",
               "X-RateLimit-Limit": str(fault.get("limit", 100 if daily else 30)),
               "X-RateLimit-Remaining": "0",
               "Retry-After": str(fault.get("retry_after") or retry)}
    return ZoomError(429, 429, message, headers=headers)


@bp.before_request
def _gate():
    s = store()
    if s.latency_ms:
        time.sleep(s.latency_ms / 1000)
    label = _label()
    with s.lock:
        s.usage[label] += 1
        fault = s.take_fault(request.method, request.path, ("status",))
    if fault is None:
        return None
    if fault["status"] == 429:
        raise _rate_limited(fault, label)
    raise ZoomError(fault["status"], fault.get("code", fault["status"]),
                    fault.get("message") or "Internal Error.")


@bp.after_request
def _maybe_lose_answer(response):
    """A "lose the answer" fault: the call was carried out, then the connection closes
    before any byte of the answer leaves (the client cannot tell whether it happened)."""
    if response.status_code >= 400:
        return response
    s = store()
    with s.lock:
        fault = s.take_fault(request.method, request.path, ("drop",))
    connection = request.environ.get("werkzeug.socket")
    if fault and connection is not None:
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    return response


def _authenticate(scopes: tuple[str, ...]) -> dict:
    """The grant behind the request's Bearer token, which must carry one of `scopes`."""
    s = store()
    if "access_token" in request.args:
        raise ZoomError(401, *QUERY_TOKEN)
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    grant = s.access_tokens.get(token)
    if grant is None or grant["user"] not in s.users:
        raise ZoomError(401, *INVALID_TOKEN)
    if grant["expires"] <= s.timestamp():
        raise ZoomError(401, *EXPIRED_TOKEN)
    granted = set(grant["scope"].split())
    if not granted.intersection(scopes):
        raise ZoomError(400, 4711, f"Invalid access token, does not contain scopes:[{scopes[0]}].")
    g.user = s.users[grant["user"]]
    return grant


def _path_user(user_id: str) -> dict:
    """User-level apps act for the token's own user: "me", its id or its e-mail."""
    user = g.user
    if user_id not in ("me", user["id"]) and user_id.lower() != user["email"]:
        raise ZoomError(404, 1001, f"User does not exist: {user_id}.")
    return user


def _meeting(meeting_id: str) -> dict:
    if not meeting_id.isdigit():
        raise ZoomError(400, 300, "Invalid meeting id.")
    meeting = store().meetings.get(str(int(meeting_id)))
    if meeting is None or meeting["deleted"] or meeting["host_email"] != g.user["email"]:
        raise ZoomError(404, 3001, f"Meeting does not exist: {meeting_id}.")
    return meeting


def _count_write(label: str) -> None:
    s = store()
    if not s.count_write(g.user["email"]):
        raise _rate_limited({"limit_type": "Daily-limit",
                             "limit": s.settings["daily_meeting_writes"]}, label)


@bp.get("/users/me")
@bp.get("/users/<user_id>")
def get_user(user_id: str = "me"):
    s = store()
    with s.lock:
        _authenticate(USER)
        user = _path_user(user_id)
        return jsonify({key: user[key] for key in (
            "id", "first_name", "last_name", "display_name", "email", "type", "pmi",
            "timezone", "language", "account_id")} | {"status": "active", "verified": 1})


@bp.post("/users/<user_id>/meetings")
def create_meeting(user_id: str):
    s = store()
    with s.lock:
        _authenticate(WRITE)
        user = _path_user(user_id)
        data = mt.body_of(request)
        meeting = mt.new_meeting(s, user)
        mt.apply(meeting, data, creating=True)
        _count_write(_label())
        s.meetings[str(meeting["id"])] = meeting
        s.save()
        response = jsonify(mt.public(s, meeting))
    response.status_code = 201
    return response


@bp.get("/meetings/<meeting_id>")
def get_meeting(meeting_id: str):
    s = store()
    with s.lock:
        _authenticate(READ)
        return jsonify(mt.public(s, _meeting(meeting_id)))


@bp.patch("/meetings/<meeting_id>")
def update_meeting(meeting_id: str):
    s = store()
    with s.lock:
        _authenticate(UPDATE)
        meeting = _meeting(meeting_id)
        data = mt.body_of(request)
        draft = dict(meeting)
        mt.apply(draft, {k: v for k, v in data.items() if k in mt.WRITABLE}, creating=False)
        _count_write(_label())
        meeting.update(draft)
        s.save()
    return "", 204


@bp.delete("/meetings/<meeting_id>")
def delete_meeting(meeting_id: str):
    s = store()
    with s.lock:
        _authenticate(DELETE)
        _meeting(meeting_id)["deleted"] = True
        s.save()
    return "", 204


@bp.get("/users/<user_id>/meetings")
def list_meetings(user_id: str):
    s, args = store(), request.args
    with s.lock:
        _authenticate(LIST)
        user = _path_user(user_id)
        token = args.get("next_page_token", "")
        if token:
            cursor = s.page_tokens.get(token)
            if cursor is None or cursor["expires"] <= s.timestamp() or \
                    cursor["user"] != user["email"]:
                raise ZoomError(400, 300, "The next page token is invalid or expired.")
            kind, size, offset = cursor["type"], cursor["page_size"], cursor["offset"]
        else:
            kind, offset = args.get("type", "scheduled"), 0
            size = _page_size(args.get("page_size"))
        found = _of_type(s, user["email"], kind)
        page = found[offset:offset + size]
        following = ""
        if offset + size < len(found):
            following = secrets.token_urlsafe(24)
            s.page_tokens[following] = {
                "user": user["email"], "type": kind, "page_size": size,
                "offset": offset + size,
                "expires": s.timestamp() + s.settings["page_token_seconds"]}
        return jsonify({"page_size": size, "total_records": len(found),
                        "next_page_token": following,
                        "meetings": [mt.listed(s, m) for m in page]})


def _page_size(raw) -> int:
    if raw in (None, ""):
        return 30
    if not str(raw).isdigit() or int(raw) < 1:
        raise ZoomError(400, 300, "Validation Failed.",
                        [{"field": "page_size", "message": "Invalid field."}])
    return min(int(raw), 300)


def _of_type(s, email: str, kind: str) -> list[dict]:
    now = s.now()
    found = sorted(s.live_meetings(email),
                   key=lambda m: (m["start_time"] or m["created_at"], m["id"]))
    if kind == "scheduled":
        return found
    if kind in ("upcoming", "upcoming_meetings"):
        return [m for m in found if mt.ends_at(m) > now]
    if kind == "previous_meetings":
        return [m for m in found if mt.ends_at(m) <= now]
    if kind == "live":
        return []  # no meeting is ever in progress here
    raise ZoomError(400, 300, "Validation Failed.",
                    [{"field": "type", "message": "Invalid field."}])
