"""Finished screens (issue: finished screens, O4, N1): what the confirmation says, how a long
day's times are grouped, and times written alike in mails and pages."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from tests.factories import ALWAYS_WORKING, login, make_member, make_org, make_page
from webapp.extensions import db
from webapp.models import utcnow
from webapp.services import bookings
from webapp.services.bookings import CustomerDetails
from webapp.services.notifications.compose import _when
from webapp.web.templating import localdatetime


def page_of(duration=30):
    org = make_org()
    member = make_member(org, working_hours=ALWAYS_WORKING, timezone="Asia/Tokyo")
    page = make_page(org, [member], duration_minutes=duration, window_days=20,
                     min_notice_minutes=0)
    db.session.commit()
    return page


def booked(page):
    now = utcnow()
    slot = bookings.available_slots(page, now, now + timedelta(days=2),
                                    now + timedelta(days=3))[0]
    booking, _ = bookings.create_booking(page, slot.start, CustomerDetails(
        email="kakunin@example.net", name="確認 様"))
    db.session.commit()
    return booking


def test_the_confirmation_says_where_the_mail_went_and_a_cancelled_page_is_one_card(
        app, client):
    booking = booked(page_of())
    html = client.get(f"/b/{booking.token}").get_data(as_text=True)
    assert 'id="mail-sent"' in html and "kakunin@example.net 宛てにメールでお送りしました" in html
    bookings.cancel_booking(booking, "")
    db.session.commit()
    cancelled = client.get(f"/b/{booking.token}").get_data(as_text=True)
    assert 'booking-layout single' in cancelled and 'id="mail-sent"' not in cancelled


def test_the_reschedule_confirmation_shows_both_times_with_end_and_zone(app, client):
    booking = booked(page_of())
    new = booking.start_at + timedelta(hours=3)
    html = client.get(f"/b/{booking.token}/reschedule?tz=Asia/Tokyo&start="
                      + new.strftime("%Y-%m-%dT%H:%M:%SZ")).get_data(as_text=True)
    current = html.split("現在の日時")[1].split("</dd>")[0]
    assert "–" in current and "(Asia/Tokyo)" in current


def test_a_long_day_groups_its_times_into_morning_and_afternoon(app, client):
    page = page_of(duration=30)
    day = (utcnow() + timedelta(days=2)).astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d")
    html = client.get(f"/p/{page.slug}?tz=Asia/Tokyo&day={day}").get_data(as_text=True)
    assert 'id="slots-am"' in html and 'id="slots-pm"' in html
    morning = html.split('id="slots-am"')[1].split('id="slots-pm"')[0]
    assert ">09:00<" in morning and ">13:00<" not in morning


def test_mails_write_two_digit_hours_like_the_pages(app):
    booking = booked(page_of())
    booking.start_at = booking.start_at.replace(hour=0, minute=15)  # 09:15 in Tokyo
    booking.end_at = booking.start_at + timedelta(minutes=30)
    assert "09:15 – 09:45" in _when(booking, "Asia/Tokyo", "ja")


def test_the_members_own_page_has_one_main_the_organization_and_headings_in_their_cards(
        app, client):
    from webapp.services.calendars import links

    page = page_of()
    member = page.members[0]
    html = client.get(f"/calendar/connect/{links.make_token(member, app.config['SECRET_KEY'])}"
                      ).get_data(as_text=True)
    assert html.count("<main") == 1
    assert member.organization.name in html.split('id="member-org"')[1][:200]
    assert 'aria-labelledby="caldav-connect-title"' in html


def test_the_english_admin_navigation_fits_one_line_at_1280_px(app, browser, live_server):
    """Measured in Chromium: every item of the main menu on the same line at 1280 px."""
    from tests.factories import make_admin

    admin = make_admin(page_of().organization)
    db.session.commit()
    tab = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    tab.goto(f"{live_server.url}/login?lang=en")
    tab.fill("#email", admin.email)
    tab.fill("#password", "secret-pass")
    tab.click("button[type=submit]")
    tab.wait_for_url("**/admin/**")
    tops = tab.eval_on_selector_all(".mainnav a", "els => els.map(e => e.offsetTop)")
    assert len(tops) >= 8 and len(set(tops)) == 1, tops
    tab.context.close()


def test_the_update_mail_shows_the_earlier_time(app):
    from sqlalchemy import select

    from tests.test_services_meetings import composed, texts
    from webapp.models import OutboxMessage

    booking = booked(page_of())
    before = _when(booking, "Asia/Tokyo", "ja")
    bookings.reschedule_booking(booking, booking.start_at + timedelta(hours=2))
    db.session.commit()
    update = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.booking_id == booking.id, OutboxMessage.kind == "update",
        OutboxMessage.recipient_role == "customer")).one()
    text = texts(composed(update, booking))
    assert "変更前の日時" in text and before in text


def test_S3_the_sync_log_shows_each_row_at_the_time_it_wrote(app, client):
    from tests.factories import make_admin

    page = page_of()
    booking = booked(page)
    first = booking.start_at
    later = bookings.available_slots(page, utcnow(), first + timedelta(hours=2),
                                     first + timedelta(days=1))[0].start
    bookings.reschedule_booking(booking, later)
    admin = make_admin(page.organization)
    db.session.commit()
    login(client, admin)
    html = client.get("/admin/syncs").get_data(as_text=True)
    registered = html.split('class="nowrap">予約の登録')[0].rsplit('<tr id="sync-', 1)[1]
    moved = html.split('class="nowrap">日時の変更')[0].rsplit('<tr id="sync-', 1)[1]
    with app.test_request_context():
        was, now = (localdatetime(t, "Asia/Tokyo") for t in (first, later))
    # 予約の登録 keeps the first time it wrote, and says where the booking went since.
    assert was in registered and "変更後: " + now in registered
    assert now in moved and was not in moved and "変更後" not in moved
