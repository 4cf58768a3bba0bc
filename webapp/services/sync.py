"""Running a sync record. The Salesforce work itself arrives with the sync engine (issue 6)."""

from __future__ import annotations

from webapp.extensions import db
from webapp.models import SyncRecord, SyncStatus


def run_sync(sync_id: int) -> SyncRecord | None:
    """Pick up a sync record from the queue.

    Until Apo can talk to Salesforce there is nowhere to write the booking, so the record stays
    pending and the sync log says why. It is never dropped: the sync engine will process it.
    """
    record = db.session.get(SyncRecord, sync_id)
    if record is None or record.status != SyncStatus.PENDING.value:
        return record
    record.attempts += 1
    record.last_error = "salesforce_not_available"
    return record
