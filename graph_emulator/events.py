"""Stored events, their instances in a time window, and the Graph representation.

A stored event is a ``singleInstance`` or a ``seriesMaster``. A series' occurrences are
computed; an occurrence that was changed becomes an ``exception`` (an override kept on the
master), one that was deleted is cancelled and disappears from views.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from html import unescape

from . import meetings
from . import recurrence as rec
from .state import Tenant, opaque_id
from .timezones import format_local, parse_local, zone

SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")
WRITABLE = {"subject", "body", "start", "end", "isAllDay", "showAs", "location", "locations",
            "attendees", "recurrence", "transactionId", "sensitivity", "importance",
            "isReminderOn", "reminderMinutesBeforeStart", "categories", "isOnlineMeeting",
            "onlineMeetingProvider", "allowNewTimeProposals", "responseRequested",
            "hideAttendees", "singleValueExtendedProperties"}
READ_ONLY_IGNORED = {"id", "iCalUId", "@odata.type", "@odata.etag", "changeKey", "type",
                     "seriesMasterId", "createdDateTime", "lastModifiedDateTime", "organizer",
                     "webLink", "isOrganizer", "originalStart", "bodyPreview", "responseStatus",
                     "onlineMeeting", "onlineMeetingUrl", "isCancelled", "isDraft",
                     "hasAttachments", "originalStartTimeZone", "originalEndTimeZone"}
# attendee.status of an invitee who has not answered, and the event's responseStatus of an
# organizer (learn.microsoft.com/graph/api/user-post-events, "Response 1").
NO_TIME = "0001-01-01T00:00:00Z"
ATTENDEE_TYPES = ("required", "optional", "resource")


class EventError(ValueError):
    """A request body Graph would refuse (400)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def _new_change_key() -> str:
    return uuid.uuid4().hex[:22] + "AA=="


def _time(body: dict, key: str) -> tuple[dt.datetime, str]:
    value = body.get(key)
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise EventError("ErrorInvalidRequest", f"The property '{key}' is required.")
    tz_name = value.get("timeZone") or "UTC"
    if zone(tz_name) is None:
        raise EventError("TimeZoneNotSupportedException",
                         f"A valid TimeZone value must be specified. The following TimeZone "
                         f"value is not supported: '{tz_name}'.")
    try:
        return parse_local(value["dateTime"], tz_name), tz_name
    except ValueError as exc:
        raise EventError("ErrorInvalidRequest", f"Cannot convert the literal "
                         f"'{value['dateTime']}' to the expected type 'Edm.DateTime'.") from exc


def normalize_attendees(raw, previous: list, organizer_address: str,
                        trust_status: bool = False) -> list:
    """Graph's attendee list: every entry has ``type``, ``status`` and ``emailAddress``.

    A client cannot set an invitee's answer: known invitees keep theirs, new ones start at
    ``none`` (the organizer's own entry says ``organizer``). The control API
    (``trust_status``) may seed answers.
    """
    if not isinstance(raw, list):
        raise EventError("RequestBodyRead", "attendees must be a collection.")
    known = {(a["emailAddress"]["address"] or "").lower(): a["status"] for a in previous or []}
    found = []
    for item in raw:
        address = ((item or {}).get("emailAddress") or {}).get("address") if isinstance(
            item, dict) else None
        if not isinstance(address, str) or "@" not in address:
            raise EventError("ErrorInvalidRecipients", "At least one recipient isn't valid.")
        kind = str(item.get("type") or "required")
        if kind.lower() not in ATTENDEE_TYPES:
            raise EventError("RequestBodyRead", f"Requested value '{kind}' was not found.")
        status = known.get(address.lower())
        if trust_status and isinstance(item.get("status"), dict):
            status = {"response": item["status"].get("response") or "none",
                      "time": item["status"].get("time") or NO_TIME}
        if status is None:
            status = {"response": "organizer" if address.lower() == organizer_address.lower()
                      else "none", "time": NO_TIME}
        found.append({"type": kind.lower(), "status": status,
                      "emailAddress": {"name": item["emailAddress"].get("name") or address,
                                       "address": address}})
    return found


def new_change_key(event: dict, now: dt.datetime) -> None:
    event["lastModifiedDateTime"] = now
    event["changeKey"] = _new_change_key()


def apply_body(tenant: Tenant, event: dict, body: dict, creating: bool,
               trust_status: bool = False) -> None:
    """Validate ``body`` and write it into ``event``; raises EventError and changes nothing."""
    unknown = [k for k in body if k not in WRITABLE and k not in READ_ONLY_IGNORED]
    if unknown:
        raise EventError("RequestBodyRead", f"The property '{unknown[0]}' does not exist on "
                         "type 'microsoft.graph.event'. Make sure to only use property names "
                         "that are defined by the type or mark the type as open type.")
    if not creating and "transactionId" in body and body["transactionId"] != event.get(
            "transactionId"):
        raise EventError("ErrorInvalidRequest", "The transactionId cannot be changed.")
    try:
        meetings.check(event, body)
    except meetings.MeetingError as exc:
        raise EventError("ErrorInvalidRequest", str(exc)) from None
    staged = dict(event)
    for key in WRITABLE & body.keys():
        if key not in ("start", "end", "attendees"):
            staged[key] = body[key]
    if "attendees" in body:
        organizer = (staged.get("organizer") or {}).get("emailAddress", {}).get("address", "")
        staged["attendees"] = normalize_attendees(body["attendees"] or [],
                                                  event.get("attendees") or [], organizer,
                                                  trust_status)
    if creating or "start" in body:
        staged["start"], staged["start_tz"] = _time(body if "start" in body else
                                                    {"start": None}, "start")
    if creating or "end" in body:
        staged["end"], staged["end_tz"] = _time(body if "end" in body else {"end": None}, "end")
    if staged["end"] < staged["start"]:
        raise EventError("ErrorInvalidRequest",
                         "The Event end date time must be after the start date time.")
    if staged.get("showAs") not in SHOW_AS:
        raise EventError("RequestBodyRead", f"Requested value '{staged.get('showAs')}' was "
                         "not found.")
    if staged.get("isAllDay"):
        local = staged["start"].astimezone(zone(staged["start_tz"]))
        span = staged["end"] - staged["start"]
        if local.time() != dt.time(0) or span.total_seconds() % 86400 or not span:
            raise EventError("ErrorInvalidRequest", "The start and end of an all-day event "
                             "must be midnight and a whole number of days apart.")
    extended = staged.get("singleValueExtendedProperties") or []
    if not isinstance(extended, list) or not all(
            isinstance(p, dict) and isinstance(p.get("id"), str) and isinstance(
                p.get("value"), str) for p in extended):
        raise EventError("RequestBodyRead", "singleValueExtendedProperties must be a list of "
                         "{id, value} strings.")
    if staged.get("recurrence"):
        problem = rec.validate(staged["recurrence"])
        if problem:
            raise EventError("ErrorInvalidRequest", problem)
    event.clear()
    event.update(staged)
    now = tenant.now()
    event["type"] = "seriesMaster" if event.get("recurrence") else "singleInstance"
    new_change_key(event, now)
    if creating:
        event["createdDateTime"] = now
    meetings.ensure(tenant, event)


def new_event(tenant: Tenant, user_id: str, calendar_id: str, body: dict,
              organizer: dict | None = None, trust_status: bool = False) -> dict:
    """A new stored event. ``organizer`` ({name, address}) other than the owner makes it an
    invitation the owner received (isOrganizer false, responseStatus notResponded)."""
    serial = tenant.next_serial()
    owner = tenant.users[user_id]
    organizer = organizer or {"name": owner["displayName"], "address": owner["mail"]}
    mine = organizer["address"].lower() == owner["mail"].lower()
    event = {"id": opaque_id("AAMkAGI2TG93AAABEg", user_id, str(serial), str(uuid.uuid4())),
             "owner": user_id, "calendar_id": calendar_id, "subject": "", "showAs": "busy",
             "isAllDay": False, "sensitivity": "normal", "importance": "normal",
             "body": {"contentType": "html", "content": ""}, "attendees": [],
             "location": {"displayName": ""}, "categories": [], "isReminderOn": True,
             "reminderMinutesBeforeStart": 15, "transactionId": None, "recurrence": None,
             "exceptions": {}, "iCalUId": "040000008200E00074C5B7101A82E008" +
             uuid.uuid4().hex.upper() + "0000",
             "organizer": {"emailAddress": {"name": organizer.get("name") or
                                            organizer["address"],
                                            "address": organizer["address"]}},
             "responseStatus": {"response": "organizer" if mine else "notResponded",
                                "time": NO_TIME},
             "isCancelled": False, "onlineMeeting": None, "onlineMeetingProvider": "unknown",
             "allowNewTimeProposals": True}
    if isinstance(body.get("responseStatus"), dict) and trust_status and not mine:
        event["responseStatus"] = {"response": body["responseStatus"].get("response") or
                                   "notResponded", "time": body["responseStatus"].get("time")
                                   or NO_TIME}
    apply_body(tenant, event, body, creating=True, trust_status=trust_status)
    return event


def _occurrence_key(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def occurrence_id(master_id: str, key: str) -> str:
    return opaque_id("AAMkAGI2TG93AAABEi", master_id, key)


def occurrences(event: dict, until: dt.datetime):
    """(key, start, end) of a series' occurrences starting before ``until``, cancelled ones
    included (callers skip them)."""
    tzinfo = zone(event["recurrence"]["range"].get("recurrenceTimeZone") or event["start_tz"]) \
        or zone(event["start_tz"])
    local_start = event["start"].astimezone(tzinfo)
    duration = event["end"] - event["start"]
    for day in rec.occurrence_dates(event["recurrence"], until.astimezone(tzinfo).date()):
        start = dt.datetime.combine(day, local_start.time(), tzinfo).astimezone(dt.UTC)
        yield _occurrence_key(start), start, start + duration


def instances(tenant: Tenant, calendar_id: str, start: dt.datetime, end: dt.datetime) -> list:
    # Cancelled meetings stay in an attendee's calendar (isCancelled true) until removed.
    """Instances overlapping [start, end): singles, occurrences and exceptions, by start."""
    found = []
    for event in tenant.events.values():
        if event["calendar_id"] != calendar_id:
            continue
        if not event.get("recurrence"):
            if event["start"] < end and event["end"] > start:
                found.append(event)
            continue
        for key, occ_start, occ_end in occurrences(event, end + dt.timedelta(days=1)):
            override = event["exceptions"].get(key)
            if override and override.get("cancelled"):
                continue
            instance = occurrence(event, key, occ_start, occ_end, override)
            if instance["start"] < end and instance["end"] > start:
                found.append(instance)
    found.sort(key=lambda e: (e["start"], e["id"]))
    return found


def occurrence(master: dict, key: str, start, end, override: dict | None) -> dict:
    instance = {k: v for k, v in master.items() if k not in ("exceptions", "recurrence")}
    instance.update(id=occurrence_id(master["id"], key), type="occurrence", start=start,
                    end=end, seriesMasterId=master["id"], originalStart=key, recurrence=None,
                    iCalUId=master["iCalUId"][:-4] + hashlib.sha256(key.encode()).hexdigest()[
                        :8].upper())
    if override:
        instance.update({k: v for k, v in override.items() if k != "cancelled"})
        instance["type"] = "exception"
    return instance


def find_occurrence(tenant: Tenant, instance_id: str) -> tuple[dict, str] | None:
    """(master, occurrence key) for an occurrence id, else None."""
    for event in tenant.events.values():
        if not event.get("recurrence"):
            continue
        until = tenant.now() + dt.timedelta(days=3 * 366)
        for key, _start, _end in occurrences(event, until):
            if occurrence_id(event["id"], key) == instance_id:
                return event, key
    return None


def render(tenant: Tenant, event: dict, tz_name: str, end_tz_name: str | None = None) -> dict:
    """The Graph representation, ``start`` in ``tz_name`` (the Prefer: outlook.timezone value
    or, answering a create without it, the request's own zone) and ``end`` in
    ``end_tz_name`` (default: the same)."""
    end_tz_name = end_tz_name or tz_name
    organizer = event.get("organizer") or {"emailAddress": {
        "name": tenant.users[event["owner"]]["displayName"],
        "address": tenant.users[event["owner"]]["mail"]}}
    is_organizer = (event.get("responseStatus") or {}).get("response", "organizer") == \
        "organizer"
    if event.get("isAllDay"):
        # All-day events are floating dates: midnight to midnight in whatever zone is asked.
        src = zone(event["start_tz"])
        start_day = event["start"].astimezone(src).date()
        end_day = event["end"].astimezone(src).date()
        start = {"dateTime": f"{start_day}T00:00:00.0000000", "timeZone": tz_name}
        end = {"dateTime": f"{end_day}T00:00:00.0000000", "timeZone": end_tz_name}
    else:
        start = format_local(event["start"], tz_name)
        end = format_local(event["end"], end_tz_name)
    body = event.get("body") or {"contentType": "html", "content": ""}
    return {
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": f'W/"{event["changeKey"]}"',
        "id": event["id"],
        "createdDateTime": _stamp(event["createdDateTime"]),
        "lastModifiedDateTime": _stamp(event["lastModifiedDateTime"]),
        "changeKey": event["changeKey"],
        "categories": event.get("categories") or [],
        "transactionId": event.get("transactionId"),
        "originalStartTimeZone": event["start_tz"],
        "originalEndTimeZone": event["end_tz"],
        "iCalUId": event["iCalUId"],
        "reminderMinutesBeforeStart": event.get("reminderMinutesBeforeStart", 15),
        "isReminderOn": event.get("isReminderOn", True),
        "hasAttachments": False,
        "subject": event.get("subject") or "",
        "bodyPreview": _preview(body),
        "importance": event.get("importance", "normal"),
        "sensitivity": event.get("sensitivity", "normal"),
        "isAllDay": bool(event.get("isAllDay")),
        "isCancelled": bool(event.get("isCancelled")),
        "isDraft": False,
        "isOrganizer": is_organizer,
        "responseRequested": event.get("responseRequested", True),
        "seriesMasterId": event.get("seriesMasterId"),
        "showAs": event.get("showAs", "busy"),
        "type": event["type"],
        "webLink": f"https://outlook.office365.com/owa/?itemid={event['id']}&exvsurl=1",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": bool(event.get("onlineMeeting")),
        "onlineMeetingProvider": event.get("onlineMeetingProvider") or "unknown",
        "allowNewTimeProposals": event.get("allowNewTimeProposals", True),
        "responseStatus": dict(event.get("responseStatus") or {"response": "organizer",
                                                               "time": NO_TIME}),
        "body": body,
        "start": start,
        "end": end,
        **({"originalStart": event["originalStart"]} if event.get("originalStart") else {}),
        "location": event.get("location") or {"displayName": ""},
        "locations": event.get("locations") or [],
        "recurrence": event.get("recurrence"),
        "attendees": [dict(a, status=dict(a["status"])) for a in event.get("attendees") or []],
        "organizer": organizer,
        "onlineMeeting": dict(event["onlineMeeting"]) if event.get("onlineMeeting") else None,
    }


def _preview(body: dict) -> str:
    """bodyPreview: the body's text without markup, at most 255 characters."""
    text = re.sub(r"<[^>]+>", " ", body.get("content") or "")
    return re.sub(r"\s+", " ", unescape(text)).strip()[:255]


def fingerprint(tenant: Tenant, event: dict) -> str:
    """Changes whenever anything a delta consumer sees changes."""
    text = json.dumps(render(tenant, event, "UTC"), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
