"""RQ jobs: thin entry points that take ids, and the enqueue helpers beside them.

The rules live in services/; each module here is one pipeline (``sync``: Salesforce, ``mail``:
booking e-mails, ``calendars``: busy times and write-back), ``sweeper`` is the worker's thread
that finds work a lost job left behind, and ``worker`` is the RQ worker class ``worker.py`` runs.
This module holds what they share: the queue on the app, and the app of a worker process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache

from flask import Flask, current_app, has_app_context
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer


def init_app(app: Flask) -> None:
    """Keep a lazily-connecting queue on the app; building it does no I/O."""
    connection = Redis.from_url(
        app.config["REDIS_URL"],
        socket_connect_timeout=app.config["REDIS_SOCKET_TIMEOUT"],
        socket_timeout=app.config["REDIS_SOCKET_TIMEOUT"],
    )
    app.extensions["rq_queue"] = Queue(
        app.config["RQ_QUEUE"], connection=connection, serializer=JSONSerializer
    )


def get_queue() -> Queue:
    return current_app.extensions["rq_queue"]


@lru_cache(maxsize=1)
def worker_app() -> Flask:
    """The app of this worker process, built once: its engine pool and caches serve every job."""
    from webapp import create_app

    app = create_app()
    app.extensions["apo_pid"] = os.getpid()
    return app


def run_in_app(function: Callable[..., None], *args) -> None:
    """Run ``function(app, *args)`` for one RQ job inside its own app context.

    Called inside an existing app context (tests, `flask` shell), it runs in that app.
    """
    if has_app_context():
        function(current_app._get_current_object(), *args)
        return
    app = worker_app()
    with app.app_context():
        if app.extensions.get("apo_pid") != os.getpid():
            # A forked process must not reuse the parent's pooled connections (SQLAlchemy
            # "Using Connection Pools with Multiprocessing").
            from webapp.extensions import db

            db.engine.dispose(close=False)
            app.extensions["apo_pid"] = os.getpid()
        function(app, *args)


# An RQ job scheduled for a due time may start up to a second early (RQ rounds scheduled times
# to whole seconds): a job that starts this close before its row is due waits for it instead
# of leaving the row to the sweeper; further off, it schedules itself again.
EARLY_START_WAIT = 5.0


def job_options(description: str, **extra) -> dict:
    """The options every outbox job is queued with (the row, not RQ, keeps the outcome)."""
    config = current_app.config
    return dict(job_timeout=int(config["RQ_JOB_TIMEOUT"]), failure_ttl=config["RQ_FAILURE_TTL"],
                result_ttl=0, description=description, **extra)


def schedule(function: str, row_id: int, due, description: str) -> None:
    """Queue ``function(row_id)`` now, or at ``due`` when that is in the future.

    Raises:
        RedisError: the queue is unreachable; the caller leaves the row to the sweeper.
    """
    from datetime import UTC, datetime

    queue = get_queue()
    options = job_options(description)
    if due is not None and due > datetime.now(UTC):
        queue.enqueue_at(due, function, row_id, **options)
    else:
        queue.enqueue(function, row_id, **options)


def wait_until_due(due) -> bool:
    """Sleep until ``due`` if it is at most EARLY_START_WAIT away; False when it is further."""
    import time
    from datetime import UTC, datetime

    left = (due - datetime.now(UTC)).total_seconds()
    if left > EARLY_START_WAIT:
        return False
    time.sleep(max(left, 0) + 0.05)
    return True


def enqueue_after_commit(handles) -> int:
    """Queue the work a request committed (services/outbox.Handle: kind, id, due), sync first.

    The rows were stamped in the committed transaction, so nothing is read back here. When
    Redis refuses, the rest is un-stamped in one short transaction and the sweeper queues it
    (S1, S2, N5, K4): the customer waits on a dead Redis only once.
    """
    from redis.exceptions import RedisError

    from webapp.jobs import calendars, mail, meetings, sync
    from webapp.services.outbox import Kind

    queued = 0
    for index, handle in enumerate(handles):
        try:
            if handle.kind == Kind.SYNC:
                if not sync.enqueue_sync(handle.id, org_id=handle.org_id, stamped=True):
                    raise RedisError("sync not queued")
            elif handle.kind == Kind.MAIL:
                mail.queue(handle.id, handle.due)
            elif handle.kind == Kind.MEETING:
                meetings.queue(handle.id, handle.due)
            else:
                calendars.queue(handle.id, handle.due)
        except RedisError:
            _unstamp(handles[index:])
            return queued
        queued += 1
    return queued


def _unstamp(handles) -> None:
    from sqlalchemy.orm import Session

    from webapp.extensions import db
    from webapp.models import CalendarWrite, Meeting, OutboxMessage, SyncRecord
    from webapp.services import outbox

    models = {outbox.Kind.SYNC: SyncRecord, outbox.Kind.MAIL: OutboxMessage,
              outbox.Kind.CALENDAR: CalendarWrite, outbox.Kind.MEETING: Meeting}
    with Session(db.engine) as session:
        for kind, model in models.items():
            outbox.unstamp(session, model, [h.id for h in handles if h.kind == kind], "pending")
        session.commit()


def commit_and_enqueue() -> int:
    """A job's own commit when its work added rows of other work (a meeting link that
    releases held mail, V4): stamp them, commit, then queue them, as a request does."""
    from webapp.extensions import db
    from webapp.services import outbox

    handles = outbox.stamp_tracked(db.session)
    db.session.commit()
    return enqueue_after_commit(handles) if handles else 0
