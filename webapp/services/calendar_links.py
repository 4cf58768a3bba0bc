"""Add-to-calendar for the customer (F4): an .ics file and a Google Calendar link.

The .ics carries the booking's one UID (`ical_uid.booking_uid`), the same the e-mail invitation
(N1, N3) and the member's calendar write-back (K4) use, so a calendar that already holds the
invitation updates that meeting instead of adding a second one. Times are UTC (`...Z`), which
every calendar converts to its own zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from webapp.models import Booking
from webapp.services import meetings
from webapp.services.notifications import plan
from webapp.services.notifications.invitation import Invitation, build_ics

GOOGLE_TEMPLATE = "https://calendar.google.com/calendar/render"


def event_title(booking: Booking) -> str:
    """What the meeting is called in the customer's calendar: page title and organizer."""
    return f"{booking.page.title} ({booking.page.organization.name})"


def booking_ics(booking: Booking, uid: str, details: str, stamp: datetime,
                organizer_email: str) -> bytes:
    """A VCALENDAR (METHOD:PUBLISH) with the booking as one VEVENT, built like the e-mail
    invitation and at its current SEQUENCE, so a calendar that holds the invitation takes this
    file as the same version of the same meeting, never as an older one (N3)."""
    place = meetings.where(booking)
    return build_ics(Invitation(
        uid=uid, sequence=plan.current_sequence(booking.id), method="PUBLISH",
        start=booking.start_at, end=booking.end_at, summary=event_title(booking),
        description="\n".join([*meetings.description_lines(place, booking.locale), details]),
        organizer_email=organizer_email,
        organizer_name=booking.page.organization.name, attendees=(), stamp=stamp,
        cancelled=booking.is_cancelled, location="" if place.follows else place.text,
        url=place.join_url))


def google_calendar_url(booking: Booking, details: str) -> str:
    """Google Calendar's "create event" template link, prefilled with the booking."""
    span = "/".join(moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
                    for moment in (booking.start_at, booking.end_at))
    place = meetings.where(booking)
    query = {"action": "TEMPLATE", "text": event_title(booking), "dates": span,
             "details": "\n".join([*meetings.description_lines(place, booking.locale), details])}
    if place.text and not place.follows:
        query["location"] = place.text
    return f"{GOOGLE_TEMPLATE}?{urlencode(query)}"
