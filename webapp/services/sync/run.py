"""Running one sync record: lease, what applies, the Salesforce work, and what each error means.

Error policy (S5, S6, STYLE 3.8): transient errors go back to pending with backoff and jitter;
REQUEST_LIMIT_EXCEEDED pauses the organization without spending an attempt; an auth error marks
the connection broken and parks the organization's syncs (要再連携); any other Salesforce error
fails the record with the fix in the admin's words. Anything else propagates: the lease runs out
and the sweeper hands the record to a worker again, up to the attempt cap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import joinedload

from webapp.extensions import db
from webapp.integrations import salesforce as sf
from webapp.models import (
    Booking,
    BookingMember,
    BookingPage,
    Plan,
    SalesforceConnection,
    SalesforceUserCache,
    SyncAction,
    SyncRecord,
    SyncStatus,
    utcnow,
)
from webapp.services.salesforce import connections
from webapp.services.salesforce.settings import SalesforceSettings
from webapp.services.sync import errors as sync_errors
from webapp.services.sync import plan as sync_plan
from webapp.services.sync import state as sync_state
from webapp.services.sync import writes
from webapp.services.sync.settings import SyncSettings

LIMIT_INFO_EVERY = timedelta(seconds=60)


@dataclass
class Outcome:
    """What the job must queue after its commit: (sync id, delay in seconds)."""

    follow_ups: list[tuple[int, float]] = field(default_factory=list)


def run_sync(sync_id: int, conf: SyncSettings, sf_conf: SalesforceSettings,
             checkpoint: Callable[[], None]) -> Outcome:
    """Run one sync record if this worker can take its lease (S4); never raises Salesforce errors.

    ``checkpoint`` commits: it runs after the lease is taken, before and after Salesforce
    writes, and on the record's new state before the booking's later records are looked up.
    """
    claim = sync_state.claim(sync_id, conf.lease_seconds, _INPUTS, _BESIDE)
    if claim.record is None:
        return Outcome([(sync_id, claim.retry_in)] if claim.retry_in is not None else [])
    record = claim.record
    checkpoint()
    if record.attempts > conf.max_attempts:
        sync_state.finish(record, SyncStatus.FAILED.value, {
            "code": "TOO_MANY_ATTEMPTS", "message": "", "fields": [],
            "fix": sync_errors.fix_key("TOO_MANY_ATTEMPTS")})
        checkpoint()
        return Outcome(_next(record))
    try:
        delay = _attempt(record, *claim.beside, claim.token, conf, sf_conf, checkpoint)
    except sync_state.LeaseLost:
        db.session.rollback()  # the read outlived our lease: nothing was written (S4)
        return Outcome()
    if not sync_state.settle(record, claim.token, (record.booking,)):
        # Our lease ran out and another worker owns the record now. Its attempt re-checks
        # Salesforce first, so it finds what this one created and stores the ids (S4).
        db.session.rollback()
        return Outcome()
    checkpoint()
    if delay is not None:
        return Outcome([(record.id, delay)])
    return Outcome(_next(record))


# What an attempt reads of the booking (its page and form fields, organization and attending
# members) comes with the record, in the claim's one query instead of five (S8).
_INPUTS = (joinedload(SyncRecord.booking).options(
    joinedload(Booking.page).joinedload(BookingPage.fields),
    joinedload(Booking.organization),
    joinedload(Booking.booking_members).joinedload(BookingMember.member)),)
# ... and so do the org's Salesforce connection and its cached user list (S8).
_BESIDE = ((SalesforceConnection,
            SalesforceConnection.organization_id == SyncRecord.organization_id),
           (SalesforceUserCache, SalesforceUserCache.connection_id == SalesforceConnection.id))


def _next(record) -> list[tuple[int, float]]:
    """The booking's later records that waited for this one (S7), read after this one's final
    state was committed: a later record committed after this read finds this one final when
    its own job claims it, so none is left waiting for the sweeper."""
    return [(i, 0.0) for i in sync_state.successors(record)] if record.is_final else []


def _attempt(record, conn: SalesforceConnection | None, users: SalesforceUserCache | None,
             token: str, conf: SyncSettings, sf_conf: SalesforceSettings,
             checkpoint) -> float | None:
    """One attempt; returns a delay when the record should run again later.

    The connection row and user cache came with the claim; the attempt's one client is built
    from that row.
    """
    booking = record.booking
    page, org = booking.page, booking.organization
    reason = sync_plan.skip_reason(org.plan_enum.at_least(Plan.ENTERPRISE), page.is_team,
                                   page.sf_create_lead, page.sf_create_event,
                                   page.sf_map_fields and org.plan_enum.at_least(Plan.PREMIUM))
    # Moving or cancelling an Event that exists does not depend on ②③④ being still ticked.
    if reason is not None and (record.action == SyncAction.CREATE.value
                               or reason != "no_settings"):
        _skip(record, reason)
        return None
    try:
        client = connections.client_for(conn, sf_conf)
        ctx = writes.Context(record, booking, page, conn, client,
                             org.plan_enum.at_least(Plan.PREMIUM), checkpoint, conf,
                             sf_conf.describe_ttl, users_row=users, users_read=True,
                             token=token)
        done = _RUNNERS[record.action](ctx)
    except sf.SalesforceAuthError as exc:
        _park(record, exc, checkpoint)
        return None
    except sf.SalesforceRetryableError as exc:
        return _retry_later(record, exc, conf)
    except sf.SalesforceRequestError as exc:
        sync_state.finish(record, SyncStatus.FAILED.value, sync_errors.error_entry(exc))
        return None
    record.warnings = ctx.warnings
    if client.last_limit_info and _usage_is_old(conn):
        conn.last_limit_info = client.last_limit_info
    if done.skip:
        _skip(record, done.skip)
    else:
        sync_state.finish(record, done.status, done.error)
    return None


def _usage_is_old(conn) -> bool:
    """Whether the API usage shown on the Salesforce screen is worth rewriting now.

    Every sync of an organization rewrote its one connection row: an UPDATE per sync, and a
    row lock that the org's concurrent syncs queued on (S8, S10). The figure shown is now at
    most LIMIT_INFO_EVERY old.
    """
    return not conn.last_limit_info or conn.updated_at is None or \
        conn.updated_at < utcnow() - LIMIT_INFO_EVERY


_RUNNERS = {SyncAction.CREATE.value: writes.create,
            SyncAction.RESCHEDULE.value: writes.reschedule,
            SyncAction.CANCEL.value: writes.cancel,
            SyncAction.MEETING.value: writes.reschedule,  # V2: the same fields, the link in
            SyncAction.OUTCOME.value: writes.outcome}  # R7


def _skip(record, reason: str) -> None:
    record.result = {**(record.result or {}), "skip_reason": reason}
    sync_state.finish(record, SyncStatus.SKIPPED.value)


def _park(record, exc: sf.SalesforceAuthError, checkpoint) -> None:
    """要再連携: mark the connection broken (C7) and park the org's syncs (S6)."""
    if not isinstance(exc, connections.ConnectionUnavailable):
        checkpoint()  # mark_broken writes in its own session; ours must hold no write lock
        connections.mark_broken(record.organization_id, f"{exc.code}: {exc.message}")
    sync_state.finish(record, SyncStatus.WAITING_RECONNECT.value, sync_errors.error_entry(exc))
    sync_state.park_organization(record.organization_id)


def _retry_later(record, exc: sf.SalesforceRetryableError, settings: SyncSettings):
    entry = sync_errors.error_entry(exc)
    if exc.code == "REQUEST_LIMIT_EXCEEDED":
        return sync_state.pause_organization(record, settings.limit_pause_seconds, exc.message)
    delay = sync_state.schedule_retry(record, list(settings.retry_intervals), entry)
    if delay is None:
        sync_state.finish(record, SyncStatus.FAILED.value, entry)
    return delay
