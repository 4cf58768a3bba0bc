"""The one iCalendar UID of a booking, shared by the email invitation (N1, N3) and the
member's calendar event (K4), so a calendar sees one meeting, never two.

It names the booking by id under Apo's own domain and never carries the private token (F4):
the UID is visible to every attendee and to every calendar it reaches.
"""

from __future__ import annotations


def booking_uid(booking_id: int, domain: str) -> str:
    """RFC 5545 UID for a booking: stable across reschedules and cancels (N3, K4)."""
    return f"apo-booking-{int(booking_id)}@{domain.strip().lower() or 'apo.invalid'}"
