"""The live check at confirm (K7) against Radicale: round robin moves on to the next free
member, and a calendar that cannot answer counts by its stored copy only while that is young."""

from __future__ import annotations

import secrets
import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import ALWAYS_WORKING, make_member, make_org, make_page
from tests.fixtures_radicale import vevent
from webapp.extensions import db
from webapp.jobs.calendars import options
from webapp.models import MemberCalendar
from webapp.services import bookings
from webapp.services.bookings import CustomerDetails, SlotUnavailable
from webapp.services.calendars import connections, live_check


@pytest.fixture
def team(caldav_app, radicale):
    """A round-robin page of two members, each with a Radicale calendar."""
    org = make_org()
    members = [make_member(org, working_hours=ALWAYS_WORKING) for _ in range(2)]
    page = make_page(org, members=members, fields=[], duration_minutes=60,
                     attend_mode="round_robin")
    db.session.commit()
    accounts = []
    for member in members:
        user = f"live{secrets.token_hex(5)}"
        radicale.add_user(user, f"pw-{user}")
        calendar = radicale.make_calendar(user, "work", "仕事")
        connections.connect_caldav(member, radicale.url + "/", user, f"pw-{user}", options())
        accounts.append((user, calendar))
    db.session.commit()
    return page, members, accounts


def _slot(page):
    return next(s for s in bookings.available_slots(page)
                if s.start > datetime.now(UTC) + timedelta(days=2))


def _ask(page, slot):
    ids = [m.id for m in page.members]
    return live_check.check(ids, live_check.window_for(slot.start, slot.end,
                                                       page.buffer_minutes), options())


def test_K7_round_robin_gives_the_slot_to_the_next_free_member(team, radicale):
    page, members, accounts = team
    slot = _slot(page)
    stamp = "%Y%m%dT%H%M%SZ"
    # Both members are offered the slot by the stored copy; whoever round robin would pick
    # first gets a busy event now, at the server only.
    probe, _ = bookings.create_booking(page, slot.start, CustomerDetails(
        email="probe@example.com", name="試し"))
    first = probe.members[0].id
    db.session.rollback()
    user, calendar = accounts[[m.id for m in members].index(first)]
    radicale.put(user, calendar, "busy.ics",
                 vevent("busy", slot.start.strftime(stamp), slot.end.strftime(stamp)))
    answer = _ask(page, slot)
    assert answer.busy[first] and answer.asked == 2
    booking, _ = bookings.create_booking(page, slot.start, CustomerDetails(
        email="c@example.com", name="客"), live=answer)
    assert [m.id for m in booking.members] == [m.id for m in members if m.id != first]


@pytest.mark.parametrize("age, booked", [(timedelta(minutes=1), True),
                                         (timedelta(hours=1), False)])
def test_K7_a_calendar_that_cannot_answer_counts_by_a_young_copy_only(team, age, booked):
    page, members, _ = team
    page.attend_mode = "all"
    with socket.socket() as probe:  # a port nobody listens on: the server is gone
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    for calendar in db.session.scalars(select(MemberCalendar)):
        calendar.remote_id = f"http://127.0.0.1:{dead}/gone/"
        calendar.last_synced_at = datetime.now(UTC) - age
    db.session.commit()
    slot = _slot(page)
    answer = _ask(page, slot)
    assert answer.unavailable == (set() if booked else {m.id for m in members})
    if booked:
        booking, _ = bookings.create_booking(page, slot.start, CustomerDetails(
            email="c@example.com", name="客"), live=answer)
        assert booking.id
    else:
        with pytest.raises(SlotUnavailable):
            bookings.create_booking(page, slot.start, CustomerDetails(
                email="c@example.com", name="客"), live=answer)
