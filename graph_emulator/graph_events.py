"""Microsoft Graph v1.0 events: list with ``$filter``, create (``transactionId``), get,
update and delete, occurrences included (an updated occurrence becomes an exception),
conditional writes (``If-Match``), and invitees' answers (accept, tentativelyAccept,
decline). Every change queues change notifications (notifier.py) and updates the meeting's
copies in invitees' calendars (attendees.py)."""

from __future__ import annotations

import datetime as dt
import re

from flask import g, request

from . import attendees, events, meetings, notifier
from .api import (
    READ,
    WRITE,
    base_url,
    graph_call,
    if_match_failed,
    mailbox_route,
    preferences,
    response_zone,
    tenant,
    with_applied,
)
from .errors import graph_error, json_response
from .graph import NOT_FOUND, _calendar, _context, _paged, bp
from .timezones import zone

# Outlook's answer to a write whose If-Match names an older version (README "Conditional
# writes").
CONFLICT = ("The send or update operation could not be performed because the change key "
            "passed in the request does not match the current change key for the item.")

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


@mailbox_route(bp, "/events", methods=["GET"])
@mailbox_route(bp, "/calendar/events", methods=["GET"])
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


def publish(t, changes) -> None:
    """Change notifications for ``[(event, changeType)]``."""
    for event, kind in changes:
        notifier.changed(t, event, kind)


@mailbox_route(bp, "/events", methods=["POST"])
@mailbox_route(bp, "/calendar/events", methods=["POST"])
@mailbox_route(bp, "/calendars/<calendar_id>/events", methods=["POST"])
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
    zones = _create_answer_zones(body, applied)
    transaction_id = body.get("transactionId")
    if transaction_id:
        for existing in t.events.values():
            if existing["owner"] == g.user_id and existing.get("transactionId") == \
                    transaction_id:
                return with_applied(_created(t, existing, zones), applied)
    try:
        event = events.new_event(t, g.user_id, calendar["id"], body)
    except events.EventError as exc:
        return graph_error(400, exc.code, str(exc))
    t.events[event["id"]] = event
    publish(t, [(event, "created")] + attendees.sync_copies(t, event))
    return with_applied(_created(t, event, zones), applied)


def _create_answer_zones(body: dict, applied: list) -> tuple[str, str]:
    """Zones of a create answer's start and end: the Prefer: outlook.timezone zone when
    given, else each in the zone the request wrote it in (user-post-events: "Request 3" has no
    Prefer header and its answer keeps "Pacific Standard Time")."""
    if preferences().get("outlook.timezone"):
        wanted = response_zone(applied)
        return wanted, wanted
    found = []
    for key in ("start", "end"):
        value = body.get(key) if isinstance(body.get(key), dict) else {}
        found.append(value.get("timeZone") if zone(value.get("timeZone")) else "UTC")
    return found[0], found[1]


def _created(t, event, zones):
    body = {"@odata.context": _context(f"users('{g.user_id}')/events/$entity")}
    body.update(events.render(t, event, *zones))
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


@mailbox_route(bp, "/events/<event_id>", methods=["GET"])
@mailbox_route(bp, "/calendar/events/<event_id>", methods=["GET"])
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


@mailbox_route(bp, "/events/<event_id>", methods=["PATCH"])
@mailbox_route(bp, "/calendar/events/<event_id>", methods=["PATCH"])
@graph_call(WRITE)
def update_event(event_id):
    t = tenant()
    found = _lookup(event_id)
    if found is None:
        return graph_error(404, "ErrorItemNotFound", NOT_FOUND)
    stored, key = found
    if if_match_failed(_instance(stored, key) or stored):
        return graph_error(412, "ErrorIrresolvableConflict", CONFLICT)
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
    instance = _instance(stored, key)
    publish(t, [(instance, "updated")] + attendees.sync_copies(t, stored))
    applied: list = []
    rendered = events.render(t, instance, response_zone(applied))
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


@mailbox_route(bp, "/events/<event_id>", methods=["DELETE"])
@mailbox_route(bp, "/calendar/events/<event_id>", methods=["DELETE"])
@graph_call(WRITE)
def delete_event(event_id):
    t = tenant()
    found = _lookup(event_id)
    if found is None or (found[1] and found[0]["exceptions"].get(found[1], {}).get(
            "cancelled")):
        return graph_error(404, "ErrorItemNotFound", NOT_FOUND)
    stored, key = found
    if if_match_failed(_instance(stored, key) or stored):
        return graph_error(412, "ErrorIrresolvableConflict", CONFLICT)
    remove(t, stored, key)
    return _no_content()


def remove(t, stored: dict, key: str | None) -> None:
    """Delete an event (or cancel one occurrence) with everything that hangs on it."""
    if key is None:
        instance = stored
        del t.events[stored["id"]]
        meetings.remove(t, stored)
        changes = [(stored, "deleted")] + attendees.cancel_copies(t, stored)
    else:
        instance = _instance(stored, key)
        stored["exceptions"][key] = {"cancelled": True}
        events.new_change_key(stored, t.now())
        changes = [(instance, "deleted")] + attendees.sync_copies(t, stored)
    publish(t, changes)


def _no_content():
    response = json_response({}, 204)
    response.set_data(b"")
    return response


# Answers to an invitation: 202 Accepted, no body (event-accept, event-tentativelyaccept,
# event-decline). ``sendResponse: false`` keeps the answer from the organizer.
@mailbox_route(bp, "/events/<event_id>/<any(accept, tentativelyAccept, decline):action>",
               methods=["POST"])
@mailbox_route(bp, "/calendar/events/<event_id>/<any(accept, tentativelyAccept, decline):"
               "action>", methods=["POST"])
@graph_call(WRITE)
def answer_invitation(event_id, action):
    t = tenant()
    found = _lookup(event_id)
    if found is None:
        return graph_error(404, "ErrorItemNotFound", NOT_FOUND)
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    if "proposedNewTime" in body and (body.get("sendResponse") is False or action == "accept"):
        return graph_error(400, "ErrorInvalidRequest", "proposedNewTime needs sendResponse "
                           "true and is valid only when declining or tentatively accepting.")
    try:
        changes = attendees.respond(t, found[0], attendees.ACTIONS[action],
                                    send_response=body.get("sendResponse", True) is not False)
    except attendees.ResponseError as exc:
        return graph_error(400, "ErrorInvalidRequest", str(exc))
    publish(t, changes)
    response = json_response({}, 202)
    response.set_data(b"")
    return response
