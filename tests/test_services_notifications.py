"""Booking e-mails end to end through a real SMTP server (the aiosmtpd catcher) (N1-N4).

Messages are parsed back with the standard library's `email`; the .ics with `icalendar` (the
library that builds it) and with `vobject`, an independent parser.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

from tests.factories import make_public_page
from tests.fixtures_mail import body, calendar_part, outbox, received, send_due
from webapp.extensions import db
from webapp.models import MessageStatus
from webapp.services import bookings
from webapp.services.bookings import CustomerDetails
from webapp.services.ical_uid import booking_uid
from webapp.services.notifications import plan as mail_plan

TOKYO, NEW_YORK = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York")
CUSTOMER, ATTENDEE = "taro@example.com", "hanako@example.com"


@pytest.fixture
def page(app):
    created = make_public_page(fields=[dict(field_type="text", label="ご相談内容")],
                               title="製品デモ", window_days=30)
    db.session.commit()
    return created


def book(page, locale="ja", tz="America/New_York", days=3, **kw):
    start = next(s.start for s in bookings.available_slots(page)
                 if s.start > datetime.now(UTC) + timedelta(days=days))
    answers = {str(page.fields[0].id): "料金について"}
    details = CustomerDetails(email=CUSTOMER, name=kw.pop("name", "山田 太郎"), company="山田商事",
                              attendees=[{"name": "佐藤 花子", "email": ATTENDEE}],
                              customer_timezone=tz, locale=locale, answers=answers, **kw)
    booking, _record = bookings.create_booking(page, start, details)
    db.session.commit()
    return booking


def grace_passed() -> None:
    """Updates wait mail_plan.UPDATE_GRACE before they go out: let that pass."""
    for row in outbox(kind="update", status=MessageStatus.PENDING.value):
        row.send_after = datetime.now(UTC)
    db.session.commit()


def event_of(message):
    """The VEVENT, parsed by icalendar, and the same .ics parsed by vobject."""
    data = calendar_part(message)
    ours = icalendar.Calendar.from_ical(data)
    theirs = vobject.readOne(data.decode("utf-8"))
    return ours, next(iter(ours.walk("VEVENT"))), theirs


def test_N1_confirmation_with_request_invitation_in_tokyo_and_new_york(page, smtp_server):
    booking = book(page)
    sent = send_due()
    assert {r.status for r in sent} == {MessageStatus.SENT.value}
    [message] = received(smtp_server, CUSTOMER)
    assert message["Subject"] == "「製品デモ」のご予約が確定しました"
    assert message["To"].addresses[0].display_name == "山田 太郎"
    raw = smtp_server.messages[0].raw
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n")[0]  # RFC 2047, not raw UTF-8 headers
    manage = f"https://apo.example/b/{booking.token}"
    assert manage in body(message) and manage in body(message, "html")
    calendar, event, vevent = event_of(message)
    assert str(calendar["METHOD"]) == "REQUEST" and vevent.method.value == "REQUEST"
    uid = booking_uid(booking.id, "apo.example")
    assert str(event["UID"]) == uid == vevent.vevent.uid.value
    assert int(event["SEQUENCE"]) == 0 and vevent.vevent.sequence.value == "0"
    start = booking.start_at
    for zone in (TOKYO, NEW_YORK):
        assert event.decoded("DTSTART").astimezone(zone) == start.astimezone(zone)
        assert vevent.vevent.dtstart.value.astimezone(zone) == start.astimezone(zone)
    assert vevent.vevent.dtend.value - vevent.vevent.dtstart.value == timedelta(minutes=30)
    # V5: the attending host organizes, Apo's sender sends on their behalf.
    host = booking.members[0]
    assert "DTSTAMP" in event and str(event["ORGANIZER"]) == f"mailto:{host.email}"
    assert event["ORGANIZER"].params["SENT-BY"] == "mailto:noreply@apo.example"
    assert vevent.vevent.organizer.value == f"mailto:{host.email}"
    attendees = {str(a) for a in event.get("ATTENDEE")}
    assert {f"mailto:{CUSTOMER}", f"mailto:{ATTENDEE}"} <= attendees
    # The customer's own zone first, then the organization's (N1).
    local = start.astimezone(NEW_YORK)
    assert f"{local.hour}:{local:%M}" in body(message) and "America/New_York" in body(message)
    assert "Asia/Tokyo" in body(message)


def test_N1_attendee_gets_the_invitation_without_the_private_link(page, smtp_server):
    booking = book(page)
    send_due()
    [message] = received(smtp_server, ATTENDEE)
    assert booking.token not in smtp_server.messages[1].raw.decode("ascii")
    for part in message.walk():
        if not part.is_multipart():
            assert booking.token not in part.get_payload(decode=True).decode("utf-8")
    _calendar, event, _v = event_of(message)
    assert str(event["UID"]) == booking_uid(booking.id, "apo.example")


def test_N1_english_booking_gets_english_mail(page, smtp_server):
    book(page, locale="en")
    send_due()
    [message] = received(smtp_server, CUSTOMER)
    assert message["Subject"] == "Your booking is confirmed: 製品デモ"
    assert "Thank you for your booking" in body(message)


def test_N2_each_member_gets_customer_attendees_and_answers(page, smtp_server):
    booking = book(page)
    send_due()
    for member in booking.members:
        [message] = received(smtp_server, member.email)
        assert message["Subject"] == "新しい予約: 山田 太郎 様(製品デモ)"
        text = body(message)
        for expected in ("山田 太郎", CUSTOMER, "山田商事", "佐藤 花子", ATTENDEE,
                         "ご相談内容: 料金について"):
            assert expected in text
        assert booking.token not in text


def test_N3_update_then_cancel_keep_the_uid_and_raise_the_sequence(page, smtp_server):
    booking = book(page)
    send_due()
    new_start = next(s.start for s in bookings.available_slots(page, exclude_booking_id=booking.id)
                     if s.start > booking.start_at + timedelta(days=1))
    bookings.reschedule_booking(booking, new_start)
    db.session.commit()
    grace_passed()
    send_due()
    bookings.cancel_booking(booking, "都合が悪くなりました")
    db.session.commit()
    send_due()
    confirm, update, cancel = received(smtp_server, CUSTOMER)
    assert update["Subject"] == "「製品デモ」の日時が変更されました"
    assert cancel["Subject"] == "「製品デモ」の予約がキャンセルされました"
    uid = booking_uid(booking.id, "apo.example")
    sequences = []
    for message, method in ((confirm, "REQUEST"), (update, "REQUEST"), (cancel, "CANCEL")):
        calendar, event, vevent = event_of(message)
        assert str(event["UID"]) == uid == vevent.vevent.uid.value
        assert str(calendar["METHOD"]) == method == vevent.method.value
        sequences.append(int(event["SEQUENCE"]))
    assert sequences == [0, 1, 2]
    _c, moved, vmoved = event_of(update)
    assert moved.decoded("DTSTART").astimezone(TOKYO) == new_start.astimezone(TOKYO)
    assert vmoved.vevent.dtstart.value.astimezone(NEW_YORK) == new_start.astimezone(NEW_YORK)
    _c, cancelled, _v = event_of(cancel)
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert "都合が悪くなりました" in body(cancel)
    # The same people hear of the cancel: attendee and members too (N3).
    assert len(received(smtp_server, ATTENDEE)) == 3
    for member in booking.members:
        assert [m["Subject"][:6] for m in received(smtp_server, member.email)] == [
            "新しい予約:", "予約の日時変", "予約のキャン"]


def test_N4_default_reminder_is_24_hours_before_and_sent_when_due(page, smtp_server):
    booking = book(page)
    [reminder] = outbox(kind="reminder")
    assert reminder.send_after == booking.start_at - timedelta(hours=24)
    assert reminder.recipient_email == CUSTOMER
    assert reminder.id not in [r.id for r in send_due()]  # not due yet
    reminder.send_after = datetime.now(UTC) - timedelta(seconds=1)  # time passes
    db.session.commit()
    send_due()
    [message] = [m for m in received(smtp_server, CUSTOMER)
                 if m["Subject"].startswith("【リマインダー】")]
    assert "製品デモ" in message["Subject"]
    _calendar, event, _v = event_of(message)
    assert str(event["UID"]) == booking_uid(booking.id, "apo.example")


def test_N4_page_sets_several_reminders_or_none(page, smtp_server):
    mail_plan.set_reminder_minutes(page.id, [60, 24 * 60, 60])
    db.session.commit()
    book(page)
    assert sorted(r.reminder_minutes for r in outbox(kind="reminder")) == [60, 1440]
    mail_plan.set_reminder_minutes(page.id, [])
    db.session.commit()
    assert mail_plan.reminder_minutes(page.id) == []


@pytest.mark.parametrize("change", ["reschedule", "cancel"])
def test_N4_moved_or_cancelled_booking_never_gets_a_stale_reminder(page, smtp_server, change):
    booking = book(page)
    send_due()
    [stale] = outbox(kind="reminder")
    if change == "reschedule":
        new_start = next(s.start for s in bookings.available_slots(
            page, exclude_booking_id=booking.id) if s.start > booking.start_at + timedelta(days=1))
        bookings.reschedule_booking(booking, new_start)
    else:
        bookings.cancel_booking(booking)
    db.session.commit()
    db.session.refresh(stale)
    assert stale.status == MessageStatus.SKIPPED.value
    # Even a reminder that escaped that (its job already queued) is checked at send time.
    stale.status, stale.send_after = MessageStatus.PENDING.value, datetime.now(UTC)
    db.session.commit()
    before = len(smtp_server.messages)
    from webapp.jobs import mail as mail_jobs

    mail_jobs.send_message(stale.id)
    db.session.refresh(stale)
    assert stale.status == MessageStatus.SKIPPED.value
    assert stale.last_error == ("booking moved" if change == "reschedule" else "booking cancelled")
    assert not [m for m in smtp_server.messages[before:]
                if "リマインダー" in str(m.parsed()["Subject"])]
    fresh = [r for r in outbox(kind="reminder") if r.status == MessageStatus.PENDING.value]
    assert len(fresh) == (1 if change == "reschedule" else 0)
    if fresh:
        assert fresh[0].send_after == booking.start_at - timedelta(hours=24)


def test_N5_header_injection_is_refused_and_nothing_is_sent(page, smtp_server):
    book(page, name="山田\r\nBcc: victim@example.net")
    rows = send_due()
    customer = next(r for r in rows if r.recipient_email == CUSTOMER)
    assert customer.status == MessageStatus.FAILED.value
    assert "line break" in customer.last_error
    assert all("victim@example.net" not in m.rcpt_tos for m in smtp_server.messages)
    assert all(b"victim@example.net" not in m.raw for m in smtp_server.messages)


def test_N5_page_title_with_line_break_cannot_add_headers(page, smtp_server):
    page.title = "デモ\nBcc: victim@example.net"
    db.session.commit()
    book(page)
    rows = send_due()
    assert {r.status for r in rows} == {MessageStatus.FAILED.value}
    assert smtp_server.messages == []


def test_F3_duplicate_addresses_get_one_message(page, smtp_server):
    start = next(s.start for s in bookings.available_slots(page)
                 if s.start > datetime.now(UTC) + timedelta(days=3))
    details = CustomerDetails(email=CUSTOMER, name="山田", attendees=[
        {"name": "me again", "email": CUSTOMER}])
    bookings.create_booking(page, start, details)
    db.session.commit()
    assert [r.recipient_role for r in outbox(kind="confirmation",
                                             recipient_email=CUSTOMER)] == ["customer"]


def test_N3_a_member_taken_off_a_moved_booking_gets_a_cancellation(page, smtp_server):
    from webapp.models import MessageKind

    booking = book(page)
    send_due()
    leaving, staying = booking.members
    booking.booking_members.remove(booking.booking_members[0])  # round robin picked again (O5)
    db.session.flush()
    assert booking.members == [staying]
    mail_plan.record_booking_change(booking, MessageKind.UPDATE, (leaving.id, staying.id))
    db.session.commit()
    send_due()  # the leaving member's cancellation goes at once; the update after its grace
    grace_passed()
    send_due()
    assert [m["Subject"] for m in received(smtp_server, leaving.email)][-1] == \
        "予約のキャンセル: 山田 太郎 様(製品デモ)"
    assert [m["Subject"] for m in received(smtp_server, staying.email)][-1] == \
        "予約の日時変更: 山田 太郎 様(製品デモ)"


def test_N5_a_burst_of_reschedules_sends_one_update_the_last(page, smtp_server):
    booking = book(page)
    send_due()
    later = [s.start for s in bookings.available_slots(page, exclude_booking_id=booking.id)
             if s.start > booking.start_at + timedelta(days=1)]
    for start in later[:3]:  # three moves within the grace: customer, attendee, members
        bookings.reschedule_booking(booking, start)
        db.session.commit()
        assert send_due() == []  # nothing goes out yet
    grace_passed()
    send_due()
    updates = received(smtp_server, CUSTOMER)[1:]
    assert len(updates) == 1
    _, event, _ = event_of(updates[0])
    assert event.decoded("DTSTART") == later[2]  # the last time, not the first
    superseded = [r for r in outbox(kind="update", recipient_email=CUSTOMER)
                  if r.status == MessageStatus.SKIPPED.value]
    assert len(superseded) == 2 and {r.last_error for r in superseded} == {"superseded"}


def test_N5_one_address_named_as_attendee_on_many_bookings_gets_a_few_invitations(
        page, smtp_server):
    for day in range(3, 3 + mail_plan.ATTENDEE_DAILY_LIMIT + 2):
        book(page, days=day)
    send_due()
    assert len(received(smtp_server, ATTENDEE)) == mail_plan.ATTENDEE_DAILY_LIMIT
    held = outbox(recipient_email=ATTENDEE, status=MessageStatus.SKIPPED.value)
    assert len(held) == 2 and all(r.last_error == mail_plan.LIMIT_REASON for r in held)
