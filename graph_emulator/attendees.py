"""Meetings between mailboxes: invitations in attendees' calendars and their answers.

When a tenant user organizes an event whose attendees include other users of the tenant,
Exchange delivers the meeting request and the meeting appears in each of their calendars
("When an event is sent, the server sends invitations to all the attendees",
learn.microsoft.com/graph/api/user-post-events). Here that copy is a stored event in the
attendee's default calendar with the organizer's iCalUId, ``isOrganizer: false`` and
``responseStatus.response`` ``notResponded`` (shown as tentative) until the attendee answers.

An answer (``accept``, ``tentativelyAccept``, ``decline``: learn.microsoft.com/graph/api/
event-accept, /event-tentativelyaccept, /event-decline; or the control API; or the calendar
page) sets the attendee's own ``responseStatus`` and, unless ``sendResponse`` is false, the
attendee's ``status`` on the organizer's event. Both events get a new changeKey, so the
answer shows up in delta and in change notifications.
"""

from __future__ import annotations

import copy

from . import events
from .state import Tenant

# action name (Graph's) -> responseType
ACTIONS = {"accept": "accepted", "tentativelyAccept": "tentativelyAccepted",
           "decline": "declined"}
RESPONSES = ("accepted", "tentativelyAccepted", "declined")
# What an attendee's copy shows as, by answer; an accepted meeting shows the organizer's own
# free/busy intent. UNVERIFIED: a declined meeting is kept (newer Outlook's "show declined
# events") and shown free rather than removed.
SHOW_AS = {"notResponded": "tentative", "none": "tentative", "tentativelyAccepted": "tentative",
           "declined": "free"}
# Fields the organizer's changes carry into attendees' copies.
SHARED = ("subject", "body", "start", "end", "start_tz", "end_tz", "isAllDay", "location",
          "locations", "attendees", "recurrence", "exceptions", "sensitivity", "importance",
          "organizer", "iCalUId", "onlineMeeting", "onlineMeetingProvider", "isOnlineMeeting",
          "allowNewTimeProposals", "type", "isCancelled")


class ResponseError(ValueError):
    """An answer Graph refuses (400)."""


def _copy_show_as(organizer_event: dict, response: str) -> str:
    if response == "accepted":
        return organizer_event.get("showAs", "busy")
    return SHOW_AS.get(response, "tentative")


def copies_of(tenant: Tenant, organizer_event: dict) -> list[dict]:
    return [e for e in tenant.events.values() if e.get("meeting_of") == organizer_event["id"]]


def sync_copies(tenant: Tenant, organizer_event: dict) -> list[tuple[dict, str]]:
    """Create or update the invited tenant users' copies; cancel those no longer invited.

    Returns ``[(copy, changeType)]`` for change notifications.
    """
    if organizer_event.get("meeting_of"):
        return []
    if not organizer_event.get("attendees") and not organizer_event.get("has_copies"):
        return []  # most events: no scan of the whole store
    owner = tenant.users[organizer_event["owner"]]
    invited = {}
    for attendee in organizer_event.get("attendees") or []:
        user = tenant.user_by_mail(attendee["emailAddress"]["address"])
        if user and user["id"] != owner["id"] and user["enabled"]:
            invited[user["id"]] = attendee
    existing = {c["owner"]: c for c in copies_of(tenant, organizer_event)}
    changed = []
    now = tenant.now()
    for user_id in invited:
        target = existing.pop(user_id, None)
        kind = "updated"
        if target is None:
            target = events.new_event(tenant, user_id, tenant.default_calendar(user_id)["id"], {
                "subject": organizer_event.get("subject") or "",
                "start": {"dateTime": organizer_event["start"].isoformat(), "timeZone": "UTC"},
                "end": {"dateTime": organizer_event["end"].isoformat(), "timeZone": "UTC"}},
                organizer={"name": owner["displayName"], "address": owner["mail"]})
            target["meeting_of"] = organizer_event["id"]
            organizer_event["has_copies"] = True
            tenant.events[target["id"]] = target
            kind = "created"
        for key in SHARED:
            target[key] = copy.deepcopy(organizer_event.get(key))
        target.pop("has_copies", None)
        response = target["responseStatus"]["response"]
        target["showAs"] = _copy_show_as(organizer_event, response)
        events.new_change_key(target, now)
        changed.append((target, kind))
    for target in existing.values():
        if not target.get("isCancelled"):
            target["isCancelled"] = True
            events.new_change_key(target, now)
            changed.append((target, "updated"))
    return changed


def cancel_copies(tenant: Tenant, organizer_event: dict) -> list[tuple[dict, str]]:
    """The organizer deleted the meeting: attendees' copies are cancelled, not removed."""
    if not organizer_event.get("has_copies"):
        return []
    changed = []
    for target in copies_of(tenant, organizer_event):
        if not target.get("isCancelled"):
            target["isCancelled"] = True
            target["showAs"] = "free"
            events.new_change_key(target, tenant.now())
            changed.append((target, "updated"))
    return changed


def respond(tenant: Tenant, event: dict, response: str, send_response: bool = True,
            ) -> list[tuple[dict, str]]:
    """The event's owner answers the invitation. Returns the changed events."""
    if response not in RESPONSES:
        raise ResponseError(f"Unknown response '{response}'.")
    if event["responseStatus"]["response"] == "organizer":
        raise ResponseError("Your request can't be completed. You can't respond to a meeting "
                            "you organized.")
    if event.get("isCancelled"):
        raise ResponseError("Your request can't be completed. The meeting was cancelled.")
    now = tenant.now()
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 10000:02d}Z"
    event["responseStatus"] = {"response": response, "time": stamp}
    organizer_event = tenant.events.get(event.get("meeting_of") or "")
    event["showAs"] = _copy_show_as(organizer_event or event, response) \
        if response != "accepted" or organizer_event else "busy"
    events.new_change_key(event, now)
    changed = [(event, "updated")]
    if organizer_event is not None and send_response:
        mail = tenant.users[event["owner"]]["mail"]
        changed += set_attendee_status(tenant, organizer_event, mail, response, stamp)
    return changed


def set_attendee_status(tenant: Tenant, organizer_event: dict, address: str, response: str,
                        stamp: str | None = None) -> list[tuple[dict, str]]:
    """An attendee's answer reached the organizer (an outside attendee's reply, say)."""
    if response not in RESPONSES and response != "none":
        raise ResponseError(f"Unknown response '{response}'.")
    now = tenant.now()
    stamp = stamp or now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 10000:02d}Z"
    for attendee in organizer_event.get("attendees") or []:
        if attendee["emailAddress"]["address"].lower() == address.lower():
            attendee["status"] = {"response": response, "time": stamp}
            events.new_change_key(organizer_event, now)
            changed = [(organizer_event, "updated")]
            # The organizer's attendee list is what every copy shows too.
            for target in copies_of(tenant, organizer_event):
                target["attendees"] = copy.deepcopy(organizer_event["attendees"])
                events.new_change_key(target, now)
                changed.append((target, "updated"))
            return changed
    raise ResponseError(f"'{address}' is not an attendee of this event.")
