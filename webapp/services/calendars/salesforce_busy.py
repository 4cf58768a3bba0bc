"""Salesforce Events as a busy source (K5).

When the organization turns it on, Events owned by a member's matching Salesforce user (E3
matching: same email as an active user, case-insensitive) block that member's slots. Each poll
asks for the Events changed since the newest SystemModstamp seen (incremental), plus the Ids
still in the window so deletions are noticed; the Events Apo wrote for its own bookings are left
out, since the booking already blocks its time (not counted twice).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import select

from webapp.config import DEFAULT_TIMEZONE
from webapp.extensions import db
from webapp.integrations.calendar_port import BusyItem
from webapp.integrations.salesforce import SalesforceError, escape_soql, soql_datetime
from webapp.models import (
    Booking,
    BusyInterval,
    BusySource,
    CalendarSettings,
    Member,
    utcnow,
)
from webapp.models.calendars import DEFAULT_GRACE_MINUTES
from webapp.services.calendars import busy_store
from webapp.services.calendars.options import CalendarOptions
from webapp.services.salesforce import connections
from webapp.services.salesforce.settings import SalesforceSettings

log = logging.getLogger(__name__)
SOURCE = BusySource.SALESFORCE.value
WATERMARK_OVERLAP = timedelta(minutes=2)
EVENT_FIELDS = "Id, OwnerId, StartDateTime, EndDateTime, IsAllDayEvent, ShowAs, SystemModstamp"


def settings_for(org_id: int) -> CalendarSettings:
    """The organization's calendar settings row (added on first use)."""
    row = db.session.get(CalendarSettings, org_id)
    if row is None:
        row = CalendarSettings(organization_id=org_id, salesforce_busy=False)
        db.session.add(row)
        db.session.flush()
    return row


def current_settings(org_id: int) -> CalendarSettings:
    """The settings to show: the stored row, or the defaults (not added) before the first save."""
    return db.session.get(CalendarSettings, org_id) or CalendarSettings(
        organization_id=org_id, salesforce_busy=False, grace_minutes=DEFAULT_GRACE_MINUTES)


def set_enabled(org_id: int, enabled: bool) -> None:
    """Turn K5 on or off; off forgets the stored Salesforce busy times."""
    row = settings_for(org_id)
    row.salesforce_busy = enabled
    if not enabled:
        members = select(Member.id).where(Member.organization_id == org_id)
        db.session.execute(BusyInterval.__table__.delete().where(
            BusyInterval.source == SOURCE, BusyInterval.member_id.in_(members)))
        row.salesforce_watermark = None


def due_org_ids(interval: timedelta, now: datetime | None = None) -> list[int]:
    cutoff = (now or utcnow()) - interval
    return list(db.session.scalars(select(CalendarSettings.organization_id).where(
        CalendarSettings.salesforce_busy.is_(True),
        (CalendarSettings.salesforce_synced_at.is_(None))
        | (CalendarSettings.salesforce_synced_at < cutoff))))


def sync_org(org_id: int, options: CalendarOptions, salesforce: SalesforceSettings,
             now: datetime | None = None) -> int:
    """One poll; returns the intervals written. Salesforce trouble is logged and left to the
    next poll (the stored times stay; the Salesforce connection's own state shows C7)."""
    row = settings_for(org_id)
    if not row.salesforce_busy:
        return 0
    now = now or utcnow()
    try:
        client = connections.client_for(connections.get_connection(org_id), salesforce)
        owners = _owners(client, org_id)
        written = _poll(client, row, owners, options, now) if owners else 0
    except SalesforceError as exc:
        log.info("Salesforce busy times of org %s: %s", org_id, type(exc).__name__)
        return 0
    row.salesforce_synced_at = now
    return written


def _owners(client, org_id: int) -> dict[str, Member]:
    """Salesforce user id -> member, by E3's email rule."""
    members = {m.email.strip().lower(): m for m in db.session.scalars(
        select(Member).where(Member.organization_id == org_id))}
    users = client.query("SELECT Id, Email FROM User WHERE IsActive = true").records
    return {u["Id"]: members[(u.get("Email") or "").lower()] for u in users
            if (u.get("Email") or "").lower() in members}


def _poll(client, row: CalendarSettings, owners: dict[str, Member], options: CalendarOptions,
          now: datetime) -> int:
    ids = ", ".join(f"'{escape_soql(owner)}'" for owner in sorted(owners))
    start, end = now - timedelta(days=1), now + timedelta(days=options.horizon_days)
    window = (f"OwnerId IN ({ids}) AND EndDateTime > {_soql_time(start)} "
              f"AND StartDateTime < {_soql_time(end)}")
    # An overlap behind the watermark: stamps have one-second grain here and a transaction
    # may commit an older stamp after a newer one. Re-reading a few Events is harmless.
    since = row.salesforce_watermark and row.salesforce_watermark - WATERMARK_OVERLAP
    changed_since = f" AND SystemModstamp >= {_soql_time(since)}" if since else ""
    # Ids escaped, times formatted by soql_datetime: no input reaches the SOQL unescaped.
    changed = client.query(
        f"SELECT {EVENT_FIELDS} FROM Event WHERE {window}{changed_since}"  # noqa: S608 - escaped
    ).records
    listed = client.query(f"SELECT Id FROM Event WHERE {window}")  # noqa: S608 - escaped
    present = {r["Id"] for r in listed.records}
    own = _own_event_ids(row.organization_id)
    written = 0
    for owner_id, member in owners.items():
        items = [_item(r, member) for r in changed if r["OwnerId"] == owner_id
                 and r["Id"] not in own]
        written += busy_store.replace_items(member.id, SOURCE, items,
                                            _removed(member.id, present, own))
    stamps = [_parse(r["SystemModstamp"]) for r in changed if r.get("SystemModstamp")]
    if stamps:
        row.salesforce_watermark = max([*stamps, row.salesforce_watermark or stamps[0]])
    return written


def _item(record: dict, member: Member) -> BusyItem:
    if record.get("ShowAs") == "Free":
        return BusyItem(record["Id"], ())
    start, end = _parse(record["StartDateTime"]), _parse(record["EndDateTime"])
    if record.get("IsAllDayEvent"):
        # An all-day Event is a date, not an instant: that day in the member's own zone.
        # StartDateTime is that date at 00:00 GMT and the duration counts whole days.
        zone = ZoneInfo(member.timezone or DEFAULT_TIMEZONE)
        first = start.date()
        after = end.date() if end.date() > first and end.time() == time() else (
            max(end.date(), first) + timedelta(days=1))
        start = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(after, time(), tzinfo=zone).astimezone(UTC)
    return BusyItem(record["Id"], ((start, end),) if end > start else ())


def _removed(member_id: int, present: set[str], own: set[str]) -> list[str]:
    stored = db.session.scalars(select(BusyInterval.event_ref).where(
        BusyInterval.member_id == member_id, BusyInterval.source == SOURCE)).all()
    return sorted({ref for ref in stored if ref not in present or ref in own})


def _own_event_ids(org_id: int) -> set[str]:
    return set(db.session.scalars(select(Booking.sf_event_id).where(
        Booking.organization_id == org_id, Booking.sf_event_id != "")))


def _soql_time(moment: datetime) -> str:
    return soql_datetime(moment)


def _parse(value: str) -> datetime:
    value = value.replace("Z", "+00:00")
    if len(value) >= 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]  # Salesforce writes +0000
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def live_source(org_id: int, member_ids: list[int], salesforce: SalesforceSettings):
    """The K7 live check's Salesforce part: a callable(window) -> {member_id: intervals} that
    asks for the members' Events in that window, or None where K5 is off or Salesforce is not
    connected. What needs the database is read here; the callable only calls Salesforce, so it
    can run beside the calendar calls, bounded by the confirm's timeout."""
    row = db.session.get(CalendarSettings, org_id)
    if row is None or not row.salesforce_busy:
        return None
    try:
        client = connections.client_for(connections.get_connection(org_id), salesforce)
    except SalesforceError:
        return None
    members = {m.email.strip().lower(): m for m in db.session.scalars(
        select(Member).where(Member.id.in_(member_ids))) if m.email}
    zones = {email: SimpleNamespace(timezone=m.timezone) for email, m in members.items()}
    own = _own_event_ids(org_id)

    def ask(window) -> dict[int, list]:
        users = client.query("SELECT Id, Email FROM User WHERE IsActive = true").records
        owners = {u["Id"]: (u.get("Email") or "").lower() for u in users
                  if (u.get("Email") or "").lower() in members}
        if not owners:
            return {}
        ids = ", ".join(f"'{escape_soql(owner)}'" for owner in sorted(owners))
        where = (f"OwnerId IN ({ids}) AND EndDateTime > {_soql_time(window[0])} "
                 f"AND StartDateTime < {_soql_time(window[1])}")
        # Ids escaped, times formatted by soql_datetime: no input reaches the SOQL unescaped.
        records = client.query(f"SELECT {EVENT_FIELDS} FROM Event WHERE {where}").records  # noqa: S608
        found: dict[int, list] = {}
        for record in records:
            if record["Id"] in own:
                continue
            email = owners[record["OwnerId"]]
            item = _item(record, zones[email])
            found.setdefault(members[email].id, []).extend(item.intervals)
        return found

    return ask
