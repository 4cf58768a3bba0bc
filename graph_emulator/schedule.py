"""calendar: getSchedule (learn.microsoft.com/graph/api/calendar-getschedule,
learn.microsoft.com/graph/api/resources/scheduleinformation)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, g, request

from . import events
from .api import READ, base_url, graph_call, mailbox_route, response_zone, tenant, with_applied
from .errors import graph_error, json_response
from .timezones import format_local, parse_local

bp = Blueprint("schedule", __name__, url_prefix="/v1.0")
# availabilityView digits: workingElsewhere is 0 "for backward compatibility" (scheduleInformation)
VIEW_DIGIT = {"free": 0, "workingElsewhere": 0, "tentative": 1, "busy": 2, "oof": 3,
              "unknown": 0}


def _field(body: dict, name: str):
    """getSchedule's documented sample writes ``Schedules``/``StartTime``: accept any case."""
    return next((v for k, v in body.items() if k.lower() == name.lower()), None)


def _window(body):
    start, end = _field(body, "startTime"), _field(body, "endTime")
    if not isinstance(start, dict) or not isinstance(end, dict):
        raise ValueError("startTime and endTime are required.")
    return (parse_local(start["dateTime"], start.get("timeZone") or "UTC"),
            parse_local(end["dateTime"], end.get("timeZone") or "UTC"))


@mailbox_route(bp, "/calendar/getSchedule", methods=["POST"])
@graph_call(READ)
def get_schedule():
    t = tenant()
    body = request.get_json(silent=True) or {}
    schedules = _field(body, "schedules")
    if not isinstance(schedules, list) or not schedules:
        return graph_error(400, "ErrorInvalidParameter", "Schedules is required.")
    if len(schedules) > t.settings["max_schedules"]:
        return graph_error(400, "ErrorInvalidParameter", "Too many schedules requested.")
    try:
        start, end = _window(body)
        interval = int(_field(body, "availabilityViewInterval") or 30)
    except (ValueError, KeyError, TypeError):
        return graph_error(400, "ErrorInvalidParameter", "startTime and endTime must be "
                           "dateTimeTimeZone values.")
    if not 5 <= interval <= 1440 or end <= start:
        return graph_error(400, "ErrorInvalidParameter", "The availabilityViewInterval or the "
                           "time window is invalid.")
    applied: list = []
    tz_name = response_zone(applied)
    value = [_information(t, address, start, end, interval, tz_name) for address in schedules]
    answer = {"@odata.context": f"{base_url()}/$metadata#Collection("
                                "microsoft.graph.scheduleInformation)", "value": value}
    return with_applied(json_response(answer), applied)


def _information(t, address, start, end, interval, tz_name) -> dict:
    user = t.user_by_mail(str(address))
    if user is None:
        return {"scheduleId": address, "availabilityView": "", "scheduleItems": [],
                "error": {"message": "The requested user '" + str(address) + "' is invalid.",
                          "responseCode": "ErrorInvalidRecipients"}}
    calendar = t.default_calendar(user["id"])
    # A cancelled meeting (still in an attendee's calendar) and free time are not busy.
    busy = [e for e in events.instances(t, calendar["id"], start, end)
            if e["showAs"] != "free" and not e.get("isCancelled")]
    # Another mailbox shows only free/busy (Exchange Online's default "availability only"
    # sharing): the documented sample's second schedule has items with status, start and end
    # alone. The caller's own schedule shows subject and location too.
    own = user["id"] == g.user_id
    items = []
    for e in busy:
        item = {"status": e["showAs"], "start": format_local(e["start"], tz_name),
                "end": format_local(e["end"], tz_name)}
        if own:
            item = {"isPrivate": e.get("sensitivity") == "private", **item,
                    "subject": e.get("subject") or "",
                    "location": (e.get("location") or {}).get("displayName", "")}
        items.append(item)
    return {"scheduleId": address, "availabilityView": _view(busy, start, end, interval),
            "scheduleItems": items,
            "workingHours": {"daysOfWeek": ["monday", "tuesday", "wednesday", "thursday",
                                            "friday"],
                             "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                             "timeZone": {"name": user["timeZone"]}}}


def _view(busy, start, end, interval) -> str:
    digits = []
    step = dt.timedelta(minutes=interval)
    slot = start
    while slot < end:
        slot_end = min(slot + step, end)
        level = max((VIEW_DIGIT.get(e["showAs"], 2) for e in busy
                     if e["start"] < slot_end and e["end"] > slot), default=0)
        digits.append(str(level))
        slot = slot_end
    return "".join(digits)
