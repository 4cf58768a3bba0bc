"""予約ページ > 詳細設定 > Salesforce: availability, the page's settings, mapping overview (P1-P5).

A thin layer over the connection (C1, C7) and the pure rules of ``field_mapping``: the Lead
describe always comes from the per-connection cache (``describe_cache``), so a warm cache answers
the mapping checks and the autocomplete without any Salesforce call (M5, S8). The caller loads
the connection row once and passes it in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from webapp.extensions import db
from webapp.integrations import salesforce as sf
from webapp.models import (
    BookingPage,
    CancelAction,
    FormField,
    Organization,
    Plan,
    SalesforceConnection,
)
from webapp.services.salesforce import connections, describe_cache, field_mapping
from webapp.services.salesforce.settings import SalesforceSettings

log = logging.getLogger(__name__)

# Why the screen (or one of its checkboxes) is disabled; the template words each reason.
PERSONAL, PLAN, NOT_CONNECTED, BROKEN, PREMIUM_ONLY = (
    "personal", "plan", "not_connected", "broken", "premium_only")
SETTINGS = ("sf_split_name", "sf_create_lead", "sf_create_event", "sf_map_fields",
            "sf_company_placeholder", "sf_cancel_action", "sf_lead_owner", "route_by_owner",
            "route_owner_source", "sf_outcome_field", "sf_outcome_held", "sf_outcome_no_show")


@dataclass(frozen=True)
class Availability:
    """Whether the page's Salesforce settings can be changed, and ④ in particular."""

    reason: str | None
    map_fields_reason: str | None

    @property
    def enabled(self) -> bool:
        return self.reason is None

    @property
    def map_fields_enabled(self) -> bool:
        return self.enabled and self.map_fields_reason is None


def availability(org: Organization, page: BookingPage,
                 conn: SalesforceConnection | None) -> Availability:
    """Team pages of connected enterprise/premium orgs only (C1, C7); ④ premium only (P4)."""
    if not page.is_team:
        reason = PERSONAL
    elif not connections.plan_allows(org):
        reason = PLAN
    elif conn is None:
        reason = NOT_CONNECTED
    elif conn.is_broken:
        reason = BROKEN
    else:
        reason = None
    premium = org.plan_enum.at_least(Plan.PREMIUM)
    return Availability(reason, None if premium else PREMIUM_ONLY)


def update_salesforce_settings(page: BookingPage, data: dict, allowed: Availability) -> None:
    """Store the four checkboxes, the company placeholder (L2) and the cancel action (S7).

    ④ keeps its stored value when the plan does not allow it: its checkbox is disabled on the
    screen, so it is absent from the form data, which must not read as "unticked".
    """
    for name in SETTINGS:
        if name not in data or (name == "sf_map_fields" and not allowed.map_fields_enabled):
            continue
        value = data[name]
        setattr(page, name, value.strip() if isinstance(value, str) else value)
    if page.sf_cancel_action not in {a.value for a in CancelAction}:
        page.sf_cancel_action = CancelAction.MARK.value
    if page.sf_lead_owner not in ("rules", "member"):
        page.sf_lead_owner = "rules"
    if page.route_owner_source not in ("record", "account"):
        page.route_owner_source = "record"
    db.session.flush()


def outcome_field_problem(field_name: str, held: str, no_show: str,
                          conn: SalesforceConnection | None,
                          conf: SalesforceSettings) -> str | None:
    """R7's save-time check of the Event field that records the outcome: it must exist, be
    writable, and be a checkbox or a picklist holding both values (``held``, ``no_show``).
    None when it is fine or not set; a message otherwise (the save is refused). Called before
    anything is changed: a cold describe is stored in its own transaction."""
    name = (field_name or "").strip()
    if not name:
        return None
    describe, problem = sobject_describe(conn, conf, "Event")
    if describe is None:
        return str(_l("Salesforceに接続できないため、行動の項目を確認できません。")) \
            if problem else None
    field = next((f for f in describe.get("fields", []) if f.get("name", "").lower() ==
                  name.lower()), None)
    if field is None:
        return str(_l("行動に項目 %(name)s がありません。", name=name))
    if not field.get("updateable"):
        return str(_l("行動の項目 %(name)s は更新できません。", name=name))
    if field.get("type") == "boolean":
        return None
    if field.get("type") != "picklist":
        return str(_l("実施結果には、チェックボックスか選択リストの項目を選んでください。"))
    values = {v.get("value") for v in field.get("picklistValues", []) if v.get("active", True)}
    missing = [v for v in (held, no_show) if v not in values]
    if missing:
        return str(_l("選択リスト %(name)s に値 %(values)s がありません。", name=name,
                      values="、".join(missing)))
    return None


def sobject_describe(conn: SalesforceConnection | None, conf: SalesforceSettings,
                     sobject: str) -> tuple[dict | None, str | None]:
    """Like ``lead_describe``, for another object (Event, R6, R7)."""
    if conn is None:
        return None, NOT_CONNECTED
    if conn.is_broken:
        return None, BROKEN
    try:
        client = connections.client_for(conn, conf)
        return describe_cache.describe_cached(conn, client, (sobject,), conf.describe_ttl,
                                              False)[sobject], None
    except sf.SalesforceAuthError:
        return None, BROKEN
    except sf.SalesforceError:
        return None, "unavailable"


def lead_describe(conn: SalesforceConnection | None, conf: SalesforceSettings,
                  refresh: bool = False) -> tuple[dict | None, str | None]:
    """The organization's cached Lead describe, or ``(None, reason)`` when it cannot be had.

    The reason is ``not_connected``, ``broken`` or ``unavailable`` (Salesforce down or an API
    error); callers degrade to "cannot check" instead of failing the request. A cold cache
    costs one describe call, stored for the next requests in its own transaction.
    """
    if conn is None:
        return None, NOT_CONNECTED
    if conn.is_broken:
        return None, BROKEN
    try:
        client = connections.client_for(conn, conf)
        return describe_cache.describe_cached(conn, client, ("Lead",), conf.describe_ttl,
                                              refresh)["Lead"], None
    except sf.SalesforceAuthError:
        return None, BROKEN
    except sf.SalesforceError as exc:
        log.info("Lead describe failed for org %s: %s", conn.organization_id, exc.code)
        return None, "unavailable"


def check_field_mapping(spec: field_mapping.FieldSpec, conn: SalesforceConnection | None,
                        conf: SalesforceSettings) -> field_mapping.MappingCheck:
    """The save-time verdict on a form field's Lead field (M1-M5).

    Its errors refuse the save; its warnings are shown once it is saved.
    """
    if not spec.salesforce_field:
        return field_mapping.MappingCheck()
    describe, _problem = lead_describe(conn, conf)
    return field_mapping.check_mapping(spec, describe)


@dataclass(frozen=True)
class MappingRow:
    """One custom field of the mapping overview (P5)."""

    field: FormField
    check: field_mapping.MappingCheck

    @property
    def type_label(self) -> str:
        key = self.check.type_key
        return field_mapping.type_label(key) if key else ""


def mapping_overview(page: BookingPage, describe: dict | None) -> list[MappingRow]:
    """Each custom field with its Salesforce field, type and check, in form order."""
    return [MappingRow(f, field_mapping.check_mapping(f, describe)) for f in page.fields]


def field_options(conn: SalesforceConnection | None, conf: SalesforceSettings,
                  form_field_type: str, query: str, sobject: str = "Lead",
                  ) -> tuple[list[field_mapping.FieldOption], str | None]:
    """Autocomplete suggestions from the cached describe, plus why there are none (M5); for
    the Event (R6) only its custom fields, the standard ones being Apo's own (E1)."""
    describe, problem = lead_describe(conn, conf) if sobject == "Lead" else \
        sobject_describe(conn, conf, "Event")
    if describe is None:
        return [], problem
    options = field_mapping.field_options(describe, form_field_type, query)
    if sobject == "Event":
        options = [o for o in options if o.name.lower().endswith("__c")]
    return options, None


def check_event_mapping(spec: field_mapping.FieldSpec, conn: SalesforceConnection | None,
                        conf: SalesforceSettings) -> field_mapping.MappingCheck:
    """R6: the save-time verdict on a form field's Event field, by the Lead's rules (M2-M5)."""
    if not spec.salesforce_field:
        return field_mapping.MappingCheck()
    describe, _problem = sobject_describe(conn, conf, "Event")
    return field_mapping.check_mapping(spec, describe)
