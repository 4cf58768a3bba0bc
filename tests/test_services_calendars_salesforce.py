"""Salesforce Events as a busy source (K5) against the Salesforce emulator."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from tests.factories import ALWAYS_WORKING, make_member, make_page
from tests.fixtures_salesforce import client_for_org
from webapp import settings
from webapp.extensions import db
from webapp.jobs.calendars import options
from webapp.models import BusyInterval
from webapp.services import bookings
from webapp.services.calendars import salesforce_busy


def api_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@pytest.fixture
def setup(sf_app, sf_connection, emulator, org):
    """Member 佐藤 matches the active Salesforce user sato@example.com (E3); 高橋 matches no
    one. K5 is on for the organization."""
    sato = make_member(org, name="佐藤", email="Sato@Example.com", working_hours=ALWAYS_WORKING)
    nobody = make_member(org, name="未登録", email="nobody@example.com",
                         working_hours=ALWAYS_WORKING)
    page = make_page(org, [sato], fields=[], duration_minutes=60)
    other_page = make_page(org, [nobody], fields=[], duration_minutes=60)
    salesforce_busy.set_enabled(org.id, True)
    db.session.commit()
    users = {u["Email"]: u["Id"] for u in emulator.records("User")}
    day = datetime.combine(datetime.now(UTC).date() + timedelta(days=3), time(), tzinfo=UTC)
    return dict(org=org, page=page, other_page=other_page, sato=users["sato@example.com"],
                admin=users["admin@apo-demo.example"], day=day, emulator=emulator,
                config=sf_app.config)


def event(setup, owner, hour, hours=1, **extra) -> str:
    start = setup["day"] + timedelta(hours=hour)
    return setup["emulator"].insert(
        "Event", Subject="商談", OwnerId=owner, StartDateTime=api_time(start),
        EndDateTime=api_time(start + timedelta(hours=hours)), DurationInMinutes=60 * hours,
        **extra)["Id"]


def poll(setup) -> int:
    written = salesforce_busy.sync_org(setup["org"].id, options(),
                                       settings.current().salesforce)
    db.session.commit()
    return written


def offered(page, day) -> set[int]:
    return {s.start.hour for s in bookings.available_slots(page, None, day, day + timedelta(days=1))
            if s.start.minute == 0}


def test_K5_events_of_the_members_salesforce_user_block_their_slots(setup):
    event(setup, setup["sato"], 2)
    event(setup, setup["admin"], 4)  # another user's Event: not this member's
    event(setup, setup["sato"], 6, ShowAs="Free")  # shown as free: does not block
    poll(setup)
    hours = offered(setup["page"], setup["day"])
    assert 2 not in hours and 1 in hours  # 01:00-02:00 ends as the Event starts
    assert {4, 6, 8} <= hours
    assert offered(setup["other_page"], setup["day"]) >= {2, 4}  # no matching user


def test_K5_changes_are_fetched_incrementally_and_deletions_noticed(setup):
    first = event(setup, setup["sato"], 2)
    poll(setup)
    assert salesforce_busy.settings_for(setup["org"].id).salesforce_watermark is not None
    event(setup, setup["sato"], 5)
    poll(setup)
    assert 5 not in offered(setup["page"], setup["day"])
    client_for_org(setup["org"].id).delete("Event", first)
    poll(setup)
    hours = offered(setup["page"], setup["day"])
    assert 2 in hours and 5 not in hours


def test_K5_the_event_apo_wrote_for_a_booking_is_not_counted_twice(setup):
    own = event(setup, setup["sato"], 3)
    start = setup["day"] + timedelta(hours=3)
    booking, _ = bookings.create_booking(setup["page"], start, bookings.CustomerDetails(
        email="taro@example.com", name="山田"))
    booking.sf_event_id = own
    db.session.commit()
    poll(setup)
    event(setup, setup["sato"], 7)
    poll(setup)
    refs = db.session.scalars(select(BusyInterval.event_ref)).all()
    assert own not in refs and len(refs) == 1
    # Moving the booking by 30 minutes is not blocked by the booking's own Event.
    bookings.reschedule_booking(booking, start + timedelta(minutes=30))
    db.session.commit()
    assert booking.start_at == start + timedelta(minutes=30)


def test_K7_confirm_asks_salesforce_for_the_members_events_in_the_slot(setup):
    """An Event added at Salesforce after the last poll: the page (stored copy) still offers
    the slot, the confirm's live query refuses it."""
    from webapp.services.bookings import CustomerDetails, SlotUnavailable
    from webapp.services.calendars import live_check

    poll(setup)
    event(setup, setup["sato"], 2)  # not polled yet
    page, start = setup["page"], setup["day"] + timedelta(hours=2)
    assert 2 in offered(page, setup["day"])
    member_ids = [m.id for m in page.members]
    source = salesforce_busy.live_source(setup["org"].id, member_ids,
                                         settings.current().salesforce)
    answer = live_check.check(member_ids, (start, start + timedelta(hours=1)), options(),
                              source)
    with pytest.raises(SlotUnavailable):
        bookings.create_booking(page, start, CustomerDetails(email="c@example.com", name="客"),
                                live=answer)
    db.session.rollback()
    # An hour later is free at Salesforce too: booked.
    later = start + timedelta(hours=2)
    answer = live_check.check(member_ids, (later, later + timedelta(hours=1)), options(),
                              source)
    booking, _ = bookings.create_booking(page, later, CustomerDetails(
        email="c@example.com", name="客"), live=answer)
    assert booking.start_at == later
