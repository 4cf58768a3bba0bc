"""配信ログ (N5): admins see each message's state beside the sync log, scoped to their
organization (O2), and can send a failed or unknown message again (CSRF-protected)."""

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from tests.factories import make_booking, make_member, make_org, make_page
from webapp.extensions import db
from webapp.jobs import mail as mail_jobs
from webapp.models import MessageKind, MessageStatus, OutboxMessage
from webapp.services.notifications import plan as mail_plan


@pytest.fixture
def messages(org):
    member = make_member(org, name="佐藤 一郎")
    page = make_page(org, [member], title="製品デモ")
    booking = make_booking(page, [member], email="taro@example.com", name="山田 太郎")
    rows = mail_plan.record_booking_change(booking, MessageKind.CONFIRMATION)
    db.session.commit()
    return rows


def test_N5_delivery_log_lists_each_message_with_its_state(admin_client, messages):
    messages[0].status, messages[0].last_error = MessageStatus.FAILED.value, "550 no such user"
    messages[1].status = MessageStatus.UNKNOWN.value
    db.session.commit()
    html = admin_client.get("/admin/mail").get_data(as_text=True)
    assert "配信ログ" in html and "taro@example.com" in html
    assert "550 no such user" in html and "不明(届いた可能性あり)" in html
    assert html.count("再送信") == 2
    failed = admin_client.get("/admin/mail?status=failed").get_data(as_text=True)
    assert "taro@example.com" in failed and f'id="message-{messages[1].id}"' not in failed
    english = admin_client.get("/admin/mail?lang=en").get_data(as_text=True)
    assert "Delivery log" in english and "配信ログ" not in english


def test_N5_resend_requeues_a_failed_message(admin_client, app, messages, redis_conn):
    row = messages[0]
    row.status, row.attempts = MessageStatus.FAILED.value, 4
    db.session.commit()
    response = admin_client.post_form(f"/admin/mail/{row.id}/resend", {}, token_from="/admin/mail")
    assert response.status_code == 302
    db.session.refresh(row)
    assert row.status == MessageStatus.PENDING.value and row.attempts == 0
    queue = Queue(app.config["RQ_QUEUE"], connection=redis_conn, serializer=JSONSerializer)
    assert [queue.fetch_job(j).args for j in queue.get_job_ids()
            if queue.fetch_job(j).func_name == mail_jobs.JOB] == [[row.id]]


def test_N5_resend_needs_csrf_and_a_resendable_state(admin_client, messages):
    row = messages[0]
    assert admin_client.post(f"/admin/mail/{row.id}/resend").status_code == 400
    response = admin_client.post_form(f"/admin/mail/{row.id}/resend", {}, token_from="/admin/mail")
    assert response.status_code == 409  # pending: nothing to resend
    assert db.session.get(OutboxMessage, row.id).status == MessageStatus.PENDING.value


def test_O2_another_organizations_messages_are_404(admin_client, messages):
    other = make_org("他社")
    member = make_member(other)
    booking = make_booking(make_page(other, [member]), [member], email="x@example.com")
    theirs = mail_plan.record_booking_change(booking, MessageKind.CONFIRMATION)[0]
    theirs.status = MessageStatus.FAILED.value
    db.session.commit()
    assert admin_client.get(f"/admin/mail/{theirs.id}/row").status_code == 404
    response = admin_client.post_form(f"/admin/mail/{theirs.id}/resend", {},
                                      token_from="/admin/mail")
    assert response.status_code == 404
    assert "x@example.com" not in admin_client.get("/admin/mail").get_data(as_text=True)
    assert db.session.get(OutboxMessage, theirs.id).status == MessageStatus.FAILED.value


def test_N4_admin_sets_a_pages_reminders(admin_client, org):
    page = make_page(org, [make_member(org)])
    db.session.commit()
    path = f"/admin/pages/{page.id}/reminders"
    assert 'value="24"' in admin_client.get(path).get_data(as_text=True)  # the default
    response = admin_client.post_form(path, {"hours": "24, 1, 0.5"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "HX-Trigger" in response.headers
    assert mail_plan.reminder_minutes(page.id) == [30, 60, 1440]
    bad = admin_client.post_form(path, {"hours": "abc"})
    assert bad.status_code == 422 and "カンマ区切り" in bad.get_data(as_text=True)
    assert mail_plan.reminder_minutes(page.id) == [30, 60, 1440]  # unchanged
    admin_client.post_form(path, {"hours": ""})
    assert mail_plan.reminder_minutes(page.id) == []
    other = make_page(make_org("他社"), [])
    db.session.commit()
    assert admin_client.get(f"/admin/pages/{other.id}/reminders").status_code == 404
