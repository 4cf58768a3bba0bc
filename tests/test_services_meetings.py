"""Where the meeting happens (V1-V5), against the Google, Graph and Zoom emulators over real
HTTP: a Meet, Teams or Zoom meeting made through the attending host's own account, its link in
the pages, mails, .ics, calendars and Salesforce Event, moved on reschedule, deleted on cancel,
made once under lost answers, a failure that keeps the booking, and replies that reach people.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from urllib.parse import parse_qs, urlencode, urlsplit

import icalendar
import pytest
import vobject
from sqlalchemy import select

from tests.factories import ALWAYS_WORKING, make_member, make_org, make_page, run_calendar_writes
from tests.fixtures_google_calendar_emulator import APP_CALLBACK
from tests.fixtures_graph import CALLBACK as GRAPH_CALLBACK
from tests.fixtures_graph import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from webapp.extensions import db
from webapp.jobs.calendars import options
from webapp.models import (
    AttendMode,
    Booking,
    CalendarWrite,
    Meeting,
    MeetingAccount,
    MessageKind,
    OutboxMessage,
    RecipientRole,
    SyncRecord,
    utcnow,
)
from webapp.services import bookings, meetings, zoom_connect
from webapp.services.bookings import CustomerDetails
from webapp.services.calendars import connections, google_connect, microsoft
from webapp.services.notifications import NotificationSettings
from webapp.services.notifications.compose import compose
from webapp.services.sync import plan as sync_plan

pytestmark = pytest.mark.timeout(90)
SATO, SUZUKI = "sato@example.com", "suzuki@example.com"
ZOOM_CALLBACK = "http://127.0.0.1/meetings/zoom/callback"
CUSTOMER = "kyaku@example.net"
MAIL = NotificationSettings(smtp=None, sender="Apo 予約 <noreply@apo.example>",
                            base_url="https://apo.example", uid_domain="apo.test")


def render(template, locale, context):
    from flask import render_template
    from flask_babel import force_locale

    with force_locale(locale):
        return render_template(template, **context)


# --- set-up: a page, its members and their accounts ------------------------------------------

def team(kind: str, emails=(SATO,), attend=AttendMode.ALL.value, value: str = ""):
    org = make_org()
    members = [make_member(org, name=f"社員{i}", email=email, working_hours=ALWAYS_WORKING)
               for i, email in enumerate(emails)]
    page = make_page(org, members=members, fields=[], duration_minutes=30, window_days=60,
                     attend_mode=attend)
    page.location_kind, page.location_value = kind, value
    db.session.commit()
    return page


def connect_google(member, gcal, email=SATO):
    app = google_connect.google_app(_config())
    pending, url = google_connect.begin_connect(member, app, APP_CALLBACK)
    location = gcal.authorize(url, email)
    code = parse_qs(urlsplit(location).query)["code"][0]
    connection = google_connect.complete_connect(member, app, pending, code, APP_CALLBACK,
                                                 options())
    db.session.commit()
    return connection


def connect_microsoft(member, graph, user=SATO):
    settings = microsoft.MicrosoftSettings.from_config(_config())
    flow = microsoft.start_connect(settings, member, GRAPH_CALLBACK)
    location = graph.authorize(flow["url"], user=user)
    code = parse_qs(urlsplit(location).query)["code"][0]
    connection = microsoft.finish_connect(settings, options(), member, GRAPH_CALLBACK, code,
                                          flow["verifier"])
    db.session.commit()
    return connection


def connect_zoom(member, zoom, email=SATO):
    app = options().zoom
    pending, url = zoom_connect.begin_connect(member, app, ZOOM_CALLBACK)
    location = zoom.authorize(url, email)
    code = parse_qs(urlsplit(location).query)["code"][0]
    account = zoom_connect.complete_connect(member, app, pending, code, ZOOM_CALLBACK,
                                            options().keyring)
    db.session.commit()
    return account


def _config():
    from flask import current_app

    return current_app.config


@pytest.fixture
def meet_app(google_app):
    return google_app


@pytest.fixture
def teams_app(app, graph):
    app.config.update(MS_CLIENT_ID=DEMO_CLIENT_ID, MS_CLIENT_SECRET=DEMO_CLIENT_SECRET,
                      MS_LOGIN_URL=graph.login_url, MS_GRAPH_URL=graph.graph_url,
                      MS_TEST_HOSTS=tuple(urlsplit(u).netloc for u in (
                          graph.login_url, graph.graph_url)), ICAL_UID_DOMAIN="apo.test")
    return app


@pytest.fixture
def zoom_app(app, zoom):
    client_id, secret = zoom.register_app([ZOOM_CALLBACK])
    app.config.update(ZOOM_CLIENT_ID=client_id, ZOOM_CLIENT_SECRET=secret,
                      ZOOM_BASE_URL=zoom.url, ICAL_UID_DOMAIN="apo.test")
    return app


def book(page, days: int = 3, email: str = CUSTOMER) -> Booking:
    now = utcnow()
    found = bookings.available_slots(page, now, now + timedelta(days=days),
                                     now + timedelta(days=days + 5))
    booking, _ = bookings.create_booking(page, found[0].start, CustomerDetails(
        email=email, name="山田 太郎"))
    db.session.commit()
    return booking


def another_slot(booking, days: int = 1):
    now = utcnow()
    start = booking.start_at + timedelta(days=days)
    found = bookings.available_slots(booking.page, now, start, start + timedelta(days=3),
                                     exclude_booking_id=booking.id)
    return found[0].start


def meetings_of(booking) -> list[Meeting]:
    db.session.expire_all()
    return list(db.session.scalars(select(Meeting).where(Meeting.booking_id == booking.id)
                                   .order_by(Meeting.id)))


def run_zoom(booking) -> None:
    from webapp.jobs.meetings import run_meeting

    ids = db.session.scalars(select(Meeting.id).where(
        Meeting.booking_id == booking.id, Meeting.status.in_(("pending", "running")))).all()
    db.session.commit()
    for meeting_id in ids:
        run_meeting(meeting_id)
    db.session.expire_all()


def customer_message(booking, kind=MessageKind.CONFIRMATION, note=""):
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.booking_id == booking.id, OutboxMessage.kind == kind.value,
        OutboxMessage.note == note,
        OutboxMessage.recipient_role == RecipientRole.CUSTOMER.value)
        .order_by(OutboxMessage.id.desc())).first()


def composed(row, booking):
    return compose(row, booking, MAIL, render).message


def texts(message) -> str:
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    return "\n".join(part.get_content() for part in parsed.walk()
                     if part.get_content_type() in ("text/plain", "text/html"))


def ics_of(message):
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    raw = next(p.get_content() for p in parsed.walk() if p.get_content_type() == "text/calendar")
    event = icalendar.Calendar.from_ical(raw).walk("VEVENT")[0]
    return event, vobject.readOne(raw).vevent


# --- V1: Google Meet ------------------------------------------------------------------------

def test_V1_V2_meet_is_made_on_the_hosts_google_event_and_shown_everywhere(meet_app, gcal):
    page = team(meetings.GOOGLE_MEET)
    host = page.members[0]
    connect_google(host, gcal)
    booking = book(page)
    [meeting] = meetings_of(booking)
    assert (meeting.provider, meeting.status, meeting.member_id) == ("google_meet", "pending",
                                                                     host.id)
    held = customer_message(booking)
    assert held.send_after > utcnow() + timedelta(seconds=20)  # V4: waits for the link
    run_calendar_writes(booking.id)
    [meeting] = meetings_of(booking)
    assert meeting.status == "ready" and meeting.join_url.startswith("https://meet.google.com/")
    assert meeting.details["dial_in"][0]["pin"]
    # The host's event in Google carries the conference, made with the booking's UID.
    [event] = [e for e in gcal.api(SATO).get(
        f"{gcal.url}/calendar/v3/calendars/{SATO}/events",
        params={"iCalUID": f"apo-booking-{booking.id}@apo.test"}).json()["items"]]
    assert event["hangoutLink"] == meeting.join_url
    assert event["conferenceData"]["createRequest"]["requestId"] == \
        f"apo-booking-{booking.id}@apo.test"
    # V4: the link released the held confirmation, which now carries it (V2).
    released = customer_message(booking)
    assert released.id == held.id and released.send_after <= utcnow()
    message = composed(released, booking)
    assert meeting.join_url in texts(message)
    event, vevent = ics_of(message)
    assert str(event["LOCATION"]) == meeting.join_url == vevent.location.value
    assert str(event["URL"]) == meeting.join_url
    assert meeting.join_url in str(event["DESCRIPTION"])
    # V2: the Salesforce Event gets the link as Location and in the Description.
    fields = sync_plan.event_fields(booking, page, "Asia/Tokyo", "00Q", "005")
    assert fields["Location"] == meeting.join_url and meeting.join_url in fields["Description"]


def test_V1_meet_goes_to_the_google_calendar_instead_of_a_caldav_receiving_one(
        meet_app, gcal, caldav_app, caldav_account):
    """The host's receiving calendar is CalDAV: the Meet event must exist in Google, and the
    host gets that one event, not a second in CalDAV."""
    page = team(meetings.GOOGLE_MEET)
    host = page.members[0]
    google = connect_google(host, gcal)
    caldav = connections.connect_caldav(host, caldav_account.calendar_url, caldav_account.user,
                                        caldav_account.password, options())
    connections.set_calendar_roles(caldav, {c.id for c in caldav.calendars},
                                   caldav.calendars[0].id)  # K9: bookings go to CalDAV
    db.session.commit()
    db.session.expire_all()
    receiving = [c for c in caldav.calendars if c.receives_bookings]
    assert receiving and not any(c.receives_bookings for c in google.calendars)
    booking = book(page)
    run_calendar_writes(booking.id)
    writes = db.session.scalars(select(CalendarWrite).where(
        CalendarWrite.booking_id == booking.id)).all()
    assert [(w.calendar_id, w.conference, w.status) for w in writes] == [
        (next(c.id for c in google.calendars if c.remote_id == SATO), "google_meet", "done")]
    assert caldav_account.server.list_hrefs(caldav_account.user,
                                            caldav_account.calendar_url) == []
    assert meetings_of(booking)[0].join_url.startswith("https://meet.google.com/")


# --- V1: Microsoft Teams --------------------------------------------------------------------

def test_V1_teams_meeting_is_the_hosts_graph_event_and_moves_with_it(teams_app, graph):
    page = team(meetings.TEAMS)
    host = page.members[0]
    connect_microsoft(host, graph)
    booking = book(page)
    run_calendar_writes(booking.id)
    [meeting] = meetings_of(booking)
    assert meeting.status == "ready" and "teams" in meeting.join_url
    assert meeting.details["dial_in"][0]["number"]
    link = meeting.join_url
    # V3: a reschedule moves the same event; the meeting and its link stay.
    bookings.reschedule_booking(booking, another_slot(booking))
    db.session.commit()
    run_calendar_writes(booking.id)
    [meeting] = meetings_of(booking)
    assert meeting.join_url == link and meeting.status == "ready"
    [live] = graph.control("GET", "meetings")  # one Teams meeting, never a second
    assert live["joinUrl"] == link


# --- V1, V3: Zoom ---------------------------------------------------------------------------

def test_V1_V3_zoom_meeting_is_created_moved_and_deleted_once(zoom_app, zoom):
    page = team(meetings.ZOOM)
    connect_zoom(page.members[0], zoom)
    booking = book(page)
    run_zoom(booking)
    [meeting] = meetings_of(booking)
    assert meeting.status == "ready" and "/j/" in meeting.join_url
    assert meeting.details["passcode"] and meeting.details["dial_in"]
    [made] = zoom.meetings(SATO)
    assert str(made["id"]) == meeting.remote_id
    assert f"apo-booking-{booking.id}@apo.test" in made["agenda"]
    message = composed(customer_message(booking), booking)
    assert meeting.join_url in texts(message) and meeting.details["passcode"] in texts(message)
    # A reschedule moves the same meeting: same id and link, the new start.
    new_start = another_slot(booking)
    bookings.reschedule_booking(booking, new_start)
    db.session.commit()
    run_zoom(booking)
    [meeting] = meetings_of(booking)
    [moved] = zoom.meetings(SATO)
    assert moved["id"] == made["id"] and meeting.join_url == made["join_url"]
    assert moved["start_time"] == new_start.strftime("%Y-%m-%dT%H:%M:%SZ")
    update = customer_message(booking, MessageKind.UPDATE)
    assert meeting.join_url in texts(composed(update, booking))  # the link stays in the update
    # A cancel deletes it.
    bookings.cancel_booking(booking, "都合")
    db.session.commit()
    run_zoom(booking)
    assert [m.status for m in meetings_of(booking)] == ["deleted"]
    assert not [m for m in zoom.meetings(SATO) if not m.get("deleted")]


def test_V3_zoom_lost_answer_and_a_second_run_make_one_meeting(zoom_app, zoom):
    page = team(meetings.ZOOM)
    connect_zoom(page.members[0], zoom)
    booking = book(page)
    zoom.control("POST", "faults/lose-answer", {"method": "POST", "path_contains": "/meetings"})
    run_zoom(booking)  # Zoom made it; the answer never came
    [meeting] = meetings_of(booking)
    assert meeting.status == "pending" and meeting.remote_id == ""
    assert len(zoom.meetings(SATO)) == 1
    meeting.next_attempt_at = None
    db.session.commit()
    run_zoom(booking)  # the retry finds the tagged meeting instead of creating another
    [meeting] = meetings_of(booking)
    [made] = zoom.meetings(SATO)
    assert meeting.status == "ready" and meeting.remote_id == str(made["id"])
    # The same job handed over again (a duplicate enqueue) does nothing.
    from webapp.jobs.meetings import run_meeting

    run_meeting(meeting.id)
    assert len(zoom.meetings(SATO)) == 1


def test_V3_a_new_host_on_reschedule_gets_a_new_link_announced_in_the_update(zoom_app, zoom):
    page = team(meetings.ZOOM, emails=(SATO, SUZUKI), attend=AttendMode.ROUND_ROBIN.value)
    first, second = page.members
    connect_zoom(first, zoom, SATO)
    connect_zoom(second, zoom, SUZUKI)
    booking = book(page)
    run_zoom(booking)
    [old] = meetings_of(booking)
    old_host = old.member_id
    # The host is busy at the new time: round robin gives it to the other member (O5).
    other = second if old_host == first.id else first
    new_start = another_slot(booking)
    make_busy(old_host, new_start)
    bookings.reschedule_booking(booking, new_start)
    db.session.commit()
    assert booking.members[0].id == other.id
    run_zoom(booking)
    old_row, new_row = meetings_of(booking)
    assert (old_row.status, new_row.status) == ("deleted", "ready")
    assert new_row.member_id == other.id and new_row.join_url != old.join_url
    host_emails = {m["host_email"] for m in zoom.meetings() if not m.get("deleted")}
    assert host_emails == {other.email}
    update = customer_message(booking, MessageKind.UPDATE)
    assert new_row.join_url in texts(composed(update, booking))


def make_busy(member_id: int, start: datetime) -> None:
    from webapp.models import BusyInterval

    db.session.add(BusyInterval(member_id=member_id, source="calendar", event_ref="busy",
                                start_at=start - timedelta(minutes=30),
                                end_at=start + timedelta(hours=1)))
    db.session.commit()


# --- V4: a failure keeps the booking -------------------------------------------------------

def test_V4_zoom_down_keeps_the_booking_then_the_link_follows_as_an_update(zoom_app, zoom):
    page = team(meetings.ZOOM)
    connect_zoom(page.members[0], zoom)
    zoom.control("POST", "faults", {"status": 503, "times": -1, "method": "POST"})
    booking = book(page)
    run_zoom(booking)
    [meeting] = meetings_of(booking)
    assert booking.status == "confirmed" and meeting.status == "pending"
    assert "503" in meeting.detail  # the admin sees why (V4)
    meeting.next_attempt_at = None
    db.session.commit()
    run_zoom(booking)  # a second failure: the customer is not kept waiting
    confirmation = customer_message(booking)
    assert confirmation.send_after <= utcnow()
    follows = texts(composed(confirmation, booking))
    assert "会議のURLは準備ができ次第" in follows
    for row in db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.booking_id == booking.id)):
        row.status = "sent"  # the worker sent the confirmation, without the link
    db.session.commit()
    zoom.control("DELETE", "faults")
    meeting = meetings_of(booking)[0]
    meeting.next_attempt_at = None
    db.session.commit()
    run_zoom(booking)
    [meeting] = meetings_of(booking)
    assert meeting.status == "ready"
    news = customer_message(booking, MessageKind.UPDATE, note="meeting_link")
    message = composed(news, booking)
    assert meeting.join_url in texts(message) and "会議URL" in str(message["Subject"])
    assert ics_of(message)[0]["SEQUENCE"] == 1  # N3: the next version of the invitation


def test_V4_a_host_without_the_account_is_told_and_the_mail_is_not_held(meet_app, gcal):
    page = team(meetings.GOOGLE_MEET)
    assert [m.id for m in meetings.members_missing_account(page)] == [page.members[0].id]
    booking = book(page)
    [meeting] = meetings_of(booking)
    assert meeting.status == "failed" and "no google account" in meeting.detail
    confirmation = customer_message(booking)
    assert confirmation.send_after is None  # nothing to wait for
    assert "会議のURLは準備ができ次第" in texts(composed(confirmation, booking))


def test_V4_a_revoked_zoom_grant_waits_and_runs_after_reconnecting(zoom_app, zoom):
    page = team(meetings.ZOOM)
    host = page.members[0]
    account = connect_zoom(host, zoom)
    credentials = json.loads(options().keyring.decrypt(account.credentials_enc))
    zoom.http.post(f"{zoom.url}/oauth/revoke", data={"token": credentials["access_token"]},
                   auth=(options().zoom.client_id, options().zoom.client_secret), timeout=10)
    booking = book(page)
    run_zoom(booking)
    [meeting] = meetings_of(booking)
    assert meeting.status == "waiting"
    assert db.session.get(MeetingAccount, account.id).status == "broken"
    connect_zoom(host, zoom)  # the member reconnects through the signed link
    from tests.factories import commit_and_enqueue

    commit_and_enqueue()
    run_zoom(booking)
    assert meetings_of(booking)[0].status == "ready"
    assert len(zoom.meetings(SATO)) == 1


# --- V2 for every kind of place -----------------------------------------------------------

@pytest.mark.parametrize("kind,value,shown", [
    (meetings.ADDRESS, "東京都千代田区丸の内1-1 5F", "東京都千代田区丸の内1-1 5F"),
    (meetings.PHONE_HOST, "03-1234-5678", "03-1234-5678"),
    (meetings.URL, "https://example.com/room/42", "https://example.com/room/42"),
])
def test_V2_a_fixed_place_is_in_the_mail_ics_and_salesforce_event(app, kind, value, shown):
    page = team(kind, value=value)
    booking = book(page)
    row = customer_message(booking)
    assert row.send_after is None
    message = composed(row, booking)
    assert shown in texts(message)
    event, vevent = ics_of(message)
    assert str(event["LOCATION"]) == shown == vevent.location.value
    assert sync_plan.event_fields(booking, page, "Asia/Tokyo", "00Q", "005")["Location"] == shown


def test_V2_customers_phone_is_asked_on_the_form_and_shown_to_the_host(app, client):
    page = team(meetings.PHONE_CUSTOMER)
    now = utcnow()
    slot = bookings.available_slots(page, now, now + timedelta(days=3),
                                    now + timedelta(days=6))[0]
    form_page = f"/p/{page.slug}/book?{urlencode({'start': slot.start.isoformat()})}"
    shown = client.get(form_page).get_data(as_text=True)
    assert 'autocomplete="tel"' in shown, shown[shown.find("<main"):][:1500]
    fields = {"start": slot.start.isoformat(), "name": "山田", "email": CUSTOMER,
              "phone": "090-1234-5678"}
    bad = client.post_form(f"/p/{page.slug}/book", dict(fields, phone="call me"),
                           token_from=form_page)
    assert bad.status_code == 422 and "電話番号は数字で" in bad.get_data(as_text=True)
    assert db.session.scalar(select(Booking).where(Booking.page_id == page.id)) is None
    done = client.post_form(f"/p/{page.slug}/book", fields, token_from=form_page)
    assert done.status_code == 302
    booking = db.session.scalar(select(Booking).where(Booking.page_id == page.id))
    assert booking.phone == "090-1234-5678"
    member_row = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.booking_id == booking.id,
        OutboxMessage.recipient_role == RecipientRole.MEMBER.value)).first()
    assert "090-1234-5678" in texts(composed(member_row, booking))


# --- V5: replies reach people ----------------------------------------------------------------

def test_V5_reply_to_is_the_host_or_the_organizations_address_and_organizer_the_host(app):
    page = team(meetings.ADDRESS, value="本社 3F")
    booking = book(page)
    host = booking.members[0]
    message = composed(customer_message(booking), booking)
    assert message["Reply-To"].addresses[0].addr_spec == host.email
    assert message["From"].addresses[0].addr_spec == "noreply@apo.example"
    event, vevent = ics_of(message)
    assert str(event["ORGANIZER"]) == f"mailto:{host.email}"
    assert event["ORGANIZER"].params["SENT-BY"] == "mailto:noreply@apo.example"
    assert vevent.organizer.value == f"mailto:{host.email}"
    assert vevent.organizer.params["SENT-BY"] == ["mailto:noreply@apo.example"]
    # The member's own mail answers to the customer.
    member_row = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.booking_id == booking.id,
        OutboxMessage.recipient_role == RecipientRole.MEMBER.value)).first()
    assert composed(member_row, booking)["Reply-To"].addresses[0].addr_spec == CUSTOMER
    # An address the organization sets wins for customers.
    page.organization.reply_to = "sales@example.co.jp"
    db.session.commit()
    assert composed(customer_message(booking), booking)["Reply-To"].addresses[
        0].addr_spec == "sales@example.co.jp"


def test_V2_meeting_link_sync_updates_the_salesforce_event_after_it_was_written(
        meet_app, gcal):
    page = team(meetings.GOOGLE_MEET)
    page.sf_create_event = True
    connect_google(page.members[0], gcal)
    booking = book(page)
    run_calendar_writes(booking.id)
    actions = [r.action for r in db.session.scalars(select(SyncRecord).where(
        SyncRecord.booking_id == booking.id).order_by(SyncRecord.id))]
    assert actions == ["create", "meeting"]
    moved = sync_plan.moved_event_fields(booking, page, "Asia/Tokyo")
    assert moved["Location"] == meetings_of(booking)[0].join_url


def test_V1_page_settings_validate_the_place_and_warn_of_missing_accounts(app, client):
    from tests.factories import login, make_admin

    page = team("")
    admin = make_admin(page.organization)
    db.session.commit()
    login(client, admin)
    url = f"/admin/pages/{page.id}"
    base = {"title": page.title, "slug": page.slug, "duration_minutes": "30",
            "window_days": "60", "buffer_minutes": "0", "attend_mode": "all",
            "is_published": "y"}
    refused = client.post_form(url, dict(base, location_kind="url",
                                         location_value="javascript:alert(1)"), token_from=url)
    assert refused.status_code == 200 and "https:// で始まるURL" in refused.get_data(as_text=True)
    db.session.refresh(page)
    assert page.location_kind == ""
    saved = client.post_form(url, dict(base, location_kind="zoom"), token_from=url)
    assert saved.status_code == 302
    db.session.refresh(page)
    assert page.location_kind == "zoom"
    warning = client.get(url).get_data(as_text=True)
    assert 'id="location-warning"' in warning and page.members[0].name in warning


def test_V1_member_connects_zoom_from_the_signed_link_and_tokens_are_encrypted(zoom_app, zoom,
                                                                              client):
    from webapp.services.calendars import links

    page = team(meetings.ZOOM)
    member = page.members[0]
    own = f"/calendar/connect/{links.make_token(member, zoom_app.config['SECRET_KEY'])}"
    shown = client.get(own).get_data(as_text=True)
    assert 'id="connect-zoom"' in shown and "Zoomで連携する" in shown
    token = own.rsplit("/", 1)[1]
    start = client.post_form(f"/meetings/zoom/connect/{token}", {}, token_from=own)
    assert start.status_code == 302 and start.headers["Location"].startswith(zoom.url)
    # The browser follows that redirect only if the page's CSP lets the form go there.
    assert zoom.url in client.get(own).headers["Content-Security-Policy"]
    callback = urlsplit(zoom.authorize(start.headers["Location"], SATO))
    assert callback.path == "/meetings/zoom/callback"
    back = client.get(f"{callback.path}?{callback.query}")
    assert back.status_code == 302
    account = meetings.zoom_account(member.id)
    assert (account.username, account.status) == (SATO, "ok")
    stored = json.loads(options().keyring.decrypt(account.credentials_enc))
    assert stored["refresh_token"] and stored["refresh_token"] not in account.credentials_enc
    assert "Zoom（sato@example.com）を連携しました。" in client.get(
        back.headers["Location"]).get_data(as_text=True)
    assert meetings.members_missing_account(page) == []
    # A forged callback (no flow in the session) stores nothing and says so.
    refused = client.get("/meetings/zoom/callback?code=x&state=forged")
    assert refused.status_code == 400


def test_V5_the_organizations_reply_address_is_set_on_its_settings(app, client):
    from tests.factories import login, make_admin

    page = team(meetings.ADDRESS, value="本社")
    admin = make_admin(page.organization)
    db.session.commit()
    login(client, admin)
    base = {"name": page.organization.name, "timezone": "Asia/Tokyo", "plan": "premium"}
    bad = client.post_form("/admin/organization", dict(base, reply_to="not an address"),
                           token_from="/admin/organization")
    assert bad.status_code == 200 and page.organization.reply_to == ""
    ok = client.post_form("/admin/organization", dict(base, reply_to="sales@example.co.jp"),
                          token_from="/admin/organization")
    assert ok.status_code == 302
    db.session.refresh(page.organization)
    assert page.organization.reply_to == "sales@example.co.jp"


def test_V2_the_members_calendar_event_gets_the_zoom_link_once_it_exists(
        zoom_app, zoom, caldav_app, caldav_account):
    page = team(meetings.ZOOM)
    host = page.members[0]
    connect_zoom(host, zoom)
    connections.connect_caldav(host, caldav_account.calendar_url, caldav_account.user,
                               caldav_account.password, options())
    db.session.commit()
    booking = book(page)
    run_calendar_writes(booking.id)  # before the link: the event says nothing about it yet
    url = caldav_account.calendar_url + f"apo-booking-{booking.id}%40apo.test.ics"
    first = caldav_account.server.get(caldav_account.user, url).content.decode()
    assert "LOCATION" not in first
    run_zoom(booking)
    run_calendar_writes(booking.id)  # the link's arrival wrote the event again
    [meeting] = meetings_of(booking)
    body = caldav_account.server.get(caldav_account.user, url).content.decode()
    unfolded = body.replace("\r\n ", "")
    # LOCATION is set on the existing event; its DESCRIPTION stays the member's (K10).
    assert f"LOCATION:{meeting.join_url}" in unfolded
    last = db.session.scalars(select(CalendarWrite).order_by(CalendarWrite.id.desc())).first()
    assert last.status == "done" and "kept" not in last.detail


def test_V4_the_admin_sees_why_a_meeting_has_no_link(meet_app, gcal, client):
    from tests.factories import login, make_admin

    page = team(meetings.GOOGLE_MEET)
    book(page)
    admin = make_admin(page.organization)
    db.session.commit()
    login(client, admin)
    shown = client.get("/admin/syncs").get_data(as_text=True)
    assert "会議URL: 作成できませんでした" in shown and "no google account connected" in shown
