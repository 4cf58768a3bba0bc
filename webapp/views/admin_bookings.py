"""予約の詳細 (R2, R7): one booking as the admin sees it: when, who, how the host was chosen,
its meeting, its syncs, and whether the meeting happened."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from wtforms import RadioField
from wtforms.validators import InputRequired

from webapp import jobs
from webapp.extensions import db
from webapp.forms import EmptyForm
from webapp.models import Booking
from webapp.services import meetings, outbox, outcomes, routing
from webapp.services.sync import wording
from webapp.views.admin import bp, get_owned_or_404


class OutcomeForm(EmptyForm):
    outcome = RadioField(choices=list(outcomes.LABELS.items()), validators=[InputRequired()])


@bp.get("/bookings/<int:booking_id>")
def show_booking(booking_id: int):
    booking = get_owned_or_404(Booking, booking_id)
    return _render(booking, OutcomeForm(outcome=booking.outcome or None))


@bp.post("/bookings/<int:booking_id>/outcome")
def mark_booking_outcome(booking_id: int):
    booking = get_owned_or_404(Booking, booking_id)
    form = OutcomeForm()
    if not form.validate_on_submit():
        return _render(booking, form, 422)
    try:
        outcomes.set_outcome(booking, form.outcome.data)
    except outcomes.OutcomeRefused as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return redirect(url_for("admin.show_booking", booking_id=booking.id))
    work = outbox.stamp_tracked(db.session)
    db.session.commit()
    jobs.enqueue_after_commit(work)
    flash(_("実施結果を「%(label)s」にしました。", label=outcomes.LABELS[form.outcome.data]),
          "success")
    return redirect(url_for("admin.show_booking", booking_id=booking.id))


def _render(booking: Booking, form, status: int = 200):
    return render_template(
        "admin/bookings/show.html", booking=booking, form=form,
        place=meetings.where(booking), meeting=meetings.current(booking.id),
        routed=booking.routing or {}, routed_name=routing.member_name(
            (booking.routing or {}).get("member_id")),
        reason=wording.routing_reason_text, can_mark=outcomes.can_mark(booking),
        outcome_labels=outcomes.LABELS), status
