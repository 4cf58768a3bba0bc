"""A customer books on a demo-like team page in headless Chromium (F1-F4)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import make_public_page
from webapp.extensions import db
from webapp.models import Booking, SyncRecord

pytestmark = pytest.mark.browser


@pytest.fixture
def team_page(app):
    """Like the demo team page: two members, buffer, one custom field of each type."""
    page = make_public_page(title="製品デモのご予約", description="オンラインでご案内します。",
                            buffer_minutes=10)
    db.session.commit()
    return page


def fill_and_submit(page, with_js: bool) -> None:
    page.fill("#name", "山田 太郎")
    page.fill("#company", "山田商事")
    page.fill("#email", "taro@example.com")
    page.get_by_label("部署名").fill("営業部")
    page.get_by_label("ご相談内容").fill("導入について相談したいです。")
    page.get_by_label("電話").check()
    page.get_by_label("日程調整").check()
    page.get_by_label("CRM連携").check()
    page.get_by_label("従業員規模").select_option("11-50名")
    if with_js:
        page.get_by_label("導入希望日").fill("2026-12-01")
    page.get_by_text("同席者を追加する(任意)").click()  # attendees fold away until wanted
    page.fill("#attendees-0-name", "佐々木 次郎")
    page.fill("#attendees-0-email", "jiro@example.com")
    page.get_by_role("button", name="予約を確定する").click()


def book_first_slot(page, live_server, team_page, with_js: bool = True) -> None:
    page.goto(f"{live_server.url}/p/{team_page.slug}")
    assert page.get_by_role("heading", name="製品デモのご予約").is_visible()
    page.locator("a.slot").first.click()
    page.wait_for_url(re.compile(r"/book\?start="))
    fill_and_submit(page, with_js)
    page.wait_for_url(re.compile(r"/b/[\w-]+$"))


def test_F4_customer_books_first_slot_and_sees_confirmation(page, live_server, team_page):
    book_first_slot(page, live_server, team_page)
    assert page.get_by_role("heading", name="ご予約が確定しました").is_visible()
    body = page.locator("main").inner_text()
    assert "山田 太郎" in body and "日程調整、CRM連携" in body and "佐々木 次郎" in body
    db.session.expire_all()
    booking = db.session.scalar(select(Booking))
    assert page.url.endswith(f"/b/{booking.token}")
    assert db.session.scalar(select(SyncRecord.status)) == "pending"


def test_F5_browser_shows_errors_beside_fields(page, live_server, team_page):
    page.goto(f"{live_server.url}/p/{team_page.slug}")
    page.locator("a.slot").first.click()
    page.fill("#email", "not-an-email")
    page.get_by_role("button", name="予約を確定する").click()
    assert page.locator("#email-errors").inner_text().strip() == (
        "メールアドレスの形式が正しくありません。")
    assert page.locator("#email").get_attribute("aria-invalid") == "true"
    db.session.expire_all()
    assert db.session.scalar(select(Booking)) is None


def test_F4_booking_works_without_javascript(browser, live_server, team_page):
    context = browser.new_context(java_script_enabled=False, locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        book_first_slot(page, live_server, team_page, with_js=False)
        assert page.get_by_role("heading", name="ご予約が確定しました").is_visible()
        page.get_by_role("link", name="予約をキャンセルする").click()
        page.get_by_label("キャンセルの理由(任意)").fill("都合が悪くなりました")
        page.get_by_role("button", name="キャンセルを確定する").click()
        page.wait_for_url(re.compile(r"done=cancelled"))
        assert page.get_by_role("heading", name="この予約はキャンセルされました").is_visible()
    finally:
        context.close()
