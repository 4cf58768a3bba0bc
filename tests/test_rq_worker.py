"""worker.py's RQ worker class (S8): RQ's SimpleWorker minus the repeated bookkeeping per job.

Real Redis. The jobs themselves, timeouts and kills are in test_jobs_sync_faults.py.
"""

from __future__ import annotations

from rq import Queue

from webapp.jobs.worker import HEARTBEAT_EVERY, SyncWorker


def _worker(redis_conn) -> SyncWorker:
    worker = SyncWorker([Queue("apo-test-worker", connection=redis_conn)], connection=redis_conn)
    worker.register_birth()
    return worker


def test_S8_the_worker_heartbeat_goes_out_at_most_every_few_seconds(redis_conn):
    worker = _worker(redis_conn)
    worker.heartbeat()
    first = redis_conn.hget(worker.key, "last_heartbeat")
    worker.heartbeat()  # a job later: within HEARTBEAT_EVERY, nothing is sent
    assert redis_conn.hget(worker.key, "last_heartbeat") == first
    worker._beat_at -= HEARTBEAT_EVERY
    worker.heartbeat()
    assert redis_conn.hget(worker.key, "last_heartbeat") != first
    # The key still outlives the throttle many times over: a live worker never looks dead.
    assert redis_conn.ttl(worker.key) > 10 * HEARTBEAT_EVERY


def test_S8_the_worker_state_is_sent_when_it_changes(redis_conn):
    worker = _worker(redis_conn)
    worker.set_state("busy")
    assert redis_conn.hget(worker.key, "state") == b"busy"
    worker.set_state("idle")
    assert redis_conn.hget(worker.key, "state") == b"idle"
    redis_conn.hset(worker.key, "state", "marker")
    worker.set_state("idle")  # unchanged: not sent again
    assert redis_conn.hget(worker.key, "state") == b"marker"
