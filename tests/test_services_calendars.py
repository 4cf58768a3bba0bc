"""The calendar core against a real Radicale server (K1-K4, K6): discovery, busy times from
recurring, all-day, zoned and transparent events, incremental sync, write-back, broken
credentials and the grace period."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import make_public_page, run_calendar_writes
from tests.fixtures_radicale import vevent
from webapp.extensions import db
from webapp.jobs.calendars import options
from webapp.models import BusyInterval, CalendarSettings, CalendarWrite
from webapp.services import bookings
from webapp.services.bookings import CustomerDetails
from webapp.services.calendars import connections, sync

NOW = datetime(2030, 6, 3, 0, 0, tzinfo=UTC)  # a Monday; members work around the clock


@pytest.fixture
def page(caldav_app):
    created = make_public_page(members=1, fields=[], duration_minutes=60)
    db.session.commit()
    return created


@pytest.fixture
def member(page):
    return page.members[0]


def connect(member, account, url=None, password=None):
    connection = connections.connect_caldav(
        member, url or account.server.url + "/", account.user, password or account.password,
        options())
    db.session.commit()
    return connection


def synced(connection, now=NOW):
    outcome = sync.sync_connection(connection, options(), now)
    db.session.commit()
    return outcome


def starts(page, day: datetime) -> set[str]:
    """Offered slot starts (HH:MM UTC) on one UTC day."""
    found = bookings.available_slots(page, NOW, day, day + timedelta(days=1))
    return {slot.start.strftime("%H:%M") for slot in found}


def test_K1_connect_discovers_calendars_from_the_server_root_and_encrypts_password(
        member, caldav_account):
    connection = connect(member, caldav_account)
    assert [(c.name, c.blocks, c.receives_bookings) for c in connection.calendars] == [
        ("仕事", True, True)]
    assert connection.calendars[0].remote_id == caldav_account.calendar_url
    assert caldav_account.password not in connection.credentials_enc
    assert json.loads(options().keyring.decrypt(connection.credentials_enc)) == {
        "password": caldav_account.password}


@pytest.mark.parametrize("url", [
    "http://calendar.example.com/dav/",  # https only
    "https://user:pw@calendar.example.com/",  # no user info
    "https://calendar.example.com\\@evil.example/",  # backslash
    "https://127.0.0.1:5232/",  # internal address, not a configured test host
    "javascript:alert(1)",
])
def test_K1_connect_refuses_unsafe_urls_at_input(member, url):
    with pytest.raises(connections.CalendarConnectError):
        connections.connect_caldav(member, url, "u", "p", options())


def test_K1_wrong_password_is_refused_at_connect_with_the_reason(
        caldav_app, member, caldav_account):
    with pytest.raises(connections.CalendarConnectError) as refused:
        connect(member, caldav_account, password="wrong")
    with caldav_app.test_request_context():
        assert "アプリ用パスワード" in str(refused.value.message)


def test_K2_recurring_event_with_exdate_and_moved_occurrence(page, member, caldav_account):
    series = vevent("standup", "20300603T010000Z", "20300603T020000Z",
                    "RRULE:FREQ=DAILY;COUNT=4\r\nEXDATE:20300604T010000Z\r\n")
    moved = ("BEGIN:VEVENT\r\nUID:standup\r\nDTSTAMP:20300101T000000Z\r\n"
             "RECURRENCE-ID:20300605T010000Z\r\nDTSTART:20300605T050000Z\r\n"
             "DTEND:20300605T060000Z\r\nSUMMARY:moved\r\nEND:VEVENT\r\n")
    caldav_account.put_event("standup.ics",
                             series.replace("END:VCALENDAR", moved + "END:VCALENDAR"))
    synced(connect(member, caldav_account))
    day = datetime(2030, 6, 3, tzinfo=UTC)
    assert "01:00" not in starts(page, day)
    assert "01:00" in starts(page, day + timedelta(days=1))  # EXDATE frees the 4th
    assert "01:00" in starts(page, day + timedelta(days=2))  # moved away on the 5th...
    assert "05:00" not in starts(page, day + timedelta(days=2))  # ...to 05:00
    assert "01:00" not in starts(page, day + timedelta(days=3))  # the series goes on
    assert "02:00" in starts(page, day + timedelta(days=3))


def test_K2_all_day_event_blocks_the_members_local_day(page, member, caldav_account):
    caldav_account.put_event("holiday.ics", vevent("holiday", "20300605", "20300606").replace(
        "DTSTART:", "DTSTART;VALUE=DATE:").replace("DTEND:", "DTEND;VALUE=DATE:"))
    synced(connect(member, caldav_account))
    # Asia/Tokyo (UTC+9): the 5th runs from 4th 15:00 to 5th 15:00 UTC.
    assert "14:00" in starts(page, datetime(2030, 6, 4, tzinfo=UTC))
    assert "15:00" not in starts(page, datetime(2030, 6, 4, tzinfo=UTC))
    assert "14:00" not in starts(page, datetime(2030, 6, 5, tzinfo=UTC))
    assert "15:00" in starts(page, datetime(2030, 6, 5, tzinfo=UTC))


def test_K2_event_in_los_angeles_blocks_its_utc_time(page, member, caldav_account):
    # 09:00 PDT (UTC-7) on June 5 is 16:00 UTC.
    caldav_account.put_event("la.ics", vevent("la", "20300605T090000", "20300605T100000",
                                              tzid="America/Los_Angeles"))
    synced(connect(member, caldav_account))
    offered = starts(page, datetime(2030, 6, 5, tzinfo=UTC))
    assert "16:00" not in offered and "15:45" not in offered
    assert "17:00" in offered and "09:00" in offered


def test_K2_transparent_event_does_not_block(page, member, caldav_account):
    caldav_account.put_event("free.ics", vevent("free", "20300605T010000Z", "20300605T020000Z",
                                                "TRANSP:TRANSPARENT\r\n"))
    caldav_account.put_event("busy.ics", vevent("busy", "20300605T030000Z", "20300605T040000Z"))
    synced(connect(member, caldav_account))
    offered = starts(page, datetime(2030, 6, 5, tzinfo=UTC))
    assert "01:00" in offered and "03:00" not in offered


def test_K3_event_added_after_the_first_sync_is_picked_up_incrementally(
        page, member, caldav_account):
    connection = connect(member, caldav_account)
    synced(connection)
    token = connection.calendars[0].sync_state["adapter"]["sync_token"]
    day = datetime(2030, 6, 6, tzinfo=UTC)
    assert "02:00" in starts(page, day)
    caldav_account.put_event("late.ics", vevent("late", "20300606T020000Z", "20300606T030000Z"))
    synced(connection, NOW + timedelta(minutes=5))
    assert connection.calendars[0].sync_state["adapter"]["sync_token"] != token
    assert "02:00" not in starts(page, day)
    caldav_account.delete_event("late.ics")
    synced(connection, NOW + timedelta(minutes=10))
    assert "02:00" in starts(page, day)
    assert db.session.scalars(select(BusyInterval)).all() == []


def test_K3_page_views_read_the_store_and_make_no_provider_call(
        page, member, caldav_account, monkeypatch):
    import requests

    caldav_account.put_event("busy.ics", vevent("busy", "20300605T030000Z", "20300605T040000Z"))
    synced(connect(member, caldav_account))
    calls = []
    real_send = requests.Session.send
    monkeypatch.setattr(requests.Session, "send",
                        lambda self, *a, **k: calls.append(1) or real_send(self, *a, **k))
    for _ in range(20):
        assert "03:00" not in starts(page, datetime(2030, 6, 5, tzinfo=UTC))
    assert calls == []


def book(page, start, now=NOW):
    booking, _record = bookings.create_booking(page, start, CustomerDetails(
        email="taro@example.com", name="山田 太郎"), now=now)
    db.session.commit()
    run_calendar_writes(booking.id)
    return booking


def test_K4_booking_is_written_moved_and_removed_exactly_once(page, member, caldav_account):
    connection = connect(member, caldav_account)
    booking = book(page, datetime(2030, 6, 5, 2, tzinfo=UTC))
    name = f"apo-booking-{booking.id}%40apo.test.ics"
    assert caldav_account.server.list_hrefs(caldav_account.user,
                                            caldav_account.calendar_url) == [name]
    body = caldav_account.server.get(caldav_account.user, caldav_account.calendar_url + name).text
    assert "DTSTART:20300605T020000Z" in body and f"apo-booking-{booking.id}@apo.test" in body
    assert booking.token not in body  # no private link in the member's calendar (F4)

    bookings.reschedule_booking(booking, datetime(2030, 6, 5, 6, tzinfo=UTC), now=NOW)
    db.session.commit()
    run_calendar_writes(booking.id)
    run_calendar_writes(booking.id)  # a duplicate job writes nothing twice
    assert caldav_account.server.list_hrefs(caldav_account.user,
                                            caldav_account.calendar_url) == [name]
    body = caldav_account.server.get(caldav_account.user, caldav_account.calendar_url + name).text
    assert "DTSTART:20300605T060000Z" in body

    # The written copy syncs back without blocking twice: the booking's own claim blocks.
    synced(connection)
    assert db.session.scalars(select(BusyInterval)).all() == []

    bookings.cancel_booking(booking, now=NOW)
    db.session.commit()
    run_calendar_writes(booking.id)
    assert caldav_account.server.list_hrefs(caldav_account.user,
                                            caldav_account.calendar_url) == []
    log = db.session.scalars(select(CalendarWrite).order_by(CalendarWrite.id)).all()
    assert [(w.action, w.status) for w in log] == [("put", "done"), ("put", "done"),
                                                    ("delete", "done")]


def test_K6_wrong_password_breaks_the_connection_and_grace_then_unavailable(
        caldav_app, page, member, caldav_account):
    caldav_account.put_event("busy.ics", vevent("busy", "20300605T030000Z", "20300605T040000Z"))
    connection = connect(member, caldav_account)
    synced(connection)
    caldav_account.server.add_user(caldav_account.user, "changed-elsewhere")
    outcome = synced(connection, NOW + timedelta(minutes=5))
    assert outcome.error is not None
    assert connection.status == "broken" and connection.status_reason.startswith("auth:")
    with caldav_app.test_request_context():
        assert "アプリ用パスワード" in str(connections.reason_message(connection))
    day = datetime(2030, 6, 5, tzinfo=UTC)
    # Within the grace period the last stored busy times still count...
    assert "03:00" not in starts(page, day) and "05:00" in starts(page, day)
    # ...after it the member is offered nothing rather than risk a double booking.
    db.session.add(CalendarSettings(organization_id=page.organization_id, grace_minutes=60))
    db.session.commit()
    later = connection.broken_since + timedelta(minutes=61)
    assert bookings.available_slots(page, later, day, day + timedelta(days=1)) == []
    assert bookings.available_slots(page, later - timedelta(minutes=2), day,
                                    day + timedelta(days=1)) != []


def test_K4_write_back_updates_the_invitation_already_filed_under_another_name(
        page, member, caldav_account):
    """The member's mail client filed the emailed invitation (same UID, N1) in the calendar:
    the write-back updates that event instead of failing on the UID conflict or adding a
    second one, and the cancel removes it."""
    connect(member, caldav_account)
    start = datetime(2030, 6, 5, 2, tzinfo=UTC)
    booking, _record = bookings.create_booking(page, start, CustomerDetails(
        email="taro@example.com", name="山田 太郎"), now=NOW)
    db.session.commit()
    uid = f"apo-booking-{booking.id}@apo.test"
    caldav_account.put_event("invitation-from-mail.ics",
                             vevent(uid, "20300605T020000Z", "20300605T023000Z"))
    run_calendar_writes(booking.id)
    assert caldav_account.server.list_hrefs(caldav_account.user, caldav_account.calendar_url) \
        == ["invitation-from-mail.ics"]
    body = caldav_account.server.get(caldav_account.user, caldav_account.calendar_url
                                     + "invitation-from-mail.ics").text
    assert "DTEND:20300605T030000Z" in body and "SUMMARY:" in body
    bookings.cancel_booking(booking, now=NOW)
    db.session.commit()
    run_calendar_writes(booking.id)
    assert caldav_account.server.list_hrefs(caldav_account.user,
                                            caldav_account.calendar_url) == []


def test_K1_C8_rotate_keys_reencrypts_calendar_credentials_and_the_old_key_can_go(
        caldav_app, member, caldav_account):
    from cryptography.fernet import Fernet

    old_key = Fernet.generate_key().decode()
    caldav_app.config["APO_ENCRYPTION_KEYS"] = (old_key,)
    connection = connect(member, caldav_account)
    before = connection.credentials_enc
    new_key = Fernet.generate_key().decode()
    caldav_app.config["APO_ENCRYPTION_KEYS"] = (new_key, old_key)
    result = caldav_app.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0 and "1 calendar connection" in result.output
    caldav_app.config["APO_ENCRYPTION_KEYS"] = (new_key,)
    db.session.expire_all()
    assert connection.credentials_enc != before
    assert synced(connection).error is None and connection.status == "ok"


def test_K4_each_servers_uid_conflict_refusal_is_recognised_by_its_body(caldav_account):
    """Both real servers refuse a second resource with a UID the calendar holds (RFC 4791
    5.3.2.1), each in its own way (Radicale 409, Xandikos 412, neither names the href): the
    client reads the precondition from the body, so both lead to the UID look-up."""
    import requests

    from webapp.integrations.caldav.dav_xml import uid_conflict_href

    ics = vevent("dup@apo.test", "20300605T020000Z", "20300605T030000Z")
    caldav_account.put_event("first.ics", ics)
    answer = requests.put(caldav_account.calendar_url + "second.ics", data=ics.encode(),
                          auth=(caldav_account.user, caldav_account.password), timeout=10,
                          headers={"Content-Type": "text/calendar; charset=utf-8"})
    assert answer.status_code in (403, 409, 412)
    assert uid_conflict_href(answer) == ""
    assert caldav_account.server.list_hrefs(caldav_account.user,
                                            caldav_account.calendar_url) == ["first.ics"]


ERROR_BODY = ('<?xml version="1.0"?><d:error xmlns:d="DAV:" '
              'xmlns:c="urn:ietf:params:xml:ns:caldav">{inner}</d:error>')


@pytest.mark.parametrize(("status", "body", "expected"), [
    (412, ERROR_BODY.format(inner="<c:no-uid-conflict/>"), ""),  # Xandikos
    (409, ERROR_BODY.format(inner="<c:no-uid-conflict/>"), ""),  # Radicale
    (400, ERROR_BODY.format(inner="<c:no-uid-conflict><d:href>/cal/a.ics</d:href>"
                                  "</c:no-uid-conflict>"), "/cal/a.ics"),  # Nextcloud
    (403, ERROR_BODY.format(inner="<c:no-uid-conflict><d:href> b.ics </d:href>"
                                  "</c:no-uid-conflict>"), "b.ics"),  # the RFC's example
    (409, "no-uid-conflict <broken", ""),  # named, unreadable: look the UID up
    (412, ERROR_BODY.format(inner="<d:responsedescription>no-uid-conflict?"
                                  "</d:responsedescription>"), None),  # only words
    (412, ERROR_BODY.format(inner="<d:no-uid-conflict/>"), None),  # wrong namespace
    (201, ERROR_BODY.format(inner="<c:no-uid-conflict/>"), None),  # not a refusal
    (412, ERROR_BODY.format(inner="<c:supported-calendar-data/>"), None),
])
def test_K4_no_uid_conflict_is_known_by_its_body_whatever_the_status(status, body, expected):
    import requests

    from webapp.integrations.caldav.dav_xml import uid_conflict_href

    response = requests.Response()
    response.status_code, response._content = status, body.encode()
    assert uid_conflict_href(response) == expected


def test_K9_an_invitation_the_member_declined_does_not_block(page, member, caldav_account):
    connection = connect(member, caldav_account)
    me = f"ATTENDEE;PARTSTAT=DECLINED:mailto:{member.email.upper()}\r\n"
    other = "ATTENDEE;PARTSTAT=DECLINED:mailto:someone@example.com\r\n"
    caldav_account.put_event("declined.ics", vevent("d", "20300605T010000Z", "20300605T020000Z",
                                                    extra=me))
    caldav_account.put_event("others.ics", vevent("o", "20300605T030000Z", "20300605T040000Z",
                                                  extra=other))
    synced(connection)
    offered = starts(page, datetime(2030, 6, 5, tzinfo=UTC))
    assert "01:00" in offered  # the member declined it: free
    assert "03:00" not in offered  # someone else declined; the member still goes


def test_K9_one_calendar_per_member_receives_bookings_across_connections(
        page, member, caldav_account, xandikos):
    first = connect(member, caldav_account)
    assert [c.receives_bookings for c in first.calendars] == [True]
    user = f"second{member.id}x{id(first)}"
    xandikos.add_user(user, f"pw-{user}")
    xandikos.make_calendar(user, "work", "仕事")
    second = connections.connect_caldav(member, xandikos.url + "/", user, f"pw-{user}",
                                        options())
    db.session.commit()
    assert [c.receives_bookings for c in second.calendars] == [False]  # the first one stays
    connections.set_calendar_roles(second, {c.id for c in second.calendars},
                                   second.calendars[0].id)
    db.session.commit()
    db.session.expire_all()
    assert connections.receiving_calendar(member.id).id == second.calendars[0].id
    assert [c.receives_bookings for c in first.calendars] == [False]


def _member_edit(caldav_account, url: str, **props) -> None:
    """The member edits Apo's event in their own calendar app: properties added or changed."""
    import icalendar

    calendar = icalendar.Calendar.from_ical(caldav_account.server.get(
        caldav_account.user, url).content)
    event = next(iter(calendar.walk("VEVENT")))
    for name, value in props.items():
        event.pop(name, None)
        event.add(name, value)
    caldav_account.server.put(caldav_account.user, url.rsplit("/", 1)[0] + "/",
                              url.rsplit("/", 1)[1], calendar.to_ical().decode())


def test_K10_a_reschedule_keeps_the_members_own_changes_and_says_so(
        page, member, caldav_account):
    connect(member, caldav_account)
    booking = book(page, datetime(2030, 6, 5, 2, tzinfo=UTC))
    url = caldav_account.calendar_url + f"apo-booking-{booking.id}%40apo.test.ics"
    _member_edit(caldav_account, url, location="会議室B", description="持ち物: 名刺")
    bookings.reschedule_booking(booking, datetime(2030, 6, 5, 6, tzinfo=UTC), now=NOW)
    db.session.commit()
    run_calendar_writes(booking.id)
    body = caldav_account.server.get(caldav_account.user, url).content.decode()
    assert "DTSTART:20300605T060000Z" in body  # Apo's field: the new time
    assert "会議室B" in body and "持ち物: 名刺" in body  # the member's: kept
    last = db.session.scalars(select(CalendarWrite).order_by(CalendarWrite.id.desc())).first()
    assert last.status == "done" and "kept the member's own changes" in last.detail


def test_K10_an_edit_between_read_and_write_is_read_again_not_overwritten(
        page, member, caldav_account):
    from webapp.integrations.caldav import CalDAVClient
    from webapp.integrations.calendar_port import BookingEvent

    connect(member, caldav_account)
    booking = book(page, datetime(2030, 6, 5, 2, tzinfo=UTC))
    url = caldav_account.calendar_url + f"apo-booking-{booking.id}%40apo.test.ics"
    client = CalDAVClient(caldav_account.server.url + "/", caldav_account.user,
                          caldav_account.password, test_hosts=options().test_hosts)
    real = client.session.request
    raced = []

    def request(method, target, **kwargs):
        if method == "PUT" and "If-Match" in kwargs.get("headers", {}) and not raced:
            raced.append(1)  # the member saves an edit just before Apo's write arrives
            _member_edit(caldav_account, url, location="オンライン")
        return real(method, target, **kwargs)

    client.session.request = request
    uid = f"apo-booking-{booking.id}@apo.test"
    start = datetime(2030, 6, 5, 8, tzinfo=UTC)
    note = client.put_event(caldav_account.calendar_url, BookingEvent(
        uid, start, start + timedelta(hours=1), "移動後", sequence=9)).note
    body = caldav_account.server.get(caldav_account.user, url).content.decode()
    assert raced and "オンライン" in body and "DTSTART:20300605T080000Z" in body
    assert note  # written onto the member's edited copy
