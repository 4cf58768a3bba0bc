"""Calendar screens and the confirm re-check over HTTP, against a real Radicale (K1, K3, K4,
K6)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import ALWAYS_WORKING, bookable_slots, make_member, make_org, make_page
from tests.fixtures_radicale import vevent
from tests.fixtures_salesforce import switch_to_other_org
from webapp.extensions import db
from webapp.models import Booking, CalendarConnection, MemberCalendar
from webapp.services import bookings
from webapp.services import slots as slot_rules


@pytest.fixture
def member(caldav_app, org):
    created = make_member(org, name="佐藤 一郎", working_hours=ALWAYS_WORKING)
    db.session.commit()
    return created


def connect_form(account, password=None) -> dict:
    return {"url": account.server.url + "/", "username": account.user,
            "password": password or account.password}


def test_K1_admin_connects_a_members_caldav_calendar_and_sees_its_state(
        admin_client, member, caldav_account):
    path = f"/admin/calendars/members/{member.id}/connect"
    response = admin_client.post_form(path, connect_form(caldav_account))
    assert response.status_code == 302
    html = admin_client.get("/admin/calendars").get_data(as_text=True)
    assert "佐藤 一郎" in html and "接続中" in html and "仕事" in html
    assert caldav_account.password not in html
    connection = db.session.scalar(select(CalendarConnection))
    assert connection.status == "ok" and connection.calendars[0].last_synced_at is not None


def test_K1_wrong_password_and_unsafe_url_are_refused_at_input_and_store_nothing(
        admin_client, member, caldav_account):
    path = f"/admin/calendars/members/{member.id}/connect"
    wrong = admin_client.post_form(path, connect_form(caldav_account, "wrong"))
    assert wrong.status_code == 200 and "アプリ用パスワード" in wrong.get_data(as_text=True)
    unsafe = admin_client.post_form(path, dict(connect_form(caldav_account),
                                               url="http://calendar.example.com/"))
    assert "https" in unsafe.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CalendarConnection)) == 0


def test_K1_another_organizations_member_answers_404(admin_client, caldav_app):
    other = make_member(make_org())
    db.session.commit()
    assert admin_client.get(f"/admin/calendars/members/{other.id}/connect").status_code == 404


def test_K1_member_connects_their_own_calendar_through_the_signed_link(
        app, admin_client, member, caldav_account):
    html = admin_client.post_form(f"/admin/calendars/members/{member.id}/link", {},
                                  token_from="/admin/calendars").get_data(as_text=True)
    link = re.search(r'value="(http[^"]+/calendar/connect/[^"]+)"', html).group(1)
    path = link.split("127.0.0.1", 1)[1]
    from flask import g

    # Requests share the test's app context: drop the admin's token cached in g by Flask-WTF.
    g.pop("csrf_token", None)
    stranger = app.test_client()  # no admin session
    assert stranger.get(path).status_code == 200
    response = stranger.post_form(path, connect_form(caldav_account))
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert "接続中" in stranger.get(path).get_data(as_text=True)
    assert db.session.scalar(select(CalendarConnection)).member_id == member.id
    assert stranger.get(path[:-3] + "xyz").status_code == 404  # forged
    app.config["CALENDAR_LINK_MAX_AGE"] = -1
    assert stranger.get(path).status_code == 404  # expired


def test_K6_broken_connection_shows_state_and_reason_to_admin_and_member(
        app, admin_client, member, caldav_account):
    admin_client.post_form(f"/admin/calendars/members/{member.id}/connect",
                           connect_form(caldav_account))
    caldav_account.server.add_user(caldav_account.user, "rotated")
    connection = db.session.scalar(select(CalendarConnection))
    admin_client.post_form(f"/admin/calendars/{connection.id}/sync", {},
                           token_from="/admin/calendars")
    html = admin_client.get("/admin/calendars").get_data(as_text=True)
    assert "接続エラー" in html and "アプリ用パスワード" in html
    from webapp.services.calendars import links

    token = links.make_token(member, app.config["SECRET_KEY"])
    mine = app.test_client().get(f"/calendar/connect/{token}").get_data(as_text=True)
    assert "接続エラー" in mine and "アプリ用パスワード" in mine


@pytest.mark.parametrize("age", [timedelta(0), timedelta(minutes=10)])
def test_K7_confirm_refuses_a_slot_that_became_busy_with_a_message_and_fresh_slots(
        admin_client, client, org, member, caldav_account, age):
    page = make_page(org, [member], fields=[], duration_minutes=60)
    db.session.commit()
    admin_client.post_form(f"/admin/calendars/members/{member.id}/connect",
                           connect_form(caldav_account))
    slot = bookable_slots(page)[0]
    stamp = slot.start.strftime("%Y%m%dT%H%M%SZ")
    caldav_account.put_event("new.ics", vevent("new", stamp, (slot.end).strftime(
        "%Y%m%dT%H%M%SZ")))
    # However young the stored copy, confirming asks the server about the slot (K7).
    for calendar in db.session.scalars(select(MemberCalendar)):
        calendar.last_synced_at -= age
    db.session.commit()
    data = {"start": slot_rules.format_start(slot.start), "tz": "Asia/Tokyo", "name": "山田 太郎",
            "company": "山田商事", "email": "taro@example.com"}
    response = client.post_form(f"/p/{page.slug}/book", data, token_from=f"/p/{page.slug}")
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "選択された日時は空いていません" in html and 'class="slot"' in html
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    assert slot.start not in {s.start for s in bookings.available_slots(page)}


def test_K4_booking_from_the_public_page_is_written_and_logged(
        admin_client, client, org, member, caldav_account, app):
    page = make_page(org, [member], fields=[], duration_minutes=30)
    db.session.commit()
    admin_client.post_form(f"/admin/calendars/members/{member.id}/connect",
                           connect_form(caldav_account))
    start = slot_rules.format_start(bookable_slots(page)[0].start)
    response = client.post_form(f"/p/{page.slug}/book", {
        "start": start, "tz": "Asia/Tokyo", "name": "山田 太郎", "email": "taro@example.com"},
        token_from=f"/p/{page.slug}")
    assert response.status_code == 302
    from tests.factories import run_calendar_writes

    booking = db.session.scalar(select(Booking))
    run_calendar_writes(booking.id)
    assert caldav_account.server.list_hrefs(caldav_account.user, caldav_account.calendar_url) \
        == [f"apo-booking-{booking.id}%40apo.test.ics"]
    log = admin_client.get("/admin/calendars/log").get_data(as_text=True)
    assert "佐藤 一郎" in log and "完了" in log


def test_K1_calendar_screens_are_scoped_and_need_csrf(app, admin_client, member, caldav_account):
    admin_client.post_form(f"/admin/calendars/members/{member.id}/connect",
                           connect_form(caldav_account))
    connection = db.session.scalar(select(CalendarConnection))
    assert admin_client.post(f"/admin/calendars/{connection.id}/remove").status_code == 400
    switch_to_other_org(admin_client)
    assert admin_client.post_form(f"/admin/calendars/{connection.id}/remove", {},
                                  token_from="/admin/calendars").status_code == 404
    assert admin_client.get(f"/admin/calendars/members/{member.id}/connect").status_code == 404
    assert "佐藤 一郎" not in admin_client.get("/admin/calendars").get_data(as_text=True)
    assert db.session.get(CalendarConnection, connection.id) is not None


def test_K5_K6_admin_saves_salesforce_busy_and_grace_period_and_bad_input_changes_nothing(
        admin_client, org):
    from webapp.models import CalendarSettings

    page = admin_client.get("/admin/calendars").get_data(as_text=True)
    assert "Salesforceの行動を予定ありとして扱う" in page
    assert db.session.get(CalendarSettings, org.id) is None  # a GET stores nothing
    response = admin_client.post_form("/admin/calendars/settings",
                                      {"salesforce_busy": "y", "grace_minutes": "30"},
                                      token_from="/admin/calendars")
    assert response.status_code == 302
    settings = db.session.get(CalendarSettings, org.id)
    assert settings.salesforce_busy is True and settings.grace_minutes == 30
    bad = admin_client.post_form("/admin/calendars/settings", {"grace_minutes": "-5"},
                                 token_from="/admin/calendars", follow_redirects=True)
    assert "入力内容を確認してください" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert settings.salesforce_busy is True and settings.grace_minutes == 30
