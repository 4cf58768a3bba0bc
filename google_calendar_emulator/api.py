"""Calendar API v3 routes: calendarList.list, events.list/get/insert/import/patch/update/
delete/watch, channels.stop and freeBusy.query, behind Bearer tokens with scope checks, faults,
latency and usage counts."""

from __future__ import annotations

import functools
import secrets
import time

from flask import Blueprint, current_app, g, jsonify, request

from . import events as ev
from . import push
from .errors import ApiError, insufficient_scopes, render, unauthenticated
from .times import format_utc, parse_rfc3339

bp = Blueprint("calendar_api", __name__, url_prefix="/calendar/v3")
AUTH = "https://www.googleapis.com/auth/"
LIST_SCOPES = {"calendar", "calendar.readonly", "calendar.calendarlist",
               "calendar.calendarlist.readonly"}
READ_SCOPES = {"calendar", "calendar.readonly", "calendar.events", "calendar.events.readonly"}
OWNED_READ = {"calendar.events.owned", "calendar.events.owned.readonly"}
WRITE_SCOPES = {"calendar", "calendar.events"}
CHANNEL_SCOPES = {"calendar", "calendar.readonly", "calendar.events", "calendar.events.readonly",
                  "calendar.events.owned", "calendar.events.owned.readonly",
                  "calendar.events.freebusy", "calendar.calendarlist",
                  "calendar.calendarlist.readonly"}
FREEBUSY_SCOPES = {"calendar", "calendar.readonly", "calendar.events.freebusy",
                   "calendar.freebusy"}
SYNC_CONFLICTS = ("iCalUID", "orderBy", "privateExtendedProperty", "q",
                  "sharedExtendedProperty", "timeMin", "timeMax", "updatedMin")
ROLES = ["freeBusyReader", "reader", "writer", "owner"]


def store():
    return current_app.config["STORE"]


@bp.errorhandler(ApiError)
def _api_error(error):
    return render(error)


def endpoint(name: str, method: str):
    """Count the call, apply latency and faults, then authenticate the Bearer token.
    ``method`` is the RPC name Google reports in a scope error's details."""
    def wrap(view):
        @functools.wraps(view)
        def inner(**kwargs):
            s = store()
            header = request.headers.get("Authorization", "")
            token = header[7:] if header.startswith("Bearer ") else ""
            with s.lock:
                grant = s.access_tokens.get(token)
                if grant and grant["expires"] <= s.now():
                    grant = None
                s.count(name, grant["user"] if grant else None)
                fault = s.take_fault(name)
                latency = s.latency_ms
            if latency:
                time.sleep(latency / 1000)
            if fault:
                headers = {"Retry-After": str(fault["retry_after"])} if fault.get(
                    "retry_after") is not None else {}
                raise ApiError(fault["status"], fault["reason"], fault.get("message"),
                               headers=headers)
            if grant is None:
                raise unauthenticated(missing=not token)
            g.user, g.method = grant["user"], method
            g.scopes = {s_[len(AUTH):] for s_ in grant["scope"].split() if s_.startswith(AUTH)}
            with s.lock:
                return view(**kwargs)
        return inner
    return wrap


def need(scopes: set[str], calendar_id: str | None = None, write: bool = False) -> str:
    """Check the token's scopes and the user's role on the calendar; returns the calendar id."""
    s = store()
    owned_ok = calendar_id is not None and (OWNED_READ | {"calendar.events.owned"}) & g.scopes
    cal = s.resolve(g.user, calendar_id) if calendar_id else None
    role = s.role(g.user, cal) if cal else None
    if cal and (role is None or (role == "freeBusyReader")):
        raise ApiError(404, "notFound")
    allowed = bool(scopes & g.scopes)
    if not allowed and owned_ok and role == "owner":
        allowed = not write or "calendar.events.owned" in g.scopes
    if not allowed:
        raise insufficient_scopes(g.method, " ".join(AUTH + x for x in sorted(scopes)))
    if write and role not in ("writer", "owner"):
        raise ApiError(403, "requiredAccessLevel",
                       "You need to have writer access to this calendar.")
    return cal


def _bool(name: str) -> bool:
    return request.args.get(name, "false").lower() == "true"


@bp.get("/users/me/calendarList")
@endpoint("GET /calendar/v3/users/me/calendarList", "calendar.v3.CalendarList.List")
def calendar_list():
    need(LIST_SCOPES)
    s = store()
    minimum = request.args.get("minAccessRole")
    items = []
    for cal_id, cal in s.calendars.items():
        role = cal["acl"].get(g.user)
        if role is None or (minimum in ROLES and ROLES.index(role) < ROLES.index(minimum)):
            continue
        entry = {"kind": "calendar#calendarListEntry", "etag": '"1"', "id": cal_id,
                 "summary": cal["summary"], "timeZone": cal["timeZone"], "colorId": "14",
                 "backgroundColor": "#9fe1e7", "foregroundColor": "#000000",
                 "selected": True, "accessRole": role, "defaultReminders": [],
                 "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}}
        if cal_id == g.user:
            entry["primary"] = True
        items.append(entry)
    return jsonify({"kind": "calendar#calendarList", "etag": '"p1"',
                    "nextSyncToken": "CL" + secrets.token_urlsafe(12), "items": items})


def _list_params(cal_id: str) -> dict:
    args = request.args
    p = {"singleEvents": _bool("singleEvents"), "showDeleted": _bool("showDeleted"),
         "iCalUID": args.get("iCalUID"), "orderBy": args.get("orderBy"),
         "updatedMin": args.get("updatedMin"), "q": args.get("q"),
         "timeMin": parse_rfc3339(args.get("timeMin"), "timeMin"),
         "timeMax": parse_rfc3339(args.get("timeMax"), "timeMax")}
    if p["timeMin"] and p["timeMax"] and p["timeMax"] <= p["timeMin"]:
        raise ApiError(400, "timeRangeEmpty", location="timeMax")
    if p["orderBy"] == "startTime" and not p["singleEvents"]:
        raise ApiError(400, "badRequest", "The requested ordering is not available for the "
                       "particular query.", "orderBy")
    return p


def _take_sync_token(s, cal_id: str, value: str) -> dict:
    if any(request.args.get(name) for name in SYNC_CONFLICTS):
        raise ApiError(400, "invalid", "Sync token cannot be used with other filters.",
                       "syncToken")
    token = s.sync_tokens.get(value)
    if token is None or token["calendar"] != cal_id or token["user"] != g.user:
        raise ApiError(410, "fullSyncRequired")  # UNVERIFIED: unknown tokens also answer 410
    if token["expired"] or (s.now() - token["issued"]).total_seconds() > s.sync_ttl:
        raise ApiError(410, "fullSyncRequired")
    if token["singleEvents"] != _bool("singleEvents"):
        raise ApiError(410, "fullSyncRequired")  # UNVERIFIED
    return token


@bp.get("/calendars/<path:calendar_id>/events")
@endpoint("GET /calendar/v3/calendars/{calendarId}/events", "calendar.v3.Events.List")
def events_list(calendar_id):
    cal_id = need(READ_SCOPES, calendar_id)
    s = store()
    page_size = min(max(int(request.args.get("maxResults", 250) or 250), 1), 2500)
    page_token = request.args.get("pageToken")
    if page_token:
        page = s.page_tokens.get(page_token)
        if page is None or page["calendar"] != cal_id:
            raise ApiError(400, "invalid", "Invalid page token value.", "pageToken")
    else:
        sync_value = request.args.get("syncToken")
        if sync_value:
            token = _take_sync_token(s, cal_id, sync_value)
            items = ev.changes(s, cal_id, token)
            window = {k: token.get(k) for k in ("timeMin", "timeMax")}
            single, syncable = token["singleEvents"], True
        else:
            p = _list_params(cal_id)
            items = ev.full_list(s, cal_id, p)
            window = {"timeMin": p["timeMin"], "timeMax": p["timeMax"]}
            single = p["singleEvents"]
            syncable = not (p["iCalUID"] or p["orderBy"] or p["q"] or p["updatedMin"])
        page = {"calendar": cal_id, "items": items, "offset": 0, "seq": s.seq,
                "singleEvents": single, "syncable": syncable, **window}
    chunk = page["items"][page["offset"]:page["offset"] + page_size]
    cal = s.calendars[cal_id]
    answer = {"kind": "calendar#events", "etag": ev.etag(s), "summary": cal["summary"],
              "description": "", "updated": s.stamp(), "timeZone": cal["timeZone"],
              "accessRole": s.role(g.user, cal_id), "defaultReminders": [], "items": chunk}
    if page["offset"] + page_size < len(page["items"]):
        token = "CiAK" + secrets.token_urlsafe(24)
        s.page_tokens[token] = dict(page, offset=page["offset"] + page_size)
        answer["nextPageToken"] = token
    elif page["syncable"]:
        token = "CPD" + secrets.token_urlsafe(18) + "="
        s.sync_tokens[token] = {"calendar": cal_id, "user": g.user, "seq": page["seq"],
                                "singleEvents": page["singleEvents"], "issued": s.now(),
                                "expired": False, "timeMin": page.get("timeMin"),
                                "timeMax": page.get("timeMax")}
        answer["nextSyncToken"] = token
    return jsonify(answer)


@bp.get("/calendars/<path:calendar_id>/events/<event_id>")
@endpoint("GET /calendar/v3/calendars/{calendarId}/events/{eventId}", "calendar.v3.Events.Get")
def events_get(calendar_id, event_id):
    cal_id = need(READ_SCOPES, calendar_id)
    event = ev.find(store(), cal_id, event_id)
    if request.headers.get("If-None-Match") == event.get("etag"):
        return "", 304  # conditional retrieval: unchanged since that etag
    return jsonify(ev.public(event) if event.get("status") != "cancelled" else
                   {k: v for k, v in event.items() if not k.startswith("_")})


def _conference_version() -> int:
    raw = request.args.get("conferenceDataVersion", "0")
    if raw not in ("0", "1"):
        raise ApiError(400, "invalid", "Invalid value for: conferenceDataVersion",
                       "conferenceDataVersion")
    return int(raw)


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "parseError", "Parse Error")
    return body


@bp.post("/calendars/<path:calendar_id>/events")
@endpoint("POST /calendar/v3/calendars/{calendarId}/events", "calendar.v3.Events.Insert")
def events_insert(calendar_id):
    cal_id = need(WRITE_SCOPES, calendar_id, write=True)
    return jsonify(ev.public(ev.create(store(), cal_id, g.user, _json_body(),
                                       _conference_version())))


@bp.post("/calendars/<path:calendar_id>/events/import")
@endpoint("POST /calendar/v3/calendars/{calendarId}/events/import", "calendar.v3.Events.Import")
def events_import(calendar_id):
    cal_id = need(WRITE_SCOPES, calendar_id, write=True)
    return jsonify(ev.public(ev.import_(store(), cal_id, g.user, _json_body())))


@bp.patch("/calendars/<path:calendar_id>/events/<event_id>")
@endpoint("PATCH /calendar/v3/calendars/{calendarId}/events/{eventId}", "calendar.v3.Events.Patch")
def events_patch(calendar_id, event_id):
    cal_id = need(WRITE_SCOPES, calendar_id, write=True)
    return jsonify(ev.public(ev.patch(store(), cal_id, event_id, _json_body(),
                                      _conference_version(), request.headers.get("If-Match"))))


@bp.put("/calendars/<path:calendar_id>/events/<event_id>")
@endpoint("PUT /calendar/v3/calendars/{calendarId}/events/{eventId}", "calendar.v3.Events.Update")
def events_update(calendar_id, event_id):
    cal_id = need(WRITE_SCOPES, calendar_id, write=True)
    return jsonify(ev.public(ev.patch(store(), cal_id, event_id, _json_body(),
                                      _conference_version(), request.headers.get("If-Match"),
                                      replace=True)))


@bp.delete("/calendars/<path:calendar_id>/events/<event_id>")
@endpoint("DELETE /calendar/v3/calendars/{calendarId}/events/{eventId}",
          "calendar.v3.Events.Delete")
def events_delete(calendar_id, event_id):
    cal_id = need(WRITE_SCOPES, calendar_id, write=True)
    ev.delete(store(), cal_id, event_id, request.headers.get("If-Match"))
    return "", 204


@bp.post("/calendars/<path:calendar_id>/events/watch")
@endpoint("POST /calendar/v3/calendars/{calendarId}/events/watch", "calendar.v3.Events.Watch")
def events_watch(calendar_id):
    cal_id = need(READ_SCOPES | {"calendar.events.freebusy"}, calendar_id)
    uri = f"{request.host_url}calendar/v3/calendars/{calendar_id}/events?alt=json"
    return jsonify(push.watch(store(), cal_id, g.user, _json_body(), uri))


@bp.post("/channels/stop")
@endpoint("POST /calendar/v3/channels/stop", "calendar.v3.Channels.Stop")
def channels_stop():
    need(CHANNEL_SCOPES)
    push.stop(store(), g.user, _json_body())
    return "", 204


@bp.post("/freeBusy")
@endpoint("POST /calendar/v3/freeBusy", "calendar.v3.Freebusy.Query")
def freebusy():
    need(FREEBUSY_SCOPES)
    s, body = store(), _json_body()
    low = parse_rfc3339(body.get("timeMin"), "timeMin")
    high = parse_rfc3339(body.get("timeMax"), "timeMax")
    if low is None or high is None:
        raise ApiError(400, "required", "Missing timeMin or timeMax.")
    if high <= low:
        raise ApiError(400, "timeRangeEmpty", location="timeMax")
    tz_name = body.get("timeZone")
    limit = min(int(body.get("calendarExpansionMax") or 50), 50)
    # calendar.freebusy reaches "your calendars" only; the others any calendar you can see.
    own_only = not (g.scopes & (FREEBUSY_SCOPES - {"calendar.freebusy"}))
    calendars = {}
    for index, item in enumerate(body.get("items") or []):
        wanted = str((item or {}).get("id", ""))
        cal_id = s.resolve(g.user, wanted)
        if index >= limit:
            calendars[wanted] = {"errors": [{"domain": "calendar",
                                             "reason": "tooManyCalendarsRequested"}],
                                 "busy": []}
        elif s.role(g.user, cal_id) is None or (own_only and s.role(g.user, cal_id) != "owner"):
            calendars[wanted] = {"errors": [{"domain": "global", "reason": "notFound"}],
                                 "busy": []}
        elif _take_freebusy_error(s, cal_id):
            calendars[wanted] = {"errors": [{"domain": "global",
                                             "reason": _take_freebusy_error(s, cal_id, True)}],
                                 "busy": []}
        else:
            calendars[wanted] = {"busy": ev.format_busy(ev.busy(s, cal_id, low, high),
                                                        tz_name)}
    return jsonify({"kind": "calendar#freeBusy", "timeMin": format_utc(low),
                    "timeMax": format_utc(high), "calendars": calendars})


def _take_freebusy_error(s, cal_id: str, consume: bool = False) -> str | None:
    """An error injected for one calendar's entry (control API), e.g. internalError."""
    entry = s.freebusy_errors.get(cal_id)
    if not entry or entry["remaining"] == 0:
        return None
    if consume:
        entry["remaining"] -= 1
    return entry["reason"]
