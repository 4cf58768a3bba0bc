"""The whole journey in a real browser on a real demo (STYLE 3.9, system ring).

Each module-scoped `demo` is a fresh `make run` (gunicorn, worker.py, Redis, the emulator) in a
throwaway directory. The Japanese journeys share one demo and run in order, each building on
the previous one's state the way one admin's afternoon would (set up, then bookings, then a
broken connection); the English journey gets its own fresh demo. Screenshots of the key steps
go to APO_SCREENSHOT_DIR (default: a pytest tmp dir); the README's come from
`APO_SCREENSHOT_DIR=docs/screenshots pytest tests/test_browser_journeys.py`.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from salesforce_emulator.seed import ADMIN_USERNAME, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.fixtures_demo import demo_fixture

pytestmark = pytest.mark.browser

# A second, independent demo for the English journey (`demo` comes from tests.fixtures_demo).
demo_en = demo_fixture("demo_en")

ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "apo-demo"
SF_PASSWORD = "apo-demo"
SLUG = "demo-team"
CALLBACK_PATH = "/admin/integrations/salesforce/callback"
KNOWN_LEAD = "00QIg000000000GMAQ"  # 山本 健, known@example.com (also a Contact)
SATO_USER = "005Ig0000000005IAA"  # sato@example.com, the demo team page's first member
SF_ADMIN_USER = "005Ig0000000004IAA"  # admin@apo-demo.example, who connects
SYNC_TIMEOUT_MS = 20_000

# Journey state shared by the ordered Japanese tests (one demo, one admin's day).
STATE: dict = {}


# ----- fixtures and helpers ----------------------------------------------------------------
@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where screenshots go: APO_SCREENSHOT_DIR, else a pytest tmp dir."""
    target = os.environ.get("APO_SCREENSHOT_DIR")
    path = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_page(browser, locale: str = "ja-JP"):
    context = browser.new_context(locale=locale, timezone_id="Asia/Tokyo",
                                  viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def admin_page(browser, demo):
    """A browser tab signed in as the demo admin (Japanese)."""
    page = new_page(browser)
    sign_in(page, demo)
    yield page
    page.context.close()


@pytest.fixture
def customer_page(browser):
    """A separate browser (no admin cookies) for the customer."""
    page = new_page(browser)
    yield page
    page.context.close()


def shot(page, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / f"{name}.png"))


def sign_in(page, demo, lang: str | None = None) -> None:
    page.goto(demo.url + "/login" + (f"?lang={lang}" if lang else ""))
    page.fill("#email", ADMIN_EMAIL)
    page.fill("#password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/**")


def sync_row(page, email: str, action_label: str | None = None):
    row = page.locator("tr.sync-row", has_text=email)
    if action_label:
        row = row.filter(has_text=action_label)
    return row.first


def wait_for_sync(page, demo, email: str, status: str, action_label: str | None = None):
    """Open 同期ログ and wait (rows poll themselves) until the row shows `status`."""
    page.goto(demo.url + "/admin/syncs")
    row = sync_row(page, email, action_label)
    deadline = time.monotonic() + SYNC_TIMEOUT_MS / 1000
    while True:
        try:
            row.locator(".badge", has_text=status).wait_for(timeout=3_000)
            return row
        except Exception:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"sync of {email} not {status} after {SYNC_TIMEOUT_MS} ms: "
                    f"{row.inner_text() if row.count() else 'no row'}\n{demo.logs()}") from None
            page.reload()


def book(page, demo, email: str, last: str, first: str, department: str = "",
         slot_index: int = 0, lang: str | None = None) -> str:
    """A customer books a slot on the demo team page; returns the private link."""
    page.goto(f"{demo.url}/p/{SLUG}" + (f"?lang={lang}" if lang else ""))
    page.locator("a.slot").nth(slot_index).click()
    page.wait_for_url(re.compile(r"/book\?start="))
    page.fill("#last_name", last)
    page.fill("#first_name", first)
    page.fill("#company", "テスト商事")
    page.fill("#email", email)
    if department:
        page.get_by_label("部署名" if lang != "en" else re.compile("部署名")).fill(department)
    page.locator("textarea").first.fill("導入について相談したいです。")
    page.locator("form button[type=submit].btn-primary").click()
    page.wait_for_url(re.compile(r"/b/[\w-]+$"))
    return page.url


def lead_by_email(demo, email: str) -> list[dict]:
    return [r for r in demo.records("Lead")
            if (r.get("Email") or "").lower() == email.lower() and not r.get("IsDeleted")]


def events_on(demo, who_id: str) -> list[dict]:
    return [r for r in demo.records("Event") if r.get("WhoId") == who_id]


# ----- a. the admin sets everything up ----------------------------------------------------
def connect_salesforce(page, demo, directory: Path | None, username: str = ADMIN_USERNAME,
                       prefix: str = "") -> None:
    page.goto(demo.url + "/admin/integrations")
    page.click(".sf-menu summary")
    page.click(".sf-menu-items a[href$='/connect']")
    assert page.input_value("#sf-callback-url") == demo.url + CALLBACK_PATH
    page.fill("#consumer_key", DEMO_CLIENT_ID)
    page.fill("#consumer_secret", DEMO_CLIENT_SECRET)
    if directory:
        shot(page, directory, f"{prefix}03-connect-form")
    page.click(".sf-connect-form button[type=submit]")
    # The emulator's login page, then its consent page (許可).
    page.wait_for_url(demo.login_url + "/**")
    page.fill("#username", username)
    page.fill("#password", SF_PASSWORD)
    if directory:
        shot(page, directory, f"{prefix}04-salesforce-login")
    page.click("#Login")
    page.locator("#oaapprove").wait_for()
    page.click("#oaapprove")
    page.wait_for_url("**/admin/integrations/salesforce/connected")


def admin_sets_up(page, demo, directory: Path, prefix: str = "") -> int:
    """Journey a; returns the team page's id."""
    en = prefix == "en-"
    # ホーム: the guided setup, nothing done yet; its first step is the next one.
    page.goto(demo.url + "/admin/")
    assert page.locator("#setup-connect.is-next").is_visible()
    shot(page, directory, f"{prefix}00-home-guide")
    # 組織設定: the plan (O1); premium is needed for ④.
    page.goto(demo.url + "/admin/organization")
    page.check("input[name=plan][value=premium]")
    page.click("form.card button[type=submit]")
    page.locator(".flash-success").wait_for()
    assert page.is_checked("input[name=plan][value=premium]")
    shot(page, directory, f"{prefix}01-organization")
    page.goto(demo.url + "/admin/integrations")
    assert page.locator(".badge", has_text="Not connected" if en else "未連携").is_visible()
    shot(page, directory, f"{prefix}02-integrations")

    connect_salesforce(page, demo, directory, prefix=prefix)
    assert page.locator("h1", has_text="Connection complete" if en else "連携完了").is_visible()
    assert page.locator(".sf-admin-ok").is_visible()
    shot(page, directory, f"{prefix}05-connected")

    # 事前確認 (C9): every check passes against the demo org.
    page.goto(demo.url + "/admin/integrations")
    page.click(".sf-menu summary")
    page.click(".sf-menu-items a[href$='/checks']")
    page.wait_for_url("**/admin/integrations/salesforce/checks")
    checks = page.locator(".sf-checks > li")
    assert checks.count() >= 5
    assert page.locator(".sf-checks .check-fail, .sf-checks .badge-err").count() == 0, (
        page.locator(".sf-checks").inner_text())
    shot(page, directory, f"{prefix}06-checks")

    # The team page's 詳細設定 > Salesforce: tick ① to ④, then 「変更を保存」 (the seed's step).
    page.goto(demo.url + "/admin/pages")
    page.click(f"a:has-text('{'製品デモのご予約'}')")
    page.wait_for_url(re.compile(r"/admin/pages/\d+$"))
    page_id = int(re.search(r"/admin/pages/(\d+)", page.url).group(1))
    page.click(f"a[href='/admin/pages/{page_id}/advanced']")
    page.wait_for_url(f"**/admin/pages/{page_id}/advanced")
    form = page.locator(f"#page-salesforce-{page_id}")
    for name in ("sf_split_name", "sf_create_lead", "sf_create_event", "sf_map_fields"):
        page.check(f"#{name}")
    form.locator("button[type=submit]").click()
    form.locator(".sf-saved").wait_for()
    page.reload()
    for name in ("sf_split_name", "sf_create_lead", "sf_create_event", "sf_map_fields"):
        assert page.is_checked(f"#{name}"), name
    page.evaluate("window.scrollTo(0, 0)")  # the reload keeps the save button's scroll
    shot(page, directory, f"{prefix}07-page-salesforce")

    # Map 部署名 (text field) to the Lead's 部署 (Department__c) through the autocomplete.
    page.goto(f"{demo.url}/admin/pages/{page_id}/form")
    page.locator("tr, li", has_text="部署名").locator("a[href*='/edit']").first.click()
    page.wait_for_url(re.compile(r"/fields/\d+/edit"))
    page.fill("#salesforce_field", "")
    page.locator("#salesforce_field").press_sequentially("depa", delay=60)
    option = page.locator(f'#sf-fields-{page_id} [role=option][data-value="Department__c"]')
    option.wait_for()
    # The typed text's suggestions (not the ones fetched on focus) are the ones shown.
    expect(page.locator(f"#sf-fields-{page_id} [role=option]").first).to_have_attribute(
        "data-value", "Department__c")
    assert "部署" in option.text_content()
    shot(page, directory, f"{prefix}08-field-mapping")
    # Enter on the typed fragment saves nothing: it points at the first suggestion, and a
    # second Enter takes it (the fragment "depa" never becomes a field name).
    page.locator("#salesforce_field").press("Enter")
    assert re.search(r"/fields/\d+/edit", page.url) and \
        page.input_value("#salesforce_field") == "depa"
    expect(page.locator("#salesforce_field")).to_have_attribute(
        "aria-activedescendant", re.compile(f"sf-fields-{page_id}-"))
    page.locator("#salesforce_field").press("Enter")
    assert page.input_value("#salesforce_field") == "Department__c"
    page.click(".field-form button[type=submit]")
    page.wait_for_url(f"**/admin/pages/{page_id}/form")
    assert page.locator("code", has_text="Department__c").is_visible()
    page.goto(f"{demo.url}/admin/pages/{page_id}/advanced")
    row = page.locator(".sf-mapping tbody tr", has_text="部署名")
    assert "Department__c" in row.inner_text()
    return page_id


def test_a_admin_signs_in_sets_plan_connects_checks_and_maps_a_field(admin_page, demo, shots):
    STATE["page_id"] = admin_sets_up(admin_page, demo, shots)


# ----- b. a new customer becomes a Lead ---------------------------------------------------
def new_customer_becomes_lead(admin, customer, demo, directory: Path, prefix: str = "",
                              lang: str | None = None) -> None:
    email = f"new.customer.{prefix or 'ja'}@example.org"
    # The public page on a phone: the month, then the chosen day's times.
    customer.set_viewport_size({"width": 390, "height": 844})
    customer.goto(f"{demo.url}/p/{SLUG}" + (f"?lang={lang}" if lang else ""))
    customer.locator("a.slot").first.wait_for()
    shot(customer, directory, f"{prefix}09-picker-phone")
    customer.set_viewport_size({"width": 1280, "height": 800})
    book(customer, demo, email, "新規", "太郎", department="営業企画部", lang=lang)
    shot(customer, directory, f"{prefix}09-booking-confirmed")
    done = "Synced" if lang == "en" else "同期済み"
    row = wait_for_sync(admin, demo, email, done)
    shot(admin, directory, f"{prefix}10-sync-log")
    leads = lead_by_email(demo, email)
    assert len(leads) == 1, leads
    lead = leads[0]
    assert (lead["LastName"], lead["FirstName"], lead["Company"], lead["Department__c"]) == (
        "新規", "太郎", "テスト商事", "営業企画部")
    # The row links the Lead into Salesforce (the emulator's Lightning record page).
    link = row.locator(f"a[href$='/lightning/r/Lead/{lead['Id']}/view']")
    with admin.context.expect_page() as opened:
        link.click()
    record = opened.value
    record.wait_for_load_state()
    body = record.locator("body").inner_text()
    assert "営業企画部" in body and email in body and "テスト商事" in body
    shot(record, directory, f"{prefix}11-salesforce-lead")
    record.close()


def test_b_new_customer_books_and_the_sync_log_links_the_new_lead(admin_page, customer_page,
                                                                  demo, shots):
    assert STATE.get("page_id"), "journey a did not finish"
    new_customer_becomes_lead(admin_page, customer_page, demo, shots)


# ----- c. a known customer: the Event goes on the Lead, owned by the first member ----------
def test_c_E2_E3_known_customer_gets_event_on_lead_owned_by_first_matching_member(
        admin_page, customer_page, demo, shots):
    assert STATE.get("page_id"), "journey a did not finish"
    before = {e["Id"] for e in events_on(demo, KNOWN_LEAD)}
    STATE["known_link"] = book(customer_page, demo, "known@example.com", "山本", "健")
    row = wait_for_sync(admin_page, demo, "known@example.com", "同期済み")
    new = [e for e in events_on(demo, KNOWN_LEAD) if e["Id"] not in before]
    assert len(new) == 1, new
    event = new[0]
    assert event["OwnerId"] == SATO_USER
    assert not [e for e in demo.records("Event") if e.get("WhoId", "").startswith("003")
                and e["Id"] not in before and e.get("CreatedDate", "") >= event["CreatedDate"]]
    assert lead_by_email(demo, "known@example.com")[0]["Id"] == KNOWN_LEAD  # no new Lead
    STATE["event_id"], STATE["event_start"] = event["Id"], event["StartDateTime"]
    text = row.inner_text()
    assert "sato@example.com" in text
    assert row.locator(f"a[href$='/lightning/r/Lead/{KNOWN_LEAD}/view']").count() == 1
    shot(admin_page, shots, "12-sync-log-known-customer")
    # The emulator's Event page names its Who (the Lead) and its owner (佐藤).
    record = admin_page.context.new_page()
    record.goto(f"{demo.instance_url}/lightning/r/Event/{event['Id']}/view")
    body = record.locator("body").inner_text()
    assert "山本" in body and "佐藤" in body
    shot(record, shots, "13-salesforce-event")
    record.close()


# ----- d. the customer reschedules, then cancels --------------------------------------------
def test_d_S7_reschedule_moves_the_event_and_cancel_marks_it_cancelled(
        admin_page, customer_page, demo, shots):
    assert STATE.get("event_id"), "journey c did not finish"
    event_id = STATE["event_id"]
    customer_page.goto(STATE["known_link"])
    customer_page.click("a[href$='/reschedule']")
    customer_page.locator("a.slot").nth(3).click()
    customer_page.locator("form button[type=submit].btn-primary").click()
    customer_page.wait_for_url(re.compile(r"done=rescheduled"))
    wait_for_sync(admin_page, demo, "known@example.com", "同期済み", action_label="日時の変更")
    moved = next(e for e in demo.records("Event") if e["Id"] == event_id)
    assert moved["StartDateTime"] != STATE["event_start"]
    assert moved["WhoId"] == KNOWN_LEAD

    customer_page.goto(STATE["known_link"])
    customer_page.click("a.cancel-link")  # cancelling asks first, on its own page
    customer_page.fill(".cancel-form textarea", "別の日に検討します")
    customer_page.on("dialog", lambda dialog: dialog.accept())
    customer_page.click(".cancel-form button[type=submit]")
    customer_page.wait_for_url(re.compile(r"done=cancelled"))
    shot(customer_page, shots, "14-booking-cancelled")
    wait_for_sync(admin_page, demo, "known@example.com", "同期済み", action_label="キャンセル")
    cancelled = next(e for e in demo.records("Event") if e["Id"] == event_id)
    assert cancelled["Subject"].startswith("キャンセル"), cancelled["Subject"]
    assert cancelled["ShowAs"] == "Free"  # no longer blocks the salesperson's calendar
    assert "別の日に検討します" in (cancelled.get("Description") or "")
    assert len(events_on(demo, KNOWN_LEAD)) == 2  # the seed's Event and ours: nothing new


# ----- d2. the admin reads how booking goes; the customer's page on a desktop ---------------
def test_d2_O7_the_dashboard_counts_the_days_bookings_and_links_nothing_to_salesforce(
        admin_page, customer_page, demo, shots):
    assert STATE.get("page_id"), "journey a did not finish"
    # The customer's page on a desktop: the organization's logo heads it (demo data has one).
    customer_page.goto(f"{demo.url}/p/{SLUG}")
    customer_page.locator("a.slot").first.wait_for()
    assert customer_page.locator("header img.org-logo").evaluate("i => i.naturalWidth") > 0
    shot(customer_page, shots, "09-picker-desktop")
    admin_page.goto(demo.url + "/admin/analytics")
    # The bookings of b and c (made today) are counted, on the page they were made on.
    assert int(admin_page.locator("#total-bookings").inner_text()) >= 2
    by_page = admin_page.locator("#chart-pages table").text_content()
    assert "製品デモのご予約" in by_page
    shot(admin_page, shots, "18-analytics")
    admin_page.set_viewport_size({"width": 390, "height": 844})
    admin_page.reload()
    shot(admin_page, shots, "18-analytics-phone")
    admin_page.set_viewport_size({"width": 1280, "height": 800})
    admin_page.goto(demo.url + "/admin/calendars")
    shot(admin_page, shots, "24-calendars")
    admin_page.goto(f"{demo.url}/admin/pages/{STATE['page_id']}")
    admin_page.locator("#embed").scroll_into_view_if_needed()
    assert "/static/embed.js" in admin_page.locator("#embed-inline").input_value()
    shot(admin_page, shots, "25-embed-settings")


# ----- e. the connecting user is deactivated; the admin reconnects --------------------------
def test_e_C7_S6_deactivated_user_parks_the_sync_until_the_admin_reconnects(
        admin_page, customer_page, demo, shots):
    assert STATE.get("page_id"), "journey a did not finish"
    demo.control("POST", f"users/{SF_ADMIN_USER}/deactivate")
    email = "after.deactivation@example.org"
    book(customer_page, demo, email, "停止", "後", slot_index=5)
    wait_for_sync(admin_page, demo, email, "要再連携")
    shot(admin_page, shots, "15-sync-parked")
    admin_page.click("tr.sync-row a[href$='/admin/integrations']")
    assert admin_page.locator(".badge", has_text="要再連携").is_visible()
    reason = admin_page.locator(".sf-broken-reason").inner_text()
    assert "inactive user" in reason
    shot(admin_page, shots, "16-integration-broken")
    assert lead_by_email(demo, email) == []

    # The user left the company: a real admin connects as another System Administrator (here
    # created in the emulator's org, as Salesforce setup would), after disconnecting (C6).
    profile = next(u for u in demo.records("User") if u["Id"] == SF_ADMIN_USER)["ProfileId"]
    demo.control("POST", "records/User", {
        "Username": "kobayashi@apo-demo.example", "LastName": "小林", "FirstName": "恵",
        "Email": "kobayashi@apo-demo.example", "Alias": "mkoba", "ProfileId": profile,
        "IsActive": True, "UserType": "Standard", "TimeZoneSidKey": "Asia/Tokyo",
        "LocaleSidKey": "ja_JP", "LanguageLocaleKey": "ja"})
    admin_page.on("dialog", lambda dialog: dialog.accept())
    admin_page.click(".sf-menu summary")
    admin_page.click(".sf-menu-items button.btn-menu-danger")
    admin_page.locator(".badge", has_text="未連携").wait_for()
    connect_salesforce(admin_page, demo, None, username="kobayashi@apo-demo.example")
    assert admin_page.locator(".sf-admin-ok").is_visible()
    wait_for_sync(admin_page, demo, email, "同期済み")
    lead = lead_by_email(demo, email)
    assert len(lead) == 1 and lead[0]["LastName"] == "停止"
    shot(admin_page, shots, "17-sync-resumed")


# ----- f. the same journey in English --------------------------------------------------------
# Japanese that is allowed on the English screens: user data (the demo organization, page,
# members, form labels and answers), Salesforce data from the emulator's ja_JP org, and the
# language switch's own label, and the 「・・・」 menu button the seed names (a symbol, with an
# English aria-label).
ALLOWED_JAPANESE = [
    "・・・",
    "Apo デモ株式会社", "製品デモのご予約", "Apo の製品デモ（30分）をオンラインでご案内します。",
    "佐藤との個別相談", "佐藤 花子", "鈴木 一郎", "田中 健", "管理者 デモ", "部署名", "ご相談内容",
    "ご希望の連絡手段", "ご興味のある機能", "従業員規模", "流入元", "導入希望日", "例: 営業部",
    "メール", "電話", "日程調整", "CRM連携", "分析レポート", "1-10名", "11-50名", "51-200名",
    "201名以上", "部署", "山田 花子", "新規 太郎", "新規", "太郎", "テスト商事", "営業企画部",
    "導入について相談したいです。", "日本語",
    # Salesforce data the sync log names records by: the Event subject Apo writes (always
    # Japanese); the emulator's sales rep who owns the Event is 佐藤 花子, as in Apo.
    "製品デモのご予約: 新規 太郎様",
]
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff60]+[^\s<>\"]*")


def untranslated(page) -> list[str]:
    """Japanese runs left in the visible text once user data is taken out."""
    text = page.locator("body").inner_text()
    for allowed in sorted(ALLOWED_JAPANESE, key=len, reverse=True):
        text = text.replace(allowed, "")
    return JAPANESE.findall(text)


def test_f_journey_a_and_b_in_english(browser, demo_en, shots):
    admin = new_page(browser, locale="en-US")
    customer = new_page(browser, locale="en-US")
    try:
        sign_in(admin, demo_en, lang="en")
        assert admin.locator("html").get_attribute("lang") == "en"
        admin_sets_up(admin, demo_en, shots, prefix="en-")
        leftovers = {}
        for path in ("/admin/", "/admin/organization", "/admin/integrations",
                     "/admin/integrations/salesforce/checks", "/admin/pages",
                     f"/admin/pages/{admin_page_id(admin)}/advanced",
                     f"/admin/pages/{admin_page_id(admin)}/form", "/admin/syncs"):
            admin.goto(demo_en.url + path)
            found = untranslated(admin)
            if found:
                leftovers[path] = found
        assert admin.locator("h1").first.inner_text().strip() == "Sync log"
        new_customer_becomes_lead(admin, customer, demo_en, shots, prefix="en-", lang="en")
        for path in ("/admin/syncs", f"/p/{SLUG}"):
            admin.goto(demo_en.url + path)
            found = untranslated(admin)
            if found:
                leftovers[path] = found
        assert leftovers == {}
    finally:
        admin.context.close()
        customer.context.close()


def admin_page_id(page) -> int:
    return STATE.setdefault("en_page_id", _page_id_from_list(page))


def _page_id_from_list(page) -> int:
    page.goto(page.url.split("/admin")[0] + "/admin/pages")
    href = page.locator("a", has_text="製品デモのご予約").first.get_attribute("href")
    return int(re.search(r"/admin/pages/(\d+)", href).group(1))


def test_g_make_run_serves_the_zoom_emulator_with_its_state_in_the_instance_directory(demo):
    """`make run` starts the Zoom stand-in with the demo app registered for Apo's callback and
    its state in the instance directory, so a restart keeps the members' Zoom connections."""
    import json

    from zoom_emulator.seed import DEMO_CLIENT_ID as ZOOM_CLIENT_ID

    assert demo.http.get(demo.zoom_url + "/__emulator__/health", timeout=10).status_code == 200
    assert demo.http.get(demo.zoom_url + "/meeting", timeout=10).status_code == 200
    state = json.loads((demo.instance_dir / "zoom" / "zoom.json").read_text())
    assert state["apps"][ZOOM_CLIENT_ID]["redirect_uris"] == [
        demo.url + "/meetings/zoom/callback"]
    assert {"sato@example.com", "suzuki@example.com", "tanaka@example.com"} <= set(
        state["users"])
