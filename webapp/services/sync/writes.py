"""The Salesforce side of one sync record: reads in one composite call, writes in one more (S8).

Create (L1-L4, E1-E3, M6, M7): find unconverted Leads and Contacts by the booker's email, and
Events this booking may already have made; then create the Lead and/or the Event and update an
existing Lead's mapped fields in one composite request. Reschedule and cancel (S7) move or mark
(or delete) the Event whose id the create stored.

Exactly once (S4): ids are stored and ``checkpoint()`` (the job's commit) runs right after the
write returns; before creating, the read call re-checks Salesforce (the Lead by email, the Event
by Who, start and subject), so a re-run after a lost answer creates nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

from webapp.config import DEFAULT_TIMEZONE
from webapp.extensions import db
from webapp.integrations import salesforce as sf
from webapp.models import (
    Booking,
    BookingPage,
    CancelAction,
    SalesforceConnection,
    SalesforceUserCache,
    SyncRecord,
    SyncStatus,
    utcnow,
)
from webapp.services.salesforce import describe_cache
from webapp.services.sync import errors as sync_errors
from webapp.services.sync import plan as sync_plan
from webapp.services.sync import state as sync_state
from webapp.services.sync.settings import SyncSettings

SUCCEEDED, PARTIAL = SyncStatus.SUCCEEDED.value, SyncStatus.PARTIAL.value
FAILED, SKIPPED = SyncStatus.FAILED.value, SyncStatus.SKIPPED.value


@dataclass
class Context:
    """Everything one attempt needs, loaded once; ``checkpoint`` commits (the job's transaction).

    ``client`` is the attempt's one Salesforce client: every call below goes through it.
    """

    record: SyncRecord
    booking: Booking
    page: BookingPage
    conn: SalesforceConnection
    client: sf.SalesforceClient
    premium: bool
    checkpoint: Callable[[], None]
    settings: SyncSettings
    describe_ttl: float
    warnings: list[dict] = field(default_factory=list)
    # The user cache row, read with the claim or on first use (_cached_users); users_read
    # tells "not there" from "not read yet".
    users_row: SalesforceUserCache | None = None
    users_read: bool = False
    token: str = ""  # the claim's lease token (sync/state.settle)

    @property
    def tz(self) -> str:
        return self.booking.organization.timezone or DEFAULT_TIMEZONE

    def note(self, key: str, value) -> None:
        self.record.result = {**(self.record.result or {}), key: value}


@dataclass(frozen=True)
class Done:
    """How the run ended: a status, plus an error entry or a skip reason when there is one."""

    status: str
    error: dict | None = None
    skip: str | None = None


def create(ctx: Context) -> Done:
    """Find the customer and create the Lead and/or Event, update mapped fields (L1-M7)."""
    page, booking = ctx.page, ctx.booking
    mapping = ctx.premium and page.sf_map_fields and any(f.salesforce_field for f in page.fields)
    describe = _lead_describe(ctx) if mapping else None
    want_event = page.sf_create_event and not booking.sf_event_id
    # R6: read before anything is written (a cold describe is stored in its own transaction).
    event_describe = _event_describe(ctx) if want_event and _maps_event(ctx) else None
    leads, contacts, events = _read(ctx, want_event)
    who = sync_plan.choose_who(leads, contacts)
    subs: list[dict] = []
    if who is None:
        if not page.sf_create_lead:
            return Done(SKIPPED, skip="no_match")
        subs.append(_lead_create(ctx, _new_lead(ctx, describe)))
        who_ref = "@{lead.id}"
    else:
        _remember_who(ctx, who)
        who_ref = who.id
        if mapping and who.sobject == "Lead":
            values, warnings = sync_plan.mapped_lead_fields(page.fields, booking.answers or {},
                                                            describe, existing=True)
            ctx.warnings += warnings
            if values:  # FALSE: an update must not hand the Lead to another owner
                subs.append(ctx.client.sub_update("leadUpdate", "Lead", who.id, values,
                                                  sf.AUTO_ASSIGN_OFF))
    owner = None
    if want_event:
        known = {r["Id"] for r in leads + contacts}
        found = next((e for e in events if e.get("WhoId") in known), None)
        if found is not None:
            booking.sf_event_id = found["Id"]
            ctx.note("event", {"id": found["Id"], "action": "found"})
        else:
            owner = _owner(ctx)
            fields = sync_plan.event_fields(booking, page, ctx.tz, who_ref, owner.id)
            fields = {**_mapped_event_fields(ctx, event_describe), **fields}  # R6: not Apo's
            subs.append(ctx.client.sub_create("event", "Event", fields))
            _remember_event_sent(ctx, fields)
    if not subs:
        return _finished(ctx) if booking.sf_event_id else Done(SKIPPED, skip="nothing_to_do")
    return _write(ctx, subs, owner)


def _read(ctx: Context, want_event: bool) -> tuple[list, list, list]:
    booking, client = ctx.booking, ctx.client
    users = _cached_users(ctx)
    subs = [client.sub_query("leads", sync_plan.lead_soql(booking.email)),
            client.sub_query("contacts", sync_plan.contact_soql(booking.email))]
    if want_event:
        subject = sync_plan.event_subject(ctx.page.title, booking)
        subs.append(client.sub_query("events", sync_plan.event_soql(
            subject, booking.start_at, _events_sent(ctx))))
        if users is None:  # a cold user cache rides along in the same call (S8)
            subs.append(client.sub_query("users", sync_plan.USERS_SOQL))
    results = client.composite_results(subs)
    for result in results.values():
        if not result.ok:
            raise result.error  # a failed lookup is never "not found" (no duplicate Lead)
    if "users" in results:
        _store_users(ctx, results["users"].records)
    return (results["leads"].records, results["contacts"].records,
            results["events"].records if "events" in results else [])


def _new_lead(ctx: Context, describe: dict | None) -> dict:
    page, booking = ctx.page, ctx.booking
    fields = sync_plan.new_lead_fields(booking, page.sf_split_name, page.sf_company_placeholder)
    if describe is not None:
        values, warnings = sync_plan.mapped_lead_fields(page.fields, booking.answers or {},
                                                        describe, existing=False)
        ctx.warnings += warnings
        fields = {**values, **fields}  # M1: mapped fields never replace name, company, email
    # Remember that a create goes out: if its answer is lost, the re-run finds this Lead.
    # Committed with the Event's note, before the write (see _write).
    ctx.note("lead_create_sent", True)
    return fields


def _maps_event(ctx: Context) -> bool:
    page = ctx.page
    return bool(ctx.premium and page.sf_map_fields and
                any((f.sf_event_field or "").strip() for f in page.fields))


def _event_describe(ctx: Context) -> dict:
    return describe_cache.describe_cached(ctx.conn, ctx.client, ("Event",),
                                          ctx.describe_ttl)["Event"]


def _mapped_event_fields(ctx: Context, describe: dict | None) -> dict:
    """R6: answers mapped to Event custom fields, by the Lead's rules (M2-M7): the same type
    table and conversions, each value left out reported in the sync log."""
    if describe is None:
        return {}
    mapped = [f for f in ctx.page.fields if (f.sf_event_field or "").strip()]
    as_lead = [SimpleNamespace(id=f.id, field_type=f.field_type, hidden_value=f.hidden_value,
                               salesforce_field=f.sf_event_field) for f in mapped]
    values, warnings = sync_plan.mapped_lead_fields(as_lead, ctx.booking.answers or {},
                                                    describe, existing=False)
    ctx.warnings += [dict(w, sobject="Event") for w in warnings]
    return values


def _lead_create(ctx: Context, fields: dict) -> dict:
    """R5: a new Lead is owned as the page says: Salesforce's assignment rules (L3, the
    default), or the member who takes the meeting, when they are an active user (else the
    rules decide, and the sync log says why)."""
    if ctx.page.sf_lead_owner == "member":
        owner = _owner(ctx)
        if owner.member_email:
            ctx.note("lead_owner", {"id": owner.id, "by": "member"})
            return ctx.client.sub_create("lead", "Lead", {**fields, "OwnerId": owner.id},
                                         sf.AUTO_ASSIGN_OFF)
        ctx.warnings.append({"code": "lead_owner_rules",
                             "message": "no active Salesforce user has the member's email"})
    return ctx.client.sub_create("lead", "Lead", fields, sf.AUTO_ASSIGN_ON)


def _remember_event_sent(ctx: Context, fields: dict) -> None:
    """Note the subject and start of an Event create before it goes out (S9).

    Its answer may be lost and the booking moved before the retry: the retry then looks for
    the Event at every start an attempt sent, not only the booking's new one, finds it, and
    the reschedule moves it. Committed before the write (see _write), so a killed worker
    cannot lose the note.
    """
    sent = list((ctx.record.result or {}).get("event_create_sent") or [])
    key = {"subject": fields["Subject"], "start": fields["StartDateTime"]}
    if key not in sent:
        ctx.note("event_create_sent", [*sent, key])


def _events_sent(ctx: Context) -> list[tuple[str, datetime]]:
    return [(key["subject"], datetime.fromisoformat(key["start"]))
            for key in (ctx.record.result or {}).get("event_create_sent") or []]


def _remember_who(ctx: Context, who: sync_plan.Who) -> None:
    ctx.booking.sf_who_type, ctx.booking.sf_who_id = who.sobject, who.id
    ctx.note("who", {"sobject": who.sobject, "id": who.id, "candidates": who.candidates})
    ours = who.sobject == "Lead" and (ctx.record.result or {}).get("lead_create_sent")
    key = "lead" if who.sobject == "Lead" else "contact"
    ctx.note(key, {"id": who.id, "action": "created" if ours else "found"})


def _owner(ctx: Context) -> sync_plan.Owner:
    owner = sync_plan.choose_owner([m.email for m in ctx.booking.members],
                                   _cached_users(ctx) or [], ctx.conn.sf_user_id)
    ctx.note("owner", {"id": owner.id, "member_email": owner.member_email})
    return owner


def _write(ctx: Context, subs: list[dict], owner: sync_plan.Owner | None) -> Done:
    # What goes out is noted (Lead and Event creates) and committed before it goes (S4, S9),
    # under the lease: a worker whose lease ran out while its read hung creates nothing, the
    # record's new owner does.
    if not sync_state.settle(ctx.record, ctx.token, (ctx.booking,)):
        raise sync_state.LeaseLost()
    ctx.checkpoint()
    results = ctx.client.composite_results(subs)
    booking = ctx.booking
    lead, event = results.get("lead"), results.get("event")
    if lead is not None and lead.ok:
        booking.sf_who_type, booking.sf_who_id = "Lead", lead.body["id"]
        ctx.note("lead", {"id": lead.body["id"], "action": "created"})
        ctx.note("who", {"sobject": "Lead", "id": lead.body["id"], "candidates": 0})
    if event is not None and event.ok:
        booking.sf_event_id = event.body["id"]
        ctx.note("event", {"id": event.body["id"], "action": "created"})
    update = results.get("leadUpdate")
    if update is not None and update.ok and \
            (ctx.record.result or {}).get("lead", {}).get("action") != "created":
        ctx.note("lead", {"id": booking.sf_who_id, "action": "updated"})
    errors = [r.error for r in results.values()
              if r.error is not None and r.error.code != sf.PROCESSING_HALTED]
    if not errors:
        # The ids go with the final state in the run's last commit, under the lease: nothing
        # that can fail comes between (S4).
        return _finished(ctx)
    ctx.checkpoint()  # the ids are safe before the error handling writes anything (S4)
    first = errors[0]
    if isinstance(first, sf.SalesforceRetryableError):
        raise first
    if first.code == "INACTIVE_OWNER_OR_USER" and owner and owner.member_email:
        _forget_users(ctx)  # the cached user list was stale: the next attempt refetches it
        raise sf.SalesforceRetryableError(first.message, first.code, first.status)
    done_any = any(r.ok for r in results.values())
    return Done(PARTIAL if done_any else FAILED, sync_errors.error_entry(first))


def _finished(ctx: Context) -> Done:
    dropped = any(w.get("code") == "field_dropped" for w in ctx.warnings)
    return Done(PARTIAL if dropped else SUCCEEDED)


def reschedule(ctx: Context) -> Done:
    """Move the same Event to the new start and end (S7)."""
    event_id = ctx.booking.sf_event_id
    if not event_id:
        return Done(SKIPPED, skip="no_event")
    ctx.client.update("Event", event_id,
                      sync_plan.moved_event_fields(ctx.booking, ctx.page, ctx.tz))
    ctx.note("event", {"id": event_id, "action": "moved"})
    return Done(SUCCEEDED)


def outcome(ctx: Context) -> Done:
    """R7: write the booking's outcome (held / no-show) on its Event, as it stands now."""
    from webapp.services import outcomes

    booking, page = ctx.booking, ctx.page
    event_id = booking.sf_event_id
    if not event_id:
        return Done(SKIPPED, skip="no_event")
    if booking.outcome not in outcomes.OUTCOMES:
        return Done(SKIPPED, skip="nothing_to_do")
    field_type = "picklist"
    if page.sf_outcome_field:
        describe = describe_cache.describe_cached(ctx.conn, ctx.client, ("Event",),
                                                  ctx.describe_ttl)["Event"]
        field = next((f for f in describe.get("fields", []) if f.get("name", "").lower()
                      == page.sf_outcome_field.lower()), {})
        field_type = field.get("type", "picklist")
    subject = sync_plan.event_subject(page.title, booking)
    ctx.client.update("Event", event_id, outcomes.event_fields(booking, subject, field_type))
    ctx.note("outcome", {"id": event_id, "value": booking.outcome})
    return Done(SUCCEEDED)


def cancel(ctx: Context) -> Done:
    """Mark the Event cancelled with the reason, or delete it per the page setting (S7)."""
    event_id = ctx.booking.sf_event_id
    if not event_id:
        return Done(SKIPPED, skip="no_event")
    if ctx.page.sf_cancel_action == CancelAction.DELETE.value:
        try:
            ctx.client.delete("Event", event_id)
        except sf.SalesforceRequestError as exc:
            # Already gone (a re-run after a lost answer, or deleted by hand): the goal holds.
            if exc.code not in ("ENTITY_IS_DELETED", "NOT_FOUND"):
                raise
        ctx.note("event", {"id": event_id, "action": "deleted"})
        return Done(SUCCEEDED)
    ctx.client.update("Event", event_id,
                      sync_plan.cancelled_event_fields(ctx.booking, ctx.page, ctx.tz))
    ctx.note("event", {"id": event_id, "action": "cancelled"})
    return Done(SUCCEEDED)


# --- caches (S8) -----------------------------------------------------------------------------

def _lead_describe(ctx: Context) -> dict:
    # A cold cache is written in its own short transaction: our lease update stays ours.
    return describe_cache.describe_cached(ctx.conn, ctx.client, ("Lead",),
                                          ctx.describe_ttl)["Lead"]


def _cached_users(ctx: Context) -> list[dict] | None:
    if not ctx.users_read:
        ctx.users_row, ctx.users_read = db.session.get(SalesforceUserCache, ctx.conn.id), True
    row = ctx.users_row
    if row is None or row.connected_at != ctx.conn.connected_at or \
            row.fetched_at < utcnow() - timedelta(seconds=ctx.settings.user_cache_ttl):
        return None
    return row.users


def _store_users(ctx: Context, records: list[dict]) -> None:
    # Names ride along in the same query: the 同期ログ shows owners by name (S3, S8).
    users = [{"Id": r["Id"], "Name": r.get("Name") or "", "Email": r.get("Email") or ""}
             for r in records]
    row = db.session.get(SalesforceUserCache, ctx.conn.id) or \
        SalesforceUserCache(connection_id=ctx.conn.id)
    row.users, row.connected_at, row.fetched_at = users, ctx.conn.connected_at, utcnow()
    db.session.add(row)
    ctx.users_row, ctx.users_read = row, True


def _forget_users(ctx: Context) -> None:
    row = db.session.get(SalesforceUserCache, ctx.conn.id)
    if row is not None:
        db.session.delete(row)
    ctx.users_row, ctx.users_read = None, True


def user_names(conn: SalesforceConnection | None) -> dict[str, str]:
    """Salesforce user id -> "Name (email)" from the cached user list and the connecting user;
    no API call (S8). Users cached before names were kept show their email."""
    if conn is None:
        return {}
    row = db.session.get(SalesforceUserCache, conn.id)
    names = {u["Id"]: (f"{u['Name']} ({u['Email']})" if u.get("Name") else u.get("Email", ""))
             for u in (row.users if row else [])}
    if conn.sf_user_id and conn.sf_display_name:
        names[conn.sf_user_id] = f"{conn.sf_display_name} ({conn.sf_username})"
    return names
