"""A member connects their own calendar through the signed link an admin sent (K1) and sees
its state and reason when it stops working (K6). No admin account needed."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from webapp.extensions import limiter
from webapp.forms import EmptyForm
from webapp.forms.calendars import CalDAVConnectForm
from webapp.jobs import calendars as calendar_jobs
from webapp.services import meetings
from webapp.services.calendars import connections, links
from webapp.views.admin_calendars import connect_and_sync

bp = Blueprint("member_calendar", __name__, url_prefix="/calendar")


def _member_or_404(token: str):
    member = links.member_for_token(token, current_app.config["SECRET_KEY"],
                                    calendar_jobs.options().link_max_age)
    if member is None:
        abort(404)
    return member


@bp.route("/connect/<token>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def connect_own_calendar(token: str):
    member = _member_or_404(token)
    form = CalDAVConnectForm()
    if form.validate_on_submit() and connect_and_sync(member, form):
        flash(_("カレンダーを接続しました。"), "success")
        return redirect(url_for(".connect_own_calendar", token=token))
    own = connections.connections_by_member(member.organization_id).get(member.id, [])
    return render_template("calendar/member.html", member=member, form=form, connections=own,
                           reason=connections.reason_message,
                           zoom_account=meetings.zoom_account(member.id),
                           zoom_ready=calendar_jobs.options().zoom is not None,
                           action_form=EmptyForm())
