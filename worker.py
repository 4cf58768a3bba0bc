"""RQ worker: `python worker.py` (queues and Redis from the app's configuration).

Besides the RQ work loop (with the scheduler, which runs delayed retries and org pauses), a
sweeper process re-queues sync records every SYNC_SWEEP_INTERVAL seconds: pending ones whose job
may be lost, running ones whose lease ran out, parked ones whose connection works again (S1).
It reads the database only, so a flushed or restarted Redis loses nothing. Several workers each
sweep; that is harmless because a record runs only under its lease.

The sweeper is a spawned process, not a thread: the worker forks a work horse per job, and a
fork taken while a thread holds a SQLite or pool lock leaves the horse deadlocked.
"""

import logging
import multiprocessing

from rq import Worker
from rq.serializers import JSONSerializer

from webapp.jobs import _worker_app, sweep_process


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Build the app once before forking work horses, so each job reuses it (STYLE 3.8).
    app = _worker_app()
    queue = app.extensions["rq_queue"]
    sweeper = multiprocessing.get_context("spawn").Process(
        target=sweep_process, args=(float(app.config["SYNC_SWEEP_INTERVAL"]),),
        name="sync-sweeper", daemon=True)
    sweeper.start()
    worker = Worker([queue], connection=queue.connection, serializer=JSONSerializer)
    try:
        worker.work(with_scheduler=True)
    finally:
        sweeper.terminate()


if __name__ == "__main__":
    main()
