"""The live check at confirm (K7): the chosen slot asked of each member's calendars, now.

Pages read the stored copy (K3); a confirm does not trust it. Before the booking's lock is
taken (X7: no lock is held while a provider is waited on), each blocking calendar of the
page's members is asked about the slot's window only, one bounded call per calendar, all in
parallel, within ``CALENDAR_CONFIRM_TIMEOUT`` in all: CalDAV a time-range REPORT, Google
freeBusy, Graph getSchedule (the adapters' ``busy``); where Salesforce Events count as busy
(K5), one query for the members' Events in that window.

What a calendar answers is busy for this confirm only (the booking rules take it beside the
stored copy: a round-robin page then gives the slot to the next free member). A calendar
that cannot answer in time leaves the decision to its stored copy while that copy is younger
than ``CALENDAR_LIVE_FALLBACK_MAX_AGE``; otherwise its member counts as unavailable for this
confirm. A calendar found busy where its copy was not is synced again by the caller's job.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from webapp.extensions import db
from webapp.integrations.calendar_port import Interval, ProviderError
from webapp.models import CalendarConnection, CalendarStatus, MemberCalendar, utcnow
from webapp.services.calendars.connections import adapter_for
from webapp.services.calendars.options import CalendarOptions

log = logging.getLogger(__name__)
_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="live-check")


@dataclass
class LiveAnswer:
    """Busy intervals per member found live, members that count as unavailable, and the
    connections whose stored copy missed a busy time (to sync again)."""

    busy: dict[int, list[Interval]] = field(default_factory=dict)
    unavailable: set[int] = field(default_factory=set)
    stale_connections: set[int] = field(default_factory=set)
    asked: int = 0


def check(member_ids: list[int], window: Interval, options: CalendarOptions,
          salesforce=None, now: datetime | None = None,
          ignore: tuple[Interval, ...] = ()) -> LiveAnswer:
    """Ask every blocking calendar of these members about ``window`` (K7).

    ``salesforce``: a callable(window) -> {member_id: [intervals]} for K5, or None.
    ``ignore``: intervals that are the booking's own (a reschedule's current time, written
    to the member's calendar by Apo).
    """
    now = now or utcnow()
    answer = LiveAnswer(busy={mid: [] for mid in member_ids})
    calendars = db.session.scalars(
        select(MemberCalendar).join(CalendarConnection,
                                    CalendarConnection.id == MemberCalendar.connection_id)
        .where(MemberCalendar.member_id.in_(member_ids), MemberCalendar.blocks.is_(True),
               CalendarConnection.status != CalendarStatus.BROKEN.value)).all()
    tasks = {}
    for calendar in calendars:
        try:
            adapter = adapter_for(calendar.connection, options, timeout=options.confirm_timeout)
        except (ProviderError, KeyError, ValueError):
            _fallback(answer, calendar, options, now)
            continue
        tasks[_POOL.submit(adapter.busy, calendar.remote_id, window)] = calendar
    if salesforce is not None:
        tasks[_POOL.submit(salesforce, window)] = None
    answer.asked = len(tasks)
    done, late = wait(tasks, timeout=options.confirm_timeout + 0.5)
    for future in late:
        future.cancel()
    for future, calendar in tasks.items():
        error = None if future in done else "timeout"
        if error is None and future.exception() is not None:
            error = type(future.exception()).__name__
        if calendar is None:  # Salesforce Events: no stored-copy fallback here, K5 polls it
            if error is None:
                for member_id, intervals in future.result().items():
                    answer.busy.setdefault(member_id, []).extend(intervals)
            else:
                log.info("live check of Salesforce Events: %s", error)
            continue
        if error is not None:
            log.info("live check of calendar %s: %s", calendar.id, error)
            _fallback(answer, calendar, options, now)
            continue
        intervals = [i for i in future.result() if i not in ignore]
        if intervals:
            answer.busy[calendar.member_id].extend(intervals)
            answer.stale_connections.add(calendar.connection_id)
    return answer


def _fallback(answer: LiveAnswer, calendar: MemberCalendar, options: CalendarOptions,
              now: datetime) -> None:
    """No live answer: the stored copy decides while it is young enough (K7)."""
    synced = calendar.last_synced_at
    if synced is not None and synced.tzinfo is None:
        from datetime import UTC

        synced = synced.replace(tzinfo=UTC)
    if synced is None or now - synced > options.live_fallback_max_age:
        answer.unavailable.add(calendar.member_id)


def window_for(start: datetime, end: datetime, buffer_minutes: int) -> Interval:
    """The slot with the page's buffer on both sides: what must be free."""
    margin = timedelta(minutes=buffer_minutes)
    return start - margin, end + margin
