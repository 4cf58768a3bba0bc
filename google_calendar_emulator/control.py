"""Test-only control API under /__emulator__/ (never part of Google's surface)."""

from __future__ import annotations

import datetime as dt
import secrets

from flask import Blueprint, current_app, jsonify, request

from . import conference, push
from . import events as ev
from .errors import ApiError
from .errors import body as error_body

bp = Blueprint("control", __name__, url_prefix="/__emulator__")


def store():
    return current_app.config["STORE"]


@bp.errorhandler(ApiError)
def _error(error):
    return jsonify(error_body(error)), error.code


@bp.get("/health")
def health():
    return jsonify({"ok": True})


@bp.post("/reset")
def reset():
    store().reset((request.get_json(silent=True) or {}).get("seed"))
    return jsonify({"ok": True})


@bp.post("/clients")
def add_client():
    """Register an OAuth client: ``{"redirect_uris": [...]}`` -> id and secret."""
    s, data = store(), request.get_json(force=True)
    number = f"{secrets.randbelow(10**12):012d}"
    client_id = f"{number}-{secrets.token_hex(8)}.apps.googleusercontent.com"
    secret = "GOCSPX-" + secrets.token_urlsafe(21)
    with s.lock:
        s.clients[client_id] = {"secret": secret, "redirect_uris": list(data["redirect_uris"])}
    return jsonify({"client_id": client_id, "client_secret": secret})


@bp.post("/users")
def add_user():
    s, data = store(), request.get_json(force=True)
    with s.lock:
        s.add_user(data["email"], data.get("name", data["email"]), data.get("password", "x"),
                   data.get("timeZone", "Asia/Tokyo"))
    return jsonify({"ok": True})


@bp.post("/calendars")
def add_calendar():
    """``{"id", "summary", "owner", "timeZone", "acl": {email: role}}``."""
    s, data = store(), request.get_json(force=True)
    with s.lock:
        s.add_calendar(data["id"], data.get("summary", data["id"]), data["owner"],
                       data.get("timeZone", "Asia/Tokyo"))
        s.calendars[data["id"]]["acl"].update(data.get("acl", {}))
    return jsonify({"ok": True})


@bp.post("/calendars/<path:calendar_id>/events")
def seed_event(calendar_id):
    """Insert as the calendar's owner without API usage (validation still applies)."""
    s, data = store(), request.get_json(force=True)
    with s.lock:
        if calendar_id not in s.calendars:
            return jsonify({"error": "no such calendar"}), 404
        version = int(request.args.get("conferenceDataVersion", 0))
        if data.get("recurringEventId"):  # an exception of a series
            item = ev.find(s, calendar_id, data["id"], materialize=True)
            return jsonify(ev.public(ev.patch(s, calendar_id, item["id"], data, version)))
        event = ev.create(s, calendar_id, s.calendars[calendar_id]["owner"], data, version)
        return jsonify(ev.public(event))


@bp.patch("/calendars/<path:calendar_id>/events/<event_id>")
def change_event(calendar_id, event_id):
    s = store()
    with s.lock:
        return jsonify(ev.public(ev.patch(s, calendar_id, event_id,
                                          request.get_json(force=True))))


@bp.post("/calendars/<path:calendar_id>/events/<event_id>/respond")
def respond(calendar_id, event_id):
    """An attendee answers the invitation, as from their calendar or the invitation mail:
    ``{"attendee": email, "response": "accepted|declined|tentative|needsAction",
    "comment"?}``. ``calendar_id`` is the organizer's calendar or the attendee's own."""
    s, data = store(), request.get_json(force=True)
    with s.lock:
        event = ev.respond(s, calendar_id, event_id, data["attendee"], data["response"],
                           data.get("comment"))
        return jsonify(ev.public(event))


@bp.delete("/calendars/<path:calendar_id>/events/<event_id>")
def remove_event(calendar_id, event_id):
    s = store()
    with s.lock:
        ev.delete(s, calendar_id, event_id)
    return jsonify({"ok": True})


@bp.get("/calendars/<path:calendar_id>/events")
def stored_events(calendar_id):
    """Every stored record (series, exceptions, cancelled ones) as Google would show it."""
    s = store()
    with s.lock:
        return jsonify([{k: v for k, v in e.items() if not k.startswith("_")}
                        for e in s.events.get(calendar_id, {}).values()])


@bp.post("/faults")
def add_fault():
    """``{"endpoint": "GET /calendar/v3/..." | "*", "status": 403, "reason":
    "rateLimitExceeded", "times": 1 (-1 = until cleared), "retry_after": seconds}``."""
    s, data = store(), request.get_json(force=True)
    with s.lock:
        s.faults.append({"endpoint": data.get("endpoint", "*"), "status": int(data["status"]),
                         "reason": data.get("reason", "backendError"),
                         "message": data.get("message"),
                         "remaining": int(data.get("times", 1)),
                         "retry_after": data.get("retry_after")})
    return jsonify({"ok": True})


@bp.delete("/faults")
def clear_faults():
    with store().lock:
        store().faults.clear()
    return jsonify({"ok": True})


@bp.post("/latency")
def latency():
    with store().lock:
        store().latency_ms = int(request.get_json(force=True)["ms"])
    return jsonify({"ok": True})


@bp.post("/clock")
def clock():
    """``{"advance_seconds": N}`` moves the emulator's clock forward: access and sync tokens,
    watch channels and pending conferences follow it at once."""
    s = store()
    with s.lock:
        s.offset += dt.timedelta(seconds=int(request.get_json(force=True)["advance_seconds"]))
        for channel in s.channels.values():
            push.live(s, channel)
        for event in conference.resolve_due(s):
            ev.touch(s, event)
            ev.sync_copies(s, event["_calendar"], event)
        return jsonify({"now": s.stamp()})


@bp.get("/channels")
def channels():
    """Every watch channel with its state: ``stopped``, ``expired``, last message ``number``."""
    s = store()
    with s.lock:
        return jsonify([dict(c, live=push.live(s, c)) for c in s.channels.values()])


@bp.get("/push/deliveries")
def deliveries():
    """What the dispatcher posted: channel, state, number, address, result (HTTP status or the
    error's name), newest last."""
    with store().lock:
        return jsonify(list(store().deliveries))


@bp.post("/push/settings")
def push_settings():
    """``{"http_hosts": ["127.0.0.1", "host:port"]}``: the hosts that may receive over plain
    HTTP (every other address must be HTTPS, as Google requires)."""
    s, data = store(), request.get_json(force=True)
    with s.lock:
        s.push_http_hosts = [str(h) for h in data.get("http_hosts", [])]
    return jsonify({"http_hosts": s.push_http_hosts})


@bp.post("/conferences")
def conference_mode():
    """``{"status": "success|pending|failure", "resolve_after_seconds": 2}``: how the next
    Meet create requests end (pending ones succeed when the emulator's clock passes)."""
    s, data = store(), request.get_json(force=True)
    if data.get("status") not in ("success", "pending", "failure"):
        return jsonify({"error": "status must be success, pending or failure"}), 400
    with s.lock:
        s.conference_mode = {"status": data["status"],
                             "resolve_after_seconds": int(data.get("resolve_after_seconds", 2))}
    return jsonify(s.conference_mode)


@bp.post("/freebusy-errors")
def freebusy_error():
    """``{"calendar": id, "reason": "internalError", "times": 1}``: that calendar's entry in
    the next freeBusy answers carries ``errors`` instead of busy times."""
    s, data = store(), request.get_json(force=True)
    with s.lock:
        s.freebusy_errors[data["calendar"]] = {"reason": data.get("reason", "internalError"),
                                               "remaining": int(data.get("times", 1))}
    return jsonify({"ok": True})


@bp.delete("/freebusy-errors")
def clear_freebusy_errors():
    with store().lock:
        store().freebusy_errors.clear()
    return jsonify({"ok": True})


@bp.get("/usage")
def usage():
    s = store()
    with s.lock:
        return jsonify({"total": sum(s.usage.values()), "by_endpoint": dict(s.usage),
                        "by_user": dict(s.usage_by_user)})


@bp.delete("/usage")
def clear_usage():
    s = store()
    with s.lock:
        s.usage.clear()
        s.usage_by_user.clear()
    return jsonify({"ok": True})


@bp.post("/sync-tokens/expire")
def expire_sync_tokens():
    """Invalidate every sync token (or those of ``{"calendar": id}``): the next use is 410."""
    s, data = store(), request.get_json(silent=True) or {}
    with s.lock:
        for token in s.sync_tokens.values():
            if data.get("calendar") in (None, token["calendar"]):
                token["expired"] = True
    return jsonify({"ok": True})


@bp.post("/tokens/revoke")
def revoke_tokens():
    """The user removes the app's access (``{"user": email}``), or ``{"expire_access": true}``
    ends every access token now."""
    s, data = store(), request.get_json(force=True)
    with s.lock:
        if data.get("expire_access"):
            for grant in s.access_tokens.values():
                grant["expires"] = s.now()
            return jsonify({"ok": True})
        return jsonify({"revoked": s.revoke_user(data["user"])})
