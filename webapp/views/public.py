"""Public booking flow: slots, the booking form, confirmation and the private manage link.

Every state change is a CSRF-protected, rate-limited POST. The booking and its sync record are
committed together, and the sync is queued only after the commit (S1); a queue outage is not
the customer's problem (S2), so enqueue_sync's result is deliberately ignored here.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from webapp import jobs
from webapp.config import DEFAULT_TIMEZONE
from webapp.extensions import db, limiter
from webapp.forms_public import (
    CancelForm,
    RescheduleForm,
    booking_form,
    parse_start,
    resolve_timezone,
)
from webapp.i18n import join_list
from webapp.models import Booking, BookingPage, FieldType, utcnow
from webapp.services import bookings
from webapp.services import slots as slot_rules

bp = Blueprint("public", __name__)

COMMON_TIMEZONES = (
    DEFAULT_TIMEZONE, "Asia/Seoul", "Asia/Shanghai", "Asia/Singapore", "Asia/Kolkata", "UTC",
    "Europe/London", "Europe/Paris", "America/New_York", "America/Chicago",
    "America/Los_Angeles", "Australia/Sydney",
)


def _booking_limit() -> str:
    return current_app.config["RATELIMIT_BOOKING"]


@bp.get("/p/<slug>")
def booking_page(slug: str):
    page = _page_or_404(slug)
    return _render_slots(page, "public/page.html")


@bp.get("/p/<slug>/book")
def book_form(slug: str):
    page = _page_or_404(slug)
    if "start" not in request.args:
        return redirect(url_for(".booking_page", slug=slug))
    try:
        slot = bookings.find_slot(page, _requested_start(request.args.get("start")))
    except bookings.SlotUnavailable as exc:
        return _render_slots(page, "public/page.html", message=exc.message, status=409)
    form = booking_form(page, start=slot_rules.format_start(slot.start), tz=_display_tz(page))
    return _render_form(page, form, slot.start)


@bp.post("/p/<slug>/book")
@limiter.limit(_booking_limit)
def create_booking(slug: str):
    page = _page_or_404(slug)
    form = booking_form(page)
    try:
        start = _requested_start(form.start.data)
        if not form.validate_on_submit():
            return _render_form(page, form, start, status=422)
        booking, record = bookings.create_booking(page, start, form.details(str(get_locale())))
        # Read before the commit expires the rows.
        sync_id, token, org = record.id, booking.token, page.organization_id
        db.session.commit()
    except bookings.SlotUnavailable as exc:
        db.session.rollback()
        return _render_slots(page, "public/page.html", message=exc.message, status=409)
    jobs.enqueue_sync(sync_id, org_id=org)  # after the commit (S1); False leaves it pending (S2)
    return redirect(url_for(".booking_detail", token=token))


@bp.get("/b/<token>")
def booking_detail(token: str):
    booking = _booking_or_404(token)
    return render_template("public/detail.html", booking=booking, page=booking.page,
                           cancel_form=CancelForm(), answers=_answers(booking))


@bp.post("/b/<token>/cancel")
@limiter.limit(_booking_limit)
def cancel_booking(token: str):
    booking = _booking_or_404(token)
    form = CancelForm()
    if booking.is_cancelled:
        return _render_detail(booking, form, _("この予約はすでにキャンセルされています。"), 409)
    if not form.validate_on_submit():
        return _render_detail(booking, form, None, 422)
    org = booking.organization_id
    sync_id = bookings.cancel_booking(booking, form.reason.data or "").id
    db.session.commit()
    jobs.enqueue_sync(sync_id, org_id=org)
    return redirect(url_for(".booking_detail", token=token, done="cancelled"))


@bp.get("/b/<token>/reschedule")
def reschedule_page(token: str):
    booking = _open_booking_or_redirect(token)
    if not isinstance(booking, Booking):
        return booking
    if "start" not in request.args:
        return _render_slots(booking.page, "public/reschedule.html", booking=booking)
    try:
        start = _requested_start(request.args.get("start"))
        slot = bookings.find_slot(booking.page, start, exclude_booking_id=booking.id)
    except bookings.SlotUnavailable as exc:
        return _render_slots(booking.page, "public/reschedule.html", booking=booking,
                             message=exc.message, status=409)
    form = RescheduleForm(start=slot_rules.format_start(slot.start))
    return render_template("public/reschedule_confirm.html", booking=booking, page=booking.page,
                           slot=slot, form=form, tz=_display_tz(booking.page))


@bp.post("/b/<token>/reschedule")
@limiter.limit(_booking_limit)
def reschedule_booking(token: str):
    booking = _open_booking_or_redirect(token)
    if not isinstance(booking, Booking):
        return booking
    form = RescheduleForm()
    try:
        start = _requested_start(form.start.data if form.validate_on_submit() else None)
        sync_id, org = bookings.reschedule_booking(booking, start).id, booking.organization_id
        db.session.commit()
    except bookings.SlotUnavailable as exc:
        db.session.rollback()
        return _render_slots(booking.page, "public/reschedule.html", booking=booking,
                             message=exc.message, status=409)
    jobs.enqueue_sync(sync_id, org_id=org)
    return redirect(url_for(".booking_detail", token=token, done="rescheduled"))


def _requested_start(value: str | None):
    """The submitted start as UTC, or SlotUnavailable for anything unparseable."""
    start = parse_start(value)
    if start is None:
        raise bookings.SlotUnavailable("invalid", bookings.INVALID_START)
    return start


def _page_or_404(slug: str) -> BookingPage:
    page = bookings.get_public_page(slug) if len(slug) <= 80 else None
    if page is None:
        abort(404)
    return page


def _booking_or_404(token: str) -> Booking:
    booking = bookings.get_booking_by_token(token)
    if booking is None:
        abort(404)
    return booking


def _open_booking_or_redirect(token: str):
    """The booking when it can still change; a cancelled one gets its page and a message."""
    booking = _booking_or_404(token)
    if booking.is_cancelled:
        message = _("キャンセルされた予約は日時を変更できません。")
        return _render_detail(booking, CancelForm(formdata=None), message, 409)
    return booking


def _display_tz(page: BookingPage) -> str:
    """The zone slots are shown in: ?tz= (or the form's tz) when valid, else the org's zone."""
    chosen = request.values.get("tz")
    return resolve_timezone(chosen) or page.organization.timezone or DEFAULT_TIMEZONE


def _render_slots(page: BookingPage, template: str, message=None, status: int = 200, **ctx):
    tz = _display_tz(page)
    now = utcnow()
    week = request.args.get("week", 0, type=int)
    start, end, week, last_week = slot_rules.week_range(now, tz, week, page.window_days)
    booking = ctx.get("booking")
    found = bookings.available_slots(page, now, start, end,
                                     exclude_booking_id=booking.id if booking else None)
    if booking is not None:  # moving to the current time would only add a useless sync
        found = [slot for slot in found if slot.start != booking.start_at]
    return render_template(
        template, page=page, days=slot_rules.group_by_day(found, tz), tz=tz, week=week,
        last_week=last_week, message=message, timezones=COMMON_TIMEZONES, range_start=start,
        slot_href=lambda slot: _slot_href(page, slot, tz, ctx.get("booking")), **ctx,
    ), status


def _slot_href(page: BookingPage, slot, tz: str, booking: Booking | None) -> str:
    start = slot_rules.format_start(slot.start)
    if booking is not None:
        return url_for(".reschedule_page", token=booking.token, start=start, tz=tz)
    return url_for(".book_form", slug=page.slug, start=start, tz=tz)


def _render_form(page: BookingPage, form, start, status: int = 200):
    tz = resolve_timezone(form.tz.data) or page.organization.timezone
    return render_template("public/book.html", page=page, form=form, start=start, tz=tz,
                           end=start + timedelta(minutes=page.duration_minutes)), status


def _render_detail(booking: Booking, cancel_form, message, status: int):
    return render_template("public/detail.html", booking=booking, page=booking.page,
                           cancel_form=cancel_form, answers=_answers(booking),
                           message=message), status


def _answers(booking: Booking) -> list[tuple[str, str]]:
    """(label, answer) for the shown custom fields; hidden fields stay hidden from customers."""
    shown = []
    for field in booking.page.fields:
        if field.field_type == FieldType.HIDDEN.value:
            continue
        value = (booking.answers or {}).get(str(field.id), "")
        shown.append((field.label, join_list(value) if isinstance(value, list) else value))
    return shown
