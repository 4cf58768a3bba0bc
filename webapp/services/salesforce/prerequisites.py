"""事前確認 (C9): the seed's prerequisites checked against the connected org, with few API calls.

Describe results are cached per connection in ``DescribeCache`` with a TTL
(SALESFORCE_DESCRIBE_TTL); a warm check screen costs no API call at all. Field autocomplete
(M5) reuses ``describe_cached``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.integrations import salesforce as sf
from webapp.models import BookingPage, DescribeCache, FormField, SalesforceConnection, utcnow
from webapp.services import connections

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"
LEAD_FIELDS = ("LastName", "FirstName", "Company", "Email")
EVENT_FIELDS = ("Type", "Subject", "Description", "StartDateTime", "EndDateTime", "WhoId",
                "OwnerId")


@dataclass
class Check:
    """One prerequisite: ``key`` selects the wording and fix in the template."""

    key: str
    status: str
    items: list[str] = field(default_factory=list)
    error: str = ""


def describe_cached(conn: SalesforceConnection, sobjects: tuple[str, ...],
                    refresh: bool = False) -> dict[str, dict]:
    """Describe results for ``sobjects``, from the cache unless stale, missing or ``refresh``.

    Misses are all fetched before any row is written, so no write is pending while the client
    may need to refresh its token (see services/connections). The caller commits.

    Raises:
        SalesforceError: a describe call failed (the cached rows stay untouched).
    """
    ttl = timedelta(seconds=current_app.config.get("SALESFORCE_DESCRIBE_TTL", 6 * 3600))
    rows = {row.sobject: row for row in db.session.scalars(
        select(DescribeCache).where(DescribeCache.connection_id == conn.id,
                                    DescribeCache.sobject.in_(sobjects)))}
    fresh = {name: row.data for name, row in rows.items()
             if not refresh and row.fetched_at > utcnow() - ttl}
    missing = [name for name in sobjects if name not in fresh]
    if not missing:
        return fresh
    client = connections.client_for_org(conn.organization_id)
    fetched = {name: client.describe(name) for name in missing}
    for name, data in fetched.items():
        row = rows.get(name) or DescribeCache(connection_id=conn.id, sobject=name)
        row.data, row.fetched_at = data, utcnow()
        db.session.add(row)
    if client.last_limit_info:
        conn.last_limit_info = client.last_limit_info
    db.session.flush()
    return fresh | fetched


def cache_fetched_at(conn: SalesforceConnection) -> object:
    """When the oldest cached describe was fetched (shown next to the refresh button)."""
    return db.session.scalar(select(db.func.min(DescribeCache.fetched_at))
                             .where(DescribeCache.connection_id == conn.id))


def run_checks(conn: SalesforceConnection, refresh: bool = False) -> list[Check]:
    """The five checks of the seed's 事前確認, in the seed's order (C9)."""
    try:
        describes = describe_cached(conn, ("Lead", "Event"), refresh)
    except sf.SalesforceRequestError as exc:
        api = FAIL if exc.code in ("API_DISABLED_FOR_ORG", "INSUFFICIENT_ACCESS") else UNKNOWN
        rest = [Check(k, UNKNOWN, error=exc.code or "") for k in ("lead_fields", "required",
                                                                   "event_fields")]
        return [Check("api", api, error=exc.code or ""), _profile_check(conn), *rest]
    except sf.SalesforceError as exc:
        unknown = [Check(k, UNKNOWN, error=exc.code or "") for k in
                   ("api", "lead_fields", "required", "event_fields")]
        return [unknown[0], _profile_check(conn), *unknown[1:]]
    if refresh:
        _refresh_profile(conn)
    lead, event = describes["Lead"], describes["Event"]
    return [Check("api", PASS), _profile_check(conn), _lead_fields_check(conn, lead),
            _required_check(lead), _event_check(event)]


def _refresh_profile(conn: SalesforceConnection) -> None:
    # The profile check reads what was stored at connect time; the refresh button re-reads it.
    try:
        connections.refresh_profile(conn)
    except sf.SalesforceError:
        pass  # the stored profile stays; the describes above already succeeded


def _profile_check(conn: SalesforceConnection) -> Check:
    if conn.sf_is_admin is None:
        return Check("profile", UNKNOWN)
    return Check("profile", PASS if conn.sf_is_admin else FAIL, [conn.sf_profile_name])


def _fields(describe: dict) -> dict[str, dict]:
    return {f["name"]: f for f in describe.get("fields", [])}


def _lead_fields_check(conn: SalesforceConnection, lead: dict) -> Check:
    """The standard Lead fields Apo writes plus every mapped form field must be visible."""
    mapped = db.session.scalars(
        select(FormField.salesforce_field).join(BookingPage)
        .where(BookingPage.organization_id == conn.organization_id,
               FormField.salesforce_field != "").distinct())
    names = list(LEAD_FIELDS) + sorted(set(mapped) - set(LEAD_FIELDS))
    visible = {name.lower() for name in _fields(lead)}
    missing = [name for name in names if name.lower() not in visible]
    return Check("lead_fields", FAIL if missing else PASS, missing)


def _required_check(lead: dict) -> Check:
    """Custom Lead fields Salesforce requires on create that have no default (seed item 4)."""
    required = [
        f["name"] for f in lead.get("fields", [])
        if f.get("custom") and f.get("createable") and not f.get("nillable")
        and not f.get("defaultedOnCreate") and f.get("type") != "boolean"
        and f.get("defaultValue") is None and not f.get("defaultValueFormula")
    ]
    return Check("required", FAIL if required else PASS, required)


def _event_check(event: dict) -> Check:
    fields = _fields(event)
    missing = [name for name in EVENT_FIELDS
               if name not in fields or not fields[name].get("createable")]
    return Check("event_fields", FAIL if missing else PASS, missing)
