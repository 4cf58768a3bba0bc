"""The public page's availability, computed once and shared by every web process (O4).

What the picker shows is the same for every visitor: the page's slots over a span of days. It
is computed from members' hours, bookings, claims and stored busy times, which every view used
to read again (tens of ms of CPU per view). Here it is kept in Redis, in UTC, under a key that
holds the organization's **availability version**; whatever can change the slots bumps that
version in the same transaction:

- any ORM change to bookings, their members and claims, pages, page members, members (hours),
  calendars and connections (roles, a broken connection), calendar settings (K5, K6):
  ``after_flush`` below sees them;
- the busy store's bulk writes (calendar sync, push, the K7 check, Salesforce Events):
  ``busy_store`` calls ``bump_members``.

So the next view after a change reads the new version, misses, and computes afresh; N web
machines agree because the version is in the database and the slots in the shared Redis.

What moves with the clock is applied at read time, exactly: a slot is shown when
``now + minimum notice <= start < now + window``. Cached spans are whole UTC days, so visitors'
time zones (the browser's) share one entry per span; each view groups the slots by its own
zone. Anything the version does not see (a broken calendar's grace period running out, K6) is
bounded by the entry's time to live. Redis down: computed directly, as before.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, time, timedelta

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from webapp.models import (
    Booking,
    BookingMember,
    BookingPage,
    BusySlot,
    CalendarConnection,
    CalendarSettings,
    Member,
    MemberCalendar,
    Organization,
    PageMember,
)
from webapp.services import slots as slot_rules

log = logging.getLogger(__name__)
TTL_SECONDS = 600
GRID = timedelta(minutes=5)  # every slot starts on a 5-minute boundary (slots.unit_number)
_WATCHED = (Booking, BookingMember, BookingPage, PageMember, Member, MemberCalendar,
            CalendarConnection, CalendarSettings, BusySlot)


# --- the version ------------------------------------------------------------------------------

def version(session, org_id: int) -> str:
    """The organization's availability version as a cache key part. It carries the row's
    creation time too, so a database whose ids start again (a restored backup, a test's
    fresh schema) never meets an older database's entries in a shared Redis."""
    row = session.execute(select(Organization.availability_version, Organization.created_at)
                          .where(Organization.id == org_id)).first()
    if row is None:
        return "0"
    created = row[1].timestamp() if row[1] is not None else 0
    return f"{row[0]}-{int(created * 1_000_000)}"


def bump(session, org_ids) -> None:
    """Bump these organizations' versions in the caller's transaction."""
    ids = sorted({int(i) for i in org_ids if i})
    if ids:
        session.connection().execute(
            update(Organization).where(Organization.id.in_(ids))
            .values(availability_version=Organization.availability_version + 1))


def bump_members(session, member_ids) -> None:
    """The busy store changed these members' busy times (bulk writes the ORM does not see)."""
    ids = sorted({int(i) for i in member_ids if i})
    if ids:
        bump(session, session.connection().execute(
            select(Member.organization_id).where(Member.id.in_(ids))).scalars())


@event.listens_for(Session, "after_flush")
def _after_flush(session, _context) -> None:
    orgs, pages, bookings, connections = set(), set(), set(), set()
    dirty = session.dirty
    for obj in (*session.new, *dirty, *session.deleted):
        if not isinstance(obj, _WATCHED):
            continue
        if obj in dirty and not _changes_slots(obj):
            continue  # e.g. a sync storing a booking's Salesforce ids
        if isinstance(obj, Booking | BookingPage | Member | CalendarConnection |
                      CalendarSettings):
            orgs.add(obj.organization_id)
        elif isinstance(obj, PageMember):
            pages.add(obj.page_id)
        elif isinstance(obj, BookingMember | BusySlot):
            bookings.add(obj.booking_id)
        elif isinstance(obj, MemberCalendar):
            connections.add(obj.connection_id)
    connection = session.connection()
    if pages:
        orgs.update(connection.execute(select(BookingPage.organization_id)
                                       .where(BookingPage.id.in_(pages))).scalars())
    if bookings:
        orgs.update(connection.execute(select(Booking.organization_id)
                                       .where(Booking.id.in_(bookings))).scalars())
    if connections:
        orgs.update(connection.execute(select(CalendarConnection.organization_id)
                                       .where(CalendarConnection.id.in_(connections))).scalars())
    orgs.discard(None)
    if orgs:
        bump(session, orgs)


# The columns whose change can change what a page offers; other updates (a booking's Salesforce
# ids, a connection's last sync time) leave the cache alone.
_SLOT_COLUMNS = {
    Booking: ("status", "start_at", "end_at", "page_id"),
    Member: ("working_hours", "timezone", "organization_id"),
    CalendarConnection: ("status", "broken_since"),
    MemberCalendar: ("blocks", "member_id"),
}


def _changes_slots(obj) -> bool:
    columns = _SLOT_COLUMNS.get(type(obj))
    if columns is None:
        return True  # pages, page members, claims, settings: any change counts
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in columns
               if name in state.attrs)


# --- the cached slots ---------------------------------------------------------------------

def _redis(app) -> Redis | None:
    client = app.extensions.get("apo_availability_redis")
    if client is None and app.config.get("REDIS_URL"):
        client = app.extensions["apo_availability_redis"] = Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=0.3, socket_timeout=0.3)
    return client


def _ceil(moment: datetime) -> datetime:
    """The first grid instant at or after ``moment``: a grid start S is >= x iff S >= this."""
    base = moment.astimezone(UTC)
    step = GRID.total_seconds()
    seconds = -(-base.timestamp() // step) * step
    return datetime.fromtimestamp(seconds, UTC)


def bounds(page: BookingPage, now: datetime) -> tuple[datetime, datetime]:
    """[earliest, latest) starts offered now (minimum notice, window), on the 5-minute grid, so
    the answer is exact for grid-aligned starts and the same for a whole 5-minute span."""
    from webapp.services.bookings import min_notice

    return _ceil(now + min_notice(page)), _ceil(now + timedelta(days=page.window_days))


def page_slots(app, session, page: BookingPage, now: datetime, start: datetime, end: datetime,
               member_id: int | None = None) -> list[slot_rules.Slot]:
    """The page's offered slots in [start, end) now: from the shared cache when it holds the
    span at the current version, else computed and stored."""
    from webapp.services import bookings

    earliest, latest = bounds(page, now)
    lower, upper = max(start, earliest), min(end, latest)
    if lower >= upper:
        return []
    day_from = datetime.combine(lower.astimezone(UTC).date(), time(), UTC)
    day_to = datetime.combine((upper - timedelta(microseconds=1)).astimezone(UTC).date(),
                              time(), UTC) + timedelta(days=1)
    client = _redis(app)
    key = None
    found = None
    if client is not None:
        key = (f"apo:avail:{page.id}:{version(session, page.organization_id)}:"
               f"{member_id or 0}:{day_from:%Y%m%d}:{day_to:%Y%m%d}")
        try:
            raw = client.get(key)
        except RedisError as exc:
            log.info("availability cache unavailable: %s", type(exc).__name__)
            client = None
        else:
            if raw is not None:
                found = [slot_rules.Slot(datetime.fromtimestamp(s, UTC),
                                         datetime.fromtimestamp(e, UTC), tuple(ids))
                         for s, e, ids in json.loads(raw)]
    if found is None:
        found = bookings.available_slots(page, now, day_from, day_to, member_id=member_id,
                                         unbounded=True)
        if client is not None:
            try:
                client.set(key, json.dumps([[s.start.timestamp(), s.end.timestamp(),
                                             list(s.free_member_ids)] for s in found]),
                           ex=TTL_SECONDS)
            except RedisError:
                pass
    return [s for s in found if lower <= s.start < upper]


def picker_html(app, session, page: BookingPage, now: datetime, view_key: tuple,
                render) -> str:
    """The rendered picker for ``view_key`` (member, zone, language, month, day, framed: its
    links keep ``embed=1`` inside a frame, O6): from the
    shared cache at the current version and bounds, else ``render()`` stored. The bounds are
    on the 5-minute grid, so an entry is exact until the next grid instant (O4)."""
    earliest, latest = bounds(page, now)
    client = _redis(app)
    if client is None:
        return render()
    member_id, tz, locale, month, day, framed = view_key
    key = (f"apo:picker:{page.id}:{version(session, page.organization_id)}:"
           f"{int(earliest.timestamp())}:{int(latest.timestamp())}:{member_id or 0}:"
           f"{tz}:{locale}:{month or ''}:{day or ''}:{'e' if framed else ''}")
    try:
        cached = client.get(key)
    except RedisError:
        return render()
    if cached is not None:
        return cached.decode("utf-8")
    html = render()
    try:
        client.set(key, html.encode("utf-8"), ex=TTL_SECONDS)
    except RedisError:
        pass
    return html
