"""Event storage rules: representations, listing (full, expanded, incremental), free/busy,
inserts, imports, patches, updates, deletes, conditional writes (If-Match), attendees and
their answers, and the invitees' copies. Callers hold ``store.lock``.

Every stored record knows its calendar (``_calendar``). An event with attendees who are
accounts of the emulator also lies on each invitee's primary calendar, as Google puts
invitations there: a copy with the same id (``_copy_of`` names the organizer's calendar),
its own ``self`` flags and its own reminders, kept in step with the organizer's record."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re

from . import conference
from .errors import ApiError
from .state import random_id
from .times import UTC, format_in, instance_suffix, moment, occurrences

DEFAULT_HORIZON = dt.timedelta(days=730)  # UNVERIFIED: how far Google expands open series
ID_PATTERN = re.compile(r"^[0-9a-v]{5,1024}$")
READ_ONLY = {"kind", "etag", "created", "updated", "htmlLink", "creator", "organizer",
             "recurringEventId", "originalStartTime", "hangoutLink"}
# Fields an invitee may change on their own copy; the rest belong to the organizer.
PERSONAL = {"reminders", "transparency", "colorId", "extendedProperties"}
RESPONSES = ("needsAction", "declined", "tentative", "accepted")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def etag(store) -> str:
    return f'"{3000000000000000 + store.seq * 2}"'


# The order Google's answers list an event's fields in (Events resource representation).
ORDER = ("kind", "etag", "id", "status", "htmlLink", "created", "updated", "summary",
         "description", "location", "colorId", "creator", "organizer", "start", "end",
         "endTimeUnspecified", "recurrence", "recurringEventId", "originalStartTime",
         "transparency", "visibility", "iCalUID", "sequence", "attendees", "attendeesOmitted",
         "extendedProperties", "hangoutLink", "conferenceData", "guestsCanInviteOthers",
         "guestsCanModify", "guestsCanSeeOtherGuests", "privateCopy", "locked", "reminders",
         "source", "eventType")
RANK = {key: index for index, key in enumerate(ORDER)}


def public(event: dict) -> dict:
    if event.get("status") == "cancelled":
        minimal = {"kind": "calendar#event", "etag": event["etag"], "id": event["id"],
                   "status": "cancelled"}
        for key in ("recurringEventId", "originalStartTime"):
            if key in event:
                minimal[key] = event[key]
        return minimal
    keys = sorted((k for k in event if not k.startswith("_")), key=lambda k: RANK.get(k, 99))
    return {k: copy.deepcopy(event[k]) for k in keys}


def touch(store, event: dict) -> None:
    event["_seq"] = store.next_seq()
    event["etag"] = etag(store)
    event["updated"] = store.stamp()
    store.changed(event["_calendar"])


def check_if_match(event: dict, header: str | None) -> None:
    """Conditional modification: a stale etag in If-Match answers 412 conditionNotMet."""
    if header is None or header.strip() == "*":
        return
    tags = {t.strip() for t in header.split(",")}
    if event.get("etag") not in tags:
        raise ApiError(412, "conditionNotMet", location="If-Match", location_type="header")


# ----- people ------------------------------------------------------------------------------
def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.lower() == b.lower()


def organizer_of(store, calendar_id: str) -> dict:
    """The organizer of a new event is the calendar it is created on."""
    cal = store.calendars[calendar_id]
    who = {"email": calendar_id}
    if calendar_id not in store.users:  # a secondary calendar is named by its summary
        who["displayName"] = cal["summary"]
    return dict(who, self=True)


def _person(email: str, calendar_id: str) -> dict:
    return {"email": email, **({"self": True} if _same(email, calendar_id) else {})}


def shape_attendees(attendees, calendar_id: str, organizer: str,
                    before: list | None = None) -> list[dict]:
    """Attendees as Google answers them: ``organizer`` and ``self`` set by the server, and a
    ``responseStatus`` for each (``needsAction`` for a new invitee, the earlier answer for one
    already invited when the request leaves it out)."""
    if attendees is None:
        return []
    if not isinstance(attendees, list):
        raise ApiError(400, "invalid", "Invalid attendees value.", "attendees")
    earlier = {a["email"].lower(): a for a in before or [] if a.get("email")}
    out = []
    for raw in attendees:
        email = raw.get("email") if isinstance(raw, dict) else None
        if not email:
            raise ApiError(400, "required", "Missing attendee email.", "attendees.email")
        if not EMAIL.match(email):
            raise ApiError(400, "invalid", "Invalid attendee email.", "attendees.email")
        entry = {"email": email}
        entry.update({k: v for k, v in raw.items()
                      if k not in ("email", "self", "organizer", "responseStatus")})
        if _same(email, organizer):
            entry["organizer"] = True
        if _same(email, calendar_id):
            entry["self"] = True
        status = raw.get("responseStatus") or earlier.get(email.lower(), {}).get(
            "responseStatus") or ("accepted" if entry.get("organizer") else "needsAction")
        if status not in RESPONSES:
            raise ApiError(400, "invalid", "Invalid responseStatus value.",
                           "attendees.responseStatus")
        entry["responseStatus"] = status
        out.append(entry)
    return out


def span(store, calendar_id: str, event: dict) -> tuple[dt.datetime, dt.datetime]:
    tz = store.calendars[calendar_id]["timeZone"]
    return moment(event["start"], "start", tz)[0], moment(event["end"], "end", tz)[0]


def instance(master: dict, start_utc, start: dict, end: dict, all_day: bool) -> dict:
    copy_ = public(master)
    copy_.pop("recurrence", None)
    copy_["id"] = master["id"] + "_" + instance_suffix(start_utc, all_day,
                                                      dt.datetime.fromisoformat(
                                                          start.get("date", "2000-01-01")))
    copy_.update(start=start, end=end, recurringEventId=master["id"],
                 originalStartTime=dict(start))
    return copy_


def expand(store, calendar_id: str, master: dict, low, high) -> list[dict]:
    tz = store.calendars[calendar_id]["timeZone"]
    stored = store.events[calendar_id]
    all_day = "date" in master["start"]
    out = []
    for start_utc, _end, start, end in occurrences(master, tz, low, high):
        item = instance(master, start_utc, start, end, all_day)
        if item["id"] not in stored:  # a stored exception replaces the occurrence
            out.append(item)
    return out


def overlaps(store, calendar_id, event, low, high) -> bool:
    start, end = span(store, calendar_id, event)
    return (high is None or start < high) and (low is None or end > low)


def full_list(store, calendar_id: str, p: dict) -> list[dict]:
    records = list(store.events[calendar_id].values())
    if p.get("iCalUID"):
        records = [r for r in records if r.get("iCalUID") == p["iCalUID"]]
    if p.get("updatedMin"):
        records = [r for r in records if r["updated"] >= p["updatedMin"]]
    low, high, deleted = p.get("timeMin"), p.get("timeMax"), p.get("showDeleted")
    out = []
    for r in records:
        cancelled = r.get("status") == "cancelled"
        exception = "recurringEventId" in r
        if p.get("singleEvents"):
            if r.get("recurrence"):
                if not cancelled:
                    out += expand(store, calendar_id, r, low or store.now() - DEFAULT_HORIZON,
                                  high or store.now() + DEFAULT_HORIZON)
            elif (not cancelled or deleted) and overlaps(store, calendar_id, r, low, high):
                out.append(public(r))
        elif cancelled:
            # Cancelled instances of a live series stay listed; deleted events need showDeleted.
            master = store.events[calendar_id].get(r.get("recurringEventId", ""))
            if deleted or (exception and master and master.get("status") != "cancelled"):
                out.append(public(r))
        elif r.get("recurrence"):
            if expand(store, calendar_id, r, low or store.now() - DEFAULT_HORIZON,
                      high or store.now() + DEFAULT_HORIZON) or p.get("iCalUID"):
                out.append(public(r))
        elif overlaps(store, calendar_id, r, low, high):
            out.append(public(r))
    if p.get("orderBy") == "startTime":
        tz = store.calendars[calendar_id]["timeZone"]
        out.sort(key=lambda e: (moment(e["start"], "start", tz)[0], e["id"])
                 if e.get("status") != "cancelled" else (dt.datetime.max.replace(tzinfo=UTC),
                                                          e["id"]))
    elif p.get("orderBy") == "updated":
        out.sort(key=lambda e: e.get("updated", ""))
    return out


def changes(store, calendar_id: str, token: dict) -> list[dict]:
    """Everything stored with a change after the token, deletions included."""
    changed = [r for r in store.events[calendar_id].values() if r["_seq"] > token["seq"]]
    if not token["singleEvents"]:
        return [public(r) for r in changed]
    low = token.get("timeMin") or store.now() - DEFAULT_HORIZON
    high = token.get("timeMax") or store.now() + DEFAULT_HORIZON
    out = []
    for r in changed:
        if not r.get("recurrence"):
            out.append(public(r))
            continue
        live = dict(r, status="confirmed", recurrence=r["recurrence"])
        for item in expand(store, calendar_id, live, low, high):
            if r.get("status") == "cancelled":
                item = {"kind": "calendar#event", "etag": r["etag"], "id": item["id"],
                        "status": "cancelled", "recurringEventId": r["id"],
                        "originalStartTime": item["originalStartTime"]}
            out.append(item)
    return out


def busy(store, calendar_id: str, low, high) -> list[tuple[dt.datetime, dt.datetime]]:
    tz = store.calendars[calendar_id]["timeZone"]
    periods = []
    for r in store.events[calendar_id].values():
        if r.get("status") == "cancelled" or r.get("transparency") == "transparent" or any(
                a.get("self") and a.get("responseStatus") == "declined"
                for a in r.get("attendees", [])):
            continue  # a declined invitation leaves the time free (UNVERIFIED)
        if r.get("recurrence"):
            for item in expand(store, calendar_id, r, low, high):
                periods.append((moment(item["start"], "start", tz)[0],
                                moment(item["end"], "end", tz)[0]))
        elif overlaps(store, calendar_id, r, low, high):
            periods.append(span(store, calendar_id, r))
    merged: list[list] = []
    for start, end in sorted((max(s, low), min(e, high)) for s, e in periods):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def format_busy(periods, tz_name) -> list[dict]:
    return [{"start": format_in(s, tz_name), "end": format_in(e, tz_name)} for s, e in periods]


def normalize(body: dict) -> None:
    """Answers carry RFC 3339 with an offset, in the field's own timeZone when it has one."""
    for key in ("start", "end"):
        when = body.get(key)
        if isinstance(when, dict) and when.get("dateTime"):
            utc = moment(when, key, "UTC")[0]
            when["dateTime"] = format_in(utc, when.get("timeZone")).replace("Z", "+00:00")


def validate(store, calendar_id: str, body: dict) -> None:
    start, all_day = moment(body.get("start"), "start", store.calendars[calendar_id]["timeZone"])
    end, _ = moment(body.get("end"), "end", store.calendars[calendar_id]["timeZone"])
    if end < start:
        raise ApiError(400, "timeRangeEmpty", location="end.dateTime")
    if body.get("recurrence") and not all_day and not body["start"].get("timeZone"):
        raise ApiError(400, "invalid", "Missing time zone definition for start time.")
    if body.get("transparency") not in (None, "opaque", "transparent"):
        raise ApiError(400, "invalid", "Invalid transparency value.", "transparency")


def create(store, calendar_id: str, user: str, body: dict, conference_version: int = 0) -> dict:
    validate(store, calendar_id, body)
    stored = store.events[calendar_id]
    event_id = body.get("id") or random_id()
    if not ID_PATTERN.match(event_id):
        raise ApiError(400, "invalid", "Invalid resource id value.", "id")
    if event_id in stored or (body.get("iCalUID") and any(
            r.get("iCalUID") == body["iCalUID"] and "recurringEventId" not in r
            for r in stored.values())):
        raise ApiError(409, "duplicate")
    event = {k: copy.deepcopy(v) for k, v in body.items()
             if k not in READ_ONLY and k != "conferenceData"}
    normalize(event)
    organizer = organizer_of(store, calendar_id)
    event.update(kind="calendar#event", id=event_id, status=body.get("status", "confirmed"),
                 created=store.stamp(), iCalUID=body.get("iCalUID") or event_id + "@google.com",
                 sequence=body.get("sequence", 0), eventType="default",
                 htmlLink="https://www.google.com/calendar/event?eid=" +
                 hashlib.sha256(event_id.encode()).hexdigest()[:20],
                 creator=_person(user, calendar_id), organizer=organizer, _calendar=calendar_id)
    if "attendees" in body:
        event["attendees"] = shape_attendees(body["attendees"], calendar_id, organizer["email"])
    event["reminders"] = _reminders(body.get("reminders"))
    conference.apply(store, event, body, conference_version, None)
    if event.get("transparency") == "opaque":
        del event["transparency"]  # the default is left out of answers (UNVERIFIED)
    touch(store, event)
    stored[event_id] = event
    sync_copies(store, calendar_id, event)
    return event


def _reminders(value) -> dict:
    """``{"useDefault": true}`` unless the request sets them."""
    if value is None:
        return {"useDefault": True}
    if not isinstance(value, dict) or (value.get("useDefault") and value.get("overrides")):
        raise ApiError(400, "cannotUseDefaultRemindersAndSpecifyOverride",
                       "Cannot specify both default reminders and overrides at the same time.",
                       "reminders")
    overrides = value.get("overrides") or []
    if len(overrides) > 5:
        raise ApiError(400, "tooManyReminders", "Too many reminders.", "reminders.overrides")
    for item in overrides:
        if not isinstance(item, dict) or item.get("method") not in ("email", "popup") or \
                not isinstance(item.get("minutes"), int) or not 0 <= item["minutes"] <= 40320:
            raise ApiError(400, "invalid", "Invalid reminder value.", "reminders.overrides")
    answer = {"useDefault": bool(value.get("useDefault"))}
    if overrides:
        answer["overrides"] = copy.deepcopy(overrides)
    return answer


def find(store, calendar_id: str, event_id: str, materialize: bool = False) -> dict:
    """A stored event, or (materialize) the occurrence of a series as a new exception."""
    stored = store.events[calendar_id]
    if event_id in stored:
        return stored[event_id]
    base, _, suffix = event_id.rpartition("_")
    master = stored.get(base)
    if master and master.get("recurrence") and master.get("status") != "cancelled":
        day = dt.datetime.strptime(suffix[:8], "%Y%m%d").replace(tzinfo=UTC)
        for item in expand(store, calendar_id, master, day - dt.timedelta(days=2),
                           day + dt.timedelta(days=3)):
            if item["id"] == event_id:
                if not materialize:
                    return item
                item.update(_seq=0, created=master["created"], _calendar=calendar_id)
                if "_copy_of" in master:
                    item["_copy_of"] = master["_copy_of"]
                stored[event_id] = item
                return item
    raise ApiError(404, "notFound")


def patch(store, calendar_id: str, event_id: str, body: dict, conference_version: int = 0,
          if_match: str | None = None, replace: bool = False) -> dict:
    """events.patch (only the given fields change) or, with ``replace``, events.update (the
    body is the whole new event: writable fields it leaves out are cleared)."""
    event = find(store, calendar_id, event_id, materialize=True)
    check_if_match(event, if_match)
    if "_copy_of" in event:
        return _patch_copy(store, calendar_id, event, body)
    if replace:
        merged = {k: copy.deepcopy(v) for k, v in event.items()
                  if k in READ_ONLY or k in ("id", "iCalUID", "sequence", "status", "eventType")
                  or k.startswith("_")}
        merged["status"] = body.get("status", "confirmed")
    else:
        merged = copy.deepcopy(event)
    for key, value in body.items():
        if key in READ_ONLY or key in ("id", "iCalUID", "conferenceData"):
            continue
        merged[key] = value
    validate(store, calendar_id, merged)
    normalize(merged)
    if "attendees" in body:
        merged["attendees"] = shape_attendees(body["attendees"], calendar_id,
                                              event["organizer"]["email"],
                                              event.get("attendees"))
    if "reminders" in body or replace:
        merged["reminders"] = _reminders(body.get("reminders"))
    conference.apply(store, merged, body, conference_version, event.get("conferenceData"),
                     replace=replace)
    if merged.get("start") != event.get("start") or merged.get("end") != event.get("end"):
        merged["sequence"] = event.get("sequence", 0) + 1
    event.clear()
    event.update(merged)
    if event.get("transparency") == "opaque":
        del event["transparency"]
    touch(store, event)
    sync_copies(store, calendar_id, event)
    return event


def _patch_copy(store, calendar_id: str, event: dict, body: dict) -> dict:
    """An invitee writes their copy: personal fields change there; their own responseStatus
    is their answer to the organizer; shared fields are the organizer's (403)."""
    answer = None
    personal = {}
    for key, value in body.items():
        if key in READ_ONLY or key in ("id", "iCalUID", "kind"):
            continue
        if key in PERSONAL:
            personal[key] = value
        elif key == "attendees":
            answer = _own_answer(event, value, calendar_id)
        elif key == "conferenceData" or value != event.get(key):
            raise ApiError(403, "forbiddenForNonOrganizer")
    if personal:
        if "reminders" in personal:
            personal["reminders"] = _reminders(personal["reminders"])
        event.update(copy.deepcopy(personal))
        if event.get("transparency") == "opaque":
            del event["transparency"]
        touch(store, event)
    if answer is not None:
        respond(store, calendar_id, event["id"], calendar_id, *answer)
    return event


def _own_answer(event: dict, attendees, calendar_id: str) -> tuple[str, str | None] | None:
    """The invitee's new responseStatus (and comment) from an attendees list that otherwise
    matches the stored one."""
    def strip(items, with_self):
        return sorted((a.get("email", "").lower(), a.get("optional", False)) for a in items
                      if with_self or not _same(a.get("email"), calendar_id))
    if not isinstance(attendees, list) or strip(attendees, True) != strip(
            event.get("attendees", []), True):
        raise ApiError(403, "forbiddenForNonOrganizer")
    mine = next((a for a in attendees if _same(a.get("email"), calendar_id)), None)
    if mine is None or not mine.get("responseStatus"):
        return None
    if mine["responseStatus"] not in RESPONSES:
        raise ApiError(400, "invalid", "Invalid responseStatus value.",
                       "attendees.responseStatus")
    return mine["responseStatus"], mine.get("comment")


def delete(store, calendar_id: str, event_id: str, if_match: str | None = None) -> None:
    event = find(store, calendar_id, event_id, materialize=True)
    if event.get("status") == "cancelled":
        raise ApiError(410, "deleted")
    check_if_match(event, if_match)
    if "_copy_of" in event:
        # An invitee removing the invitation declines it (UNVERIFIED) and keeps it off their
        # calendar even when the organizer changes the event later.
        event["_dismissed"] = True
        event["status"] = "cancelled"
        touch(store, event)
        respond(store, calendar_id, event_id, calendar_id, "declined")
        return
    event["status"] = "cancelled"
    touch(store, event)
    sync_copies(store, calendar_id, event)
    if event.get("recurrence"):
        for other in store.events[calendar_id].values():
            if other.get("recurringEventId") == event_id and other["status"] != "cancelled":
                other["status"] = "cancelled"
                touch(store, other)
                sync_copies(store, calendar_id, other)


def import_(store, calendar_id: str, user: str, body: dict) -> dict:
    if not body.get("iCalUID"):
        raise ApiError(400, "required", "Missing iCalUID.", "iCalUID")
    for existing in store.events[calendar_id].values():
        if existing.get("iCalUID") == body["iCalUID"] and "recurringEventId" not in existing:
            update = {k: v for k, v in body.items() if k != "id"}
            update.setdefault("status", "confirmed")
            return patch(store, calendar_id, existing["id"], update)
    return create(store, calendar_id, user, body)


# ----- invitations -------------------------------------------------------------------------
def organizer_calendar(store, calendar_id: str, event_id: str) -> str:
    stored = store.events.get(calendar_id, {})
    record = stored.get(event_id) or stored.get(event_id.rpartition("_")[0]) or {}
    return record.get("_copy_of", calendar_id)


def respond(store, calendar_id: str, event_id: str, attendee: str, response: str,
            comment: str | None = None) -> dict:
    """``attendee`` answers the invitation (accepted, declined, tentative, needsAction): the
    organizer's record and every copy show it, each with a new etag and updated time."""
    if response not in RESPONSES:
        raise ApiError(400, "invalid", "Invalid responseStatus value.", "responseStatus")
    home = organizer_calendar(store, calendar_id, event_id)
    event = find(store, home, event_id, materialize=True)
    if event.get("status") == "cancelled":
        raise ApiError(410, "deleted")
    entry = next((a for a in event.get("attendees", []) if _same(a.get("email"), attendee)),
                 None)
    if entry is None:
        raise ApiError(404, "notFound", f"{attendee} is not an attendee of this event.")
    entry["responseStatus"] = response
    if comment is not None:
        entry["comment"] = comment
    touch(store, event)
    sync_copies(store, home, event)
    return event


def sync_copies(store, calendar_id: str, event: dict) -> None:
    """Keep the invitees' copies of an organizer's record in step with it."""
    if "_copy_of" in event:
        return
    invited = {a["email"].lower() for a in event.get("attendees", [])
               if a.get("email", "").lower() in store.users and a["email"].lower() != calendar_id}
    targets = sorted(invited | set(event.get("_copies", [])))
    if invited - set(event.get("_copies", [])):
        event["_copies"] = targets
    for target in targets:
        stored = store.events.setdefault(target, {})
        existing = stored.get(event["id"])
        if existing is not None and existing.get("_dismissed"):
            continue
        live = target in invited and event.get("status") != "cancelled"
        if not live:
            if existing is not None and existing.get("status") != "cancelled":
                existing["status"] = "cancelled"
                touch(store, existing)
            continue
        copy_ = _copy_for(event, target, existing)
        if existing is not None and _visible(existing) == _visible(copy_):
            continue
        copy_["_seq"] = 0
        stored[event["id"]] = copy_
        touch(store, copy_)


def _visible(event: dict) -> dict:
    return {k: v for k, v in event.items()
            if not k.startswith("_") and k not in ("etag", "updated")}


def _copy_for(event: dict, target: str, existing: dict | None) -> dict:
    skip = PERSONAL | {"etag", "updated", "organizer", "creator", "attendees"}
    out = {k: copy.deepcopy(v) for k, v in event.items()
           if not k.startswith("_") and k not in skip}
    out["organizer"] = {k: v for k, v in event["organizer"].items() if k != "self"}
    out["creator"] = _person(event["creator"]["email"], target)
    out["attendees"] = [dict({k: v for k, v in a.items() if k != "self"},
                             **({"self": True} if _same(a["email"], target) else {}))
                        for a in event.get("attendees", [])]
    mine = existing or {"reminders": {"useDefault": True},
                        **({"transparency": event["transparency"]}
                           if "transparency" in event else {})}
    out.update({k: copy.deepcopy(v) for k, v in mine.items() if k in PERSONAL})
    out.update(_calendar=target, _copy_of=event["_calendar"])
    return out
