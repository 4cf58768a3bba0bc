"""Test-only control API under ``/__emulator__/`` on the Graph origin (JSON in and out).

Nothing here counts as a Graph call. Every endpoint is listed in README.md.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, jsonify, request

from . import attendees, delta, events, notifier
from .graph import revoke_user
from .graph_events import publish, remove
from .subscriptions import render as render_subscription

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
    with t.lock:
        if t.notifier is not None:
            t.notifier.pending.clear()
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
        # The mailbox is gone for the app: its subscriptions are removed (lifecycle).
        for sub in [s for s in t.subscriptions.values() if s["userId"] == user["id"]]:
            notifier.lifecycle(t, sub, "subscriptionRemoved")
            del t.subscriptions[sub["id"]]
        t.touch()
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
    """POST: insert an event for ``user`` (Graph body + optional ``exceptions``), as if made
    in Outlook: it notifies subscriptions and invites attendees of the tenant. ``organizer``
    ({name, address}) other than the user makes it an invitation the user received;
    attendees' ``status`` and the event's ``responseStatus`` are then taken as given."""
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
        payload = {k: v for k, v in (body.get("event") or {}).items() if k != "organizer"}
        organizer = (body.get("event") or {}).get("organizer") or body.get("organizer")
        if isinstance(organizer, dict) and "emailAddress" in organizer:
            organizer = organizer["emailAddress"]
        if organizer is not None and not (isinstance(organizer, dict) and "@" in str(
                organizer.get("address"))):
            return _error("organizer must be {name, address}")
        try:
            event = events.new_event(t, user["id"], calendar_id, payload, organizer=organizer,
                                     trust_status=True)
            for item in body.get("exceptions") or []:
                _seed_exception(t, event, item)
        except (events.EventError, KeyError, ValueError) as exc:
            return _error(str(exc))
        t.events[event["id"]] = event
        publish(t, [(event, "created")] + attendees.sync_copies(t, event))
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
    rendered["owner"] = t.users[event["owner"]]["mail"]
    rendered["meetingOf"] = event.get("meeting_of")
    rendered["exceptions"] = sorted(event.get("exceptions", {}))
    return rendered


@bp.route("/events/<event_id>", methods=["PATCH", "DELETE"])
def change_event(event_id):
    """Change or delete a stored event as its owner would in Outlook (notifies)."""
    t = _tenant()
    with t.lock:
        event = t.events.get(event_id)
        if event is None:
            return _error("no such event", 404)
        if request.method == "DELETE":
            remove(t, event, None)
            return jsonify({"ok": True})
        try:
            events.apply_body(t, event, _body(), creating=False, trust_status=True)
        except events.EventError as exc:
            return _error(str(exc))
        publish(t, [(event, "updated")] + attendees.sync_copies(t, event))
        return jsonify(_dump(t, event))


@bp.post("/events/<event_id>/respond")
def respond(event_id):
    """An attendee answers, as a person would in Outlook or their own mail client.

    ``{"response": "accepted" | "tentativelyAccepted" | "declined"}`` answers as the event's
    owner (an invitation in their calendar; ``sendResponse`` false keeps it from the
    organizer). With ``"attendee": address`` on the organizer's event it is that attendee's
    reply arriving (someone outside the tenant, say).
    """
    body, t = _body(), _tenant()
    with t.lock:
        event = t.events.get(event_id)
        if event is None:
            return _error("no such event", 404)
        try:
            if body.get("attendee"):
                changes = attendees.set_attendee_status(t, event, str(body["attendee"]),
                                                        str(body.get("response")))
            else:
                changes = attendees.respond(t, event, str(body.get("response")),
                                            body.get("sendResponse", True) is not False)
        except attendees.ResponseError as exc:
            return _error(str(exc))
        publish(t, changes)
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
    """Move the tenant's clock: token, code and delta-link lifetimes, subscription expiry,
    lifecycle challenges and notification retries all follow it."""
    t = _tenant()
    with t.lock:
        if request.method == "POST":
            t.clock_offset += float(_body().get("advance_seconds") or 0)
            t.touch()
            if t.notifier is not None:
                t.notifier.wake.set()
        return jsonify({"now": t.now().isoformat(), "offset_seconds": t.clock_offset})


@bp.route("/notifications", methods=["GET", "DELETE"])
def notifications():
    """Delivery attempts of change and lifecycle notifications (newest last) and what is
    still pending; DELETE forgets the log."""
    t = _tenant()
    with t.lock:
        if request.method == "DELETE":
            t.deliveries.clear()
        pending = [{"url": p["url"], "kind": p["kind"], "attempts": p["attempts"],
                    "due": p["due"].isoformat(), "subscriptionId": p["subscriptionId"]}
                   for p in (t.notifier.pending if t.notifier else [])]
        return jsonify({"deliveries": list(t.deliveries), "pending": pending})


@bp.get("/subscriptions")
def list_all_subscriptions():
    t = _tenant()
    with t.lock:
        return jsonify([dict(render_subscription(s), userId=s["userId"])
                        for s in t.subscriptions.values()])


@bp.post("/subscriptions/<subscription_id>/lifecycle")
def send_lifecycle(subscription_id):
    """``{"lifecycleEvent": "reauthorizationRequired" | "subscriptionRemoved" | "missed"}``:
    send it now, as the service would; ``subscriptionRemoved`` also removes the
    subscription."""
    t = _tenant()
    kind = _body().get("lifecycleEvent")
    if kind not in ("reauthorizationRequired", "subscriptionRemoved", "missed"):
        return _error("lifecycleEvent must be reauthorizationRequired, subscriptionRemoved "
                      "or missed")
    with t.lock:
        sub = t.subscriptions.get(subscription_id)
        if sub is None:
            return _error("no such subscription", 404)
        if not notifier.lifecycle(t, sub, kind):
            return _error("the subscription has no lifecycleNotificationUrl")
        if kind == "subscriptionRemoved":
            del t.subscriptions[subscription_id]
            t.touch()
        return jsonify({"ok": True})


@bp.get("/meetings")
def list_meetings():
    """Live Teams meetings of calendar events (conferenceId, joinUrl, eventId)."""
    t = _tenant()
    with t.lock:
        return jsonify([{k: (v.isoformat() if isinstance(v, dt.datetime) else v)
                         for k, v in m.items()} for m in t.meetings.values()])


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
            t.touch()
        return jsonify(t.settings)
