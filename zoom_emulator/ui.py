"""Pages for people, not part of Zoom's API: the account's meetings (what zoom.us/meeting
shows a signed-in user, here for every demo user at once so a newcomer sees what Apo made),
and the pages a join or start link opens."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, redirect, render_template, request

from . import meetings as mt

bp = Blueprint("ui", __name__)


def _row(store, meeting: dict) -> dict:
    start = dt.datetime.fromisoformat((meeting["start_time"] or meeting["created_at"])
                                      .replace("Z", "+00:00"))
    local = start.astimezone(ZoneInfo(meeting["timezone"]))
    return {"id": meeting["id"], "topic": meeting["topic"], "agenda": meeting["agenda"],
            "host": store.users.get(meeting["host_email"], {}).get("display_name")
            or meeting["host_email"], "host_email": meeting["host_email"],
            "when": local.strftime("%Y-%m-%d %H:%M"), "zone": meeting["timezone"],
            "duration": meeting["duration"], "join_url": mt.join_url(store, meeting),
            "passcode": meeting["password"], "deleted": meeting["deleted"]}


@bp.get("/")
def home():
    return redirect("/meeting", 302)


@bp.get("/meeting")
def meeting_list():
    store = current_app.config["STORE"]
    host = request.args.get("host")
    with store.lock:
        rows = [_row(store, m) for m in sorted(
            store.meetings.values(), key=lambda m: (m["start_time"] or m["created_at"]))
            if host in (None, m["host_email"])]
    return render_template("meetings.html", rows=rows, host=host)


@bp.get("/j/<meeting_id>")
@bp.get("/s/<meeting_id>")
def room(meeting_id: str):
    store = current_app.config["STORE"]
    with store.lock:
        meeting = store.meetings.get(meeting_id)
        if meeting is None:
            abort(404)
        row = _row(store, meeting)
    return render_template("room.html", row=row, host_view=request.path.startswith("/s/"))
