"""RQ worker: `python worker.py` (queues and Redis from the app's configuration).

Jobs run in this process, one after another (webapp/rq_worker.SyncWorker, RQ's SimpleWorker):
the app, its database pool, SQLAlchemy's compiled statements and the keep-alive HTTP sessions
to Salesforce serve every job, instead of a forked work horse building them afresh per job. A
job that hangs is still stopped after APO_RQ_JOB_TIMEOUT (RQ's SIGALRM death penalty runs in
this main thread), and a killed worker loses nothing: the record's lease runs out and the
sweeper hands it on (S4). Run several workers for more throughput.

Besides the work loop (with RQ's scheduler, which runs delayed retries and org pauses), a
sweeper thread re-queues the outbox's rows every SYNC_SWEEP_INTERVAL seconds (sync records,
e-mails and calendar writes; webapp/services/outbox.py): pending ones whose job may be lost,
running ones whose lease ran out, parked ones whose connection works again (S1, N5, K9).
It reads the database only, so a flushed or restarted Redis loses nothing. Several workers each
sweep; that is harmless because a record runs only under its lease. The sweeper thread and the
scheduler end with this process, even when it is killed with SIGKILL.
"""

import ctypes
import gc
import logging
import os
import signal
import threading

from rq.serializers import JSONSerializer

from webapp.jobs import worker_app
from webapp.jobs.sweeper import sweep_forever
from webapp.jobs.worker import SyncWorker

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: this (forked) process gets SIGTERM when worker.py dies, however it died."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # elsewhere RQ's scheduler notices its parent is gone on its own


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    app = worker_app()
    # What exists now (the app, every module, SQLAlchemy's mappers) lives as long as the
    # process: frozen out of the collector's sight, it is no longer walked by each full
    # collection, in the middle of whichever sync triggered it (S8; docs/performance.md).
    gc.freeze()
    queue = app.extensions["rq_queue"]
    # RQ's scheduler is a forked child of this process.
    os.register_at_fork(after_in_child=_die_with_parent)
    stop = threading.Event()
    sweeper = threading.Thread(target=sweep_forever, name="sync-sweeper", daemon=True,
                               args=(app, float(app.config["SYNC_SWEEP_INTERVAL"]), stop))
    sweeper.start()
    # A short maintenance interval: it is when this worker takes over the scheduler of a
    # killed one, whose lock has run out by then (RQ's default waits 10 minutes).
    worker = SyncWorker([queue], connection=queue.connection, serializer=JSONSerializer,
                        maintenance_interval=int(app.config["RQ_MAINTENANCE_INTERVAL"]))
    try:
        worker.work(with_scheduler=True)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
