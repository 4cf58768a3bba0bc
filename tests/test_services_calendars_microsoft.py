"""The calendar core with the Microsoft 365 adapter against the Graph emulator (K1-K4, K6):
one-click OAuth connect, busy times from series with exceptions, all-day, zoned, free and
tentative events, delta sync and its cost, write-back, revoked access and the grace period."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from tests.factories import make_public_page, run_calendar_writes
from tests.fixtures_graph import CALLBACK, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SATO
from webapp.extensions import db
from webapp.jobs.calendars import options
from webapp.models import BusyInterval, CalendarSettings, CalendarWrite
from webapp.services import bookings
from webapp.services.bookings import CustomerDetails
from webapp.services.calendars import connections, microsoft, sync

NOW = datetime(2030, 6, 3, 0, 0, tzinfo=UTC)  # a Monday; members work around the clock
TOKYO = "Tokyo Standard Time"


@pytest.fixture
def ms_app(app, graph):
    """The app configured for the Graph emulator (its origins allowed over http, X3)."""
    app.config.update(MS_CLIENT_ID=DEMO_CLIENT_ID, MS_CLIENT_SECRET=DEMO_CLIENT_SECRET,
                      MS_LOGIN_URL=graph.login_url, MS_GRAPH_URL=graph.graph_url,
                      MS_TEST_HOSTS=tuple(urlsplit(u).netloc for u in (
                          graph.login_url, graph.graph_url)),
                      ICAL_UID_DOMAIN="apo.test")
    return app


@pytest.fixture
def page(ms_app):
    created = make_public_page(members=1, fields=[], duration_minutes=60)
    db.session.commit()
    return created


@pytest.fixture
def member(page):
    return page.members[0]


def settings(app):
    return microsoft.MicrosoftSettings.from_config(app.config)


def connect(app, graph, member, user=SATO, accept=True):
    flow = microsoft.start_connect(settings(app), member, CALLBACK)
    location = graph.authorize(flow["url"], user=user, accept=accept)
    code = parse_qs(urlsplit(location).query).get("code", [""])[0]
    connection = microsoft.finish_connect(settings(app), options(), member, CALLBACK, code,
                                          flow["verifier"])
    db.session.commit()
    return connection


def synced(connection, now=NOW):
    outcome = sync.sync_connection(connection, options(), now)
    db.session.commit()
    return outcome


def starts(page, day: datetime) -> set[str]:
    found = bookings.available_slots(page, NOW, day, day + timedelta(days=1))
    return {slot.start.strftime("%H:%M") for slot in found}


def seed(graph, subject, start, end, tz="UTC", user=SATO, **extra):
    return graph.seed_event(user, subject=subject, start={"dateTime": start, "timeZone": tz},
                            end={"dateTime": end, "timeZone": tz}, **extra)


def test_K1_connect_through_sign_in_and_consent_stores_encrypted_tokens(ms_app, graph, member):
    connection = connect(ms_app, graph, member)
    assert connection.provider == "microsoft" and connection.username == SATO
    assert [(c.name, c.blocks, c.receives_bookings) for c in connection.calendars] == [
        ("予定表", True, True)]
    stored = json.loads(options().keyring.decrypt(connection.credentials_enc))
    assert set(stored) == {"access_token", "refresh_token", "expires_at"}
    assert stored["access_token"] not in connection.credentials_enc
    assert stored["refresh_token"] not in connection.credentials_enc


def test_K1_declined_consent_is_refused_with_a_message(ms_app, graph, member):
    with pytest.raises(connections.CalendarConnectError):
        connect(ms_app, graph, member, accept=False)
    assert microsoft.member_connections(member) == []


def test_K1_untrusted_graph_host_is_refused_at_connect(ms_app, graph, member):
    ms_app.config["MS_GRAPH_URL"] = "http://graph.example.com"
    with pytest.raises(connections.CalendarConnectError):
        microsoft.start_connect(settings(ms_app), member, CALLBACK)


def test_K2_series_with_cancelled_and_moved_occurrences(ms_app, graph, page, member):
    seed(graph, "standup", "2030-06-03T10:00:00", "2030-06-03T11:00:00", TOKYO, recurrence={
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": "2030-06-03", "numberOfOccurrences": 4}},
        exceptions=[{"originalStart": "2030-06-04T01:00:00Z", "cancelled": True},
                    {"originalStart": "2030-06-05T01:00:00Z", "changes": {
                        "start": {"dateTime": "2030-06-05T05:00:00", "timeZone": "UTC"},
                        "end": {"dateTime": "2030-06-05T06:00:00", "timeZone": "UTC"}}}])
    synced(connect(ms_app, graph, member))
    day = datetime(2030, 6, 3, tzinfo=UTC)
    assert "01:00" not in starts(page, day)
    assert "01:00" in starts(page, day + timedelta(days=1))  # cancelled occurrence
    assert "01:00" in starts(page, day + timedelta(days=2))  # moved away...
    assert "05:00" not in starts(page, day + timedelta(days=2))  # ...to 05:00
    assert "01:00" not in starts(page, day + timedelta(days=3))


def test_K2_all_day_event_blocks_the_members_local_day(ms_app, graph, page, member):
    seed(graph, "holiday", "2030-06-05T00:00:00", "2030-06-06T00:00:00", TOKYO, isAllDay=True)
    synced(connect(ms_app, graph, member))
    # Asia/Tokyo (UTC+9): the 5th runs from 4th 15:00 to 5th 15:00 UTC.
    assert "14:00" in starts(page, datetime(2030, 6, 4, tzinfo=UTC))
    assert "15:00" not in starts(page, datetime(2030, 6, 4, tzinfo=UTC))
    assert "14:00" not in starts(page, datetime(2030, 6, 5, tzinfo=UTC))
    assert "15:00" in starts(page, datetime(2030, 6, 5, tzinfo=UTC))


def test_K2_event_in_los_angeles_blocks_its_utc_time(ms_app, graph, page, member):
    seed(graph, "la", "2030-06-05T09:00:00", "2030-06-05T10:00:00", "Pacific Standard Time")
    synced(connect(ms_app, graph, member))
    offered = starts(page, datetime(2030, 6, 5, tzinfo=UTC))
    assert "16:00" not in offered and "15:45" not in offered  # 09:00 PDT = 16:00 UTC
    assert "17:00" in offered and "09:00" in offered


def test_K2_free_and_working_elsewhere_do_not_block_tentative_and_oof_do(
        ms_app, graph, page, member):
    for hour, show_as in ((1, "free"), (2, "workingElsewhere"), (3, "tentative"), (4, "oof")):
        seed(graph, show_as, f"2030-06-05T0{hour}:00:00", f"2030-06-05T0{hour}:30:00",
             showAs=show_as)
    synced(connect(ms_app, graph, member))
    offered = starts(page, datetime(2030, 6, 5, tzinfo=UTC))
    assert "01:00" in offered and "02:00" in offered
    assert "03:00" not in offered and "04:00" not in offered


def test_K3_changes_are_picked_up_by_delta_and_an_unchanged_refresh_costs_one_call(
        ms_app, graph, page, member):
    connection = connect(ms_app, graph, member)
    synced(connection)
    day = datetime(2030, 6, 6, tzinfo=UTC)
    assert "02:00" in starts(page, day)
    late = seed(graph, "late", "2030-06-06T02:00:00", "2030-06-06T03:00:00")
    synced(connection, NOW + timedelta(minutes=5))
    assert "02:00" not in starts(page, day)
    graph.control("DELETE", "usage")
    synced(connection, NOW + timedelta(minutes=10))
    assert graph.usage()["total"] == 1  # provider calls per member per unchanged refresh
    graph.control("DELETE", f"events/{late['id']}")
    synced(connection, NOW + timedelta(minutes=15))
    assert "02:00" in starts(page, day)
    assert db.session.scalars(select(BusyInterval)).all() == []


def test_K3_page_views_make_no_provider_call(ms_app, graph, page, member):
    seed(graph, "busy", "2030-06-05T03:00:00", "2030-06-05T04:00:00")
    synced(connect(ms_app, graph, member))
    graph.control("DELETE", "usage")
    for _ in range(20):
        assert "03:00" not in starts(page, datetime(2030, 6, 5, tzinfo=UTC))
    assert graph.usage()["total"] == 0


def test_K3_expired_delta_link_resyncs_in_full(ms_app, graph, page, member):
    connection = connect(ms_app, graph, member)
    seed(graph, "kept", "2030-06-05T03:00:00", "2030-06-05T04:00:00")
    synced(connection)
    graph.control("POST", "delta/expire")
    seed(graph, "new", "2030-06-05T06:00:00", "2030-06-05T07:00:00")
    assert synced(connection, NOW + timedelta(minutes=5)).error is None
    offered = starts(page, datetime(2030, 6, 5, tzinfo=UTC))
    assert "03:00" not in offered and "06:00" not in offered and "05:00" in offered


def book(page, start, now=NOW):
    booking, _record = bookings.create_booking(page, start, CustomerDetails(
        email="taro@example.com", name="山田 太郎"), now=now)
    db.session.commit()
    run_calendar_writes(booking.id)
    return booking


def graph_events(graph):
    return graph.control("GET", f"events?user={SATO}")


def test_K4_booking_is_written_moved_and_removed_exactly_once(ms_app, graph, page, member):
    connection = connect(ms_app, graph, member)
    booking = book(page, datetime(2030, 6, 5, 2, tzinfo=UTC))
    (event,) = graph_events(graph)
    assert event["start"]["dateTime"].startswith("2030-06-05T02:00:00")
    assert event["transactionId"] == f"apo-booking-{booking.id}@apo.test"
    assert booking.token not in json.dumps(event)  # no private link in the calendar (F4)

    bookings.reschedule_booking(booking, datetime(2030, 6, 5, 6, tzinfo=UTC), now=NOW)
    db.session.commit()
    run_calendar_writes(booking.id)
    run_calendar_writes(booking.id)  # a duplicate job writes nothing twice
    (moved,) = graph_events(graph)
    assert moved["id"] == event["id"]
    assert moved["start"]["dateTime"].startswith("2030-06-05T06:00:00")

    synced(connection)  # the written copy syncs back without blocking twice
    assert db.session.scalars(select(BusyInterval)).all() == []

    bookings.cancel_booking(booking, now=NOW)
    db.session.commit()
    run_calendar_writes(booking.id)
    assert graph_events(graph) == []
    log = db.session.scalars(select(CalendarWrite).order_by(CalendarWrite.id)).all()
    assert [(w.action, w.status) for w in log] == [("put", "done"), ("put", "done"),
                                                    ("delete", "done")]


def test_K4_throttled_write_is_retried_and_still_written_once(ms_app, graph, page, member):
    connect(ms_app, graph, member)
    graph.control("POST", "faults", {"kind": "429", "count": 1, "retry_after": 1,
                                     "method": "POST", "path_contains": "/events"})
    book(page, datetime(2030, 6, 5, 2, tzinfo=UTC))
    assert len(graph_events(graph)) == 1


def test_K6_revoked_access_breaks_the_connection_then_grace_then_unavailable(
        ms_app, graph, page, member):
    seed(graph, "busy", "2030-06-05T03:00:00", "2030-06-05T04:00:00")
    connection = connect(ms_app, graph, member)
    synced(connection)
    graph.control("POST", "revoke", {"user": SATO, "access_tokens": True})
    outcome = synced(connection, NOW + timedelta(minutes=5))
    assert outcome.error is not None
    assert connection.status == "broken" and connection.status_reason.startswith("auth:")
    assert "AADSTS50173" in connection.status_reason
    with ms_app.test_request_context():
        assert "Microsoft 365 へのアクセスが取り消された" in str(
            connections.reason_message(connection))
    day = datetime(2030, 6, 5, tzinfo=UTC)
    assert "03:00" not in starts(page, day) and "05:00" in starts(page, day)
    db.session.add(CalendarSettings(organization_id=page.organization_id, grace_minutes=60))
    db.session.commit()
    later = connection.broken_since + timedelta(minutes=61)
    assert bookings.available_slots(page, later, day, day + timedelta(days=1)) == []


def test_K6_refreshed_tokens_are_stored_encrypted(ms_app, graph, page, member):
    connection = connect(ms_app, graph, member)
    before = json.loads(options().keyring.decrypt(connection.credentials_enc))
    graph.control("POST", "clock", {"advance_seconds": 3700})  # the access token expired
    assert synced(connection).error is None
    after = json.loads(options().keyring.decrypt(connection.credentials_enc))
    assert after["access_token"] != before["access_token"] and connection.status == "ok"


def test_K3_live_busy_question_uses_get_schedule_and_leaves_free_time_out(
        ms_app, graph, page, member):
    seed(graph, "busy", "2030-06-05T03:00:00", "2030-06-05T04:00:00")
    seed(graph, "free", "2030-06-05T05:00:00", "2030-06-05T06:00:00", showAs="free")
    connection = connect(ms_app, graph, member)
    adapter = connections.adapter_for(connection, options())
    graph.control("DELETE", "usage")
    window = (datetime(2030, 6, 5, tzinfo=UTC), datetime(2030, 6, 6, tzinfo=UTC))
    busy = adapter.busy(connection.calendars[0].remote_id, window)
    assert busy == [(datetime(2030, 6, 5, 3, tzinfo=UTC), datetime(2030, 6, 5, 4, tzinfo=UTC))]
    assert graph.usage()["by_endpoint"] == {"POST /me/calendar/getSchedule": 1}


def test_K9_an_invitation_the_member_declined_does_not_block(ms_app, graph, page, member):
    outside = {"emailAddress": {"name": "取引先", "address": "client@partner.example"}}
    for hour, answer in ((1, "declined"), (2, "accepted"), (3, "tentativelyAccepted")):
        seed(graph, answer, f"2030-06-05T0{hour}:00:00", f"2030-06-05T0{hour}:30:00",
             organizer=outside, responseStatus={"response": answer,
                                                "time": "2030-06-01T00:00:00Z"})
    synced(connect(ms_app, graph, member))
    offered = starts(page, datetime(2030, 6, 5, tzinfo=UTC))
    assert "01:00" in offered  # declined: free
    assert "02:00" not in offered and "03:00" not in offered


def test_K10_a_reschedule_keeps_the_members_own_changes_in_outlook(ms_app, graph, page,
                                                                   member):
    from tests.factories import run_calendar_writes
    from webapp.models import CalendarWrite

    connect(ms_app, graph, member)
    booking, _ = bookings.create_booking(page, datetime(2030, 6, 5, 2, tzinfo=UTC),
                                         CustomerDetails(email="taro@example.com",
                                                         name="山田 太郎"), now=NOW)
    db.session.commit()
    run_calendar_writes(booking.id)
    [event] = [e for e in graph.control("GET", f"events?user={SATO}")
               if e["transactionId"] == f"apo-booking-{booking.id}@apo.test"]
    # The member adds a room in Outlook (a write that moves the changeKey on).
    graph.control("PATCH", f"events/{event['id']}", {"location": {"displayName": "会議室B"}})
    bookings.reschedule_booking(booking, datetime(2030, 6, 5, 6, tzinfo=UTC), now=NOW)
    db.session.commit()
    run_calendar_writes(booking.id)
    [moved] = [e for e in graph.control("GET", f"events?user={SATO}")
               if e["transactionId"] == f"apo-booking-{booking.id}@apo.test"]
    assert moved["start"]["dateTime"].startswith("2030-06-05T06:00")
    assert moved["location"]["displayName"] == "会議室B"
    last = db.session.scalars(select(CalendarWrite).order_by(CalendarWrite.id.desc())).first()
    assert last.status == "done" and "kept the member's own changes" in last.detail
