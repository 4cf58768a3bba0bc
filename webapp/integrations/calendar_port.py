"""The calendar port (K1-K4): what the core asks of CalDAV, Google Calendar or Microsoft Graph,
and nothing more ("a provider is an adapter"). It lives beside its adapters, so that they
depend on nothing above `webapp/integrations/`.

An adapter lives in `webapp/integrations/<provider>/` (the only code speaking that provider's
protocol), is built by a factory in a `Registry` under the connection's `provider` name (the
app builds one from its config: services/calendars/registry.py), and never touches the
database: it gets plain values in and returns plain values. The core stores
what it returns (busy store, sync state, connection state) and decides what happens on errors:

- `ProviderAuthError`: the credentials no longer work (wrong password, revoked token). The core
  marks the connection broken with the message as reason (K6) and stops syncing it.
- `ProviderUnavailable`: timeouts, 5xx, connection refused. Kept state is left alone; retried.
- `SyncStateInvalid`: the incremental state is no longer accepted (expired sync token, 410 Gone
  delta link). The core calls `sync` again with an empty state (a full sync).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

Interval = tuple[datetime, datetime]


class ProviderError(Exception):
    """Any failure of a provider call; `str(exc)` is safe to show (no secrets, no tokens)."""


class ProviderAuthError(ProviderError):
    """Credentials refused: the connection is broken until the member reconnects (K6)."""


class ProviderUnavailable(ProviderError):
    """A transient failure (timeout, 5xx, network): retry later, keep the stored busy times."""


class SyncStateInvalid(ProviderError):
    """The stored incremental state was refused; sync again from an empty state."""


@dataclass(frozen=True)
class RemoteCalendar:
    """A calendar the account can see. `remote_id` is stable (CalDAV: the collection URL)."""

    remote_id: str
    name: str
    writable: bool = True


@dataclass(frozen=True)
class BusyItem:
    """One remote item (event, series with its exceptions) and the busy intervals it makes,
    already expanded over the sync window, in UTC, transparent/free occurrences left out.
    `ref` is the item's stable key in that calendar (CalDAV href, Google/Graph event id);
    `uid` its iCalendar UID when known, so the core can skip Apo's own written bookings."""

    ref: str
    intervals: tuple[Interval, ...]
    uid: str = ""


@dataclass(frozen=True)
class SyncResult:
    """What changed since `state`. With `full` the stored intervals of the calendar are
    replaced by `changed`; otherwise `changed` items replace theirs and `removed` refs go."""

    changed: list[BusyItem]
    removed: list[str]
    state: dict
    full: bool = False


@dataclass(frozen=True)
class BookingEvent:
    """A booking as it is written to a member's calendar (K4). `uid` comes from
    `services.ical_uid.booking_uid`, the same UID as the email invitation (N1)."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    sequence: int = 0
    location: str = ""  # V2: where the meeting happens (a join link, an address, a phone)
    # V1: "google_meet" or "teams": this event also carries the host's online meeting,
    # created once per event (Meet's requestId, Graph's transactionId come from `uid`).
    conference: str = ""


@dataclass(frozen=True)
class Conference:
    """The online meeting an event carries (V1, V2). ``pending``: the provider creates it
    asynchronously and has not finished (Meet's createRequest status ``pending``)."""

    join_url: str = ""
    dial_in: tuple[dict, ...] = ()  # {"number": "+1 ...", "pin": "...", "country": "US"}
    passcode: str = ""
    pending: bool = False


@dataclass(frozen=True)
class PutAnswer:
    """What a write did: a note for the write log when it kept the member's own changes
    (K10), and the event's online meeting when one was asked for."""

    note: str | None = None
    conference: Conference | None = None


@dataclass
class ConnectionInfo:
    """What an adapter is built from: decrypted credentials and the URL the member gave.

    `on_credentials_change(new_credentials)` lets an OAuth adapter hand back refreshed tokens;
    the core encrypts and stores them (C8)."""

    server_url: str
    username: str
    credentials: dict
    timeout: float = 10.0
    on_credentials_change: Callable[[dict], None] | None = None
    options: dict = field(default_factory=dict)  # provider settings from config (test hosts)


class CalendarProvider(Protocol):
    """The calls the core makes. Every call has a timeout and raises ProviderError subclasses."""

    def list_calendars(self) -> list[RemoteCalendar]:
        """The account's calendars (CalDAV: principal -> calendar home -> collections)."""

    def sync(self, remote_id: str, state: dict, window: Interval) -> SyncResult:
        """Busy items changed since `state` ({} = first/full sync), expanded over `window`."""

    def busy(self, remote_id: str, window: Interval) -> list[Interval]:
        """Busy intervals in `window`, asked live (diagnostics; pages and confirm read the
        store, refreshed through `sync`)."""

    def put_event(self, remote_id: str, event: BookingEvent) -> PutAnswer:
        """Create or update the event with `event.uid`: idempotent, so a retry writes once.
        An update never silently overwrites the member's own changes (K10). With
        `event.conference` the event carries an online meeting (V1), created once."""

    def delete_event(self, remote_id: str, uid: str) -> None:
        """Remove the event with `uid`; an event that is already gone is not an error."""


ProviderFactory = Callable[[ConnectionInfo], CalendarProvider]


class Registry:
    """The providers an app can build, by name; one per app, filled once at start-up."""

    def __init__(self, factories: dict[str, ProviderFactory] | None = None):
        self._factories = dict(factories or {})

    def register(self, provider: str, factory: ProviderFactory) -> None:
        """Make `provider` (the connection's `provider` column) buildable."""
        self._factories[provider] = factory

    def build(self, provider: str, info: ConnectionInfo) -> CalendarProvider:
        """The adapter for a connection; KeyError for a provider nobody registered."""
        return self._factories[provider](info)

    def names(self) -> list[str]:
        return sorted(self._factories)
