"""Members' calendars: connections, their calendars, the stored busy times and the
write-back log (K1-K6).

A connection belongs to one member and one provider ("caldav", "google", "microsoft"); the
provider adapter reads its decrypted credentials, nothing else does. Busy intervals are what the
slot computation reads: no page view ever asks a provider (K3).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.base import UTCDateTime, utcnow
from webapp.models.organizations import Member


class CalendarStatus(str, enum.Enum):
    OK = "ok"  # last sync worked
    PENDING = "pending"  # saved, not synced yet
    BROKEN = "broken"  # the provider refused us (K6): reason in status_reason


class CalendarConnection(db.Model):
    """One member's account at one calendar provider (K1)."""

    __tablename__ = "calendar_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(20))
    # CalDAV: the URL the member typed (server root, principal or calendar home). OAuth
    # providers: empty.
    server_url: Mapped[str] = mapped_column(String(2000), default="")
    username: Mapped[str] = mapped_column(String(254), default="")
    # Fernet ciphertext of a JSON object (C8): {"password": ...} or {"access_token": ...,
    # "refresh_token": ..., "expires_at": ...}. Only the adapter sees the plaintext.
    credentials_enc: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=CalendarStatus.PENDING.value)
    status_reason: Mapped[str] = mapped_column(String(500), default="")
    # When the connection last worked and since when it is broken (K6 grace period).
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    broken_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member: Mapped[Member] = relationship()
    calendars: Mapped[list[MemberCalendar]] = relationship(
        back_populates="connection", order_by="MemberCalendar.id", cascade="all, delete-orphan"
    )


class MemberCalendar(db.Model):
    """One calendar of a connection: whether it blocks slots and whether bookings go into it."""

    __tablename__ = "member_calendars"
    __table_args__ = (UniqueConstraint("connection_id", "remote_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("calendar_connections.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # The provider's id for the calendar (CalDAV: its absolute collection URL).
    remote_id: Mapped[str] = mapped_column(String(2000))
    name: Mapped[str] = mapped_column(String(255), default="")
    blocks: Mapped[bool] = mapped_column(Boolean, default=True)
    receives_bookings: Mapped[bool] = mapped_column(Boolean, default=False)
    # Opaque to the core: the adapter's incremental state (sync token, ctag, etags, delta link).
    sync_state: Mapped[dict] = mapped_column(JSON, default=dict)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    connection: Mapped[CalendarConnection] = relationship(back_populates="calendars")


class BusySource(str, enum.Enum):
    CALENDAR = "calendar"
    SALESFORCE = "salesforce"


class BusyInterval(db.Model):
    """A stored busy time of a member (K2, K5): [start_at, end_at) in UTC.

    `event_ref` names the remote item it came from (a CalDAV href, a Salesforce Event id), so an
    incremental sync replaces or removes exactly that item's intervals.
    """

    __tablename__ = "busy_intervals"
    __table_args__ = (
        Index("ix_busy_intervals_member_start", "member_id", "start_at"),
        Index("ix_busy_intervals_calendar_ref", "calendar_id", "event_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(20), default=BusySource.CALENDAR.value)
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("member_calendars.id", ondelete="CASCADE")
    )
    event_ref: Mapped[str] = mapped_column(String(2000))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarWriteStatus(str, enum.Enum):
    """pending -> running (under a lease) -> done | pending (retry later) | waiting | failed.

    `waiting`: the member's connection is broken; the write runs once it works again (K9).
    `skipped`: nothing to do (a newer write for the member supersedes it, or the member no
    longer has a receiving calendar). An outage never skips a write: it retries.
    """

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class CalendarWrite(db.Model):
    """One write-back of a booking to one member's calendar (K4), kept as the visible log."""

    __tablename__ = "calendar_writes"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("member_calendars.id", ondelete="SET NULL")
    )
    action: Mapped[str] = mapped_column(String(20))  # "put" or "delete"
    # V1: the host's event also carries the online meeting ("google_meet" or "teams").
    conference: Mapped[str] = mapped_column(String(20), default="", server_default="")
    status: Mapped[str] = mapped_column(String(20), default=CalendarWriteStatus.PENDING.value,
                                        index=True)
    detail: Mapped[str] = mapped_column(String(1000), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The outbox protocol (services/outbox.py): the next try, the queued stamp, the lease.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    member: Mapped[Member] = relationship()


DEFAULT_GRACE_MINUTES = 12 * 60


class CalendarSettings(db.Model):
    """Per-organization calendar settings: Salesforce Events as a busy source (K5)."""

    __tablename__ = "calendar_settings"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    salesforce_busy: Mapped[bool] = mapped_column(Boolean, default=False)
    # The newest Event SystemModstamp seen, so each poll asks only for what changed.
    salesforce_watermark: Mapped[datetime | None] = mapped_column(UTCDateTime)
    salesforce_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # K6: how long a broken calendar's last stored busy times are still trusted.
    grace_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_GRACE_MINUTES)


class CalendarChannel(db.Model):
    """A push channel on a member's calendar (K8): a Google events.watch channel or a Microsoft
    Graph subscription. ``secret_hash`` is the SHA-256 of the secret the provider sends back
    with each notification (Google's channel token, Graph's clientState)."""

    __tablename__ = "calendar_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("calendar_connections.id", ondelete="CASCADE"), index=True)
    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("member_calendars.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[str] = mapped_column(String(64), unique=True)
    ref: Mapped[str] = mapped_column(String(255), index=True)  # resourceId / subscription id
    secret_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
