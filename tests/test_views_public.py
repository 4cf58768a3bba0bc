"""Public booking views: page, form, validation, outbox, race, private link.

Rules: O4, O5, F1-F5, S1, S2.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from datetime import timedelta

import pytest
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from tests.factories import bookable_slots, make_public_page
from webapp import create_app, jobs
from webapp.extensions import db
from webapp.models import Booking, BookingMember, BusySlot, OutboxMessage, SyncRecord
from webapp.services import bookings
from webapp.services.slots import format_start

TAKEN = "選択された日時は直前に埋まりました。別の日時を選んでください。"


@pytest.fixture
def page(app):
    """A published team page with one custom field of each type (F2)."""
    created = make_public_page(buffer_minutes=10)
    db.session.commit()
    return created


def counts() -> tuple[int, int, int, int]:
    db.session.expire_all()
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Booking, BookingMember, BusySlot, SyncRecord)
    )


def field_id(page, label: str) -> str:
    return "field_" + str(next(f.id for f in page.fields if f.label == label))


def first_start(page) -> str:
    return format_start(bookable_slots(page)[0].start)


def form_data(page, start: str | None = None, **overrides) -> dict:
    data = {
        "start": start or first_start(page), "tz": "Asia/Tokyo",
        "name": "山田 太郎", "company": "山田商事", "email": "taro@example.com",
        field_id(page, "部署名"): "営業部",
        field_id(page, "ご相談内容"): "導入について相談したいです。",
        field_id(page, "ご希望の連絡手段"): "電話",
        field_id(page, "ご興味のある機能"): ["日程調整", "CRM連携"],
        field_id(page, "従業員規模"): "11-50名",
        field_id(page, "導入希望日"): "2026-12-01",
        "attendees-0-name": "佐々木 次郎", "attendees-0-email": "jiro@example.com",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def post_booking(client, page, data):
    return client.post_form(f"/p/{page.slug}/book", data, token_from=f"/p/{page.slug}")


def test_O4_unknown_and_unpublished_pages_answer_404(client, page):
    assert client.get("/p/no-such-page").status_code == 404
    page.is_published = False
    db.session.commit()
    assert client.get(f"/p/{page.slug}").status_code == 404
    assert client.get(f"/p/{page.slug}/book?start={first_start(page)}").status_code == 404


def test_O4_page_lists_slots_by_day_in_the_org_zone(client, page):
    # The first bookable start moves with the clock (minimum notice): read it just before and
    # just after the view, so a quarter-hour passing in between cannot fail the test.
    before = bookable_slots(page)[0].start
    html = client.get(f"/p/{page.slug}").get_data(as_text=True)
    after = bookable_slots(page)[0].start
    assert page.title in html and page.organization.name in html
    assert "時刻は Asia/Tokyo の時間で表示しています。" in html
    zone = __import__("zoneinfo").ZoneInfo("Asia/Tokyo")
    assert any(f">{first.astimezone(zone):%H:%M}</a>" in html and
               f"start={format_start(first)}" in html for first in (before, after))


def test_O4_customer_may_choose_a_display_zone_and_bad_zones_fall_back(client, page):
    html = client.get(f"/p/{page.slug}?tz=America/New_York").get_data(as_text=True)
    assert "時刻は America/New_York の時間で表示しています。" in html
    assert "主催者のタイムゾーンは Asia/Tokyo です。" in html
    html = client.get(f"/p/{page.slug}?tz=../../etc/passwd").get_data(as_text=True)
    assert "時刻は Asia/Tokyo の時間で表示しています。" in html


def test_O4_month_view_marks_bookable_days_and_lists_the_chosen_days_times(client, page):
    slots = bookings.available_slots(page)
    zone = __import__("zoneinfo").ZoneInfo("Asia/Tokyo")
    second_day = sorted({s.start.astimezone(zone).date() for s in slots})[1]
    html = client.get(f"/p/{page.slug}?day={second_day.isoformat()}").get_data(as_text=True)
    assert f'id="day-{second_day.isoformat()}" aria-label=' in html
    chosen = re.findall(r'id="day-([\d-]+)"[^>]*aria-current="true"', html)
    assert chosen == [second_day.isoformat()]  # only the chosen day
    times = [s for s in slots if s.start.astimezone(zone).date() == second_day]
    assert html.count('class="slot"') == len(times)
    assert f"{second_day.month}月{second_day.day}日" in html  # slot names carry the date
    for bad in ("2020-01-01", "nonsense", "2026-13-45"):  # outside or invalid: first day
        assert client.get(f"/p/{page.slug}?day={bad}&month={bad[:7]}").status_code == 200


def test_O4_months_page_through_the_window_only(client, page):
    html = client.get(f"/p/{page.slug}?month=2099-01").get_data(as_text=True)
    assert 'rel="next"' not in html  # clamped to the window's last month
    html = client.get(f"/p/{page.slug}?month=2000-01").get_data(as_text=True)
    assert 'rel="prev"' not in html  # clamped to this month


def test_O4_htmx_gets_only_the_picker_partial(client, page):
    full = client.get(f"/p/{page.slug}")
    partial = client.get(f"/p/{page.slug}", headers={"HX-Request": "true"})
    assert "HX-Request" in partial.headers["Vary"]
    body = partial.get_data(as_text=True)
    assert 'id="picker"' in body
    assert "<html" not in body and "<html" in full.get_data(as_text=True)


def test_F1_F2_form_shows_default_fields_custom_fields_and_attendee_rows(client, page):
    html = client.get(f"/p/{page.slug}/book?start={first_start(page)}").get_data(as_text=True)
    for label in ("氏名", "会社名", "メールアドレス", "同席者", "部署名", "ご相談内容",
                  "ご希望の連絡手段", "ご興味のある機能", "従業員規模", "導入希望日"):
        assert label in html
    assert "流入元" not in html and "website" not in html.split("hp-field")[0]
    assert html.count('name="attendees-') == 6  # three empty rows of name + email
    assert "<legend>ご希望の連絡手段" in html and 'type="date"' in html


def test_F1_split_name_pages_ask_last_and_first_name(client, app):
    split = make_public_page(fields=[], sf_split_name=True)
    db.session.commit()
    html = client.get(f"/p/{split.slug}/book?start={first_start(split)}").get_data(as_text=True)
    assert "氏名(姓)" in html and "氏名(名)" in html and 'name="name"' not in html
    data = {"start": first_start(split), "last_name": "山田", "first_name": "太郎",
            "email": "taro@example.com"}
    response = post_booking(client, split, data)
    assert response.status_code == 302
    booking = db.session.scalar(select(Booking))
    assert (booking.last_name, booking.first_name, booking.name) == ("山田", "太郎", "山田 太郎")


def test_S1_booking_is_stored_with_pending_sync_and_job_is_queued_after_commit(
    client, page, redis_conn, app
):
    response = post_booking(client, page, form_data(page))
    assert response.status_code == 302
    booking = db.session.scalar(select(Booking))
    assert response.location.endswith(f"/b/{booking.token}")
    record = db.session.scalar(select(SyncRecord))
    assert (record.booking_id, record.action, record.status) == (booking.id, "create", "pending")
    assert record.enqueued_at is not None
    queue = Queue(app.config["RQ_QUEUE"], connection=redis_conn, serializer=JSONSerializer)
    # The booking's e-mails share the queue (N5); the one sync job is queued once.
    [job] = [j for j in queue.get_jobs() if j.func_name != "webapp.jobs.mail.send_message"]
    assert job.func_name == "webapp.jobs.sync.run_sync_record" and job.args == [record.id]
    assert job.kwargs == {}
    hidden = next(f for f in page.fields if f.field_type == "hidden")
    assert booking.answers[str(hidden.id)] == "website"  # server-side value, never from the form
    assert booking.attendees == [{"name": "佐々木 次郎", "email": "jiro@example.com"}]
    assert booking.customer_timezone == "Asia/Tokyo"


def test_S2_booking_succeeds_when_redis_is_down(client, page, app):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{closed_port}/0"
    jobs.init_app(app)  # the queue now points at a port nobody listens on
    data = form_data(page)
    began = time.perf_counter()
    response = post_booking(client, page, data)
    elapsed = time.perf_counter() - began
    assert response.status_code == 302
    assert counts()[0] == 1
    record = db.session.scalar(select(SyncRecord))
    assert record.status == "pending" and record.enqueued_at is None
    assert elapsed < 1.5
    html = client.get(response.location).get_data(as_text=True)
    assert "ご予約が確定しました" in html and "Redis" not in html and "Salesforce" not in html


def test_F3_attendees_are_stored_with_the_booking_and_shown_to_the_customer(client, page):
    data = form_data(page, **{"attendees-1-name": "", "attendees-1-email": "Guest@Example.com",
                              "attendees-2-name": "", "attendees-2-email": ""})
    response = post_booking(client, page, data)
    assert response.status_code == 302
    booking = db.session.scalar(select(Booking))
    # Filled rows only, in order; a row with just an email is a valid attendee.
    assert booking.attendees == [{"name": "佐々木 次郎", "email": "jiro@example.com"},
                                 {"name": "", "email": "Guest@Example.com"}]
    html = client.get(response.location).get_data(as_text=True)
    assert "佐々木 次郎" in html and "jiro@example.com" in html and "Guest@Example.com" in html


def test_F4_confirmation_page_shows_time_members_answers_and_private_link(client, page):
    response = post_booking(client, page, form_data(page, tz="America/New_York"))
    html = client.get(response.location).get_data(as_text=True)
    booking = db.session.scalar(select(Booking))
    assert "ご予約が確定しました" in html
    assert "(Asia/Tokyo)" in html and "(America/New_York)" in html
    for member in booking.members:
        assert member.name in html
    assert "導入について相談したいです。" in html and "日程調整、CRM連携" in html
    assert f"/b/{booking.token}" in html and "予約をキャンセルする" in html
    assert client.get("/b/" + "x" * 43).status_code == 404


def test_F5_output_is_escaped(client, page):
    response = post_booking(client, page, form_data(page, name="<script>alert(1)</script>"))
    html = client.get(response.location).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


INVALID = {
    "bad email": ({"email": "not-an-email"}, "メールアドレスの形式が正しくありません。"),
    "missing email": ({"email": ""}, "入力してください。"),
    "missing name": ({"name": ""}, "入力してください。"),
    "missing required textarea": ({"ご相談内容": ""}, "入力してください。"),
    "10,000-character text": ({"部署名": "あ" * 10_000}, "255文字以内で入力してください。"),
    "40,000-character textarea": ({"ご相談内容": "a" * 40_000}, "32000文字以内"),
    "long company": ({"company": "c" * 256}, "255文字以内で入力してください。"),
    "unknown radio choice": ({"ご希望の連絡手段": "FAX"}, "選択肢にない値"),
    "unknown checkbox choice": ({"ご興味のある機能": ["日程調整", "ハック"]}, "選択肢にない値"),
    "unknown dropdown choice": ({"従業員規模": "9999名"}, "選択肢にない値"),
    "invalid date": ({"導入希望日": "2026-02-30"}, "日付の形式が正しくありません。"),
    "attendee bad email": ({"attendees-0-email": "jiro@"},
                           "メールアドレスの形式が正しくありません。"),
    "attendee without email": ({"attendees-0-email": ""},
                               "同席者のメールアドレスを入力してください。"),
    "too many attendees": (
        {f"attendees-{i}-{part}": f"p{i}@example.com" if part == "email" else f"P{i}"
         for i in range(11) for part in ("name", "email")},
        "同席者は10名まで登録できます。"),
}


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_F5_invalid_input_changes_nothing_and_says_why(client, page, case):
    changes, message = INVALID[case]
    overrides = {field_id(page, k) if k in {f.label for f in page.fields} else k: v
                 for k, v in changes.items()}
    response = post_booking(client, page, form_data(page, **overrides))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and 'aria-invalid="true"' in html
    assert 'class="field-errors"' in html
    assert counts() == (0, 0, 0, 0)


def test_F5_filled_honeypot_is_refused(client, page):
    response = post_booking(client, page, form_data(page, website="http://spam.example"))
    assert response.status_code == 422 and "入力内容を確認してください。" in response.text
    assert counts() == (0, 0, 0, 0)


def _busy_start(page) -> str:
    start = bookable_slots(page)[0].start
    bookings.create_booking(page, start, bookings.CustomerDetails(email="x@example.com"))
    db.session.commit()
    return format_start(start)


FORGED = {
    "garbage": lambda page: "tomorrow please",
    "naive": lambda page: first_start(page).rstrip("Z"),
    "unaligned": lambda page: format_start(
        bookable_slots(page)[0].start + timedelta(minutes=7)),
    "past": lambda page: "2020-01-06T00:00:00Z",
    "outside window": lambda page: format_start(
        bookable_slots(page)[0].start + timedelta(days=30)),
    "already booked": _busy_start,
}


@pytest.mark.parametrize("case", FORGED, ids=list(FORGED))
def test_F5_forged_slot_changes_nothing_and_shows_fresh_slots(client, page, case):
    start = FORGED[case](page)
    before = counts()
    response = post_booking(client, page, form_data(page, start=start))
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert 'role="alert"' in html and 'class="slot"' in html
    assert counts() == before
    assert client.get(f"/p/{page.slug}/book?start={start}").status_code == 409


def test_F5_csrf_is_enforced_on_every_public_post(client, page):
    response = post_booking(client, page, form_data(page))
    token = db.session.scalar(select(Booking.token))
    before = counts()
    for path in (f"/p/{page.slug}/book", f"/b/{token}/cancel", f"/b/{token}/reschedule"):
        assert client.post(path, data=form_data(page)).status_code == 400, path
    assert counts() == before
    assert response.status_code == 302


def test_O4_race_two_customers_same_slot_exactly_one_booking(app, page):
    """Both requests pass the availability check before either writes; the database decides."""
    start = first_start(page)
    barrier = threading.Barrier(2, timeout=10)
    waited = threading.local()

    def hold_until_both_checked(session, flush_context, instances):
        # The first flush carrying a new Booking happens after find_slot has said "free".
        if not getattr(waited, "done", False) and any(
                isinstance(obj, Booking) for obj in session.new):
            waited.done = True
            barrier.wait()

    results = [None, None]
    payloads = [form_data(page, start=start, email=f"c{i}@example.com") for i in range(2)]

    def customer(i):
        # Own client, own thread: own cookies, app context and database session. The CSRF
        # token is fetched here because the main thread's app context would share `g`.
        client = app.test_client()
        token = client.csrf_token(f"/p/{page.slug}")
        results[i] = client.post(f"/p/{page.slug}/book", data={**payloads[i], "csrf_token": token})

    event.listen(Session, "before_flush", hold_until_both_checked)
    try:
        threads = [threading.Thread(target=customer, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        event.remove(Session, "before_flush", hold_until_both_checked)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [302, 409]
    loser = next(r for r in results if r.status_code == 409).get_data(as_text=True)
    assert TAKEN in loser and 'class="slot"' in loser
    assert counts()[0] == 1 and counts()[3] == 1


def _booked(client, page):
    response = post_booking(client, page, form_data(page))
    return db.session.scalar(select(Booking)), response


def test_F4_cancel_through_private_link_frees_slot_and_queues_cancel_sync(client, page):
    booking, _ = _booked(client, page)
    path = f"/b/{booking.token}"
    response = client.post_form(f"{path}/cancel", {"reason": "社内都合"}, token_from=path)
    assert response.status_code == 302
    db.session.expire_all()
    assert booking.status == "cancelled" and booking.cancel_reason == "社内都合"
    assert [s.action for s in booking.syncs] == ["create", "cancel"]
    assert counts()[2] == 0
    html = client.get(path).get_data(as_text=True)
    assert "この予約はキャンセルされました" in html and "予約をキャンセルする" not in html
    again = client.post_form(f"{path}/cancel", {}, token_from=f"/p/{page.slug}/book?start="
                             + first_start(page))
    assert again.status_code == 409
    assert "この予約はすでにキャンセルされています。" in again.get_data(as_text=True)
    moved = client.get(f"{path}/reschedule")
    assert moved.status_code == 409
    assert "キャンセルされた予約は日時を変更できません。" in moved.get_data(as_text=True)
    assert len(booking.syncs) == 2


def test_F4_reschedule_through_private_link(client, page):
    booking, _ = _booked(client, page)
    old_start = booking.start_at
    path = f"/b/{booking.token}/reschedule"
    html = client.get(path).get_data(as_text=True)
    links = re.findall(r'class="slot" href="([^"]+)"', html)
    assert links and "現在の日時" in html
    assert f"start={format_start(old_start)}" not in html  # its own time is not offered
    new_start = old_start + timedelta(hours=3)
    confirm = client.get(f"{path}?start={format_start(new_start)}")
    assert confirm.status_code == 200 and "この日時に変更する" in confirm.get_data(as_text=True)
    response = client.post_form(path, {"start": format_start(new_start)},
                                token_from=f"/b/{booking.token}")
    assert response.status_code == 302
    db.session.expire_all()
    assert booking.start_at == new_start
    assert [s.action for s in booking.syncs] == ["create", "reschedule"]
    assert "日時を変更しました" in client.get(response.location).get_data(as_text=True)
    bad = client.post_form(path, {"start": "2020-01-06T00:00:00Z"},
                           token_from=f"/b/{booking.token}")
    assert bad.status_code == 409 and len(booking.syncs) == 2


def test_F5_rate_limit_on_booking_posts(app, page):
    limited = create_app({**{k: app.config[k] for k in (
        "TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "REDIS_URL")},
        "RATELIMIT_ENABLED": True, "RATELIMIT_BOOKING": "2 per minute"})
    limited.test_client_class = type(app.test_client())
    client = limited.test_client()
    path = f"/p/{page.slug}/book"
    statuses = [client.post_form(path, {}, token_from=f"/p/{page.slug}").status_code
                for _ in range(3)]
    assert statuses == [409, 409, 429]  # no slot chosen twice, then the limit
    assert counts() == (0, 0, 0, 0)


def test_S1_S8_a_confirm_commits_once_and_reads_nothing_back(client, page, redis_conn, app):
    """The booking, its sync record, e-mails and calendar writes are stamped and committed in
    one commit; the jobs are queued by the ids the request already holds (services/outbox.py),
    so nothing is read or written after the commit."""
    from sqlalchemy import event

    data = dict(form_data(page), csrf_token=client.csrf_token(f"/p/{page.slug}"))
    log: list[str] = []
    on_statement = lambda *args: log.append(args[2].split()[0].upper())  # noqa: E731
    on_commit = lambda *args: log.append("COMMIT")  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", on_statement)
    event.listen(db.engine, "commit", on_commit)
    try:
        response = client.post(f"/p/{page.slug}/book", data=data)
    finally:
        event.remove(db.engine, "before_cursor_execute", on_statement)
        event.remove(db.engine, "commit", on_commit)
    assert response.status_code == 302
    assert log.count("COMMIT") == 1 and log[-1] == "COMMIT", log
    queue = Queue(app.config["RQ_QUEUE"], connection=redis_conn, serializer=JSONSerializer)
    messages = db.session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.send_after.is_(None))).all()  # reminders wait in RQ's schedule
    assert messages and sorted(j.args[0] for j in queue.get_jobs()
                  if j.func_name == "webapp.jobs.mail.send_message") == sorted(messages)
    assert all(m.enqueued_at is not None for m in db.session.scalars(select(OutboxMessage)))
