"""分析 (O7): the organization's bookings over a chosen period, from the database alone.

Every figure is one aggregate query bounded by the period (an index on ``created_at`` or
``start_at`` and the organization), so a year of 100,000 bookings costs a handful of grouped
scans, and nothing here asks Salesforce. Weeks start on Monday; days are the organization's
local days. "Bookings" counts bookings made in the period (their ``created_at``); cancellations
and reschedules count the changes made in it; no-shows and held meetings the outcomes recorded
in it (R7); sync outcomes the sync records finished in it, partial ones included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import (
    Booking,
    BookingMember,
    BookingPage,
    BookingStatus,
    Member,
    SyncAction,
    SyncRecord,
)

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
    zone = ZoneInfo(tz)
    lower = datetime.combine(start, time(), zone)
    upper = datetime.combine(end + timedelta(days=1), time(), zone)
    made = [Booking.organization_id == org_id, Booking.created_at >= lower,
            Booking.created_at < upper]
    dashboard = Dashboard(start, end)
    dashboard.weeks = _weeks(made, zone, start, end)
    dashboard.by_page = [(title, count) for title, count in db.session.execute(
        select(BookingPage.title, func.count(Booking.id))
        .join(BookingPage, BookingPage.id == Booking.page_id).where(*made)
        .group_by(BookingPage.id, BookingPage.title).order_by(func.count(Booking.id).desc()))]
    dashboard.by_member = [(name, count) for name, count in db.session.execute(
        select(Member.name, func.count(BookingMember.id))
        .join(Booking, Booking.id == BookingMember.booking_id)
        .join(Member, Member.id == BookingMember.member_id).where(*made)
        .group_by(Member.id, Member.name).order_by(func.count(BookingMember.id).desc()))]
    cancelled = db.session.scalar(select(func.count(Booking.id)).where(
        Booking.organization_id == org_id, Booking.status == BookingStatus.CANCELLED.value,
        Booking.cancelled_at >= lower, Booking.cancelled_at < upper)) or 0
    moved = db.session.scalar(select(func.count(SyncRecord.id)).where(
        SyncRecord.organization_id == org_id, SyncRecord.action == SyncAction.RESCHEDULE.value,
        SyncRecord.created_at >= lower, SyncRecord.created_at < upper)) or 0
    outcomes = dict(db.session.execute(
        select(Booking.outcome, func.count(Booking.id)).where(
            Booking.organization_id == org_id, Booking.outcome != "",
            Booking.outcome_at >= lower, Booking.outcome_at < upper)
        .group_by(Booking.outcome)).all())
    dashboard.changes = {"cancelled": cancelled, "rescheduled": moved,
                         "no_show": outcomes.get("no_show", 0), "held": outcomes.get("held", 0)}
    dashboard.syncs = dict(db.session.execute(
        select(SyncRecord.status, func.count(SyncRecord.id)).where(
            SyncRecord.organization_id == org_id, SyncRecord.created_at >= lower,
            SyncRecord.created_at < upper).group_by(SyncRecord.status)).all())
    return dashboard


def _weeks(made: list, zone: ZoneInfo, start: date, end: date) -> list[tuple[date, int]]:
    """Bookings per week (Monday first): counted per UTC hour in SQL (at most 24 x 366 rows,
    whatever the number of bookings), then put on the organization's local days here."""
    hour = func.strftime("%Y-%m-%d %H", Booking.created_at) \
        if db.engine.dialect.name == "sqlite" else \
        func.to_char(func.timezone("UTC", Booking.created_at), "YYYY-MM-DD HH24")
    counts: dict[date, int] = {}
    for stamp, count in db.session.execute(
            select(hour, func.count(Booking.id)).where(*made).group_by(hour)):
        local = datetime.strptime(stamp, "%Y-%m-%d %H").replace(
            tzinfo=ZoneInfo("UTC")).astimezone(zone).date()
        monday = local - timedelta(days=local.weekday())
        counts[monday] = counts.get(monday, 0) + count
    first = start - timedelta(days=start.weekday())
    weeks, week = [], first
    while week <= end:
        weeks.append((week, counts.get(week, 0)))
        week += timedelta(weeks=1)
    return weeks
