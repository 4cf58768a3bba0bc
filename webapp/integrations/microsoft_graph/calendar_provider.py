"""The Microsoft 365 calendar adapter of the calendar core (K1-K4): ``MicrosoftCalendar``.

It turns ``GraphClient`` answers into the core's provider types and Graph errors into the
core's (auth -> ProviderAuthError, throttling/5xx -> ProviderUnavailable, expired delta ->
SyncStateInvalid). A booking is written with ``transactionId`` = its UID (a retried POST
returns the first event) and tagged with the UID in an extended property, the documented way
to find an event by our own key; Graph's ``iCalUId`` is read-only, so it cannot carry ours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo

from webapp.integrations.calendar_port import (
    BookingEvent,
    BusyItem,
    Conference,
    ConnectionInfo,
    Interval,
    ProviderAuthError,
    ProviderError,
    ProviderUnavailable,
    PutAnswer,
    RemoteCalendar,
    SyncResult,
    SyncStateInvalid,
)

from . import oauth
from .client import GraphClient, token_refresher
from .errors import (
    DeltaTokenExpired,
    GraphAuthError,
    GraphError,
    GraphRequestError,
    GraphRetryableError,
)
from .records import GraphEvent

# A named extended property in our own property set (a fixed GUID of Apo's).
UID_PROPERTY = "String {5f4c1a4e-9a51-4d49-8f0e-3b8f7d0a6c21} Name ApoBookingUid"


@dataclass(frozen=True)
class MicrosoftApp:
    """The registered multi-tenant app and the hosts it talks to (config, not per member)."""

    client_id: str
    client_secret: str
    login_url: str = oauth.LOGIN_URL
    graph_url: str = oauth.GRAPH_URL


def _mapped(call, *args, **kwargs):
    """Run a Graph call; its errors become the core's (messages carry no secrets)."""
    try:
        return call(*args, **kwargs)
    except GraphAuthError as exc:
        raise ProviderAuthError(f"Microsoft 365: {exc.message}") from None
    except DeltaTokenExpired as exc:
        raise SyncStateInvalid(f"Microsoft 365: {exc.message}") from None
    except GraphRetryableError as exc:
        raise ProviderUnavailable(f"Microsoft 365: {exc.message}") from None
    except GraphError as exc:
        raise ProviderError(f"Microsoft 365: {exc.message}") from None


def credentials_from(tokens: oauth.TokenSet) -> dict:
    return {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at}


class MicrosoftCalendar:
    """A member's Microsoft 365 calendars through Graph (the ``microsoft`` provider)."""

    def __init__(self, client: GraphClient, address: str, zone: str = "UTC"):
        self.client = client
        self.address = address
        self.zone = ZoneInfo(zone)

    @classmethod
    def from_connection(cls, info: ConnectionInfo, app: MicrosoftApp) -> MicrosoftCalendar:
        tokens = oauth.TokenSet(access_token=info.credentials.get("access_token", ""),
                                refresh_token=info.credentials.get("refresh_token"),
                                expires_at=float(info.credentials.get("expires_at") or 0))

        def persist(fresh: oauth.TokenSet) -> None:
            if info.on_credentials_change is not None:
                info.on_credentials_change(credentials_from(fresh))

        refresher = token_refresher(
            lambda refresh_token: oauth.refresh(app.client_id, app.client_secret, refresh_token,
                                                login_url=app.login_url, timeout=info.timeout),
            persist)
        # A throttled call waits at most a few seconds here; longer Retry-After values go
        # back to the job, which retries later (ProviderUnavailable).
        client = GraphClient(tokens, refresher, graph_url=app.graph_url, timeout=info.timeout,
                             max_wait=min(5.0, info.timeout))
        return cls(client, info.username, info.options.get("zone", "UTC"))

    # ----- reads -------------------------------------------------------------------------
    def list_calendars(self) -> list[RemoteCalendar]:
        found = _mapped(self.client.calendars)
        found.sort(key=lambda c: not c.is_default)
        return [RemoteCalendar(c.id, c.name, c.can_edit) for c in found]

    def sync(self, remote_id: str, state: dict, window: Interval) -> SyncResult:
        """One calendarView delta round. The delta link is bound to its window, so it is
        reused only while its window still covers the one asked; else a full round."""
        start, end = window
        link = state.get("delta_link") if state else None
        if link and not (state.get("start", "") <= _iso(start) and
                         state.get("end", "") >= _iso(end)):
            link = None
        if link is not None:
            start, end = dt.datetime.fromisoformat(state["start"]), dt.datetime.fromisoformat(
                state["end"])
        result = _mapped(self.client.sync_calendar_view, start, end, delta_link=link,
                         calendar_id=remote_id)
        changed = [BusyItem(ref=e.id, intervals=self._intervals(e),
                            uid=e.transaction_id or e.ical_uid) for e in result.events]
        new_state = {"delta_link": result.delta_link, "start": _iso(start), "end": _iso(end)}
        return SyncResult(changed=changed, removed=list(result.removed), state=new_state,
                          full=result.full)

    def _intervals(self, event: GraphEvent) -> tuple[Interval, ...]:
        if not event.blocks:
            return ()
        if event.is_all_day:
            # Floating dates: the member's own day (K2), whatever zone Graph wrote them in.
            start = dt.datetime.combine(event.start.date(), dt.time(0), self.zone)
            end = dt.datetime.combine(event.end.date(), dt.time(0), self.zone)
            return ((start.astimezone(dt.UTC), end.astimezone(dt.UTC)),)
        return ((event.start, event.end),)

    def busy(self, remote_id: str, window: Interval) -> list[Interval]:
        answer = _mapped(self.client.get_schedule, [self.address], *window)
        blocks = answer.get(self.address)
        if isinstance(blocks, GraphError):
            raise ProviderError(f"Microsoft 365: {blocks.message}")
        return [(b.start, b.end) for b in blocks or []]

    # ----- writes (K4) -------------------------------------------------------------------
    def put_event(self, remote_id: str, event: BookingEvent) -> PutAnswer:
        """Create the event, or update only Apo's fields (subject, start, end) on the
        member's copy under If-Match on its changeKey (K10): the body, location and guests
        they edited in Outlook are kept. A 412 reads it again, three times at most. With a
        conference the event is a Teams meeting (V1): made with the event, created once
        (transactionId), kept when the event moves."""
        online = event.conference == "teams"
        for _ in range(3):
            existing = _mapped(self.client.find_event_by_property, UID_PROPERTY, event.uid)
            if existing is None:
                break
            wants_meeting = online and not existing.join_url
            if (existing.start, existing.end, existing.subject) == (
                    event.start, event.end, event.summary) and not wants_meeting:
                return PutAnswer(conference=_teams(existing) if online else None)
            try:
                updated = _mapped(self._update_unless_changed, existing, event, wants_meeting)
            except _Changed:
                continue
            if updated is None:
                break  # deleted in Outlook meanwhile: write it again
            return PutAnswer(note="kept the member's own changes to the event"
                             if existing.location else None,
                             conference=_teams(updated if updated.join_url else existing)
                             if online else None)
        else:
            raise ProviderUnavailable("Microsoft 365: the event kept changing")
        created = _mapped(self.client.create_event, event.summary, event.start, event.end,
                          transaction_id=event.uid, body_html=_html(event.description),
                          calendar_id=remote_id, extended_properties={UID_PROPERTY: event.uid},
                          location=event.location or None, online_meeting=online)
        return PutAnswer(conference=_teams(created) if online else None)

    def _update_unless_changed(self, existing: GraphEvent, event: BookingEvent,
                               online_meeting: bool = False):
        try:
            return self.client.update_event(existing.id, subject=event.summary,
                                            start=event.start, end=event.end,
                                            change_key=existing.change_key or None,
                                            online_meeting=online_meeting)
        except GraphRequestError as exc:
            if exc.status == 412:  # changed in Outlook since it was read
                raise _Changed() from None
            raise

    def delete_event(self, remote_id: str, uid: str) -> None:
        existing = _mapped(self.client.find_event_by_property, UID_PROPERTY, uid)
        if existing is not None:
            _mapped(self.client.delete_event, existing.id)

    # ----- push (K8) ---------------------------------------------------------------------
    supports_push = True
    push_per_calendar = False  # one subscription on the member's events

    def open_channel(self, remote_id: str, channel_id: str, address: str, secret: str,
                     ttl: dt.timedelta) -> tuple[str, dt.datetime]:
        """(subscription id, expiration) of a subscription on the member's events; Graph
        checks ``address`` with the validationToken handshake before it answers."""
        answer = _mapped(self.client.subscribe, "/me/events", address, secret,
                         dt.datetime.now(dt.UTC) + ttl, address.rstrip("/") + "/lifecycle")
        return answer["id"], _parse_expiry(answer["expirationDateTime"])

    def renew_channel(self, remote_id: str, ref: str, channel_id: str, new_channel_id: str,
                      address: str, secret: str, ttl: dt.timedelta) -> tuple[str, dt.datetime]:
        answer = _mapped(self.client.renew, ref, dt.datetime.now(dt.UTC) + ttl)
        return ref, _parse_expiry(answer["expirationDateTime"])

    def close_channel(self, ref: str, channel_id: str) -> None:
        _mapped(self.client.unsubscribe, ref)


class _Changed(Exception):
    """A conditional update met a newer version (412): read it again (K10)."""


def _parse_expiry(value: str) -> dt.datetime:
    """Graph writes seven fractional digits ("...00.0000000Z"); Python reads at most six."""
    value = value.rstrip("Z")
    head, _, fraction = value.partition(".")
    moment = dt.datetime.fromisoformat(head + ("." + fraction[:6] if fraction else ""))
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _teams(event: GraphEvent) -> Conference:
    dial_in = ({"number": event.toll_number, "pin": event.conference_id, "country": ""},) \
        if event.toll_number else ()
    return Conference(join_url=event.join_url, dial_in=dial_in)


def _html(text: str) -> str:
    return escape(text or "").replace("\n", "<br>")
