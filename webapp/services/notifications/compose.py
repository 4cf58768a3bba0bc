"""One outbox row as a MIME message (N1-N4): text and HTML from Jinja templates, the .ics
invitation, and headers that cannot be injected.

Headers are built with `email.message.EmailMessage` on the SMTP policy and display names with
`email.headerregistry.Address`: Japanese subjects and names are encoded per RFC 2047 (UTF-8),
which Gmail, Outlook and Apple Mail all decode. Any header value holding CR or LF is refused
(`HeaderInjection`) before the email package would refuse it too; encoded words in input stay
text (`_text`), and each header is checked again as the package holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_datetime

from webapp.config import DEFAULT_TIMEZONE
from webapp.models import Booking, MessageKind, OutboxMessage, RecipientRole, utcnow
from webapp.services import meetings, outcomes
from webapp.services.ical_uid import booking_uid
from webapp.services.notifications.invitation import Invitation, build_ics

# render(template name, locale, context) -> str; the job passes Jinja under the locale.
Render = Callable[[str, str, dict], str]
# Two-digit hours, as the pages write them (09:15, not 9:15).
DATE_PATTERNS = {"ja": "y年M月d日(EEE) HH:mm", "en": "EEE, MMM d, y h:mm a"}


class HeaderInjection(ValueError):
    """A header value held a line break: the message is refused, never sent."""


@dataclass(frozen=True)
class Composed:
    message: EmailMessage
    subject: str


def compose(row: OutboxMessage, booking: Booking, settings, render: Render) -> Composed:
    """Build the message for `row` (settings: a NotificationSettings)."""
    locale = booking.locale if booking.locale in DATE_PATTERNS else "ja"
    context = _context(row, booking, settings, locale)
    subject = _header(render("mail/subject.html", locale, context).strip())
    text = render("mail/message_text.html", locale, context)
    html = render("mail/message.html", locale, context)
    message = EmailMessage(policy=SMTP)
    sender_name, sender_email = parseaddr(settings.sender)
    message["Subject"] = _text(subject)
    message["From"] = Address(_text(_header(booking.organization.name or sender_name)),
                              addr_spec=_header(sender_email))
    message["To"] = Address(_text(_header(row.recipient_name)),
                            addr_spec=_header(row.recipient_email))
    reply_name, reply_email = reply_to(row, booking)
    if reply_email:  # V5: a reply reaches a person, not noreply
        message["Reply-To"] = Address(_text(_header(reply_name)),
                                      addr_spec=_header(reply_email))
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid("apo", domain=settings.uid_domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message.set_content(text, cte="base64")
    message.add_alternative(html, subtype="html", cte="base64")
    for name in ("Subject", "From", "To", "Reply-To"):  # as the email package holds them (N5)
        _header(str(message[name] or ""))
    if _has_invitation(row):
        method = "CANCEL" if row.kind == MessageKind.CANCELLATION.value else "REQUEST"
        ics = build_ics(_invitation(row, booking, settings, context, method)).decode("utf-8")
        message.add_alternative(ics, subtype="calendar", cte="base64",
                                params={"method": method})
        message.add_attachment(ics.encode("utf-8"), maintype="application", subtype="ics",
                               filename="invite.ics")
    return Composed(message, subject)


def _has_invitation(row: OutboxMessage) -> bool:
    # Members get their calendar entry from the calendar write-back (K4), not from mail.
    return row.recipient_role != RecipientRole.MEMBER.value


def reply_to(row: OutboxMessage, booking: Booking) -> tuple[str, str]:
    """(name, address) replies go to (V5): for a member, the customer; for the customer and
    attendees, the organization's reply address when it set one, else the attending host."""
    if row.recipient_role == RecipientRole.MEMBER.value:
        return booking.name or "", booking.email
    if booking.organization.reply_to:
        return booking.organization.name or "", booking.organization.reply_to
    host = meetings.host_of(booking)
    return (host.name, host.email) if host is not None and host.email else ("", "")


def _invitation(row, booking, settings, context, method) -> Invitation:
    sender_name, sender_email = parseaddr(settings.sender)
    host = meetings.host_of(booking)
    # V5: the host organizes, Apo's sender sends on their behalf; without a host (none
    # attends any more) the sender stays the organizer.
    organizer_name, organizer_email = (host.name, host.email) if host is not None and \
        host.email else (booking.organization.name or sender_name, sender_email)
    people = [(booking.name, booking.email)]
    people += [(a.get("name", ""), a["email"]) for a in booking.attendees or []
               if isinstance(a, dict) and a.get("email")]
    people += [(m.name, m.email) for m in booking.members]
    place = context["place"]
    return Invitation(
        uid=booking_uid(booking.id, settings.uid_domain), sequence=row.sequence, method=method,
        start=booking.start_at, end=booking.end_at, summary=context["title"],
        description=context["ics_description"],
        organizer_email=organizer_email, organizer_name=_cn(organizer_name),
        attendees=tuple((_cn(name), email) for name, email in people),
        url=place.join_url or context.get("manage_url", ""), stamp=utcnow(),
        location="" if place.follows else place.text, sent_by=sender_email)


def _context(row: OutboxMessage, booking: Booking, settings, locale: str) -> dict:
    page, org = booking.page, booking.organization
    customer_tz = booking.customer_timezone or org.timezone or DEFAULT_TIMEZONE
    page_tz = org.timezone or DEFAULT_TIMEZONE
    role = row.recipient_role
    context = {
        "kind": row.kind, "role": role, "booking": booking, "page": page, "org": org,
        "title": page.title, "customer_name": booking.name or
        f"{booking.last_name} {booking.first_name}".strip(), "recipient_name": row.recipient_name,
        "when": _when(booking, customer_tz if role != "member" else page_tz, locale),
        "when_page": _when(booking, page_tz, locale),
        "customer_tz": customer_tz, "page_tz": page_tz,
        "members": [m.name for m in booking.members], "attendees": booking.attendees or [],
        "reminder_minutes": row.reminder_minutes, "cancel_reason": booking.cancel_reason,
        "answers": _answers(booking) if role == "member" else [],
    }
    if role == RecipientRole.CUSTOMER.value:  # the private link only to the customer (N1)
        context["manage_url"] = f"{settings.base_url}/b/{booking.token}"
    member = _member_of(row, booking)
    if member is not None and settings.link_secret and row.kind != \
            MessageKind.CANCELLATION.value:  # R7: the member records whether it happened
        token = outcomes.link_token(booking, member, settings.link_secret)
        context["outcome_url"] = f"{settings.base_url}/o/{token}"
    context["place"] = meetings.where(booking)  # V2: the link in every message
    if row.previous_start_at is not None and row.previous_end_at is not None:
        earlier = SimpleNamespace(start_at=row.previous_start_at, end_at=row.previous_end_at)
        context["when_before"] = _when(earlier, customer_tz if role != "member" else page_tz,
                                       locale)
    context["link_news"] = row.note == "meeting_link"
    context["ics_description"] = render_description(context)
    return context


def _member_of(row: OutboxMessage, booking: Booking):
    if row.recipient_role != RecipientRole.MEMBER.value:
        return None
    return next((m for m in booking.members
                 if (m.email or "").lower() == row.recipient_email.lower()), None)


def render_description(context: dict) -> str:
    """Plain DESCRIPTION for the invitation: where, who attends, and the private link."""
    lines = [*meetings.description_lines(context["place"], context["booking"].locale),
             context["org"].name,
             ", ".join(context["members"])]
    if context.get("manage_url"):
        lines.append(context["manage_url"])
    return "\n".join(line for line in lines if line)


def _when(booking: Booking, tz: str, locale: str) -> str:
    zone = ZoneInfo(tz)
    pattern = DATE_PATTERNS[locale]
    start = babel_datetime(booking.start_at, pattern, tzinfo=zone, locale=locale)
    end = babel_datetime(booking.end_at, "HH:mm" if locale == "ja" else "h:mm a",
                         tzinfo=zone, locale=locale)
    return f"{start} – {end} ({tz})"


def _answers(booking: Booking) -> list[tuple[str, str]]:
    answers = booking.answers or {}
    shown = []
    for field in booking.page.fields:
        value = answers.get(str(field.id), "")
        shown.append((field.label, ", ".join(value) if isinstance(value, list) else str(value)))
    return shown


def _header(value: str) -> str:
    value = value or ""
    if "\r" in value or "\n" in value:
        raise HeaderInjection("header value contains a line break")
    return value


def _text(value: str) -> str:
    """Input shown as typed: the email package decodes RFC 2047 encoded words (``=?utf-8?b?
    ...?=``) in a header value it is given, and one whose decoded text holds a line break
    became real headers (Bcc:, a new body). A word joiner after ``=`` makes it plain text
    again; readers see the same characters, and the package encodes it as it encodes any
    other non-ASCII text (N5)."""
    return value.replace("=?", "=\u2060?")


def _cn(name: str) -> str:
    # A double quote would end the quoted CN parameter in calendars without RFC 6868.
    return (name or "").replace('"', "'")
