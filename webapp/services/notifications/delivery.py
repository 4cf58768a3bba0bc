"""The send state machine (N5): at most once per booking, kind, sequence and recipient.

SMTP has no idempotency key, so the database decides who may send:

1. claim: one conditional UPDATE turns `pending` into `sending` with a lease; a second job for
   the same row (duplicate enqueue, retry, the sweeper) updates nothing and stops;
2. the claim is committed (`checkpoint`) before a byte goes to the server;
3. after the server's answer: `sent`; or back to `pending` later (temporary error, with
   backoff); or `failed` (permanent); or `unknown` when the data went out and no answer came;
4. a worker that dies between 2 and 3 leaves `sending` past its lease: the sweeper marks it
   `unknown`, never `pending`. Such a message is not resent by itself; the delivery log shows
   it and an admin may resend it knowingly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from jinja2 import TemplateError
from sqlalchemy import and_, or_, select, update

from webapp.extensions import db
from webapp.integrations import mail
from webapp.models import Booking, MessageKind, MessageStatus, OutboxMessage, utcnow
from webapp.services import outbox
from webapp.services.notifications import NotificationSettings, plan
from webapp.services.notifications.compose import HeaderInjection, Render, compose

RESENDABLE = frozenset({MessageStatus.FAILED.value, MessageStatus.UNKNOWN.value})


@dataclass
class Delivery:
    """What one run did: the final status, and when it should run again (``due``)."""

    status: str
    due: datetime | None = None


def deliver(message_id: int, settings: NotificationSettings, render: Render,
            checkpoint: Callable[[], None], policy: outbox.Policy | None = None,
            now: datetime | None = None) -> Delivery:
    """Claim, check, compose and send one outbox message; the caller commits the result.

    Returns Delivery("not_due", due=...) when it is pending but due later (a job that started
    early), Delivery("not_claimed") when another run has it or it is final.
    """
    now = now or utcnow()
    policy = policy or outbox.Policy(settings.lease_seconds, settings.retry_intervals,
                                     settings.stale_seconds, outbox.Uncertain.UNKNOWN)
    claimable = and_(OutboxMessage.status == MessageStatus.PENDING.value,
                     or_(OutboxMessage.send_after.is_(None), OutboxMessage.send_after <= now))
    if outbox.take_lease(db.session, OutboxMessage, message_id, claimable=claimable,
                         running=MessageStatus.SENDING.value, policy=policy, now=now) is None:
        due = db.session.scalar(select(OutboxMessage.send_after).where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == MessageStatus.PENDING.value))
        if due is not None and due > now:
            return Delivery("not_due", due=due)
        return Delivery("not_claimed")
    checkpoint()  # the claim is durable before anything is sent
    row = db.session.get(OutboxMessage, message_id)
    db.session.refresh(row)
    booking = db.session.get(Booking, row.booking_id)
    stale = _stale_reason(row, booking)
    if stale:
        return _finish(row, MessageStatus.SKIPPED, stale)
    if settings.smtp is None or not settings.base_url:
        return _finish(row, MessageStatus.FAILED, "not configured: MAIL_SERVER and APO_BASE_URL "
                       "(the links in e-mails) are both needed")
    try:
        composed = compose(row, booking, settings, render)
    except HeaderInjection as exc:
        return _finish(row, MessageStatus.FAILED, str(exc))
    except (ValueError, LookupError, TemplateError) as exc:
        # Nothing went out: failed, not unknown (a bad stored time zone, a template bug).
        return _finish(row, MessageStatus.FAILED, f"cannot build the message: {exc!r}"[:500])
    row.subject = composed.subject[:255]
    checkpoint()  # no transaction stays open across the (maybe slow) SMTP conversation
    try:
        mail.send(settings.smtp, composed.message)
    except mail.MailTemporaryError as exc:
        return _retry_or_fail(row, settings, str(exc), now)
    except mail.MailPermanentError as exc:
        return _finish(row, MessageStatus.FAILED, str(exc))
    except mail.MailUncertainError as exc:
        return _finish(row, MessageStatus.UNKNOWN, str(exc))
    row.sent_at = utcnow()
    return _finish(row, MessageStatus.SENT, "")


def _stale_reason(row: OutboxMessage, booking: Booking) -> str:
    """Why this message must not go out any more (N4: no stale reminder), or ""."""
    if row.kind == MessageKind.CANCELLATION.value:
        return ""
    if booking.is_cancelled:
        return "booking cancelled"
    if row.kind == MessageKind.REMINDER.value:
        if row.sequence != plan.current_sequence(booking.id):
            return "booking moved"
        return ""
    newer = db.session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.booking_id == row.booking_id,
        OutboxMessage.recipient_email == row.recipient_email,
        OutboxMessage.kind != MessageKind.REMINDER.value,
        OutboxMessage.sequence > row.sequence).limit(1))
    return "superseded" if newer else ""


def _retry_or_fail(row: OutboxMessage, settings: NotificationSettings, error: str,
                   now: datetime) -> Delivery:
    intervals = settings.retry_intervals
    if row.attempts > len(intervals):
        return _finish(row, MessageStatus.FAILED, error)
    delay = intervals[row.attempts - 1]
    row.status, row.last_error, row.lease_until = MessageStatus.PENDING.value, error, None
    # Due from the failed try, not from the claim: a slow server's timeout counts as waiting.
    row.send_after = row.enqueued_at = utcnow() + timedelta(seconds=delay)
    return Delivery(MessageStatus.PENDING.value, due=row.send_after)


def _finish(row: OutboxMessage, status: MessageStatus, error: str) -> Delivery:
    row.status, row.last_error, row.lease_until = status.value, error[:2000], None
    return Delivery(status.value)


def resend(row: OutboxMessage, now: datetime | None = None) -> None:
    """An admin's retry from the delivery log: a failed or unknown message goes out again.

    For `unknown` this may deliver a second copy; the admin chose it knowing that (N5).
    """
    if row.status not in RESENDABLE:
        raise ValueError("only failed or unknown messages can be sent again")
    row.status, row.attempts, row.lease_until = MessageStatus.PENDING.value, 0, None
    row.send_after, row.enqueued_at = now or utcnow(), None
    db.session.flush()


def expire_leases(now: datetime | None = None) -> int:
    """`sending` rows past their lease become `unknown`: for mail an interrupted send is
    uncertain (outbox.Uncertain.UNKNOWN), never resent by itself (N5)."""
    now = now or utcnow()
    result = db.session.execute(
        update(OutboxMessage)
        .where(outbox.lease_expired(OutboxMessage, running=MessageStatus.SENDING.value, now=now))
        .values(status=MessageStatus.UNKNOWN.value, lease_until=None, lease_token=None,
                updated_at=now,
                last_error="the worker stopped while sending; it may have been delivered")
        .execution_options(synchronize_session=False))
    return result.rowcount


def due_ids(policy: outbox.Policy, now: datetime | None = None) -> list[int]:
    """Pending, due messages never queued or queued long enough ago that the job may be lost.

    Reminders and retries queued for later carry `enqueued_at` = their due time, so they are
    left to the RQ scheduler until then and only swept if that job went missing.
    """
    now = now or utcnow()
    return list(db.session.scalars(
        select(OutboxMessage.id)
        .where(outbox.due_clause(OutboxMessage, pending=MessageStatus.PENDING.value, now=now,
                                 policy=policy, due_column=OutboxMessage.send_after))
        .order_by(OutboxMessage.id).limit(500)))
