"""RQ entry points for calendars (K3, K4, K5): ids only; the rules live in services/calendars."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, current_app
from redis.exceptions import RedisError
from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from webapp.jobs import get_queue, run_in_app

log = logging.getLogger(__name__)
RETRY = Retry(max=3, interval=[15, 60, 300])


def options(app: Flask | None = None):
    """The calendar part of the app's settings object (webapp/settings.py)."""
    from webapp import settings

    return settings.settings_of(app or current_app._get_current_object()).calendars


def _enqueue(function: str, *args, description: str, job_id: str | None = None) -> bool:
    """Queue a job after the commit. With `job_id`, a job still waiting or running under that
    id is enough: the sweeper's polling rounds must not pile up syncs of a slow calendar."""
    queue = get_queue()
    try:
        if job_id and _pending(queue, job_id):
            return False
        queue.enqueue(f"webapp.jobs.calendars.{function}", *args, retry=RETRY,
                      job_timeout=int(current_app.config["RQ_JOB_TIMEOUT"]),
                      description=description, job_id=job_id)
    except RedisError as exc:
        # The pending rows stay in the database; the sweeper queues them again.
        log.warning("queue unavailable for %s: %s", description, type(exc).__name__)
        return False
    return True


def _pending(queue, job_id: str) -> bool:
    try:
        job = Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in (JobStatus.QUEUED, JobStatus.STARTED,
                                             JobStatus.SCHEDULED, JobStatus.DEFERRED)


def enqueue_calendar_writes(booking_id: int) -> bool:
    """After the commit that planned the writes (K4); nothing to queue without a pending
    write (a member without a receiving calendar)."""
    from webapp.services.calendars import writeback

    if not writeback.pending_write_ids(booking_id):
        return False
    return _enqueue("write_booking_to_calendars", booking_id,
                    description=f"calendar write-back of booking {booking_id}")


def enqueue_calendar_sync(connection_id: int) -> bool:
    return _enqueue("sync_calendar_connection", connection_id,
                    description=f"calendar sync of connection {connection_id}",
                    job_id=f"apo-calendar-sync-{connection_id}")


def enqueue_salesforce_busy(org_id: int) -> bool:
    return _enqueue("sync_salesforce_busy", org_id,
                    description=f"Salesforce busy times of organization {org_id}",
                    job_id=f"apo-salesforce-busy-{org_id}")


def enqueue_due() -> int:
    """The polling round (worker.py's sweeper): every calendar not synced within the poll
    interval, every org with Salesforce busy times on, and write-backs a lost job left."""
    from webapp.extensions import db
    from webapp.services.calendars import salesforce_busy, sync, writeback

    opts = options()
    connection_ids = sync.due_connection_ids(opts)
    org_ids = salesforce_busy.due_org_ids(opts.poll_interval)
    booking_ids = writeback.stale_booking_ids(timedelta(minutes=5))
    db.session.commit()
    queued = sum(enqueue_calendar_sync(cid) for cid in connection_ids)
    queued += sum(enqueue_salesforce_busy(oid) for oid in org_ids)
    return queued + sum(enqueue_calendar_writes(bid) for bid in booking_ids)


def write_booking_to_calendars(booking_id: int) -> None:
    """RQ job (K4): run the booking's pending writes in order; a transient failure raises so
    RQ retries (the remaining writes stay pending)."""
    run_in_app(_write_booking, booking_id)


def _write_booking(app: Flask, booking_id: int) -> None:
    from webapp.extensions import db
    from webapp.models import CalendarWrite
    from webapp.services.calendars import writeback

    for write_id in writeback.pending_write_ids(booking_id):
        try:
            writeback.run_write(db.session.get(CalendarWrite, write_id), options(app))
        finally:
            db.session.commit()


def sync_calendar_connection(connection_id: int) -> None:
    """RQ job (K3): one incremental sync of one member's connection."""
    run_in_app(_sync_connection, connection_id)


def _sync_connection(app: Flask, connection_id: int) -> None:
    from webapp.extensions import db
    from webapp.models import CalendarConnection
    from webapp.services.calendars import sync

    connection = db.session.get(CalendarConnection, connection_id)
    if connection is not None:
        sync.sync_connection(connection, options(app))
        db.session.commit()


def sync_salesforce_busy(org_id: int) -> None:
    """RQ job (K5): Events changed since the last poll block their owners' slots."""
    run_in_app(_sync_salesforce, org_id)


def _sync_salesforce(app: Flask, org_id: int) -> None:
    from webapp import settings
    from webapp.extensions import db
    from webapp.services.calendars import salesforce_busy

    salesforce_busy.sync_org(org_id, options(app), settings.settings_of(app).salesforce)
    db.session.commit()
