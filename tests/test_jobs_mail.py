"""The send state machine against a real SMTP server and a real Redis (N5, N6).

At most once per booking, kind, sequence and recipient: a job that runs twice sends once; a
crash between send and mark never resends by itself; a lost reply after the data is `unknown`;
temporary failures retry with backoff; the booking never waits on the mail server.
"""

from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from tests.factories import bookable_slots, commit_and_enqueue, make_public_page
from tests.fixtures_mail import outbox, received, send_due
from webapp.extensions import db
from webapp.integrations import mail
from webapp.jobs import mail as mail_jobs
from webapp.models import MessageStatus, OutboxMessage, utcnow
from webapp.services import bookings
from webapp.services.bookings import CustomerDetails
from webapp.services.notifications import NotificationSettings, delivery

CUSTOMER = "taro@example.com"


@pytest.fixture
def booking(app):
    page = make_public_page(fields=[], members=1, window_days=30)
    db.session.commit()
    start = next(s.start for s in bookings.available_slots(page)
                 if s.start > datetime.now(UTC) + timedelta(days=3))
    created, _record = bookings.create_booking(page, start, CustomerDetails(
        email=CUSTOMER, name="山田 太郎"))
    db.session.commit()
    return created


def customer_row() -> OutboxMessage:
    return outbox(kind="confirmation", recipient_email=CUSTOMER)[0]


def test_N5_a_job_that_runs_twice_sends_once(booking, smtp_server):
    row_id = customer_row().id
    mail_jobs.send_message(row_id)
    mail_jobs.send_message(row_id)  # duplicate enqueue, RQ retry, the sweeper...
    db.session.expire_all()
    assert db.session.get(OutboxMessage, row_id).status == MessageStatus.SENT.value
    assert len(received(smtp_server, CUSTOMER)) == 1
    assert db.session.get(OutboxMessage, row_id).attempts == 1


def test_N5_a_claimed_message_is_not_sent_by_a_second_worker(booking, smtp_server):
    row = customer_row()
    row.status, row.lease_until = MessageStatus.SENDING.value, utcnow() + timedelta(minutes=2)
    db.session.commit()
    mail_jobs.send_message(row.id)
    assert received(smtp_server, CUSTOMER) == []


def test_N5_crash_between_send_and_mark_is_unknown_and_never_resent(booking, smtp_server):
    row = customer_row()
    # A worker claimed it, maybe sent it, and died before marking it.
    row.status, row.attempts = MessageStatus.SENDING.value, 1
    row.lease_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    mail_jobs.requeue_messages()  # the sweeper
    db.session.refresh(row)
    assert row.status == MessageStatus.UNKNOWN.value
    assert "may have been delivered" in row.last_error
    for _ in range(2):
        mail_jobs.requeue_messages()
        mail_jobs.send_message(row.id)
    assert received(smtp_server, CUSTOMER) == []
    # An admin decides to send it again (delivery log): then it goes out, once.
    delivery.resend(row)
    db.session.commit()
    mail_jobs.send_message(row.id)
    db.session.refresh(row)
    assert row.status == MessageStatus.SENT.value
    assert len(received(smtp_server, CUSTOMER)) == 1


def test_N5_lost_reply_after_the_data_is_unknown_not_retried(booking, smtp_server):
    smtp_server.drop_next = 1  # the server keeps the message but hangs up before answering
    row_id = customer_row().id
    mail_jobs.send_message(row_id)
    row = db.session.get(OutboxMessage, row_id)
    db.session.refresh(row)
    assert row.status == MessageStatus.UNKNOWN.value
    mail_jobs.requeue_messages()
    mail_jobs.send_message(row_id)
    assert len(received(smtp_server, CUSTOMER)) == 1  # it did arrive, exactly once


def test_N5_temporary_failure_is_retried_with_backoff(booking, smtp_server, redis_conn):
    smtp_server.fail_next = 1  # 451
    row_id = customer_row().id
    mail_jobs.send_message(row_id)
    row = db.session.get(OutboxMessage, row_id)
    db.session.refresh(row)
    assert row.status == MessageStatus.PENDING.value and "451" in row.last_error
    assert timedelta(seconds=55) < row.send_after - utcnow() <= timedelta(seconds=60)
    queue = Queue("apo-sync", connection=redis_conn, serializer=JSONSerializer)
    assert any(queue.fetch_job(j).args == [row_id]
               for j in queue.scheduled_job_registry.get_job_ids())
    mail_jobs.send_message(row_id)  # too early: not claimed
    assert received(smtp_server, CUSTOMER) == []
    row.send_after = utcnow() - timedelta(seconds=1)
    db.session.commit()
    mail_jobs.send_message(row_id)
    db.session.refresh(row)
    assert row.status == MessageStatus.SENT.value and row.attempts == 2
    assert len(received(smtp_server, CUSTOMER)) == 1


def test_N5_retries_end_in_failed_with_the_reason(booking, smtp_server):
    smtp_server.fail_next = 10
    row_id = customer_row().id
    for _ in range(3):  # the first try and one per interval (60, 300)
        row = db.session.get(OutboxMessage, row_id)
        row.send_after = utcnow() - timedelta(seconds=1)
        db.session.commit()
        mail_jobs.send_message(row_id)
        db.session.expire_all()
    row = db.session.get(OutboxMessage, row_id)
    assert row.status == MessageStatus.FAILED.value and row.attempts == 3
    assert "451" in row.last_error


def test_N5_mail_server_down_is_temporary(booking, app):
    from scripts.services import free_port

    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    row_id = customer_row().id
    mail_jobs.send_message(row_id)
    row = db.session.get(OutboxMessage, row_id)
    db.session.refresh(row)
    assert row.status == MessageStatus.PENDING.value
    assert "cannot reach" in row.last_error


def test_N5_booking_view_writes_the_outbox_and_queues_after_commit(app, client, redis_conn):
    page = make_public_page(fields=[], members=1)
    db.session.commit()
    start = bookable_slots(page)[0].start
    response = client.post_form(
        f"/p/{page.slug}/book", {"start": start.strftime("%Y-%m-%dT%H:%MZ"), "email": CUSTOMER,
                                 "name": "山田 太郎", "company": "", "tz": "Asia/Tokyo"},
        token_from=f"/p/{page.slug}")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    rows = outbox()
    assert {r.kind for r in rows} == {"confirmation"}
    assert all(r.enqueued_at is not None for r in rows)
    queue = Queue(app.config["RQ_QUEUE"], connection=redis_conn, serializer=JSONSerializer)
    queued = {queue.fetch_job(j).args[0] for j in queue.get_job_ids()
              if queue.fetch_job(j).func_name == mail_jobs.JOB}
    assert queued == {r.id for r in rows}


def test_N5_queue_down_leaves_messages_to_the_sweeper(app, smtp_server):
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    page = make_public_page(fields=[], members=1, window_days=30)
    db.session.commit()
    start = next(s.start for s in bookings.available_slots(page)
                 if s.start > datetime.now(UTC) + timedelta(days=3))
    bookings.create_booking(page, start, CustomerDetails(email=CUSTOMER, name="山田 太郎"))
    good = app.extensions["rq_queue"].connection
    app.extensions["rq_queue"].connection = Redis(host="127.0.0.1", port=1,
                                                 socket_connect_timeout=0.2,
                                                 retry=Retry(NoBackoff(), 0))
    try:
        assert commit_and_enqueue() == 0
    finally:
        app.extensions["rq_queue"].connection = good
    # The booking stands; its stamps were taken back, so the sweeper's next round queues all.
    db.session.expire_all()
    assert all(r.enqueued_at is None for r in outbox(kind="confirmation"))
    assert mail_jobs.requeue_messages() == len(outbox(kind="confirmation"))


def test_N5_not_configured_is_failed_and_visible(booking, app):
    app.config["MAIL_SERVER"] = None
    row_id = customer_row().id
    mail_jobs.send_message(row_id)
    row = db.session.get(OutboxMessage, row_id)
    db.session.refresh(row)
    assert row.status == MessageStatus.FAILED.value and "MAIL_SERVER" in row.last_error


def test_N6_mail_settings_come_from_the_environment():
    from webapp.config import from_environ

    config = from_environ({"MAIL_SERVER": "smtp.example.jp", "MAIL_PORT": "587",
                           "MAIL_TLS": "starttls", "MAIL_USERNAME": "apo",
                           "MAIL_PASSWORD": "s3cret", "MAIL_SENDER": "Apo <no@example.jp>",
                           "APO_MAIL_RETRY_INTERVALS": "10,20"})
    settings = NotificationSettings.from_config({**config, "BASE_URL": "https://apo.example.jp"})
    assert settings.smtp == mail.SmtpSettings("smtp.example.jp", 587, "starttls", "apo",
                                              "s3cret", 10.0)
    assert settings.sender == "Apo <no@example.jp>"
    assert settings.uid_domain == "apo.example.jp"
    assert settings.retry_intervals == (10.0, 20.0)
    assert "s3cret" not in repr(settings)


def test_N6_smtp_auth_is_used_and_a_wrong_password_is_permanent(booking, app):
    from mail_catcher import MailCatcher

    with MailCatcher(credentials=("apo", "right")) as server:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_USERNAME="apo",
                          MAIL_PASSWORD="wrong")
        first, second = [r.id for r in outbox(kind="confirmation")][:2]
        mail_jobs.send_message(first)
        db.session.expire_all()
        assert db.session.get(OutboxMessage, first).status == MessageStatus.FAILED.value
        assert "authentication failed" in db.session.get(OutboxMessage, first).last_error
        app.config["MAIL_PASSWORD"] = "right"
        mail_jobs.send_message(second)
        db.session.expire_all()
        assert db.session.get(OutboxMessage, second).status == MessageStatus.SENT.value
        assert len(server.messages) == 1


def test_N6_starttls_is_required_when_configured(booking, app, smtp_server):
    app.config["MAIL_TLS"] = "starttls"  # the catcher offers no STARTTLS: never send in clear
    row_id = customer_row().id
    mail_jobs.send_message(row_id)
    db.session.expire_all()
    row = db.session.get(OutboxMessage, row_id)
    assert row.status == MessageStatus.FAILED.value and "STARTTLS" in row.last_error
    assert smtp_server.messages == []


def test_N1_N2_customer_and_member_messages_all_go_out(booking, smtp_server):
    assert {r.status for r in send_due()} == {MessageStatus.SENT.value}


def _self_signed(tmp_path):
    """A certificate for 127.0.0.1 and its key, as files (the CA the client is told to trust)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            # Back-dated: under `make test-dates` our clock is shifted ahead of OpenSSL's real one.
            .not_valid_before(now - timedelta(days=400)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def test_N6_starttls_with_a_verified_certificate_then_auth(booking, app, tmp_path):
    import ssl

    from mail_catcher import MailCatcher

    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with MailCatcher(tls_context=context) as server:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_TLS="starttls",
                          MAIL_TIMEOUT=5)
        first, second = [r.id for r in outbox(kind="confirmation")][:2]
        mail_jobs.send_message(first)  # the system CAs do not know this certificate
        db.session.expire_all()
        assert db.session.get(OutboxMessage, first).status == MessageStatus.PENDING.value
        assert server.messages == []
        app.config["MAIL_CA_FILE"] = cert
        mail_jobs.send_message(second)
        db.session.expire_all()
        assert db.session.get(OutboxMessage, second).status == MessageStatus.SENT.value
        assert len(server.messages) == 1


def test_N5_four_workers_racing_for_one_message_send_it_once(booking, app, smtp_server):
    import threading

    row_id = customer_row().id
    db.session.commit()
    barrier, errors = threading.Barrier(4), []

    def worker():
        try:
            with app.app_context():
                barrier.wait()
                mail_jobs.send_message(row_id)
                db.session.remove()
        except Exception as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(received(smtp_server, CUSTOMER)) == 1
    db.session.expire_all()
    assert db.session.get(OutboxMessage, row_id).attempts == 1


def test_N4_reminders_are_scheduled_in_rq_at_their_time(app, redis_conn, smtp_server):
    page = make_public_page(fields=[], members=1, window_days=30)
    db.session.commit()
    start = next(s.start for s in bookings.available_slots(page)
                 if s.start > datetime.now(UTC) + timedelta(days=3))
    bookings.create_booking(page, start, CustomerDetails(email=CUSTOMER))
    commit_and_enqueue()
    [reminder] = outbox(kind="reminder")
    queue = Queue(app.config["RQ_QUEUE"], connection=redis_conn, serializer=JSONSerializer)
    registry = queue.scheduled_job_registry
    [job_id] = [j for j in registry.get_job_ids() if queue.fetch_job(j).args == [reminder.id]]
    assert registry.get_scheduled_time(job_id) == reminder.send_after.replace(microsecond=0)
    db.session.refresh(reminder)
    assert reminder.enqueued_at == reminder.send_after  # the sweeper leaves it to RQ till then
    assert reminder.id not in mail_jobs_due_now()


def mail_jobs_due_now() -> list[int]:
    from webapp.jobs.mail import policy

    return delivery.due_ids(policy())


def test_N6_a_typo_in_mail_tls_stops_the_app_at_startup(tmp_path):
    from webapp import create_app

    with pytest.raises(ValueError, match="MAIL_TLS"):
        NotificationSettings.from_config({"MAIL_TLS": "tls"})
    with pytest.raises(ValueError, match="MAIL_TLS"):
        create_app({"TESTING": True, "MAIL_TLS": "TLS1.2", "APO_ENCRYPTION_KEYS": None,
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})


def test_N5_a_message_that_cannot_be_built_is_failed_not_unknown(booking, smtp_server):
    booking.customer_timezone = "Mars/Olympus_Mons"
    db.session.commit()
    row_id = customer_row().id
    mail_jobs.send_message(row_id)
    db.session.expire_all()
    row = db.session.get(OutboxMessage, row_id)
    assert row.status == MessageStatus.FAILED.value and "cannot build" in row.last_error
    assert smtp_server.messages == []
