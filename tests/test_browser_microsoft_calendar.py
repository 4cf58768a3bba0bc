"""Journey (K1-K4) in headless Chromium with the Graph emulator: the admin makes 佐藤's connect
link, 佐藤 connects Microsoft 365 through the emulator's sign-in and consent screens, a busy
Outlook event removes a slot from the public page, a booking lands in 佐藤's calendar and the
customer's cancel removes it."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import select

from tests.factories import bookable_slots
from tests.fixtures_graph import SATO
from webapp.extensions import db
from webapp.models import Booking, BookingPage
from webapp.services import demo
from webapp.services import slots as slot_rules

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("APO_SCREENSHOT_DIR")


@pytest.fixture
def demo_page(app, graph, live_server):
    """The demo data, and Apo registered at the emulator with the live server's callback."""
    registered = graph.control("POST", "apps", {
        "name": "Apo", "redirect_uris": [f"{live_server.url}/calendar/microsoft/callback"]})
    app.config.update(
        BASE_URL=live_server.url, MS_CLIENT_ID=registered["client_id"],
        MS_CLIENT_SECRET=registered["client_secret"], MS_LOGIN_URL=graph.login_url,
        MS_GRAPH_URL=graph.graph_url, ICAL_UID_DOMAIN="apo.test",
        MS_TEST_HOSTS=tuple(urlsplit(u).netloc for u in (graph.login_url, graph.graph_url)))
    demo.seed(db.session)
    db.session.commit()
    return db.session.scalar(select(BookingPage).where(BookingPage.slug == demo.DEMO_TEAM_SLUG))


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"ms-{name}.png"), full_page=True)


def run_queue(app, redis_conn) -> None:
    """The jobs the booking queued run through the real queue, as the worker runs them."""
    queue = Queue(app.config["RQ_QUEUE"], connection=redis_conn, serializer=JSONSerializer)
    SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(burst=True)
    db.session.expire_all()


def outlook_subjects(graph) -> list[str]:
    return sorted(e["subject"] for e in graph.control("GET", f"events?user={SATO}"))


def test_K1_K2_K4_member_connects_microsoft_busy_blocks_booking_written_then_removed(
        browser, page, live_server, app, graph, demo_page, redis_conn):
    busy = bookable_slots(demo_page)[0]
    graph.seed_event(SATO, subject="社外打ち合わせ", showAs="busy", start={
        "dateTime": busy.start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}, end={
        "dateTime": (busy.start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
        "timeZone": "UTC"})
    busy_href = f"start={slot_rules.format_start(busy.start)}"
    page.goto(f"{live_server.url}/p/{demo.DEMO_TEAM_SLUG}")
    assert page.locator(f'a.slot[href*="{busy_href}"]').count() == 1

    # The admin makes 佐藤's connect link (K1) and sends it.
    page.goto(f"{live_server.url}/login")
    page.fill("#email", demo.DEMO_ADMIN_EMAIL)
    page.fill("#password", demo.DEMO_ADMIN_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.get_by_role("link", name="カレンダー連携").click()
    page.locator("tr", has_text="佐藤 花子").get_by_role(
        "button", name="社員用の接続リンクを作成").click()
    link = page.locator("#member-calendar-link").input_value()

    # 佐藤, in their own browser: one button, Microsoft's sign-in and consent.
    member_context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    member = member_context.new_page()
    member.set_default_timeout(10_000)
    member.goto(link)
    member.get_by_role("button", name="Microsoft 365 に接続する").click()
    member.wait_for_url(re.compile(re.escape(graph.login_url)))
    assert member.locator("#i0116").input_value() == SATO  # login_hint
    member.fill("#i0118", "apo-demo")
    member.get_by_role("button", name="サインイン").click()
    assert member.locator('[data-scope="Calendars.ReadWrite"]').is_visible()
    shot(member, "consent")
    member.get_by_role("button", name="承諾").click()
    member.wait_for_url(re.compile(r"/calendar/connect/"))
    assert member.get_by_text(f"Microsoft 365 の予定表 {SATO} を接続しました。").is_visible()
    assert member.locator(".calendar-connection .badge-ok").first.is_visible()  # 接続中
    shot(member, "connected")
    member_context.close()

    # The admin sees the connection; the public page no longer offers the busy time (K2).
    page.goto(f"{live_server.url}/admin/calendars")
    assert page.locator("tr", has_text="佐藤 花子").get_by_text("接続中").is_visible()
    page.goto(f"{live_server.url}/p/{demo.DEMO_TEAM_SLUG}")
    assert page.locator(f'a.slot[href*="{busy_href}"]').count() == 0

    # K4: a customer books; the write-back job puts the booking into 佐藤's Outlook.
    page.locator("a.slot").first.click()
    page.wait_for_url(re.compile(r"/book\?start="))
    page.fill("#name", "山田 太郎")
    page.fill("#email", "taro@example.com")
    page.get_by_label("ご相談内容").fill("導入について相談したいです。")
    page.get_by_role("button", name="予約を確定する").click()
    page.wait_for_url(re.compile(r"/b/[\w-]+$"))
    run_queue(app, redis_conn)
    booking = db.session.scalar(select(Booking))
    written = [e for e in graph.control("GET", f"events?user={SATO}")
               if e["transactionId"] == f"apo-booking-{booking.id}@apo.test"]
    assert len(written) == 1
    assert written[0]["start"]["dateTime"].startswith(booking.start_at.strftime("%Y-%m-%dT%H:%M"))

    # The customer cancels on the private page: the event leaves the calendar.
    db.session.rollback()  # hold no SQLite read lock while the live server writes
    page.click("a.cancel-link")  # cancelling asks first, on its own page
    page.click(".cancel-form button[type=submit]")
    page.wait_for_url(re.compile(r"done=cancelled"))
    run_queue(app, redis_conn)
    assert db.session.get(Booking, booking.id).is_cancelled
    assert outlook_subjects(graph) == ["社外打ち合わせ"]
