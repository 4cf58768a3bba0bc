"""The one iCalendar UID of a booking, shared by the email invitation (N1, N3) and the
member's calendar event (K4), so a calendar sees one meeting, never two.

It names the booking by id under Apo's own domain and never carries the private token (F4):
the UID is visible to every attendee and to every calendar it reaches.
"""

from __future__ import annotations


def uid_domain(config) -> str:
    """The one domain of booking UIDs: ``ICAL_UID_DOMAIN``, else the host of ``BASE_URL``.

    Read once into the mail and calendar settings, so an invitation and a calendar event of
    the same booking always carry the same UID (N3, K4).
    """
    from urllib.parse import urlsplit

    configured = (config.get("ICAL_UID_DOMAIN") or "").strip().lower()
    return configured or (urlsplit(config.get("BASE_URL") or "").hostname or "apo.invalid")


def booking_uid(booking_id: int, domain: str) -> str:
    """RFC 5545 UID for a booking: stable across reschedules and cancels (N3, K4)."""
    return f"apo-booking-{int(booking_id)}@{domain.strip().lower() or 'apo.invalid'}"
