"""Keeping busy times fresh (K2, K3, K6): sync calendars incrementally into the busy store.

Background jobs call `sync_connection` per connection (polling, K3); confirming a booking calls
`refresh_stale` for the page's members with a short timeout. Provider failures never raise out
of here: they become the connection's state and reason (K6), except where a caller asks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from webapp.extensions import db
from webapp.integrations import calendar_port
from webapp.models import CalendarConnection, MemberCalendar, utcnow
from webapp.services.calendars import busy_store
from webapp.services.calendars.connections import adapter_for, mark_broken, mark_ok
from webapp.services.calendars.options import CalendarOptions

log = logging.getLogger(__name__)
OWN_UID_PREFIX = "apo-booking-"  # services.ical_uid.booking_uid: Apo's own written bookings


@dataclass
class SyncOutcome:
    calendars: int = 0
    intervals: int = 0
    error: calendar_port.ProviderError | None = None


def sync_connection(connection: CalendarConnection, options: CalendarOptions,
                    now: datetime | None = None, timeout: float | None = None) -> SyncOutcome:
    """Sync every blocking calendar of a connection; a failure marks it broken (K6)."""
    now = now or utcnow()
    outcome = SyncOutcome()
    try:
        adapter = adapter_for(connection, options, timeout)
        for calendar in connection.calendars:
            if calendar.blocks:
                outcome.intervals += sync_calendar(adapter, calendar, options, now)
                outcome.calendars += 1
    except calendar_port.ProviderError as exc:
        log.info("calendar connection %s: %s", connection.id, type(exc).__name__)
        mark_broken(connection, exc, now)
        outcome.error = exc
        return outcome
    mark_ok(connection, now)
    return outcome


def sync_calendar(adapter: calendar_port.CalendarProvider, calendar: MemberCalendar,
                  options: CalendarOptions, now: datetime) -> int:
    """One incremental sync of one calendar into the busy store; returns intervals written.

    The core keeps the expansion horizon beside the adapter's opaque state: once the stored
    expansion no longer reaches a day past the wanted horizon, recurring series must be
    expanded again, so the calendar is re-read in full.
    """
    window = (now - timedelta(days=1), now + timedelta(days=options.horizon_days))
    stored = calendar.sync_state or {}
    state = stored.get("adapter", {})
    horizon = stored.get("horizon_end")
    if not horizon or datetime.fromisoformat(horizon) < window[1] - timedelta(days=1):
        state, window = {}, (window[0], window[1] + timedelta(days=7))
    else:
        window = (window[0], datetime.fromisoformat(horizon))
    try:
        result = adapter.sync(calendar.remote_id, state, window)
    except calendar_port.SyncStateInvalid:
        result = adapter.sync(calendar.remote_id, {}, window)
    result = calendar_port.SyncResult(
        [item for item in result.changed if not _own(item, options)] ,
        list(result.removed) + [item.ref for item in result.changed if _own(item, options)],
        result.state, result.full)
    written = busy_store.apply_sync(calendar, result)
    calendar.sync_state = {"adapter": result.state, "horizon_end": window[1].isoformat()}
    calendar.last_synced_at = now
    return written


def refresh_stale(member_ids: Sequence[int], options: CalendarOptions,
                  now: datetime | None = None) -> int:
    """K3 on confirm: re-sync the members' connections whose copy is older than
    `confirm_max_age`, with the short confirm timeout. Failures only update the state; the
    stored copy (and the K6 grace rules) then decide. Returns the connections refreshed."""
    now = now or utcnow()
    cutoff = now - options.confirm_max_age
    stale = db.session.scalars(
        select(CalendarConnection).join(MemberCalendar)
        .where(CalendarConnection.member_id.in_(list(member_ids)),
               MemberCalendar.blocks.is_(True),
               (MemberCalendar.last_synced_at.is_(None)) | (MemberCalendar.last_synced_at < cutoff))
        .distinct()).all()
    for connection in stale:
        sync_connection(connection, options, now, timeout=options.confirm_timeout)
    return len(stale)


def refresh_connections(connection_ids, options: CalendarOptions,
                        now: datetime | None = None) -> None:
    """K7: re-sync connections whose calendars the live check found busy, with the confirm's
    short timeout, so the slots shown next come from a fresh copy. The caller commits."""
    now = now or utcnow()
    for connection in db.session.scalars(select(CalendarConnection).where(
            CalendarConnection.id.in_(list(connection_ids)))):
        sync_connection(connection, options, now, timeout=options.confirm_timeout)


def due_connection_ids(options: CalendarOptions, now: datetime | None = None) -> list[int]:
    """Connections with a blocking calendar not synced within its poll interval (K3, K8):
    CalDAV every ``fast_poll_interval`` (its sync-collection costs one call when nothing
    changed, and it has no push), the others every ``poll_interval``."""
    now = now or utcnow()
    fast, slow = now - options.fast_poll_interval, now - options.poll_interval
    synced = MemberCalendar.last_synced_at
    return list(db.session.scalars(
        select(CalendarConnection.id).join(MemberCalendar)
        .where(MemberCalendar.blocks.is_(True),
               synced.is_(None)
               | ((CalendarConnection.provider == "caldav") & (synced < fast))
               | (synced < slow))
        .distinct().order_by(CalendarConnection.id)))


def _own(item: calendar_port.BusyItem, options: CalendarOptions) -> bool:
    # Apo's own bookings already block through their BusySlot claims; counting the written
    # copy as well would block a booking's own time when it is moved by a few minutes.
    return item.uid.startswith(OWN_UID_PREFIX) and item.uid.endswith("@" + options.domain)
