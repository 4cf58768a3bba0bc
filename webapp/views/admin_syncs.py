"""同期ログ (S3): every sync of the organization, filterable, live while running, retryable."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from webapp.extensions import db
from webapp.forms import EmptyForm
from webapp.jobs import sync as sync_jobs
from webapp.models import Booking, BookingPage, SyncRecord, SyncStatus
from webapp.services import meetings
from webapp.services.sync import state as sync_state
from webapp.services.sync import writes
from webapp.views.admin import bp, get_owned_or_404, org_connection, org_id
from webapp.web.htmx import is_htmx, render_partial

PAGE_SIZE = 50
MAX_ID = 2**31 - 1  # larger ids overflow the database's integer (X4)


def _day(value: str, tz: str, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD filter as a UTC bound in the organization's time zone (None if unset/bad)."""
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
        local = datetime.combine(day + timedelta(days=1) if end else day, time(), ZoneInfo(tz))
        return local.astimezone(ZoneInfo("UTC"))
    except (ValueError, OverflowError):  # 0001-01-01 and 9999-12-31 overflow (X4)
        return None


def _filtered(args, tz: str):
    # The rows show the booking and its page: load them with the records, not one per row.
    query = (select(SyncRecord).join(Booking).where(SyncRecord.organization_id == org_id())
             .options(contains_eager(SyncRecord.booking).joinedload(Booking.page))
             .order_by(SyncRecord.id.desc()).limit(PAGE_SIZE))
    if args.get("status") in {s.value for s in SyncStatus}:
        query = query.where(SyncRecord.status == args["status"])
    page = args.get("page", "")
    if page.isascii() and page.isdigit() and len(page) <= 10 and int(page) <= MAX_ID:
        query = query.where(Booking.page_id == int(page))
    if start := _day(args.get("from", ""), tz):
        query = query.where(Booking.start_at >= start)
    if end := _day(args.get("to", ""), tz, end=True):
        query = query.where(Booking.start_at < end)
    return db.session.scalars(query).all()


def _salesforce_context() -> dict:
    """Record links and owner names for the rows, from the connection and its caches (S8)."""
    connection = org_connection()
    return {"instance_url": connection.instance_url if connection else "",
            "user_names": writes.user_names(connection),
            "booking_meeting": meetings.current}  # V4: the meeting link's state beside it


@bp.get("/syncs")
def list_syncs():
    tz = current_user.organization.timezone
    pages = db.session.scalars(select(BookingPage).where(BookingPage.organization_id == org_id())
                               .order_by(BookingPage.title)).all()
    return render_template(
        "admin/syncs/index.html", records=_filtered(request.args, tz), args=request.args,
        statuses=list(SyncStatus), pages=pages, form=EmptyForm(), **_salesforce_context())


@bp.get("/syncs/<int:sync_id>/row")
def sync_row(sync_id: int):
    record = get_owned_or_404(SyncRecord, sync_id)
    return render_partial("admin/syncs/_row.html", r=record, form=EmptyForm(),
                          **_salesforce_context())


@bp.post("/syncs/<int:sync_id>/retry")
def retry_sync(sync_id: int):
    record = get_owned_or_404(SyncRecord, sync_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if record.status != SyncStatus.FAILED.value:
        abort(409)
    sync_state.retry_failed(record)
    db.session.commit()
    # After the commit; a down Redis leaves it to the sweeper.
    sync_jobs.enqueue_sync(sync_id, org_id=org_id())
    if is_htmx():
        return sync_row(sync_id)
    return redirect(url_for("admin.list_syncs"))
