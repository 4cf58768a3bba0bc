"""来訪者設定 > 来訪者連携 > Salesforce: status, connect (OAuth), disconnect, 事前確認 (C1-C9)."""

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp import settings as app_settings
from webapp.extensions import db
from webapp.forms import EmptyForm
from webapp.forms.salesforce import SalesforceConnectForm
from webapp.jobs import sync as sync_jobs
from webapp.services import booking_pages
from webapp.services.salesforce import connections, describe_cache, prerequisites
from webapp.services.sync import state as sync_state
from webapp.views.admin import bp, org_connection, org_id
from webapp.web.htmx import hx_redirect, is_htmx

# Session key of the one OAuth flow in progress; popped by the callback so a code is one-use.
PENDING_KEY = "salesforce_connect"


def callback_url() -> str:
    """The exact callback URL to register in the Connected App, derived from BASE_URL (C2)."""
    base = current_app.config.get("BASE_URL")
    if not base:
        return url_for("admin.salesforce_callback", _external=True)
    return base.rstrip("/") + url_for("admin.salesforce_callback")


def _require_plan():
    if not connections.plan_allows(current_user.organization):
        abort(403)


@bp.get("/integrations")
def salesforce_integration():
    org = current_user.organization
    return render_template(
        "admin/salesforce/index.html", connection=org_connection(),
        allowed=connections.plan_allows(org), events=connections.audit_log(org.id),
        form=EmptyForm(), active_nav="admin.salesforce_integration",
    )


@bp.get("/integrations/salesforce/connect")
def salesforce_connect_form():
    _require_plan()
    form = SalesforceConnectForm()
    config = current_app.config
    if config.get("DEMO") and config.get("DEMO_CONSUMER_KEY"):
        form.prefill_demo(config["DEMO_CONSUMER_KEY"], config.get("DEMO_CONSUMER_SECRET", ""))
    return render_template("admin/salesforce/connect.html", form=form,
                           callback_url=callback_url(), connection=org_connection())


@bp.post("/integrations/salesforce/connect")
def salesforce_connect():
    _require_plan()
    form = SalesforceConnectForm()
    if not form.validate_on_submit():
        return render_template("admin/salesforce/connect.html", form=form,
                               callback_url=callback_url(), connection=org_connection()), 422
    kind, conf = form.login_kind.data, app_settings.current().salesforce
    pending, url = connections.begin_connect(
        current_user.organization, current_user, form.consumer_key.data.strip(),
        form.consumer_secret.data.strip(), kind,
        connections.login_url_for(kind, form.my_domain_url.data, conf), callback_url(), conf)
    session[PENDING_KEY] = pending
    return redirect(url)


@bp.get("/integrations/salesforce/callback")
def salesforce_callback():
    _require_plan()
    pending = session.pop(PENDING_KEY, None)
    state = request.args.get("state")
    if not pending or not state or state != pending["state"]:
        return _connect_failed("state_mismatch")
    if request.args.get("error") or not request.args.get("code"):
        return _connect_failed(request.args.get("error") or "missing_code",
                               request.args.get("error_description", ""))
    try:
        connections.complete_connect(current_user.organization, current_user, pending,
                                     request.args["code"], app_settings.current().salesforce)
    except connections.ConnectError as exc:
        db.session.rollback()
        return _connect_failed(exc.code, exc.detail)
    parked = sync_state.unpark_organization(org_id())  # they run again (S6)
    db.session.commit()
    # After the commit; the sweeper catches any Redis failure.
    sync_jobs.enqueue_all(parked, org_id())
    return redirect(url_for("admin.salesforce_connected"))


def _connect_failed(code: str, detail: str = ""):
    # The OAuth error text is Salesforce's, shown escaped; tokens are never part of it.
    return render_template("admin/salesforce/failed.html", code=code, detail=detail[:300],
                           active_nav="admin.salesforce_integration"), 400


@bp.get("/integrations/salesforce/connected")
def salesforce_connected():
    connection = org_connection()
    if connection is None:
        return redirect(url_for("admin.salesforce_integration"))
    pages = [page for page in booking_pages.list_pages(org_id()) if page.is_team]
    return render_template("admin/salesforce/connected.html", connection=connection,
                           pages=pages, active_nav="admin.salesforce_integration")


@bp.post("/integrations/salesforce/disconnect")
def salesforce_disconnect():
    if not EmptyForm().validate_on_submit():
        abort(400)
    connection = org_connection()
    if connection is None:
        abort(404)
    revoked = connections.disconnect(connection, current_user, app_settings.current().salesforce)
    db.session.commit()
    flash(_("Salesforceとの連携を解除しました。") if revoked else _(
        "Salesforceとの連携を解除しました。Salesforce側でのトークン取り消しは確認できませんでした。"),
        "success" if revoked else "warning")
    target = url_for("admin.salesforce_integration")
    return hx_redirect(target) if is_htmx() else redirect(target)


@bp.get("/integrations/salesforce/checks")
def salesforce_checks():
    connection = org_connection()
    if connection is None:
        return redirect(url_for("admin.salesforce_integration"))
    checks = prerequisites.run_checks(connection, app_settings.current().salesforce)
    return render_template("admin/salesforce/checks.html", connection=connection, checks=checks,
                           fetched_at=describe_cache.fetched_at(connection), form=EmptyForm(),
                           active_nav="admin.salesforce_integration")


@bp.post("/integrations/salesforce/checks")
def refresh_salesforce_checks():
    connection = org_connection()
    if connection is None or not EmptyForm().validate_on_submit():
        abort(404 if connection is None else 400)
    prerequisites.run_checks(connection, app_settings.current().salesforce, refresh=True)
    db.session.commit()
    return redirect(url_for("admin.salesforce_checks"))
