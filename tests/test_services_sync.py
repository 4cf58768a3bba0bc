"""Service tests of the sync engine: the job function called directly against the emulator.

Real HTTP to the emulator, a real Redis for follow-up enqueues, no worker process (those are in
test_jobs_sync_faults.py).
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.factories import make_org
from tests.fixtures_salesforce import connect
from tests.fixtures_sync import (
    SATO,
    SUZUKI,
    TAKAHASHI,
    booking_with_sync,
    calls,
    live,
    reload,
    reload_booking,
    team_page,
)
from webapp import jobs
from webapp import settings as app_settings
from webapp.extensions import db
from webapp.jobs import sync as sync_jobs
from webapp.models import SalesforceConnection, SyncAction, SyncPause, SyncRecord
from webapp.services.salesforce.connections import get_connection
from webapp.services.sync import state as sync_state
from webapp.services.sync.settings import SyncSettings


def user_ids(emulator) -> dict:
    """Seed users by key (sato, suzuki...), read without resetting the emulator."""
    return {u["Email"].split("@")[0]: u["Id"] for u in emulator.records("User")}


def run(record):
    sync_jobs.run_sync_record(record.id)
    return reload(record)


def add_sync(booking, action):
    record = SyncRecord(organization_id=booking.organization_id, booking_id=booking.id,
                        action=action)
    db.session.add(record)
    db.session.commit()
    return record


@pytest.fixture
def conn(sf_connection, sf_app, redis_conn):
    sf_app.config.update(SYNC_RETRY_INTERVALS=[0.01, 0.01, 0.01])
    return sf_connection


# --- L1-L4, E1-E3 -------------------------------------------------------------------------------

def test_L2_L3_new_customer_gets_a_lead_by_assignment_rule_and_an_event(conn, org, emulator):
    users = user_ids(emulator)
    emulator.set_org(assignment_rule={"active": True, "target_user_id": users["suzuki"]})
    page = team_page(org, (SATO,), sf_split_name=True)
    booking, record = booking_with_sync(page, email="brand.new@example.com", name="",
                                        last_name="新井", first_name="花", company="")
    record = run(record)
    assert record.status == "succeeded", record.result
    [lead] = live(emulator, "Lead", Email="brand.new@example.com")
    assert (lead["LastName"], lead["FirstName"], lead["Company"]) == ("新井", "花", "未入力")
    assert lead["OwnerId"] == users["suzuki"]  # L3: the assignment rule ran
    [event] = live(emulator, "Event", WhoId=lead["Id"])
    assert event["OwnerId"] == users["sato"]  # E3: the attending member's Salesforce user
    assert event["Type"] == "Meeting" and event["StartDateTime"].startswith(
        booking.start_at.strftime("%Y-%m-%dT%H:%M"))
    booking = reload_booking(booking)
    assert (booking.sf_who_id, booking.sf_event_id) == (lead["Id"], event["Id"])
    assert record.result["lead"]["action"] == "created"


def test_L3_without_an_active_rule_the_lead_belongs_to_the_connecting_user(conn, org, emulator):
    page = team_page(org, sf_create_event=False)
    booking_with_sync(page, email="owner.check@example.com")
    run(db.session.scalars(select(SyncRecord)).one())
    [lead] = live(emulator, "Lead", Email="owner.check@example.com")
    assert lead["OwnerId"] == conn.sf_user_id


def test_F3_L4_attendees_are_listed_in_the_event_and_never_become_leads(conn, org, emulator):
    page = team_page(org)
    _, record = booking_with_sync(page, email="host@example.com", attendees=[
        {"name": "同席者", "email": "guest@example.com"}])
    assert run(record).status == "succeeded"
    assert live(emulator, "Lead", Email="guest@example.com") == []
    [event] = live(emulator, "Event", WhoId=live(emulator, "Lead", Email="host@example.com")[0]
                   ["Id"])
    assert "guest@example.com" in event["Description"]


def test_P3_event_off_and_a_matching_lead_makes_no_event(conn, org, emulator):
    [lead] = live(emulator, "Lead", Email="lead.only@example.com")
    events = len(live(emulator, "Event", WhoId=lead["Id"]))
    off = team_page(org, sf_create_lead=True, sf_create_event=False)
    booking, record = booking_with_sync(off, email="lead.only@example.com")
    record = run(record)
    assert record.result["who"]["id"] == lead["Id"]
    assert len(live(emulator, "Event", WhoId=lead["Id"])) == events
    assert not reload_booking(booking).sf_event_id
    on = team_page(org, sf_create_lead=True, sf_create_event=True)
    _, record = booking_with_sync(on, email="lead.only@example.com")
    assert run(record).status == "succeeded"
    assert len(live(emulator, "Event", WhoId=lead["Id"])) == events + 1  # ③ ticked: one Event


def test_L1_converted_lead_is_not_matched_the_contact_is(conn, org, emulator):
    page = team_page(org)
    _, record = booking_with_sync(page, email="converted@example.com")
    record = run(record)
    assert record.result["who"]["sobject"] == "Contact"
    assert len(live(emulator, "Lead", Email="converted@example.com")) == 1  # no new Lead


@pytest.mark.parametrize("email", ["o'brien+x@example.com", "a\\b@example.com",
                                   "x%_y@example.com", "やまだ@例え.jp"])
def test_L1_P5_tricky_emails_match_exactly_that_email(conn, org, emulator, email):
    existing = emulator.insert("Lead", LastName="既存", Company="C", Email=email.upper())
    emulator.insert("Lead", LastName="似た人", Company="C", Email="xa_y@example.com")
    page = team_page(org, sf_create_lead=True)
    _, record = booking_with_sync(page, email=email)
    record = run(record)
    assert record.status == "succeeded", record.result
    assert record.result["who"] == {"sobject": "Lead", "id": existing["Id"], "candidates": 1}
    assert len(live(emulator, "Lead", Email=email)) == 1


def test_E2_lead_and_contact_match_the_event_goes_on_the_lead(conn, org, emulator):
    page = team_page(org)
    _, record = booking_with_sync(page, email="KNOWN@example.com")
    record = run(record)
    [lead] = live(emulator, "Lead", Email="known@example.com")
    assert record.result["who"]["id"] == lead["Id"]
    assert len(live(emulator, "Event", WhoId=lead["Id"])) == 2  # the seed's one and ours


def test_E2_several_leads_the_most_recently_modified_is_chosen_and_logged(conn, org, emulator):
    page = team_page(org)
    _, record = booking_with_sync(page, email="dup@example.com")
    record = run(record)
    newest = max(live(emulator, "Lead", Email="dup@example.com"),
                 key=lambda r: r["LastModifiedDate"])
    assert record.result["who"] == {"sobject": "Lead", "id": newest["Id"], "candidates": 2}


def test_E2_several_contacts_without_lead_newest_contact(conn, org, emulator):
    page = team_page(org)
    _, record = booking_with_sync(page, email="twin@example.com")
    record = run(record)
    newest = max(live(emulator, "Contact", Email="twin@example.com"),
                 key=lambda r: r["LastModifiedDate"])
    assert record.result["who"]["id"] == newest["Id"]
    assert live(emulator, "Lead", Email="twin@example.com") == []


def test_E3_inactive_member_is_skipped_for_the_next_in_page_order(conn, org, emulator):
    users = user_ids(emulator)
    page = team_page(org, ("nobody@example.com", TAKAHASHI, SUZUKI, SATO))
    _, record = booking_with_sync(page, members=page.members)
    record = run(record)
    assert record.result["owner"] == {"id": users["suzuki"], "member_email": SUZUKI}


def test_E3_no_member_matches_owner_is_the_connecting_user(conn, org, emulator):
    page = team_page(org, ("nobody@example.com",))
    _, record = booking_with_sync(page)
    assert run(record).result["owner"] == {"id": conn.sf_user_id, "member_email": None}


# --- M3, M6, M7 ---------------------------------------------------------------------------------

MAPPED = [dict(field_type="text", label="部署", salesforce_field="Department__c"),
          dict(field_type="radio", label="チャット", salesforce_field="ChatTool__c",
               choices=["Slack", "Google Chat"]),
          dict(field_type="hidden", label="メルマガ", salesforce_field="Newsletter__c",
               hidden_value="true"),
          dict(field_type="text", label="予算", salesforce_field="Budget__c")]


def answers(page, **by_label):
    return {str(f.id): by_label[f.label] for f in page.fields if f.label in by_label}


def test_M6_existing_lead_hidden_overwrites_blank_answer_keeps_value(conn, org, emulator):
    page = team_page(org, fields=MAPPED, sf_map_fields=True)
    _, record = booking_with_sync(page, email="lead.only@example.com", answers=answers(
        page, 部署="", チャット="Chatwork", 予算="¥1,200"))
    page.fields[1].choices = ["Chatwork"]
    record = run(record)
    assert record.status == "succeeded", record.result
    [lead] = live(emulator, "Lead", Email="lead.only@example.com")
    assert lead["Department__c"] == "営業部"  # blank shown answer: kept
    assert (lead["ChatTool__c"], lead["Newsletter__c"], lead["Budget__c"]) == (
        "Chatwork", True, 1200)
    assert record.result["lead"]["action"] == "updated"


def test_M3_M7_unknown_choice_and_bad_number_drop_only_those_fields(conn, org, emulator):
    page = team_page(org, fields=MAPPED, sf_map_fields=True)
    _, record = booking_with_sync(page, email="m7@example.com", answers=answers(
        page, 部署="開発部", チャット="Google Chat", 予算="たくさん"))
    record = run(record)
    assert record.status == "partial"
    [lead] = live(emulator, "Lead", Email="m7@example.com")
    assert lead["Department__c"] == "開発部" and lead["ChatTool__c"] is None
    assert {(w["field"], w["value"]) for w in record.warnings} == {
        ("ChatTool__c", "Google Chat"), ("Budget__c", "たくさん")}
    assert len(live(emulator, "Event", WhoId=lead["Id"])) == 1


def test_P4_mapping_needs_premium(conn, org, emulator):
    org.plan = "enterprise"
    page = team_page(org, fields=MAPPED, sf_map_fields=True)
    _, record = booking_with_sync(page, email="ent@example.com", answers=answers(page, 部署="x"))
    assert run(record).status == "succeeded"
    assert live(emulator, "Lead", Email="ent@example.com")[0]["Department__c"] is None


# --- S8: at most two calls per path when caches are warm ----------------------------------------

PATHS = {
    "new customer": ("path.new@example.com", {}),
    "existing lead": ("lead.only@example.com", {}),
    "existing contact": ("contact.only@example.com", {}),
    "lead and contact": ("known@example.com", {}),
    "new customer with ④": ("path.new4@example.com", {"sf_map_fields": True}),
    "existing lead with ④": ("lead.only@example.com", {"sf_map_fields": True}),
}


@pytest.mark.parametrize("path", list(PATHS))
def test_S8_every_path_costs_at_most_two_calls_warm(conn, org, emulator, path):
    email, settings = PATHS[path]
    page = team_page(org, fields=MAPPED, **settings)
    _, warm = booking_with_sync(page, email="warm.up@example.com",
                                answers=answers(page, 部署="営業"))
    run(warm)
    _, record = booking_with_sync(page, email=email, answers=answers(page, 部署="営業"))
    before = calls(emulator)
    assert run(record).status in ("succeeded", "partial")
    assert calls(emulator) - before <= 2


def test_S8_reschedule_and_cancel_cost_one_call(conn, org, emulator):
    page = team_page(org)
    booking, record = booking_with_sync(page)
    run(record)
    for action in (SyncAction.RESCHEDULE.value, SyncAction.CANCEL.value):
        before = calls(emulator)
        assert run(add_sync(booking, action)).status == "succeeded"
        assert calls(emulator) - before == 1


# --- S4 exactly once ------------------------------------------------------------------------------

def test_S4_rerun_after_commit_then_hang_creates_nothing_twice(conn, org, emulator, sf_app):
    sf_app.config["SALESFORCE_TIMEOUT"] = 1.0
    emulator.control("POST", "faults", {"kind": "commit_then_hang", "method": "POST",
                                        "path": "/composite$", "hang_ms": 2500, "count": 2})
    page = team_page(org)
    booking, record = booking_with_sync(page, email="hang@example.com")
    assert run(record).status == "pending"  # the reads composite hung: retry later
    assert run(record).status == "pending"  # the writes composite committed, then hung
    record = run(record)
    assert record.status == "succeeded", record.result
    [lead] = live(emulator, "Lead", Email="hang@example.com")
    assert len(live(emulator, "Event", WhoId=lead["Id"])) == 1
    assert record.result["lead"]["action"] == "created"


def test_S4_a_record_is_leased_to_one_worker_only(conn, org):
    page = team_page(org)
    _, record = booking_with_sync(page)
    first = sync_state.claim(record.id, 60)
    db.session.commit()
    second = sync_state.claim(record.id, 60)
    assert first.record is not None and second.record is None and second.why == "taken"


def test_S4_a_worker_whose_lease_ran_out_leaves_the_record_to_its_new_owner(conn, org):
    """Salesforce hung past the lease and another worker took the record: the first worker's
    final write matches nothing, and what it wrote in that transaction is rolled back (the new
    owner re-checks Salesforce and stores the ids itself)."""
    booking, record = booking_with_sync(team_page(org))
    claim = sync_state.claim(record.id, 60)
    mine = claim.record
    db.session.commit()
    with Session(db.engine) as other:  # the second worker's claim, once the lease ran out
        other.execute(update(SyncRecord).where(SyncRecord.id == record.id)
                      .values(lease_token="other", attempts=2))
        other.commit()
    sync_state.finish(mine, "succeeded")
    mine.booking.sf_event_id = "00Ulost000000001"
    assert sync_state.settle(mine, claim.token) is False
    db.session.rollback()
    record, booking = reload(record), reload_booking(booking)
    assert (record.status, record.lease_token, record.attempts) == ("running", "other", 2)
    assert record.finished_at is None and not booking.sf_event_id


def test_S4_a_worker_whose_lease_ran_out_during_the_read_creates_nothing(conn, org, emulator):
    """The read composite takes 1.5 s; meanwhile another worker takes the record over. The
    first worker checks its lease with the notes it commits before the write, finds it gone
    and sends no create: only the new owner may create the Lead and Event."""
    emulator.control("POST", "faults", {"kind": "delay", "method": "POST",
                                        "path": "/composite$", "delay_ms": 1500, "count": 1})
    _, record = booking_with_sync(team_page(org), email="slow.read@example.com")

    engine = db.engine

    def take_over():
        time.sleep(0.5)
        with Session(engine) as other:
            other.execute(update(SyncRecord).where(SyncRecord.id == record.id)
                          .values(lease_token="other"))
            other.commit()

    thief = threading.Thread(target=take_over)
    thief.start()
    before = calls(emulator)
    record = run(record)
    thief.join()
    assert calls(emulator) - before == 1  # the read only
    assert live(emulator, "Lead", Email="slow.read@example.com") == []
    assert (record.status, record.lease_token) == ("running", "other")
    assert "lead_create_sent" not in (record.result or {})


def test_S4_a_worker_that_holds_its_lease_settles_the_record(conn, org):
    _, record = booking_with_sync(team_page(org))
    claim = sync_state.claim(record.id, 60)
    mine = claim.record
    db.session.commit()
    sync_state.finish(mine, "failed", {"code": "X", "message": "", "fields": []})
    assert sync_state.settle(mine, claim.token) is True
    db.session.commit()
    record = reload(record)
    assert (record.status, record.last_error, record.lease_until) == ("failed", "X", None)
    assert record.finished_at is not None


def test_S4_a_finished_record_runs_no_more(conn, org, emulator):
    page = team_page(org)
    _, record = booking_with_sync(page)
    run(record)
    before = calls(emulator)
    assert run(record).status == "succeeded" and calls(emulator) == before


# --- S5, S6 ---------------------------------------------------------------------------------------

def test_S5_transient_errors_are_retried_with_backoff(conn, org, emulator):
    emulator.control("POST", "faults", {"kind": "503", "count": 2})
    emulator.control("POST", "faults", {"kind": "unable_to_lock_row", "count": 1})
    page = team_page(org)
    _, record = booking_with_sync(page, email="flaky@example.com")
    statuses = [run(record).status for _ in range(4)]
    assert statuses == ["pending", "pending", "pending", "succeeded"]
    assert len(live(emulator, "Lead", Email="flaky@example.com")) == 1


def test_S5_retries_run_out_into_a_visible_failure(conn, org, emulator):
    emulator.control("POST", "faults", {"kind": "503", "count": 10})
    page = team_page(org)
    _, record = booking_with_sync(page)
    for _ in range(4):
        record = run(record)
    assert record.status == "failed" and record.result["error"]["fix"] == "unavailable"


def test_S5_request_limit_pauses_the_org_without_spending_attempts(conn, org, emulator, sf_app):
    sf_app.config["SYNC_LIMIT_PAUSE_SECONDS"] = 60
    emulator.control("POST", "faults", {"kind": "request_limit_exceeded", "count": 1})
    page = team_page(org)
    _, first = booking_with_sync(page)
    _, second = booking_with_sync(page, email="second@example.com")
    first = run(first)
    assert first.status == "pending" and first.attempts == 0
    assert db.session.get(SyncPause, org.id) is not None
    before = calls(emulator)
    assert run(second).status == "pending" and calls(emulator) == before  # paused: no call
    other = make_org(name="Other")
    db.session.commit()
    assert sync_state.claim(second.id, 60).why == "paused"
    assert db.session.get(SyncPause, other.id) is None  # other organizations are unaffected


def test_S5_expired_access_token_is_refreshed_once(conn, org, emulator):
    emulator.control("POST", "tokens/expire")
    page = team_page(org)
    _, record = booking_with_sync(page)
    assert run(record).status == "succeeded"


def test_S6_revoked_grant_parks_the_org_and_reconnecting_requeues(
        conn, org, emulator, sf_admin_client, connected_app, redis_conn):
    page = team_page(org)
    _, first = booking_with_sync(page, email="parked1@example.com")
    _, second = booking_with_sync(page, email="parked2@example.com")
    emulator.control("POST", "tokens/revoke")
    first = run(first)
    assert first.status == "waiting_reconnect"
    assert reload(second).status == "waiting_reconnect"  # the org's other syncs wait too
    assert get_connection(org.id).is_broken
    response = connect(sf_admin_client, emulator, *connected_app)
    assert response.status_code == 302
    assert {reload(first).status, reload(second).status} == {"pending"}
    assert redis_conn.llen("rq:queue:apo-sync") >= 2  # queued by the reconnect
    assert run(first).status == "succeeded" and run(second).status == "succeeded"


def test_S6_disconnected_org_parks_its_syncs(conn, org, emulator):
    db.session.delete(db.session.get(SalesforceConnection, conn.id))
    db.session.commit()
    page = team_page(org)
    _, record = booking_with_sync(page)
    assert run(record).status == "waiting_reconnect"


def test_S3_required_field_without_default_fails_with_the_fix(conn, org, emulator):
    emulator.set_org(required_lead_field_without_default=True)
    page = team_page(org)
    _, record = booking_with_sync(page)
    record = run(record)
    assert record.status == "failed"
    assert record.result["error"]["code"] == "REQUIRED_FIELD_MISSING"
    assert record.result["error"]["fix"] == "required_field"


# --- S7 -------------------------------------------------------------------------------------------

def test_S7_reschedule_moves_the_same_event(conn, org, emulator):
    from datetime import timedelta

    page = team_page(org)
    booking, record = booking_with_sync(page)
    run(record)
    event_id = reload_booking(booking).sf_event_id
    booking.start_at += timedelta(days=1)
    booking.end_at += timedelta(days=1)
    assert run(add_sync(booking, "reschedule")).status == "succeeded"
    events = live(emulator, "Event", Subject="製品デモ: 山田 太郎様")
    assert [e["Id"] for e in events] == [event_id]
    assert events[0]["StartDateTime"].startswith(booking.start_at.strftime("%Y-%m-%dT%H"))


@pytest.mark.parametrize("action, expected", [("mark", "cancelled"), ("delete", "deleted")])
def test_S7_cancel_marks_or_deletes_the_event(conn, org, emulator, action, expected):
    page = team_page(org, sf_cancel_action=action)
    booking, record = booking_with_sync(page)
    run(record)
    booking.status, booking.cancel_reason = "cancelled", "急用のため"
    cancel = run(add_sync(booking, "cancel"))
    assert cancel.result["event"]["action"] == expected
    event_id = reload_booking(booking).sf_event_id
    [event] = [e for e in emulator.records("Event") if e["Id"] == event_id]
    if action == "mark":
        assert event["Subject"].startswith("キャンセル") and "急用のため" in event["Description"]
        assert event["ShowAs"] == "Free"  # was Busy (the default) until the cancel
    else:
        assert event["IsDeleted"]
    assert run(cancel).status == "succeeded"  # a second run changes nothing


def test_S7_cancel_that_arrives_before_the_create_waits_for_it(conn, org, emulator):
    page = team_page(org)
    booking, create = booking_with_sync(page)
    cancel = add_sync(booking, "cancel")
    assert run(cancel).status == "pending"  # the create has not run yet
    run(create)
    assert reload(cancel).status == "succeeded" or run(cancel).status == "succeeded"


def test_skipped_syncs_say_why(conn, org, emulator):
    personal = team_page(org, kind="personal")
    _, record = booking_with_sync(personal)
    assert run(record).result["skip_reason"] == "personal_page"
    no_lead = team_page(org, sf_create_lead=False)
    _, record = booking_with_sync(no_lead, email="unknown.person@example.com")
    record = run(record)
    assert (record.status, record.result["skip_reason"]) == ("skipped", "no_match")
    org.plan = "standard"
    _, record = booking_with_sync(team_page(org))
    assert run(record).result["skip_reason"] == "plan"


def test_settings_from_config_reads_environment_strings():
    from webapp.config import typed

    config = {"SYNC_RETRY_INTERVALS": "0.2,0.5,1", "SYNC_MAX_ATTEMPTS": "4"}
    typed(config)  # once, in create_app: services never split strings themselves
    settings = SyncSettings.from_config(config)
    assert settings.retry_intervals == (0.2, 0.5, 1.0) and settings.max_attempts == 4


# --- S8: the database work of one sync ----------------------------------------------------------

def test_S8_a_create_sync_costs_few_statements_and_leaves_the_session_expiring(conn, org,
                                                                              emulator):
    """A new customer's create (Lead and Event in two composite calls) reads its inputs, the
    connection and the user cache in the claim's one query, keeps its rows across checkpoints,
    and writes its final state with the lease check in one UPDATE: six statements (the claim,
    the lease, the notes before the write, the booking's ids, the final state, the successors),
    where reading rows again after every commit and lazy loads took 35. Afterwards the caller's
    session expires on commit again."""
    from sqlalchemy import event

    page = team_page(org, (SATO, SUZUKI))
    booking_with_sync(page, email="warm.cache@example.com")
    run(db.session.scalars(select(SyncRecord)).one())  # the user list is cached from here on
    _, record = booking_with_sync(page, email="count.statements@example.com")
    record_id = record.id
    db.session.expire_all()
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split())[:90])

    def flushing(session, context, instances):
        if session.dirty:
            dirty_flushes.append(sorted(type(row).__name__ for row in session.dirty))

    dirty_flushes = []
    event.listen(db.engine, "before_cursor_execute", count)
    event.listen(db.session, "before_flush", flushing)
    try:
        sync_jobs.run_sync_record(record_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
        event.remove(db.session, "before_flush", flushing)
    assert reload(record).status == "succeeded", record.result
    # The record and booking are written by plain UPDATEs (sync/state.settle); no commit runs
    # the unit of work over them again.
    assert dirty_flushes == []
    assert len(statements) <= 6, statements
    assert sum(s.startswith("SELECT") for s in statements) <= 2, statements
    assert db.session().expire_on_commit is True


# --- S10: who goes first in the queue -----------------------------------------------------------

def test_S10_a_sync_that_gets_its_orgs_slot_at_once_goes_before_a_backlog(conn, org, emulator):
    """Org A queues a backlog (four jobs hold its slots, the rest wait for one); org B books
    twice, the second time while its first job still holds a slot. Both of B's jobs are queued
    ahead of every one of A's, and A's waiting jobs are not in the queue at all yet."""
    backlog = team_page(org)
    a_ids = [booking_with_sync(backlog, email=f"backlog{i}@example.com")[1].id
             for i in range(6)]
    other = make_org(name="別組織", plan="premium")
    quiet = team_page(other)
    b_ids = [booking_with_sync(quiet, email=f"quiet{i}@example.com")[1].id for i in range(2)]
    for sync_id in a_ids:
        assert sync_jobs.enqueue_sync(sync_id, org_id=org.id)
    for sync_id in b_ids:
        assert sync_jobs.enqueue_sync(sync_id, org_id=other.id)
    queue = jobs.get_queue()
    queued = [queue.fetch_job(job_id).args[0] for job_id in queue.job_ids]
    cap = app_settings.current().sync.org_concurrency
    assert sorted(queued[:2]) == sorted(b_ids)
    assert len(queued) == 2 + cap and set(queued[2:]) <= set(a_ids)
