"""Test-only control API under ``/__emulator__/`` on the Graph origin (JSON in and out).

Nothing here counts as a Graph call. Every endpoint is listed in README.md.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, jsonify, request

from . import delta, events
from .graph import revoke_user

bp = Blueprint("control", __name__, url_prefix="/__emulator__")
FAULT_KINDS = ("429", "503", "500", "401", "delay")


def _tenant():
    return current_app.config["TENANT"]


def _body() -> dict:
    return request.get_json(silent=True) or {}


def _error(message: str, status: int = 400):
    return jsonify({"error": message}), status


def _user(t, ref: str | None):
    return t.users.get(ref or "") or t.user_by_mail(ref or "")


@bp.get("/health")
def health():
    t = _tenant()
    return jsonify({"ok": True, "login_url": t.login_url, "graph_url": t.graph_url})


@bp.post("/reset")
def reset():
    t = _tenant()
    try:
        t.reset(_body().get("seed") or t.seed_name)
    except ValueError as exc:
        return _error(str(exc))
    return jsonify({"ok": True, "users": list(t.users.values())})


@bp.post("/apps")
def register_app():
    body, t = _body(), _tenant()
    with t.lock:
        app = t.add_app(body.get("client_id"), body.get("client_secret"),
                        body.get("redirect_uris") or [], body.get("name") or "Apo")
    return jsonify(app), 201


@bp.post("/users")
def add_user():
    body, t = _body(), _tenant()
    if not body.get("mail"):
        return _error("mail is required")
    with t.lock:
        user = t.add_user(body.get("id"), body.get("displayName") or body["mail"],
                          body["mail"], body.get("timeZone") or "UTC")
    return jsonify(user), 201


@bp.post("/users/<ref>/disable")
def disable_user(ref):
    t = _tenant()
    with t.lock:
        user = _user(t, ref)
        if user is None:
            return _error("no such user", 404)
        user["enabled"] = False
        revoke_user(t, user["id"], access_tokens=True)
    return jsonify({"ok": True})


@bp.post("/calendars")
def add_calendar():
    body, t = _body(), _tenant()
    with t.lock:
        user = _user(t, body.get("user"))
        if user is None:
            return _error("no such user", 404)
        calendar = t.add_calendar(user["id"], body.get("name") or "Calendar")
    return jsonify({k: v for k, v in calendar.items()}), 201


@bp.route("/events", methods=["GET", "POST"])
def seed_events():
    """POST: insert an event for ``user`` (Graph body + optional ``exceptions``)."""
    t = _tenant()
    body = _body()
    with t.lock:
        user = _user(t, body.get("user") or request.args.get("user"))
        if user is None:
            return _error("no such user", 404)
        if request.method == "GET":
            mine = [e for e in t.events.values() if e["owner"] == user["id"]]
            return jsonify([_dump(t, e) for e in mine])
        calendar_id = body.get("calendar_id") or t.default_calendar(user["id"])["id"]
        payload = {k: v for k, v in (body.get("event") or {}).items()}
        try:
            event = events.new_event(t, user["id"], calendar_id, payload)
            for item in body.get("exceptions") or []:
                _seed_exception(t, event, item)
        except (events.EventError, KeyError, ValueError) as exc:
            return _error(str(exc))
        t.events[event["id"]] = event
        return jsonify(_dump(t, event)), 201


def _seed_exception(t, event, item) -> None:
    key = item["originalStart"]
    if item.get("cancelled"):
        event["exceptions"][key] = {"cancelled": True}
        return
    start = dt.datetime.strptime(key, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    base = events.occurrence(event, key, start, start + (event["end"] - event["start"]), None)
    scratch = dict(base)
    events.apply_body(t, scratch, item.get("changes") or {}, creating=False)
    event["exceptions"][key] = {k: scratch[k] for k in (
        "start", "end", "start_tz", "end_tz", "subject", "body", "showAs", "isAllDay",
        "location", "changeKey", "lastModifiedDateTime", "sensitivity", "categories")}


def _dump(t, event) -> dict:
    rendered = events.render(t, event, "UTC")
    rendered["calendarId"] = event["calendar_id"]
    rendered["exceptions"] = sorted(event.get("exceptions", {}))
    return rendered


@bp.route("/events/<event_id>", methods=["PATCH", "DELETE"])
def change_event(event_id):
    t = _tenant()
    with t.lock:
        event = t.events.get(event_id)
        if event is None:
            return _error("no such event", 404)
        if request.method == "DELETE":
            del t.events[event_id]
            return jsonify({"ok": True})
        try:
            events.apply_body(t, event, _body(), creating=False)
        except events.EventError as exc:
            return _error(str(exc))
        return jsonify(_dump(t, event))


@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def faults():
    t = _tenant()
    with t.lock:
        if request.method == "DELETE":
            t.faults.clear()
        elif request.method == "POST":
            body = _body()
            if body.get("kind") not in FAULT_KINDS:
                return _error(f"kind must be one of {FAULT_KINDS}")
            fault = {"kind": body["kind"], "remaining": int(body.get("count") or 1),
                     "method": body.get("method"), "path_contains": body.get("path_contains"),
                     "retry_after": body.get("retry_after", 1),
                     "delay_ms": body.get("delay_ms", 1000)}
            t.faults.append(fault)
        return jsonify(list(t.faults))


@bp.post("/latency")
def latency():
    t = _tenant()
    t.latency_ms = int(_body().get("ms") or 0)
    return jsonify({"ms": t.latency_ms})


@bp.route("/clock", methods=["GET", "POST"])
def clock():
    t = _tenant()
    with t.lock:
        if request.method == "POST":
            t.clock_offset += float(_body().get("advance_seconds") or 0)
        return jsonify({"now": t.now().isoformat(), "offset_seconds": t.clock_offset})


@bp.route("/usage", methods=["GET", "DELETE"])
def usage():
    t = _tenant()
    with t.lock:
        if request.method == "DELETE":
            t.usage = {"total": 0, "by_endpoint": {}, "by_user": {}}
        return jsonify(t.usage)


@bp.post("/delta/expire")
def expire_delta_links():
    t = _tenant()
    with t.lock:
        return jsonify({"expired": delta.expire_all(t)})


@bp.post("/revoke")
def revoke():
    """Like revokeSignInSessions; ``access_tokens: true`` also kills live access tokens."""
    body, t = _body(), _tenant()
    with t.lock:
        user = _user(t, body.get("user"))
        if user is None:
            return _error("no such user", 404)
        revoke_user(t, user["id"], bool(body.get("access_tokens")))
    return jsonify({"ok": True})


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    t = _tenant()
    with t.lock:
        for key, value in _body().items() if request.method == "POST" else ():
            if key not in t.settings:
                return _error(f"unknown setting {key}")
            t.settings[key] = value
        return jsonify(t.settings)
