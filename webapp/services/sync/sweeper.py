"""Which sync records need a worker again (S1, S4, S6): nothing depends on Redis keeping data.

- pending records never queued, or queued long enough ago that the job may be lost (Redis down
  at enqueue time, Redis flushed, a worker killed before it took the lease);
- running records whose lease ran out (the worker died mid-sync);
- parked records of an organization whose connection works again (a missed reconnect signal).

Records deferred by a retry or an org pause carry ``enqueued_at`` in the future, so they are
left alone until then. Run by the worker's sweeper thread (worker.py) and `flask sweep-syncs`.
"""

from sqlalchemy import or_, select

from webapp.extensions import db
from webapp.models import ConnectionStatus, SalesforceConnection, SyncRecord, SyncStatus, utcnow
from webapp.services import outbox
from webapp.services.sync import state


def pending_ids(policy: outbox.Policy) -> list[int]:
    """Ids of records to queue again; parked records of healthy connections become pending.

    The caller commits (the un-parking) and then enqueues the ids.
    """
    now = utcnow()
    for org_id in _reconnected_orgs():
        state.unpark_organization(org_id)
    return list(db.session.scalars(
        select(SyncRecord.id)
        .where(or_(
            outbox.due_clause(SyncRecord, pending=SyncStatus.PENDING.value, now=now,
                              policy=policy),
            outbox.lease_expired(SyncRecord, running=SyncStatus.RUNNING.value, now=now)))
        .order_by(SyncRecord.id)
    ))


def _reconnected_orgs() -> list[int]:
    return list(db.session.scalars(
        select(SyncRecord.organization_id).distinct()
        .join(SalesforceConnection,
              SalesforceConnection.organization_id == SyncRecord.organization_id)
        .where(SyncRecord.status == SyncStatus.WAITING_RECONNECT.value,
               SalesforceConnection.status == ConnectionStatus.CONNECTED.value)))
