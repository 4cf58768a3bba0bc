"""The .ics invitation (RFC 5545 / iTIP RFC 5546), built with `icalendar` (N1, N3).

Times are written in UTC (`DTSTART:...Z`): every calendar converts UTC to its own zone, so the
meeting lands right everywhere without shipping VTIMEZONE definitions, which Outlook and Apple
Calendar interpret differently. The UID comes from `ical_uid.booking_uid`, the same one the
calendar write-back uses (K4), so a member's calendar sees one meeting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//Apo//Booking invitations//EN"


@dataclass(frozen=True)
class Invitation:
    """What one version of a booking says to calendars."""

    uid: str
    sequence: int
    method: str  # "REQUEST" or "CANCEL"; "PUBLISH" for the customer's add-to-calendar file
    start: datetime
    end: datetime
    summary: str
    description: str
    organizer_email: str
    organizer_name: str
    attendees: tuple[tuple[str, str], ...]  # (name, email)
    url: str = ""
    stamp: datetime | None = None
    cancelled: bool = False  # a PUBLISH of a cancelled booking
    location: str = ""  # V2: the join link, the address or the phone number
    sent_by: str = ""  # V5: Apo's sender, organizing on the host's behalf (RFC 5545 SENT-BY)


def build_ics(invitation: Invitation) -> bytes:
    """The VCALENDAR with one VEVENT, ready to attach as text/calendar."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", invitation.method)
    event = Event()
    event.add("uid", invitation.uid)
    event.add("sequence", invitation.sequence)
    event.add("dtstamp", (invitation.stamp or datetime.now(UTC)).astimezone(UTC))
    event.add("dtstart", invitation.start.astimezone(UTC))
    event.add("dtend", invitation.end.astimezone(UTC))
    event.add("summary", invitation.summary)
    event.add("description", invitation.description)
    cancelled = invitation.method == "CANCEL" or invitation.cancelled
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if invitation.url:
        event.add("url", invitation.url)
    if invitation.location:
        event.add("location", invitation.location)
    organizer = _address(invitation.organizer_email, invitation.organizer_name, organizer=True)
    if invitation.sent_by and invitation.sent_by.lower() != invitation.organizer_email.lower():
        organizer.params["sent-by"] = f"mailto:{invitation.sent_by}"
    event.add("organizer", organizer)
    for name, email in invitation.attendees:
        event.add("attendee", _address(email, name), encode=0)
    calendar.add_component(event)
    return calendar.to_ical()


def _address(email: str, name: str, organizer: bool = False) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["cn"] = vText(name)
    if not organizer:
        # The ORGANIZER is the host (V5): a calendar's answer reaches a person, but nothing
        # in Apo reads it, so no answer is asked for.
        address.params["role"] = vText("REQ-PARTICIPANT")
        address.params["partstat"] = vText("NEEDS-ACTION")
        address.params["rsvp"] = vText("FALSE")
    return address
