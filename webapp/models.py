"""Database models: columns, relationships and small invariants. Logic lives in services/."""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(db.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Plan(str, enum.Enum):
    FREE = "free"
    STANDARD = "standard"
    ENTERPRISE = "enterprise"
    PREMIUM = "premium"

    @property
    def rank(self) -> int:
        return list(Plan).index(self)

    def at_least(self, other: Plan) -> bool:
        return self.rank >= other.rank


DEFAULT_WORKING_HOURS = {
    day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")
}


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    plan: Mapped[str] = mapped_column(String(20), default=Plan.FREE.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def plan_enum(self) -> Plan:
        return Plan(self.plan)


class Admin(UserMixin, db.Model):
    """A person who signs in to the admin screens (O2). May also be a member."""

    __tablename__ = "admins"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class Member(db.Model):
    """社員: an employee who takes part in meetings (O2, O4)."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("organization_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    # {"mon": [["09:00", "18:00"]], ...}: local times in the member's time zone.
    working_hours: Mapped[dict] = mapped_column(JSON, default=lambda: dict(DEFAULT_WORKING_HOURS))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()


class PageKind(str, enum.Enum):
    PERSONAL = "personal"
    TEAM = "team"


class AttendMode(str, enum.Enum):
    ALL = "all"
    ROUND_ROBIN = "round_robin"


class CancelAction(str, enum.Enum):
    MARK = "mark"
    DELETE = "delete"


class BookingPage(db.Model):
    """予約ページ (O3-O5) with its per-page Salesforce settings (P1-P4)."""

    __tablename__ = "booking_pages"
    __table_args__ = (
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("window_days > 0", name="window_positive"),
        CheckConstraint("buffer_minutes >= 0", name="buffer_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default=PageKind.TEAM.value)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=30)
    window_days: Mapped[int] = mapped_column(Integer, default=14)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    attend_mode: Mapped[str] = mapped_column(String(20), default=AttendMode.ALL.value)
    is_published: Mapped[bool] = mapped_column(Boolean, default=True)
    # Salesforce settings (①-④ of the seed); applied by the sync engine.
    sf_split_name: Mapped[bool] = mapped_column(Boolean, default=False)
    sf_create_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    sf_create_event: Mapped[bool] = mapped_column(Boolean, default=False)
    sf_map_fields: Mapped[bool] = mapped_column(Boolean, default=False)
    sf_company_placeholder: Mapped[str] = mapped_column(String(255), default="未入力")
    sf_cancel_action: Mapped[str] = mapped_column(String(20), default=CancelAction.MARK.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    page_members: Mapped[list[PageMember]] = relationship(
        back_populates="page", order_by="PageMember.position", cascade="all, delete-orphan"
    )
    fields: Mapped[list[FormField]] = relationship(
        back_populates="page", order_by="FormField.position", cascade="all, delete-orphan"
    )

    @property
    def is_team(self) -> bool:
        return self.kind == PageKind.TEAM.value

    @property
    def members(self) -> list[Member]:
        """Members in the page's メンバー並び順 (O3)."""
        return [pm.member for pm in self.page_members]


class PageMember(db.Model):
    __tablename__ = "page_members"
    __table_args__ = (UniqueConstraint("page_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("booking_pages.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)

    page: Mapped[BookingPage] = relationship(back_populates="page_members")
    member: Mapped[Member] = relationship()


class FieldType(str, enum.Enum):
    TEXT = "text"
    TEXTAREA = "textarea"
    RADIO = "radio"
    CHECKBOX = "checkbox"
    DROPDOWN = "dropdown"
    HIDDEN = "hidden"
    DATE = "date"

    @property
    def has_choices(self) -> bool:
        return self in (FieldType.RADIO, FieldType.CHECKBOX, FieldType.DROPDOWN)


class FormField(db.Model):
    """入力フィールド: a custom booking-form field (F2)."""

    __tablename__ = "form_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("booking_pages.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    field_type: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    help_text: Mapped[str] = mapped_column(String(500), default="")
    choices: Mapped[list] = mapped_column(JSON, default=list)
    hidden_value: Mapped[str] = mapped_column(String(1000), default="")
    salesforce_field: Mapped[str] = mapped_column(String(100), default="")

    page: Mapped[BookingPage] = relationship(back_populates="fields")

    @property
    def type_enum(self) -> FieldType:
        return FieldType(self.field_type)


class BookingStatus(str, enum.Enum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Booking(db.Model):
    """A confirmed booking. Never deleted: cancelling keeps it as history (F4, F5)."""

    __tablename__ = "bookings"

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


class SyncAction(str, enum.Enum):
    CREATE = "create"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"


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
    # Sync engine (issue 6): when a retry or an org pause lets the record run again, the
    # random token of the current lease holder (S4), and when it reached a final status.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str] = mapped_column(String(32), default="")
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking: Mapped[Booking] = relationship(back_populates="syncs")

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_SYNC_STATUSES


# --- Salesforce connection (issue 4: C1-C9) -------------------------------------------------


class LoginKind(str, enum.Enum):
    PRODUCTION = "production"
    SANDBOX = "sandbox"
    MY_DOMAIN = "my_domain"


class ConnectionStatus(str, enum.Enum):
    CONNECTED = "connected"
    BROKEN = "broken"  # 要再連携 (C7)


class SalesforceConnection(db.Model):
    """An organization's Salesforce connection. Secrets are Fernet ciphertext (C8).

    Disconnecting deletes the row (C6); the audit log and page settings stay.
    """

    __tablename__ = "salesforce_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), unique=True)
    login_kind: Mapped[str] = mapped_column(String(20), default=LoginKind.PRODUCTION.value)
    login_url: Mapped[str] = mapped_column(String(255))
    # The consumer key is an OAuth client id (public in every authorize URL), kept in clear.
    consumer_key: Mapped[str] = mapped_column(String(255))
    consumer_secret_enc: Mapped[str] = mapped_column(Text)
    access_token_enc: Mapped[str] = mapped_column(Text)
    refresh_token_enc: Mapped[str] = mapped_column(Text)
    instance_url: Mapped[str] = mapped_column(String(255))
    sf_user_id: Mapped[str] = mapped_column(String(18))
    sf_org_id: Mapped[str] = mapped_column(String(18))
    sf_username: Mapped[str] = mapped_column(String(255), default="")
    sf_email: Mapped[str] = mapped_column(String(255), default="")
    sf_display_name: Mapped[str] = mapped_column(String(255), default="")
    sf_profile_name: Mapped[str] = mapped_column(String(255), default="")
    sf_is_admin: Mapped[bool | None] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20), default=ConnectionStatus.CONNECTED.value)
    broken_reason: Mapped[str] = mapped_column(Text, default="")
    broken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_limit_info: Mapped[str] = mapped_column(String(255), default="")
    connected_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("admins.id", ondelete="SET NULL")
    )
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship()
    connected_by: Mapped[Admin | None] = relationship()

    @property
    def is_broken(self) -> bool:
        return self.status == ConnectionStatus.BROKEN.value

    @property
    def consumer_key_hint(self) -> str:
        """The last 4 characters only: enough to recognise the key, never the whole."""
        return "…" + self.consumer_key[-4:]


class AuditKind(str, enum.Enum):
    CONNECT = "connect"
    RECONNECT = "reconnect"
    DISCONNECT = "disconnect"
    BROKEN = "broken"


class SalesforceAuditEvent(db.Model):
    """Who connected, reconnected or disconnected Salesforce, and when it broke (C6, C7)."""

    __tablename__ = "salesforce_audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id", ondelete="SET NULL"))
    # A copy of the admin's name: the log outlives deleted admins.
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class DescribeCache(db.Model):
    """An sObject describe result per connection, reused until its TTL runs out (C9, M5, S8)."""

    __tablename__ = "salesforce_describe_cache"
    __table_args__ = (UniqueConstraint("connection_id", "sobject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("salesforce_connections.id", ondelete="CASCADE"), index=True
    )
    sobject: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict] = mapped_column(JSON)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- Sync engine (issue 6: S5, S8) -----------------------------------------------------------


class SyncPause(db.Model):
    """An organization whose Salesforce said REQUEST_LIMIT_EXCEEDED: its syncs wait (S5)."""

    __tablename__ = "sync_pauses"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"),
                                                 primary_key=True)
    paused_until: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(255), default="")


class SalesforceUserCache(db.Model):
    """The org's active Salesforce users (Id, Email) per connection, for Event owners (E3, S8)."""

    __tablename__ = "salesforce_user_cache"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("salesforce_connections.id", ondelete="CASCADE"), primary_key=True
    )
    users: Mapped[list] = mapped_column(JSON, default=list)
    # The connection's connected_at when fetched: a reconnect (maybe to another org, maybe a
    # reused row id after a disconnect) makes the cache stale.
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
