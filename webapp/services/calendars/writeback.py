"""Write-back (K4): a booking becomes an event in each attending member's receiving calendar,
moved on reschedule and removed on cancel, exactly once.

`plan_writes` adds pending CalendarWrite rows in the booking's own transaction (like the sync
outbox, S1); a job runs them after the commit. The event is PUT at a resource named after the
booking's UID, the same UID as the email invitation, so a repeated or retried PUT replaces
rather than duplicates, and a DELETE of an already removed event is fine (S4 semantics).
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import (
    Booking,
    CalendarConnection,
    CalendarStatus,
    CalendarWrite,
    CalendarWriteStatus,
    MemberCalendar,
    utcnow,
)
from webapp.services.calendars import providers
from webapp.services.calendars.connections import adapter_for, mark_broken
from webapp.services.calendars.options import CalendarOptions
from webapp.services.ical_uid import booking_uid

log = logging.getLogger(__name__)


def plan_writes(booking: Booking, new: bool = False) -> list[CalendarWrite]:
    """Pending writes for the booking's current state: a PUT per attending member with a
    receiving calendar, a DELETE where an earlier PUT went and the member no longer attends
    (reassigned on reschedule) or the booking is cancelled. Adds and flushes. A ``new``
    booking has no earlier PUT to look for."""
    attending = set() if booking.is_cancelled else {bm.member_id for bm in booking.booking_members}
    written = {} if new else {mid: cid for mid, cid in db.session.execute(
        select(CalendarWrite.member_id, CalendarWrite.calendar_id)
        .where(CalendarWrite.booking_id == booking.id, CalendarWrite.action == "put"))}
    receiving = _receiving_calendars(attending)
    rows = [CalendarWrite(organization_id=booking.organization_id, booking_id=booking.id,
                          member_id=mid, calendar_id=receiving[mid], action="put")
            for mid in sorted(attending) if mid in receiving]
    rows += [CalendarWrite(organization_id=booking.organization_id, booking_id=booking.id,
                           member_id=mid, calendar_id=calendar_id, action="delete")
             for mid, calendar_id in sorted(written.items()) if mid not in attending]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def pending_write_ids(booking_id: int) -> list[int]:
    return list(db.session.scalars(
        select(CalendarWrite.id).where(CalendarWrite.booking_id == booking_id,
                                       CalendarWrite.status == CalendarWriteStatus.PENDING.value)
        .order_by(CalendarWrite.id)))


def run_write(write: CalendarWrite, options: CalendarOptions) -> None:
    """Carry out one write. Only the newest write per (booking, member) runs: an older one
    retried late (worker killed, requeue) must not re-create an event a cancel removed.

    Raises:
        ProviderUnavailable: transient; the write stays pending and the job retries.
    """
    if write.status != CalendarWriteStatus.PENDING.value:
        return
    if write.id != _newest_write_id(write.booking_id, write.member_id):
        _finish(write, CalendarWriteStatus.SKIPPED, "superseded by a newer change")
        return
    calendar = db.session.get(MemberCalendar, write.calendar_id) if write.calendar_id else None
    if calendar is None or calendar.connection.status == CalendarStatus.BROKEN.value:
        _finish(write, CalendarWriteStatus.SKIPPED, "no working receiving calendar")
        return
    booking = db.session.get(Booking, write.booking_id)
    write.attempts += 1
    try:
        adapter = adapter_for(calendar.connection, options)
        uid = booking_uid(booking.id, options.domain)
        if write.action == "put":
            adapter.put_event(calendar.remote_id, booking_event(booking, uid, write.id))
        else:
            adapter.delete_event(calendar.remote_id, uid)
    except providers.ProviderUnavailable as exc:
        write.detail = str(exc)[:1000]
        raise
    except providers.ProviderError as exc:
        if isinstance(exc, providers.ProviderAuthError):
            mark_broken(calendar.connection, exc, utcnow())
        _finish(write, CalendarWriteStatus.FAILED, str(exc))
        return
    _finish(write, CalendarWriteStatus.DONE, calendar.name)


def booking_event(booking: Booking, uid: str, sequence: int) -> providers.BookingEvent:
    """The booking as a calendar event: no private link in it (F4), only what attendees see."""
    who = booking.name or " ".join(p for p in (booking.last_name, booking.first_name) if p)
    lines = [f"{who} <{booking.email}>"]
    if booking.company:
        lines.append(booking.company)
    lines += [f"{a.get('name', '')} <{a.get('email', '')}>" for a in booking.attendees or []]
    return providers.BookingEvent(
        uid=uid, start=booking.start_at, end=booking.end_at,
        summary=f"{booking.page.title}: {who or booking.email}",
        description="\n".join(lines), sequence=sequence)


def write_log(org_id: int, limit: int = 50) -> list[CalendarWrite]:
    """The newest writes of the organization, for the admin log (K4)."""
    return list(db.session.scalars(
        select(CalendarWrite).where(CalendarWrite.organization_id == org_id)
        .order_by(CalendarWrite.id.desc()).limit(limit)))


def stale_booking_ids(age, now=None) -> list[int]:
    """Bookings with writes still pending `age` after they were planned (a lost job)."""
    cutoff = (now or utcnow()) - age
    return list(db.session.scalars(
        select(CalendarWrite.booking_id).where(
            CalendarWrite.status == CalendarWriteStatus.PENDING.value,
            CalendarWrite.updated_at < cutoff).distinct()))


def _receiving_calendars(member_ids: set[int]) -> dict[int, int]:
    if not member_ids:
        return {}
    rows = db.session.execute(
        select(MemberCalendar.member_id, MemberCalendar.id)
        .join(CalendarConnection, CalendarConnection.id == MemberCalendar.connection_id)
        .where(MemberCalendar.member_id.in_(member_ids),
               MemberCalendar.receives_bookings.is_(True))
        .order_by(MemberCalendar.id.desc()))
    return {member_id: calendar_id for member_id, calendar_id in rows}


def _newest_write_id(booking_id: int, member_id: int) -> int:
    return db.session.scalar(select(func.max(CalendarWrite.id)).where(
        CalendarWrite.booking_id == booking_id, CalendarWrite.member_id == member_id))


def _finish(write: CalendarWrite, status: CalendarWriteStatus, detail: str) -> None:
    write.status, write.detail = status.value, (detail or "")[:1000]
    log.info("calendar write %s: %s", write.id, status.value)
