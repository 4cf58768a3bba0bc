"""事前確認 (C9): the seed's prerequisites checked against the connected org, with few API calls.

The Lead and Event describes come from the per-connection cache (``describe_cache``), so a warm
check screen costs no API call at all.
"""

from __future__ import annotations

import ipaddress
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
    ranges: list[tuple[str, str]] = field(default_factory=list)


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
        return [Check("api", api, error=exc.code or ""), _ip_unknown(conf, exc), *rest,
                _profile_check(conn)]
    except sf.SalesforceError as exc:
        unknown = [Check(k, UNKNOWN, error=exc.code or "") for k in
                   ("api", "lead_fields", "required", "event_fields")]
        return [unknown[0], _ip_unknown(conf, exc), *unknown[1:], _profile_check(conn)]
    if refresh:
        _refresh_profile(conn, client)
    lead, event = describes["Lead"], describes["Event"]
    # The seed's five items keep their numbers (fixes elsewhere cite them); the profile of the
    # connecting user is Apo's own sixth item.
    return [Check("api", PASS), _ip_check(conn, client, conf, refresh),
            _lead_fields_check(conn, lead), _required_check(lead), _event_check(event),
            _profile_check(conn)]


IP_RANGES_KEY = "LoginIpRange@profile"


def _ip_unknown(conf: SalesforceSettings, exc: sf.SalesforceError) -> Check:
    return Check("ip", UNKNOWN, list(conf.outbound_ips), error=exc.code or "")


def _ip_check(conn: SalesforceConnection, client: sf.SalesforceClient,
              conf: SalesforceSettings, refresh: bool) -> Check:
    """Seed item 2: do the connecting user's profile login IP ranges let Apo's outbound
    addresses in? No range at all means no restriction. Cached like the describes."""
    def fetch() -> dict:
        return {"ranges": [list(r) for r in client.login_ip_ranges(conn.sf_user_id)]}

    try:
        ranges = [tuple(r) for r in describe_cache.cached_value(
            conn, IP_RANGES_KEY, fetch, conf.describe_ttl, refresh)["ranges"]]
    except sf.SalesforceError as exc:
        return _ip_unknown(conf, exc)
    if not ranges:
        return Check("ip", PASS, list(conf.outbound_ips))
    if not conf.outbound_ips:
        return Check("ip", UNKNOWN, error="no_outbound_ips", ranges=ranges)
    blocked = [ip for ip in conf.outbound_ips if not any(_within(ip, *r) for r in ranges)]
    return Check("ip", FAIL if blocked else PASS, blocked or list(conf.outbound_ips),
                 ranges=ranges)


def _within(address: str, start: str, end: str) -> bool:
    try:
        ip, low, high = (ipaddress.ip_address(a.strip()) for a in (address, start, end))
    except ValueError:
        return False
    return ip.version == low.version == high.version and low <= ip <= high


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
