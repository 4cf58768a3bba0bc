"""One outbox protocol under the three pipelines: Salesforce sync (S1-S10), booking e-mails
(N5) and calendar writes (K4, K9).

A booking's transaction adds rows to a table of work (sync_records, outbox_messages,
calendar_writes); Redis only carries "look at row N". What the three share lives here:

- ``track``/``stamp_tracked``: the rows a request added are stamped as queued in the caller's
  own transaction, and come back as handles (kind, id, due time), so that after its one commit
  the request queues them without reading anything back (``webapp.jobs.enqueue_after_commit``);
- ``take_lease``: a claim under a lease, one conditional UPDATE with a fresh token: two jobs
  handed the same row (a duplicate enqueue, the sweeper beside a retry) never both run it;
- ``settled``: the closing UPDATE, conditional on that token (a worker whose lease ran out
  writes nothing);
- ``due_clause``: the sweeper's query for rows due and not queued recently (their job may be
  lost: Redis flushed, a worker killed, an early start), and ``lease_expired``;
- ``Policy``: per kind, the lease, the retry intervals, the staleness after which the sweeper
  queues a row again, and what an uncertain outcome means, read from the configuration.

Each pipeline keeps its own meaning of "done": a sync settles S4 and parks on a broken
connection (S6); a message is sent at most once and an uncertain send becomes ``unknown``
(N5); for a calendar the newest write per member wins, and a write waits while its connection
is broken and runs once it works again (K9).
"""

from __future__ import annotations

import enum
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, event, or_, update
from sqlalchemy.orm import Session

from webapp.models import utcnow


class Kind(str, enum.Enum):
    SYNC = "sync"
    MAIL = "mail"
    CALENDAR = "calendar"
    MEETING = "meeting"  # a Zoom meeting (V3); Meet and Teams ride on calendar writes


class Uncertain(str, enum.Enum):
    """What a lost answer (or a worker killed mid-call) means for a kind."""

    RETRY = "retry"  # the write is idempotent (an upsert by key, a PUT by UID): run it again
    UNKNOWN = "unknown"  # it may have happened and must not happen twice: ask a person (N5)


@dataclass(frozen=True)
class Policy:
    """How one kind of work is leased, retried and swept (README, Configuration)."""

    lease_seconds: float
    retry_intervals: tuple[float, ...]
    stale_seconds: float
    uncertain: Uncertain = Uncertain.RETRY
    give_up_seconds: float | None = None  # keep retrying at the last interval until then
    jitter: float = 0.0  # +- this fraction of each interval, so a recovered server is not
    #                      hit by every retry in the same second

    def retry_delay(self, attempts: int, first_attempt_at: datetime | None = None,
                    now: datetime | None = None) -> float | None:
        """Seconds until the next try after ``attempts`` tries, or None to give up.

        Without ``give_up_seconds`` the list is the whole budget; with it, the last interval
        repeats until that much time has passed since the first try.
        """
        intervals = self.retry_intervals or (60.0,)
        if attempts <= len(intervals):
            delay = intervals[attempts - 1]
        elif self.give_up_seconds is None:
            return None
        else:
            delay = intervals[-1]
        if self.give_up_seconds is not None and first_attempt_at is not None:
            if ((now or utcnow()) - first_attempt_at).total_seconds() > self.give_up_seconds:
                return None
        if self.jitter:
            delay *= 1 + random.uniform(-self.jitter, self.jitter)  # noqa: S311 - not secret
        return max(delay, 0.0)


@dataclass(frozen=True)
class Handle:
    """A row of work committed by the caller: what ``jobs.enqueue_after_commit`` queues."""

    kind: Kind
    id: int
    due: datetime | None = None  # None: now
    org_id: int | None = None


_TRACKED = "apo_outbox_rows"


def track(session, kind: Kind, rows) -> None:
    """Note rows of work added in this transaction; ``stamp_tracked`` stamps them."""
    session.info.setdefault(_TRACKED, []).extend((kind, row) for row in rows)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session) -> None:
    """Notes never outlive their transaction: committed without ``stamp_tracked`` (a script,
    a test), the rows wait for the sweeper; rolled back, they are gone."""
    session.info.pop(_TRACKED, None)


def stamp_tracked(session, now: datetime | None = None) -> list[Handle]:
    """Stamp the tracked rows as queued (``enqueued_at``, written with the caller's commit)
    and return their handles, sync first (it carries the customer's CRM record, S1).

    The stamp commits with the rows: the sweeper cannot queue one a second time between the
    commit and the enqueue. A row due later (a reminder) is stamped with its due time, so the
    sweeper leaves it to the queue's scheduler until then.
    """
    now = now or utcnow()
    tracked = session.info.pop(_TRACKED, [])
    session.flush()  # ids for the rows added since the last flush
    handles, seen = [], set()
    for kind, row in tracked:
        if (kind, row.id) in seen or row.status != _PENDING[kind]:
            continue
        seen.add((kind, row.id))
        due = due_at(kind, row)
        row.enqueued_at = max(due, now) if due else now
        handles.append(Handle(kind, row.id, due if due and due > now else None,
                              row.organization_id))
    order = {Kind.SYNC: 0, Kind.MAIL: 1, Kind.CALENDAR: 2, Kind.MEETING: 3}
    return sorted(handles, key=lambda h: order[h.kind])


_PENDING = {Kind.SYNC: "pending", Kind.MAIL: "pending", Kind.CALENDAR: "pending",
            Kind.MEETING: "pending"}


def due_at(kind: Kind, row) -> datetime | None:
    """When the row may run: a reminder's send time, a retry's next attempt; None for now."""
    return row.send_after if kind == Kind.MAIL else row.next_attempt_at


def new_lease(now: datetime, lease_seconds: float) -> tuple[str, datetime]:
    """A fresh lease token and its end."""
    return secrets.token_hex(8), now + timedelta(seconds=lease_seconds)


def take_lease(session, model, row_id: int, *, claimable, running: str, policy: Policy,
               now: datetime, **values) -> str | None:
    """Claim one row: a single conditional UPDATE that sets ``running`` with a new lease.

    ``claimable`` is the condition (pending and due, or running with its lease run out); the
    same statement bumps ``attempts`` and writes ``values``. Returns our token, or None when
    another run has the row or it is not claimable.
    """
    token, lease_until = new_lease(now, policy.lease_seconds)
    result = session.execute(
        update(model).where(model.id == row_id, claimable)
        .values(status=running, lease_until=lease_until, lease_token=token,
                attempts=model.attempts + 1, updated_at=now, **values)
        .execution_options(synchronize_session=False))
    return token if result.rowcount == 1 else None


def settled(session, model, row_id: int, token: str, **values) -> bool:
    """Write the outcome if ``token`` still holds the lease; False when another run has it."""
    result = session.execute(
        update(model).where(model.id == row_id, model.lease_token == token)
        .values(lease_until=None, lease_token=None, **values)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def due_clause(model, *, pending: str, now: datetime, policy: Policy, due_column=None):
    """Pending rows that are due and not queued within the policy's staleness (lost jobs)."""
    due_column = due_column if due_column is not None else model.next_attempt_at
    stale = now - timedelta(seconds=policy.stale_seconds)
    return and_(model.status == pending,
                or_(due_column.is_(None), due_column <= now),
                or_(model.enqueued_at.is_(None), model.enqueued_at < stale))


def lease_expired(model, *, running: str, now: datetime):
    """Rows whose worker stopped mid-run: their lease ran out."""
    return and_(model.status == running, model.lease_until < now)


def mark_enqueued(session, model, row_id: int, at: datetime) -> None:
    """Stamp one row queued by a retry or the sweeper (one UPDATE, nothing loaded)."""
    session.execute(update(model).where(model.id == row_id).values(enqueued_at=at)
                    .execution_options(synchronize_session=False))


def unstamp(session, model, ids: list[int], pending: str) -> None:
    """Take back stamps whose enqueue failed (Redis down): the sweeper's next round queues
    the rows instead of waiting out the staleness."""
    if ids:
        session.execute(update(model).where(model.id.in_(ids), model.status == pending)
                        .values(enqueued_at=None).execution_options(synchronize_session=False))


def policies(config) -> dict[Kind, Policy]:
    """Each kind's policy from the configuration (typed by webapp/config.py)."""
    from webapp.services.sync.settings import SyncSettings

    sync = SyncSettings.from_config(config)
    return {
        Kind.SYNC: Policy(sync.lease_seconds, sync.retry_intervals, sync.sweep_stale_seconds,
                          Uncertain.RETRY, jitter=0.25),
        Kind.MAIL: Policy(float(config.get("MAIL_LEASE_SECONDS", 120)),
                          tuple(float(x) for x in config.get("MAIL_RETRY_INTERVALS", (60,))),
                          float(config.get("MAIL_SWEEP_STALE_SECONDS", 30)), Uncertain.UNKNOWN),
        Kind.CALENDAR: Policy(
            float(config.get("CALENDAR_WRITE_LEASE_SECONDS", 60)),
            tuple(float(x) for x in config.get("CALENDAR_WRITE_RETRY_INTERVALS", (10, 30, 60))),
            float(config.get("CALENDAR_WRITE_STALE_SECONDS", 30)), Uncertain.RETRY,
            give_up_seconds=float(config.get("CALENDAR_WRITE_GIVE_UP_SECONDS", 3 * 86400)),
            jitter=0.1),
        # A Zoom create may have happened when its answer is lost: it runs again, and looks
        # for the meeting tagged with the booking before it creates one (V3).
        Kind.MEETING: Policy(
            float(config.get("MEETING_LEASE_SECONDS", 60)),
            tuple(float(x) for x in config.get("MEETING_RETRY_INTERVALS", (10, 30, 60, 300))),
            float(config.get("CALENDAR_WRITE_STALE_SECONDS", 30)), Uncertain.RETRY,
            give_up_seconds=float(config.get("CALENDAR_WRITE_GIVE_UP_SECONDS", 3 * 86400)),
            jitter=0.1),
    }
