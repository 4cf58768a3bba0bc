"""カレンダー連携: every member's calendar state, connecting CalDAV, the member's own link,
calendar roles, Salesforce busy times and the write-back log (K1, K4-K6)."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from webapp.extensions import db
from webapp.forms import EmptyForm
from webapp.forms.calendars import CalDAVConnectForm, CalendarSettingsForm
from webapp.jobs import calendars as calendar_jobs
from webapp.models import CalendarConnection, Member
from webapp.services import members as member_service
from webapp.services.calendars import (
    connections,
    google_connect,
    links,
    salesforce_busy,
    sync,
    writeback,
)
from webapp.views.admin import bp, get_owned_or_404, org_id


@bp.get("/calendars")
def list_calendars():
    settings = salesforce_busy.current_settings(org_id())
    return render_template(
        "admin/calendars/index.html", members=member_service.list_members(org_id()),
        by_member=connections.connections_by_member(org_id()), form=EmptyForm(),
        settings_form=CalendarSettingsForm(obj=settings), reason=connections.reason_message)


@bp.post("/calendars/settings")
def update_calendar_settings():
    form = CalendarSettingsForm()
    if not form.validate_on_submit():
        flash(_("設定を保存できませんでした。入力内容を確認してください。"), "error")
        return redirect(url_for("admin.list_calendars"))
    salesforce_busy.set_enabled(org_id(), form.salesforce_busy.data)
    salesforce_busy.settings_for(org_id()).grace_minutes = form.grace_minutes.data
    db.session.commit()
    if form.salesforce_busy.data:
        calendar_jobs.enqueue_salesforce_busy(org_id())
    flash(_("カレンダー設定を保存しました。"), "success")
    return redirect(url_for("admin.list_calendars"))


@bp.route("/calendars/members/<int:member_id>/connect", methods=["GET", "POST"])
def connect_calendar(member_id: int):
    member = get_owned_or_404(Member, member_id)
    form = CalDAVConnectForm()
    if form.validate_on_submit():
        if connect_and_sync(member, form):
            flash(_("%(name)sさんのカレンダーを接続しました。", name=member.name), "success")
            return redirect(url_for("admin.list_calendars"))
    return render_template("admin/calendars/connect.html", form=form, member=member)


def connect_and_sync(member: Member, form: CalDAVConnectForm) -> bool:
    """Connect, then read the calendars once right away so the state shows at once; later
    syncs run in the background (K3). Shared with the member's own link."""
    try:
        connection = connections.connect_caldav(member, form.url.data, form.username.data,
                                                form.password.data, calendar_jobs.options())
    except connections.CalendarConnectError as exc:
        db.session.rollback()
        form.url.errors = [*form.url.errors, exc.message]
        return False
    sync.sync_connection(connection, calendar_jobs.options())
    db.session.commit()
    return True


@bp.post("/calendars/<int:connection_id>/roles")
def update_calendar_roles(connection_id: int):
    connection = get_owned_or_404(CalendarConnection, connection_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    blocking = {int(v) for v in request.form.getlist("blocks") if v.isdigit()}
    receiving = request.form.get("receives", type=int)
    connections.set_calendar_roles(connection, blocking, receiving)
    db.session.commit()
    calendar_jobs.enqueue_calendar_sync(connection_id)
    flash(_("カレンダーの使い方を保存しました。"), "success")
    return redirect(url_for("admin.list_calendars"))


@bp.post("/calendars/<int:connection_id>/sync")
def sync_calendar_now(connection_id: int):
    connection = get_owned_or_404(CalendarConnection, connection_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    sync.sync_connection(connection, calendar_jobs.options())
    db.session.commit()
    return redirect(url_for("admin.list_calendars"))


@bp.post("/calendars/<int:connection_id>/remove")
def remove_calendar(connection_id: int):
    connection = get_owned_or_404(CalendarConnection, connection_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if connection.provider == "google":  # also revoke Apo's grant at Google
        google_connect.disconnect(connection, google_connect.google_app(current_app.config),
                                  calendar_jobs.options())
    else:
        connections.remove_connection(connection)
    db.session.commit()
    flash(_("カレンダーの接続を解除しました。"), "success")
    if connection.provider == "microsoft":
        # Microsoft lets an app revoke no single grant (README, Security): Apo's copy of the
        # tokens is gone; the member ends the grant itself at My Apps.
        flash(_("Microsoft 365 側の許可は、メンバーが https://myapps.microsoft.com で Apo を"
                "削除すると取り消されます。"), "info")
    return redirect(url_for("admin.list_calendars"))


@bp.post("/calendars/members/<int:member_id>/link")
def member_calendar_link(member_id: int):
    member = get_owned_or_404(Member, member_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    token = links.make_token(member, current_app.config["SECRET_KEY"])
    # From BASE_URL like the Salesforce callback: the Host header is not trusted for links.
    path = url_for("member_calendar.connect_own_calendar", token=token)
    base = current_app.config.get("BASE_URL")
    url = base.rstrip("/") + path if base else url_for(
        "member_calendar.connect_own_calendar", token=token, _external=True)
    return render_template("admin/calendars/link.html", member=member, url=url,
                           days=calendar_jobs.options().link_max_age // 86400)


@bp.get("/calendars/log")
def calendar_write_log():
    return render_template("admin/calendars/log.html", writes=writeback.write_log(org_id()))
