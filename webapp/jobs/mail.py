"""RQ entry points for booking e-mails (N5): enqueue helpers and the send job. Ids only."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app, render_template
from flask_babel import force_locale
from redis.exceptions import RedisError

from webapp import settings as app_settings
from webapp.jobs import get_queue, run_in_app

log = logging.getLogger(__name__)
JOB = "webapp.jobs.mail.send_message"


def enqueue_message(message_id: int, at: datetime | None = None) -> bool:
    """Queue one outbox message after its transaction committed; `at` for reminders/retries.

    Returns False when Redis is unreachable: the message stays pending and the sweeper queues
    it later; the booking is never affected (N5).
    """
    config = current_app.config
    options = dict(job_timeout=int(config["RQ_JOB_TIMEOUT"]), failure_ttl=config["RQ_FAILURE_TTL"],
                   description=f"mail message {message_id}")
    try:
        if at is not None and at > datetime.now(UTC):
            get_queue().enqueue_at(at, JOB, message_id, **options)
        else:
            get_queue().enqueue(JOB, message_id, **options)
    except RedisError as exc:
        log.warning("queue unavailable, message %s stays pending: %s", message_id,
                    type(exc).__name__)
        return False
    _mark_enqueued(message_id, at)
    return True


def enqueue_booking_messages(booking_id: int) -> int:
    """Queue the booking's new messages (call after the booking's commit); returns how many."""
    from webapp.services.notifications import delivery

    queued = 0
    for message_id, due in delivery.queued_ids(booking_id):
        if not enqueue_message(message_id, due):
            break  # Redis is down: one wait is enough, the sweeper queues the rest (N5)
        queued += 1
    return queued


def requeue_messages() -> int:
    """Sweeper round: expire dead leases (-> unknown), queue due messages whose job is lost."""
    from webapp.extensions import db
    from webapp.services.notifications import delivery

    settings = app_settings.current().notifications
    delivery.expire_leases()
    ids = delivery.due_ids(timedelta(seconds=settings.stale_seconds))
    db.session.commit()
    return sum(1 for message_id in ids if enqueue_message(message_id))


def send_message(message_id: int) -> None:
    """RQ job: send one outbox message at most once (services/notifications/delivery)."""
    run_in_app(_run, message_id)


def _run(app: Flask, message_id: int) -> None:
    from webapp.extensions import db
    from webapp.services.notifications import delivery

    outcome = delivery.deliver(message_id, app_settings.settings_of(app).notifications, _render,
                               checkpoint=db.session.commit)
    db.session.commit()
    if outcome.retry_in is not None:
        enqueue_message(message_id, datetime.now(UTC) + timedelta(seconds=outcome.retry_in))


def _render(template: str, locale: str, context: dict) -> str:
    with force_locale(locale):
        return render_template(template, **context)


def _mark_enqueued(message_id: int, at: datetime | None) -> None:
    # One UPDATE by id: the row is not loaded first (the booking's confirm queues two or more
    # messages right after its commit, beside its sync's first steps).
    from sqlalchemy import update

    from webapp.extensions import db
    from webapp.models import OutboxMessage, utcnow

    now = utcnow()
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                       .values(enqueued_at=max(at, now) if at is not None else now)
                       .execution_options(synchronize_session=False))
    db.session.commit()
