"""The worker's sweeper thread: finds the work that a lost job or a Redis outage left behind."""

from __future__ import annotations

import logging
import threading

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from webapp.jobs import calendars, get_queue, mail, meetings, sync

log = logging.getLogger(__name__)


def sweep_forever(app: Flask, interval: float, stop: threading.Event) -> None:
    """The worker's sweeper: requeue, then wait ``interval`` seconds, until ``stop`` is set.

    worker.py runs it as a thread of its own process: it shares the app built once (a process
    of its own imported and built a second app, seconds of CPU per worker start) and it ends
    with the worker however that ends, SIGKILL included. RQ's death penalty (SIGALRM) only
    interrupts the main thread, so a job timeout never lands in a sweep.
    """
    while not stop.wait(interval):
        with app.app_context():
            try:
                count = sync.requeue_pending() + mail.requeue_messages()  # S1, N5
                count += calendars.enqueue_due()  # calendar polling, K3 and K5
                count += meetings.requeue_due()  # Zoom meetings (V3)
                # Free the org slots (S10) of jobs whose worker died mid-run, once they expire.
                get_queue().started_job_registry.cleanup()
            except (SQLAlchemyError, RedisError) as exc:
                # A locked or unreachable database must not end the loop; the next round retries.
                log.warning("sweeper round failed: %s", type(exc).__name__)
                continue
            if count:
                log.info("sweeper queued %s sync record(s), message(s) and calendar job(s)", count)
