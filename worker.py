"""RQ worker: `python worker.py` (queues and Redis from the app's configuration).

Besides the RQ work loop (with the scheduler, which runs delayed retries and org pauses), a
sweeper thread re-queues sync records every SYNC_SWEEP_INTERVAL seconds: pending ones whose job
may be lost, running ones whose lease ran out, parked ones whose connection works again (S1).
It reads the database only, so a flushed or restarted Redis loses nothing. Several workers each
sweep; that is harmless because a record runs only under its lease.
"""

import logging
import threading

from rq import Worker
from rq.serializers import JSONSerializer

from webapp.jobs import _worker_app, sweep_forever


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # Build the app once before forking work horses, so each job reuses it (STYLE 3.8).
    app = _worker_app()
    queue = app.extensions["rq_queue"]
    stop = threading.Event()
    sweeper = threading.Thread(target=sweep_forever, name="sync-sweeper", daemon=True,
                               args=(app, float(app.config["SYNC_SWEEP_INTERVAL"]), stop))
    sweeper.start()
    worker = Worker([queue], connection=queue.connection, serializer=JSONSerializer)
    try:
        worker.work(with_scheduler=True)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
