"""The member's one-click Microsoft 365 connect (K1): the signed link the admin sends opens a
page with one button; Microsoft's sign-in and consent follow; the callback stores the
connection and queues its first sync. No Apo sign-in is needed: the link names the member.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l

from webapp import jobs_calendars
from webapp.extensions import db, limiter
from webapp.forms import EmptyForm
from webapp.models import Member
from webapp.services.calendars import microsoft
from webapp.services.calendars.connections import CalendarConnectError
from webapp.services.calendars.options import CalendarOptions

bp = Blueprint("calendar_microsoft", __name__, url_prefix="/calendar/microsoft")
# The one OAuth flow in progress; popped by the callback so a code is used once.
SESSION_KEY = "microsoft_calendar_connect"
RESTART = _l("接続をやり直してください（リンクを開き直してからボタンを押してください）。")
DECLINED = _l("Microsoft 365 への接続は許可されませんでした。")


def _settings() -> microsoft.MicrosoftSettings:
    return microsoft.MicrosoftSettings.from_config(current_app.config)


def _member(token: str) -> Member:
    max_age = CalendarOptions.from_config(current_app.config).link_max_age
    return microsoft.member_from_token(token, current_app.config["SECRET_KEY"], max_age) \
        or abort(404)


def callback_url() -> str:
    """The redirect URI to register in the Microsoft app, derived from BASE_URL."""
    base = current_app.config.get("BASE_URL")
    if not base:
        return url_for(".callback", _external=True)
    return base.rstrip("/") + url_for(".callback")


@bp.get("/connect/<token>")
def connect_page(token: str):
    member = _member(token)
    return render_template("calendar_microsoft/connect.html", member=member, form=EmptyForm(),
                           connections=microsoft.member_connections(member),
                           configured=_settings().configured)


@bp.post("/connect/<token>")
@limiter.limit("20 per hour")
def connect_start(token: str):
    member = _member(token)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        flow = microsoft.start_connect(_settings(), member, callback_url())
    except CalendarConnectError as exc:
        return _result(member, error=exc.message, status=400)
    session[SESSION_KEY] = {k: flow[k] for k in ("state", "verifier", "member_id")}
    return redirect(flow["url"])


@bp.get("/callback")
def callback():
    flow = session.pop(SESSION_KEY, None)
    if not flow or request.args.get("state") != flow["state"]:
        return _result(None, error=RESTART, status=400)
    member = db.session.get(Member, flow["member_id"]) or abort(404)
    if request.args.get("error") or not request.args.get("code"):
        return _result(member, error=DECLINED, status=400)
    try:
        connection = microsoft.finish_connect(_settings(), member, callback_url(),
                                              request.args["code"], flow["verifier"])
    except CalendarConnectError as exc:
        db.session.rollback()
        return _result(member, error=exc.message, status=502)
    connection_id = connection.id
    db.session.commit()
    jobs_calendars.enqueue_calendar_sync(connection_id)  # after the commit; polling retries
    return _result(member, connection=connection)


def _result(member, connection=None, error=None, status: int = 200):
    return render_template("calendar_microsoft/done.html", member=member, error=error,
                           connection=connection), status
