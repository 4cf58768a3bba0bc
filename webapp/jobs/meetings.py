"""RQ entry points for Zoom meetings (V1, V3): ids only; the rules live in services/meetings."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask, current_app
from redis.exceptions import RedisError

from webapp import settings as app_settings
from webapp.jobs import commit_and_enqueue, run_in_app, schedule, wait_until_due

log = logging.getLogger(__name__)
JOB = "webapp.jobs.meetings.run_meeting"


def policy(app: Flask | None = None):
    from webapp.services.outbox import Kind

    return app_settings.settings_of(app or current_app._get_current_object()).outbox[
        Kind.MEETING]


def queue(meeting_id: int, due: datetime | None = None) -> None:
    """Queue one Zoom meeting run, now or at its due time.

    Raises:
        RedisError: the queue is unreachable (the row stays pending for the sweeper).
    """
    schedule(JOB, meeting_id, due, f"zoom meeting {meeting_id}")


def requeue(meeting_id: int, due: datetime | None = None) -> bool:
    from webapp.extensions import db
    from webapp.models import Meeting, utcnow
    from webapp.services import outbox

    try:
        queue(meeting_id, due)
    except RedisError as exc:
        log.warning("queue unavailable, zoom meeting %s stays pending: %s", meeting_id,
                    type(exc).__name__)
        return False
    outbox.mark_enqueued(db.session, Meeting, meeting_id, due or utcnow())
    db.session.commit()
    return True


def requeue_due() -> int:
    """Sweeper round: due Zoom runs whose job is lost, and runs whose worker died."""
    from webapp.extensions import db
    from webapp.services import meetings

    ids = meetings.due_ids(policy())
    db.session.commit()
    return sum(requeue(meeting_id) for meeting_id in ids)


def run_meeting(meeting_id: int) -> None:
    """RQ job (V3): one Zoom create, move or delete under its lease."""
    run_in_app(_run, meeting_id)


def _run(app: Flask, meeting_id: int) -> None:
    from webapp.extensions import db
    from webapp.services import meetings

    options = app_settings.settings_of(app).calendars

    def once():
        outcome = meetings.run_zoom(meeting_id, options.zoom, options.keyring, options.domain,
                                    policy(app), checkpoint=db.session.commit)
        commit_and_enqueue()  # the link releases the held mail, or an update (V4)
        return outcome

    outcome = once()
    if outcome.status == "not_due" and wait_until_due(outcome.due):
        outcome = once()
    if outcome.due is not None:
        requeue(meeting_id, outcome.due)
