"""Busy times by push (K8): Google Calendar watch channels and Microsoft Graph subscriptions.

Each blocking Google calendar gets an events.watch channel, each Microsoft 365 connection a
subscription on the member's events, pointing at Apo's public hooks (views/hooks.py). Every
channel has its own secret (Google's channel token, Graph's clientState), stored only as its
SHA-256; a notification is believed only when its channel is known and its secret matches,
and even then it only schedules that calendar's incremental sync: the body is never trusted.

``ensure`` runs after each sync of the connection (the poll, every few minutes, is the safety
net): it opens missing channels and renews those that end within ``RENEW_BEFORE`` (a Google
channel cannot be extended, so a new one replaces it; a Graph subscription is extended). A
channel a provider says is gone (Graph's lifecycle notifications) is marked expired, so the
next ``ensure`` re-creates it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select

from webapp.extensions import db
from webapp.integrations.calendar_port import ProviderError
from webapp.models import CalendarChannel, CalendarConnection, utcnow
from webapp.services.calendars.connections import adapter_for
from webapp.services.calendars.options import CalendarOptions

log = logging.getLogger(__name__)
# Google channels live up to a week (events.watch params.ttl); Graph subscriptions on Outlook
# events at most 4,230 minutes (the subscription resource's documented maximum). Both are
# renewed a day before they end.
TTL = {"google": timedelta(days=7), "microsoft": timedelta(minutes=4200)}
RENEW_BEFORE = timedelta(days=1)
HOOKS = {"google": "/hooks/google", "microsoft": "/hooks/microsoft"}


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def ensure(connection: CalendarConnection, options: CalendarOptions, base_url: str,
           now: datetime | None = None) -> int:
    """Open or renew the connection's channels; returns how many were opened or renewed.
    Provider trouble is logged and left to the next sync (polling still runs)."""
    if connection.provider not in HOOKS or not base_url:
        return 0
    now = now or utcnow()
    blocking = [c for c in connection.calendars if c.blocks]
    current = {ch.calendar_id: ch for ch in db.session.scalars(
        select(CalendarChannel).where(CalendarChannel.connection_id == connection.id))}
    try:
        adapter = adapter_for(connection, options)
    except (ProviderError, KeyError, ValueError):
        return 0
    if not getattr(adapter, "supports_push", False):
        return 0
    wanted = blocking if adapter.push_per_calendar else blocking[:1]
    address = base_url.rstrip("/") + HOOKS[connection.provider]
    changed = 0
    for calendar in wanted:
        channel = current.pop(calendar.id, None)
        if channel is not None and _utc(channel.expires_at) > now + RENEW_BEFORE:
            continue
        try:
            changed += _open_or_renew(adapter, connection, calendar, channel, address, now)
        except ProviderError as exc:
            log.info("push channel of calendar %s: %s", calendar.id, exc)
    for channel in current.values():  # calendars that no longer block
        try:
            adapter.close_channel(channel.ref, channel.channel_id)
        except ProviderError as exc:
            log.info("closing push channel %s: %s", channel.id, exc)
        db.session.delete(channel)
    return changed


def _open_or_renew(adapter, connection, calendar, channel, address, now) -> int:
    ttl = TTL[connection.provider]
    new_id = uuid.uuid4().hex
    if channel is None:
        secret = secrets.token_urlsafe(32)
        ref, expires = adapter.open_channel(calendar.remote_id, new_id, address, secret, ttl)
        db.session.add(CalendarChannel(
            organization_id=connection.organization_id, connection_id=connection.id,
            calendar_id=calendar.id, channel_id=new_id, ref=ref,
            secret_hash=hash_secret(secret), expires_at=expires))
        return 1
    if adapter.push_per_calendar:  # a new channel with a new secret replaces the old one
        secret = secrets.token_urlsafe(32)
        ref, expires = adapter.renew_channel(calendar.remote_id, channel.ref, channel.channel_id,
                                             new_id, address, secret, ttl)
        channel.channel_id, channel.secret_hash = new_id, hash_secret(secret)
    else:  # extended in place (its secret stays), or opened again when it is gone
        try:
            ref, expires = adapter.renew_channel(calendar.remote_id, channel.ref,
                                                 channel.channel_id, channel.channel_id,
                                                 address, "", ttl)
        except ProviderError:
            secret = secrets.token_urlsafe(32)
            ref, expires = adapter.open_channel(calendar.remote_id, new_id, address, secret, ttl)
            channel.channel_id, channel.secret_hash = new_id, hash_secret(secret)
    channel.ref, channel.expires_at = ref, expires
    return 1


def verify(provider: str, key: str, secret: str, ref: str | None = None) -> int | None:
    """The connection a notification may sync, or None: ``key`` is Google's channel id or
    Graph's subscription id, ``secret`` what came with it, ``ref`` Google's resource id."""
    if not key or not secret or len(key) > 255 or len(secret) > 512:
        return None
    column = CalendarChannel.channel_id if provider == "google" else CalendarChannel.ref
    channel = db.session.scalar(
        select(CalendarChannel).join(CalendarConnection,
                                     CalendarConnection.id == CalendarChannel.connection_id)
        .where(column == key, CalendarConnection.provider == provider))
    if channel is None or not hmac.compare_digest(channel.secret_hash, hash_secret(secret)):
        return None
    if ref is not None and ref != channel.ref:
        return None
    return channel.connection_id


def lost(subscription_id: str, secret: str) -> int | None:
    """A Graph lifecycle notice (subscription removed, reauthorization required, missed
    notifications): the channel is due for renewal now; returns its connection to sync."""
    connection_id = verify("microsoft", subscription_id, secret)
    if connection_id is not None:
        for channel in db.session.scalars(select(CalendarChannel).where(
                CalendarChannel.ref == subscription_id)):
            channel.expires_at = utcnow()
    return connection_id


def _utc(value: datetime) -> datetime:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
