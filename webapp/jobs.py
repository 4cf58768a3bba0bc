"""RQ entry points and enqueue helpers. Jobs take ids only; rules live in services/."""

from __future__ import annotations

import logging
from functools import lru_cache

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.serializers import JSONSerializer

log = logging.getLogger(__name__)


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


def enqueue_sync(sync_id: int) -> bool:
    """Queue one sync record after its transaction committed (S1).

    Returns False when Redis is unreachable: the record stays pending in the database and the
    sweeper queues it later, so the booking that produced it is never affected (S2, F5).
    """
    from webapp.extensions import db
    from webapp.models import SyncRecord, utcnow

    config = current_app.config
    try:
        get_queue().enqueue(
            "webapp.jobs.sync_booking",
            sync_id,
            job_timeout=config["RQ_JOB_TIMEOUT"],
            failure_ttl=config["RQ_FAILURE_TTL"],
            retry=Retry(max=len(config["SYNC_RETRY_INTERVALS"]),
                        interval=config["SYNC_RETRY_INTERVALS"]),
            description=f"sync record {sync_id}",
        )
    except RedisError as exc:
        log.warning("queue unavailable, sync %s stays pending: %s", sync_id, type(exc).__name__)
        return False
    record = db.session.get(SyncRecord, sync_id)
    if record is not None:
        record.enqueued_at = utcnow()
        db.session.commit()
    return True


def requeue_pending() -> int:
    """Enqueue every pending sync record the sweeper finds; returns how many were queued (S1)."""
    from webapp.services import sweeper

    return sum(1 for sync_id in sweeper.pending_ids() if enqueue_sync(sync_id))


@lru_cache(maxsize=1)
def _worker_app() -> Flask:
    from webapp import create_app

    return create_app()


def sync_booking(sync_id: int) -> None:
    """RQ job: run one sync record inside its own app context."""
    from webapp.extensions import db
    from webapp.services import sync

    with _worker_app().app_context():
        sync.run_sync(sync_id)
        db.session.commit()
