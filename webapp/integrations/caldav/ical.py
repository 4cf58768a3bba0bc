"""iCalendar in and out for CalDAV: busy intervals from calendar-data, the booking's VEVENT.

Recurrence (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides) is expanded by
`recurring-ical-events` on top of `icalendar` (RFC 5545); nothing here re-implements it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

Interval = tuple[datetime, datetime]


class ICalendarError(ValueError):
    """calendar-data that cannot be parsed; the item is skipped, not the whole calendar."""


def busy_intervals(
    data: str | bytes, window: Interval, zone: str, owner: str = ""
) -> tuple[str, tuple[Interval, ...]]:
    """(UID, busy [start, end) intervals in UTC) of one calendar object resource in `window`.

    All-day events (DATE values) and floating times are read in `zone`, the member's zone:
    they mean "that local day/time wherever the member is". Transparent (free) and cancelled
    occurrences do not block (K2), nor those the calendar's owner (``owner``, their e-mail
    address) declined as an ATTENDEE (PARTSTAT=DECLINED, RFC 5545 3.2.12; K9).
    """
    try:
        calendar = icalendar.Calendar.from_ical(data)
        occurrences = recurring_ical_events.of(calendar, skip_bad_series=True).between(*window)
    except (ValueError, KeyError, TypeError) as exc:
        raise ICalendarError(str(exc)[:200]) from None
    uid = next((str(c.get("UID", "")) for c in calendar.walk("VEVENT")), "")
    local = ZoneInfo(zone)
    found = []
    for event in occurrences:
        if event.name != "VEVENT" or not _blocks(event) or _declined_by(event, owner):
            continue
        interval = _interval(event, local)
        if interval and interval[1] > window[0] and interval[0] < window[1]:
            found.append(interval)
    return uid, tuple(sorted(set(found)))


def booking_calendar(uid: str, start: datetime, end: datetime, summary: str,
                     description: str = "", sequence: int = 0, location: str = "") -> bytes:
    """A VCALENDAR holding the booking's VEVENT (UTC times, opaque), ready for PUT."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Apo//Calendar write-back//EN")
    calendar.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if location:  # V2: the join link or the address, where calendars show it
        event.add("location", location)
    event.add("sequence", int(sequence))
    event.add("transp", "OPAQUE")
    event.add("status", "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()


def _declined_by(event, owner: str) -> bool:
    if not owner:
        return False
    attendees = event.get("ATTENDEE", [])
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        address = str(attendee).lower().removeprefix("mailto:")
        if address == owner.lower():
            return str(attendee.params.get("PARTSTAT", "")).upper() == "DECLINED"
    return False


def _blocks(event) -> bool:
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return False
    return str(event.get("STATUS", "")).upper() != "CANCELLED"


def _interval(event, zone: ZoneInfo) -> Interval | None:
    start = event.get("DTSTART")
    if start is None:
        return None
    start = start.dt
    end_prop = event.get("DTEND")
    if end_prop is not None:
        end = end_prop.dt
    elif event.get("DURATION") is not None:
        end = start + event.get("DURATION").dt
    else:
        # RFC 5545 3.6.1: a DATE start without end lasts one day; a DATE-TIME start, no time.
        end = start + timedelta(days=1) if _is_date(start) else start
    begin, finish = _utc(start, zone), _utc(end, zone)
    return (begin, finish) if finish > begin else None


def _is_date(value) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _utc(value, zone: ZoneInfo) -> datetime:
    if _is_date(value):
        value = datetime.combine(value, time(), tzinfo=zone)
    elif value.tzinfo is None:  # floating time: the member's wall clock
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


# What Apo owns in an event it wrote (K10): an update changes these and keeps the rest, so a
# member's own edits (a note, an alarm, a location, a category) survive a reschedule.
APO_FIELDS = ("DTSTART", "DTEND", "SUMMARY", "SEQUENCE", "DTSTAMP")
_OURS_AT_CREATION = (*APO_FIELDS, "UID", "DESCRIPTION", "TRANSP", "STATUS", "PRODID", "VERSION",
                     "CREATED", "LAST-MODIFIED")


def merge_booking(current: str | bytes, uid: str, start: datetime, end: datetime,
                  summary: str, sequence: int, location: str = "") -> tuple[bytes, bool]:
    """The member's copy of the event with Apo's fields set anew, and whether it held changes
    of the member's own (anything beyond what Apo writes at creation).

    Raises:
        ICalendarError: the stored copy cannot be read, or holds no event with ``uid``.
    """
    try:
        calendar = icalendar.Calendar.from_ical(current)
    except ValueError as exc:
        raise ICalendarError(str(exc)[:200]) from None
    events = [c for c in calendar.walk("VEVENT") if str(c.get("UID", "")) == uid]
    if not events:
        raise ICalendarError("no event with the booking's UID")
    event = events[0]
    # LOCATION is Apo's when it still says what Apo wrote (the meeting's place, V2).
    theirs = bool(event.subcomponents) or any(
        name not in _OURS_AT_CREATION and not (
            name == "LOCATION" and location and str(event[name]) == location)
        for name in event) or len(events) > 1
    for name in APO_FIELDS:
        event.pop(name, None)
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
    event.add("summary", summary)
    event.add("sequence", int(sequence))
    if location and not event.get("LOCATION"):  # a link that came later (V4); theirs stays
        event.add("location", location)
    return calendar.to_ical(), theirs
