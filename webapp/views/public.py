"""Public booking flow: slots, the booking form, confirmation and the private manage link.

Every state change is a CSRF-protected, rate-limited POST. The booking, its sync record, its
e-mails and its calendar writes are stamped and committed together in one commit, then queued
by the ids already held (services/outbox.py, S1, N5, K4); a queue outage is not the customer's
problem (S2): the sweeper queues whatever Redis refused.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from email.utils import parseaddr

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy.orm import undefer

from webapp import jobs
from webapp import settings as app_settings
from webapp.config import DEFAULT_TIMEZONE
from webapp.extensions import db, limiter
from webapp.forms.public import (
    CancelForm,
    OutcomeLinkForm,
    RescheduleForm,
    RouteForm,
    booking_form,
    parse_start,
    resolve_timezone,
)
from webapp.jobs import calendars as calendar_jobs
from webapp.models import Booking, BookingPage, FieldType, Organization, utcnow
from webapp.services import (
    availability_cache,
    bookings,
    calendar_links,
    meetings,
    outbox,
    outcomes,
    picker,
    routing,
)
from webapp.services import slots as slot_rules
from webapp.services.calendars import live_check, salesforce_busy
from webapp.services.calendars import sync as calendar_sync
from webapp.services.embedding import stored_origins
from webapp.services.ical_uid import booking_uid
from webapp.web import embed
from webapp.web.i18n import join_list

bp = Blueprint("public", __name__)
# O6: inside a frame, every link and form of the flow keeps ``embed=1``.
bp.url_defaults(embed.keep_embed)

COMMON_TIMEZONES = (
    DEFAULT_TIMEZONE, "Asia/Seoul", "Asia/Shanghai", "Asia/Singapore", "Asia/Kolkata", "UTC",
    "Europe/London", "Europe/Paris", "America/New_York", "America/Chicago",
    "America/Los_Angeles", "Australia/Sydney",
)


def _booking_limit() -> str:
    return current_app.config["RATELIMIT_BOOKING"]


def _page_key() -> str:
    return "booking-page:" + (request.view_args or {}).get("slug", "")


def _email_key() -> str:
    # Hashed: the limiter's storage never holds the customer's address.
    email = (request.form.get("email") or "").strip().lower()
    return "booking-email:" + hashlib.sha256(email.encode()).hexdigest()


def _created(response) -> bool:
    return response.status_code == 302


# Spam that rotates client addresses still lands on one page or one customer email; each
# created booking makes a Lead, so those count too, in every web process (Redis storage).
_per_page = limiter.limit(lambda: current_app.config["RATELIMIT_BOOKING_PER_PAGE"],
                          key_func=_page_key, deduct_when=_created)
_per_email = limiter.limit(lambda: current_app.config["RATELIMIT_BOOKING_PER_EMAIL"],
                           key_func=_email_key, deduct_when=_created,
                           exempt_when=lambda: not request.form.get("email"))

# After the page's cutoff the private link is read-only (F4).
# O6: the session key of a booking just made in a frame, until its confirmation is shown.
JUST_BOOKED = "embed-booked"

CHANGES_CLOSED = _l("この予約は変更・キャンセルの受付を終了しました。"
                    "ご用件はご予約先へ直接ご連絡ください。")


@bp.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.get("/logo/<int:org_id>/<version>.png")
def org_logo(org_id: int, version: str):
    """The organization's logo as Apo wrote it; the version in the URL is its hash, so the
    browser keeps it for a year and a new logo is a new URL."""
    organization = db.session.get(Organization, org_id,
                                  options=[undefer(Organization.logo_png)])  # one query
    if organization is None or not organization.logo_version or \
            organization.logo_version != version or organization.logo_png is None:
        abort(404)
    response = make_response(organization.logo_png)
    response.mimetype = "image/png"
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@bp.get("/p/<slug>")
def booking_page(slug: str):
    page = _page_or_404(slug)
    if page.route_by_owner:
        if request.args.get("reroute"):
            session.pop(_route_key(page), None)
        if _route(page) is None:  # R1: the email first
            return _render_route(page, RouteForm())
    return _render_slots(page, "public/page.html")


# R3: the routing step is limited like booking, per client and per email, and every lookup
# counts (not only bookings made), so it cannot be used to test many addresses.
_route_per_email = limiter.limit(lambda: current_app.config["RATELIMIT_BOOKING_PER_EMAIL"],
                                 key_func=lambda: "route-" + _email_key(),
                                 exempt_when=lambda: not request.form.get("email"))


@bp.post("/p/<slug>/route")
@limiter.limit(_booking_limit)
@_route_per_email
def route_customer(slug: str):
    """R1: look up who owns this email in Salesforce, remember the decision in the session
    (signed, for this page), and show the page with that member's times; works without JS."""
    page = _page_or_404(slug)
    if not page.route_by_owner:
        return redirect(url_for(".booking_page", slug=slug))
    form = RouteForm()
    if not form.validate_on_submit():
        return _render_route(page, form, 422)
    decision = routing.decide_evenly(page, form.email.data, app_settings.current().salesforce)
    session[_route_key(page)] = routing.sign(page, form.email.data, decision,
                                             current_app.config["SECRET_KEY"])
    return redirect(url_for(".booking_page", slug=slug))


def _route_key(page: BookingPage) -> str:
    return f"route-{page.id}"


def _route(page: BookingPage, email: str | None = None):
    """(email, Decision) remembered for this page, or None (R1)."""
    if not page.route_by_owner:
        return None
    return routing.read(session.get(_route_key(page)), page, current_app.config["SECRET_KEY"],
                        email)


def _routed_member(page: BookingPage) -> int | None:
    found = _route(page)
    return None if found is None or found[1].fallback else found[1].member_id


def _render_route(page: BookingPage, form, status: int = 200):
    return render_template("public/route.html", page=page, form=form), status


@bp.get("/p/<slug>/book")
def book_form(slug: str):
    page = _page_or_404(slug)
    if "start" not in request.args:
        return redirect(url_for(".booking_page", slug=slug))
    if page.route_by_owner and _route(page) is None:
        return redirect(url_for(".booking_page", slug=slug))
    try:
        slot = bookings.find_slot(page, _requested_start(request.args.get("start")),
                                  member_id=_routed_member(page))
    except bookings.SlotUnavailable as exc:
        return _render_slots(page, "public/page.html", message=exc.message, status=409)
    routed = _route(page)
    form = booking_form(page, start=slot_rules.format_start(slot.start), tz=_display_tz(page),
                        email=routed[0] if routed else None)
    return _render_form(page, form, slot.start)


@bp.post("/p/<slug>/book")
@limiter.limit(_booking_limit)
@_per_page
@_per_email
def create_booking(slug: str):
    page = _page_or_404(slug)
    form = booking_form(page)
    try:
        start = _requested_start(form.start.data)
        if not form.validate_on_submit():
            return _render_form(page, form, start, status=422)
        live = _live_check(page, start)
        booking, _ = bookings.create_booking(page, start, form.details(str(get_locale())),
                                             live=live, routing=_decision_for(page, form))
        work = outbox.stamp_tracked(db.session)
        token = booking.token  # read before the commit expires the rows
        db.session.commit()
    except bookings.SlotUnavailable as exc:
        db.session.rollback()
        return _render_slots(page, "public/page.html", message=exc.message, status=409)
    jobs.enqueue_after_commit(work)
    if embed.requested():
        session[JUST_BOOKED] = token  # O6: the confirmation tells the framing site, once
    return redirect(url_for(".booking_detail", token=token))


@bp.get("/b/<token>")
def booking_detail(token: str):
    booking = _booking_or_404(token)
    just_booked = embed.requested() and session.pop(JUST_BOOKED, None) == token
    return _render_detail(booking, CancelForm(), None, 200, just_booked=just_booked)


@bp.route("/o/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def booking_outcome(token: str):
    """R7: the member marks the meeting held or no-show from the link in their e-mail."""
    found = outcomes.read_link(token, current_app.config["SECRET_KEY"])
    if found is None:
        abort(404)
    booking, member = found
    form = OutcomeLinkForm()
    message, status = None, 200
    if request.method == "POST":
        if not form.validate_on_submit():
            message, status = _("実施結果を選んでください。"), 422
        else:
            try:
                outcomes.set_outcome(booking, form.outcome.data, by_link=True)
            except outcomes.OutcomeRefused as refused:
                db.session.rollback()
                message, status = str(refused), 409
            else:
                work = outbox.stamp_tracked(db.session)
                db.session.commit()
                jobs.enqueue_after_commit(work)
                return redirect(url_for(".booking_outcome", token=token, saved=1))
    return render_template("public/outcome.html", booking=booking, page=booking.page,
                           member=member, form=form,
                           message=message, labels=outcomes.LABELS,
                           open=outcomes.can_mark(booking, by_link=True)), status


@bp.get("/b/<token>/place")
def booking_place(token: str):
    """The meeting's place as a fragment: the confirmation page asks for it until the
    link is there (V4)."""
    booking = _booking_or_404(token)
    return render_template("public/_place.html", booking=booking,
                           place=meetings.where(booking))


@bp.get("/b/<token>/calendar.ics")
def booking_ics(token: str):
    booking = _booking_or_404(token)
    mail = app_settings.current().notifications
    body = calendar_links.booking_ics(booking, booking_uid(booking.id, mail.uid_domain),
                                      _calendar_details(booking), utcnow(),
                                      parseaddr(mail.sender)[1])
    response = make_response(body)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="apo-booking.ics"'
    return response


@bp.get("/b/<token>/cancel")
def cancel_confirm(token: str):
    booking = _booking_or_404(token)
    if not bookings.changes_open(booking):
        return redirect(url_for(".booking_detail", token=token))
    return render_template("public/cancel.html", booking=booking, page=booking.page,
                           form=CancelForm())


@bp.post("/b/<token>/cancel")
@limiter.limit(_booking_limit)
def cancel_booking(token: str):
    booking = _booking_or_404(token, lock=True)
    form = CancelForm()
    if booking.is_cancelled:
        return _render_detail(booking, form, _("この予約はすでにキャンセルされています。"), 409)
    if not bookings.changes_open(booking):
        return _render_detail(booking, form, CHANGES_CLOSED, 409)
    if not form.validate_on_submit():
        return render_template("public/cancel.html", booking=booking, page=booking.page,
                               form=form), 422
    bookings.cancel_booking(booking, form.reason.data or "")
    work = outbox.stamp_tracked(db.session)
    db.session.commit()
    jobs.enqueue_after_commit(work)
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
        slot = bookings.find_slot(booking.page, start, exclude_booking_id=booking.id,
                                  member_id=bookings.routed_member(booking))
    except bookings.SlotUnavailable as exc:
        return _render_slots(booking.page, "public/reschedule.html", booking=booking,
                             message=exc.message, status=409)
    form = RescheduleForm(start=slot_rules.format_start(slot.start))
    return render_template("public/reschedule_confirm.html", booking=booking, page=booking.page,
                           slot=slot, form=form, tz=_display_tz(booking.page))


@bp.post("/b/<token>/reschedule")
@limiter.limit(_booking_limit)
def reschedule_booking(token: str):
    # K7 before X7: the live check may commit (refreshed credentials), so it runs before the
    # booking's lock is taken (a commit would release it) and never holds the lock over
    # provider calls.
    form = RescheduleForm()
    current = _booking_or_404(token)
    wanted = parse_start(form.start.data) if form.validate_on_submit() else None
    live = _live_check(current.page, wanted, current) if wanted else None
    booking = _open_booking_or_redirect(token, lock=True)
    if not isinstance(booking, Booking):
        return booking
    try:
        start = wanted or _requested_start(None)  # nothing valid submitted: refused
        record = bookings.reschedule_booking(booking, start, live=live)
        if record is None:  # already at that time (a repeated submit): nothing to sync
            return redirect(url_for(".booking_detail", token=token))
        work = outbox.stamp_tracked(db.session)
        db.session.commit()
    except bookings.SlotUnavailable as exc:
        db.session.rollback()
        return _render_slots(booking.page, "public/reschedule.html", booking=booking,
                             message=exc.message, status=409)
    jobs.enqueue_after_commit(work)
    return redirect(url_for(".booking_detail", token=token, done="rescheduled"))


def _live_check(page: BookingPage, start, booking: Booking | None = None):
    """K7: the chosen slot asked of the members' calendars (and Salesforce Events, K5) now,
    in parallel and bounded; a calendar found busy is synced again at once (short timeout),
    so the page the customer sees next no longer offers the slot."""
    member_ids = [m.id for m in page.members]
    end = start + timedelta(minutes=page.duration_minutes)
    salesforce = salesforce_busy.live_source(page.organization_id, member_ids,
                                             app_settings.current().salesforce)
    own = ((booking.start_at, booking.end_at),) if booking is not None else ()
    answer = live_check.check(member_ids, live_check.window_for(start, end, page.buffer_minutes),
                              calendar_jobs.options(), salesforce, ignore=own)
    if answer.stale_connections:  # rare: a conflict the stored copy missed
        calendar_sync.refresh_connections(answer.stale_connections, calendar_jobs.options())
    if db.session.dirty or answer.stale_connections:  # refreshed tokens, fresher copies
        db.session.commit()
    return answer


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
    embed.allow_framing(stored_origins(page.organization.embed_origins))
    return page


def _booking_or_404(token: str, lock: bool = False) -> Booking:
    # Changes lock the booking first (X7); views of it only read.
    booking = bookings.lock_booking(token) if lock else bookings.get_booking_by_token(token)
    if booking is None:
        abort(404)
    embed.allow_framing(stored_origins(booking.page.organization.embed_origins))
    return booking


def _open_booking_or_redirect(token: str, lock: bool = False):
    """The booking when it can still change; a cancelled or closed one gets its page and a
    message."""
    booking = _booking_or_404(token, lock)
    if booking.is_cancelled:
        message = _("キャンセルされた予約は日時を変更できません。")
        return _render_detail(booking, CancelForm(formdata=None), message, 409)
    if not bookings.changes_open(booking):
        return _render_detail(booking, CancelForm(formdata=None), CHANGES_CLOSED, 409)
    return booking


def _decision_for(page: BookingPage, form):
    """R2: the routing decision this booking records; a customer who changed the email
    after the lookup is routed as usual (the owner was looked up for another address)."""
    if not page.route_by_owner:
        return None
    found = _route(page, form.email.data)
    if found is None:
        return routing.Decision(reason="email_changed")
    return found[1]


def _display_tz(page: BookingPage) -> str:
    """The zone slots are shown in: ?tz= (or the form's tz) when valid, else the org's zone."""
    chosen = request.values.get("tz")
    return resolve_timezone(chosen) or page.organization.timezone or DEFAULT_TIMEZONE


def _render_slots(page: BookingPage, template: str, message=None, status: int = 200, **ctx):
    tz = _display_tz(page)
    booking = ctx.get("booking")
    member_id = bookings.routed_member(booking) if booking else _routed_member(page)
    now = utcnow()
    month = picker.parse_month(request.args.get("month"))
    day = picker.parse_day(request.args.get("day"))
    if member_id is not None and booking is None:
        ctx.setdefault("routed_name", routing.member_name(member_id))
    partial = bool(request.headers.get("HX-Request") and not request.headers.get("HX-Boosted"))

    def render_picker(view) -> str:
        return render_template("public/_slots.html", page=page, view=view, tz=tz,
                               message=message, timezones=COMMON_TIMEZONES,
                               slot_href=lambda slot: _slot_href(page, slot, tz, booking))

    def compute_view():
        return picker.month_view(
            page, now, tz, month=month, day=day,
            exclude_booking_id=booking.id if booking else None,
            skip_start=booking.start_at if booking else None,  # the same time is no move
            member_id=member_id,  # R1: a routed customer sees their owner's times only
            cached=partial_slots,
        )

    def partial_slots(page, now, start, end, member_id):
        return availability_cache.page_slots(current_app, db.session, page, now, start, end,
                                             member_id)

    if booking is None and message is None:
        # What every visitor of this page, zone, language and day sees: rendered once per
        # availability version and 5-minute span, shared by every web process (O4).
        html = availability_cache.picker_html(
            current_app, db.session, page, now,
            (member_id, tz, str(get_locale()), month, day, embed.requested()),
            lambda: render_picker(compute_view()))
    else:
        html = render_picker(compute_view())
    if partial:  # a day or month picked: only the picker is swapped
        response = make_response(html, status)
    else:
        # The picker is our own template's output, escaped when it was rendered.
        picker_html = Markup(html)  # noqa: S704
        response = make_response(render_template(
            template, page=page, tz=tz, message=message, picker_html=picker_html, **ctx),
            status)
    response.vary.add("HX-Request")
    return response


def _slot_href(page: BookingPage, slot, tz: str, booking: Booking | None) -> str:
    start = slot_rules.format_start(slot.start)
    if booking is not None:
        return url_for(".reschedule_page", token=booking.token, start=start, tz=tz)
    return url_for(".book_form", slug=page.slug, start=start, tz=tz)


def _render_form(page: BookingPage, form, start, status: int = 200):
    tz = resolve_timezone(form.tz.data) or page.organization.timezone
    return render_template("public/book.html", page=page, form=form, start=start, tz=tz,
                           end=start + timedelta(minutes=page.duration_minutes),
                           routed_name=routing.member_name(_routed_member(page))), status


def _render_detail(booking: Booking, cancel_form, message, status: int,
                   just_booked: bool = False):
    google_url = calendar_links.google_calendar_url(booking, _calendar_details(booking))
    return render_template("public/detail.html", booking=booking, page=booking.page,
                           just_booked=just_booked,
                           cancel_form=cancel_form, answers=_answers(booking),
                           place=meetings.where(booking),
                           message=message, google_url=google_url,
                           changes_open=bookings.changes_open(booking)), status


def _calendar_details(booking: Booking) -> str:
    link = url_for(".booking_detail", token=booking.token, _external=True)
    return _("予約の確認・変更・キャンセル: %(url)s", url=link)


def _answers(booking: Booking) -> list[tuple[str, str]]:
    """(label, answer) for the shown custom fields; hidden fields stay hidden from customers."""
    shown = []
    for field in booking.page.fields:
        if field.field_type == FieldType.HIDDEN.value:
            continue
        value = (booking.answers or {}).get(str(field.id), "")
        shown.append((field.label, join_list(value) if isinstance(value, list) else value))
    return shown


@bp.app_context_processor
def _location_labels():
    return {"location_labels": meetings.LOCATION_LABELS}
