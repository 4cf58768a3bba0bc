"""The mail outbox and per-page reminder settings (N1-N5)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.base import UTCDateTime, utcnow
from webapp.models.bookings import Booking
from webapp.models.organizations import BookingPage


class MessageKind(str, enum.Enum):
    CONFIRMATION = "confirmation"
    UPDATE = "update"
    CANCELLATION = "cancellation"
    REMINDER = "reminder"


class RecipientRole(str, enum.Enum):
    CUSTOMER = "customer"
    ATTENDEE = "attendee"  # 同席者 (F3): the invitation without the private link
    MEMBER = "member"  # an attending 社員 (N2)


class MessageStatus(str, enum.Enum):
    """pending -> sending (claimed under a lease) -> sent | pending (retry) | failed | unknown.

    `unknown`: the worker stopped, or the server's answer was lost, after the data may have
    reached the server; it is never sent again by itself (at most once, N5), only by an admin.
    `skipped`: stale at send time (the booking was cancelled or moved since).
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"


DEFAULT_REMINDER_MINUTES = [24 * 60]


class OutboxMessage(db.Model):
    """One e-mail to one recipient for one version (sequence) of a booking (N5).

    The unique key is what makes "at most once per booking, kind, sequence and recipient" hold
    however often the booking code or a job runs; reminders add their offset to the key.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (UniqueConstraint("booking_id", "kind", "sequence", "recipient_email",
                                       "reminder_minutes", name="uq_outbox_message_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(20))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    recipient_role: Mapped[str] = mapped_column(String(20))
    recipient_email: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    reminder_minutes: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default=MessageStatus.PENDING.value,
                                        index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    send_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    subject: Mapped[str] = mapped_column(String(255), default="")
    # An update's earlier time, so the message can say what changed.
    previous_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    previous_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why an update was sent when it is not a new time: "meeting_link" (V4).
    note: Mapped[str] = mapped_column(String(20), default="", server_default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    booking: Mapped[Booking] = relationship()


class PageMailSettings(db.Model):
    """Per-page reminders (N4): minutes before the meeting; no row means the default."""

    __tablename__ = "page_mail_settings"

    page_id: Mapped[int] = mapped_column(ForeignKey("booking_pages.id", ondelete="CASCADE"),
                                         primary_key=True)
    reminder_minutes: Mapped[list] = mapped_column(JSON, default=lambda: list(
        DEFAULT_REMINDER_MINUTES))

    page: Mapped[BookingPage] = relationship()
