"""The member's one-click Microsoft 365 connect (K1): on the page the admin's signed link opens
(member_calendar), one button starts Microsoft's sign-in and consent; the callback stores the
connection, reads the calendars once and returns to that page. No Apo account is needed.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.extensions import db, limiter
from webapp.forms import EmptyForm
from webapp.jobs import calendars as calendar_jobs
from webapp.models import Member
from webapp.services.calendars import links, microsoft, sync
from webapp.services.calendars.connections import CalendarConnectError

bp = Blueprint("calendar_microsoft", __name__, url_prefix="/calendar/microsoft")
# The one OAuth flow in progress; popped by the callback so a code is used once.
SESSION_KEY = "microsoft_calendar_connect"
RESTART = _l("接続をやり直してください（リンクを開き直してからボタンを押してください）。")
DECLINED = _l("Microsoft 365 への接続は許可されませんでした。")


def _settings() -> microsoft.MicrosoftSettings:
    return microsoft.MicrosoftSettings.from_config(current_app.config)


def callback_url() -> str:
    """The redirect URI to register in the Microsoft app, derived from BASE_URL."""
    base = current_app.config.get("BASE_URL")
    if not base:
        return url_for(".callback", _external=True)
    return base.rstrip("/") + url_for(".callback")


def _member_page(token: str):
    return redirect(url_for("member_calendar.connect_own_calendar", token=token))


@bp.post("/connect/<token>")
@limiter.limit("20 per hour")
def connect_start(token: str):
    member = links.member_for_token(token, current_app.config["SECRET_KEY"],
                                    calendar_jobs.options().link_max_age) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        flow = microsoft.start_connect(_settings(), member, callback_url())
    except CalendarConnectError as exc:
        flash(str(exc.message), "error")
        return _member_page(token)
    session[SESSION_KEY] = {"state": flow["state"], "verifier": flow["verifier"],
                            "member_id": member.id, "token": token}
    return redirect(flow["url"])


@bp.get("/callback")
def callback():
    flow = session.pop(SESSION_KEY, None)
    if not flow or request.args.get("state") != flow["state"]:
        abort(400, description=str(RESTART))
    member = db.session.get(Member, flow["member_id"]) or abort(404)
    if request.args.get("error") or not request.args.get("code"):
        flash(str(DECLINED), "error")
        return _member_page(flow["token"])
    try:
        connection = microsoft.finish_connect(_settings(), calendar_jobs.options(), member,
                                              callback_url(), request.args["code"],
                                              flow["verifier"])
    except CalendarConnectError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return _member_page(flow["token"])
    # Read the calendars once now so the state shows at once; polling does the rest (K3).
    sync.sync_connection(connection, calendar_jobs.options())
    db.session.commit()
    # The worker's sync opens the push subscription (K8): Graph calls this web server back
    # to validate it, which must not wait on this request.
    calendar_jobs.enqueue_calendar_sync(connection.id)
    flash(_("Microsoft 365 の予定表 %(address)s を接続しました。", address=connection.username),
          "success")
    return _member_page(flow["token"])
