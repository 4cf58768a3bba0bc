"""Booking service: create, cancel, reschedule against the real database (O4, O5, F4, S1)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import ALWAYS_WORKING, make_member, make_page, make_public_page
from webapp.extensions import db
from webapp.models import Booking, BookingMember, BusySlot, SyncRecord
from webapp.services import bookings
from webapp.services.bookings import CustomerDetails

NOW = datetime(2026, 6, 8, 0, 0, tzinfo=UTC)  # Monday 09:00 in Tokyo


def details(email="taro@example.com", **kw) -> CustomerDetails:
    return CustomerDetails(email=email, name=kw.pop("name", "山田 太郎"), **kw)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def book(page, start, now=NOW, **kw):
    booking, record = bookings.create_booking(page, start, details(**kw), now=now)
    db.session.commit()
    return booking, record


@pytest.fixture
def page(app):
    """A published team page (attend all) with two around-the-clock members."""
    created = make_public_page(fields=[], buffer_minutes=10)
    db.session.commit()
    return created


def first_start(page, now=NOW):
    return bookings.available_slots(page, now)[0].start


def test_S1_booking_and_pending_sync_in_one_transaction(page):
    start = first_start(page)
    booking, record = bookings.create_booking(page, start, details(), now=NOW)
    # Flushed, not committed: rolling back removes the booking and its outbox row together.
    assert record.booking_id == booking.id and record.action == "create"
    assert record.status == "pending" and record.enqueued_at is None
    db.session.rollback()
    assert (count(Booking), count(SyncRecord), count(BusySlot), count(BookingMember)) == (
        0, 0, 0, 0)

    booking, record = book(page, start)
    assert count(Booking) == 1 and count(SyncRecord) == 1
    assert booking.start_at == start == NOW + timedelta(hours=1)
    assert booking.end_at == start + timedelta(minutes=30)
    # Every 5-minute unit of [start, end + buffer) for both members.
    assert count(BusySlot) == 2 * 8


def test_O5_all_mode_books_every_member_in_page_order(page):
    booking, _ = book(page, first_start(page))
    assert [m.id for m in booking.members] == [pm.member_id for pm in page.page_members]
    assert [bm.position for bm in booking.booking_members] == [0, 1]


def test_O4_booked_time_is_no_longer_offered_on_any_page_of_the_org(page):
    start = first_start(page)
    book(page, start)
    other = make_page(page.organization, [page.members[0]], kind="personal")
    db.session.commit()
    offered = {slot.start for slot in bookings.available_slots(other, NOW)}
    assert start not in offered
    assert start + timedelta(minutes=15) not in offered  # overlaps the booking
    assert start + timedelta(minutes=45) in offered  # after the meeting and its 10 min buffer
    with pytest.raises(bookings.SlotUnavailable):
        bookings.create_booking(other, start, details(), now=NOW)


def test_O4_claims_block_exactly_their_units_even_with_a_gap(page):
    """Slots read one row per booking's run of claims; a run with a gap (never written by
    _claim, made by hand here) must still block only the units it holds."""
    start = first_start(page)
    booking, _ = book(page, start)
    later = start + timedelta(hours=3)
    db.session.add_all(BusySlot(member_id=m.id, unit_start=later, booking_id=booking.id)
                       for m in page.members)
    db.session.commit()
    offered = {slot.start for slot in bookings.available_slots(page, NOW)}
    assert start not in offered and start + timedelta(minutes=15) not in offered
    assert start + timedelta(minutes=45) in offered  # inside the gap: free
    assert start + timedelta(hours=2) in offered  # ends (with its buffer) before the lone unit
    assert later - timedelta(minutes=30) not in offered  # its buffer reaches the lone unit
    assert later not in offered
    assert later + timedelta(minutes=15) in offered


def test_O4_database_constraint_not_the_check_refuses_an_overlap(page, monkeypatch):
    start = first_start(page)
    stale = bookings.find_slot(page, start, NOW)
    book(page, start)
    # A check that ran before the other booking committed (a race) still lets this one through:
    # the BusySlot primary key is what refuses it.
    monkeypatch.setattr(bookings, "find_slot", lambda *args, **kw: stale)
    with pytest.raises(bookings.SlotTaken) as caught:
        bookings.create_booking(page, start, details(email="late@example.com"), now=NOW)
    db.session.rollback()
    assert caught.value.reason == "taken"
    assert count(Booking) == 1 and count(SyncRecord) == 1


def test_O5_round_robin_picks_least_recently_booked_free_member(app):
    org_page = make_public_page(members=3, fields=[], attend_mode="round_robin")
    db.session.commit()
    order = [pm.member_id for pm in org_page.page_members]
    slots = bookings.available_slots(org_page, NOW)
    chosen = [book(org_page, slots[i * 4].start)[0].members[0].id for i in range(4)]
    # Nobody booked yet: page order; then always the least recently booked.
    assert chosen == [order[0], order[1], order[2], order[0]]


def test_O5_round_robin_skips_busy_member(app):
    rr_page = make_public_page(members=2, fields=[], attend_mode="round_robin")
    first, second = rr_page.members
    solo = make_page(rr_page.organization, [first], kind="personal")
    db.session.commit()
    start = first_start(rr_page)
    book(solo, start)  # the first member is busy through another page
    booking, _ = book(rr_page, start)
    assert [m.id for m in booking.members] == [second.id]


@pytest.mark.parametrize("shift, reason", [
    (timedelta(minutes=5), "invalid"),
    (-timedelta(hours=1), "closed"),
    (timedelta(days=20), "outside"),
])
def test_O4_find_slot_refuses_unaligned_past_and_outside_window(page, shift, reason):
    with pytest.raises(bookings.SlotUnavailable) as caught:
        bookings.find_slot(page, first_start(page) + shift, NOW)
    assert caught.value.reason == reason


def test_O4_members_outside_hours_are_not_offered(app):
    org_page = make_public_page(members=1, fields=[])
    weekday_member = make_member(org_page.organization, working_hours={"sat": [["09:00", "10:00"]]})
    org_page.page_members[0].member.working_hours = ALWAYS_WORKING
    from webapp.models import PageMember

    org_page.page_members.append(PageMember(member=weekday_member, position=1))
    db.session.commit()
    offered = bookings.available_slots(org_page, NOW)
    assert offered and all(s.start.astimezone(UTC).weekday() == 5 for s in offered)


def test_F4_cancel_frees_the_time_and_adds_a_cancel_sync(page):
    start = first_start(page)
    booking, _ = book(page, start)
    record = bookings.cancel_booking(booking, "  都合が悪くなりました ", now=NOW)
    db.session.commit()
    assert booking.status == "cancelled" and booking.cancelled_at == NOW
    assert booking.cancel_reason == "都合が悪くなりました"
    assert record.action == "cancel" and record.status == "pending"
    assert [s.action for s in booking.syncs] == ["create", "cancel"]
    assert count(BusySlot) == 0
    assert start in {s.start for s in bookings.available_slots(page, NOW)}
    with pytest.raises(bookings.BookingClosed):
        bookings.cancel_booking(booking)


def test_F4_reschedule_moves_the_booking_and_its_claims(page):
    start = first_start(page)
    booking, _ = book(page, start)
    # 15 minutes later overlaps the booking's own claim, which must not block it.
    new_start = start + timedelta(minutes=15)
    record = bookings.reschedule_booking(booking, new_start, now=NOW)
    db.session.commit()
    assert booking.start_at == new_start and booking.end_at == new_start + timedelta(minutes=30)
    assert record.action == "reschedule" and record.status == "pending"
    units = db.session.scalars(select(BusySlot.unit_start).where(BusySlot.booking_id == booking.id))
    assert min(units) == new_start
    assert count(BusySlot) == 2 * 8
    bookings.cancel_booking(booking)
    with pytest.raises(bookings.BookingClosed):
        bookings.reschedule_booking(booking, start, now=NOW)


def test_F4_reschedule_into_someone_elses_booking_is_refused(page):
    first = first_start(page)
    mine, _ = book(page, first)
    other_start = first + timedelta(hours=2)
    book(page, other_start, email="other@example.com")
    with pytest.raises(bookings.SlotUnavailable):
        bookings.reschedule_booking(mine, other_start, now=NOW)
    db.session.rollback()
    assert mine.start_at == first and count(SyncRecord) == 2


def test_F4_tokens_are_long_random_and_unknown_ones_find_nothing(page):
    booking, _ = book(page, first_start(page))
    assert len(booking.token) >= 40
    assert bookings.get_booking_by_token(booking.token) is booking
    assert bookings.get_booking_by_token("x" * 43) is None
    assert bookings.get_booking_by_token("") is None
