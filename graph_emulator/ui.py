"""A small Outlook calendar on the login origin (``/calendar``): what a person signed in to
Microsoft 365 sees and does, for people trying the demo and for browser journeys. Not part
of Graph's API.

The signed-in user (the sign-in page's ESTSAUTH session) sees their default calendar for two
weeks, answers invitations (承諾 / 仮承諾 / 辞退), adds a busy or free event and deletes their
own. Every change goes through the same code as the API, so it bumps changeKey, shows up in
delta and sends change notifications. Forms carry a token bound to the browser session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from flask import Blueprint, Response, current_app, redirect, render_template, request

from . import attendees, events
from .graph_events import publish, remove
from .identity import COOKIE
from .timezones import zone

bp = Blueprint("ui", __name__)
_SECRET = secrets.token_bytes(32)
SHOW_AS = ("busy", "tentative", "free", "oof", "workingElsewhere")
RESPONSE_LABELS = {"organizer": "開催者 / organizer", "accepted": "承諾済み / accepted",
                   "tentativelyAccepted": "仮承諾 / tentative", "declined": "辞退 / declined",
                   "notResponded": "未回答 / not answered", "none": "未回答 / none"}


def _tenant():
    return current_app.config["TENANT"]


def _session() -> tuple[str, dict | None]:
    session_id = request.cookies.get(COOKIE, "")
    t = _tenant()
    user = t.users.get(t.browser_sessions.get(session_id, ""))
    return session_id, user if user and user["enabled"] else None


def _csrf(session_id: str) -> str:
    return hmac.new(_SECRET, session_id.encode(), hashlib.sha256).hexdigest()


def _checked() -> dict | None:
    """The signed-in user when the form's token matches their session, else None."""
    session_id, user = _session()
    if user is None or not hmac.compare_digest(request.form.get("csrf_token", ""),
                                               _csrf(session_id)):
        return None
    return user


@bp.get("/calendar")
def calendar_page():
    t = _tenant()
    with t.lock:
        session_id, user = _session()
        if user is None:
            return render_template("login.html", action="/calendar/login", params={},
                                   login_hint=request.args.get("login_hint", ""), error=None)
        tz_name = user["timeZone"]
        tzinfo = zone(tz_name)
        first = _first_day(t, tzinfo)
        start = dt.datetime.combine(first, dt.time(0), tzinfo).astimezone(dt.UTC)
        end = start + dt.timedelta(days=14)
        calendar = t.default_calendar(user["id"])
        rows = [_row(t, e, tzinfo) for e in events.instances(t, calendar["id"], start, end)]
    return render_template("calendar.html", user=user, rows=rows, tz=tz_name, first=first,
                           csrf=_csrf(session_id), show_as=SHOW_AS,
                           previous=first - dt.timedelta(days=14),
                           following=first + dt.timedelta(days=14))


def _first_day(t, tzinfo) -> dt.date:
    raw = request.args.get("from")
    if raw:
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    return t.now().astimezone(tzinfo).date()


def _row(t, instance: dict, tzinfo) -> dict:
    local_start = instance["start"].astimezone(tzinfo)
    local_end = instance["end"].astimezone(tzinfo)
    response = instance["responseStatus"]["response"]
    master_id = instance.get("seriesMasterId") or instance["id"]
    return {"id": instance["id"], "master_id": master_id,
            "subject": instance.get("subject") or "(件名なし)",
            "day": local_start.strftime("%Y-%m-%d (%a)"),
            "time": "終日 / all day" if instance.get("isAllDay") else
            f"{local_start:%H:%M}–{local_end:%H:%M}",
            "show_as": instance.get("showAs"), "cancelled": bool(instance.get("isCancelled")),
            "organizer": instance["organizer"]["emailAddress"]["address"],
            "response": response, "response_label": RESPONSE_LABELS.get(response, response),
            "invitation": response != "organizer",
            "join_url": (instance.get("onlineMeeting") or {}).get("joinUrl"),
            "attendees": [{"address": a["emailAddress"]["address"],
                           "label": RESPONSE_LABELS.get(a["status"]["response"],
                                                        a["status"]["response"])}
                          for a in instance.get("attendees") or []]}


@bp.post("/calendar/login")
def calendar_login():
    t = _tenant()
    with t.lock:
        user = t.user_by_mail(request.form.get("login", ""))
        if user is None or not user["enabled"] or user["password"] != request.form.get(
                "passwd"):
            return render_template("login.html", action="/calendar/login", params={},
                                   login_hint=request.form.get("login", ""),
                                   error="Your account or password is incorrect."), 200
        session_id = secrets.token_urlsafe(24)
        t.browser_sessions[session_id] = user["id"]
        t.touch()
    response = redirect("/calendar", code=303)
    response.set_cookie(COOKIE, session_id, httponly=True, samesite="Lax")
    return response


@bp.post("/calendar/events")
def create_from_page():
    t = _tenant()
    with t.lock:
        user = _checked()
        if user is None:
            return _forbidden()
        form = request.form
        tz_name = user["timeZone"]
        day = form.get("day", "")
        body = {"subject": form.get("subject", "").strip() or "予定",
                "showAs": form.get("showAs") if form.get("showAs") in SHOW_AS else "busy",
                "start": {"dateTime": f"{day}T{form.get('start', '')}:00", "timeZone": tz_name},
                "end": {"dateTime": f"{day}T{form.get('end', '')}:00", "timeZone": tz_name}}
        try:
            event = events.new_event(t, user["id"], t.default_calendar(user["id"])["id"], body)
        except (events.EventError, ValueError) as exc:
            return Response(f"予定を作成できません / cannot create: {exc}", status=400,
                            content_type="text/plain; charset=utf-8")
        t.events[event["id"]] = event
        publish(t, [(event, "created")])
    return redirect(f"/calendar?from={day}", code=303)


@bp.post("/calendar/events/<event_id>/delete")
def delete_from_page(event_id):
    t = _tenant()
    with t.lock:
        user = _checked()
        event = t.events.get(event_id)
        if user is None or event is None or event["owner"] != user["id"]:
            return _forbidden()
        remove(t, event, None)
    return redirect("/calendar", code=303)


@bp.post("/calendar/events/<event_id>/respond")
def respond_from_page(event_id):
    t = _tenant()
    with t.lock:
        user = _checked()
        event = t.events.get(event_id)
        if user is None or event is None or event["owner"] != user["id"]:
            return _forbidden()
        try:
            changes = attendees.respond(t, event, request.form.get("response", ""),
                                        request.form.get("sendResponse") != "false")
        except attendees.ResponseError as exc:
            return Response(str(exc), status=400, content_type="text/plain; charset=utf-8")
        publish(t, changes)
    return redirect("/calendar", code=303)


def _forbidden() -> Response:
    return Response("サインインし直してください / sign in again", status=403,
                    content_type="text/plain; charset=utf-8")
