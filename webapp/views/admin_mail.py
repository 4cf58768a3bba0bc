"""配信ログ (N5): every booking e-mail of the organization with its state, beside the sync log;
failed and unknown messages can be sent again."""

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from webapp.extensions import db
from webapp.forms import EmptyForm
from webapp.forms.reminders import ReminderForm, hours_text
from webapp.jobs import mail as mail_jobs
from webapp.models import Booking, BookingPage, MessageKind, MessageStatus, OutboxMessage
from webapp.services.notifications import delivery
from webapp.services.notifications import plan as mail_plan
from webapp.views.admin import bp, get_owned_or_404, org_id
from webapp.web.htmx import is_htmx, render_partial

PAGE_SIZE = 100


def _filtered(args):
    query = (select(OutboxMessage).join(Booking).where(OutboxMessage.organization_id == org_id())
             .options(contains_eager(OutboxMessage.booking).joinedload(Booking.page))
             .order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE))
    if args.get("status") in {s.value for s in MessageStatus}:
        query = query.where(OutboxMessage.status == args["status"])
    if args.get("kind") in {k.value for k in MessageKind}:
        query = query.where(OutboxMessage.kind == args["kind"])
    return db.session.scalars(query).all()


@bp.get("/mail")
def list_messages():
    return render_template("admin/mail/index.html", messages=_filtered(request.args),
                           args=request.args, statuses=list(MessageStatus),
                           kinds=list(MessageKind), form=EmptyForm())


@bp.get("/mail/<int:message_id>/row")
def message_row(message_id: int):
    message = get_owned_or_404(OutboxMessage, message_id)
    return render_partial("admin/mail/_row.html", m=message, form=EmptyForm())


@bp.post("/mail/<int:message_id>/resend")
def resend_message(message_id: int):
    message = get_owned_or_404(OutboxMessage, message_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if message.status not in delivery.RESENDABLE:
        abort(409)
    delivery.resend(message)
    db.session.commit()
    mail_jobs.enqueue_message(message_id)  # after the commit; a down Redis: the sweeper
    if is_htmx():
        return message_row(message_id)
    return redirect(url_for("admin.list_messages"))


@bp.route("/pages/<int:page_id>/reminders", methods=["GET", "POST"])
def page_reminders(page_id: int):
    """リマインダー of one page (N4): a partial loaded into 詳細設定, or a page of its own."""
    page = get_owned_or_404(BookingPage, page_id)
    form = ReminderForm()
    status, trigger = 200, None
    if request.method == "POST":
        if form.validate_on_submit():
            mail_plan.set_reminder_minutes(page.id, form.minutes)
            db.session.commit()
            trigger = {"saved": _("リマインダーを保存しました。")}
        else:
            status = 422
    if request.method == "GET" or status == 200:
        form.hours.data = hours_text(mail_plan.reminder_minutes(page.id))
    if is_htmx():
        return render_partial("admin/mail/_reminders.html", status, trigger, page=page, form=form)
    return render_template("admin/mail/reminders.html", page=page, form=form), status
