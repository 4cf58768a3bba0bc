"""The Salesforce connection, its audit log and per-connection caches (C1-C9, S5, S8)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.base import UTCDateTime, utcnow
from webapp.models.organizations import Admin, Organization


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


# --- Sync engine (S5, S8) --------------------------------------------------------------------


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
