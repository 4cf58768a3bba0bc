"""Re-queue sync records that never reached the queue (S1)."""

from datetime import timedelta

from sqlalchemy import or_, select

from webapp.extensions import db
from webapp.models import SyncRecord, SyncStatus, utcnow


def pending_ids(stale_after: timedelta = timedelta(minutes=2)) -> list[int]:
    """Ids of pending records never enqueued, or enqueued long enough ago to be lost."""
    cutoff = utcnow() - stale_after
    return list(
        db.session.scalars(
            select(SyncRecord.id)
            .where(SyncRecord.status == SyncStatus.PENDING.value)
            .where(or_(SyncRecord.enqueued_at.is_(None), SyncRecord.enqueued_at < cutoff))
            .order_by(SyncRecord.id)
        )
    )

