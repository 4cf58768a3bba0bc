"""Microsoft Graph v1.0: /me, calendars, calendarView (+ delta), events, revokeSignInSessions."""

from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, g, request

from . import delta, events
from .api import READ, WRITE, base_url, graph_call, page_size, response_zone, tenant, with_applied
from .errors import graph_error, json_response
from .timezones import parse_query_datetime

bp = Blueprint("graph", __name__, url_prefix="/v1.0")
NOT_FOUND = "The specified object was not found in the store."
WINDOW_REQUIRED = ("This request requires a time window specified by the query string "
                   "parameters StartDateTime and EndDateTime.")
SYNC_STATE_GONE = ("The sync state generation is not found. The delta token is expired and "
                   "data must be synchronized again.")


def _user():
    return tenant().users[g.user_id]


def _context(path: str) -> str:
    return f"{base_url()}/$metadata#{path}"


@bp.get("/me")
@graph_call(("User.Read",))
def me():
    user = _user()
    body = {"@odata.context": _context("users/$entity")}
    body.update({k: user[k] for k in ("businessPhones", "displayName", "givenName", "jobTitle",
                                      "mail", "mobilePhone", "officeLocation",
                                      "preferredLanguage", "surname", "userPrincipalName",
                                      "id")})
    return json_response(body)


@bp.post("/me/revokeSignInSessions")
@graph_call(None)
def revoke_sign_in_sessions():
    revoke_user(tenant(), g.user_id, access_tokens=False)
    return json_response({"@odata.context": _context("Edm.Boolean"), "value": True})


def revoke_user(t, user_id: str, access_tokens: bool) -> None:
    """Refresh tokens (and, for tests, access tokens) of the user stop working."""
    for saved in t.refresh_tokens.values():
        if saved["user_id"] == user_id:
            saved["revoked"] = True
    if access_tokens:
        for grant in t.access_tokens.values():
            if grant["user_id"] == user_id:
                grant["revoked"] = True
    for session_id in [s for s, u in t.browser_sessions.items() if u == user_id]:
        del t.browser_sessions[session_id]


def _calendar_body(calendar: dict) -> dict:
    body = {k: v for k, v in calendar.items() if k not in ("owner", "owner_address")}
    body["owner"] = calendar["owner_address"]
    return body


@bp.get("/me/calendars")
@graph_call(READ)
def list_calendars():
    found = [_calendar_body(c) for c in tenant().user_calendars(g.user_id)]
    return _paged(found, f"users('{g.user_id}')/calendars")


@bp.get("/me/calendar")
@graph_call(READ)
def default_calendar():
    body = {"@odata.context": _context(f"users('{g.user_id}')/calendars/$entity")}
    body.update(_calendar_body(tenant().default_calendar(g.user_id)))
    return json_response(body)


def _paged(items: list, context: str, applied=None):
    applied = applied if applied is not None else []
    top = request.args.get("$top", type=int) or page_size(applied, 10)
    skip = request.args.get("$skip", type=int) or 0
    body = {"@odata.context": _context(context), "value": items[skip:skip + top]}
    if skip + top < len(items):
        query = {k: v for k, v in request.args.items() if k not in ("$skip", "$top")}
        query.update({"$top": top, "$skip": skip + top})
        body["@odata.nextLink"] = request.base_url + "?" + "&".join(
            f"{k}={v}" for k, v in query.items())
    return with_applied(json_response(body), applied)


def _calendar(calendar_id: str | None):
    t = tenant()
    if calendar_id is None:
        return t.default_calendar(g.user_id)
    calendar = t.calendars.get(calendar_id)
    return calendar if calendar and calendar["owner"] == g.user_id else None


def _window():
    args = {k.lower(): v for k, v in request.args.items()}
    if not args.get("startdatetime") or not args.get("enddatetime"):
        return None
    return (parse_query_datetime(args["startdatetime"]),
            parse_query_datetime(args["enddatetime"]))


@bp.get("/me/calendarView")
@bp.get("/me/calendars/<calendar_id>/calendarView")
@graph_call(READ)
def calendar_view(calendar_id=None):
    calendar = _calendar(calendar_id)
    if calendar is None:
        return graph_error(404, "ErrorItemNotFound", NOT_FOUND)
    try:
        window = _window()
    except ValueError:
        return graph_error(400, "ErrorInvalidParameter", WINDOW_REQUIRED)
    if window is None:
        return graph_error(400, "ErrorInvalidParameter", WINDOW_REQUIRED)
    applied: list = []
    tz_name = response_zone(applied)
    found = [events.render(tenant(), e, tz_name)
             for e in events.instances(tenant(), calendar["id"], *window)]
    return _paged(found, "Collection(event)", applied=applied)


@bp.get("/me/calendarView/delta")
@bp.get("/me/calendars/<calendar_id>/calendarView/delta")
@graph_call(READ)
def calendar_view_delta(calendar_id=None):
    t = tenant()
    args = {k.lower(): v for k, v in request.args.items()}
    applied: list = []
    tz_name = response_zone(applied)
    size = page_size(applied, t.settings["default_page_size"])
    if "$skiptoken" in args or "$deltatoken" in args:
        try:
            round_ = delta.resume(t, g.user_id, args.get("$skiptoken"), args.get("$deltatoken"))
        except delta.DeltaTokenGone:
            return graph_error(410, "SyncStateNotFound", SYNC_STATE_GONE,
                               {"Location": request.base_url})
    else:
        calendar = _calendar(calendar_id)
        if calendar is None:
            return graph_error(404, "ErrorItemNotFound", NOT_FOUND)
        try:
            window = _window()
        except ValueError:
            window = None
        if window is None:
            return graph_error(400, "ErrorInvalidParameter", WINDOW_REQUIRED)
        round_ = delta.start_round(t, g.user_id, calendar["id"], *window, previous=None)
    page, skip = delta.take_page(t, round_, size)
    value = []
    current = {e["id"]: e for e in events.instances(t, round_["calendar_id"], round_["start"],
                                                    round_["end"])}
    for kind, instance_id in page:
        if kind == "upsert" and instance_id in current:
            value.append(events.render(t, current[instance_id], tz_name))
        else:
            value.append({"@odata.type": "#microsoft.graph.event", "id": instance_id,
                          "@removed": {"reason": "deleted"}})
    body = {"@odata.context": _context("Collection(event)")}
    if skip:
        body["@odata.nextLink"] = f"{request.base_url}?$skiptoken={skip}"
    else:
        body["@odata.deltaLink"] = f"{request.base_url}?$deltatoken={delta.finish_round(t, round_)}"
    body["value"] = value
    return with_applied(json_response(body), applied)


_ICAL_FILTER = re.compile(r"^\s*iCalUId\s+eq\s+'((?:[^']|'')*)'\s*$")
# singlevaluelegacyextendedproperty-get: "Get resource instances filtered by a property value".
_EXTENDED_FILTER = re.compile(
    r"^\s*singleValueExtendedProperties/Any\(\s*ep\s*:\s*ep/id\s+eq\s+'((?:[^']|'')*)'"
    r"\s+and\s+ep/value\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$", re.IGNORECASE)


def _matches(event: dict, raw_filter: str) -> bool | None:
    """Whether the event passes ``$filter``; None for a filter the emulator does not know."""
    ical = _ICAL_FILTER.match(raw_filter)
    if ical:
        return event["iCalUId"] == ical.group(1).replace("''", "'")
    extended = _EXTENDED_FILTER.match(raw_filter)
    if extended:
        wanted_id, wanted = (g.replace("''", "'") for g in extended.groups())
        return any(p["id"].lower() == wanted_id.lower() and p["value"] == wanted
                   for p in event.get("singleValueExtendedProperties") or [])
    return None


@bp.get("/me/events")
@graph_call(READ)
def list_events():
    t = tenant()
    applied: list = []
    tz_name = response_zone(applied)
    mine = [e for e in t.events.values() if e["owner"] == g.user_id]
    raw_filter = request.args.get("$filter")
    if raw_filter:
        if _matches({"iCalUId": ""}, raw_filter) is None:
            return graph_error(400, "ErrorInvalidUrlQueryFilter",
                               "The query filter contains one or more invalid nodes.")
        mine = [e for e in mine if _matches(e, raw_filter)]
    mine.sort(key=lambda e: e["createdDateTime"])
    return _paged([events.render(t, e, tz_name) for e in mine], "Collection(event)",
                  applied=applied)


@bp.post("/me/events")
@bp.post("/me/calendars/<calendar_id>/events")
@graph_call(WRITE)
def create_event(calendar_id=None):
    t = tenant()
    calendar = _calendar(calendar_id)
    if calendar is None:
        return graph_error(404, "ErrorItemNotFound", NOT_FOUND)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return graph_error(400, "BadRequest", "Empty Payload. JSON content expected.")
    applied: list = []
    tz_name = response_zone(applied)
    transaction_id = body.get("transactionId")
    if transaction_id:
        for existing in t.events.values():
            if existing["owner"] == g.user_id and existing.get("transactionId") == \
                    transaction_id:
                return with_applied(_created(t, existing, tz_name), applied)
    try:
        event = events.new_event(t, g.user_id, calendar["id"], body)
    except events.EventError as exc:
        return graph_error(400, exc.code, str(exc))
    t.events[event["id"]] = event
    return with_applied(_created(t, event, tz_name), applied)


def _created(t, event, tz_name):
    body = {"@odata.context": _context(f"users('{g.user_id}')/events/$entity")}
    body.update(events.render(t, event, tz_name))
    response = json_response(body, 201)
    response.headers["Location"] = f"{base_url()}/users('{g.user_id}')/events('{event['id']}')"
    return response


def _lookup(event_id: str):
    """(stored event, occurrence key or None) owned by the caller, else None."""
    t = tenant()
    stored = t.events.get(event_id)
    if stored is not None:
        return (stored, None) if stored["owner"] == g.user_id else None
    found = events.find_occurrence(t, event_id)
    if found and found[0]["owner"] == g.user_id:
        return found
    return None


def _instance(stored, key):
    if key is None:
        return stored
    until = key_time(key) + dt.timedelta(days=1)
    for k, start, end in events.occurrences(stored, until):
        if k == key:
            return events.occurrence(stored, k, start, end, stored["exceptions"].get(k))
    return None


def key_time(key: str) -> dt.datetime:
    return dt.datetime.strptime(key, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


@bp.get("/me/events/<event_id>")
@graph_call(READ)
def get_event(event_id):
    found = _lookup(event_id)
    instance = _instance(*found) if found else None
    if instance is None or (found[1] and found[0]["exceptions"].get(found[1], {}).get(
            "cancelled")):
        return graph_error(404, "ErrorItemNotFound", NOT_FOUND)
    applied: list = []
    body = events.render(tenant(), instance, response_zone(applied))
    return with_applied(json_response(body), applied)


@bp.patch("/me/events/<event_id>")
@graph_call(WRITE)
def update_event(event_id):
    t = tenant()
    found = _lookup(event_id)
    if found is None:
        return graph_error(404, "ErrorItemNotFound", NOT_FOUND)
    stored, key = found
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return graph_error(400, "BadRequest", "Empty Payload. JSON content expected.")
    try:
        if key is None:
            events.apply_body(t, stored, body, creating=False)
        else:
            _update_occurrence(t, stored, key, body)
    except events.EventError as exc:
        return graph_error(400, exc.code, str(exc))
    applied: list = []
    rendered = events.render(t, _instance(stored, key), response_zone(applied))
    return with_applied(json_response(rendered), applied)


def _update_occurrence(t, master, key, body) -> None:
    """Changing one occurrence turns it into an exception of its series."""
    if "recurrence" in body:
        raise events.EventError("ErrorInvalidRequest",
                                "An occurrence's recurrence cannot be changed.")
    current = _instance(master, key)
    scratch = {k: v for k, v in current.items()}
    events.apply_body(t, scratch, {k: v for k, v in body.items() if k != "transactionId"},
                      creating=False)
    override = {k: scratch[k] for k in ("start", "end", "start_tz", "end_tz", "subject", "body",
                                        "showAs", "isAllDay", "location", "changeKey",
                                        "lastModifiedDateTime", "sensitivity", "categories")}
    master["exceptions"][key] = override


@bp.delete("/me/events/<event_id>")
@graph_call(WRITE)
def delete_event(event_id):
    t = tenant()
    found = _lookup(event_id)
    if found is None or (found[1] and found[0]["exceptions"].get(found[1], {}).get(
            "cancelled")):
        return graph_error(404, "ErrorItemNotFound", NOT_FOUND)
    stored, key = found
    if key is None:
        del t.events[stored["id"]]
    else:
        stored["exceptions"][key] = {"cancelled": True}
    response = json_response({}, 204)
    response.set_data(b"")
    return response
