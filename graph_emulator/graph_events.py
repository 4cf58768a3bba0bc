"""Microsoft Graph v1.0 events: list with ``$filter``, create (``transactionId``), get,
update and delete, occurrences included (an updated occurrence becomes an exception)."""

from __future__ import annotations

import datetime as dt
import re

from flask import g, request

from . import events
from .api import READ, WRITE, base_url, graph_call, response_zone, tenant, with_applied
from .errors import graph_error, json_response
from .graph import NOT_FOUND, _calendar, _context, _paged, bp

_ICAL_FILTER = re.compile(r"^\s*iCalUId\s+eq\s+'((?:[^']|'')*)'\s*$")
# singlevaluelegacyextendedproperty-get: "Get resource instances filtered by a property value".
_EXTENDED_FILTER = re.compile(
    r"^\s*singleValueExtendedProperties/Any\(\s*ep\s*:\s*ep/id\s+eq\s+'((?:[^']|'')*)'"
    r"\s+and\s+ep/value\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$", re.IGNORECASE)


def _matches(event: dict, raw_filter: str) -> bool | None:
    """Whether the event passes ``$filter``; None for a filter the emulator does not know."""
    ical = _ICAL_FILTER.match(raw_filter)
    if ical:
        return event["iCalUId"] == ical.group(1).replace("''", "'")
    extended = _EXTENDED_FILTER.match(raw_filter)
    if extended:
        wanted_id, wanted = (g.replace("''", "'") for g in extended.groups())
        return any(p["id"].lower() == wanted_id.lower() and p["value"] == wanted
                   for p in event.get("singleValueExtendedProperties") or [])
    return None


@bp.get("/me/events")
@graph_call(READ)
def list_events():
    t = tenant()
    applied: list = []
    tz_name = response_zone(applied)
    mine = [e for e in t.events.values() if e["owner"] == g.user_id]
    raw_filter = request.args.get("$filter")
    if raw_filter:
        if _matches({"iCalUId": ""}, raw_filter) is None:
            return graph_error(400, "ErrorInvalidUrlQueryFilter",
                               "The query filter contains one or more invalid nodes.")
        mine = [e for e in mine if _matches(e, raw_filter)]
    mine.sort(key=lambda e: e["createdDateTime"])
    return _paged([events.render(t, e, tz_name) for e in mine], "Collection(event)",
                  applied=applied)


@bp.post("/me/events")
@bp.post("/me/calendars/<calendar_id>/events")
@graph_call(WRITE)
def create_event(calendar_id=None):
    t = tenant()
    calendar = _calendar(calendar_id)
    if calendar is None:
        return graph_error(404, "ErrorItemNotFound", NOT_FOUND)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return graph_error(400, "BadRequest", "Empty Payload. JSON content expected.")
    applied: list = []
    tz_name = response_zone(applied)
    transaction_id = body.get("transactionId")
    if transaction_id:
        for existing in t.events.values():
            if existing["owner"] == g.user_id and existing.get("transactionId") == \
                    transaction_id:
                return with_applied(_created(t, existing, tz_name), applied)
    try:
        event = events.new_event(t, g.user_id, calendar["id"], body)
    except events.EventError as exc:
        return graph_error(400, exc.code, str(exc))
    t.events[event["id"]] = event
    return with_applied(_created(t, event, tz_name), applied)


def _created(t, event, tz_name):
    body = {"@odata.context": _context(f"users('{g.user_id}')/events/$entity")}
    body.update(events.render(t, event, tz_name))
    response = json_response(body, 201)
    response.headers["Location"] = f"{base_url()}/users('{g.user_id}')/events('{event['id']}')"
    return response


def _lookup(event_id: str):
    """(stored event, occurrence key or None) owned by the caller, else None."""
    t = tenant()
    stored = t.events.get(event_id)
    if stored is not None:
        return (stored, None) if stored["owner"] == g.user_id else None
    found = events.find_occurrence(t, event_id)
    if found and found[0]["owner"] == g.user_id:
        return found
    return None


def _instance(stored, key):
    if key is None:
        return stored
    until = key_time(key) + dt.timedelta(days=1)
    for k, start, end in events.occurrences(stored, until):
        if k == key:
            return events.occurrence(stored, k, start, end, stored["exceptions"].get(k))
    return None


def key_time(key: str) -> dt.datetime:
    return dt.datetime.strptime(key, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


@bp.get("/me/events/<event_id>")
@graph_call(READ)
def get_event(event_id):
    found = _lookup(event_id)
    instance = _instance(*found) if found else None
    if instance is None or (found[1] and found[0]["exceptions"].get(found[1], {}).get(
            "cancelled")):
        return graph_error(404, "ErrorItemNotFound", NOT_FOUND)
    applied: list = []
    body = events.render(tenant(), instance, response_zone(applied))
    return with_applied(json_response(body), applied)


@bp.patch("/me/events/<event_id>")
@graph_call(WRITE)
def update_event(event_id):
    t = tenant()
    found = _lookup(event_id)
    if found is None:
        return graph_error(404, "ErrorItemNotFound", NOT_FOUND)
    stored, key = found
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return graph_error(400, "BadRequest", "Empty Payload. JSON content expected.")
    try:
        if key is None:
            events.apply_body(t, stored, body, creating=False)
        else:
            _update_occurrence(t, stored, key, body)
    except events.EventError as exc:
        return graph_error(400, exc.code, str(exc))
    applied: list = []
    rendered = events.render(t, _instance(stored, key), response_zone(applied))
    return with_applied(json_response(rendered), applied)


def _update_occurrence(t, master, key, body) -> None:
    """Changing one occurrence turns it into an exception of its series."""
    if "recurrence" in body:
        raise events.EventError("ErrorInvalidRequest",
                                "An occurrence's recurrence cannot be changed.")
    current = _instance(master, key)
    scratch = {k: v for k, v in current.items()}
    events.apply_body(t, scratch, {k: v for k, v in body.items() if k != "transactionId"},
                      creating=False)
    override = {k: scratch[k] for k in ("start", "end", "start_tz", "end_tz", "subject", "body",
                                        "showAs", "isAllDay", "location", "changeKey",
                                        "lastModifiedDateTime", "sensitivity", "categories")}
    master["exceptions"][key] = override


@bp.delete("/me/events/<event_id>")
@graph_call(WRITE)
def delete_event(event_id):
    t = tenant()
    found = _lookup(event_id)
    if found is None or (found[1] and found[0]["exceptions"].get(found[1], {}).get(
            "cancelled")):
        return graph_error(404, "ErrorItemNotFound", NOT_FOUND)
    stored, key = found
    if key is None:
        del t.events[stored["id"]]
    else:
        stored["exceptions"][key] = {"cancelled": True}
    response = json_response({}, 204)
    response.set_data(b"")
    return response
