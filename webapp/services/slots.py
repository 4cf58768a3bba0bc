"""Pure slot computation (O4, O5): no database, no Flask, plain values in and out.

Rules chosen here (the spec is silent on them):

- Time is counted in 5-minute units, the grain of the BusySlot claims. A booking claims every
  unit of [start, end + page buffer), so a slot is free for a member when none of those units is
  already claimed by any booking of the organization (the buffer thus also keeps a gap before the
  member's next meeting).
- Slot starts sit on a grid of `slot_step(duration)` minutes counted from the Unix epoch: 15
  minutes, or the meeting length (rounded down to 5 minutes) when it is shorter. A 15-minute grid
  lines up with local quarter hours in every zone in use today.
- The meeting itself (not its buffer) must lie inside one of the member's working-hour intervals,
  read in the member's own time zone for that local date (so DST shifts move the UTC times).
- A slot starts no earlier than now + MIN_NOTICE and before now + window_days days.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

UNIT = timedelta(minutes=5)
MIN_NOTICE = timedelta(hours=1)
MAX_STEP_MINUTES = 15
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class MemberSchedule:
    """One member's availability inputs: zone, weekly hours and the units already claimed."""

    member_id: int
    timezone: str
    working_hours: dict
    # Unit numbers (see unit_number): integers keep the busy check cheap when a month holds
    # tens of thousands of claimed units. Unit start datetimes are accepted and converted.
    busy_units: frozenset[int] = field(default_factory=frozenset)
    # R4: the member's own local days on which they reached the page's daily cap.
    full_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self):
        # One look suffices: a set holds one kind (bookings pass numbers, tests datetimes).
        if self.busy_units and isinstance(next(iter(self.busy_units)), datetime):
            object.__setattr__(self, "busy_units", frozenset(
                unit_number(u) if isinstance(u, datetime) else u for u in self.busy_units))


@dataclass(frozen=True)
class Slot:
    """An offered slot, with the members free for it in page order."""

    start: datetime
    end: datetime
    free_member_ids: tuple[int, ...]


def slot_step(duration_minutes: int) -> int:
    """Minutes between two offered starts: 15, or the (5-minute rounded) meeting length."""
    return max(5, min(MAX_STEP_MINUTES, duration_minutes - duration_minutes % 5))


def is_aligned(start: datetime, duration_minutes: int) -> bool:
    """True when `start` sits on the slot grid (forged or stale URLs fail this)."""
    seconds = int(start.timestamp())
    return start.microsecond == 0 and seconds % (slot_step(duration_minutes) * 60) == 0


def unit_number(moment: datetime) -> int:
    """The 5-minute unit holding `moment`, counted from the Unix epoch."""
    return int(moment.timestamp()) // 300


def claimed_units(start: datetime, end: datetime, buffer_minutes: int) -> list[datetime]:
    """The 5-minute units a booking of [start, end) claims, its trailing buffer included."""
    first = _floor_unit(start)
    stop = end + timedelta(minutes=buffer_minutes)
    units = []
    while first < stop:
        units.append(first)
        first += UNIT
    return units


def interval_units(start: datetime, end: datetime) -> list[datetime]:
    """The 5-minute units a stored calendar busy interval [start, end) touches (K2): a partly
    covered unit counts as busy, so an event ending at 10:01 blocks the 10:00 unit."""
    units, current = [], _floor_unit(start)
    while current < end:
        units.append(current)
        current += UNIT
    return units


def working_intervals(
    schedule: MemberSchedule, range_start: datetime, range_end: datetime
) -> list[tuple[datetime, datetime]]:
    """The member's working hours as UTC intervals overlapping [range_start, range_end)."""
    zone = ZoneInfo(schedule.timezone)
    day = range_start.astimezone(zone).date() - timedelta(days=1)
    last = range_end.astimezone(zone).date() + timedelta(days=1)
    intervals = []
    while day <= last:
        for begin, finish in schedule.working_hours.get(WEEKDAYS[day.weekday()], []):
            start_at, end_at = _local(day, begin, zone), _local(day, finish, zone)
            if start_at < end_at and end_at > range_start and start_at < range_end:
                intervals.append((start_at, end_at))
        day += timedelta(days=1)
    return _merge(intervals)


def compute_slots(
    schedules: Sequence[MemberSchedule],
    *,
    duration_minutes: int,
    buffer_minutes: int,
    window_days: int,
    now: datetime,
    attend_all: bool,
    range_start: datetime | None = None,
    range_end: datetime | None = None,
    min_notice: timedelta = MIN_NOTICE,
) -> list[Slot]:
    """Slots offered by a page between range_start and range_end (default: the whole window).

    With attend_all every member must be free and working (O4); otherwise (round robin, O5) at
    least one member must be. Members keep the order they are given in (the page order).
    """
    if not schedules:
        return []
    earliest = now + min_notice
    latest = now + timedelta(days=window_days)
    lower = max(earliest, range_start or earliest)
    upper = min(latest, range_end or latest)
    duration = timedelta(minutes=duration_minutes)
    buffer = timedelta(minutes=buffer_minutes)
    hours = {s.member_id: working_intervals(s, lower, upper + duration) for s in schedules}
    zones = {s.member_id: ZoneInfo(s.timezone) for s in schedules if s.full_days}
    slots = []
    for start in _grid(lower, upper, slot_step(duration_minutes)):
        end = start + duration
        # The numbers of claimed_units(start, end, buffer_minutes): start is on the grid.
        units = range(unit_number(start), -(-int((end + buffer).timestamp()) // 300))
        free = tuple(
            s.member_id
            for s in schedules
            if _inside(start, end, hours[s.member_id]) and s.busy_units.isdisjoint(units)
            and not (s.full_days and start.astimezone(zones[s.member_id]).date() in s.full_days)
        )
        if free and (not attend_all or len(free) == len(schedules)):
            slots.append(Slot(start, end, free))
    return slots


def pick_round_robin(
    free_member_ids: Iterable[int], page_order: Sequence[int], last_booked: dict[int, datetime],
    weights: dict[int, int] | None = None, served: dict[int, int] | None = None,
) -> int:
    """Choose the attending member of a round-robin booking (O5, R4).

    Equal weights (the default): the free member booked least recently on this page wins
    (never booked counts as oldest); ties go to the member who comes first in the page's
    member order. Unequal weights: the free member with the fewest bookings per unit of
    weight (``served``, the page's recent bookings) wins, then the same tie-breaks; over many
    bookings each member's share approaches their weight's share (2:1 gives 2/3 and 1/3).
    """
    oldest = datetime.min.replace(tzinfo=UTC)
    weights = weights or {}
    weighted = len({max(1, weights.get(mid, 1)) for mid in page_order}) > 1
    served = served or {}

    def load(mid: int) -> float:
        return served.get(mid, 0) / max(1, weights.get(mid, 1)) if weighted else 0.0

    return min(
        free_member_ids,
        key=lambda mid: (load(mid), last_booked.get(mid) or oldest, page_order.index(mid)),
    )


def group_by_day(slots: Iterable[Slot], tz: str) -> list[tuple[date, list[Slot]]]:
    """Slots grouped by their local date in zone `tz`, in time order."""
    zone = ZoneInfo(tz)
    days: dict[date, list[Slot]] = {}
    for slot in slots:
        days.setdefault(slot.start.astimezone(zone).date(), []).append(slot)
    return sorted(days.items())


def _grid(lower: datetime, upper: datetime, step_minutes: int) -> Iterable[datetime]:
    step = step_minutes * 60
    seconds = -(-int(lower.timestamp()) // step) * step  # round up onto the grid
    current = datetime.fromtimestamp(seconds, UTC)
    while current < upper:
        yield current
        current += timedelta(seconds=step)


def _merge(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Join touching intervals, so "mon 24:00" and "tue 00:00" hold a meeting across midnight."""
    merged: list[tuple[datetime, datetime]] = []
    for begin, finish in sorted(intervals):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged


def _inside(start: datetime, end: datetime, intervals: list[tuple[datetime, datetime]]) -> bool:
    # Merged intervals are sorted and apart: only the last one beginning by `start` can hold it.
    at = bisect_right(intervals, start, key=lambda interval: interval[0]) - 1
    return at >= 0 and end <= intervals[at][1]


def _floor_unit(moment: datetime) -> datetime:
    seconds = int(moment.timestamp()) // 300 * 300
    return datetime.fromtimestamp(seconds, UTC)


def _local(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    """A local wall time on `day` as UTC; "24:00" means the next midnight."""
    hours, minutes = (int(part) for part in hhmm.split(":"))
    if hours == 24:
        day, hours = day + timedelta(days=1), 0
    return datetime.combine(day, time(hours, minutes), tzinfo=zone).astimezone(UTC)


def week_range(
    now: datetime, tz: str, week: int, window_days: int
) -> tuple[datetime, datetime, int, int]:
    """Local-midnight bounds of display week `week` (clamped), with the clamped week and the
    last week that still holds bookable days: (range_start, range_end, week, last_week)."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    last_week = max(0, ((now + timedelta(days=window_days)).astimezone(zone).date() - today).days
                    // 7)
    week = min(max(week, 0), last_week)
    first_day = today + timedelta(days=7 * week)
    start = datetime.combine(first_day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(first_day + timedelta(days=7), time(), tzinfo=zone).astimezone(UTC)
    return start, end, week, last_week


def format_start(start: datetime) -> str:
    """The URL form of a slot start: ISO 8601 in UTC with a Z."""
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
