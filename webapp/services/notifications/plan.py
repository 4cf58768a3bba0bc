"""Which messages a booking change writes to the outbox (N1-N5).

Called by the booking service inside the booking's transaction (add and flush, never commit),
so a booking and its messages are stored together and a lost message is impossible; the
worker sends them after the commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from webapp.extensions import db
from webapp.models import (
    DEFAULT_REMINDER_MINUTES,
    Booking,
    MessageKind,
    MessageStatus,
    OutboxMessage,
    PageMailSettings,
    RecipientRole,
    utcnow,
)
from webapp.services import outbox

MAX_REMINDERS = 5
MAX_REMINDER_MINUTES = 30 * 24 * 60
# Mail volume a customer can cause (N5). Updates wait this long before they go out, so that a
# burst of reschedules sends one message, the last (the earlier ones are superseded).
UPDATE_GRACE = timedelta(seconds=10)
# Invitations one address may receive as an attendee (F3) within a day, across bookings: a
# stranger's address named on many bookings is not flooded.
ATTENDEE_DAILY_LIMIT = 3
# Updates one recipient may receive for one booking within a day.
BOOKING_UPDATE_DAILY_LIMIT = 6
LIMIT_REASON = "mail limit: too many messages to this address"


def record_booking_change(booking: Booking, kind: MessageKind,
                          removed_member_ids: tuple[int, ...] = (),
                          now: datetime | None = None, note: str = "",
                          previous: tuple[datetime, datetime] | None = None,
                          ) -> list[OutboxMessage]:
    """Add the messages for one change of `booking` (N1-N4) and return them.

    Every change gets the next SEQUENCE (N3): confirmation 0, then one per update or cancel.
    Members taken off a rescheduled booking get a cancellation; pending reminders of earlier
    versions are skipped at once (and checked again at send time).
    """
    now = now or utcnow()
    db.session.flush()  # the booking needs its id
    if kind == MessageKind.CONFIRMATION:
        sequence = 0  # a new booking: no earlier version, no reminders to skip (S8: two reads)
    else:
        sequence = _next_sequence(booking.id)
        _skip_pending_reminders(booking.id)
    rows = [_row(booking, kind, sequence, role, email, name)
            for role, email, name in recipients(booking)]
    for member in _members(booking, removed_member_ids):
        rows.append(_row(booking, MessageKind.CANCELLATION, sequence, RecipientRole.MEMBER,
                         member.email, member.name))
    if kind in (MessageKind.CONFIRMATION, MessageKind.UPDATE):
        rows.extend(_reminders(booking, sequence, now))
    rows = _unique(rows)
    if kind == MessageKind.UPDATE:
        for row in rows:
            if row.kind == MessageKind.UPDATE.value:
                row.send_after, row.note = now + UPDATE_GRACE, note
                if previous is not None:  # the update says what the time was
                    row.previous_start_at, row.previous_end_at = previous
    _apply_limits(booking, rows, now)
    db.session.add_all(rows)
    db.session.flush()
    outbox.track(db.session, outbox.Kind.MAIL, rows)
    return rows


def _apply_limits(booking: Booking, rows: list[OutboxMessage], now: datetime) -> None:
    """Rows past a volume limit are kept, as skipped with the reason, so the delivery log
    shows what was held back (N5)."""
    since = now - timedelta(days=1)
    for row in rows:
        if row.kind == MessageKind.CONFIRMATION.value and \
                row.recipient_role == RecipientRole.ATTENDEE.value:
            sent = _count(since, OutboxMessage.recipient_role == RecipientRole.ATTENDEE.value,
                          OutboxMessage.kind == MessageKind.CONFIRMATION.value,
                          func.lower(OutboxMessage.recipient_email) == row.recipient_email.lower())
            limit = ATTENDEE_DAILY_LIMIT
        elif row.kind == MessageKind.UPDATE.value:
            sent = _count(since, OutboxMessage.booking_id == booking.id,
                          OutboxMessage.kind == MessageKind.UPDATE.value,
                          OutboxMessage.status != MessageStatus.SKIPPED.value,
                          func.lower(OutboxMessage.recipient_email) == row.recipient_email.lower())
            limit = BOOKING_UPDATE_DAILY_LIMIT
        else:
            continue
        if sent >= limit:
            row.status, row.last_error = MessageStatus.SKIPPED.value, LIMIT_REASON


def _count(since: datetime, *where) -> int:
    return db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.created_at >= since, *where)) or 0


def recipients(booking: Booking) -> list[tuple[RecipientRole, str, str]]:
    """(role, email, name): the customer, each attendee (F3), each attending member (N2)."""
    found = [(RecipientRole.CUSTOMER, booking.email, booking.name or
              f"{booking.last_name} {booking.first_name}".strip())]
    for attendee in booking.attendees or []:
        if isinstance(attendee, dict) and attendee.get("email"):
            found.append((RecipientRole.ATTENDEE, attendee["email"], attendee.get("name", "")))
    found.extend((RecipientRole.MEMBER, m.email, m.name) for m in booking.members if m.email)
    return found


def reminder_minutes(page_id: int) -> list[int]:
    """The page's reminder offsets in minutes (default one, 24 hours before; N4)."""
    settings = db.session.get(PageMailSettings, page_id)
    return list(DEFAULT_REMINDER_MINUTES if settings is None else settings.reminder_minutes)


def set_reminder_minutes(page_id: int, minutes: list[int]) -> None:
    """Replace a page's reminder offsets; applies to bookings made or moved afterwards."""
    clean = sorted({int(m) for m in minutes if 0 < int(m) <= MAX_REMINDER_MINUTES})
    if len(clean) > MAX_REMINDERS:
        raise ValueError("too many reminders")
    settings = db.session.get(PageMailSettings, page_id)
    if settings is None:
        settings = PageMailSettings(page_id=page_id)
        db.session.add(settings)
    settings.reminder_minutes = clean
    db.session.flush()


def current_sequence(booking_id: int) -> int:
    """The SEQUENCE of the booking's latest version (-1 before any message)."""
    value = db.session.scalar(select(func.max(OutboxMessage.sequence))
                              .where(OutboxMessage.booking_id == booking_id))
    return -1 if value is None else value


def _next_sequence(booking_id: int) -> int:
    return current_sequence(booking_id) + 1


def _skip_pending_reminders(booking_id: int) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.booking_id == booking_id,
               OutboxMessage.kind == MessageKind.REMINDER.value,
               OutboxMessage.status == MessageStatus.PENDING.value)
        .values(status=MessageStatus.SKIPPED.value, last_error="superseded",
                updated_at=utcnow())
        .execution_options(synchronize_session=False))


def _reminders(booking: Booking, sequence: int, now: datetime) -> list[OutboxMessage]:
    rows = []
    for minutes in reminder_minutes(booking.page_id):
        due = booking.start_at - timedelta(minutes=minutes)
        if due <= now:  # too late for this one: a reminder after booking is noise
            continue
        row = _row(booking, MessageKind.REMINDER, sequence, RecipientRole.CUSTOMER,
                   booking.email, booking.name)
        row.reminder_minutes, row.send_after = minutes, due
        rows.append(row)
    return rows


def _members(booking: Booking, member_ids: tuple[int, ...]):
    from webapp.models import Member

    current = {m.id for m in booking.members}
    ids = [i for i in member_ids if i not in current]
    if not ids:
        return []
    return db.session.scalars(select(Member).where(Member.id.in_(ids))).all()


def _row(booking: Booking, kind: MessageKind, sequence: int, role: RecipientRole,
         email: str, name: str) -> OutboxMessage:
    return OutboxMessage(organization_id=booking.organization_id, booking_id=booking.id,
                         kind=kind.value, sequence=sequence, recipient_role=role.value,
                         recipient_email=email.strip()[:254], recipient_name=(name or "")[:200],
                         reminder_minutes=0, status=MessageStatus.PENDING.value, attempts=0)


def _unique(rows: list[OutboxMessage]) -> list[OutboxMessage]:
    """One message per address and kind: the first role wins (customer, attendee, member)."""
    seen, kept = set(), []
    for row in rows:
        key = (row.kind, row.recipient_email.lower(), row.reminder_minutes)
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept
