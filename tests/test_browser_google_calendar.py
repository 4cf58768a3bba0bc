"""A member connects Google Calendar through the emulator's consent screen; a busy event
blocks its slot on the public page; a booking appears in the member's calendar and a cancel
removes it (K1-K4, headless Chromium against the Google emulator)."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from google_calendar_emulator.seed import DEMO_PASSWORD
from tests.factories import make_public_page
from webapp.extensions import db
from webapp.models import Booking, utcnow
from webapp.services import bookings
from webapp.services import slots as slot_rules
from webapp.services.calendars import links

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]
SATO = "sato@example.com"


@pytest.fixture
def journey_app(app, gcal, live_server):
    """The live app with the emulator as Google and its callback registered there."""
    client_id, secret = gcal.register_client([f"{live_server.url}/calendar/google/callback"])
    app.config.update(BASE_URL=live_server.url, GOOGLE_CLIENT_ID=client_id,
                      GOOGLE_CLIENT_SECRET=secret, GOOGLE_BASE_URL=gcal.url,
                      ICAL_UID_DOMAIN="apo.test")
    return app


def shot(page, name: str) -> None:
    folder = os.environ.get("APO_SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def slot_hrefs(page, url: str) -> list[str]:
    page.goto(url)
    hrefs = page.locator("a.slot").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    return [unquote(href) for href in hrefs]


def run_queue(app, redis_conn) -> None:
    """The write-back jobs the booking flow queued, run as the worker runs them (K4)."""
    from rq import Queue, SimpleWorker
    from rq.serializers import JSONSerializer

    queue = Queue(app.config["RQ_QUEUE"], connection=redis_conn, serializer=JSONSerializer)
    SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(burst=True)
    db.session.expire_all()


def test_K1_K2_K4_member_connects_busy_blocks_booking_written_then_removed(
        journey_app, gcal, live_server, page, redis_conn):
    team_page = make_public_page(members=1, fields=[], duration_minutes=60,
                                 title="打ち合わせのご予約")
    db.session.commit()
    member = team_page.members[0]
    offered = bookings.available_slots(team_page, utcnow())
    busy = next(s for s in offered if s.start >= offered[0].start + timedelta(hours=3))
    busy_href = "start=" + slot_rules.format_start(busy.start)
    # The picker shows one day at a time (date first): open the busy slot's day.
    day = busy.start.astimezone(ZoneInfo(team_page.organization.timezone)).date()
    public_url = f"{live_server.url}/p/{team_page.slug}?day={day.isoformat()}"
    assert any(busy_href in href for href in slot_hrefs(page, public_url))
    gcal.seed_event(SATO, summary="社内会議",
                    start={"dateTime": busy.start.isoformat(), "timeZone": "Asia/Tokyo"},
                    end={"dateTime": busy.end.isoformat(), "timeZone": "Asia/Tokyo"})

    # The admin sends the member their link; one click, sign-in and consent at Google.
    token = links.make_token(member, journey_app.config["SECRET_KEY"])
    page.goto(f"{live_server.url}/calendar/connect/{token}")
    page.get_by_role("button", name="Googleで連携する").click()
    page.wait_for_url(re.compile(re.escape(gcal.url)))
    page.fill("#identifierId", SATO)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#signIn")
    assert page.get_by_text("所有している Google カレンダーの予定の参照").is_visible()
    shot(page, "20-google-consent")
    page.click("#submit_approve_access")
    page.wait_for_url(re.compile(r"/calendar/connect/"))
    assert page.get_by_text("Googleカレンダー（sato@example.com）を連携しました。").is_visible()
    assert "接続中" in page.locator(".calendar-connection").inner_text()
    shot(page, "21-google-connected")

    # The busy event blocks its slot; the page itself never asked Google (K3).
    hrefs = slot_hrefs(page, public_url)
    assert not any(busy_href in href for href in hrefs) and hrefs
    gcal.control("DELETE", "usage")

    # The customer books the first slot; the booking lands in the member's calendar (K4).
    page.goto(public_url)
    page.locator("a.slot").first.click()
    page.wait_for_url(re.compile(r"/book\?start="))
    page.fill("#name", "山田 太郎")
    page.fill("#company", "山田商事")
    page.fill("#email", "taro@example.com")
    page.get_by_role("button", name="予約を確定する").click()
    page.wait_for_url(re.compile(r"/b/[\w-]+$"))
    # The page read only the stored copy; the confirm asked Google once, for the slot (K7).
    assert gcal.usage()["by_endpoint"] == {"POST /calendar/v3/freeBusy": 1}
    run_queue(journey_app, redis_conn)
    booking = db.session.scalar(select(Booking))
    page.goto(f"{gcal.url}/calendar/r")
    agenda = page.locator("#agenda").inner_text()
    assert "打ち合わせのご予約: 山田 太郎" in agenda and "社内会議" in agenda
    shot(page, "22-google-calendar-booking")

    # The customer cancels; the event leaves the member's calendar.
    token = booking.token
    db.session.rollback()  # hold no SQLite read lock while the live server writes
    page.goto(f"{live_server.url}/b/{token}")
    page.click("a.cancel-link")  # cancelling asks first, on its own page
    page.fill(".cancel-form textarea", "都合が悪くなりました")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click(".cancel-form button[type=submit]")
    page.wait_for_url(re.compile(r"done=cancelled"))
    run_queue(journey_app, redis_conn)
    page.goto(f"{gcal.url}/calendar/r")
    agenda = page.locator("#agenda").inner_text()
    assert "山田 太郎" not in agenda and "社内会議" in agenda


def test_K8_a_busy_event_added_at_google_leaves_the_page_without_anyone_syncing(
        journey_app, gcal, live_server, page, redis_conn):
    """Nobody presses 今すぐ同期: Google pushes the change to Apo's hook, the worker's job
    syncs that calendar, and the customer's next view of the page no longer offers the slot."""
    import time

    team_page = make_public_page(members=1, fields=[], duration_minutes=60,
                                 title="打ち合わせのご予約")
    db.session.commit()
    member = team_page.members[0]
    token = links.make_token(member, journey_app.config["SECRET_KEY"])
    page.goto(f"{live_server.url}/calendar/connect/{token}")
    page.get_by_role("button", name="Googleで連携する").click()
    page.wait_for_url(re.compile(re.escape(gcal.url)))
    page.fill("#identifierId", SATO)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#signIn")
    page.click("#submit_approve_access")
    page.wait_for_url(re.compile(r"/calendar/connect/"))
    run_queue(journey_app, redis_conn)  # the worker's first sync opens the push channel
    offered = bookings.available_slots(team_page, utcnow())
    busy = next(s for s in offered if s.start >= offered[0].start + timedelta(hours=3))
    busy_href = "start=" + slot_rules.format_start(busy.start)
    day = busy.start.astimezone(ZoneInfo(team_page.organization.timezone)).date()
    public_url = f"{live_server.url}/p/{team_page.slug}?day={day.isoformat()}"
    assert any(busy_href in href for href in slot_hrefs(page, public_url))
    shot(page, "22-google-before-push")

    began = time.monotonic()
    gcal.seed_event(SATO, summary="急な来客",
                    start={"dateTime": busy.start.isoformat(), "timeZone": "Asia/Tokyo"},
                    end={"dateTime": busy.end.isoformat(), "timeZone": "Asia/Tokyo"})
    while any(busy_href in href for href in slot_hrefs(page, public_url)):
        assert time.monotonic() - began < 10, "the busy slot is still offered after 10 s"
        run_queue(journey_app, redis_conn)  # what the running worker does with the push
        time.sleep(0.2)
    shot(page, "23-google-after-push")
