"""What slot computation reads from the calendars (K2, K3, K5, K6): stored busy intervals and
the members whose broken calendar has outlived its grace period. Database only, never a
provider."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from webapp.extensions import db
from webapp.integrations.calendar_port import Interval
from webapp.models import CalendarSettings, utcnow
from webapp.models.calendars import DEFAULT_GRACE_MINUTES
from webapp.services.calendars import busy_store


def busy_and_unavailable(
    org_id: int, member_ids: Sequence[int], lower: datetime, upper: datetime,
    now: datetime | None = None,
) -> tuple[dict[int, list[Interval]], set[int]]:
    """(busy intervals per member overlapping [lower, upper), members offered no slot).

    A member is unavailable once a blocking calendar has been broken for longer than the
    organization's grace period (K6): a stale copy could double-book them.
    """
    busy = busy_store.busy_by_member(member_ids, lower, upper)
    unavailable = busy_store.unavailable_members(member_ids, now or utcnow(), grace(org_id))
    return busy, unavailable


def grace(org_id: int) -> timedelta:
    """The organization's K6 grace period."""
    settings = db.session.get(CalendarSettings, org_id)
    minutes = settings.grace_minutes if settings else DEFAULT_GRACE_MINUTES
    return timedelta(minutes=minutes)
