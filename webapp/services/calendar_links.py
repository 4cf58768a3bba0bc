"""Add-to-calendar for the customer (F4): an .ics file and a Google Calendar link.

The .ics carries the booking's one UID (`ical_uid.booking_uid`), the same the e-mail invitation
(N1, N3) and the member's calendar write-back (K4) use, so a calendar that already holds the
invitation updates that meeting instead of adding a second one. Times are UTC (`...Z`), which
every calendar converts to its own zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from icalendar import Calendar, Event

from webapp.models import Booking

PRODID = "-//Apo//Add to calendar//EN"
GOOGLE_TEMPLATE = "https://calendar.google.com/calendar/render"


def event_title(booking: Booking) -> str:
    """What the meeting is called in the customer's calendar: page title and organizer."""
    return f"{booking.page.title} ({booking.page.organization.name})"


def booking_ics(booking: Booking, uid: str, details: str, stamp: datetime) -> bytes:
    """A VCALENDAR (METHOD:PUBLISH) with the booking as one VEVENT."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", booking.start_at.astimezone(UTC))
    event.add("dtend", booking.end_at.astimezone(UTC))
    event.add("summary", event_title(booking))
    event.add("description", details)
    event.add("status", "CANCELLED" if booking.is_cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()


def google_calendar_url(booking: Booking, details: str) -> str:
    """Google Calendar's "create event" template link, prefilled with the booking."""
    span = "/".join(moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
                    for moment in (booking.start_at, booking.end_at))
    query = {"action": "TEMPLATE", "text": event_title(booking), "dates": span,
             "details": details}
    return f"{GOOGLE_TEMPLATE}?{urlencode(query)}"
