"""The admin blueprint (/admin): sign-in required, every query scoped to the organization."""

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Booking, SalesforceConnection, SyncRecord, SyncStatus
from webapp.services import setup_guide
from webapp.services.salesforce import connections

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_login():
    """Every admin route needs a signed-in admin (login_required on the whole blueprint)."""


def org_id() -> int:
    return current_user.organization_id


def org_connection() -> SalesforceConnection | None:
    """The organization's Salesforce connection row, read once per request.

    Kept in the WSGI environ, which lives exactly as long as the request (``g`` would outlive
    it under an app context pushed around several requests).
    """
    environ = request.environ
    if _CONNECTION_KEY not in environ:
        environ[_CONNECTION_KEY] = connections.get_connection(org_id())
    return environ[_CONNECTION_KEY]


_CONNECTION_KEY = "apo.salesforce_connection"


@bp.app_context_processor
def salesforce_template_helpers():
    # A function, not a value: only screens that include the status banner read the row.
    return {"salesforce_connection": org_connection}


def get_owned_or_404(model, object_id: int):
    """Load a row of the current admin's organization; any other id answers 404 (O2)."""
    row = db.session.scalar(
        select(model).where(model.id == object_id, model.organization_id == org_id())
    )
    if row is None:
        abort(404)
    return row


@bp.get("/")
def home():
    counts = dict(
        db.session.execute(
            select(SyncRecord.status, func.count())
            .where(SyncRecord.organization_id == org_id())
            .group_by(SyncRecord.status)
        ).all()
    )
    recent = db.session.scalars(
        select(Booking)
        .where(Booking.organization_id == org_id())
        .order_by(Booking.created_at.desc())
        .limit(10)
    ).all()
    return render_template(
        "admin/home.html", counts=counts, recent=recent, SyncStatus=SyncStatus,
        steps=setup_guide.setup_steps(org_id(), org_connection()),
        guide_page=setup_guide.guide_page(org_id()),
    )
