"""Zoom meetings made exactly once by real `worker.py` processes (V3, V4): lost answers, every
job handed over twice, a worker killed mid-run, and Zoom down for a while.

Zoom's create has no idempotency key. Each scenario ends with one meeting per booking at the
Zoom emulator, found by the booking's tag, and the booking's Meeting row pointing at it.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from tests.factories import ALWAYS_WORKING, commit_and_enqueue, make_member, make_org, make_page
from tests.test_jobs_sync_faults import Workers, wait_for
from tests.test_services_meetings import ZOOM_CALLBACK, connect_zoom
from webapp.extensions import db
from webapp.jobs import meetings as meeting_jobs
from webapp.models import Booking, Meeting, OutboxMessage, utcnow
from webapp.services import bookings
from webapp.services.bookings import CustomerDetails

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
SATO = "sato@example.com"


@pytest.fixture
def zoom_app(app, zoom):
    client_id, secret = zoom.register_app([ZOOM_CALLBACK])
    app.config.update(ZOOM_CLIENT_ID=client_id, ZOOM_CLIENT_SECRET=secret,
                      ZOOM_BASE_URL=zoom.url, ICAL_UID_DOMAIN="apo.test",
                      APO_ENCRYPTION_KEYS=(Fernet.generate_key().decode(),))
    return app


@pytest.fixture
def workers(zoom_app, redis_conn, tmp_path):
    config = zoom_app.config
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": config["REDIS_URL"],
        "SECRET_KEY": "test-secret-key", "APO_ENCRYPTION_KEYS": config["APO_ENCRYPTION_KEYS"][0],
        "ZOOM_CLIENT_ID": config["ZOOM_CLIENT_ID"],
        "ZOOM_CLIENT_SECRET": config["ZOOM_CLIENT_SECRET"],
        "ZOOM_BASE_URL": config["ZOOM_BASE_URL"],
        "APO_UID_DOMAIN": "apo.test", "APO_BASE_URL": "http://127.0.0.1",
        "APO_CALENDAR_TIMEOUT": "2", "APO_MEETING_RETRY_INTERVALS": "0.5,1,1,1,1",
        "APO_MEETING_LEASE_SECONDS": "5",
        "APO_CALENDAR_WRITE_STALE_SECONDS": "2", "APO_SYNC_SWEEP_INTERVAL": "0.5",
        "APO_SYNC_SWEEP_STALE_SECONDS": "2", "APO_RQ_JOB_TIMEOUT": "30",
        "APO_RQ_MAINTENANCE_INTERVAL": "2",
    })
    group = Workers(env, tmp_path)
    yield group
    group.kill_all()


@pytest.fixture
def zoom_page(zoom_app, zoom):
    org = make_org()
    member = make_member(org, name="佐藤", email=SATO, working_hours=ALWAYS_WORKING)
    page = make_page(org, members=[member], fields=[], duration_minutes=30, window_days=40)
    page.location_kind = "zoom"
    db.session.commit()
    connect_zoom(member, zoom)
    return page


def book_many(page, count: int) -> list[int]:
    now = utcnow()
    found = bookings.available_slots(page, now, now + timedelta(days=2), now + timedelta(days=30))
    ids = []
    for slot in found[::4][:count]:
        booking, _ = bookings.create_booking(page, slot.start, CustomerDetails(
            email=f"c{len(ids)}@example.net", name="顧客"))
        commit_and_enqueue()
        ids.append(booking.id)
    return ids


def rows(booking_ids) -> list[Meeting]:
    db.session.rollback()
    db.session.expire_all()
    found = list(db.session.scalars(select(Meeting).where(Meeting.booking_id.in_(booking_ids))
                                    .order_by(Meeting.booking_id)))
    db.session.rollback()
    return found


def live_at_zoom(zoom) -> dict[str, list[dict]]:
    """Zoom's live meetings by the booking UID in their agenda."""
    found: dict[str, list[dict]] = {}
    for meeting in zoom.meetings(SATO):
        if not meeting.get("deleted"):
            found.setdefault(meeting["agenda"].rsplit(" ", 1)[-1], []).append(meeting)
    return found


def test_V3_lost_answers_and_duplicate_jobs_make_one_meeting_each(zoom_page, zoom, workers):
    zoom.control("POST", "faults/lose-answer", {"times": 3, "method": "POST",
                                                "path_contains": "/meetings"})
    ids = book_many(zoom_page, 6)
    for meeting in rows(ids):  # every job handed over a second time (a duplicate enqueue)
        meeting_jobs.queue(meeting.id)
    workers.start(2)
    ready = wait_for(lambda: (found := rows(ids)) and all(m.status == "ready" for m in found)
                     and found, 90, "every meeting to be ready")
    at_zoom = live_at_zoom(zoom)
    assert sorted(at_zoom) == sorted(f"apo-booking-{i}@apo.test" for i in ids)
    assert all(len(made) == 1 for made in at_zoom.values())  # never a second meeting
    for meeting in ready:
        [made] = at_zoom[f"apo-booking-{meeting.booking_id}@apo.test"]
        assert meeting.remote_id == str(made["id"]) and meeting.join_url == made["join_url"]
    # One create each: the lost answers' retries found their meeting instead.
    assert zoom.usage()["by_endpoint"].get("POST /v2/users/{userId}/meetings", 0) == 6


def test_V3_a_worker_killed_mid_create_leaves_one_meeting(zoom_page, zoom, workers):
    zoom.control("POST", "latency", {"ms": 1500})  # every call slow: the kill lands mid-call
    ids = book_many(zoom_page, 3)
    workers.start(1)
    wait_for(lambda: any(m.status == "running" for m in rows(ids)), 30, "a run in progress")
    workers.kill(workers.procs[0])
    zoom.control("POST", "latency", {"ms": 0})
    workers.start(1)  # its sweeper finds the dead lease once it runs out
    wait_for(lambda: (found := rows(ids)) and all(m.status == "ready" for m in found), 120,
             "every meeting to be ready after the kill")
    at_zoom = live_at_zoom(zoom)
    assert sorted(at_zoom) == sorted(f"apo-booking-{i}@apo.test" for i in ids)
    assert all(len(made) == 1 for made in at_zoom.values())


def test_V4_zoom_down_keeps_bookings_and_links_follow_once_it_answers(zoom_page, zoom, workers):
    zoom.control("POST", "faults", {"status": 503, "times": -1, "method": "POST"})
    ids = book_many(zoom_page, 2)
    workers.start(1)
    # The customers are not kept waiting: after the second failed try their confirmations
    # go out (long before the 30 s wait), saying the link follows.
    def released():
        db.session.rollback()
        db.session.expire_all()
        held = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.booking_id.in_(ids), OutboxMessage.kind == "confirmation",
            OutboxMessage.recipient_role == "customer")).all()
        return len(held) == len(ids) and all(m.status != "pending" or m.send_after is None
                                             or m.send_after <= utcnow() for m in held)

    wait_for(released, 25, "the held confirmations released")
    assert all(m.status != "ready" and m.attempts >= 2 for m in rows(ids))
    assert all(b.status == "confirmed" for b in db.session.scalars(
        select(Booking).where(Booking.id.in_(ids))))
    db.session.rollback()
    zoom.control("DELETE", "faults")
    wait_for(lambda: all(m.status == "ready" for m in rows(ids)), 90, "links once Zoom answers")
    assert all(len(made) == 1 for made in live_at_zoom(zoom).values())
