"""Event storage rules: representations, listing (full, expanded, incremental), free/busy,
inserts, imports, patches and deletes. Callers hold ``store.lock``."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re

from .errors import ApiError
from .state import random_id
from .times import UTC, format_in, instance_suffix, moment, occurrences

DEFAULT_HORIZON = dt.timedelta(days=730)  # UNVERIFIED: how far Google expands open series
ID_PATTERN = re.compile(r"^[0-9a-v]{5,1024}$")
READ_ONLY = {"kind", "etag", "created", "updated", "htmlLink", "creator", "organizer",
             "recurringEventId", "originalStartTime"}


def etag(store) -> str:
    return f'"{3000000000000000 + store.seq * 2}"'


def public(event: dict) -> dict:
    if event.get("status") == "cancelled":
        minimal = {"kind": "calendar#event", "etag": event["etag"], "id": event["id"],
                   "status": "cancelled"}
        for key in ("recurringEventId", "originalStartTime"):
            if key in event:
                minimal[key] = event[key]
        return minimal
    return {k: copy.deepcopy(v) for k, v in event.items() if not k.startswith("_")}


def touch(store, event: dict) -> None:
    event["_seq"] = store.next_seq()
    event["etag"] = etag(store)
    event["updated"] = store.stamp()


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
        if r.get("status") == "cancelled" or r.get("transparency") == "transparent":
            continue
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


def create(store, calendar_id: str, user: str, body: dict) -> dict:
    validate(store, calendar_id, body)
    stored = store.events[calendar_id]
    event_id = body.get("id") or random_id()
    if not ID_PATTERN.match(event_id):
        raise ApiError(400, "invalid", "Invalid resource id value.", "id")
    if event_id in stored or (body.get("iCalUID") and any(
            r.get("iCalUID") == body["iCalUID"] and "recurringEventId" not in r
            for r in stored.values())):
        raise ApiError(409, "duplicate")
    event = {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY}
    normalize(event)
    owner = store.calendars[calendar_id]["owner"]
    event.update(kind="calendar#event", id=event_id, status=body.get("status", "confirmed"),
                 created=store.stamp(), iCalUID=body.get("iCalUID") or event_id + "@google.com",
                 sequence=body.get("sequence", 0), eventType="default",
                 htmlLink="https://www.google.com/calendar/event?eid=" +
                 hashlib.sha256(event_id.encode()).hexdigest()[:20],
                 creator={"email": user, **({"self": True} if user == owner else {})},
                 organizer={"email": owner, "self": True})
    if event.get("transparency") == "opaque":
        del event["transparency"]  # the default is left out of answers (UNVERIFIED)
    touch(store, event)
    stored[event_id] = event
    return event


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
                item.update(_seq=0, created=master["created"])
                stored[event_id] = item
                return item
    raise ApiError(404, "notFound")


def patch(store, calendar_id: str, event_id: str, body: dict) -> dict:
    event = find(store, calendar_id, event_id, materialize=True)
    merged = copy.deepcopy(event)
    for key, value in body.items():
        if key in READ_ONLY or key in ("id", "iCalUID"):
            continue
        merged[key] = value
    validate(store, calendar_id, merged)
    normalize(merged)
    if merged.get("start") != event.get("start") or merged.get("end") != event.get("end"):
        merged["sequence"] = event.get("sequence", 0) + 1
    event.clear()
    event.update(merged)
    if event.get("transparency") == "opaque":
        del event["transparency"]
    touch(store, event)
    return event


def delete(store, calendar_id: str, event_id: str) -> None:
    event = find(store, calendar_id, event_id, materialize=True)
    if event.get("status") == "cancelled":
        raise ApiError(410, "deleted")
    event["status"] = "cancelled"
    touch(store, event)
    if event.get("recurrence"):
        for other in store.events[calendar_id].values():
            if other.get("recurringEventId") == event_id and other["status"] != "cancelled":
                other["status"] = "cancelled"
                touch(store, other)


def import_(store, calendar_id: str, user: str, body: dict) -> dict:
    if not body.get("iCalUID"):
        raise ApiError(400, "required", "Missing iCalUID.", "iCalUID")
    for existing in store.events[calendar_id].values():
        if existing.get("iCalUID") == body["iCalUID"] and "recurringEventId" not in existing:
            update = {k: v for k, v in body.items() if k != "id"}
            update.setdefault("status", "confirmed")
            return patch(store, calendar_id, existing["id"], update)
    return create(store, calendar_id, user, body)
