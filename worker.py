"""RQ worker: `python worker.py` (queues and Redis from the app's configuration)."""

import logging

from rq import Worker
from rq.serializers import JSONSerializer

from webapp.jobs import _worker_app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # Build the app once before forking work horses, so each job reuses it (STYLE 3.8).
    app = _worker_app()
    queue = app.extensions["rq_queue"]
    worker = Worker([queue], connection=queue.connection, serializer=JSONSerializer)
    worker.work(with_scheduler=True)


if __name__ == "__main__":
    main()
