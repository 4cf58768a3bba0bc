"""Pure decisions of the sync engine: queries, who gets the Event, its owner, the payloads.

No database and no I/O: every function takes plain values (or model instances whose
relationships are already loaded) and returns plain values, so the rules of the seed (L1-L4,
E1-E3, M1, M3, M6, M7, S7) are unit-tested here without Salesforce.

The text written into Salesforce (Subject, Description) is in Japanese on purpose: it is data in
the customer's Salesforce org, like the seed's examples, not UI text that follows the admin's
language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from webapp.integrations.salesforce import api_datetime, escape_soql, soql_datetime
from webapp.models import FieldType
from webapp.services import meetings
from webapp.services.salesforce import field_mapping
from webapp.services.sync import values as sf_values

EVENT_TYPE = "Meeting"
CANCEL_PREFIX = "キャンセル: "
SUBJECT_MAX = 255
DESCRIPTION_MAX = 32000
LOCATION_MAX = 255
MATCH_LIMIT = 50


@dataclass(frozen=True)
class Who:
    """The Lead or Contact the Event goes on (E2), and how many records matched the email."""

    sobject: str
    id: str
    candidates: int


@dataclass(frozen=True)
class Owner:
    """The Event's OwnerId (E3); ``member_email`` is None when it is the connecting user."""

    id: str
    member_email: str | None


# --- SOQL (L1, P5): the default email field only, escaped; `=` is case-insensitive ----------

def lead_soql(email: str) -> str:
    """Unconverted Leads with this email, most recently modified first (L1, E2)."""
    return ("SELECT Id, LastModifiedDate, CreatedDate FROM Lead "  # noqa: S608 - escaped
            f"WHERE Email = '{escape_soql(email)}' AND IsConverted = false "
            f"ORDER BY LastModifiedDate DESC LIMIT {MATCH_LIMIT}")


def contact_soql(email: str) -> str:
    """Contacts with this email, most recently modified first (L1, E2)."""
    return ("SELECT Id, LastModifiedDate FROM Contact "  # noqa: S608 - escaped
            f"WHERE Email = '{escape_soql(email)}' "
            f"ORDER BY LastModifiedDate DESC LIMIT {MATCH_LIMIT}")


def event_soql(subject: str, start: datetime,
               earlier: list[tuple[str, datetime]] | tuple = ()) -> str:
    """Events this booking may already have created (S4): same start and subject, or any
    (subject, start) an earlier attempt sent before the booking moved (S9)."""
    keys = list(dict.fromkeys([(subject, start), *earlier]))
    where = " OR ".join(f"(Subject = '{escape_soql(s)}' AND StartDateTime = {soql_datetime(t)})"
                        for s, t in keys)
    return f"SELECT Id, WhoId FROM Event WHERE {where}"  # noqa: S608 - escaped


USERS_SOQL = "SELECT Id, Name, Email FROM User WHERE IsActive = true"


# --- E2, E3 ------------------------------------------------------------------------------------

def choose_who(leads: list[dict], contacts: list[dict]) -> Who | None:
    """Lead before Contact; among several, the most recently modified (E2)."""
    for sobject, records in (("Lead", leads), ("Contact", contacts)):
        if records:
            newest = max(records, key=lambda r: r.get("LastModifiedDate") or "")
            return Who(sobject, newest["Id"], len(records))
    return None


def choose_owner(member_emails: list[str], users: list[dict], fallback_user_id: str) -> Owner:
    """The first attending member (page order) whose email is an active user's (E3)."""
    by_email: dict[str, str] = {}
    for user in users:
        by_email.setdefault((user.get("Email") or "").casefold(), user["Id"])
    for email in member_emails:
        user_id = by_email.get((email or "").casefold())
        if email and user_id:
            return Owner(user_id, email)
    return Owner(fallback_user_id, None)


# --- What applies (skipped reasons) ----------------------------------------------------------

def skip_reason(plan_ok: bool, is_team: bool, create_lead: bool, create_event: bool,
                map_fields: bool) -> str | None:
    """Why a booking's sync has nothing to do in Salesforce, or None when something applies."""
    if not plan_ok:
        return "plan"
    if not is_team:
        return "personal_page"
    if not (create_lead or create_event or map_fields):
        return "no_settings"
    return None


# --- Lead (L2, P1, M1, M6, M7) -----------------------------------------------------------------

def customer_name(booking) -> str:
    return booking.name or f"{booking.last_name} {booking.first_name}".strip()


def new_lead_fields(booking, split_name: bool, placeholder: str) -> dict:
    """LastName (+ FirstName with ①), Company or the page's placeholder, Email (L2, P1)."""
    if split_name and booking.last_name:
        fields = {"LastName": booking.last_name}
        if booking.first_name:
            fields["FirstName"] = booking.first_name
    else:
        fields = {"LastName": customer_name(booking)}
    fields["Company"] = booking.company.strip() or placeholder or "未入力"
    fields["Email"] = booking.email
    return fields


def mapped_lead_fields(form_fields, answers: dict, lead_describe: dict | None,
                       existing: bool) -> tuple[dict, list[dict]]:
    """Mapped answers as Lead values, plus a warning per field left out (M1, M3, M6, M7).

    On an existing Lead (M6) hidden fields always overwrite; shown fields only when answered.
    """
    values, warnings = {}, []
    for form_field in form_fields:
        name = (form_field.salesforce_field or "").strip()
        kind = form_field.field_type
        if not name or not field_mapping.mappable_type(kind) or \
                field_mapping.is_default_field(name):
            continue
        raw = form_field.hidden_value if kind == FieldType.HIDDEN.value \
            else answers.get(str(form_field.id))
        if sf_values.is_blank(raw):
            continue  # blank: nothing to write on a new Lead, keep the value on an old one (M6)
        sf_field = field_mapping.find_field(lead_describe, name)
        if sf_field is None:
            warnings.append(_dropped(name, raw, "field_missing"))
            continue
        if field_mapping.describe_type_key(sf_field) not in \
                field_mapping.compatible_types(kind):
            warnings.append(_dropped(name, raw, "incompatible_type"))
            continue
        converted = sf_values.convert(raw, sf_field)
        if isinstance(converted, sf_values.Dropped):
            warnings.append(_dropped(name, converted.value, converted.reason))
            continue
        values[sf_field["name"]] = converted
    return values, warnings


def _dropped(field: str, value, reason: str) -> dict:
    return {"code": "field_dropped", "field": field, "value": sf_values.display(value)[:200],
            "reason": reason}


# --- Event (E1, S7) ----------------------------------------------------------------------------

def event_subject(page_title: str, booking) -> str:
    return f"{page_title}: {customer_name(booking)}様"[:SUBJECT_MAX]


def _time_range(booking, tz: str) -> str:
    zone = ZoneInfo(tz)
    start, end = booking.start_at.astimezone(zone), booking.end_at.astimezone(zone)
    weekday = "月火水木金土日"[start.weekday()]
    return f"{start:%Y/%m/%d}({weekday}) {start:%H:%M} - {end:%H:%M} ({tz})"


def _answer_lines(form_fields, answers: dict) -> list[str]:
    lines = []
    for form_field in form_fields:
        value = form_field.hidden_value if form_field.field_type == FieldType.HIDDEN.value \
            else answers.get(str(form_field.id))
        if not sf_values.is_blank(value):
            shown = "、".join(value) if isinstance(value, list) else str(value)
            lines.append(f"{form_field.label}: {shown}")
    return lines


def event_description(booking, page, tz: str, cancel_reason: str | None = None) -> str:
    """Page, time, attending members, attendees and the form answers (E1)."""
    lines = [f"予約ページ: {page.title}", f"日時: {_time_range(booking, tz)}",
             "参加する社員: " + "、".join(m.name for m in booking.members),
             f"お客様: {customer_name(booking)} <{booking.email}>"
             + (f" ({booking.company})" if booking.company else "")]
    attendees = [f"{a.get('name', '')} <{a.get('email', '')}>" for a in booking.attendees or []]
    lines.append("同席者: " + ("、".join(attendees) if attendees else "なし"))
    answers = _answer_lines(page.fields, booking.answers or {})
    if answers:
        lines += ["", "予約フォームの回答:", *answers]
    if cancel_reason is None:
        lines += meetings.description_lines(meetings.where(booking, page))  # V2
    if cancel_reason is not None:
        lines += ["", "この予約はキャンセルされました。",
                  "キャンセル理由: " + (cancel_reason.strip() or "(記入なし)")]
    text = "\n".join(lines)
    return text if len(text) <= DESCRIPTION_MAX else text[:DESCRIPTION_MAX - 1] + "…"


def event_fields(booking, page, tz: str, who_id: str, owner_id: str) -> dict:
    """The seven Event fields of E1 (and the seed's prerequisite 5)."""
    return {"Type": EVENT_TYPE, "Subject": event_subject(page.title, booking),
            "Description": event_description(booking, page, tz),
            "StartDateTime": api_datetime(booking.start_at),
            "EndDateTime": api_datetime(booking.end_at), "WhoId": who_id, "OwnerId": owner_id,
            **event_location(booking, page)}


def event_location(booking, page) -> dict:
    """V2: the Event's standard Location (255 characters): the join link, the address or the
    phone number; nothing while an online meeting's link is still being made."""
    place = meetings.where(booking, page)
    if not place.shown or place.follows or not place.text:
        return {}
    return {"Location": place.text[:LOCATION_MAX]}


def moved_event_fields(booking, page, tz: str) -> dict:
    """Rescheduling moves the same Event: new start, end and the time in the description;
    the meeting's place too (a new host's link, or one that came after the Event, V2)."""
    return {"StartDateTime": api_datetime(booking.start_at),
            "EndDateTime": api_datetime(booking.end_at),
            "Description": event_description(booking, page, tz),
            **event_location(booking, page)}


def cancelled_event_fields(booking, page, tz: str) -> dict:
    """Cancelling keeps the Event: subject prefixed with キャンセル, reason described (S7).

    Show Time As becomes Free: the kept Event is history and must stop blocking the
    salesperson's calendar (ShowAs is a standard, updateable Event picklist).
    """
    subject = (CANCEL_PREFIX + event_subject(page.title, booking))[:SUBJECT_MAX]
    return {"Subject": subject, "ShowAs": "Free",
            "Description": event_description(booking, page, tz, booking.cancel_reason or "")}
