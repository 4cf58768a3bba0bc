"""A bare agenda of the signed-in account's primary calendar (what calendar.google.com would
show), for people trying the demo and for browser journeys. Not part of Google's API."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, render_template, request

from . import events as ev
from .oauth import COOKIE
from .times import moment, zone

bp = Blueprint("ui", __name__)


@bp.get("/calendar/r")
def agenda():
    store = current_app.config["STORE"]
    with store.lock:
        user = store.sessions.get(request.cookies.get(COOKIE, ""))
        if user is None:
            return render_template("agenda.html", user=None, rows=[]), 401
        tz_name = store.calendars[user]["timeZone"]
        low = store.now() - dt.timedelta(days=1)
        items = ev.full_list(store, user, {"singleEvents": True, "timeMin": low,
                                           "timeMax": low + dt.timedelta(days=120),
                                           "orderBy": "startTime"})
        rows = []
        for item in items:
            start, all_day = moment(item["start"], "start", tz_name)
            end, _ = moment(item["end"], "end", tz_name)
            local = start.astimezone(zone(tz_name))
            rows.append({"id": item["id"], "summary": item.get("summary", "(no title)"),
                         "day": local.strftime("%Y-%m-%d"),
                         "time": "終日" if all_day else local.strftime("%H:%M") + "–" +
                         end.astimezone(zone(tz_name)).strftime("%H:%M"),
                         "free": item.get("transparency") == "transparent"})
    return render_template("agenda.html", user=user, rows=rows, tz=tz_name)
