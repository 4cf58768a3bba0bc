"""worker.py's RQ worker class (S8): RQ's SimpleWorker minus the repeated bookkeeping per job.

Real Redis. The jobs themselves, timeouts and kills are in test_jobs_sync_faults.py and
test_jobs_outbox_faults.py.
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


# ----- the library internals the code relies on, pinned --------------------------------------
# Each test fails on an RQ or SQLAlchemy upgrade that changes what the code above and in
# services/sync/state.py depends on, instead of letting the upgrade pass silently.
def test_rq_still_calls_the_overridden_methods_with_the_arguments_they_expect():
    import inspect as signatures

    from rq import SimpleWorker

    for name, expected in (("heartbeat", ["self", "timeout", "pipeline"]),
                           ("set_state", ["self", "state", "pipeline"])):
        assert list(signatures.signature(getattr(SimpleWorker, name)).parameters) == expected
    assert callable(SimpleWorker.get_state)
    # worker.py passes maintenance_interval: how soon a new worker takes over the scheduler.
    assert "maintenance_interval" in signatures.signature(SimpleWorker.__init__).parameters


def test_take_changes_writes_nothing_twice_and_leaves_the_row_clean(app):
    """sync/state.settle writes a row's changes itself: SQLAlchemy's state API must still
    report them and then treat them as flushed (no second UPDATE at the commit)."""
    from sqlalchemy import event, inspect

    from tests.factories import make_org
    from webapp.extensions import db
    from webapp.services.sync.state import _take_changes

    org = make_org()
    db.session.commit()
    org.name = "変更後"
    values = _take_changes(org)
    assert [(column.name, value) for column, value in values.items()] == [("name", "変更後")]
    assert not inspect(org).modified
    statements = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    db.session.commit()
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE")]


def test_rows_are_kept_across_a_sync_jobs_commits(app):
    """jobs/sync._rows_kept_on_commit: a commit inside it leaves loaded rows readable without
    a new SELECT; afterwards the session expires everything again."""
    from sqlalchemy import event

    from tests.factories import make_org
    from webapp.extensions import db
    from webapp.jobs.sync import _rows_kept_on_commit

    org = make_org()
    db.session.commit()
    org_id = org.id
    statements = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    with _rows_kept_on_commit():
        name = db.session.get(type(org), org_id).name
        db.session.commit()
        before = len(statements)
        assert org.name == name and len(statements) == before  # no reload after the commit
    db.session.commit()
    before = len(statements)
    assert org.name == name and len(statements) == before + 1  # expired again: one SELECT
