"""Routing and outcomes in a real browser on a real demo (R1, R2, R7; STYLE 3.9, system ring).

The admin connects Salesforce and turns on ③ and 所有者への振り分け for the demo team page. A
customer whose Lead 鈴木 owns gives their email first, sees 鈴木's times only, and books; the
Event goes on the Lead with 鈴木 as owner. After the meeting, 鈴木 opens the link in the
notification the worker mailed to them and marks it 無断欠席; the Event then shows it.

The meeting "has happened" by moving the booking's times two hours into the past in the demo's
own database: the only way to be past a booking made a minute ago without waiting for it.
"""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.test_browser_journeys import connect_salesforce, new_page, sign_in

pytestmark = pytest.mark.browser

SLUG = "demo-team"
OWNED = "owned-by-suzuki@example.net"
TIMEOUT_S = 60


def wait_until(predicate, what: str, demo):
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n{demo.logs()}")


def test_R1_R7_a_known_customer_books_with_the_owner_who_marks_a_no_show(browser, demo):
    admin = new_page(browser)
    sign_in(admin, demo)
    connect_salesforce(admin, demo, None)
    users = {u["Email"]: u["Id"] for u in demo.records("User")}
    demo.control("POST", "records/Lead", {"LastName": "既知", "Company": "既知商事",
                                          "Email": OWNED, "IsConverted": False,
                                          "OwnerId": users["suzuki@example.com"]})
    admin.goto(demo.url + "/admin/pages")
    admin.click("a:has-text('製品デモのご予約')")
    admin.wait_for_url(re.compile(r"/admin/pages/\d+$"))
    page_id = int(re.search(r"/admin/pages/(\d+)", admin.url).group(1))
    admin.goto(f"{demo.url}/admin/pages/{page_id}/advanced")
    form = admin.locator(f"#page-salesforce-{page_id}")
    for name in ("sf_create_event", "route_by_owner"):
        admin.check(f"#{name}")
    form.locator("button[type=submit]").click()
    form.locator(".sf-saved").wait_for()
    admin.reload()
    assert admin.is_checked("#route_by_owner") and admin.is_checked("#sf_create_event")

    # The customer: the email first, then 鈴木's times only.
    customer = new_page(browser)
    customer.goto(f"{demo.url}/p/{SLUG}")
    customer.fill("#email", OWNED)
    customer.click("#route-form button[type=submit]")
    customer.locator("#routed-host").wait_for()
    assert "鈴木" in customer.locator("#routed-host").inner_text()
    customer.locator("a.slot").first.click()
    customer.wait_for_url(re.compile(r"/book\?start="))
    assert customer.input_value("#email") == OWNED
    customer.fill("#name", "既知 太郎")
    customer.locator("textarea").first.fill("既存の契約について")
    customer.locator("form button[type=submit].btn-primary").click()
    customer.wait_for_url(re.compile(r"/b/[\w-]+$"))
    assert "鈴木" in customer.locator(".booking-status").inner_text()
    assert "佐藤" not in customer.locator(".booking-status").inner_text()

    lead = next(r for r in demo.records("Lead") if r.get("Email") == OWNED)
    event = wait_until(lambda: next((e for e in demo.records("Event")
                                     if e.get("WhoId") == lead["Id"]), None), "the Event", demo)
    assert event["OwnerId"] == users["suzuki@example.com"]  # E3 follows the routed host

    # 同期ログ says how the host was chosen (R2).
    admin.goto(demo.url + "/admin/syncs")
    assert "Salesforceの所有者に振り分けました" in admin.locator(
        "tr.sync-row", has_text=OWNED).first.inner_text()

    # The meeting took place (two hours ago).
    with sqlite3.connect(demo.instance_dir / "apo.sqlite3") as database:
        start = datetime.now(UTC) - timedelta(hours=2)
        stamp = "%Y-%m-%d %H:%M:%S.%f"
        database.execute("UPDATE bookings SET start_at = ?, end_at = ? WHERE email = ?",
                         (start.strftime(stamp), (start + timedelta(minutes=30)).strftime(stamp),
                          OWNED))

    # 鈴木's notification carries the outcome link.
    mail = new_page(browser)

    def member_link():
        mail.goto(demo.mail_url)
        row = mail.locator("tr.message-row", has_text="suzuki@example.com").filter(
            has_text="既知")
        if not row.count():
            return None
        row.first.locator("a").first.click()
        mail.wait_for_url(re.compile(r"/messages/\d+$"))
        found = re.search(r"https?://[^\s\"'<>]+/o/[\w.-]+", mail.content())
        return found.group(0) if found else None

    link = wait_until(member_link, "鈴木's notification with the outcome link", demo)
    suzuki = new_page(browser)
    suzuki.goto(link)
    assert suzuki.locator("#outcome-no_show").count(), suzuki.locator("main").inner_text()
    suzuki.click("#outcome-no_show")
    suzuki.locator(".notice-success").wait_for()
    assert "無断欠席" in suzuki.locator("#outcome-now").inner_text()
    wait_until(lambda: next((e for e in demo.records("Event") if e["Id"] == event["Id"]
                             and e["Subject"].startswith("【無断欠席】")), None),
               "the Event marked 無断欠席", demo)
    for tab in (admin, customer, mail, suzuki):
        tab.context.close()
