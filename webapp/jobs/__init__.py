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
