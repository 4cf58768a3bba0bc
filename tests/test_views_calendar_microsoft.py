"""The member's Microsoft 365 connect views (K1) with the Flask client and the Graph emulator:
the button on the member's link page, CSRF, the OAuth state check, consent declined."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from tests.factories import bookable_slots, make_public_page
from tests.fixtures_graph import SATO
from webapp.extensions import db
from webapp.models import Booking, CalendarConnection, MemberCalendar
from webapp.services import slots as slot_rules
from webapp.services.calendars import links

CALLBACK_PATH = "/calendar/microsoft/callback"


@pytest.fixture
def booking_page(app, graph):
    registered = graph.control("POST", "apps", {
        "name": "Apo", "redirect_uris": [app.config["BASE_URL"] + CALLBACK_PATH]})
    app.config.update(
        MS_CLIENT_ID=registered["client_id"], MS_CLIENT_SECRET=registered["client_secret"],
        MS_LOGIN_URL=graph.login_url, MS_GRAPH_URL=graph.graph_url,
        MS_TEST_HOSTS=tuple(urlsplit(u).netloc for u in (graph.login_url, graph.graph_url)))
    page = make_public_page(members=1, fields=[], duration_minutes=60)
    page.members[0].email = SATO
    db.session.commit()
    return page


@pytest.fixture
def member(booking_page):
    return booking_page.members[0]


def _token(app, member) -> str:
    return links.make_token(member, app.config["SECRET_KEY"])


def _start(client, token):
    page = f"/calendar/connect/{token}"
    return client.post_form(f"/calendar/microsoft/connect/{token}", {}, token_from=page)


def _back(location: str) -> str:
    parts = urlsplit(location)
    assert parts.path == CALLBACK_PATH
    return f"{parts.path}?{parts.query}"


def test_K1_member_page_offers_the_microsoft_button(app, client, member):
    token = _token(app, member)  # signed with a timestamp: make it once
    html = client.get(f"/calendar/connect/{token}").get_data(as_text=True)
    assert "Microsoft 365 に接続する" in html
    assert f'action="/calendar/microsoft/connect/{token}"' in html


def test_K1_without_settings_there_is_no_button(app, client, member):
    app.config["MS_CLIENT_ID"] = ""
    html = client.get(f"/calendar/connect/{_token(app, member)}").get_data(as_text=True)
    assert "Microsoft 365 に接続する" not in html


def test_K1_connect_needs_csrf_and_a_valid_link(app, client, member):
    token = _token(app, member)
    assert client.post(f"/calendar/microsoft/connect/{token}").status_code == 400
    forged = client.post_form("/calendar/microsoft/connect/forged", {},
                              token_from=f"/calendar/connect/{token}")
    assert forged.status_code == 404


def test_K1_one_click_connect_stores_the_connection_and_returns_to_the_page(
        app, client, graph, member):
    token = _token(app, member)
    started = _start(client, token)
    assert started.status_code == 302
    assert started.headers["Location"].startswith(graph.login_url + "/common/oauth2/v2.0/")
    done = client.get(_back(graph.authorize(started.headers["Location"])))
    assert done.status_code == 302 and done.headers["Location"].endswith(
        f"/calendar/connect/{token}")
    html = client.get(f"/calendar/connect/{token}").get_data(as_text=True)
    assert "sato@example.com を接続しました" in html
    connection = db.session.scalar(select(CalendarConnection))
    assert connection.provider == "microsoft" and connection.status == "ok"


def test_K1_callback_with_another_state_is_refused(app, client, graph, member):
    started = _start(client, _token(app, member))
    back = _back(graph.authorize(started.headers["Location"])).replace("state=", "state=x")
    assert client.get(back).status_code == 400
    assert db.session.scalar(select(CalendarConnection)) is None


def test_K1_declined_consent_says_so_and_stores_nothing(app, client, graph, member):
    token = _token(app, member)
    started = _start(client, token)
    client.get(_back(graph.authorize(started.headers["Location"], accept=False)))
    html = client.get(f"/calendar/connect/{token}").get_data(as_text=True)
    assert "Microsoft 365 への接続は許可されませんでした。" in html
    assert db.session.scalar(select(CalendarConnection)) is None


@pytest.mark.parametrize("age", [timedelta(0), timedelta(minutes=10)])
def test_K7_confirm_asks_microsoft_live_and_refuses_a_slot_that_became_busy(
        app, client, graph, member, booking_page, age):
    token = _token(app, member)
    client.get(_back(graph.authorize(_start(client, token).headers["Location"])))
    page = booking_page
    slot = bookable_slots(page)[0]
    graph.seed_event(SATO, subject="new", start={
        "dateTime": slot.start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}, end={
        "dateTime": slot.end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"})
    # However young the stored copy, confirming asks Graph about the slot (K7).
    for calendar in db.session.scalars(select(MemberCalendar)):
        calendar.last_synced_at -= age
    db.session.commit()
    graph.control("DELETE", "usage")
    data = {"start": slot_rules.format_start(slot.start), "tz": "Asia/Tokyo",
            "name": "山田 太郎", "company": "山田商事", "email": "taro@example.com"}
    response = client.post_form(f"/p/{page.slug}/book", data, token_from=f"/p/{page.slug}")
    assert response.status_code == 409
    assert "選択された日時は空いていません" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    # One getSchedule for the slot, then one delta call re-read the member's calendar.
    assert graph.usage()["total"] == 2
