"""Google Meet conferences on events (conferenceData, hangoutLink) for conferenceDataVersion=1.

A create request becomes a Meet conference at once ("success"), or, when the control API asks
for it, stays "pending" until the emulator's clock passes a due time, or "failure". Callers hold
``store.lock``."""

from __future__ import annotations

import copy
import datetime as dt
import secrets
import string

from .errors import ApiError

MEET_ICON = ("https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/"
             "logo_meet_2020q4_color_2x_web_512dp.png")  # UNVERIFIED: the icon Meet shows now


def _meeting_code() -> str:
    letters = "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))
    return f"{letters[:3]}-{letters[3:7]}-{letters[7:]}"


def _digits(count: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(count))


def meet(request: dict) -> dict:
    """A created Meet conference: video, "more" and phone entry points, as Google's own example
    of conferenceData shows them (the dial-in number is a fictitious +1 555-01xx one)."""
    code, pin = _meeting_code(), _digits(13)
    return {
        "entryPoints": [
            {"entryPointType": "video", "uri": f"https://meet.google.com/{code}",
             "label": f"meet.google.com/{code}"},
            {"entryPointType": "more", "uri": f"https://tel.meet/{code}?pin={pin}", "pin": pin},
            {"entryPointType": "phone", "uri": "tel:+1-555-0134", "label": "+1 555-0134",
             "pin": _digits(9), "regionCode": "US"},
        ],
        "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet",
                               "iconUri": MEET_ICON},
        "conferenceId": code,
        "signature": "AGirE" + secrets.token_urlsafe(24),
        "createRequest": dict(request, status={"statusCode": "success"}),
    }


def _request_of(data: dict) -> dict:
    raw = data.get("createRequest") or {}
    key = (raw.get("conferenceSolutionKey") or {}).get("type")
    if not raw.get("requestId"):
        raise ApiError(400, "required", "Missing conference request id.",
                       "conferenceData.createRequest.requestId")  # UNVERIFIED wording
    if key != "hangoutsMeet":
        # The deprecated Hangouts types and add-ons cannot be created here (UNVERIFIED wording).
        raise ApiError(400, "invalid", "Invalid conference type value.",
                       "conferenceData.createRequest.conferenceSolutionKey.type")
    return {"requestId": str(raw["requestId"]), "conferenceSolutionKey": {"type": key}}


def _video_link(data: dict) -> str | None:
    if ((data.get("conferenceSolution") or {}).get("key") or {}).get("type") != "hangoutsMeet":
        return None
    return next((e.get("uri") for e in data.get("entryPoints") or []
                 if e.get("entryPointType") == "video"), None)


def _attach(store, event: dict, data: dict | None) -> None:
    event.pop("_conference_due", None)
    event.pop("hangoutLink", None)
    if not data:
        event.pop("conferenceData", None)
        return
    event["conferenceData"] = data
    link = _video_link(data)
    if link:
        event["hangoutLink"] = link


def _new(store, event: dict, request: dict) -> None:
    mode = store.conference_mode
    if mode["status"] == "failure":
        _attach(store, event, {"createRequest": dict(request, status={"statusCode": "failure"})})
    elif mode["status"] == "pending":
        _attach(store, event, {"createRequest": dict(request, status={"statusCode": "pending"})})
        due = store.now() + dt.timedelta(seconds=int(mode["resolve_after_seconds"]))
        event["_conference_due"] = due.isoformat()
        store.pending_conferences.add((event["_calendar"], event["id"]))
    else:
        _attach(store, event, meet(request))


def apply(store, event: dict, body: dict, version: int, previous: dict | None,
          replace: bool = False) -> None:
    """Set ``event``'s conference from a request ``body``; ``previous`` is the stored
    conferenceData before this write (None on insert)."""
    if version != 1:  # version 0 ignores conferenceData in the body and keeps what is stored
        _attach(store, event, copy.deepcopy(previous))
        return
    if "conferenceData" not in body:
        # A patch keeps the conference; a full update without it drops it (UNVERIFIED).
        _attach(store, event, None if replace else copy.deepcopy(previous))
        return
    data = body["conferenceData"]
    if not data:
        _attach(store, event, None)  # UNVERIFIED: null removes the conference
        return
    if not isinstance(data, dict):
        raise ApiError(400, "invalid", "Invalid conference data.", "conferenceData")
    if data.get("createRequest") and not data.get("entryPoints"):
        request = _request_of(data)
        old = ((previous or {}).get("createRequest") or {}).get("requestId")
        if old == request["requestId"]:  # the same request id again is ignored
            _attach(store, event, copy.deepcopy(previous))
            return
        _new(store, event, request)
        return
    if not data.get("conferenceSolution") or not data.get("entryPoints"):
        raise ApiError(400, "invalid", "Invalid conference data.", "conferenceData")
    _attach(store, event, copy.deepcopy(data))  # copying an existing conference


def resolve_due(store) -> list[dict]:
    """Pending create requests whose time has come become Meet conferences; returns the events
    changed (the caller touches them)."""
    now = store.now()
    done = []
    for key in sorted(store.pending_conferences):
        event = store.events.get(key[0], {}).get(key[1])
        due = (event or {}).get("_conference_due")
        if not due:
            store.pending_conferences.discard(key)
        elif dt.datetime.fromisoformat(due) <= now:
            request = {k: v for k, v in event["conferenceData"]["createRequest"].items()
                       if k != "status"}
            _attach(store, event, meet(request))
            store.pending_conferences.discard(key)
            done.append(event)
    return done
