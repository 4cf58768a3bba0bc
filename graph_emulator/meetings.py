"""Teams online meetings of calendar events (learn.microsoft.com/graph/outlook-calendar-
online-meetings): ``isOnlineMeeting: true`` with ``onlineMeetingProvider: teamsForBusiness``
gives the event an ``onlineMeeting`` (joinUrl, conferenceId, tollNumber) and appends the
join block to its body; deleting the event removes the meeting.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from html import escape
from urllib.parse import quote

from .seed import TENANT_ID
from .state import Tenant

PROVIDERS = ("teamsForBusiness",)
# A fictitious (555) number in the documentation's own format.
TOLL_NUMBER = "+1 323-555-0166"
DIVIDER = "_" * 80


class MeetingError(ValueError):
    """A request that Graph refuses (400 ErrorInvalidRequest)."""


def check(event: dict, body: dict) -> None:
    """Refuse what the documentation says cannot be done once a meeting is online."""
    provider = body.get("onlineMeetingProvider")
    if provider is not None and provider not in PROVIDERS and provider != "unknown":
        raise MeetingError(f"The online meeting provider '{provider}' is not supported by the "
                           "calendar.")
    if event.get("onlineMeeting"):
        if body.get("isOnlineMeeting") is False:
            raise MeetingError("An online meeting cannot be disabled once it is enabled.")
        if provider not in (None, event.get("onlineMeetingProvider")):
            raise MeetingError("The onlineMeetingProvider of an online meeting cannot be "
                               "changed.")


def ensure(tenant: Tenant, event: dict) -> None:
    """Create the event's meeting when it asks for one and has none yet."""
    if not event.get("isOnlineMeeting") or event.get("onlineMeeting"):
        return
    event["onlineMeetingProvider"] = event.get("onlineMeetingProvider") or "teamsForBusiness"
    if event["onlineMeetingProvider"] not in PROVIDERS:
        event["isOnlineMeeting"] = False
        return
    thread = base64.b64encode(str(uuid.uuid4()).encode()).decode().rstrip("=")
    context = quote(f'{{"Tid":"{TENANT_ID}","Oid":"{event["owner"]}"}}', safe="")
    join_url = (f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}"
                f"%40thread.v2/0?context={context}")
    conference_id = str(100_000_000 + secrets.randbelow(900_000_000))
    event["onlineMeeting"] = {"joinUrl": join_url, "conferenceId": conference_id,
                              "tollNumber": TOLL_NUMBER}
    tenant.meetings[conference_id] = {"conferenceId": conference_id, "joinUrl": join_url,
                                      "eventId": event["id"], "organizerId": event["owner"],
                                      "created": tenant.now()}
    body = dict(event.get("body") or {"contentType": "html", "content": ""})
    body["content"] = (body.get("content") or "") + join_block(event["onlineMeeting"])
    body["contentType"] = "html"
    event["body"] = body


def join_block(meeting: dict) -> str:
    """The join text Exchange appends to the body (shortened from the documented sample)."""
    digits = meeting["conferenceId"]
    spaced = f"{digits[:3]} {digits[3:6]} {digits[6:]}#"
    return (f'<div>{DIVIDER}</div><div class="me-email-text"><a class="me-email-headline" '
            f'href="{escape(meeting["joinUrl"])}">Join Microsoft Teams Meeting</a>'
            f'<div>{escape(meeting["tollNumber"])} United States, Los Angeles (Toll)</div>'
            f"<div>Conference ID: {spaced}</div></div><div>{DIVIDER}</div>")


def remove(tenant: Tenant, event: dict) -> None:
    meeting = event.get("onlineMeeting")
    if meeting:
        tenant.meetings.pop(meeting["conferenceId"], None)
