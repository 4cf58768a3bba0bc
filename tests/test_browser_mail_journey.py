"""A customer's mail in a real browser on a real demo (N1, N3, N6; STYLE 3.9, system ring).

`make run` (the `demo` fixture) starts the mail catcher and points Apo's SMTP settings at it.
The customer books, reschedules and cancels in Chromium; after each step the catcher's page
shows the message the worker sent, and its .ics downloads with the right METHOD and SEQUENCE.
Screenshots go to APO_SCREENSHOT_DIR (the README's: `APO_SCREENSHOT_DIR=docs/screenshots`).
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

pytestmark = pytest.mark.browser

SLUG = "demo-team"
EMAIL = "mail-journey@example.com"
MAIL_TIMEOUT_S = 30
STATE: dict = {}
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    target = os.environ.get("APO_SCREENSHOT_DIR")
    path = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def tab(browser):
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", accept_downloads=True,
                                  viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def open_message(tab, demo, subject_part: str):
    """Wait on the catcher's list until the customer's message with `subject_part` arrives."""
    deadline = time.monotonic() + MAIL_TIMEOUT_S
    while True:
        tab.goto(demo.mail_url)
        row = tab.locator("tr.message-row", has_text=EMAIL).filter(has_text=subject_part)
        if row.count():
            row.first.locator("a").first.click()
            tab.wait_for_url(re.compile(r"/messages/\d+$"))
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail '{subject_part}' for {EMAIL}\n{demo.logs()}")
        time.sleep(0.5)


def choose_day_two_days_ahead(tab, url: str) -> None:
    """Show the picker at `url` on a bookable day at least two days ahead, so that each booked
    time is more than 24 hours away and plans its reminder (N4) whatever today's date is: the
    delivery log below then holds a known number of rows."""
    today = datetime.now(TOKYO).date()
    for offset in range(2, 12):
        day = (today + timedelta(days=offset)).isoformat()
        tab.goto(f"{url}{'&' if '?' in url else '?'}day={day}")
        if tab.locator(f"#day-{day}[aria-current='true']").count():
            return
    raise AssertionError(f"no bookable day in the 10 days after {today}")


def download_invite(tab) -> icalendar.Calendar:
    with tab.expect_download() as info:
        tab.click("a.ics-link")
    return icalendar.Calendar.from_ical(Path(info.value.path()).read_bytes())


def test_a_N1_booking_shows_the_confirmation_with_the_invitation(tab, demo, shots):
    choose_day_two_days_ahead(tab, f"{demo.url}/p/{SLUG}")
    tab.locator("a.slot").nth(2).click()
    tab.wait_for_url(re.compile(r"/book\?start="))
    if tab.locator("#last_name").count():  # the page may split names (P1)
        tab.fill("#last_name", "メール")
        tab.fill("#first_name", "太郎")
    else:
        tab.fill("#name", "メール 太郎")
    tab.fill("#company", "テスト商事")
    tab.fill("#email", EMAIL)
    tab.locator("textarea").first.fill("招待状を確認します。")
    tab.locator("form button[type=submit].btn-primary").click()
    tab.wait_for_url(re.compile(r"/b/[\w-]+$"))
    STATE["link"] = tab.url
    open_message(tab, demo, "ご予約が確定しました")
    frame = tab.frame_locator("iframe")
    frame.locator("a", has_text="日時の変更・キャンセルはこちら").wait_for()
    assert frame.locator("a").first.get_attribute("href") == STATE["link"]
    shot = str(shots / "mail-1-catcher-confirmation.png")
    tab.screenshot(path=shot, full_page=True)
    calendar = download_invite(tab)
    event = next(iter(calendar.walk("VEVENT")))
    assert str(calendar["METHOD"]) == "REQUEST" and int(event["SEQUENCE"]) == 0
    STATE["uid"], STATE["start"] = str(event["UID"]), event.decoded("DTSTART")


def test_b_N3_reschedule_shows_the_update(tab, demo):
    assert STATE.get("link"), "journey a did not finish"
    tab.goto(STATE["link"])
    tab.click("a[href$='/reschedule']")
    choose_day_two_days_ahead(tab, tab.url)
    tab.locator("a.slot").nth(3).click()
    tab.locator("form button[type=submit].btn-primary").click()
    tab.wait_for_url(re.compile(r"done=rescheduled"))
    open_message(tab, demo, "日時が変更されました")
    calendar = download_invite(tab)
    event = next(iter(calendar.walk("VEVENT")))
    assert str(calendar["METHOD"]) == "REQUEST" and int(event["SEQUENCE"]) == 1
    assert str(event["UID"]) == STATE["uid"] and event.decoded("DTSTART") != STATE["start"]


def test_c_N3_cancel_shows_the_cancellation(tab, demo, shots):
    assert STATE.get("uid"), "journey b did not finish"
    tab.goto(STATE["link"])
    tab.click("a.cancel-link")  # cancelling asks first, on its own page
    tab.fill(".cancel-form textarea", "都合が合わなくなりました")
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.click(".cancel-form button[type=submit]")
    tab.wait_for_url(re.compile(r"done=cancelled"))
    open_message(tab, demo, "予約がキャンセルされました")
    tab.frame_locator("iframe").locator("text=都合が合わなくなりました").wait_for()
    calendar = download_invite(tab)
    event = next(iter(calendar.walk("VEVENT")))
    assert str(calendar["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == STATE["uid"] and int(event["SEQUENCE"]) == 2
    tab.goto(demo.mail_url)
    assert tab.locator("tr.message-row", has_text=EMAIL).count() == 3
    tab.screenshot(path=str(shots / "mail-2-catcher-list.png"))


def test_d_N5_the_admin_sees_each_message_in_the_delivery_log(tab, demo, shots):
    from webapp.services.demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD

    tab.goto(demo.url + "/login")
    tab.fill("#email", DEMO_ADMIN_EMAIL)
    tab.fill("#password", DEMO_ADMIN_PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url("**/admin/**")
    tab.click("nav.mainnav >> text=配信ログ")
    rows = tab.locator("tr.message-row", has_text=EMAIL)
    # The three messages sent, and the two reminders (the booking's and the moved booking's)
    # that were planned and then not needed: each step superseded the one before (N4, N5).
    assert rows.count() == 5
    assert rows.locator(".badge", has_text="送信済み").count() == 3
    reminders = rows.filter(has_text="リマインダー")
    assert reminders.count() == 2
    assert reminders.locator(".badge", has_text="送信不要").count() == 2
    # In the admin's words: the hours entered, the change's number, why it was not sent.
    text = rows.all_inner_texts() if hasattr(rows, "all_inner_texts") else []
    joined = " ".join(text)
    assert "24 時間前" in joined and "1440" not in joined
    assert "superseded" not in joined and "SEQUENCE" not in joined
    tab.screenshot(path=str(shots / "mail-3-delivery-log.png"))
