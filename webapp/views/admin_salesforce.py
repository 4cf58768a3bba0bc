"""来訪者設定 > 来訪者連携 > Salesforce: status, connect (OAuth), disconnect, 事前確認 (C1-C9)."""

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.extensions import db
from webapp.forms import EmptyForm
from webapp.forms_salesforce import SalesforceConnectForm
from webapp.htmx import hx_redirect, is_htmx
from webapp.services import booking_pages, connections, prerequisites
from webapp.views.admin import bp, org_id

# Session key of the one OAuth flow in progress; popped by the callback so a code is one-use.
PENDING_KEY = "salesforce_connect"


@bp.app_context_processor
def salesforce_template_helpers():
    # A function, not a value: only screens that include the status banner query the row.
    return {"salesforce_connection": lambda: connections.get_connection(org_id())}


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
        "admin/salesforce/index.html", connection=connections.get_connection(org.id),
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
                           callback_url=callback_url(),
                           connection=connections.get_connection(org_id()))


@bp.post("/integrations/salesforce/connect")
def salesforce_connect():
    _require_plan()
    form = SalesforceConnectForm()
    if not form.validate_on_submit():
        return render_template("admin/salesforce/connect.html", form=form,
                               callback_url=callback_url(),
                               connection=connections.get_connection(org_id())), 422
    kind = form.login_kind.data
    pending, url = connections.begin_connect(
        current_user.organization, current_user, form.consumer_key.data.strip(),
        form.consumer_secret.data.strip(), kind,
        connections.login_url_for(kind, form.my_domain_url.data), callback_url())
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
                                     request.args["code"])
    except connections.ConnectError as exc:
        db.session.rollback()
        return _connect_failed(exc.code, exc.detail)
    db.session.commit()
    connections.connection_restored.send(current_app._get_current_object(), org_id=org_id())
    return redirect(url_for("admin.salesforce_connected"))


def _connect_failed(code: str, detail: str = ""):
    # The OAuth error text is Salesforce's, shown escaped; tokens are never part of it.
    return render_template("admin/salesforce/failed.html", code=code, detail=detail[:300],
                           active_nav="admin.salesforce_integration"), 400


@bp.get("/integrations/salesforce/connected")
def salesforce_connected():
    connection = connections.get_connection(org_id())
    if connection is None:
        return redirect(url_for("admin.salesforce_integration"))
    pages = [page for page in booking_pages.list_pages(org_id()) if page.is_team]
    return render_template("admin/salesforce/connected.html", connection=connection,
                           pages=pages, active_nav="admin.salesforce_integration")


@bp.post("/integrations/salesforce/disconnect")
def salesforce_disconnect():
    if not EmptyForm().validate_on_submit():
        abort(400)
    if connections.get_connection(org_id()) is None:
        abort(404)
    revoked = connections.disconnect(org_id(), current_user)
    db.session.commit()
    flash(_("Salesforceとの連携を解除しました。") if revoked else _(
        "Salesforceとの連携を解除しました。Salesforce側でのトークン取り消しは確認できませんでした。"),
        "success" if revoked else "warning")
    target = url_for("admin.salesforce_integration")
    return hx_redirect(target) if is_htmx() else redirect(target)


@bp.get("/integrations/salesforce/checks")
def salesforce_checks():
    connection = connections.get_connection(org_id())
    if connection is None:
        return redirect(url_for("admin.salesforce_integration"))
    checks = prerequisites.run_checks(connection)
    db.session.commit()  # stores describes fetched on a cold cache
    return render_template("admin/salesforce/checks.html", connection=connection, checks=checks,
                           fetched_at=prerequisites.cache_fetched_at(connection), form=EmptyForm(),
                           active_nav="admin.salesforce_integration")


@bp.post("/integrations/salesforce/checks")
def refresh_salesforce_checks():
    connection = connections.get_connection(org_id())
    if connection is None or not EmptyForm().validate_on_submit():
        abort(404 if connection is None else 400)
    prerequisites.run_checks(connection, refresh=True)
    db.session.commit()
    return redirect(url_for("admin.salesforce_checks"))
