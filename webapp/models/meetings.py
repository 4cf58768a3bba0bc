"""Online meetings (V1-V4): the meeting a booking has at Google Meet, Microsoft Teams or Zoom,
and the members' Zoom accounts.

A `Meeting` belongs to one booking and one host. A host change makes a new one (a new link)
and deletes the old; a reschedule moves the same one. For Meet and Teams the meeting is part
of the host's calendar event, so the calendar write (CalendarWrite with ``conference``) is its
outbox row and fills the link in; for Zoom the Meeting row itself is the outbox row
(services/outbox.py), run by jobs/meetings.py.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.base import UTCDateTime, utcnow
from webapp.models.organizations import Member


class MeetingStatus(str, enum.Enum):
    """pending -> running (Zoom, under a lease) -> ready | pending (retry) | waiting | failed.

    `ready`: the link exists. `waiting`: the host's account is disconnected; it runs again once
    the host reconnects. `failed`: given up, or the host has no such account (detail says why).
    `deleted`: the booking was cancelled or moved to another host, and the meeting is gone.
    """

    PENDING = "pending"
    RUNNING = "running"
    READY = "ready"
    WAITING = "waiting"
    FAILED = "failed"
    DELETED = "deleted"


class Meeting(db.Model):
    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))  # "google_meet", "teams", "zoom"
    # What the next run must do (Zoom): "put" creates or moves it, "delete" removes it.
    action: Mapped[str] = mapped_column(String(20), default="put")
    status: Mapped[str] = mapped_column(String(20), default=MeetingStatus.PENDING.value,
                                        index=True)
    join_url: Mapped[str] = mapped_column(String(1000), default="")
    # {"passcode": ..., "dial_in": [{"number": ..., "country": ..., "pin": ...}], "id": ...}
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    remote_id: Mapped[str] = mapped_column(String(255), default="")  # Zoom meeting id
    detail: Mapped[str] = mapped_column(String(1000), default="")  # why it failed or waits
    # The join URL the customer was last told about (V4: a new one goes out as an update).
    announced_url: Mapped[str] = mapped_column(String(1000), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    member: Mapped[Member] = relationship()


class MeetingAccount(db.Model):
    """A member's Zoom account (V1), connected through the member's signed link."""

    __tablename__ = "meeting_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(20), default="zoom")
    username: Mapped[str] = mapped_column(String(254), default="")
    # Fernet ciphertext of {"access_token", "refresh_token", "expires_at"} (C8).
    credentials_enc: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="ok")  # "ok" or "broken"
    status_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member: Mapped[Member] = relationship()
