"""The public page's shared availability cache (O4): every change that can alter what a page
offers shows on the next view, in this process and in another web process (gunicorn), and a
cached view never offers a start that confirm would refuse.

Each test warms the cache with a view, makes one change through the services (as the admin's
screens, the booking pages and the calendar jobs do), and reads the page again. A test that
showed a stale slot would fail here; each path's bump is what makes it pass.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from tests.factories import ALWAYS_WORKING, make_member, make_org, make_page
from tests.fixtures_web import Gunicorn
from webapp.extensions import db
from webapp.integrations.calendar_port import BusyItem
from webapp.models import BusySource, Organization, utcnow
from webapp.services import availability_cache, bookings
from webapp.services.bookings import CustomerDetails
from webapp.services.calendars import busy_store

pytestmark = pytest.mark.timeout(120)
STARTS = re.compile(r'href="/p/[\w-]+/book\?start=([^&"]+)')


@pytest.fixture
def page(app):
    org = make_org()
    member = make_member(org, working_hours=ALWAYS_WORKING, timezone="UTC")
    created = make_page(org, [member], duration_minutes=30, window_days=20,
                        min_notice_minutes=0)
    db.session.commit()
    return created


def day_after_tomorrow() -> str:
    return (utcnow() + timedelta(days=2)).strftime("%Y-%m-%d")


def offered(client, page, day: str | None = None) -> list[str]:
    """The starts the page's picker offers on `day`, as the browser gets them."""
    html = client.get(f"/p/{page.slug}?tz=UTC&day={day or day_after_tomorrow()}").get_data(
        as_text=True)
    return [s.replace("%3A", ":").replace("%2B", "+") for s in STARTS.findall(html)]


def start_of(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def version_of(page) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Organization.availability_version)
                             .where(Organization.id == page.organization_id))


def test_O4_a_warm_view_is_served_from_the_cache_and_a_booking_takes_its_slot_away(
        client, page, redis_conn):
    first = offered(client, page)
    assert first
    keys = [k for k in redis_conn.keys("apo:picker:*")]
    assert keys  # the rendered picker is shared in Redis
    assert offered(client, page) == first  # served again, same answer
    before = version_of(page)
    taken = start_of(first[0])
    bookings.create_booking(page, taken, CustomerDetails(email="a@example.net", name="a"))
    db.session.commit()
    assert version_of(page) == before + 1  # bumped in the booking's transaction
    assert first[0] not in offered(client, page)


def test_O4_cancel_and_reschedule_show_on_the_next_view(client, page):
    first = offered(client, page)
    booking, _ = bookings.create_booking(page, start_of(first[0]),
                                         CustomerDetails(email="b@example.net", name="b"))
    db.session.commit()
    assert first[0] not in offered(client, page)
    bookings.reschedule_booking(booking, start_of(first[4]))
    db.session.commit()
    now = offered(client, page)
    assert first[0] in now and first[4] not in now
    bookings.cancel_booking(booking, "")
    db.session.commit()
    assert first[4] in offered(client, page)


def test_O4_a_busy_store_update_shows_on_the_next_view(client, page):
    first = offered(client, page)
    start = start_of(first[2])
    busy_store.replace_items(page.members[0].id, BusySource.SALESFORCE.value,
                             [BusyItem("00U1", ((start, start + timedelta(minutes=30)),))])
    db.session.commit()
    assert first[2] not in offered(client, page)
    busy_store.replace_items(page.members[0].id, BusySource.SALESFORCE.value, [],
                             removed=["00U1"])
    db.session.commit()
    assert first[2] in offered(client, page)


def test_O4_an_unchanged_calendar_poll_keeps_the_cache(client, page):
    from webapp.integrations.calendar_port import SyncResult
    from webapp.models import CalendarConnection, MemberCalendar

    connection = CalendarConnection(organization_id=page.organization_id,
                                    member_id=page.members[0].id, provider="caldav")
    calendar = MemberCalendar(member_id=page.members[0].id, remote_id="x", name="x")
    connection.calendars.append(calendar)
    db.session.add(connection)
    db.session.commit()
    offered(client, page)
    before = version_of(page)
    busy_store.apply_sync(calendar, SyncResult(changed=[], removed=[], state={}))
    db.session.commit()
    assert version_of(page) == before  # the usual poll: nothing changed, nothing recomputed


def test_O4_hours_and_settings_changes_show_on_the_next_view(client, page):
    first = offered(client, page)
    member = page.members[0]
    member.working_hours = {}  # a day off every day
    db.session.commit()
    assert offered(client, page) == []
    member.working_hours = ALWAYS_WORKING
    db.session.commit()
    assert offered(client, page) == first
    page.window_days = 1  # a settings change: the day after tomorrow is out of the window
    db.session.commit()
    assert not [s for s in offered(client, page) if s.startswith(day_after_tomorrow())]
    page.window_days, page.duration_minutes = 20, 10  # back, with 10-minute steps
    db.session.commit()
    stepped = offered(client, page)
    assert any(start_of(s).minute % 15 for s in stepped)


def test_O4_minimum_notice_is_applied_at_read_time_never_offering_what_confirm_refuses(
        client, page):
    page.min_notice_minutes = 24 * 60
    db.session.commit()
    tomorrow = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d")
    for text in offered(client, page, tomorrow) + offered(client, page):
        bookings.find_slot(page, start_of(text))  # confirm accepts every offered start
    earliest, _latest = availability_cache.bounds(page, utcnow())
    assert all(start_of(s) >= earliest for s in offered(client, page, tomorrow))


def test_O4_another_web_process_sees_this_processs_change_and_vice_versa(
        app, page, redis_url, tmp_path):
    server = Gunicorn(app, redis_url, tmp_path / "gunicorn.log")
    http = requests.Session()
    http.trust_env = False
    url = f"{server.url}/p/{page.slug}?tz=UTC&day={day_after_tomorrow()}"
    try:
        first = STARTS.findall(http.get(url, timeout=10).text)
        assert first  # the other process warmed the shared cache
        taken = start_of(first[1].replace("%3A", ":").replace("%2B", "+"))
        bookings.create_booking(page, taken, CustomerDetails(email="c@example.net", name="c"))
        db.session.commit()  # this process's change
        assert first[1] not in STARTS.findall(http.get(url, timeout=10).text)
    finally:
        server.stop()


def test_O4_visitors_zones_share_one_availability_entry(client, page, redis_conn):
    zones = ("UTC", "Asia/Tokyo", "America/New_York", "Europe/Paris", "Pacific/Auckland",
             "America/Los_Angeles", "Asia/Kolkata", "Australia/Sydney")
    month = (utcnow() + timedelta(days=3)).strftime("%Y-%m")
    for zone in zones:
        assert client.get(f"/p/{page.slug}?tz={zone}&month={month}").status_code == 200
    pickers = redis_conn.keys("apo:picker:*")
    spans = redis_conn.keys("apo:avail:*")
    # Each zone renders its own picker, but its month is a span of whole UTC days: offsets
    # between -12 and +14 hours give at most four spans, however many zones visit.
    assert len(pickers) == len(zones) and 1 <= len(spans) <= 4
