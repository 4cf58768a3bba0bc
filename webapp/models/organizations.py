"""Organizations, admins, members, booking pages and their form fields (O1-O5, F1, F2)."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.config import DEFAULT_TIMEZONE
from webapp.extensions import db
from webapp.models.base import UTCDateTime, utcnow


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
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    plan: Mapped[str] = mapped_column(String(20), default=Plan.FREE.value)
    # Bumped by every change that can alter what the public pages offer (a booking, busy
    # times, hours, settings): the key of the shared availability cache (O4).
    availability_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # V5: where customers' replies go; empty means the attending host.
    reply_to: Mapped[str] = mapped_column(String(254), default="", server_default="")
    # O6: the sites allowed to frame the booking pages, one origin per line (normalized by
    # services/embedding.py); empty means no site may.
    embed_origins: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The logo on the booking pages: a PNG Apo wrote itself (services/org_logo.py), loaded only
    # when served; the version (a hash of it) is in its URL, empty when there is none.
    logo_png: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_version: Mapped[str] = mapped_column(String(16), default="", server_default="")
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
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
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
    # The customer's link reschedules and cancels until this many minutes before the start
    # (0: until the start); afterwards it shows the booking read-only.
    change_cutoff_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attend_mode: Mapped[str] = mapped_column(String(20), default=AttendMode.ALL.value)
    # V1: where the meeting happens (services/meetings.py LOCATION_KINDS); "" = not said.
    # location_value: the address, the fixed URL or the host's phone number.
    location_kind: Mapped[str] = mapped_column(String(20), default="", server_default="")
    location_value: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # R4: how long before a start it can still be booked (the picker and confirm both).
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    # R1: a known customer meets the member who owns them in Salesforce ("record": the Lead's
    # or Contact's owner, "account": the Contact's Account owner). R5: who owns a new Lead.
    route_by_owner: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    route_owner_source: Mapped[str] = mapped_column(String(20), default="record",
                                                    server_default="record")
    sf_lead_owner: Mapped[str] = mapped_column(String(20), default="rules",
                                               server_default="rules")
    # R7: the Event field that records held / no-show (a checkbox: true when held; or a
    # picklist with the two values below); empty: a Subject prefix instead.
    sf_outcome_field: Mapped[str] = mapped_column(String(80), default="", server_default="")
    sf_outcome_held: Mapped[str] = mapped_column(String(80), default="Held",
                                                 server_default="Held")
    sf_outcome_no_show: Mapped[str] = mapped_column(String(80), default="No Show",
                                                    server_default="No Show")
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
    # R4: round-robin share (2 gets twice the bookings of 1) and a cap per local day (0: none).
    weight: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    daily_cap: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    page: Mapped[BookingPage] = relationship(back_populates="page_members")
    # Loaded with the row: page.members is read on every slots page and admin page list.
    member: Mapped[Member] = relationship(lazy="joined")


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
    # R6: a custom field of the Event the answer also goes to (the seed's standard Event
    # fields stay Apo's own).
    sf_event_field: Mapped[str] = mapped_column(String(100), default="", server_default="")

    page: Mapped[BookingPage] = relationship(back_populates="fields")

    @property
    def type_enum(self) -> FieldType:
        return FieldType(self.field_type)
