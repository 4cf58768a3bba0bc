"""patternedRecurrence expansion (learn.microsoft.com/graph/api/resources/patternedrecurrence).

Supported patterns: daily, weekly, absoluteMonthly, absoluteYearly; ranges endDate, noEnd,
numbered. Occurrences are computed on local dates in the series' time zone, so a daily 9:00
series stays at 9:00 local across daylight-saving changes.
"""

from __future__ import annotations

import calendar
import datetime as dt

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PATTERNS = ("daily", "weekly", "absoluteMonthly", "absoluteYearly")
RANGES = ("endDate", "noEnd", "numbered")
MAX_OCCURRENCES = 2000


def validate(recurrence: dict) -> str | None:
    """An error message for a recurrence the emulator cannot honour, else None."""
    pattern = recurrence.get("pattern") or {}
    rng = recurrence.get("range") or {}
    if pattern.get("type") not in PATTERNS:
        return f"Unsupported recurrence pattern type {pattern.get('type')!r}."
    if rng.get("type") not in RANGES:
        return f"Unsupported recurrence range type {rng.get('type')!r}."
    if int(pattern.get("interval") or 0) < 1:
        return "Recurrence pattern interval must be at least 1."
    if pattern["type"] == "weekly" and not pattern.get("daysOfWeek"):
        return "Weekly recurrence needs daysOfWeek."
    if any(day not in DAYS for day in pattern.get("daysOfWeek") or []):
        return "daysOfWeek has an invalid value."
    try:
        dt.date.fromisoformat(rng.get("startDate") or "")
        if rng["type"] == "endDate":
            dt.date.fromisoformat(rng.get("endDate") or "")
    except ValueError:
        return "Recurrence range dates must be yyyy-mm-dd."
    if rng["type"] == "numbered" and int(rng.get("numberOfOccurrences") or 0) < 1:
        return "numberOfOccurrences must be at least 1."
    return None


def _week_start(day: dt.date, first: str) -> dt.date:
    offset = (day.weekday() - DAYS.index(first)) % 7
    return day - dt.timedelta(days=offset)


def _candidates(pattern: dict, start: dt.date):
    """Dates matching the pattern from ``start`` on, in order (unbounded generator)."""
    kind, interval = pattern["type"], int(pattern.get("interval") or 1)
    if kind == "daily":
        day = start
        while True:
            yield day
            day += dt.timedelta(days=interval)
    elif kind == "weekly":
        first = pattern.get("firstDayOfWeek") or "sunday"
        wanted = {DAYS.index(d) for d in pattern["daysOfWeek"]}
        week = _week_start(start, first)
        while True:
            for offset in range(7):
                day = week + dt.timedelta(days=offset)
                if day >= start and day.weekday() in wanted:
                    yield day
            week += dt.timedelta(weeks=interval)
    elif kind in ("absoluteMonthly", "absoluteYearly"):
        step = interval if kind == "absoluteMonthly" else 12 * interval
        month = int(pattern.get("month") or start.month) if kind == "absoluteYearly" \
            else start.month
        year, dom = start.year, int(pattern.get("dayOfMonth") or start.day)
        while True:
            if dom <= calendar.monthrange(year, month)[1]:
                day = dt.date(year, month, dom)
                if day >= start:
                    yield day
            month += step
            year += (month - 1) // 12
            month = (month - 1) % 12 + 1


def occurrence_dates(recurrence: dict, until: dt.date):
    """Local dates of the series' occurrences up to ``until`` (inclusive)."""
    rng = recurrence["range"]
    start = dt.date.fromisoformat(rng["startDate"])
    end = dt.date.fromisoformat(rng["endDate"]) if rng["type"] == "endDate" else None
    limit = int(rng.get("numberOfOccurrences") or 0) if rng["type"] == "numbered" else None
    for count, day in enumerate(_candidates(recurrence["pattern"], start)):
        if day > until or (end and day > end) or (limit is not None and count >= limit) \
                or count >= MAX_OCCURRENCES:
            return
        yield day
