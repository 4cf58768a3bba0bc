"""Bookings, the time they claim, and the sync outbox (F3-F5, S1, S3)."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.base import UTCDateTime, utcnow
from webapp.models.organizations import BookingPage, Member, Organization


class BookingStatus(str, enum.Enum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Booking(db.Model):
    """A confirmed booking. Never deleted: cancelling keeps it as history (F4, F5)."""

    __tablename__ = "bookings"
    # O7: the dashboard counts each figure over a range of one of these, never beyond the
    # period: bookings made (per week, and per page), cancellations, and outcomes (R7).
    __table_args__ = (
        Index("ix_bookings_org_created", "organization_id", "created_at"),
        Index("ix_bookings_org_page_created", "organization_id", "page_id", "created_at"),
        Index("ix_bookings_org_cancelled", "organization_id", "status", "cancelled_at"),
        Index("ix_bookings_org_outcome", "organization_id", "outcome", "outcome_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("booking_pages.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=BookingStatus.CONFIRMED.value)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    first_name: Mapped[str] = mapped_column(String(100), default="")
    company: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(254))
    # {"<field id>": "value" | ["choice", ...]}: answers to the page's custom fields.
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    # [{"name": ..., "email": ...}]: 同席者 (F3), never Leads (L4).
    attendees: Mapped[list] = mapped_column(JSON, default=list)
    # R2: how the host was chosen: {"matched": "Lead"|"Contact"|"", "record_id", "owner_id",
    # "member_id", "fallback": bool, "reason"}; empty when the page does not route (R1).
    routing: Mapped[dict | None] = mapped_column(JSON, default=dict)
    # R7: "held" or "no_show" once a member or admin said so; "" before.
    outcome: Mapped[str] = mapped_column(String(20), default="", server_default="")
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # V1: the customer's phone number when the page says "we call you".
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    customer_timezone: Mapped[str] = mapped_column(String(64), default="")
    locale: Mapped[str] = mapped_column(String(8), default="ja")
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Salesforce ids, stored the moment a write returns them (S4), so reschedule and cancel
    # find the same Event (S7). sf_who_type is "Lead" or "Contact".
    sf_who_type: Mapped[str] = mapped_column(String(20), default="")
    sf_who_id: Mapped[str] = mapped_column(String(18), default="")
    sf_event_id: Mapped[str] = mapped_column(String(18), default="")

    organization: Mapped[Organization] = relationship()
    page: Mapped[BookingPage] = relationship()
    booking_members: Mapped[list[BookingMember]] = relationship(
        back_populates="booking", order_by="BookingMember.position", cascade="all, delete-orphan"
    )
    syncs: Mapped[list[SyncRecord]] = relationship(
        back_populates="booking", order_by="SyncRecord.id", cascade="all, delete-orphan"
    )

    @property
    def members(self) -> list[Member]:
        """確定された予定に参加する社員, in the page's member order (O5, E3)."""
        return [bm.member for bm in self.booking_members]

    @property
    def is_cancelled(self) -> bool:
        return self.status == BookingStatus.CANCELLED.value


class BookingMember(db.Model):
    __tablename__ = "booking_members"
    __table_args__ = (UniqueConstraint("booking_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)

    booking: Mapped[Booking] = relationship(back_populates="booking_members")
    member: Mapped[Member] = relationship()


class BusySlot(db.Model):
    """One 5-minute unit of a member's time claimed by a booking (its buffer included).

    The primary key makes overlapping bookings impossible at the database level: two customers
    racing for the same slot both insert the same (member, unit) rows and one transaction fails.
    """

    __tablename__ = "busy_slots"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    unit_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    # Set on insert so that a new booking and its claims go out in one flush (S8); never loaded.
    booking: Mapped[Booking] = relationship(lazy="raise")


class SyncAction(str, enum.Enum):
    CREATE = "create"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    MEETING = "meeting"  # V2: the meeting link arrived after the Event was written
    OUTCOME = "outcome"  # R7: held or no-show, written to the Event


class SyncStatus(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    WAITING_RECONNECT = "waiting_reconnect"
    SKIPPED = "skipped"


FINAL_SYNC_STATUSES = frozenset({SyncStatus.SUCCEEDED.value, SyncStatus.PARTIAL.value,
                                 SyncStatus.FAILED.value, SyncStatus.SKIPPED.value})


class SyncRecord(db.Model):
    """Outbox row: one unit of Salesforce work for a booking (S1, S3)."""

    __tablename__ = "sync_records"
    # O7: the dashboard counts each status, and the reschedules, over the period.
    __table_args__ = (
        Index("ix_sync_records_org_status_created", "organization_id", "status", "created_at"),
        Index("ix_sync_records_org_action_created", "organization_id", "action", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(20), default=SyncAction.CREATE.value)
    status: Mapped[str] = mapped_column(String(30), default=SyncStatus.PENDING.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Sync engine (S5): when a retry or an org pause lets the record run again, the
    # random token of the current lease holder (S4), and when it reached a final status.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str] = mapped_column(String(32), default="")
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The booking's time when this unit of work was made (a reschedule's row says the new
    # time, the registration's row the first), so 同期ログ shows what each row wrote (S3).
    booking_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking: Mapped[Booking] = relationship(back_populates="syncs")

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_SYNC_STATUSES


@event.listens_for(SyncRecord, "before_insert")
def _snapshot_booking_time(_mapper, _connection, record: SyncRecord) -> None:
    booking = record.__dict__.get("booking")  # only when already at hand: no load in a flush
    if record.booking_start_at is None and booking is not None:
        record.booking_start_at = booking.start_at
