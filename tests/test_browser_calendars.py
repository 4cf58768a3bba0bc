"""Journey in headless Chromium against a real Radicale (K1, K2, K4): the admin connects a demo
member's CalDAV calendar, an event in it removes a slot from the public page, and a booking
made on that page appears in the member's calendar."""

from __future__ import annotations

import re

import pytest
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import select

from tests.factories import bookable_slots
from tests.fixtures_radicale import vevent
from webapp.extensions import db
from webapp.models import Booking, BookingPage
from webapp.services import demo
from webapp.services import slots as slot_rules

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_data(caldav_app):
    demo.seed(db.session)
    db.session.commit()
    return db.session.scalar(select(BookingPage).where(BookingPage.slug == demo.DEMO_TEAM_SLUG))


def test_K2_K4_admin_connects_caldav_event_hides_slot_booking_lands_in_calendar(
        page, live_server, demo_data, caldav_account, redis_conn, caldav_app):
    busy = bookable_slots(demo_data)[0]
    caldav_account.put_event("meeting.ics", vevent(
        "meeting", busy.start.strftime("%Y%m%dT%H%M%SZ"), busy.end.strftime("%Y%m%dT%H%M%SZ")))
    busy_href = f"start={slot_rules.format_start(busy.start)}"
    page.goto(f"{live_server.url}/p/{demo.DEMO_TEAM_SLUG}")
    assert page.locator(f'a.slot[href*="{busy_href}"]').count() == 1

    page.goto(f"{live_server.url}/login")
    page.fill("#email", demo.DEMO_ADMIN_EMAIL)
    page.fill("#password", demo.DEMO_ADMIN_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.get_by_role("link", name="カレンダー連携").click()
    row = page.locator("tr", has_text="佐藤 花子")
    row.get_by_role("link", name="CalDAVカレンダーを接続").click()
    page.get_by_label("CalDAVサーバーのURL").fill(caldav_account.server.url + "/")
    page.get_by_label("ユーザー名").fill(caldav_account.user)
    page.get_by_label("アプリ用パスワード").fill(caldav_account.password)
    page.get_by_role("button", name="接続する").click()
    assert page.locator("tr", has_text="佐藤 花子").get_by_text("接続中").is_visible()

    page.goto(f"{live_server.url}/p/{demo.DEMO_TEAM_SLUG}")
    assert page.locator(f'a.slot[href*="{busy_href}"]').count() == 0
    page.locator("a.slot").first.click()
    page.wait_for_url(re.compile(r"/book\?start="))
    page.fill("#name", "山田 太郎")
    page.fill("#email", "taro@example.com")
    page.get_by_label("ご相談内容").fill("導入について相談したいです。")
    page.get_by_role("button", name="予約を確定する").click()
    page.wait_for_url(re.compile(r"/b/[\w-]+$"))

    # The write-back job runs through the real queue, as the worker would run it.
    queue = Queue(caldav_app.config["RQ_QUEUE"], connection=redis_conn,
                  serializer=JSONSerializer)
    SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(burst=True)
    db.session.expire_all()
    booking = db.session.scalar(select(Booking))
    name = f"apo-booking-{booking.id}%40apo.test.ics"
    assert name in caldav_account.server.list_hrefs(caldav_account.user,
                                                    caldav_account.calendar_url)
    body = caldav_account.server.get(caldav_account.user,
                                     caldav_account.calendar_url + name).text
    assert booking.start_at.strftime("DTSTART:%Y%m%dT%H%M%SZ") in body
