"""Booking lifecycle on the public side: offer slots, book, cancel, reschedule (O4, O5, F4, S1).

Functions add and flush; the caller commits and only then queues the sync record (S1, S2).
Double booking is prevented by the BusySlot primary key, not by the availability check: a
customer who loses a race gets SlotTaken from the failed flush and the caller rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from webapp.config import DEFAULT_TIMEZONE
from webapp.extensions import db
from webapp.models import (
    AttendMode,
    Booking,
    BookingMember,
    BookingPage,
    BookingStatus,
    BusySlot,
    MessageKind,
    SyncAction,
    SyncRecord,
    utcnow,
)
from webapp.services import meetings, outbox
from webapp.services import slots as slot_rules
from webapp.services.calendars import availability as calendar_availability
from webapp.services.calendars import writeback as calendar_writeback
from webapp.services.notifications import plan as mail_plan

INVALID_START = _l("選択された日時が正しくありません。日時を選び直してください。")
CLOSED_START = _l("選択された日時は受付を終了しました。別の日時を選んでください。")
OUTSIDE_WINDOW = _l("選択された日時は予約を受け付けている期間の外です。")


class SlotUnavailable(Exception):
    """The chosen start cannot be booked: `reason` is a code, `message` tells the customer."""

    reason = "busy"
    message = _l("選択された日時は空いていません。別の日時を選んでください。")

    def __init__(self, reason: str | None = None, message=None):
        # Messages stay lazy: they are translated when rendered, inside the request.
        super().__init__(reason or self.reason)
        self.reason = reason or self.reason
        if message is not None:  # not `or`: truthiness would translate the lazy string now
            self.message = message


class SlotTaken(SlotUnavailable):
    """Another customer's booking claimed the same units first (the database said so)."""

    reason = "taken"
    message = _l("選択された日時は直前に埋まりました。別の日時を選んでください。")


class BookingClosed(Exception):
    """The booking is cancelled: it can be neither cancelled again nor rescheduled."""


@dataclass
class CustomerDetails:
    """What the customer entered on the booking form, already validated (F1-F3)."""

    email: str
    name: str = ""
    last_name: str = ""
    first_name: str = ""
    company: str = ""
    answers: dict = field(default_factory=dict)
    attendees: list = field(default_factory=list)
    customer_timezone: str = ""
    locale: str = "ja"
    phone: str = ""  # V1: when the host calls the customer


def get_public_page(slug: str) -> BookingPage | None:
    """The published booking page with this slug, or None."""
    return db.session.scalar(
        select(BookingPage).where(BookingPage.slug == slug, BookingPage.is_published.is_(True))
    )


def get_booking_by_token(token: str) -> Booking | None:
    """The booking behind a private link, or None for an unknown token."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Booking).where(Booking.token == token))


def lock_booking(token: str) -> Booking | None:
    """The booking behind a private link, locked against other changes until the caller's
    commit or rollback, and read fresh (X7): concurrent cancels and reschedules of one booking
    run one after the other, each deciding on what the previous one wrote.

    PostgreSQL locks the row (SELECT ... FOR UPDATE); SQLite takes its database write lock
    (BEGIN IMMEDIATE) before reading. Call it before the request writes anything.
    """
    if not token or len(token) > 64:
        return None
    if db.engine.dialect.name == "sqlite":
        connection = db.session.connection()
        if not connection.connection.driver_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    return db.session.scalar(select(Booking).where(Booking.token == token).with_for_update()
                             .execution_options(populate_existing=True))


def available_slots(
    page: BookingPage,
    now: datetime | None = None,
    range_start: datetime | None = None,
    range_end: datetime | None = None,
    exclude_booking_id: int | None = None,
    live=None,
    member_id: int | None = None,
    unbounded: bool = False,
) -> list[slot_rules.Slot]:
    """Slots the page offers in [range_start, range_end) (default: its whole window).

    Busy units come from every booking of the organization, so a member booked through another
    page is busy here too. `exclude_booking_id` ignores one booking's own claim (reschedule).
    `live`: what the confirm's live check found (K7, calendars/live_check.LiveAnswer).
    `member_id`: only that member's times (R1, a customer routed to their owner).
    `unbounded`: leave out what moves with the clock (minimum notice, the window's end) for
    the shared cache, which applies them when it is read (availability_cache).
    """
    now = now or utcnow()
    lower = range_start or now
    upper = range_end or now + timedelta(days=page.window_days)
    window_days = page.window_days
    if unbounded:
        window_days = max(window_days, (upper - now).days + 2)
    return slot_rules.compute_slots(
        _schedules(page, lower, upper, exclude_booking_id, now, live, member_id),
        duration_minutes=page.duration_minutes,
        buffer_minutes=page.buffer_minutes,
        window_days=window_days,
        now=now,
        attend_all=page.attend_mode != AttendMode.ROUND_ROBIN.value and member_id is None,
        range_start=range_start,
        range_end=range_end,
        min_notice=timedelta(0) if unbounded else min_notice(page),
    )


def min_notice(page: BookingPage) -> timedelta:
    """R4: the page's minimum notice (the seed's one hour unless the admin set another)."""
    minutes = page.min_notice_minutes
    return slot_rules.MIN_NOTICE if minutes is None else timedelta(minutes=minutes)


def find_slot(
    page: BookingPage, start: datetime, now: datetime | None = None,
    exclude_booking_id: int | None = None, live=None, member_id: int | None = None,
) -> slot_rules.Slot:
    """The offered slot starting at `start`, or SlotUnavailable saying why it is not offered."""
    now = now or utcnow()
    if start.tzinfo is None or not slot_rules.is_aligned(start, page.duration_minutes):
        raise SlotUnavailable("invalid", INVALID_START)
    if start < now + min_notice(page):
        raise SlotUnavailable("closed", CLOSED_START)
    if start >= now + timedelta(days=page.window_days):
        raise SlotUnavailable("outside", OUTSIDE_WINDOW)
    found = available_slots(page, now, start, start + timedelta(seconds=1), exclude_booking_id,
                            live, member_id)
    if not found or found[0].start != start:
        raise SlotUnavailable()
    return found[0]


def routed_member(booking: Booking) -> int | None:
    """The host routing chose for this booking (R1), or None (no routing, or a fallback)."""
    routing = booking.routing or {}
    return None if routing.get("fallback", True) else routing.get("member_id")


def create_booking(
    page: BookingPage, start: datetime, details: CustomerDetails, now: datetime | None = None,
    live=None, routing=None,
) -> tuple[Booking, SyncRecord]:
    """Add a confirmed booking, its attending members, its BusySlot claims and a pending
    create sync record, all in the caller's transaction (S1).

    Raises:
        SlotUnavailable: the start is not offered (forged, past, outside the window, busy).
        SlotTaken: a concurrent booking claimed the same units first; roll back.
    """
    # R1, R2: a routed customer meets their owner; the decision, fallback or not, is kept.
    owner = None if routing is None or routing.fallback else routing.member_id
    slot = find_slot(page, start, now, live=live, member_id=owner)
    booking = Booking(
        organization_id=page.organization_id, page=page, start_at=slot.start, end_at=slot.end,
        status=BookingStatus.CONFIRMED.value, routing=routing.as_dict() if routing else {},
        **vars(details),
    )
    attending = _positions(page, [owner]) if owner else _attending(page, slot)
    booking.booking_members = [
        BookingMember(member_id=mid, position=pos) for pos, mid in attending
    ]
    record = SyncRecord(organization_id=page.organization_id, action=SyncAction.CREATE.value)
    booking.syncs.append(record)
    db.session.add(booking)
    outbox.track(db.session, outbox.Kind.SYNC, [record])  # S1: queued after the commit
    _claim(booking, page.buffer_minutes)
    meetings.plan(booking, now)  # V1: before the writes, which carry Meet and Teams
    calendar_writeback.plan_writes(booking, new=True)  # K4, in the booking's transaction like S1
    messages = mail_plan.record_booking_change(booking, MessageKind.CONFIRMATION, now=now)
    meetings.hold_mail(booking, messages, now=now)  # V4: one message, with the link
    return booking, record


def changes_open(booking: Booking, now: datetime | None = None) -> bool:
    """Whether the customer's private link may still reschedule or cancel (F4): until the
    page's cutoff before the start. Afterwards the link shows the booking read-only; the
    meeting has happened or is about to, and a change then would rewrite history."""
    cutoff = booking.start_at - timedelta(minutes=booking.page.change_cutoff_minutes or 0)
    return not booking.is_cancelled and (now or utcnow()) < cutoff


def cancel_booking(booking: Booking, reason: str = "", now: datetime | None = None) -> SyncRecord:
    """Cancel a booking: free its time, keep it as history, add a cancel sync record (F4, S7).

    Raises:
        BookingClosed: the booking was already cancelled.
    """
    if booking.is_cancelled:
        raise BookingClosed()
    db.session.execute(delete(BusySlot).where(BusySlot.booking_id == booking.id))
    booking.status = BookingStatus.CANCELLED.value
    booking.cancel_reason = reason.strip()
    booking.cancelled_at = now or utcnow()
    record = SyncRecord(organization_id=booking.organization_id, action=SyncAction.CANCEL.value)
    booking.syncs.append(record)
    outbox.track(db.session, outbox.Kind.SYNC, [record])
    db.session.flush()
    meetings.plan(booking, now)  # V3: the meeting is deleted
    calendar_writeback.plan_writes(booking)
    mail_plan.record_booking_change(booking, MessageKind.CANCELLATION, now=now)  # N3
    return record


def reschedule_booking(
    booking: Booking, start: datetime, now: datetime | None = None, live=None
) -> SyncRecord | None:
    """Move a booking to another offered slot of its page and add a reschedule sync record.

    Its own claim does not block the new time. A round-robin booking keeps its member when that
    member is free at the new time, else the round-robin rule picks again (O5). Moving to the
    time it already has changes nothing and returns None: one sync per real change (X7).

    Raises:
        BookingClosed: the booking is cancelled.
        SlotUnavailable / SlotTaken: as for create_booking.
    """
    if booking.is_cancelled:
        raise BookingClosed()
    page = booking.page
    owner = routed_member(booking)  # R1: a routed booking stays with its owner
    slot = find_slot(page, start, now, exclude_booking_id=booking.id, live=live, member_id=owner)
    if slot.start == booking.start_at:
        return None
    before = tuple(bm.member_id for bm in booking.booking_members)
    earlier = (booking.start_at, booking.end_at)
    # A bulk DELETE runs now; ORM deletes would run after the new claims' INSERTs and collide.
    db.session.execute(delete(BusySlot).where(BusySlot.booking_id == booking.id))
    if owner is None:
        _reassign_members(booking, page, slot)
    booking.start_at, booking.end_at = slot.start, slot.end
    record = SyncRecord(
        organization_id=booking.organization_id, action=SyncAction.RESCHEDULE.value
    )
    booking.syncs.append(record)
    outbox.track(db.session, outbox.Kind.SYNC, [record])
    _claim(booking, page.buffer_minutes)
    meetings.plan(booking, now)  # V3: moved; a new host gets a new meeting
    calendar_writeback.plan_writes(booking)
    messages = mail_plan.record_booking_change(booking, MessageKind.UPDATE, before, now=now,
                                               previous=earlier)
    meetings.hold_mail(booking, messages, now=now)
    return record


def _reassign_members(booking: Booking, page: BookingPage, slot: slot_rules.Slot) -> None:
    current = [bm.member_id for bm in booking.booking_members]
    keep = page.attend_mode == AttendMode.ROUND_ROBIN.value and set(current) <= set(
        slot.free_member_ids
    )
    chosen = current if keep else [mid for _, mid in _attending(page, slot)]
    if chosen == current:
        return
    for member in list(booking.booking_members):
        booking.booking_members.remove(member)
    db.session.flush()  # the old rows go before new ones reuse (booking, member) pairs
    booking.booking_members = [BookingMember(member_id=m, position=p) for p, m in
                               _positions(page, chosen)]


def _attending(page: BookingPage, slot: slot_rules.Slot) -> list[tuple[int, int]]:
    """(page position, member id) of the members who attend a booking in `slot` (O5, R4)."""
    if page.attend_mode != AttendMode.ROUND_ROBIN.value:
        return _positions(page, list(slot.free_member_ids))
    order = [pm.member_id for pm in page.page_members]
    weights = {pm.member_id: pm.weight or 1 for pm in page.page_members}
    served = _served(page) if len(set(weights.values())) > 1 else None
    chosen = slot_rules.pick_round_robin(slot.free_member_ids, order, _last_booked(page),
                                         weights, served)
    return _positions(page, [chosen])


SERVED_WINDOW = timedelta(days=30)


def _served(page: BookingPage) -> dict[int, int]:
    """R4: each member's confirmed bookings on this page made in the last 30 days, the load
    that weights divide."""
    since = utcnow() - SERVED_WINDOW
    return dict(db.session.execute(
        select(BookingMember.member_id, func.count())
        .join(Booking, Booking.id == BookingMember.booking_id)
        .where(Booking.page_id == page.id, Booking.status == BookingStatus.CONFIRMED.value,
               Booking.created_at >= since)
        .group_by(BookingMember.member_id)).all())


def _full_days(page: BookingPage, member_ids: list[int], lower: datetime, upper: datetime,
               exclude_booking_id: int | None) -> dict[int, frozenset]:
    """R4: the local days on which each capped member already has their cap of bookings on
    this page (round robin only; the cap is the page member's ``daily_cap``, 0 for none)."""
    caps = {pm.member_id: pm.daily_cap for pm in page.page_members
            if pm.daily_cap and pm.member_id in member_ids}
    if not caps or page.attend_mode != AttendMode.ROUND_ROBIN.value:
        return {}
    zones = {m.id: ZoneInfo(m.timezone or DEFAULT_TIMEZONE) for m in page.members}
    where = [Booking.page_id == page.id, Booking.status == BookingStatus.CONFIRMED.value,
             BookingMember.member_id.in_(list(caps)),
             Booking.start_at >= lower - timedelta(days=1),
             Booking.start_at < upper + timedelta(days=1)]
    if exclude_booking_id is not None:
        where.append(Booking.id != exclude_booking_id)
    counts: dict[tuple[int, object], int] = {}
    for member_id, start in db.session.execute(
            select(BookingMember.member_id, Booking.start_at)
            .join(Booking, Booking.id == BookingMember.booking_id).where(*where)):
        day = _as_utc(start).astimezone(zones[member_id]).date()
        counts[(member_id, day)] = counts.get((member_id, day), 0) + 1
    full: dict[int, set] = {}
    for (member_id, day), count in counts.items():
        if count >= caps[member_id]:
            full.setdefault(member_id, set()).add(day)
    return {member_id: frozenset(days) for member_id, days in full.items()}


def _positions(page: BookingPage, member_ids: list[int]) -> list[tuple[int, int]]:
    order = [pm.member_id for pm in page.page_members]
    return sorted((order.index(mid) if mid in order else len(order), mid) for mid in member_ids)


def _last_booked(page: BookingPage) -> dict[int, datetime]:
    """When each member last got a (still confirmed) booking on this page."""
    rows = db.session.execute(
        select(BookingMember.member_id, func.max(Booking.created_at))
        .join(Booking, Booking.id == BookingMember.booking_id)
        .where(Booking.page_id == page.id, Booking.status == BookingStatus.CONFIRMED.value)
        .group_by(BookingMember.member_id)
    )
    return {member_id: _as_utc(when) for member_id, when in rows if when is not None}


def _claim(booking: Booking, buffer_minutes: int) -> None:
    """Insert the booking's BusySlot rows; a primary-key clash means someone else won.

    One flush: a new booking, its members, its sync record and its claims go out together
    (the claims reference the booking object, so the ORM inserts it first).
    """
    try:
        units = slot_rules.claimed_units(booking.start_at, booking.end_at, buffer_minutes)
        db.session.add_all(
            BusySlot(member_id=bm.member_id, unit_start=unit, booking=booking)
            for bm in booking.booking_members
            for unit in units
        )
        db.session.flush()
    except IntegrityError as exc:
        raise SlotTaken() from exc


def _schedules(
    page: BookingPage, lower: datetime, upper: datetime, exclude_booking_id: int | None,
    now: datetime, live=None, member_id: int | None = None,
) -> list[slot_rules.MemberSchedule]:
    members = [m for m in page.members if member_id is None or m.id == member_id]
    if not members:
        return []
    margin = timedelta(minutes=page.duration_minutes + page.buffer_minutes)
    busy = _claimed_units([m.id for m in members], lower - slot_rules.UNIT, upper + margin,
                          exclude_booking_id)
    # Members' calendars and Salesforce Events, from the stored copy only (K2, K3, K5, K6).
    calendar_busy, unavailable = calendar_availability.busy_and_unavailable(
        page.organization_id, list(busy), lower - slot_rules.UNIT, upper + margin, now)
    if live is not None:  # K7: the confirm's live answers count beside the stored copy
        unavailable = unavailable | live.unavailable
        for member_id, intervals in live.busy.items():
            calendar_busy.setdefault(member_id, []).extend(intervals)
    for member_id, intervals in calendar_busy.items():
        if member_id not in busy:
            continue
        for start, end in intervals:
            busy[member_id].update(map(slot_rules.unit_number,
                                       slot_rules.interval_units(start, end)))
    full = _full_days(page, [m.id for m in members], lower, upper, exclude_booking_id)
    return [
        slot_rules.MemberSchedule(m.id, m.timezone or DEFAULT_TIMEZONE,
                                  {} if m.id in unavailable else m.working_hours or {},
                                  frozenset(busy[m.id]), full.get(m.id, frozenset()))
        for m in members
    ]


def _claimed_units(member_ids: list[int], lower: datetime, upper: datetime,
                   exclude_booking_id: int | None) -> dict[int, set[int]]:
    """The numbers of the BusySlot units of these members in [lower, upper), per member.

    A booking claims one contiguous run of units per member (_claim), so one row per
    (booking, member) with its first and last unit is read instead of every unit: a busy month
    holds tens of thousands of units. Should a run have a gap, every unit is read instead.
    """
    where = [BusySlot.member_id.in_(member_ids), BusySlot.unit_start >= lower,
             BusySlot.unit_start < upper]
    if exclude_booking_id is not None:
        where.append(BusySlot.booking_id != exclude_booking_id)
    runs = db.session.execute(
        select(BusySlot.member_id, func.min(BusySlot.unit_start), func.max(BusySlot.unit_start),
               func.count()).where(*where).group_by(BusySlot.booking_id, BusySlot.member_id))
    busy: dict[int, set[int]] = {mid: set() for mid in member_ids}
    for member_id, first, last, count in runs:
        units = range(slot_rules.unit_number(_as_utc(first)),
                      slot_rules.unit_number(_as_utc(last)) + 1)
        if len(units) != count:
            return _every_unit(member_ids, where)
        busy[member_id].update(units)
    return busy


def _every_unit(member_ids: list[int], where: list) -> dict[int, set[int]]:
    busy: dict[int, set[int]] = {mid: set() for mid in member_ids}
    for member_id, unit in db.session.execute(
            select(BusySlot.member_id, BusySlot.unit_start).where(*where)):
        busy[member_id].add(slot_rules.unit_number(_as_utc(unit)))
    return busy


def _as_utc(value: datetime) -> datetime:
    # Column expressions (max(), raw selects) may skip the UTCDateTime result processor.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
