"""事前確認 (C9): the seed's prerequisites checked against the connected org, with few API calls.

The Lead and Event describes come from the per-connection cache (``describe_cache``), so a warm
check screen costs no API call at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from webapp.extensions import db
from webapp.integrations import salesforce as sf
from webapp.models import BookingPage, FormField, SalesforceConnection
from webapp.services.salesforce import connections, describe_cache
from webapp.services.salesforce.settings import SalesforceSettings

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


def run_checks(conn: SalesforceConnection, conf: SalesforceSettings,
               refresh: bool = False) -> list[Check]:
    """The five checks of the seed's 事前確認, in the seed's order (C9).

    With ``refresh`` the profile is re-read too (a write on ``conn``; the caller commits).
    """
    try:
        client = connections.client_for(conn, conf)
        describes = describe_cache.describe_cached(conn, client, ("Lead", "Event"),
                                                   conf.describe_ttl, refresh)
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
        _refresh_profile(conn, client)
    lead, event = describes["Lead"], describes["Event"]
    return [Check("api", PASS), _profile_check(conn), _lead_fields_check(conn, lead),
            _required_check(lead), _event_check(event)]


def _refresh_profile(conn: SalesforceConnection, client: sf.SalesforceClient) -> None:
    # The profile check reads what was stored at connect time; the refresh button re-reads it.
    try:
        connections.refresh_profile(conn, client)
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
