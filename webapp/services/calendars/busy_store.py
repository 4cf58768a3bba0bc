"""The stored busy times (K2, K3, K5, K6): what syncs write and what slot computation reads.

Page views read only this store; a provider is never called for a page view (K3).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from webapp.extensions import db
from webapp.integrations.calendar_port import BusyItem, Interval, SyncResult
from webapp.models import (
    BusyInterval,
    BusySource,
    CalendarConnection,
    CalendarStatus,
    MemberCalendar,
)
from webapp.services import availability_cache


def apply_sync(calendar: MemberCalendar, result: SyncResult) -> int:
    """Store what a provider sync returned for `calendar`; returns the intervals written.
    A sync that changed something bumps the availability version (the shared cache, O4); an
    unchanged poll (the usual one) leaves the cache alone."""
    if result.full or result.changed or result.removed:
        availability_cache.bump_members(db.session, [calendar.member_id])
    if result.full:
        db.session.execute(delete(BusyInterval).where(BusyInterval.calendar_id == calendar.id))
    refs = list(result.removed) + ([] if result.full else [item.ref for item in result.changed])
    for chunk in _chunks(refs, 500):
        db.session.execute(delete(BusyInterval).where(
            BusyInterval.calendar_id == calendar.id, BusyInterval.event_ref.in_(chunk)))
    return _insert(calendar.member_id, BusySource.CALENDAR.value, calendar.id, result.changed)


def replace_items(
    member_id: int, source: str, items: Iterable[BusyItem], removed: Iterable[str] = ()
) -> int:
    """Replace the intervals of non-calendar items (Salesforce Events, K5) by their ref."""
    items = list(items)
    refs = [item.ref for item in items] + list(removed)
    if refs:
        availability_cache.bump_members(db.session, [member_id])
    for chunk in _chunks(refs, 500):
        db.session.execute(delete(BusyInterval).where(
            BusyInterval.member_id == member_id, BusyInterval.source == source,
            BusyInterval.event_ref.in_(chunk)))
    return _insert(member_id, source, None, items)


def clear_calendar(calendar_id: int) -> None:
    """Forget a calendar's busy times (it stopped blocking or was removed)."""
    member_id = db.session.scalar(select(MemberCalendar.member_id)
                                  .where(MemberCalendar.id == calendar_id))
    availability_cache.bump_members(db.session, [member_id])
    db.session.execute(delete(BusyInterval).where(BusyInterval.calendar_id == calendar_id))


def busy_by_member(
    member_ids: Sequence[int], lower: datetime, upper: datetime
) -> dict[int, list[Interval]]:
    """Stored busy intervals overlapping [lower, upper), per member, sorted by start.

    Intervals of calendars that no longer block are skipped (their rows are also cleared when
    the setting changes; the join keeps the answer right in between).
    """
    found: dict[int, list[Interval]] = {mid: [] for mid in member_ids}
    if not member_ids:
        return found
    query = (
        select(BusyInterval.member_id, BusyInterval.start_at, BusyInterval.end_at)
        .outerjoin(MemberCalendar, MemberCalendar.id == BusyInterval.calendar_id)
        .where(
            BusyInterval.member_id.in_(list(member_ids)),
            BusyInterval.start_at < upper,
            BusyInterval.end_at > lower,
            (BusyInterval.calendar_id.is_(None)) | (MemberCalendar.blocks.is_(True)),
        )
        .order_by(BusyInterval.start_at)
    )
    for member_id, start, end in db.session.execute(query):
        found[member_id].append((_utc(start), _utc(end)))
    return found


def unavailable_members(
    member_ids: Sequence[int], now: datetime, grace: timedelta
) -> set[int]:
    """Members with a blocking calendar broken for longer than `grace` (K6): their stored busy
    times can no longer be trusted, so they are offered no slot rather than risk a double
    booking."""
    if not member_ids:
        return set()
    rows = db.session.execute(
        select(CalendarConnection.member_id, CalendarConnection.broken_since)
        .join(MemberCalendar, MemberCalendar.connection_id == CalendarConnection.id)
        .where(
            CalendarConnection.member_id.in_(list(member_ids)),
            CalendarConnection.status == CalendarStatus.BROKEN.value,
            MemberCalendar.blocks.is_(True),
        )
    )
    return {mid for mid, since in rows if since is None or _utc(since) + grace <= now}


def _insert(member_id: int, source: str, calendar_id: int | None, items) -> int:
    rows = [
        {"member_id": member_id, "source": source, "calendar_id": calendar_id,
         "event_ref": item.ref, "start_at": start, "end_at": end}
        for item in items
        for start, end in item.intervals
        if end > start
    ]
    if rows:
        db.session.execute(BusyInterval.__table__.insert(), [
            {**row, "start_at": row["start_at"].astimezone(UTC),
             "end_at": row["end_at"].astimezone(UTC)} for row in rows])
    return len(rows)


def _chunks(values: list, size: int):
    for index in range(0, len(values), size):
        yield values[index:index + size]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
