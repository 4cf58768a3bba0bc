"""The member's Zoom connect (V1), from the member's calendar page that the admin's signed
link opens. Zoom's redirect URI to register: `<APO_BASE_URL>/meetings/zoom/callback`."""

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

from webapp import jobs
from webapp.extensions import db, limiter
from webapp.forms import EmptyForm
from webapp.jobs.calendars import options
from webapp.models import Member
from webapp.services import meetings, outbox, zoom_connect
from webapp.services.calendars import links
from webapp.services.calendars.connections import CalendarConnectError

bp = Blueprint("meetings_zoom", __name__, url_prefix="/meetings/zoom")
PENDING_KEY = "zoom_connect"


def callback_url() -> str:
    base = current_app.config.get("BASE_URL")
    path = url_for("meetings_zoom.callback")
    return base.rstrip("/") + path if base else url_for("meetings_zoom.callback",
                                                         _external=True)


def _member(token: str) -> Member:
    member = links.member_for_token(token, current_app.config["SECRET_KEY"],
                                    options().link_max_age)
    if member is None:
        abort(404)
    return member


def _member_page(token: str) -> str:
    return url_for("member_calendar.connect_own_calendar", token=token)


@bp.post("/connect/<token>")
@limiter.limit("20 per minute")
def connect(token: str):
    member = _member(token)
    if not EmptyForm().validate_on_submit():
        return redirect(_member_page(token))
    if options().zoom is None:
        flash(_("Zoom連携は設定されていません。"), "error")
        return redirect(_member_page(token))
    pending, url = zoom_connect.begin_connect(member, options().zoom, callback_url())
    session[PENDING_KEY] = dict(pending, token=token)
    return redirect(url)


@bp.get("/callback")
def callback():
    pending = session.pop(PENDING_KEY, None)
    if not pending or request.args.get("state") != pending.get("state"):
        return _failed(_("接続の手続きが見つかりません。連携用リンクからやり直してください。"))
    back = _member_page(pending["token"])
    if request.args.get("error") or not request.args.get("code"):
        return _failed(_("Zoomでのアクセス許可がキャンセルされました。"), back)
    member = db.session.scalar(select(Member).where(Member.id == pending["member_id"],
                                                    Member.organization_id == pending["org_id"]))
    if member is None or options().zoom is None:
        abort(404)
    try:
        account = zoom_connect.complete_connect(member, options().zoom, pending,
                                                request.args["code"], callback_url(),
                                                options().keyring)
    except CalendarConnectError as exc:
        db.session.rollback()
        return _failed(str(exc.message), back)
    work = outbox.stamp_tracked(db.session)
    db.session.commit()
    jobs.enqueue_after_commit(work)  # meetings that waited for this connection (V4)
    flash(_("Zoom（%(email)s）を連携しました。", email=account.username), "success")
    return redirect(back)


@bp.post("/disconnect/<token>")
@limiter.limit("20 per minute")
def disconnect(token: str):
    member = _member(token)
    account = meetings.zoom_account(member.id)
    if EmptyForm().validate_on_submit() and account is not None:
        zoom_connect.disconnect(account, options().zoom, options().keyring)
        db.session.commit()
        flash(_("Zoomの連携を解除しました。"), "success")
    return redirect(_member_page(token))


def _failed(message: str, back: str | None = None):
    return render_template("calendar_google/failed.html", message=message, back=back,
                           heading=_("Zoomを連携できませんでした")), 400
