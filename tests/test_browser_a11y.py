"""axe-core on every admin screen, signed in with a connected org and a synced booking, in
Japanese and English, at 1280x800 and 390x844 (no violation of any impact, and no screen wider
than the window)."""

from __future__ import annotations

import pytest
from flask import current_app

from tests.axe import violations
from tests.fixtures_salesforce import *  # noqa: F403 - fixtures (conftest plugin pending)
from tests.fixtures_sync import SATO, booking_with_sync, team_page
from webapp.extensions import db
from webapp.jobs import sync as sync_jobs
from webapp.models import CalendarConnection, FormField, MemberCalendar
from webapp.services.calendars import links

pytestmark = pytest.mark.browser


@pytest.fixture
def screens(org, sf_connection):
    """Every GET screen of the admin area, with rows in each list."""
    page = team_page(org, (SATO,), title="デモ予約ページ")
    page.fields = [FormField(position=0, field_type="text", label="部署名"),
                   FormField(position=1, field_type="date", label="導入希望日")]
    member = page.members[0]
    booking, record = booking_with_sync(page)  # a real sync against the emulator: rows with ids
    sync_jobs.run_sync_record(record.id)
    # A connected calendar, so カレンダー連携 shows its densest rows (the roles form).
    connection = CalendarConnection(organization_id=org.id, member_id=member.id,
                                    provider="caldav", server_url="https://dav.example.jp/cal/",
                                    username="sato", status="ok")
    connection.calendars = [
        MemberCalendar(member_id=member.id, remote_id="/cal/work/", name="仕事",
                       receives_bookings=True),
        MemberCalendar(member_id=member.id, remote_id="/cal/home/",
                       name="個人の予定がとても多い長い名前のカレンダー")]
    db.session.add(connection)
    date_field = next(f for f in page.fields if f.field_type == "date")
    text_field = next(f for f in page.fields if f.field_type == "text")
    db.session.commit()
    return [
        "/admin/", "/admin/pages", "/admin/pages/new", f"/admin/pages/{page.id}",
        f"/admin/pages/{page.id}/advanced", f"/admin/pages/{page.id}/advanced?section=reminders",
        f"/admin/pages/{page.id}/form",
        f"/admin/pages/{page.id}/fields/new",
        f"/admin/pages/{page.id}/fields/{text_field.id}/edit",
        f"/admin/pages/{page.id}/fields/{date_field.id}/edit",
        f"/admin/pages/{page.id}/delete", "/admin/members", "/admin/members/new",
        f"/admin/members/{member.id}/edit", f"/admin/members/{member.id}/remove",
        "/admin/syncs", "/admin/integrations", "/admin/integrations/salesforce/connect",
        "/admin/integrations/salesforce/connected", "/admin/integrations/salesforce/checks",
        "/admin/organization", "/admin/analytics",
        f"/admin/bookings/{booking.id}", "/admin/calendars", "/admin/calendars/log",
        f"/admin/calendars/members/{member.id}/connect", "/admin/mail",
        # The member's own connect page (K1), reached by the signed link, not signed in.
        "/calendar/connect/" + links.make_token(member, current_app.config["SECRET_KEY"]),
    ]


def sign_in(page, server, admin) -> None:
    page.goto(server.url + "/login")
    page.fill("#email", admin.email)
    page.fill("#password", "secret-pass")
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/**")


@pytest.mark.parametrize("viewport, lang", [
    ({"width": 1280, "height": 800}, "ja"), ({"width": 390, "height": 844}, "en")],
    ids=["1280x800-ja", "390x844-en"])
def test_admin_screens_have_no_axe_violations(browser, live_server, admin, screens, viewport,
                                             lang):
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(live_server.url + "/login")
        assert violations(page) == []
        sign_in(page, live_server, admin)
        found = {}
        for path in screens:
            page.goto(f"{live_server.url}{path}{'&' if '?' in path else '?'}lang={lang}")
            page.wait_for_load_state("networkidle")
            problems = violations(page)
            # Nothing widens the page past the screen: a phone never scrolls sideways (wide
            # lists scroll inside their own region instead).
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > viewport["width"]:
                problems = [*problems, f"page is {width} px wide"]
            if problems:
                found[path] = problems
        assert found == {}
    finally:
        context.close()
