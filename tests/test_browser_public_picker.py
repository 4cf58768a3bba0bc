"""The date-first picker on a phone and a desktop, by keyboard, and under axe (O4, F4, F5).

The demo team page (the one `make run` publishes: two members on weekday office hours, 30
minutes, a 14-day window) in headless Chromium at 390x844 and 1280x800.
"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.axe import violations
from webapp.extensions import db
from webapp.models import Booking
from webapp.services import demo

pytestmark = pytest.mark.browser

PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 800}
SLUG = demo.DEMO_TEAM_SLUG


@pytest.fixture
def demo_page(app):
    demo.seed(db.session)
    db.session.commit()


def open_page(browser, viewport, zone="Asia/Tokyo", path=f"/p/{SLUG}", server=None):
    context = browser.new_context(locale="ja-JP", timezone_id=zone, viewport=viewport,
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(server.url + path)
    page.wait_for_load_state("networkidle")
    return page


def in_first_screen(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size[
        "height"]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390x844", "1280x800"])
def test_O4_first_screen_shows_month_and_chosen_days_times(browser, live_server, demo_page,
                                                           viewport):
    page = open_page(browser, viewport, server=live_server)
    try:
        month = page.locator("#month-label")
        assert re.fullmatch(r"\d{4}年\d{1,2}月", month.inner_text())
        assert in_first_screen(page, month)
        chosen = page.locator("a.cal-day[aria-current='true']")
        assert in_first_screen(page, chosen)
        first_slot = page.locator("a.slot").first
        assert in_first_screen(page, first_slot)
        # The slot's accessible name carries the chosen day, not just "09:00".
        day_label = chosen.get_attribute("aria-label").split(" ")[0]
        assert re.fullmatch(rf"{re.escape(day_label)} \d\d:\d\d", first_slot.inner_text()
                            .replace("\n", " ").strip()) or first_slot.inner_text().startswith(
            day_label)
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height <= 2 * viewport["height"], height
    finally:
        page.context.close()


@pytest.fixture
def window_into_next_month(demo_page) -> str:
    """The demo page with a window that ends on the 10th of next month (Tokyo), whatever
    today's date: this month then has a "next" control and next month is the last one.
    Returns this month and next; the test asks for this month, so that even on a month's last
    evening, when no time is left in it, the picker starts there."""
    from webapp.models import BookingPage
    from webapp.models.base import utcnow

    today = utcnow().astimezone(ZoneInfo("Asia/Tokyo")).date()
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=10)
    page = db.session.scalar(select(BookingPage).where(BookingPage.slug == SLUG))
    page.window_days = (next_month - today).days
    db.session.commit()
    return today.strftime("%Y-%m"), next_month.strftime("%Y-%m")


def test_O4_picking_another_day_swaps_only_the_picker_and_keeps_the_address(
        browser, live_server, window_into_next_month):
    this_month, next_month = window_into_next_month
    page = open_page(browser, PHONE, server=live_server, path=f"/p/{SLUG}?month={this_month}")
    try:
        page.keyboard.press("Tab")  # the skip link first
        assert page.evaluate("document.activeElement.className") == "skip-link"
        page.locator("#month-next").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf"month={next_month}"))
        # Waits go through Playwright's own script: the page's CSP (script-src 'self') refuses
        # the eval that wait_for_function polls with inside the page.
        expect(page.locator("[id^='day-']:focus")).to_have_count(1)
        chosen = page.locator("a.cal-day[aria-current='true']")
        assert page.evaluate("document.activeElement.id") == chosen.get_attribute("id")
        page.keyboard.press("ArrowRight")
        focused = page.evaluate("document.activeElement.id")
        assert focused.startswith("day-") and focused != chosen.get_attribute("id")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"day=" + focused[4:]))
        expect(page.locator(f"#{focused}")).to_be_focused()
        assert page.locator("a.cal-day[aria-current='true']").get_attribute("id") == focused
        assert page.evaluate("document.activeElement.id") == focused  # focus survives the swap
        assert page.locator("a.slot").count() > 0
    finally:
        page.context.close()


def test_O4_customer_zone_is_detected_and_one_click_switches_back(browser, live_server,
                                                                  demo_page):
    page = open_page(browser, PHONE, zone="America/New_York", server=live_server)
    try:
        note = page.locator(".tz-note")
        note.get_by_text("America/New_York の時間で表示しています").wait_for()
        assert "tz=America%2FNew_York" in page.url or "tz=America/New_York" in page.url
        page.get_by_role("link", name="Asia/Tokyo で表示").click()
        note.get_by_text("Asia/Tokyo の時間で表示しています").wait_for()
        # Chosen explicitly: no automatic switch again, but a one-click way to the device zone.
        local = page.get_by_role("link", name=re.compile("お使いの端末のタイムゾーンで表示"))
        assert "America/New_York" in local.inner_text()
    finally:
        page.context.close()


def tab_until(page, selector: str, limit: int = 60) -> int:
    for count in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return count
    raise AssertionError(f"{selector} not reached in {limit} tab stops")


def test_F4_keyboard_only_booking(browser, live_server, demo_page):
    page = open_page(browser, PHONE, server=live_server)
    try:
        assert tab_until(page, "a.slot") <= 5  # skip link, zone, next month, day, first slot
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/book\?start="))
        tab_until(page, "#name")
        page.keyboard.type("山田 太郎")
        tab_until(page, "#email")
        page.keyboard.type("keyboard@example.com")
        tab_until(page, "textarea")
        page.keyboard.type("キーボードだけで予約します。")
        tab_until(page, "button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/b/[\w-]+$"))
        assert page.get_by_role("heading", name="ご予約が確定しました").is_visible()
        db.session.expire_all()
        assert db.session.scalar(select(Booking.email)) == "keyboard@example.com"
        # The private link wraps instead of being cut off on the phone, and copies in one press.
        link = page.locator("#private-link")
        assert link.evaluate("e => e.scrollWidth <= e.clientWidth")
        assert link.bounding_box()["x"] + link.bounding_box()["width"] <= PHONE["width"]
        tab_until(page, "button[data-copy]")
        page.keyboard.press("Enter")
        page.locator("#toast.show").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == page.url
    finally:
        page.context.close()


def test_F4_skip_link_reaches_the_times_in_two_tab_stops(browser, live_server, demo_page):
    page = open_page(browser, DESKTOP, server=live_server)
    try:
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.matches('a.slot')")
    finally:
        page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390x844", "1280x800"])
def test_F5_public_pages_have_no_axe_violations(browser, live_server, demo_page, viewport):
    """Every public screen of a booking: no axe violation, and none taller than two screens."""
    page = open_page(browser, viewport, server=live_server)

    def short_enough() -> bool:
        return page.evaluate("document.documentElement.scrollHeight") <= 2 * viewport["height"]

    try:
        assert violations(page) == [] and short_enough()
        page.locator("a.slot").first.click()
        page.wait_for_url(re.compile(r"/book\?start="))
        assert violations(page) == [] and short_enough()
        page.get_by_role("button", name="予約を確定する").click()  # every error shown
        page.wait_for_selector(".field-errors")
        assert violations(page) == [] and short_enough()
        page.fill("#name", "山田 太郎")
        page.fill("#email", "axe@example.com")
        page.get_by_label("ご相談内容").fill("アクセシビリティ")
        page.get_by_role("button", name="予約を確定する").click()
        page.wait_for_url(re.compile(r"/b/[\w-]+$"))
        assert violations(page) == [] and short_enough()
        page.get_by_role("link", name="予約をキャンセルする").click()
        page.wait_for_url(re.compile(r"/cancel$"))
        assert violations(page) == [] and short_enough()
        page.get_by_role("link", name="日時を変更する").click()
        page.wait_for_selector("#picker")
        assert violations(page) == [] and short_enough()
    finally:
        page.context.close()
