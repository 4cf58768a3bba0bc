"""Run the queued sync jobs in one burst worker under cProfile, counting CPU time only.

Used by ``bench_sync.py --cprofile FILE``: the worker is the one ``worker.py`` runs (RQ's
SimpleWorker on the app built once per process), minus the sweeper and scheduler, so the
profile holds what one job costs and nothing else. Timer: ``time.process_time``, so waiting on
Salesforce, PostgreSQL or Redis counts for nothing.
"""

from __future__ import annotations

import cProfile
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rq.serializers import JSONSerializer  # noqa: E402

from webapp.jobs import worker_app  # noqa: E402
from webapp.jobs.worker import SyncWorker  # noqa: E402


def main(path: str) -> None:
    """Work off the queue, then print the loop's CPU seconds; ``path`` "-" runs unprofiled."""
    queue = worker_app().extensions["rq_queue"]
    gc.freeze()  # as worker.py does once the app is built
    worker = SyncWorker([queue], connection=queue.connection, serializer=JSONSerializer)
    profile = cProfile.Profile(time.process_time) if path != "-" else None
    began = time.process_time()
    if profile:
        profile.enable()
    worker.work(burst=True, logging_level="WARNING")
    if profile:
        profile.disable()
        profile.dump_stats(path)
    print(time.process_time() - began)


if __name__ == "__main__":
    main(sys.argv[1])
