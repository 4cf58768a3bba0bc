"""Journey (K1-K4): a member connects Microsoft 365 through the emulator's sign-in and consent
screens, a busy Outlook event removes a slot on the public page, a booking appears in the
member's calendar and a cancel removes it. Headless Chromium, the Graph emulator, real HTTP."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import select

from tests.factories import make_public_page
from tests.fixtures_graph import SATO
from webapp.extensions import db
from webapp.models import Booking
from webapp.services import bookings
from webapp.services.calendars import links
from webapp.services.slots import format_start

pytestmark = pytest.mark.browser


@pytest.fixture
def wired(app, graph, live_server):
    """The app and a fresh emulator app registered with the live server's callback."""
    registered = graph.control("POST", "apps", {
        "name": "Apo", "redirect_uris": [f"{live_server.url}/calendar/microsoft/callback"]})
    app.config.update(
        BASE_URL=live_server.url, MS_CLIENT_ID=registered["client_id"],
        MS_CLIENT_SECRET=registered["client_secret"], MS_LOGIN_URL=graph.login_url,
        MS_GRAPH_URL=graph.graph_url, CALENDAR_UID_DOMAIN="apo.test",
        MS_TEST_HOSTS=",".join(urlsplit(u).netloc for u in (graph.login_url, graph.graph_url)))
    page = make_public_page(members=1, fields=[], duration_minutes=60, title="ご相談")
    page.members[0].email = SATO
    db.session.commit()
    return page


def offered(page_obj, live_server, slug) -> list[str]:
    page_obj.goto(f"{live_server.url}/p/{slug}")
    return [re.search(r"start=([^&]+)", href).group(1).replace("%3A", ":")
            for href in page_obj.locator("a.slot").evaluate_all(
                "links => links.map(a => a.getAttribute('href'))")]


def run_queue(app, redis_conn) -> None:
    """The jobs the booking queued run through the real queue, as the worker runs them."""
    queue = Queue(app.config["RQ_QUEUE"], connection=redis_conn, serializer=JSONSerializer)
    SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(burst=True)
    db.session.expire_all()


def test_K1_K2_K4_member_connects_busy_blocks_booking_written_then_removed(
        page, live_server, app, graph, wired, redis_conn):
    member = wired.members[0]
    first = bookings.available_slots(wired)[0].start
    graph.seed_event(SATO, subject="社外打ち合わせ", showAs="busy",
                     start={"dateTime": first.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                     end={"dateTime": (first + timedelta(hours=1)).strftime(
                         "%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"})
    assert format_start(first) in offered(page, live_server, wired.slug)

    # K1: the link the admin sends, one button, Microsoft's sign-in and consent.
    token = links.make_token(member, app.config["SECRET_KEY"])
    page.goto(f"{live_server.url}/calendar/connect/{token}")
    page.get_by_role("button", name="Microsoft 365 に接続する").click()
    page.wait_for_url(re.compile(re.escape(graph.login_url)))
    assert page.locator("#i0116").input_value() == SATO  # login_hint
    page.fill("#i0118", "apo-demo")
    page.get_by_role("button", name="サインイン").click()
    assert page.locator('[data-scope="Calendars.ReadWrite"]').is_visible()
    page.get_by_role("button", name="承諾").click()
    page.wait_for_url(re.compile(r"/calendar/connect/"))
    assert page.get_by_text(f"Microsoft 365 の予定表 {SATO} を接続しました。").is_visible()
    assert page.locator(".calendar-connection .badge-ok").first.is_visible()  # 接続中

    # K2/K3: the calendars were read once at connect; the public page reads the store.
    slots = offered(page, live_server, wired.slug)
    assert format_start(first) not in slots and slots

    # K4: the customer books the first offered slot; it lands in the member's calendar.
    page.locator("a.slot").first.click()
    page.wait_for_url(re.compile(r"/book\?start="))
    page.fill("#name", "山田 太郎")
    if page.locator("#company").count():
        page.fill("#company", "山田商事")
    page.fill("#email", "taro@example.com")
    page.get_by_role("button", name="予約を確定する").click()
    page.wait_for_url(re.compile(r"/b/[\w-]+$"))
    db.session.expire_all()
    booking = db.session.scalar(select(Booking))
    run_queue(app, redis_conn)
    written = [e for e in graph.control("GET", f"events?user={SATO}")
               if e["subject"] != "社外打ち合わせ"]
    assert len(written) == 1
    assert written[0]["start"]["dateTime"].startswith(
        booking.start_at.strftime("%Y-%m-%dT%H:%M"))

    # The customer cancels on the private page: the event leaves the calendar.
    page.get_by_role("button", name="予約をキャンセルする").click()
    page.wait_for_load_state()
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).is_cancelled
    run_queue(app, redis_conn)
    assert [e["subject"] for e in graph.control("GET", f"events?user={SATO}")] == [
        "社外打ち合わせ"]
