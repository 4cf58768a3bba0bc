"""After booking: private link, add-to-calendar, cancel confirmation, language switch (F4, F5)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from icalendar import Calendar
from sqlalchemy import select

from tests.factories import make_public_page
from tests.test_views_public import first_start, form_data, post_booking
from webapp.extensions import db
from webapp.models import Booking
from webapp.services.ical_uid import booking_uid


@pytest.fixture
def page(app):
    created = make_public_page(buffer_minutes=10)
    db.session.commit()
    return created


@pytest.fixture
def booking(client, page):
    assert post_booking(client, page, form_data(page)).status_code == 302
    return db.session.scalar(select(Booking))


def test_F4_ics_download_carries_the_shared_uid_and_the_booked_times(client, booking):
    response = client.get(f"/b/{booking.token}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/calendar")
    assert "attachment" in response.headers["Content-Disposition"]
    event = Calendar.from_ical(response.data).walk("VEVENT")[0]
    assert str(event["UID"]) == booking_uid(booking.id, "127.0.0.1")  # BASE_URL's host
    assert event.decoded("DTSTART") == booking.start_at
    assert event.decoded("DTEND") == booking.end_at
    assert booking.token in str(event["DESCRIPTION"])  # the way back to the private page
    assert booking.page.title in str(event["SUMMARY"])


def test_F4_detail_offers_google_calendar_copy_button_and_no_one_click_cancel(client, booking):
    html = client.get(f"/b/{booking.token}").get_data(as_text=True)
    start = next(part for part in html.split('href="') if part.startswith(
        "https://calendar.google.com/")).split('"')[0].replace("&amp;", "&")
    query = parse_qs(urlsplit(start).query)
    assert query["action"] == ["TEMPLATE"]
    assert query["dates"] == [booking.start_at.strftime("%Y%m%dT%H%M%SZ") + "/"
                              + booking.end_at.strftime("%Y%m%dT%H%M%SZ")]
    assert 'data-copy="private-link"' in html and f"/b/{booking.token}</code>" in html
    assert f'action="/b/{booking.token}/cancel"' not in html  # cancelling takes a second step


def test_F4_cancel_asks_for_confirmation_with_an_optional_reason(client, booking):
    path = f"/b/{booking.token}/cancel"
    html = client.get(path).get_data(as_text=True)
    assert "この予約をキャンセルしますか?" in html and 'name="reason"' in html
    db.session.expire_all()
    assert booking.status != "cancelled"  # looking at the question changes nothing
    response = client.post_form(path, {}, token_from=path)
    assert response.status_code == 302
    db.session.expire_all()
    assert booking.status == "cancelled" and not booking.cancel_reason
    assert client.get(path).status_code == 302  # already cancelled: back to the booking


def test_F5_language_switch_after_a_validation_error_keeps_the_slot(client, page):
    start = first_start(page)
    response = post_booking(client, page, form_data(page, start=start, email="bad"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    english = next(part for part in html.split('href="') if "lang=en" in part.split('"')[0])
    link = english.split('"')[0].replace("&amp;", "&")
    assert parse_qs(urlsplit(link).query)["start"] == [start]
    again = client.get(link)
    body = again.get_data(as_text=True)
    assert again.status_code == 200 and f'value="{start}"' in body  # the same slot's form
    assert "Enter your details" in body


@pytest.mark.parametrize("how", ["started", "cutoff"])
def test_F4_after_the_start_or_the_pages_cutoff_the_private_link_is_read_only(
        client, booking, how):
    from datetime import timedelta

    from webapp.models import utcnow

    if how == "started":  # the meeting began a minute ago (cutoff 0: until the start)
        duration = booking.end_at - booking.start_at
        booking.start_at = utcnow() - timedelta(minutes=1)
        booking.end_at = booking.start_at + duration
    else:  # the page closes changes a week before the start
        booking.page.change_cutoff_minutes = 7 * 24 * 60
    db.session.commit()
    link = f"/b/{booking.token}"
    html = client.get(link).get_data(as_text=True)
    assert "/reschedule" not in html and "cancel-link" not in html
    assert "受付を終了しました" in html
    assert client.get(f"{link}/reschedule").status_code == 409
    assert client.get(f"{link}/cancel").status_code == 302  # back to the read-only page
    answer = client.post_form(f"{link}/cancel", {"reason": "遅すぎる"}, token_from=link)
    assert answer.status_code == 409 and "受付を終了しました" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(Booking, booking.id).is_cancelled


def test_F4_before_the_cutoff_the_link_still_changes_the_booking(client, booking):
    booking.page.change_cutoff_minutes = 1  # the booking is further away than a minute
    db.session.commit()
    link = f"/b/{booking.token}"
    assert "/reschedule" in client.get(link).get_data(as_text=True)
    assert client.get(f"{link}/reschedule").status_code == 200
