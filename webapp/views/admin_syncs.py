"""同期ログ: every sync record of the organization, filterable by status (S3)."""

from flask import render_template, request
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Booking, SyncRecord, SyncStatus
from webapp.views.admin import bp, org_id

PAGE_SIZE = 50


@bp.get("/syncs")
def list_syncs():
    status = request.args.get("status", "")
    query = (
        select(SyncRecord)
        .join(Booking)
        .where(SyncRecord.organization_id == org_id())
        .order_by(SyncRecord.id.desc())
        .limit(PAGE_SIZE)
    )
    if status in {s.value for s in SyncStatus}:
        query = query.where(SyncRecord.status == status)
    records = db.session.scalars(query).all()
    return render_template(
        "admin/syncs/index.html", records=records, status=status, statuses=list(SyncStatus)
    )
