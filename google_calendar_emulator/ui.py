"""A bare agenda of the signed-in account's primary calendar (what calendar.google.com would
show), for people trying the demo and for browser journeys, where an invitee answers an
invitation (出席 / 欠席 / 未定) as in Google Calendar. Not part of Google's API."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from flask import Blueprint, current_app, redirect, render_template, request

from . import events as ev
from .errors import ApiError
from .oauth import COOKIE
from .times import moment, zone

bp = Blueprint("ui", __name__)
ANSWERS = {"accepted": "出席 / Yes", "declined": "欠席 / No", "tentative": "未定 / Maybe",
           "needsAction": "未回答 / Not answered"}


def _form_token(cookie: str) -> str:
    """Binds the answer form to the browser session (no cross-site answers)."""
    return hmac.new(b"gcal-emulator-agenda", cookie.encode(), hashlib.sha256).hexdigest()[:32]


def _row(item: dict, user: str, tz_name: str) -> dict:
    start, all_day = moment(item["start"], "start", tz_name)
    end, _ = moment(item["end"], "end", tz_name)
    local = start.astimezone(zone(tz_name))
    mine = next((a for a in item.get("attendees", []) if a.get("self")), None)
    invited = mine is not None and not mine.get("organizer")
    return {"id": item["id"], "summary": item.get("summary", "(no title)"),
            "day": local.strftime("%Y-%m-%d"),
            "time": "終日" if all_day else local.strftime("%H:%M") + "–" +
            end.astimezone(zone(tz_name)).strftime("%H:%M"),
            "free": item.get("transparency") == "transparent",
            "organizer": (item.get("organizer") or {}).get("email", ""),
            "invited": invited, "answer": mine.get("responseStatus") if mine else None,
            "meet": item.get("hangoutLink")}


@bp.get("/calendar/r")
def agenda():
    store = current_app.config["STORE"]
    cookie = request.cookies.get(COOKIE, "")
    with store.lock:
        user = store.sessions.get(cookie)
        if user is None:
            return render_template("agenda.html", user=None, rows=[]), 401
        tz_name = store.calendars[user]["timeZone"]
        start = _start_day(request.args.get("start"))
        low = store.now() - dt.timedelta(days=1) if start is None else dt.datetime.combine(
            start, dt.time(), zone(tz_name))
        items = ev.full_list(store, user, {"singleEvents": True, "timeMin": low,
                                           "timeMax": low + dt.timedelta(days=120),
                                           "orderBy": "startTime"})
        rows = [_row(item, user, tz_name) for item in items]
    return render_template("agenda.html", user=user, rows=rows, tz=tz_name, answers=ANSWERS,
                           token=_form_token(cookie), start=start.isoformat() if start else "")


def _start_day(value: str | None) -> dt.date | None:
    """``?start=YYYY-MM-DD`` shows the agenda from that day (default: from yesterday)."""
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.post("/calendar/r/respond")
def respond():
    """The signed-in invitee answers one invitation (or one occurrence of a series)."""
    store = current_app.config["STORE"]
    cookie = request.cookies.get(COOKIE, "")
    with store.lock:
        user = store.sessions.get(cookie)
        if user is None or not hmac.compare_digest(request.form.get("token", ""),
                                                   _form_token(cookie)):
            return render_template("agenda.html", user=None, rows=[]), 403
        try:
            ev.respond(store, user, request.form.get("event", ""), user,
                       request.form.get("response", ""))
        except ApiError as error:
            return render_template("error.html", status=error.code, error=error.reason,
                                   detail=error.message), error.code
        store.save()
    start = _start_day(request.form.get("start"))
    return redirect("/calendar/r" + (f"?start={start.isoformat()}" if start else ""), 303)
