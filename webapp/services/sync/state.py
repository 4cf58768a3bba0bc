"""Sync record life cycle: lease, retry with backoff and jitter, org pause, park, finish (S4-S6).

The database is the source of truth; Redis only carries "look at record N". Every transition
here is a plain UPDATE the caller commits. The lease is taken with one conditional UPDATE, so two
workers handed the same record (duplicate enqueue, sweeper plus retry) never run it together.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, inspect, or_, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from webapp.extensions import db
from webapp.models import (
    FINAL_SYNC_STATUSES,
    SyncPause,
    SyncRecord,
    SyncStatus,
    utcnow,
)
from webapp.services import outbox

PENDING, RUNNING = SyncStatus.PENDING.value, SyncStatus.RUNNING.value
WAITING = SyncStatus.WAITING_RECONNECT.value
_UNFINISHED = (PENDING, RUNNING, WAITING)


class LeaseLost(Exception):
    """Another worker holds the record's lease now: this attempt must stop writing (S4)."""


@dataclass(frozen=True)
class Claim:
    """The result of trying to take a record: ``record`` when this worker holds the lease."""

    record: SyncRecord | None
    why: str = ""  # taken | not_due | waiting_for_earlier | paused
    retry_in: float | None = None
    beside: tuple = ()  # the rows asked for with ``beside``, each None when there is none
    token: str = ""  # our lease token, for settle()


# One alias for every claim: a new one per call made SQLAlchemy adapt its columns and build
# the statement's cache key afresh (S8; docs/performance.md).
_EARLIER = aliased(SyncRecord)
_TABLE = SyncRecord.__table__


def claim(sync_id: int, lease_seconds: float, load: tuple = (), beside: tuple = ()) -> Claim:
    """Take the lease on a pending record, or on a running one whose lease ran out (S4).

    Records of one booking run in order (S7): a later one waits while an earlier one is
    unfinished. An organization paused by REQUEST_LIMIT_EXCEEDED defers the record (S5).
    ``load`` holds loader options for what the caller will read next, and ``beside`` pairs of
    (entity, on clause) outer-joined to the record: the record, both checks and those rows come
    in one query (S8). Everything is read from the database even when the session holds it
    already: the record's status decides the lease, and the options apply only to a real load.
    """
    now = utcnow()
    earlier = _EARLIER
    query = select(
        SyncRecord,
        # An earlier unfinished record of the same booking (S7), and the org's pause (S5).
        select(earlier.id).where(
            earlier.booking_id == SyncRecord.booking_id, earlier.id < SyncRecord.id,
            earlier.status.in_(_UNFINISHED)).limit(1).scalar_subquery(),
        select(SyncPause.paused_until).where(
            SyncPause.organization_id == SyncRecord.organization_id).scalar_subquery(),
        *(entity for entity, _ in beside))
    for entity, on in beside:
        query = query.outerjoin(entity, on)
    row = db.session.execute(query.where(SyncRecord.id == sync_id).options(*load)
                             .execution_options(populate_existing=True)).unique().first()
    if row is None:
        return Claim(None, "not_due")
    record, earlier_id, paused_until, *rows = row
    if record.status not in (PENDING, RUNNING):
        return Claim(None, "not_due")
    if earlier_id is not None:
        return Claim(None, "waiting_for_earlier")
    if paused_until is not None and paused_until > now and record.status == PENDING:
        record.next_attempt_at = record.enqueued_at = paused_until
        return Claim(None, "paused", (paused_until - now).total_seconds())
    token, lease_until = outbox.new_lease(now, lease_seconds)
    # The attempts we read are part of the condition: the values written are then known here
    # and the record needs no second read.
    taken = db.session.execute(
        update(SyncRecord)
        .where(SyncRecord.id == sync_id, SyncRecord.attempts == record.attempts, or_(
            SyncRecord.status == PENDING,
            and_(SyncRecord.status == RUNNING, SyncRecord.lease_until < now)))
        .values(status=RUNNING, lease_until=lease_until, lease_token=token,
                attempts=record.attempts + 1, updated_at=now)
        .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        return Claim(None, "taken")
    for key, value in (("status", RUNNING), ("lease_until", lease_until), ("lease_token", token),
                       ("attempts", record.attempts + 1), ("updated_at", now)):
        set_committed_value(record, key, value)
    return Claim(record, beside=tuple(rows), token=token)


def settle(record: SyncRecord, token: str, beside: tuple = ()) -> bool:
    """Write the record's changes if this worker still holds its lease; False when it does not.

    The lease may have run out while Salesforce hung and another worker own the record now:
    the UPDATE is conditional on our lease ``token`` (the claim's, not the record's attribute,
    which a reload would have replaced), so the check and the write are one statement and
    nothing can take the lease between them (S4). On False the caller rolls back: an autoflush
    may have written some of the record's changes already, in the same transaction.
    ``beside``: rows the attempt changed with the record (its booking), written first by
    primary key. These are plain UPDATEs on the session's connection: neither the record nor
    those rows are read again, and the ORM's unit of work is not run for them (S8).
    """
    # What else the attempt changed (the API usage, the user cache) flushes with the commit.
    connection = db.session.connection()
    for row in beside:
        values = _take_changes(row)
        if values:
            table = row.__table__
            connection.execute(update(table).where(table.c.id == row.id).values(values))
    values = _take_changes(record) or {_TABLE.c.updated_at: utcnow()}
    written = connection.execute(update(_TABLE).where(
        _TABLE.c.id == record.id, _TABLE.c.lease_token == token).values(values))
    return written.rowcount == 1


def _take_changes(row) -> dict:
    """The row's changed column values, now marked as written (the next flush skips them)."""
    state = inspect(row)
    columns = state.mapper.column_attrs
    changed = set(state.attrs.keys()) - state.unmodified
    written = changed & set(columns.keys())
    values = {columns[key].columns[0]: state.attrs[key].value for key in written}
    if changed == written:
        # What SQLAlchemy does to a row after flushing it: every attribute committed and the
        # row no longer "modified". set_committed_value alone left that flag on, and the next
        # commit ran a whole flush for a row with nothing to write (S8).
        state._commit_all(state.dict, db.session.identity_map)
    else:
        for key in written:
            set_committed_value(row, key, state.attrs[key].value)
    return values


def finish(record: SyncRecord, status: str, error: dict | None = None) -> None:
    """Put the record in a final status (or waiting); the error dict goes into the result."""
    record.status = status
    record.lease_until, record.next_attempt_at = None, None
    result = dict(record.result or {})
    if error is not None:
        result["error"] = error
        record.last_error = error.get("code") or "error"
    else:
        result.pop("error", None)
        record.last_error = ""
    record.result = result
    if status in FINAL_SYNC_STATUSES:
        record.finished_at = utcnow()


def schedule_retry(record: SyncRecord, intervals: list[float], error: dict) -> float | None:
    """Back to pending after the attempt's interval plus jitter; None when retries ran out.

    Jitter (up to +25 %) keeps workers from hammering a recovering Salesforce in lockstep.
    """
    if record.attempts > len(intervals):
        return None
    delay = float(intervals[record.attempts - 1]) * random.uniform(1.0, 1.25)
    _defer(record, delay)
    record.last_error = error.get("code") or "retry"
    record.result = {**(record.result or {}), "error": error}
    return delay


def pause_organization(record: SyncRecord, seconds: float, reason: str) -> float:
    """REQUEST_LIMIT_EXCEEDED: pause the org's syncs; this attempt is not counted (S5)."""
    until = utcnow() + timedelta(seconds=seconds)
    pause = db.session.get(SyncPause, record.organization_id)
    if pause is None:
        db.session.add(SyncPause(organization_id=record.organization_id, paused_until=until,
                                 reason=reason[:255]))
    else:
        pause.paused_until, pause.reason = max(pause.paused_until, until), reason[:255]
    record.attempts = max(record.attempts - 1, 0)
    record.last_error = "REQUEST_LIMIT_EXCEEDED"
    _defer(record, seconds)
    return seconds


def _defer(record: SyncRecord, seconds: float) -> None:
    at = utcnow() + timedelta(seconds=seconds)
    record.status, record.lease_until = PENDING, None
    # enqueued_at in the future keeps the sweeper off it until then (see sync/sweeper).
    record.next_attempt_at = record.enqueued_at = at


def park_organization(org_id: int) -> None:
    """要再連携: every pending sync of the org waits for a reconnect (S6)."""
    db.session.execute(update(SyncRecord)
                       .where(SyncRecord.organization_id == org_id, SyncRecord.status == PENDING)
                       .values(status=WAITING, lease_until=None)
                       .execution_options(synchronize_session=False))


def unpark_organization(org_id: int) -> list[int]:
    """After a reconnect: parked syncs are pending again; returns their ids to enqueue (S6)."""
    ids = list(db.session.scalars(select(SyncRecord.id).where(
        SyncRecord.organization_id == org_id, SyncRecord.status == WAITING)
        .order_by(SyncRecord.id)))
    if ids:
        db.session.execute(update(SyncRecord).where(SyncRecord.id.in_(ids))
                           .values(status=PENDING, enqueued_at=None, next_attempt_at=None)
                           .execution_options(synchronize_session=False))
        db.session.execute(update(SyncPause).where(SyncPause.organization_id == org_id)
                           .values(paused_until=utcnow()))
    return ids


def successors(record: SyncRecord) -> list[int]:
    """Pending syncs of the same booking that waited for this one (S7 order)."""
    return list(db.session.scalars(select(SyncRecord.id).where(
        SyncRecord.booking_id == record.booking_id, SyncRecord.id > record.id,
        SyncRecord.status == PENDING).order_by(SyncRecord.id)))


def organization_of(sync_id: int) -> int | None:
    """The record's organization, read by primary key (None when the record is gone)."""
    return db.session.scalar(select(SyncRecord.organization_id).where(SyncRecord.id == sync_id))


def stamp_enqueued(record: SyncRecord) -> None:
    """Stamp a record that its caller queues right after committing it (S1).

    The stamp commits with the record: the sweeper cannot queue it a second time in the moment
    between the commit and the enqueue, and no transaction of its own follows the booking's
    commit while the worker already claims the record. When the queue refuses the job,
    ``clear_enqueued`` takes the stamp back so that the sweeper's next round queues it.
    """
    record.enqueued_at = utcnow()


def clear_enqueued(sync_id: int) -> None:
    """Take back a stamp whose enqueue failed, in a short transaction of its own."""
    _set_enqueued_at(sync_id, None, SyncRecord.status == PENDING)


def mark_enqueued(sync_id: int) -> None:
    """Stamp a record handed to the queue just now, in a short transaction of its own.

    The sweeper re-queues a pending record only once this stamp is old (S1). One UPDATE by id:
    the record is not loaded, and the caller's session is left as it is.
    """
    _set_enqueued_at(sync_id, utcnow())


def _set_enqueued_at(sync_id: int, value, *where) -> None:
    with Session(db.engine) as session:
        session.execute(update(SyncRecord).where(SyncRecord.id == sync_id, *where)
                        .values(enqueued_at=value)
                        .execution_options(synchronize_session=False))
        session.commit()


def retry_failed(record: SyncRecord) -> None:
    """The admin's retry button: a failed sync starts over with fresh attempts (S3)."""
    record.status, record.attempts = PENDING, 0
    record.lease_until, record.next_attempt_at, record.finished_at = None, None, None
    record.enqueued_at = None
