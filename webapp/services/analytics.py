"""分析 (O7): the organization's bookings over a chosen period, from the database alone.

Three statements, and nothing here asks Salesforce. Each count reads only the period's rows,
through an index range that covers it (models: ``ix_bookings_org_*``, ``ix_sync_records_org_*``),
so a year of 100,000 bookings renders in under 200 ms (bench/bench_dashboard.py). Weeks
start on Monday; days are the organization's local days. "Bookings" counts bookings made in the
period (their ``created_at``); cancellations and reschedules count the changes made in it;
no-shows and held meetings the outcomes recorded in it (R7); sync outcomes the sync records
made in it, partial ones included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Select, bindparam, func, select

from webapp.extensions import db
from webapp.models import (
    Booking,
    BookingMember,
    BookingPage,
    BookingStatus,
    Member,
    SyncAction,
    SyncRecord,
    SyncStatus,
)
from webapp.models.base import UTCDateTime

MAX_DAYS = 366


@dataclass
class Dashboard:
    start: date
    end: date  # inclusive
    weeks: list[tuple[date, int]] = field(default_factory=list)
    by_page: list[tuple[str, int]] = field(default_factory=list)
    by_member: list[tuple[str, int]] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)
    syncs: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(count for _week, count in self.weeks)


def period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The chosen period, by default the last 12 weeks; at most a year, never reversed."""
    end = end or today
    start = start or end - timedelta(weeks=12) + timedelta(days=1)
    if start > end:
        start, end = end, start
    if (end - start).days >= MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS - 1)
    return start, end


def build(org_id: int, tz: str, start: date, end: date) -> Dashboard:
    """The dashboard's figures for the organization over ``start``..``end`` (local days)."""
    zone = ZoneInfo(tz)
    first = start - timedelta(days=start.weekday())
    mondays = [first + timedelta(weeks=i) for i in range((end - first).days // 7 + 1)]
    # Each week as a span of UTC instants computed here with the zone's rules (DST, half-hour
    # offsets), so that counting between them is exact and needs no date arithmetic per row.
    edges = [datetime.combine(max(day, start), time(), zone) for day in mondays]
    edges.append(datetime.combine(end + timedelta(days=1), time(), zone))
    counts = db.session.execute(_counts(len(mondays)), {
        "org": org_id, **{f"edge{i}": edge for i, edge in enumerate(edges)}}).one()
    weeks, (cancelled, no_show, held, moved, *syncs) = counts[:len(mondays)], counts[len(mondays):]
    dashboard = Dashboard(start, end)
    dashboard.weeks = list(zip(mondays, weeks, strict=True))
    dashboard.changes = {"cancelled": cancelled, "rescheduled": moved, "no_show": no_show,
                         "held": held}
    dashboard.syncs = {status: n for status, n in zip(_SYNC_STATUSES, syncs, strict=True) if n}
    made = (Booking.organization_id == org_id, Booking.created_at >= edges[0],
            Booking.created_at < edges[-1])
    # A range count per page reads the same rows as grouping the period by page, without the
    # sort of every row that SQLite does for a GROUP BY.
    per_page = _count(Booking, Booking.page_id == BookingPage.id, *made)
    dashboard.by_page = _largest_first(db.session.execute(
        select(BookingPage.id, BookingPage.title, per_page)
        .where(BookingPage.organization_id == org_id)))
    # Members are reached through each booking, so they are grouped; named after counting.
    per_member = (select(BookingMember.member_id, func.count().label("n"))
                  .join(Booking, Booking.id == BookingMember.booking_id).where(*made)
                  .group_by(BookingMember.member_id).subquery())
    dashboard.by_member = _largest_first(db.session.execute(
        select(Member.id, Member.name, per_member.c.n)
        .join(per_member, per_member.c.member_id == Member.id)))
    return dashboard


_SYNC_STATUSES = tuple(status.value for status in SyncStatus)


@cache
def _counts(weeks: int) -> Select:
    """One row of counts, each an index range bounded by the period: bookings made in each
    week, cancellations, no-shows, held meetings, reschedules, then each sync status. Built
    once per number of weeks, with the organization and the weeks' edges bound at execution."""
    org = bindparam("org", type_=Integer())
    edge = [bindparam(f"edge{i}", type_=UTCDateTime()) for i in range(weeks + 1)]
    lower, upper = edge[0], edge[-1]
    synced = (SyncRecord.organization_id == org, SyncRecord.created_at >= lower,
              SyncRecord.created_at < upper)
    return select(
        *(_count(Booking, Booking.organization_id == org, Booking.created_at >= since,
                 Booking.created_at < until) for since, until in pairwise(edge)),
        _count(Booking, Booking.organization_id == org,
               Booking.status == BookingStatus.CANCELLED.value,
               Booking.cancelled_at >= lower, Booking.cancelled_at < upper),
        *(_count(Booking, Booking.organization_id == org, Booking.outcome == outcome,
                 Booking.outcome_at >= lower, Booking.outcome_at < upper)
          for outcome in ("no_show", "held")),
        _count(SyncRecord, *synced, SyncRecord.action == SyncAction.RESCHEDULE.value),
        *(_count(SyncRecord, *synced, SyncRecord.status == status) for status in _SYNC_STATUSES))


def _count(model, *where):
    return select(func.count()).select_from(model).where(*where).scalar_subquery()


def _largest_first(rows) -> list[tuple[str, int]]:
    """(name, count) for the ids counted, largest first; ties by name, then id."""
    return [(name, n) for _id, name, n in sorted(
        (row for row in rows if row[2]), key=lambda row: (-row[2], row[1], row[0]))]
