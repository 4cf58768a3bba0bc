"""The member's one-click Google Calendar connect (K1), through a link the admin sends.

The link is signed (no sign-in needed); the OAuth state and PKCE verifier live in the
session until Google's callback, which is a fixed URL to register in the Google Cloud client.
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

from webapp.extensions import db
from webapp.forms import EmptyForm
from webapp.models import Member
from webapp.services.calendars import google_connect, sync
from webapp.services.calendars.connections import CalendarConnectError, reason_message
from webapp.services.calendars.options import CalendarOptions

bp = Blueprint("calendar_google", __name__, url_prefix="/calendar/google")
PENDING_KEY = "google_calendar_connect"


def callback_url() -> str:
    base = current_app.config.get("BASE_URL")
    path = url_for("calendar_google.callback")
    return base.rstrip("/") + path if base else url_for("calendar_google.callback",
                                                         _external=True)


def _options() -> CalendarOptions:
    return CalendarOptions.from_config(current_app.config)


@bp.route("/connect/<token>", methods=["GET", "POST"])
def connect(token: str):
    member = google_connect.member_for_link(token, current_app.config["SECRET_KEY"],
                                            _options().link_max_age)
    if member is None:
        abort(404)
    app, form = google_connect.google_app(current_app.config), EmptyForm()
    if app is not None and form.validate_on_submit():
        pending, url = google_connect.begin_connect(member, app, callback_url())
        session[PENDING_KEY] = dict(pending, token=token)
        return redirect(url)
    return render_template("calendar_google/connect.html", member=member, form=form,
                           configured=app is not None, reason_message=reason_message,
                           connections=google_connect.google_connections(member))


@bp.get("/callback")
def callback():
    pending = session.pop(PENDING_KEY, None)
    if not pending or request.args.get("state") != pending.get("state"):
        return _failed(_("接続の手続きが見つかりません。連携用リンクからやり直してください。"))
    back = url_for("calendar_google.connect", token=pending["token"])
    if request.args.get("error") or not request.args.get("code"):
        return _failed(_("Googleでのアクセス許可がキャンセルされました。"), back)
    member = db.session.scalar(select(Member).where(Member.id == pending["member_id"],
                                                    Member.organization_id == pending["org_id"]))
    app = google_connect.google_app(current_app.config)
    if member is None or app is None:
        abort(404)
    try:
        connection = google_connect.complete_connect(member, app, pending,
                                                     request.args["code"], callback_url())
    except CalendarConnectError as exc:
        db.session.rollback()
        return _failed(str(exc.message), back)
    db.session.commit()
    sync.sync_connection(connection, _options())  # the first busy times, at once (K3)
    db.session.commit()
    flash(_("Googleカレンダー（%(email)s）を連携しました。", email=connection.username), "success")
    return redirect(back)


def _failed(message: str, back: str | None = None):
    return render_template("calendar_google/failed.html", message=message, back=back), 400
