"""Microsoft Graph v1.0: /me, calendars, calendarView (+ delta), revokeSignInSessions.

Event reads and writes are in graph_events.py (same blueprint)."""

from __future__ import annotations

from flask import Blueprint, g, request

from . import delta, events
from .api import (
    READ,
    base_url,
    graph_call,
    mailbox_route,
    page_size,
    response_zone,
    tenant,
    with_applied,
)
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


@mailbox_route(bp, "", methods=["GET"])
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


@mailbox_route(bp, "/calendars", methods=["GET"])
@graph_call(READ)
def list_calendars():
    found = [_calendar_body(c) for c in tenant().user_calendars(g.user_id)]
    return _paged(found, f"users('{g.user_id}')/calendars")


@mailbox_route(bp, "/calendar", methods=["GET"])
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


@mailbox_route(bp, "/calendarView", methods=["GET"])
@mailbox_route(bp, "/calendar/calendarView", methods=["GET"])
@mailbox_route(bp, "/calendars/<calendar_id>/calendarView", methods=["GET"])
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


# Graph serves delta both as a path segment and in OData function form (``delta()``), which
# is what msgraph-sdk builds (users/item/calendar_view/delta/delta_request_builder.py).
@mailbox_route(bp, "/calendarView/delta", methods=["GET"])
@mailbox_route(bp, "/calendarView/delta()", methods=["GET"])
@mailbox_route(bp, "/calendar/calendarView/delta", methods=["GET"])
@mailbox_route(bp, "/calendar/calendarView/delta()", methods=["GET"])
@mailbox_route(bp, "/calendars/<calendar_id>/calendarView/delta", methods=["GET"])
@mailbox_route(bp, "/calendars/<calendar_id>/calendarView/delta()", methods=["GET"])
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
