"""RQ entry points for calendars (K3, K4, K5): ids only; the rules live in services/calendars."""

from __future__ import annotations

import logging

from flask import Flask, current_app
from redis.exceptions import RedisError
from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from webapp.jobs import commit_and_enqueue, get_queue, run_in_app, schedule, wait_until_due

log = logging.getLogger(__name__)
# Reading calendars (K3, K5) is safe to repeat; RQ retries a failed poll a little later. Writes
# are not RQ-retried: each write row carries its own retry (services/outbox.py).
POLL_RETRY = Retry(max=2, interval=[15, 60])
WRITE_JOB = "webapp.jobs.calendars.run_calendar_write"


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
        queue.enqueue(f"webapp.jobs.calendars.{function}", *args, retry=POLL_RETRY,
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


def policy(app: Flask | None = None):
    from webapp import settings
    from webapp.services.outbox import Kind

    return settings.settings_of(app or current_app._get_current_object()).outbox[Kind.CALENDAR]


def queue(write_id: int, due=None) -> None:
    """Queue one calendar write (K4), now or at its due time.

    Raises:
        RedisError: the queue is unreachable (the row stays pending for the sweeper).
    """
    schedule(WRITE_JOB, write_id, due, f"calendar write {write_id}")


def requeue(write_id: int, due=None) -> bool:
    """Queue a write again (a retry, the sweeper) and stamp it; False when Redis is down."""
    from webapp.extensions import db
    from webapp.models import CalendarWrite, utcnow
    from webapp.services import outbox

    try:
        queue(write_id, due)
    except RedisError as exc:
        log.warning("queue unavailable, calendar write %s stays pending: %s", write_id,
                    type(exc).__name__)
        return False
    outbox.mark_enqueued(db.session, CalendarWrite, write_id, due or utcnow())
    db.session.commit()
    return True


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
    interval, every org with Salesforce busy times on, writes waiting on a connection that
    works again (K9), and due writes whose job is lost (a killed worker, a Redis outage)."""
    from webapp.extensions import db
    from webapp.services.calendars import salesforce_busy, sync, writeback

    opts = options()
    connection_ids = sync.due_connection_ids(opts)
    org_ids = salesforce_busy.due_org_ids(opts.fast_poll_interval)
    writeback.resume_waiting()
    write_ids = writeback.due_write_ids(policy())
    db.session.commit()
    queued = sum(enqueue_calendar_sync(cid) for cid in connection_ids)
    queued += sum(enqueue_salesforce_busy(oid) for oid in org_ids)
    return queued + sum(requeue(write_id) for write_id in write_ids)


def run_calendar_write(write_id: int) -> None:
    """RQ job (K4): one write under its lease; a retry or an early start queues it again."""
    run_in_app(_run_write, write_id)


def _run_write(app: Flask, write_id: int) -> None:
    from webapp.extensions import db
    from webapp.services.calendars import writeback

    outcome = writeback.run_write(write_id, options(app), policy(app),
                                  checkpoint=db.session.commit)
    commit_and_enqueue()  # a meeting link may release mail or add writes (V2, V4)
    if outcome.status == "not_due" and wait_until_due(outcome.due):
        outcome = writeback.run_write(write_id, options(app), policy(app),
                                      checkpoint=db.session.commit)
        commit_and_enqueue()
    if outcome.due is not None:
        requeue(write_id, outcome.due)


def sync_calendar_connection(connection_id: int) -> None:
    """RQ job (K3): one incremental sync of one member's connection."""
    run_in_app(_sync_connection, connection_id)


def _sync_connection(app: Flask, connection_id: int) -> None:
    from webapp.extensions import db
    from webapp.models import CalendarConnection, CalendarStatus
    from webapp.services.calendars import push, sync, writeback

    connection = db.session.get(CalendarConnection, connection_id)
    if connection is not None:
        sync.sync_connection(connection, options(app))
        db.session.commit()
        if connection.status != CalendarStatus.BROKEN.value:
            # K8: keep the push channels open; polling stays the safety net.
            push.ensure(connection, options(app), app.config.get("BASE_URL") or "")
            db.session.commit()
        if connection.status != CalendarStatus.BROKEN.value and writeback.resume_waiting(
                connection_id):  # K9: it works again, so the writes it held back run now
            db.session.commit()
            requeue_resumed(connection_id)


def sync_salesforce_busy(org_id: int) -> None:
    """RQ job (K5): Events changed since the last poll block their owners' slots."""
    run_in_app(_sync_salesforce, org_id)


def _sync_salesforce(app: Flask, org_id: int) -> None:
    from webapp import settings
    from webapp.extensions import db
    from webapp.services.calendars import salesforce_busy

    salesforce_busy.sync_org(org_id, options(app), settings.settings_of(app).salesforce)
    db.session.commit()


def requeue_resumed(connection_id: int) -> int:
    """Queue the writes a connection's recovery made pending again, without waiting for the
    sweeper's round."""
    from webapp.extensions import db
    from webapp.services.calendars import writeback

    ids = writeback.due_write_ids(policy(), connection_id=connection_id)
    db.session.commit()
    return sum(requeue(write_id) for write_id in ids)
