"""The date-first slot picker (O4): a month with its bookable days, then one day's times.

Rules chosen here (the spec is silent on them):

- Weeks start on Sunday, as Japanese wall calendars do; the English page keeps the same grid.
- Only one month's slots are computed per view (the shown month, cut to the booking window), so
  a long window does not cost more per request than a short one.
- The shown month is the chosen day's month, else the requested month, else the first month of
  the window that still has a bookable day. The chosen day is the requested day when it is
  bookable, else the first bookable day of the shown month.
"""

from __future__ import annotations

from calendar import Calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from webapp.models import BookingPage
from webapp.services import bookings
from webapp.services import slots as slot_rules

_CALENDAR = Calendar(firstweekday=6)  # Sunday first


@dataclass(frozen=True)
class MonthView:
    """What the picker shows: the month grid, its bookable days and the chosen day's slots."""

    month: date
    weeks: list[list[date | None]]
    bookable: frozenset[date]
    chosen: date | None
    slots: list[slot_rules.Slot] = field(default_factory=list)
    prev_month: date | None = None
    next_month: date | None = None


def parse_day(value: str | None) -> date | None:
    """A `YYYY-MM-DD` date, or None for anything else."""
    try:
        return date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None


def parse_month(value: str | None) -> date | None:
    """The first day of a `YYYY-MM` month, or None for anything else."""
    return parse_day(f"{value}-01") if value and len(value) == 7 else None


def month_weeks(month: date) -> list[list[date | None]]:
    """The weeks of `month` (Sunday first), days of other months as None."""
    return [[day if day.month == month.month else None for day in week]
            for week in _CALENDAR.monthdatescalendar(month.year, month.month)]


def _add_month(month: date, step: int) -> date:
    index = month.year * 12 + month.month - 1 + step
    return date(index // 12, index % 12 + 1, 1)


def _month_slots(page: BookingPage, now: datetime, zone: ZoneInfo, month: date,
                 exclude: int | None, member_id: int | None = None,
                 cached=None) -> list[slot_rules.Slot]:
    start = datetime.combine(month, time(), tzinfo=zone)
    end = datetime.combine(_add_month(month, 1), time(), tzinfo=zone)
    if exclude is None and cached is not None:  # what every visitor sees, shared (O4)
        return cached(page, now, start, end, member_id)
    return bookings.available_slots(page, now, start, end, exclude_booking_id=exclude,
                                    member_id=member_id)


def month_view(page: BookingPage, now: datetime, tz: str, *, month: date | None = None,
               day: date | None = None, exclude_booking_id: int | None = None,
               skip_start: datetime | None = None, member_id: int | None = None,
               cached=None) -> MonthView:
    """The picker for `page` seen in zone `tz`; `skip_start` hides one start (a reschedule's
    current time), `exclude_booking_id` frees that booking's own claim, `member_id` shows one
    member's times (R1); ``cached(page, now, start, end, member_id)`` reads the shared
    availability (availability_cache.page_slots, bound to the app by the view)."""
    zone = ZoneInfo(tz)
    first = now.astimezone(zone).date().replace(day=1)
    last = (now + timedelta(days=page.window_days)).astimezone(zone).date().replace(day=1)
    wanted = (day.replace(day=1) if day else None) or month
    shown = min(max(wanted, first), last) if wanted else first
    found = _month_slots(page, now, zone, shown, exclude_booking_id, member_id, cached)
    while not found and wanted is None and shown < last:  # skip empty months by default
        shown = _add_month(shown, 1)
        found = _month_slots(page, now, zone, shown, exclude_booking_id, member_id, cached)
    by_day = dict(slot_rules.group_by_day(
        (s for s in found if s.start != skip_start), tz))
    chosen = day if day in by_day else next(iter(by_day), None)
    return MonthView(
        month=shown, weeks=month_weeks(shown), bookable=frozenset(by_day), chosen=chosen,
        slots=by_day.get(chosen, []),
        prev_month=_add_month(shown, -1) if shown > first else None,
        next_month=_add_month(shown, 1) if shown < last else None,
    )
