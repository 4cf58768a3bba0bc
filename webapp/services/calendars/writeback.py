"""Write-back (K4): a booking becomes an event in each attending member's receiving calendar,
moved on reschedule and removed on cancel, exactly once.

`plan_writes` adds pending CalendarWrite rows in the booking's own transaction (like the sync
outbox, S1) and tracks them for the caller's enqueue-after-commit; one job per write runs it
under the outbox protocol (services/outbox.py). The event is PUT at a resource named after the
booking's UID, the same UID as the email invitation, so a repeated or retried PUT replaces
rather than duplicates, and a DELETE of an already removed event is fine (S4 semantics).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update

from webapp.extensions import db
from webapp.integrations import calendar_port
from webapp.models import (
    Booking,
    CalendarConnection,
    CalendarStatus,
    CalendarWrite,
    CalendarWriteStatus,
    MemberCalendar,
    utcnow,
)
from webapp.services import meetings, outbox
from webapp.services.calendars.connections import adapter_for, mark_broken
from webapp.services.calendars.options import CalendarOptions
from webapp.services.ical_uid import booking_uid

log = logging.getLogger(__name__)


def plan_writes(booking: Booking, new: bool = False,
                members: list[int] | None = None) -> list[CalendarWrite]:
    """Pending writes for the booking's current state: a PUT per attending member with a
    receiving calendar, a DELETE where an earlier PUT went and the member no longer attends
    (reassigned on reschedule) or the booking is cancelled. Adds and flushes. A ``new``
    booking has no earlier PUT to look for; ``members`` limits the writes to those members
    (a meeting link that arrived later, V2).

    With Google Meet or Teams as the page's location (V1) the host's event carries the
    meeting: it goes to the calendar the meeting lives in (services/meetings.py), which
    replaces the host's receiving calendar for this booking, so the host has one event."""
    attending = set() if booking.is_cancelled else {bm.member_id for bm in booking.booking_members}
    written = {} if new else {mid: cid for mid, cid in db.session.execute(
        select(CalendarWrite.member_id, CalendarWrite.calendar_id)
        .where(CalendarWrite.booking_id == booking.id, CalendarWrite.action == "put"))}
    receiving = _receiving_calendars(attending)
    conference = {}
    kind = booking.page.location_kind or ""
    host = meetings.host_of(booking)
    if kind in (meetings.GOOGLE_MEET, meetings.TEAMS) and host is not None and \
            not booking.is_cancelled:
        meeting = meetings.current(booking.id)
        calendar = meetings.conference_calendar(host.id, kind)
        if calendar is not None and meeting is not None and meeting.member_id == host.id \
                and meeting.status in meetings.LIVE:
            receiving[host.id], conference[host.id] = calendar.id, kind
    chosen = attending if members is None else attending & set(members)
    rows = [CalendarWrite(organization_id=booking.organization_id, booking_id=booking.id,
                          member_id=mid, calendar_id=receiving[mid], action="put",
                          conference=conference.get(mid, ""))
            for mid in sorted(chosen) if mid in receiving]
    if members is None:
        rows += [CalendarWrite(organization_id=booking.organization_id, booking_id=booking.id,
                               member_id=mid, calendar_id=calendar_id, action="delete")
                 for mid, calendar_id in sorted(written.items()) if mid not in attending]
    db.session.add_all(rows)
    db.session.flush()
    outbox.track(db.session, outbox.Kind.CALENDAR, rows)
    return rows


PENDING, RUNNING = CalendarWriteStatus.PENDING.value, CalendarWriteStatus.RUNNING.value
WAITING = CalendarWriteStatus.WAITING.value


@dataclass(frozen=True)
class WriteOutcome:
    """What one run did: the write's status, and when it is due again if it should run again
    (``due``), or why it did nothing (``not_due`` with the due time, ``not_claimed``)."""

    status: str
    due: datetime | None = None


def _claimable(now: datetime):
    return or_(and_(CalendarWrite.status == PENDING,
                    or_(CalendarWrite.next_attempt_at.is_(None),
                        CalendarWrite.next_attempt_at <= now)),
               outbox.lease_expired(CalendarWrite, running=RUNNING, now=now))


def run_write(write_id: int, options: CalendarOptions, policy: outbox.Policy,
              checkpoint: Callable[[], None], now: datetime | None = None) -> WriteOutcome:
    """Carry out one write under a lease (services/outbox.py); the caller commits the result.

    Only the newest write per (booking, member) runs: an older one retried late must not
    re-create an event a cancel removed. A PUT by UID is idempotent, so an uncertain or
    interrupted write simply runs again. An unreachable calendar retries (the policy's
    intervals); a connection the provider refuses waits, and runs once it works again (K9).
    """
    now = now or utcnow()
    token = outbox.take_lease(db.session, CalendarWrite, write_id, claimable=_claimable(now),
                              running=RUNNING, policy=policy, now=now)
    if token is None:
        row = db.session.get(CalendarWrite, write_id)
        if row is not None:
            db.session.refresh(row)
            if row.status == PENDING and row.next_attempt_at and row.next_attempt_at > now:
                return WriteOutcome("not_due", row.next_attempt_at)
        return WriteOutcome("not_claimed")
    checkpoint()  # the lease is durable before the provider is called
    write = db.session.get(CalendarWrite, write_id)
    db.session.refresh(write)
    if write.id != _newest_write_id(write.booking_id, write.member_id):
        return _settle(write, token, CalendarWriteStatus.SKIPPED, "superseded by a newer change")
    calendar = db.session.get(MemberCalendar, write.calendar_id) if write.calendar_id else None
    if calendar is None:
        return _settle(write, token, CalendarWriteStatus.SKIPPED, "no receiving calendar")
    if calendar.connection.status == CalendarStatus.BROKEN.value:
        return _settle(write, token, CalendarWriteStatus.WAITING,
                       calendar.connection.status_reason or "connection broken")
    booking = db.session.get(Booking, write.booking_id)
    checkpoint()  # no transaction stays open across the provider's answer
    try:
        adapter = adapter_for(calendar.connection, options)
        uid = booking_uid(booking.id, options.domain)
        answer = calendar_port.PutAnswer()
        if write.action == "put":
            answer = adapter.put_event(calendar.remote_id,
                                       booking_event(booking, uid, write.id, write.conference))
        else:
            adapter.delete_event(calendar.remote_id, uid)
    except calendar_port.ProviderUnavailable as exc:
        delay = policy.retry_delay(write.attempts, write.created_at, utcnow())
        if delay is None:
            return _conference_failed(
                write, _settle(write, token, CalendarWriteStatus.FAILED, f"gave up: {exc}"),
                f"gave up: {exc}", failed=True)
        due = utcnow() + timedelta(seconds=delay)
        if write.conference and write.attempts >= 2:  # V4: the customer is not kept waiting
            meetings.conference_waiting(write.booking_id, write.member_id, str(exc),
                                        failed=False)
        return _settle(write, token, CalendarWriteStatus.PENDING, str(exc), due=due)
    except calendar_port.ProviderAuthError as exc:
        mark_broken(calendar.connection, exc, utcnow())
        return _conference_failed(
            write, _settle(write, token, CalendarWriteStatus.WAITING, str(exc)), str(exc),
            failed=False)
    except calendar_port.ProviderError as exc:
        return _conference_failed(
            write, _settle(write, token, CalendarWriteStatus.FAILED, str(exc)), str(exc),
            failed=True)
    # K10: the write log says when the member's own changes to the event were kept.
    detail = f"{calendar.name}: {answer.note}" if answer.note else calendar.name
    if write.conference and write.action == "put":
        if meetings.conference_written(write.booking_id, write.member_id, answer.conference):
            # Meet is still making the conference: read it again shortly (V1).
            return _settle(write, token, CalendarWriteStatus.PENDING,
                           "waiting for the meeting link", due=utcnow() + MEET_PENDING_WAIT)
    return _settle(write, token, CalendarWriteStatus.DONE, detail)


MEET_PENDING_WAIT = timedelta(seconds=3)


def _conference_failed(write: CalendarWrite, outcome: WriteOutcome, reason: str,
                       failed: bool) -> WriteOutcome:
    if write.conference and write.action == "put" and outcome.status != "not_claimed":
        meetings.conference_waiting(write.booking_id, write.member_id, reason, failed=failed)
    return outcome


def resume_waiting(connection_id: int | None = None) -> int:
    """Writes waiting on a broken connection become pending again once it works (K9): those
    of ``connection_id`` (its sync just worked), or of every connection not broken (the
    sweeper's round, for a missed signal). The caller commits; the sweeper queues them."""
    calendars = select(MemberCalendar.id).join(
        CalendarConnection, CalendarConnection.id == MemberCalendar.connection_id)
    calendars = calendars.where(CalendarConnection.id == connection_id) if connection_id \
        else calendars.where(CalendarConnection.status != CalendarStatus.BROKEN.value)
    result = db.session.execute(
        update(CalendarWrite)
        .where(CalendarWrite.status == WAITING, CalendarWrite.calendar_id.in_(calendars))
        .values(status=PENDING, next_attempt_at=None, enqueued_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    return result.rowcount


def due_write_ids(policy: outbox.Policy, now: datetime | None = None,
                  connection_id: int | None = None) -> list[int]:
    """The sweeper's query: due writes not queued recently, and writes whose worker died;
    only those of ``connection_id`` when given."""
    now = now or utcnow()
    query = select(CalendarWrite.id).where(or_(
        outbox.due_clause(CalendarWrite, pending=PENDING, now=now, policy=policy),
        outbox.lease_expired(CalendarWrite, running=RUNNING, now=now)))
    if connection_id is not None:
        query = query.where(CalendarWrite.calendar_id.in_(
            select(MemberCalendar.id).where(MemberCalendar.connection_id == connection_id)))
    return list(db.session.scalars(query.order_by(CalendarWrite.id).limit(500)))


def booking_event(booking: Booking, uid: str, sequence: int,
                  conference: str = "") -> calendar_port.BookingEvent:
    """The booking as a calendar event: no private link in it (F4), only what attendees see,
    and where the meeting happens (V2). The host's Meet or Teams event carries the meeting
    itself (``conference``), so its link is the provider's own, not written here."""
    who = booking.name or " ".join(p for p in (booking.last_name, booking.first_name) if p)
    lines = [f"{who} <{booking.email}>"]
    if booking.company:
        lines.append(booking.company)
    lines += [f"{a.get('name', '')} <{a.get('email', '')}>" for a in booking.attendees or []]
    place = meetings.where(booking)
    if not conference:
        lines += meetings.description_lines(place)
    return calendar_port.BookingEvent(
        uid=uid, start=booking.start_at, end=booking.end_at,
        summary=f"{booking.page.title}: {who or booking.email}",
        description="\n".join(lines), sequence=sequence,
        location="" if conference or place.follows else place.text, conference=conference)


def write_log(org_id: int, limit: int = 50) -> list[CalendarWrite]:
    """The newest writes of the organization, for the admin log (K4)."""
    return list(db.session.scalars(
        select(CalendarWrite).where(CalendarWrite.organization_id == org_id)
        .order_by(CalendarWrite.id.desc()).limit(limit)))


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


def _settle(write: CalendarWrite, token: str, status: CalendarWriteStatus, detail: str,
            due: datetime | None = None) -> WriteOutcome:
    """The write's outcome, if our lease still holds (another run owns it otherwise)."""
    values = dict(status=status.value, detail=(detail or "")[:1000], updated_at=utcnow())
    if status == CalendarWriteStatus.PENDING:
        values.update(next_attempt_at=due, enqueued_at=due)  # queued for then, by the caller
    if not outbox.settled(db.session, CalendarWrite, write.id, token, **values):
        return WriteOutcome("not_claimed")
    log.info("calendar write %s: %s", write.id, status.value)
    return WriteOutcome(status.value, due)
