"""RQ entry points for booking e-mails (N5): enqueue helpers and the send job. Ids only."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask, current_app, render_template
from flask_babel import force_locale
from redis.exceptions import RedisError

from webapp import settings as app_settings
from webapp.jobs import run_in_app, schedule, wait_until_due

log = logging.getLogger(__name__)
JOB = "webapp.jobs.mail.send_message"


def policy(app: Flask | None = None):
    from webapp.services.outbox import Kind

    return app_settings.settings_of(app or current_app._get_current_object()).outbox[Kind.MAIL]


def queue(message_id: int, due: datetime | None = None) -> None:
    """Queue one outbox message, now or at its due time (a reminder, a retry).

    Raises:
        RedisError: the queue is unreachable (the message stays pending for the sweeper).
    """
    schedule(JOB, message_id, due, f"mail message {message_id}")


def enqueue_message(message_id: int, at: datetime | None = None) -> bool:
    """Queue a message again (a retry, the sweeper, an admin's resend) and stamp it with its
    due time; False when Redis is unreachable: the message stays pending and the sweeper
    queues it later, the booking is never affected (N5)."""
    from webapp.extensions import db
    from webapp.models import OutboxMessage, utcnow
    from webapp.services import outbox

    try:
        queue(message_id, at)
    except RedisError as exc:
        log.warning("queue unavailable, message %s stays pending: %s", message_id,
                    type(exc).__name__)
        return False
    now = utcnow()
    outbox.mark_enqueued(db.session, OutboxMessage, message_id, max(at, now) if at else now)
    db.session.commit()
    return True


def requeue_messages() -> int:
    """Sweeper round: expire dead leases (-> unknown), queue due messages whose job is lost."""
    from webapp.extensions import db
    from webapp.services.notifications import delivery

    delivery.expire_leases()
    ids = delivery.due_ids(policy())
    db.session.commit()
    return sum(1 for message_id in ids if enqueue_message(message_id))


def send_message(message_id: int) -> None:
    """RQ job: send one outbox message at most once (services/notifications/delivery)."""
    run_in_app(_run, message_id)


def _run(app: Flask, message_id: int) -> None:
    from webapp.extensions import db
    from webapp.services.notifications import delivery

    settings = app_settings.settings_of(app)
    outcome = None
    for _ in range(2):  # a second try only after waiting out an early start
        outcome = delivery.deliver(message_id, settings.notifications, _render,
                                   checkpoint=db.session.commit, policy=policy(app))
        db.session.commit()
        if outcome.status != "not_due" or not wait_until_due(outcome.due):
            break
    if outcome.due is not None:  # a retry, or an early start too far from its due time
        enqueue_message(message_id, outcome.due)


def _render(template: str, locale: str, context: dict) -> str:
    with force_locale(locale):
        return render_template(template, **context)
