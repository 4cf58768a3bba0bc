"""The outbox under faults, with real `worker.py` processes, a real Redis, Radicale and the mail
catcher (K4, K9, N5, S1): a calendar server down while customers book, a mail server down and
then refusing with 451, and workers killed while bookings move and are cancelled.

Each ends with nothing lost and nothing done twice. Short retry, lease and sweep intervals come
in through the environment (APO_CALENDAR_WRITE_*, APO_MAIL_*, APO_SYNC_SWEEP_*), so that a
scenario's minutes take seconds; the bounds asserted are those intervals' consequences.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from mail_catcher import MailCatcher
from tests.factories import ALWAYS_WORKING, commit_and_enqueue, make_member, make_org, make_page
from tests.test_jobs_sync_faults import Workers, wait_for
from webapp.extensions import db
from webapp.jobs.calendars import options
from webapp.models import Booking, CalendarWrite, OutboxMessage, utcnow
from webapp.services import bookings
from webapp.services.bookings import CustomerDetails
from webapp.services.calendars import connections

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


class Gate:
    """A TCP port in front of a server that can be shut: refused connections, as when the
    server is down, and open again on the same port."""

    def __init__(self, target: tuple[str, int]):
        self.target, self.links, self.listener = target, [], None
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.open()

    @property
    def origin(self) -> str:
        return f"127.0.0.1:{self.port}"

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def shut(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close alone won't
            listener.close()
        for link in self.links:
            link.close()
        self.links = []

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            self.links += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def gate(radicale):
    parts = urlsplit(radicale.url)
    opened = Gate((parts.hostname, parts.port))
    yield opened
    opened.shut()


@pytest.fixture
def calendar_app(caldav_app, gate):
    key = Fernet.generate_key().decode()
    caldav_app.config.update(CALDAV_TEST_HOSTS=(*caldav_app.config["CALDAV_TEST_HOSTS"],
                                                gate.origin), APO_ENCRYPTION_KEYS=(key,))
    return caldav_app


@pytest.fixture
def workers(calendar_app, redis_conn, tmp_path):
    config = calendar_app.config
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": config["REDIS_URL"],
        "SECRET_KEY": "test-secret-key", "APO_ENCRYPTION_KEYS": config["APO_ENCRYPTION_KEYS"][0],
        "APO_CALDAV_TEST_HOSTS": ",".join(config["CALDAV_TEST_HOSTS"]),
        "APO_UID_DOMAIN": "apo.test", "APO_BASE_URL": "http://127.0.0.1",
        "APO_CALENDAR_TIMEOUT": "2", "APO_CALENDAR_POLL_INTERVAL": "1",
        "APO_CALENDAR_WRITE_RETRY_INTERVALS": "0.5,1,2", "APO_CALENDAR_WRITE_LEASE_SECONDS": "6",
        "APO_CALENDAR_WRITE_STALE_SECONDS": "2",
        "APO_MAIL_RETRY_INTERVALS": "1,1,2,2,2,2,2,2,2,2", "APO_MAIL_LEASE_SECONDS": "10",
        "APO_MAIL_SWEEP_STALE_SECONDS": "2",
        "APO_SYNC_SWEEP_INTERVAL": "0.5", "APO_SYNC_SWEEP_STALE_SECONDS": "2",
        "APO_RQ_JOB_TIMEOUT": "30", "APO_RQ_MAINTENANCE_INTERVAL": "2",
    })
    group = Workers(env, tmp_path)
    yield group
    group.kill_all()


@pytest.fixture
def calendar_page(calendar_app, radicale, gate):
    """A page of two members whose receiving calendars are on Radicale, behind the gate."""
    org = make_org()
    members = [make_member(org, working_hours=ALWAYS_WORKING) for _ in range(2)]
    page = make_page(org, members=members, fields=[], duration_minutes=30, window_days=30)
    db.session.commit()
    accounts = []
    for member in members:
        user = f"fault{secrets.token_hex(4)}"
        radicale.add_user(user, f"pw-{user}")
        calendar = radicale.make_calendar(user, "work", "仕事")
        connections.connect_caldav(member, f"http://{gate.origin}/", user, f"pw-{user}",
                                   options())
        accounts.append((user, calendar))
    db.session.commit()
    page.accounts = accounts
    return page


def slots(page, count: int):
    now = utcnow()
    found = bookings.available_slots(page, now, now + timedelta(days=2), now + timedelta(days=20))
    return [slot.start for slot in found[::3][:count]]


def book(page, start, email: str) -> int:
    booking, _ = bookings.create_booking(page, start, CustomerDetails(email=email, name="顧客"))
    commit_and_enqueue()
    return booking.id


def events_on(radicale, page) -> list[list[str]]:
    return [sorted(radicale.list_hrefs(user, calendar)) for user, calendar in page.accounts]


def writes() -> list[CalendarWrite]:
    db.session.rollback()
    db.session.expire_all()
    found = list(db.session.scalars(select(CalendarWrite).order_by(CalendarWrite.id)))
    db.session.rollback()
    return found


def expected_events(page) -> list[list[str]]:
    """Each member's calendar as the bookings say it should be: one event per live booking."""
    db.session.rollback()
    db.session.expire_all()
    live = db.session.scalars(select(Booking).where(Booking.page_id == page.id)).all()
    return [sorted(f"apo-booking-{b.id}%40apo.test.ics" for b in live
                   if not b.is_cancelled and any(bm.member_id == member.id
                                                 for bm in b.booking_members))
            for member in page.members]


def test_K4_K9_calendar_server_down_while_customers_book_loses_no_event(
        calendar_page, gate, radicale, workers):
    gate.shut()
    ids = [book(calendar_page, start, f"down{i}@example.com")
           for i, start in enumerate(slots(calendar_page, 4))]
    workers.start()
    # Every write is tried and fails; for a while it retries, or waits once the calendar
    # poll has marked the connection broken (K9). None ends as skipped or failed.
    wait_for(lambda: all(w.attempts >= 1 for w in writes()), 30, "every write tried")
    time.sleep(4)
    assert {w.status for w in writes()} <= {"pending", "running", "waiting"}
    gate.open()
    back = time.monotonic()
    wait_for(lambda: {w.status for w in writes()} == {"done"}, 60, "every write done")
    assert time.monotonic() - back < 60  # within a minute of the server's return
    assert events_on(radicale, calendar_page) == expected_events(calendar_page)
    # A team booking has both members attending: one event in each calendar, none twice.
    assert sum(len(e) for e in events_on(radicale, calendar_page)) == 2 * len(ids)


def test_N5_mail_server_down_then_451_sends_each_message_once_soon_after(
        calendar_app, calendar_page, workers):
    with MailCatcher() as probe:
        port = probe.port
    calendar_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    workers.env.update({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port)})
    emails = [f"mail{i}@example.com" for i in range(5)]
    for email, start in zip(emails, slots(calendar_page, 5), strict=True):
        book(calendar_page, start, email)
    workers.start()
    time.sleep(4)  # the server is down: every first try fails
    with MailCatcher(port=port) as catcher:
        catcher.fail_next = 6  # then it refuses with 451 for a while
        back = time.monotonic()

        def all_sent():
            db.session.rollback()
            db.session.expire_all()
            rows = db.session.scalars(select(OutboxMessage).where(
                OutboxMessage.kind == "confirmation")).all()
            db.session.rollback()
            return rows and all(r.status == "sent" for r in rows) and rows
        rows = wait_for(all_sent, 60, "every confirmation sent")
        assert time.monotonic() - back < 60
        for email in emails:  # exactly one confirmation per customer: nothing sent twice
            assert len([m for m in catcher.messages if email in m.rcpt_tos]) == 1, email
        assert max(r.attempts for r in rows) >= 2


def test_K4_workers_killed_during_reschedules_and_cancels_converge(
        calendar_page, radicale, workers):
    starts = slots(calendar_page, 10)
    ids = [book(calendar_page, start, f"move{i}@example.com") for i, start in
           enumerate(starts[:4])]
    workers.start(2)
    for round_, booking_id in enumerate(ids):
        booking = db.session.get(Booking, booking_id)
        if round_ % 2:
            bookings.cancel_booking(booking)
        else:
            bookings.reschedule_booking(booking, starts[4 + round_])
        commit_and_enqueue()
        time.sleep(0.3)
        workers.kill(workers.procs[-1 - round_ % 2])
        workers.start()
    killed = time.monotonic()
    wait_for(lambda: events_on(radicale, calendar_page) == expected_events(calendar_page)
             and not {w.status for w in writes()} & {"pending", "running"}, 120,
             "the calendars to match the bookings")
    assert time.monotonic() - killed < 180
    assert {w.status for w in writes()} <= {"done", "skipped"}
