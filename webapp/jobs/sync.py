"""Salesforce sync jobs (S1-S10): the enqueue helpers and the RQ entry point. Ids only."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import timedelta

from flask import Flask, current_app
from redis.exceptions import RedisError
from rq import RateLimit
from rq.rate_limit import RateLimitRegistry

from webapp import settings as app_settings
from webapp.extensions import db
from webapp.jobs import get_queue, run_in_app
from webapp.services.sync import run, sweeper
from webapp.services.sync import state as sync_state

log = logging.getLogger(__name__)


def enqueue_sync(sync_id: int, delay: float = 0, org_id: int | None = None,
                 stamped: bool = False) -> bool:
    """Queue one sync record after its transaction committed (S1), optionally ``delay`` later.

    Returns False when Redis is unreachable: the record stays pending in the database and the
    sweeper queues it later, so the booking that produced it is never affected (S2, F5). No RQ
    Retry: the sync engine schedules its own retries with jitter (sync/state), and a job lost
    with a dead worker is found again by the sweeper through the record's lease.

    A job queued now stamps ``enqueued_at`` with one UPDATE in its own short transaction: the
    record is not loaded again and the caller's session is left as it is. ``stamped``: the
    caller stamped it in the record's own transaction (sync/state.stamp_enqueued), and the stamp
    is only taken back when Redis refuses the job.

    Fairness (S10): each organization's jobs pass RQ's per-key concurrency limit, so at most
    ``SYNC_ORG_CONCURRENCY`` of them are queued or running at once, the rest wait their turn in
    Redis. Another organization's new sync therefore waits behind a few jobs per busy
    organization, never behind a whole backlog, and one org's concurrent Salesforce calls stay
    under that cap across every worker. A job that gets a slot at once (its org is below the
    cap) goes to the front, and jobs that waited for a slot go to the back when promoted: a
    quiet org's booking does not even wait for the busy orgs' turns. Below the cap rather than
    at zero: an org's previous job keeps its slot for a moment after its record is final, and
    a booking made in that moment went behind the backlog. ``org_id`` saves a lookup when the
    caller knows it.
    """
    config = current_app.config
    # result_ttl=0: the job returns nothing worth keeping (the record holds the outcome), and
    # RQ then skips storing a result stream per job.
    options = dict(job_timeout=int(config["RQ_JOB_TIMEOUT"]), failure_ttl=config["RQ_FAILURE_TTL"],
                   result_ttl=0, description=f"sync record {sync_id}")
    if org_id is None:
        org_id = sync_state.organization_of(sync_id)
    try:
        if org_id is not None:
            options["rate_limit"] = limit = RateLimit(f"apo-sync-org-{org_id}",
                                                      app_settings.current().sync.org_concurrency)
            options["at_front"] = not delay and RateLimitRegistry(
                limit.key, get_queue().connection).get_allowed_job_count() < limit.concurrency
        if delay and delay > 0:
            get_queue().enqueue_in(timedelta(seconds=delay), "webapp.jobs.sync.run_sync_record",
                                   sync_id, **options)
        else:
            get_queue().enqueue("webapp.jobs.sync.run_sync_record", sync_id, **options)
    except RedisError as exc:
        log.warning("queue unavailable, sync %s stays pending: %s", sync_id, type(exc).__name__)
        if stamped:
            sync_state.clear_enqueued(sync_id)  # the sweeper's next round queues it (S1)
        return False
    if not (delay and delay > 0) and not stamped:
        sync_state.mark_enqueued(sync_id)
    return True


def requeue_pending() -> int:
    """Enqueue every record the sweeper finds (S1, S4, S6); returns how many were queued."""
    from webapp.services.outbox import Kind

    ids = sweeper.pending_ids(app_settings.current().outbox[Kind.SYNC])
    db.session.commit()
    return enqueue_all(ids)


def enqueue_all(sync_ids: list[int], org_id: int | None = None) -> int:
    """Queue records made pending by a committed transaction; returns how many were queued."""
    return sum(1 for sync_id in sync_ids if enqueue_sync(sync_id, org_id=org_id))


def run_sync_record(sync_id: int) -> None:
    """RQ job: run one sync record inside its own app context; queue follow-ups after commit."""
    run_in_app(_run_sync_job, sync_id)


def _run_sync_job(app: Flask, sync_id: int) -> None:
    settings = app_settings.settings_of(app)
    with _rows_kept_on_commit():
        outcome = run.run_sync(sync_id, settings.sync, settings.salesforce,
                               checkpoint=db.session.commit)
        db.session.commit()
    for follow_up, delay in outcome.follow_ups:
        enqueue_sync(follow_up, delay)


@contextmanager
def _rows_kept_on_commit():
    """The job's commits (its checkpoints) keep the rows it loaded instead of expiring them.

    Expired rows would be read again after every checkpoint (S8; docs/performance.md).
    Nothing is lost by keeping them: the sync record is ours while we hold its lease, and
    its final write is conditional on our lease token (sync/state.settle); the booking, page
    and connection are this run's inputs, and a change to the booking gets a sync record of its
    own that runs after this one (S7). Afterwards the session expires everything as before.
    """
    session = db.session()
    previous, session.expire_on_commit = session.expire_on_commit, False
    try:
        yield
    finally:
        session.expire_on_commit = previous
        session.expire_all()
