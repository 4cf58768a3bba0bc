"""The calendar core with Google Calendar as the provider, against the Google emulator over
real HTTP (K1-K4, K6): the member's one-click connect, busy times from recurring, all-day,
zoned and free events, incremental sync at one call per refresh, write-back by iCalUID, a
revoked grant and the grace period."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.factories import bookable_slots, login, make_admin, make_public_page, run_calendar_writes
from webapp.extensions import db
from webapp.jobs.calendars import options
from webapp.models import (
    Booking,
    BusyInterval,
    CalendarConnection,
    CalendarSettings,
    CalendarWrite,
)
from webapp.services import bookings
from webapp.services import slots as slot_rules
from webapp.services.bookings import CustomerDetails
from webapp.services.calendars import connections, links, sync

pytestmark = pytest.mark.timeout(60)
NOW = datetime(2030, 6, 3, 0, 0, tzinfo=UTC)  # a Monday; members work around the clock
SATO, SUZUKI = "sato@example.com", "suzuki@example.com"
TEAM = "c_team0123456789@group.calendar.google.com"
LIST = "GET /calendar/v3/calendars/{calendarId}/events"
# Every connection leads with its provider (カレンダー連携 and the member's own page alike).
GOOGLE_LABEL = '<span class="provider-label">Google</span>'


@pytest.fixture
def page(google_app):
    created = make_public_page(members=1, fields=[], duration_minutes=60)
    db.session.commit()
    return created


@pytest.fixture
def member(page):
    return page.members[0]


def link(app, member) -> str:
    """The member's own page, opened from the signed link the admin sends."""
    return f"/calendar/connect/{links.make_token(member, app.config['SECRET_KEY'])}"


def connect(app, gcal, member, email=SATO, allow=True, client=None):
    """The member opens the admin's link, clicks the button, consents at Google.

    One test client per test: the tests run inside one app context, whose ``g`` caches the
    CSRF token of the first session that asked for one."""
    client = client or app.test_client()
    token = link(app, member).rsplit("/", 1)[1]
    start = client.post_form(f"/calendar/google/connect/{token}", {}, token_from=link(app, member))
    assert start.status_code == 302 and start.headers["Location"].startswith(gcal.url)
    callback = urlsplit(gcal.authorize(start.headers["Location"], email, allow=allow))
    assert callback.path == "/calendar/google/callback"
    return client, client.get(f"{callback.path}?{callback.query}")


def connection_of(member) -> CalendarConnection:
    return db.session.scalar(select(CalendarConnection).where(
        CalendarConnection.member_id == member.id))


def synced(connection, now=NOW):
    outcome = sync.sync_connection(connection, options(), now)
    db.session.commit()
    return outcome


def starts(page, day: datetime) -> set[str]:
    found = bookings.available_slots(page, NOW, day, day + timedelta(days=1))
    return {slot.start.strftime("%H:%M") for slot in found}


def seed(gcal, summary, start, end, calendar=SATO, tz="Asia/Tokyo", **extra):
    key = "date" if len(start) == 10 else "dateTime"
    when = (lambda v: {key: v}) if key == "date" else (lambda v: {key: v, "timeZone": tz})
    return gcal.seed_event(calendar, summary=summary, start=when(start), end=when(end), **extra)


def test_K1_member_connects_with_one_click_and_tokens_are_encrypted(google_app, gcal, member):
    client, answer = connect(google_app, gcal, member)
    assert answer.status_code == 302
    connection = connection_of(member)
    assert (connection.provider, connection.username, connection.status) == (
        "google", SATO, "ok")
    assert [(c.remote_id, c.blocks, c.receives_bookings) for c in connection.calendars] == [
        (SATO, True, True), (TEAM, False, False)]
    credentials = json.loads(options().keyring.decrypt(connection.credentials_enc))
    assert credentials["refresh_token"].startswith("1//")
    assert credentials["refresh_token"] not in connection.credentials_enc
    # Back on the member's own page: the signed link carries a timestamp, so compare whom it
    # names, not its exact text (a second may have passed since the test made its copy).
    location = answer.headers["Location"]
    assert location.startswith("/calendar/connect/")
    assert links.member_for_token(location.rsplit("/", 1)[1], google_app.config["SECRET_KEY"],
                                  3600) == member
    shown = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert GOOGLE_LABEL in shown and "sato@example.com" in shown and "接続中" in shown
    assert "Googleカレンダー（sato@example.com）を連携しました。" in shown


def test_K1_connecting_again_updates_the_same_connection(google_app, gcal, member):
    client, _answer = connect(google_app, gcal, member)
    first = json.loads(options().keyring.decrypt(connection_of(member).credentials_enc))
    connect(google_app, gcal, member, client=client)
    rows = db.session.scalars(select(CalendarConnection)).all()
    assert len(rows) == 1 and len(rows[0].calendars) == 2
    assert json.loads(options().keyring.decrypt(rows[0].credentials_enc))["refresh_token"] != \
        first["refresh_token"]


def test_K1_denied_consent_forged_link_and_replayed_callback_store_nothing(
        google_app, gcal, member):
    _client, denied = connect(google_app, gcal, member, allow=False)
    assert denied.status_code == 400
    assert "キャンセル" in denied.get_data(as_text=True)
    assert _client.get("/calendar/google/connect/forged").status_code == 404
    token = link(google_app, member).rsplit("/", 1)[1]
    start = _client.post_form(f"/calendar/google/connect/{token}", {},
                              token_from=link(google_app, member))
    callback = urlsplit(gcal.authorize(start.headers["Location"], SATO))
    assert google_app.test_client().get(  # another browser: no pending flow in its session
        f"{callback.path}?{callback.query}").status_code == 400
    assert connection_of(member) is None


def test_K2_recurring_series_with_moved_and_cancelled_occurrences(google_app, gcal, page,
                                                                  member):
    series = seed(gcal, "定例", "2030-06-03T10:00:00+09:00", "2030-06-03T11:00:00+09:00",
                  recurrence=["RRULE:FREQ=DAILY;COUNT=4"])
    gcal.control("DELETE", f"calendars/{SATO}/events/{series['id']}_20300604T010000Z")
    gcal.control("PATCH", f"calendars/{SATO}/events/{series['id']}_20300605T010000Z",
                 {"start": {"dateTime": "2030-06-05T14:00:00+09:00", "timeZone": "Asia/Tokyo"},
                  "end": {"dateTime": "2030-06-05T15:00:00+09:00", "timeZone": "Asia/Tokyo"}})
    connect(google_app, gcal, member)
    synced(connection_of(member))
    day = datetime(2030, 6, 3, tzinfo=UTC)
    assert "01:00" not in starts(page, day)
    assert "01:00" in starts(page, day + timedelta(days=1))  # the cancelled occurrence
    assert "01:00" in starts(page, day + timedelta(days=2))  # moved away on the 5th...
    assert "05:00" not in starts(page, day + timedelta(days=2))  # ...to 14:00 JST
    assert "01:00" not in starts(page, day + timedelta(days=3))


def test_K2_all_day_zoned_and_free_events(google_app, gcal, page, member):
    seed(gcal, "休暇", "2030-06-05", "2030-06-06")
    seed(gcal, "LA", "2030-06-06T09:00:00", "2030-06-06T10:00:00", tz="America/Los_Angeles")
    seed(gcal, "free", "2030-06-07T10:00:00+09:00", "2030-06-07T11:00:00+09:00",
         transparency="transparent")
    connect(google_app, gcal, member)
    synced(connection_of(member))
    assert "14:00" in starts(page, datetime(2030, 6, 4, tzinfo=UTC))
    assert "15:00" not in starts(page, datetime(2030, 6, 4, tzinfo=UTC))  # JST midnight
    assert "15:00" in starts(page, datetime(2030, 6, 5, tzinfo=UTC))
    offered = starts(page, datetime(2030, 6, 6, tzinfo=UTC))
    assert "16:00" not in offered and "17:00" in offered  # 09:00 PDT is 16:00 UTC
    assert "01:00" in starts(page, datetime(2030, 6, 7, tzinfo=UTC))


def test_K3_unchanged_calendar_costs_one_provider_call_per_member_per_refresh(
        google_app, gcal, page, member):
    seed(gcal, "会議", "2030-06-05T12:00:00+09:00", "2030-06-05T13:00:00+09:00")
    connect(google_app, gcal, member)
    connection = connection_of(member)
    synced(connection)
    gcal.control("DELETE", "usage")
    for minutes in (5, 10, 15):
        synced(connection, NOW + timedelta(minutes=minutes))
    assert gcal.usage()["by_user"] == {SATO: 3}
    assert gcal.usage()["by_endpoint"] == {LIST: 3}
    for _ in range(20):  # page views read the stored copy only
        assert "03:00" not in starts(page, datetime(2030, 6, 5, tzinfo=UTC))
    assert gcal.usage()["total"] == 3


def test_K3_changes_arrive_incrementally_and_an_expired_token_resyncs(
        google_app, gcal, page, member):
    connect(google_app, gcal, member)
    connection = connection_of(member)
    synced(connection)
    day = datetime(2030, 6, 6, tzinfo=UTC)
    late = seed(gcal, "late", "2030-06-06T11:00:00+09:00", "2030-06-06T12:00:00+09:00")
    synced(connection, NOW + timedelta(minutes=5))
    assert "02:00" not in starts(page, day)
    gcal.control("POST", "sync-tokens/expire", {})
    gcal.control("DELETE", f"calendars/{SATO}/events/{late['id']}")
    synced(connection, NOW + timedelta(minutes=10))
    assert connection.status == "ok" and "02:00" in starts(page, day)
    assert db.session.scalars(select(BusyInterval)).all() == []


def test_K3_rate_limits_are_backed_off_without_breaking_the_connection(
        google_app, gcal, page, member):
    connect(google_app, gcal, member)
    connection = connection_of(member)
    gcal.control("POST", "faults", {"endpoint": LIST, "status": 429,
                                    "reason": "rateLimitExceeded"})
    seed(gcal, "会議", "2030-06-05T12:00:00+09:00", "2030-06-05T13:00:00+09:00")
    assert synced(connection).error is None and connection.status == "ok"
    assert "03:00" not in starts(page, datetime(2030, 6, 5, tzinfo=UTC))


def book(page, start, now=NOW):
    booking, _record = bookings.create_booking(page, start, CustomerDetails(
        email="taro@example.com", name="山田 太郎"), now=now)
    db.session.commit()
    run_calendar_writes(booking.id)
    return booking


def written(gcal, uid):
    return [e for e in gcal.control("GET", f"calendars/{SATO}/events")
            if e.get("iCalUID") == uid]


def test_K4_booking_is_written_moved_and_removed_exactly_once(google_app, gcal, page, member):
    connect(google_app, gcal, member)
    connection = connection_of(member)
    booking = book(page, datetime(2030, 6, 5, 2, tzinfo=UTC))
    uid = f"apo-booking-{booking.id}@apo.test"
    [event] = written(gcal, uid)
    assert event["start"]["dateTime"] == "2030-06-05T11:00:00+09:00"
    assert booking.token not in json.dumps(event)  # no private link in the calendar (F4)

    bookings.reschedule_booking(booking, datetime(2030, 6, 5, 6, tzinfo=UTC), now=NOW)
    db.session.commit()
    run_calendar_writes(booking.id)
    run_calendar_writes(booking.id)  # a duplicate job writes nothing twice
    [moved] = written(gcal, uid)
    assert moved["id"] == event["id"] and moved["start"]["dateTime"].startswith(
        "2030-06-05T15:00")
    synced(connection)  # the written copy syncs back without blocking twice
    assert db.session.scalars(select(BusyInterval)).all() == []

    bookings.cancel_booking(booking, now=NOW)
    db.session.commit()
    run_calendar_writes(booking.id)
    assert [e["status"] for e in written(gcal, uid)] == ["cancelled"]
    log = db.session.scalars(select(CalendarWrite).order_by(CalendarWrite.id)).all()
    assert [(w.action, w.status) for w in log] == [("put", "done"), ("put", "done"),
                                                    ("delete", "done")]


def test_K6_revoked_grant_breaks_the_connection_then_grace_then_unavailable(
        google_app, gcal, page, member):
    seed(gcal, "会議", "2030-06-05T12:00:00+09:00", "2030-06-05T13:00:00+09:00")
    client, answer = connect(google_app, gcal, member)
    connection = connection_of(member)
    synced(connection)
    gcal.control("POST", "tokens/revoke", {"user": SATO})
    outcome = synced(connection, NOW + timedelta(minutes=5))
    assert outcome.error is not None and connection.status == "broken"
    assert connection.status_reason.startswith("auth:")
    assert "invalid_grant" in connection.status_reason
    page_html = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "接続エラー" in page_html and "Googleがアクセスを拒否しました" in page_html
    day = datetime(2030, 6, 5, tzinfo=UTC)
    assert "03:00" not in starts(page, day) and "05:00" in starts(page, day)
    db.session.add(CalendarSettings(organization_id=page.organization_id, grace_minutes=60))
    db.session.commit()
    later = connection.broken_since + timedelta(minutes=61)
    assert bookings.available_slots(page, later, day, day + timedelta(days=1)) == []
    connect(google_app, gcal, member, client=client)  # reconnecting mends it
    assert connection_of(member).status == "ok"


def test_K6_admin_sees_the_google_reason_and_disconnecting_revokes_at_google(
        google_app, gcal, page, member):
    seed(gcal, "会議", "2030-06-05T12:00:00+09:00", "2030-06-05T13:00:00+09:00")
    client, _answer = connect(google_app, gcal, member)
    connection = connection_of(member)
    synced(connection)
    credentials = json.loads(options().keyring.decrypt(connection.credentials_enc))
    gcal.control("POST", "faults", {"endpoint": "POST /token", "status": 400,
                                    "reason": "invalid_grant",
                                    "message": "Token has been expired or revoked."})
    gcal.control("POST", "tokens/revoke", {"expire_access": True})
    synced(connection, NOW + timedelta(minutes=5))
    admin = make_admin(page.organization)
    db.session.commit()
    login(client, admin)
    screen = client.get("/admin/calendars").get_data(as_text=True)
    assert GOOGLE_LABEL in screen and "Googleがアクセスを拒否しました" in screen
    removed = client.post_form(f"/admin/calendars/{connection.id}/remove", {},
                               token_from="/admin/calendars")
    assert removed.status_code == 302 and connection_of(member) is None
    assert db.session.scalars(select(BusyInterval)).all() == []
    refused = gcal.http.post(f"{gcal.url}/token", data={
        "grant_type": "refresh_token", "refresh_token": credentials["refresh_token"],
        "client_id": google_app.config["GOOGLE_CLIENT_ID"],
        "client_secret": google_app.config["GOOGLE_CLIENT_SECRET"]})
    assert refused.json()["error"] == "invalid_grant"  # revoked at Google, not just forgotten
    assert connections.connections_by_member(member.organization_id) == {}


@pytest.mark.parametrize("age", [timedelta(0), timedelta(minutes=10)])
def test_K7_confirm_asks_google_live_and_refuses_a_slot_now_busy_at_google(
        google_app, gcal, page, member, age):
    """However young the stored copy (K3 trusted one younger than 120 s), confirm asks
    freeBusy for the slot; the busy answer refuses it and the copy is read again once."""
    client, _answer = connect(google_app, gcal, member)
    slot = bookable_slots(page)[0]
    seed(gcal, "急な予定", slot.start.isoformat(), slot.end.isoformat())
    primary = connection_of(member).calendars[0]
    primary.last_synced_at -= age
    db.session.commit()
    gcal.control("DELETE", "usage")
    data = {"start": slot_rules.format_start(slot.start), "tz": "Asia/Tokyo",
            "name": "山田 太郎", "email": "taro@example.com"}
    response = client.post_form(f"/p/{page.slug}/book", data, token_from=f"/p/{page.slug}")
    assert response.status_code == 409
    assert "選択された日時は空いていません" in response.get_data(as_text=True)
    assert db.session.scalar(select(Booking)) is None
    # One freeBusy for the slot, one incremental read after the conflict, nothing more.
    assert gcal.usage()["by_endpoint"] == {LIST: 1, "POST /calendar/v3/freeBusy": 1}


def test_K9_an_invitation_the_member_declined_does_not_block(google_app, gcal, page, member):
    connect(google_app, gcal, member)
    guests = [{"email": SATO}, {"email": "client@partner.example"}]
    declined = seed(gcal, "辞退", "2030-06-05T10:00:00", "2030-06-05T11:00:00",
                    attendees=guests)
    seed(gcal, "出席", "2030-06-05T12:00:00", "2030-06-05T13:00:00", attendees=guests)
    gcal.control("POST", f"calendars/{SATO}/events/{declined['id']}/respond",
                 {"attendee": SATO, "response": "declined"})
    synced(connection_of(member))
    offered = starts(page, datetime(2030, 6, 5, tzinfo=UTC))
    assert "01:00" in offered  # 10:00 Tokyo, declined by the member: free
    assert "03:00" not in offered  # 12:00 Tokyo, still going


def test_K10_a_reschedule_keeps_the_members_own_changes_at_google(google_app, gcal, page,
                                                                  member):
    connect(google_app, gcal, member)
    booking = book(page, datetime(2030, 6, 5, 2, tzinfo=UTC))
    uid = f"apo-booking-{booking.id}@apo.test"
    [event] = written(gcal, uid)
    # The member adds a room and a note in Google Calendar.
    edited = gcal.api(SATO).patch(gcal.cal(f"calendars/{SATO}/events/{event['id']}"),
                                  json={"location": "会議室B", "description": "持ち物: 名刺"})
    assert edited.status_code == 200
    bookings.reschedule_booking(booking, datetime(2030, 6, 5, 6, tzinfo=UTC), now=NOW)
    db.session.commit()
    run_calendar_writes(booking.id)
    [moved] = written(gcal, uid)
    assert moved["start"]["dateTime"].startswith("2030-06-05T15:00")  # Apo's: the new time
    assert moved["location"] == "会議室B" and moved["description"] == "持ち物: 名刺"
    last = db.session.scalars(select(CalendarWrite).order_by(CalendarWrite.id.desc())).first()
    assert last.status == "done" and "kept the member's own changes" in last.detail
