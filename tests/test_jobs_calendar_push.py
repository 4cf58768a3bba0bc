"""Busy times by push (K8): Google watch channels and Graph subscriptions against the emulators,
which deliver to Apo's hooks on a live server; a notification schedules that calendar's sync,
and only a known channel with its own secret is believed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import select

from tests.test_jobs_sync_faults import wait_for
from tests.test_services_calendars_google import SATO, connect, connection_of, seed
from tests.test_services_calendars_microsoft import ms_app  # noqa: F401 - the fixture
from webapp.extensions import db
from webapp.jobs.calendars import sync_calendar_connection
from webapp.models import CalendarChannel, utcnow
from webapp.services import bookings
from webapp.services.calendars import push

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def page(google_app, member_page):
    return member_page


@pytest.fixture
def member_page(app):
    from tests.factories import ALWAYS_WORKING, make_member, make_org, make_page

    org = make_org()
    member = make_member(org, email=SATO, working_hours=ALWAYS_WORKING)
    created = make_page(org, [member], fields=[], duration_minutes=60, window_days=30)
    db.session.commit()
    return created


def _queue(app, redis_conn):
    return Queue(app.config["RQ_QUEUE"], connection=redis_conn, serializer=JSONSerializer)


def _drain(app, redis_conn):
    db.session.commit()
    SimpleWorker([_queue(app, redis_conn)], connection=redis_conn,
                 serializer=JSONSerializer).work(burst=True)
    db.session.expire_all()


def _sync_job_queued(app, redis_conn, connection_id: int) -> bool:
    return f"apo-calendar-sync-{connection_id}" in _queue(app, redis_conn).job_ids


def test_K8_a_busy_event_at_google_is_pushed_and_leaves_the_page_within_seconds(
        google_app, gcal, page, live_server, redis_conn):
    member = page.members[0]
    connect(google_app, gcal, member)
    google_app.config["BASE_URL"] = live_server.url  # after the OAuth callback, the hooks
    connection = connection_of(member)
    sync_calendar_connection(connection.id)  # the first sync opens the channel
    [channel] = db.session.scalars(select(CalendarChannel)).all()
    assert channel.expires_at > utcnow() + timedelta(days=6)
    _drain(google_app, redis_conn)
    slot = next(s for s in bookings.available_slots(page)
                if s.start > datetime.now(UTC) + timedelta(days=2))
    began = time.monotonic()
    seed(gcal, "急な予定", slot.start.isoformat(), slot.end.isoformat())
    wait_for(lambda: _sync_job_queued(google_app, redis_conn, connection.id), 10,
             "a push within 10 s")
    _drain(google_app, redis_conn)
    assert slot.start not in {s.start for s in bookings.available_slots(page)}
    assert time.monotonic() - began < 10  # K8: Google within 10 s


def test_K8_only_a_known_channel_with_its_own_secret_schedules_a_sync(
        google_app, gcal, page, live_server, redis_conn):
    member = page.members[0]
    connect(google_app, gcal, member)
    google_app.config["BASE_URL"] = live_server.url  # after the OAuth callback, the hooks
    connection = connection_of(member)
    sync_calendar_connection(connection.id)
    channel = db.session.scalar(select(CalendarChannel))
    _drain(google_app, redis_conn)
    for headers in ({"X-Goog-Channel-ID": channel.channel_id, "X-Goog-Channel-Token": "guess",
                     "X-Goog-Resource-ID": channel.ref, "X-Goog-Resource-State": "exists"},
                    {"X-Goog-Channel-ID": "unknown", "X-Goog-Channel-Token": "x",
                     "X-Goog-Resource-State": "exists"}):
        answer = requests.post(f"{live_server.url}/hooks/google", headers=headers, timeout=5)
        assert answer.status_code == 404
    assert not _sync_job_queued(google_app, redis_conn, connection.id)


def test_K8_channels_are_renewed_before_they_end(google_app, gcal, page, live_server,
                                                 redis_conn):
    member = page.members[0]
    connect(google_app, gcal, member)
    google_app.config["BASE_URL"] = live_server.url  # after the OAuth callback, the hooks
    connection = connection_of(member)
    sync_calendar_connection(connection.id)
    channel = db.session.scalar(select(CalendarChannel))
    old_id = channel.channel_id
    channel.expires_at = utcnow() + timedelta(hours=2)  # ends within RENEW_BEFORE
    db.session.commit()
    from webapp.jobs.calendars import options

    assert push.ensure(connection, options(), live_server.url) == 1
    db.session.commit()
    renewed = db.session.scalar(select(CalendarChannel))
    assert renewed.channel_id != old_id and renewed.expires_at > utcnow() + timedelta(days=6)
    # The old channel was stopped at Google: a change is delivered to the new one only.
    before = [d for d in gcal.control("GET", "push/deliveries") if d["channel"] == old_id]
    seed(gcal, "変更", "2030-06-05T10:00:00", "2030-06-05T11:00:00")
    wait_for(lambda: [d for d in gcal.control("GET", "push/deliveries")
                      if d["channel"] == renewed.channel_id and d["state"] == "exists"],
             10, "a delivery to the new channel")
    after = [d for d in gcal.control("GET", "push/deliveries") if d["channel"] == old_id]
    assert after == before


def test_K8_graph_validates_the_hook_and_a_busy_event_is_pushed(
        ms_app, graph, live_server, redis_conn):  # noqa: F811 - the imported fixture
    """Graph checks the notification URL first (validationToken echoed as text/plain), then
    notifies with the subscription's clientState; the slot leaves within seconds."""
    from tests.factories import make_public_page
    from tests.test_services_calendars_microsoft import connect as connect_microsoft
    from tests.test_services_calendars_microsoft import seed as seed_graph

    page = make_public_page(members=1, fields=[], duration_minutes=60, window_days=30)
    db.session.commit()
    connection = connect_microsoft(ms_app, graph, page.members[0])
    ms_app.config["BASE_URL"] = live_server.url
    sync_calendar_connection(connection.id)
    [channel] = db.session.scalars(select(CalendarChannel)).all()
    assert channel.ref and channel.expires_at > utcnow() + timedelta(days=2)
    _drain(ms_app, redis_conn)
    slot = next(s for s in bookings.available_slots(page)
                if s.start > datetime.now(UTC) + timedelta(days=2))
    began = time.monotonic()
    seed_graph(graph, "急な予定", slot.start.strftime("%Y-%m-%dT%H:%M:%S"),
               slot.end.strftime("%Y-%m-%dT%H:%M:%S"))
    wait_for(lambda: _sync_job_queued(ms_app, redis_conn, connection.id), 10,
             "a notification within 10 s")
    _drain(ms_app, redis_conn)
    assert slot.start not in {s.start for s in bookings.available_slots(page)}
    assert time.monotonic() - began < 10  # K8: Microsoft within 10 s


def test_K8_the_validation_handshake_echoes_only_plain_text(client):
    answer = client.post("/hooks/microsoft?validationToken=%3Cscript%3Ex%3C%2Fscript%3E")
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    assert answer.get_data(as_text=True) == "<script>x</script>"
    forged = client.post("/hooks/microsoft", json={"value": [
        {"subscriptionId": "nope", "clientState": "guess", "changeType": "created"}]})
    assert forged.status_code == 202  # accepted, and nothing scheduled for an unknown one


def test_K8_with_a_real_worker_process_the_push_reaches_the_page_within_seconds(
        google_app, gcal, page, live_server, redis_conn, tmp_path):
    """The same path as in production: `worker.py` (its own process, its sweeper and
    scheduler) opens the channel, Google posts to the live server's hook, the worker syncs."""
    import os

    from cryptography.fernet import Fernet

    from tests.test_jobs_sync_faults import Workers

    key = Fernet.generate_key().decode()
    google_app.config["APO_ENCRYPTION_KEYS"] = (key,)
    member = page.members[0]
    connect(google_app, gcal, member)
    google_app.config["BASE_URL"] = live_server.url
    config = google_app.config
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": config["REDIS_URL"],
        "SECRET_KEY": config["SECRET_KEY"], "APO_ENCRYPTION_KEYS": key,
        "APO_BASE_URL": live_server.url, "APO_UID_DOMAIN": "apo.test",
        "GOOGLE_CLIENT_ID": config["GOOGLE_CLIENT_ID"],
        "GOOGLE_CLIENT_SECRET": config["GOOGLE_CLIENT_SECRET"],
        "GOOGLE_BASE_URL": config["GOOGLE_BASE_URL"], "APO_SYNC_SWEEP_INTERVAL": "0.5"})
    workers = Workers(env, tmp_path)
    workers.start()
    try:
        def channel_open():
            db.session.rollback()
            found = db.session.scalar(select(CalendarChannel))
            db.session.rollback()
            return found
        wait_for(channel_open, 30, "the worker to open the push channel")
        slot = next(s for s in bookings.available_slots(page)
                    if s.start > datetime.now(UTC) + timedelta(days=2))
        db.session.rollback()
        began = time.monotonic()
        seed(gcal, "急な予定", slot.start.isoformat(), slot.end.isoformat())

        def gone():
            db.session.rollback()
            offered = {s.start for s in bookings.available_slots(page)}
            db.session.rollback()
            return slot.start not in offered
        wait_for(gone, 10, "the slot to leave the page")
        assert time.monotonic() - began < 10
    finally:
        workers.kill_all()
