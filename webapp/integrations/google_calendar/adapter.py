"""The Google Calendar provider adapter of the calendar core (K1-K4): busy times by
incremental sync with sync tokens, a live free/busy query, and the booking's event written
by its iCalendar UID.

A change is pushed through an events.watch channel (K8: ``open_channel``; the core keeps
and renews it, services/calendars/push.py) and read by the same incremental sync; polling
with sync tokens stays the safety net, one events.list call when nothing changed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from webapp.integrations.calendar_port import (
    BookingEvent,
    BusyItem,
    Conference,
    ConnectionInfo,
    Interval,
    ProviderError,
    PutAnswer,
    RemoteCalendar,
    SyncResult,
)

from .client import GoogleCalendarClient
from .oauth import GoogleApp, GoogleEndpoints


def meet_of(event: dict) -> Conference:
    """The Meet link and dial-in of an event's conferenceData; pending while Google is still
    creating it ("check the status field"), empty when the request failed."""
    data = event.get("conferenceData") or {}
    status = ((data.get("createRequest") or {}).get("status") or {}).get("statusCode", "")
    points = data.get("entryPoints") or []
    video = next((p.get("uri", "") for p in points if p.get("entryPointType") == "video"),
                 event.get("hangoutLink", ""))
    phones = tuple({"number": p.get("label") or p.get("uri", "").removeprefix("tel:"),
                    "pin": p.get("pin", ""), "country": p.get("regionCode", "")}
                   for p in points if p.get("entryPointType") == "phone")
    return Conference(join_url=video or "", dial_in=phones,
                      pending=status == "pending" and not video)


# A full sync lists events up to this far past the window's end, so the window can move
# forward on incremental syncs for weeks before a new full sync is needed.
HORIZON = timedelta(days=28)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GoogleCalendarProvider:
    """One member's Google account. Never touches the database."""

    def __init__(self, client: GoogleCalendarClient, zone: str = "UTC"):
        self.client = client
        self.zone = ZoneInfo(zone or "UTC")

    @classmethod
    def from_connection(cls, info: ConnectionInfo,
                        app: GoogleApp | None = None) -> GoogleCalendarProvider:
        """The factory registered under "google", with the app's OAuth client bound (``app``;
        services/calendars/registry.py). ``info.options`` may carry another client
        (``google_client_id``, ``google_client_secret``, ``google_base_url``: the emulator;
        empty for Google) and carries the member's ``zone``."""
        options = info.options
        if options.get("google_client_id"):
            app = GoogleApp(options["google_client_id"], options["google_client_secret"],
                            GoogleEndpoints.for_base(options.get("google_base_url")))
        elif app is None:
            raise ProviderError("Google Calendar is not configured (GOOGLE_CLIENT_ID)")
        app = replace(app, timeout=info.timeout)
        client = GoogleCalendarClient(app, info.credentials,
                                      on_credentials_change=info.on_credentials_change,
                                      backoff_base=float(options.get("google_backoff", 0.5)),
                                      wait_budget=info.timeout)
        return cls(client, options.get("zone", "UTC"))

    def list_calendars(self) -> list[RemoteCalendar]:
        """The calendars the member owns: the events.owned scope reaches no other (a
        subscribed colleague's or holiday calendar is not the member's busy time)."""
        return [RemoteCalendar(c["id"], c.get("summaryOverride") or c.get("summary", c["id"]))
                for c in self.client.calendar_list() if c.get("accessRole") == "owner"]

    def sync(self, remote_id: str, state: dict, window: Interval) -> SyncResult:
        horizon = state.get("horizon")
        if state.get("sync_token") and horizon and window[1] <= datetime.fromisoformat(horizon):
            items, token = self.client.list_events(remote_id, sync_token=state["sync_token"])
            full = False
        else:
            horizon = (window[1] + HORIZON).isoformat()
            items, token = self.client.list_events(
                remote_id, time_min=rfc3339(window[0]),
                time_max=rfc3339(datetime.fromisoformat(horizon)))
            full = True
        changed, removed = [], []
        for item in items:
            if item.get("status") == "cancelled":
                removed.append(item["id"])
            else:
                changed.append(BusyItem(item["id"], self._intervals(item),
                                        item.get("iCalUID", "")))
        return SyncResult(changed, [] if full else removed,
                          {"sync_token": token, "horizon": horizon}, full)

    def _intervals(self, item: dict) -> tuple[Interval, ...]:
        """The busy interval of one event or occurrence: none when free (transparent) or
        declined by the calendar's owner."""
        if item.get("transparency") == "transparent" or any(
                a.get("self") and a.get("responseStatus") == "declined"
                for a in item.get("attendees", [])):
            return ()
        return ((self._moment(item["start"]), self._moment(item["end"])),)

    def _moment(self, when: dict) -> datetime:
        if "date" in when:  # all-day: the member's own midnight
            return datetime.combine(date.fromisoformat(when["date"]), time(),
                                    self.zone).astimezone(UTC)
        moment = datetime.fromisoformat(when["dateTime"])
        if moment.tzinfo is None:  # Google answers with offsets; be safe with a bare time
            moment = moment.replace(tzinfo=ZoneInfo(when.get("timeZone") or self.zone.key))
        return moment.astimezone(UTC)

    def busy(self, remote_id: str, window: Interval) -> list[Interval]:
        periods = self.client.freebusy([remote_id], rfc3339(window[0]), rfc3339(window[1]))
        found = periods.get(remote_id)
        if found is None:
            raise ProviderError("Google Calendar: the calendar was not found or not shared")
        return [(datetime.fromisoformat(s).astimezone(UTC),
                 datetime.fromisoformat(e).astimezone(UTC)) for s, e in found]

    def busy_many(self, calendar_ids: list[str], window: Interval) -> dict[str, list[Interval]]:
        """Free/busy of several members' calendars in one query per 50 (Workspace domains
        share free/busy); calendars Google reports an error for are left out."""
        periods = self.client.freebusy(calendar_ids, rfc3339(window[0]), rfc3339(window[1]))
        return {cal: [(datetime.fromisoformat(s).astimezone(UTC),
                       datetime.fromisoformat(e).astimezone(UTC)) for s, e in found]
                for cal, found in periods.items() if found is not None}

    def put_event(self, remote_id: str, event: BookingEvent) -> PutAnswer:
        """Insert, or update only Apo's fields under If-Match (K10); with a conference, the
        event's Google Meet (V1), asked for with the booking's UID as requestId."""
        zone = self.zone.key
        body = {
            "iCalUID": event.uid, "summary": event.summary, "description": event.description,
            "start": {"dateTime": event.start.astimezone(self.zone).isoformat(),
                      "timeZone": zone},
            "end": {"dateTime": event.end.astimezone(self.zone).isoformat(), "timeZone": zone},
            "transparency": "opaque"}
        if event.location:
            body["location"] = event.location
        answer = self.client.upsert_by_ical_uid(
            remote_id, body, conference_request=event.uid if event.conference else "")
        note = "kept the member's own changes to the event" if answer.get("_kept_theirs") \
            else None
        return PutAnswer(note=note, conference=meet_of(answer) if event.conference else None)

    def delete_event(self, remote_id: str, uid: str) -> None:
        self.client.delete_by_ical_uid(remote_id, uid)

    # -- push (K8) -----------------------------------------------------------------------
    supports_push = True
    push_per_calendar = True  # one events.watch channel per calendar

    def open_channel(self, remote_id: str, channel_id: str, address: str, secret: str,
                     ttl: timedelta) -> tuple[str, datetime]:
        """(resourceId, expiration) of a new web_hook channel on the calendar's events."""
        answer = self.client.watch(remote_id, channel_id, address, secret,
                                   int(ttl.total_seconds()))
        return answer["resourceId"], datetime.fromtimestamp(int(answer["expiration"]) / 1000,
                                                            UTC)

    def renew_channel(self, remote_id: str, ref: str, channel_id: str, new_channel_id: str,
                      address: str, secret: str, ttl: timedelta) -> tuple[str, datetime]:
        """Google channels cannot be extended: open a new one, then stop the old."""
        opened = self.open_channel(remote_id, new_channel_id, address, secret, ttl)
        self.close_channel(ref, channel_id)
        return opened

    def close_channel(self, ref: str, channel_id: str) -> None:
        self.client.stop_channel(channel_id, ref)
