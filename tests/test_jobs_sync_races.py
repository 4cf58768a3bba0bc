"""S9 with a real worker process: an Event whose answer was lost, then a reschedule before the
retry, ends as one Event at the new time."""

from __future__ import annotations

import pytest

from tests.factories import ALWAYS_WORKING, bookable_slots
from tests.fixtures_sync import live, team_page
from tests.test_jobs_sync_faults import all_final, wait_for, workers  # noqa: F401
from webapp.extensions import db
from webapp.integrations.salesforce import api_datetime
from webapp.jobs import sync as sync_jobs
from webapp.models import SyncRecord
from webapp.services import bookings
from webapp.services.slots import format_start
from webapp.services.sync import plan as sync_plan

pytestmark = pytest.mark.slow


def test_S9_lost_event_answer_then_reschedule_leaves_one_event_at_the_new_time(
        workers, org, emulator, sf_admin_client):  # noqa: F811
    page = team_page(org)
    page.members[0].working_hours = ALWAYS_WORKING
    db.session.commit()
    first, later = bookable_slots(page)[0], bookable_slots(page)[40]
    booking, create = bookings.create_booking(page, first.start, bookings.CustomerDetails(
        email="lost.answer@example.com", name="山田 太郎"))
    db.session.commit()
    subject = sync_plan.event_subject(page.title, booking)
    # The read call passes; the write (Lead + Event) commits in Salesforce and its answer comes
    # after Apo's 1.5 s timeout. The retry waits 4 s: time for the customer to reschedule.
    emulator.control("POST", "faults", {"kind": "delay", "method": "POST",
                                        "path": "/composite$", "count": 1})
    emulator.control("POST", "faults", {"kind": "commit_then_hang", "method": "POST",
                                        "path": "/composite$", "hang_ms": 3000, "count": 1})
    workers.env["APO_SYNC_RETRY_INTERVALS"] = "4,1,1"
    workers.start()
    assert sync_jobs.enqueue_sync(create.id)
    wait_for(lambda: live(emulator, "Event", Subject=subject), 30, "the Event to be committed")

    token = booking.token
    moved = sf_admin_client.post_form(f"/b/{token}/reschedule",
                                      {"start": format_start(later.start)},
                                      token_from=f"/b/{token}")
    assert moved.status_code == 302
    db.session.rollback()
    records = db.session.scalars(db.select(SyncRecord).order_by(SyncRecord.id)).all()
    assert [r.action for r in records] == ["create", "reschedule"]
    assert set(all_final(records, 60).values()) == {"succeeded"}

    events = live(emulator, "Event", Subject=subject)
    assert len(events) == 1, events
    assert events[0]["StartDateTime"] == api_datetime(later.start)
    leads = live(emulator, "Lead", Email="lost.answer@example.com")
    assert len(leads) == 1 and events[0]["WhoId"] == leads[0]["Id"]
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(SyncRecord, create.id).result["event"]["action"] == "found"
