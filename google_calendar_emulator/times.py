"""RFC 3339 and all-day dates, recurrence expansion (RFC 5545 RRULE/EXDATE/RDATE)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

from .errors import ApiError

MAX_INSTANCES = 2500
UTC = dt.UTC


def zone(name: str | None, where: str = "timeZone") -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(400, "invalid", "Invalid time zone definition for start time.",
                       where) from None


def parse_rfc3339(value: str | None, name: str) -> dt.datetime | None:
    """A query parameter such as timeMin: RFC 3339 with a mandatory offset."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ApiError(400, "badRequest", "Bad Request", name)
    return parsed.astimezone(UTC)


def moment(when: dict | None, field: str, calendar_tz: str) -> tuple[dt.datetime, bool]:
    """(UTC start of the moment, is_all_day) of an EventDateTime; all-day dates count from
    midnight in the calendar's time zone."""
    if not isinstance(when, dict) or not (when.get("date") or when.get("dateTime")):
        raise ApiError(400, "required", f"Missing {field} time.")
    try:
        if when.get("date"):
            day = dt.date.fromisoformat(when["date"])
            return dt.datetime.combine(day, dt.time(), zone(calendar_tz)).astimezone(UTC), True
        parsed = dt.datetime.fromisoformat(when["dateTime"])
    except (TypeError, ValueError):
        raise ApiError(400, "invalid", "Invalid value for: " + field, field) from None
    if parsed.tzinfo is None:
        if not when.get("timeZone"):
            raise ApiError(400, "invalid", f"Missing time zone definition for {field} time.")
        parsed = parsed.replace(tzinfo=zone(when["timeZone"], field))
    return parsed.astimezone(UTC), False


def format_utc(value: dt.datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_in(value: dt.datetime, tz_name: str | None) -> str:
    if not tz_name or tz_name == "UTC":
        return format_utc(value)
    return value.astimezone(zone(tz_name)).isoformat()


def instance_suffix(start: dt.datetime, all_day: bool, local: dt.datetime | None = None) -> str:
    return (local or start).strftime("%Y%m%d") if all_day else start.strftime("%Y%m%dT%H%M%SZ")


def occurrences(event: dict, calendar_tz: str, window_start: dt.datetime,
                window_end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime, dict, dict]]:
    """Occurrences of a recurring event overlapping the window, as
    (utc_start, utc_end, start_field, end_field) in the event's own representation."""
    start, all_day = moment(event["start"], "start", calendar_tz)
    end, _ = moment(event["end"], "end", calendar_tz)
    duration = end - start
    lines = [line for line in event.get("recurrence", []) if line.split(":")[0].split(";")[0]
             in ("RRULE", "EXDATE", "RDATE", "EXRULE")]
    if all_day:
        first = dt.datetime.combine(dt.date.fromisoformat(event["start"]["date"]), dt.time())
        tz = zone(calendar_tz)
        rule = rrulestr("\n".join(lines), dtstart=first, forceset=True)
        low = (window_start - duration).astimezone(tz).replace(tzinfo=None)
        high = window_end.astimezone(tz).replace(tzinfo=None)
        days = rule.between(low - dt.timedelta(days=1), high, inc=True)[:MAX_INSTANCES]
        out = []
        for day in days:
            utc_start = day.replace(tzinfo=tz).astimezone(UTC)
            if utc_start < window_end and utc_start + duration > window_start:
                end_day = (day + duration).date()
                out.append((utc_start, utc_start + duration, {"date": day.date().isoformat()},
                            {"date": end_day.isoformat()}))
        return out
    tz_name = event["start"].get("timeZone") or calendar_tz
    tz = zone(tz_name)
    first = start.astimezone(tz)
    rule = rrulestr("\n".join(lines), dtstart=first, forceset=True)
    out = []
    for local in rule.between(window_start - duration, window_end, inc=True)[:MAX_INSTANCES]:
        local = local.replace(tzinfo=tz)  # wall-clock time, so DST shifts keep the hour
        utc_start = local.astimezone(UTC)
        if utc_start < window_end and utc_start + duration > window_start:
            out.append((utc_start, utc_start + duration,
                        {"dateTime": local.isoformat(), "timeZone": tz_name},
                        {"dateTime": (local + duration).astimezone(tz).isoformat(),
                         "timeZone": event["end"].get("timeZone") or tz_name}))
    return out
