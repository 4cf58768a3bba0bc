"""The RQ worker class that worker.py runs: RQ's SimpleWorker, with less bookkeeping per job.

SimpleWorker runs each job in this process (no fork per job), so the app, its database pool
and the keep-alive HTTP sessions serve every job (S8). Per job RQ also sent the worker's
heartbeat twice (three Redis commands each) and its idle state twice, though the worker's key
lives for minutes; here a heartbeat outside a pipeline goes out at most every
``HEARTBEAT_EVERY`` seconds and an unchanged state is not sent again. The job's own heartbeat,
its registries and its rate-limit slot (S10) are RQ's, untouched.
"""

from __future__ import annotations

import time

from redis.client import Pipeline
from rq import SimpleWorker

HEARTBEAT_EVERY = 10.0  # seconds; the worker key's TTL is worker_ttl + 60 (480 s by default)


class SyncWorker(SimpleWorker):
    _beat_at = float("-inf")

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None):
        if pipeline is None and timeout is None:
            if time.monotonic() - self._beat_at < HEARTBEAT_EVERY:
                return
            self._beat_at = time.monotonic()
        super().heartbeat(timeout, pipeline)

    def set_state(self, state: str, pipeline: Pipeline | None = None):
        if pipeline is None and state == self.get_state():
            return
        super().set_state(state, pipeline)
