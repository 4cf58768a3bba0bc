"""The member's one-click Google Calendar connect (K1), from the member's calendar page that
the admin's signed link opens (views/member_calendar.py).

The OAuth state and PKCE verifier live in the session until Google's callback, a fixed URL to
register in the Google Cloud OAuth client (`<APO_BASE_URL>/calendar/google/callback`).
"""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db, limiter
from webapp.forms import EmptyForm
from webapp.jobs import calendars as calendar_jobs
from webapp.jobs.calendars import options
from webapp.models import Member
from webapp.services.calendars import google_connect, links, sync
from webapp.services.calendars.connections import CalendarConnectError

bp = Blueprint("calendar_google", __name__, url_prefix="/calendar/google")
PENDING_KEY = "google_calendar_connect"


def callback_url() -> str:
    base = current_app.config.get("BASE_URL")
    path = url_for("calendar_google.callback")
    return base.rstrip("/") + path if base else url_for("calendar_google.callback",
                                                         _external=True)


def _member_page(token: str) -> str:
    return url_for("member_calendar.connect_own_calendar", token=token)


@bp.route("/connect/<token>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def connect(token: str):
    member = links.member_for_token(token, current_app.config["SECRET_KEY"],
                                    options().link_max_age)
    if member is None:
        abort(404)
    app = google_connect.google_app(current_app.config)
    if request.method == "GET" or not EmptyForm().validate_on_submit():
        return redirect(_member_page(token))
    if app is None:
        flash(_("Googleカレンダー連携は設定されていません。"), "error")
        return redirect(_member_page(token))
    pending, url = google_connect.begin_connect(member, app, callback_url())
    session[PENDING_KEY] = dict(pending, token=token)
    return redirect(url)


@bp.get("/callback")
def callback():
    pending = session.pop(PENDING_KEY, None)
    if not pending or request.args.get("state") != pending.get("state"):
        return _failed(_("接続の手続きが見つかりません。連携用リンクからやり直してください。"))
    back = _member_page(pending["token"])
    if request.args.get("error") or not request.args.get("code"):
        return _failed(_("Googleでのアクセス許可がキャンセルされました。"), back)
    member = db.session.scalar(select(Member).where(Member.id == pending["member_id"],
                                                    Member.organization_id == pending["org_id"]))
    app = google_connect.google_app(current_app.config)
    if member is None or app is None:
        abort(404)
    try:
        connection = google_connect.complete_connect(member, app, pending,
                                                     request.args["code"], callback_url(),
                                                     options())
    except CalendarConnectError as exc:
        db.session.rollback()
        return _failed(str(exc.message), back)
    db.session.commit()
    sync.sync_connection(connection, options())  # the first busy times, at once (K3)
    db.session.commit()
    calendar_jobs.enqueue_calendar_sync(connection.id)  # the worker opens its push channel (K8)
    flash(_("Googleカレンダー（%(email)s）を連携しました。", email=connection.username), "success")
    return redirect(back)


def _failed(message: str, back: str | None = None):
    return render_template("calendar_google/failed.html", message=message, back=back), 400
