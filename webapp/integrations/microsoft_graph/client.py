"""Calendar calls on one member's Microsoft 365 mailbox: ``GraphClient``.

Every call goes through ``_request``, which sends ``Prefer: outlook.timezone="UTC"`` (so every
dateTime that comes back is UTC), refreshes the access token before it expires and once on a
401, waits out 429/503 answers for their ``Retry-After`` (up to ``max_wait`` seconds, else
raises ``GraphRetryableError`` carrying it), and maps every failure to a ``GraphError``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from urllib.parse import quote, urlencode

import requests

from .errors import (
    DeltaTokenExpired,
    GraphAuthError,
    GraphError,
    GraphRequestError,
    GraphRetryableError,
    error_from,
    send,
)
from .oauth import GRAPH_URL, TIMEOUT, TokenSet
from .records import (
    NOT_BLOCKING,
    BusyBlock,
    Calendar,
    GraphEvent,
    GraphUser,
    SyncResult,
    format_time,
    parse_event,
    parse_time,
)

UTC_PREFERENCE = 'outlook.timezone="UTC"'
SCHEDULES_PER_CALL = 20


class GraphClient:
    """Graph v1.0 calls with one member's delegated token.

    ``refresher(stale: TokenSet) -> TokenSet`` gets new tokens and persists them (see
    ``token_refresher``); without it a 401 is a ``GraphAuthError``. ``sleep`` is injectable so
    a caller can refuse to block; ``calls`` counts HTTP requests sent.
    """

    def __init__(self, tokens: TokenSet, refresher: Callable[[TokenSet], TokenSet] | None = None,
                 graph_url: str = GRAPH_URL, timeout: float = TIMEOUT,
                 sleep: Callable[[float], None] = time.sleep, max_wait: float = 30.0,
                 max_attempts: int = 4, session: requests.Session | None = None):
        self.tokens = tokens
        self.refresher = refresher
        self.base = graph_url.rstrip("/") + "/v1.0"
        self.timeout = timeout
        self.sleep = sleep
        self.max_wait = max_wait
        self.max_attempts = max_attempts
        self.http = session or requests.Session()
        self.http.trust_env = False
        self.calls = 0

    # ----- plumbing ----------------------------------------------------------------------
    def _refresh(self) -> None:
        self.tokens = self.refresher(self.tokens)

    def _request(self, method: str, path_or_url: str, prefer: tuple[str, ...] = (),
                 if_match: str | None = None, **kwargs) -> requests.Response:
        url = path_or_url if path_or_url.startswith("http") else self.base + path_or_url
        if self.refresher and self.tokens.expiring():
            self._refresh()
        refreshed = False
        for attempt in range(1, self.max_attempts + 1):
            headers = {"Authorization": f"Bearer {self.tokens.access_token}",
                       "Prefer": ", ".join((UTC_PREFERENCE, *prefer))}
            if if_match:
                headers["If-Match"] = f'W/"{if_match}"'  # the event's changeKey (K10)
            self.calls += 1
            response = send(self.http.request, method, url, headers=headers,
                            timeout=self.timeout, **kwargs)
            if response.status_code == 401 and self.refresher and not refreshed:
                self._refresh()
                refreshed = True
                continue
            if response.status_code in (429, 503) and attempt < self.max_attempts:
                error = error_from(response)
                wait = error.retry_after if error.retry_after is not None else 2.0 ** attempt
                if wait > self.max_wait:
                    raise error
                self.sleep(wait)
                continue
            if response.status_code >= 400:
                raise error_from(response)
            return response
        raise GraphRetryableError("Microsoft 365 kept throttling", "throttled")

    # ----- reads -------------------------------------------------------------------------
    def me(self) -> GraphUser:
        data = self._request("GET", "/me").json()
        return GraphUser(id=data["id"], mail=data.get("mail") or data.get("userPrincipalName")
                         or "", display_name=data.get("displayName") or "")

    def calendars(self) -> list[Calendar]:
        found, url = [], "/me/calendars"
        while url:
            body = self._request("GET", url).json()
            found += [Calendar(id=c["id"], name=c.get("name") or "",
                               is_default=bool(c.get("isDefaultCalendar")),
                               can_edit=bool(c.get("canEdit"))) for c in body["value"]]
            url = body.get("@odata.nextLink")
        return found

    def _delta_start(self, start: dt.datetime, end: dt.datetime, calendar_id: str | None) -> str:
        path = f"/me/calendars/{quote(calendar_id, safe='')}/calendarView/delta" \
            if calendar_id else "/me/calendarView/delta"
        query = urlencode({"startDateTime": start.astimezone(dt.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"), "endDateTime": end.astimezone(dt.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")})
        return f"{self.base}{path}?{query}"

    def _drain(self, url: str, page_size: int) -> tuple[list[dict], str]:
        items = []
        while True:
            body = self._request("GET", url, prefer=(f"odata.maxpagesize={page_size}",)).json()
            items += body.get("value") or []
            if body.get("@odata.nextLink"):
                url = body["@odata.nextLink"]
                continue
            return items, body["@odata.deltaLink"]

    def sync_calendar_view(self, start: dt.datetime, end: dt.datetime,
                           delta_link: str | None = None, calendar_id: str | None = None,
                           page_size: int = 100) -> SyncResult:
        """One delta round: from ``delta_link`` when given (incremental), else a full one.

        A delta link Graph no longer knows (410 / syncStateNotFound) starts a full round over
        [start, end) instead; the result then has ``full=True``.
        """
        full = delta_link is None
        try:
            items, link = self._drain(delta_link or self._delta_start(start, end, calendar_id),
                                      page_size)
        except DeltaTokenExpired:
            if full:
                raise
            full = True
            items, link = self._drain(self._delta_start(start, end, calendar_id), page_size)
        removed = [i["id"] for i in items if "@removed" in i]
        events = [parse_event(i) for i in items if "@removed" not in i and "start" in i]
        return SyncResult(events=events, removed=removed, delta_link=link, full=full)

    def get_schedule(self, addresses: list[str], start: dt.datetime, end: dt.datetime,
                     interval: int = 30) -> dict[str, list[BusyBlock] | GraphError]:
        """Busy blocks per address (free time left out), ``SCHEDULES_PER_CALL`` per request.

        An address Graph cannot answer for maps to a ``GraphRequestError``.
        """
        answers: dict[str, list[BusyBlock] | GraphError] = {}
        for first in range(0, len(addresses), SCHEDULES_PER_CALL):
            chunk = addresses[first:first + SCHEDULES_PER_CALL]
            body = self._request("POST", "/me/calendar/getSchedule", json={
                "schedules": chunk, "startTime": format_time(start), "endTime": format_time(end),
                "availabilityViewInterval": interval}).json()
            for info in body["value"]:
                if info.get("error"):
                    answers[info["scheduleId"]] = GraphRequestError(
                        info["error"].get("message") or "schedule unavailable",
                        info["error"].get("responseCode"))
                    continue
                answers[info["scheduleId"]] = [
                    BusyBlock(parse_time(i["start"]), parse_time(i["end"]), i["status"])
                    for i in info.get("scheduleItems") or [] if i["status"] not in NOT_BLOCKING]
        return answers

    # ----- writes ------------------------------------------------------------------------
    def create_event(self, subject: str, start: dt.datetime, end: dt.datetime,
                     transaction_id: str, body_html: str = "", calendar_id: str | None = None,
                     location: str | None = None, attendees: list[dict] | None = None,
                     extended_properties: dict[str, str] | None = None,
                     online_meeting: bool = False) -> GraphEvent:
        """Create the event; a retry with the same ``transaction_id`` returns the first one.

        ``extended_properties`` ({property id: value}) are singleValueExtendedProperties, the
        documented way to tag an event with our own key and find it again.
        """
        path = f"/me/calendars/{quote(calendar_id, safe='')}/events" if calendar_id \
            else "/me/events"
        payload = {"subject": subject, "start": format_time(start), "end": format_time(end),
                   "body": {"contentType": "html", "content": body_html}, "showAs": "busy",
                   "transactionId": transaction_id, "attendees": attendees or []}
        if location:
            payload["location"] = {"displayName": location}
        if online_meeting:  # a Teams meeting made with the event ("Create an online meeting")
            payload.update(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
        if extended_properties:
            payload["singleValueExtendedProperties"] = [
                {"id": key, "value": value} for key, value in extended_properties.items()]
        return parse_event(self._request("POST", path, json=payload).json())

    def update_event(self, event_id: str, subject: str | None = None,
                     start: dt.datetime | None = None, end: dt.datetime | None = None,
                     body_html: str | None = None,
                     change_key: str | None = None,
                     online_meeting: bool = False) -> GraphEvent | None:
        """PATCH the event; None when it no longer exists (deleted in Outlook). With
        ``change_key`` the write is conditional: a 412 raises (someone changed it since)."""
        payload: dict = {}
        if subject is not None:
            payload["subject"] = subject
        if start is not None:
            payload["start"] = format_time(start)
        if end is not None:
            payload["end"] = format_time(end)
        if body_html is not None:
            payload["body"] = {"contentType": "html", "content": body_html}
        if online_meeting:
            payload.update(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
        try:
            response = self._request("PATCH", f"/me/events/{quote(event_id, safe='')}",
                                     json=payload, if_match=change_key)
        except GraphRequestError as exc:
            if exc.status == 404:
                return None
            raise
        return parse_event(response.json())

    def delete_event(self, event_id: str) -> bool:
        """Delete the event; False when it was already gone (a retry is then done too)."""
        try:
            self._request("DELETE", f"/me/events/{quote(event_id, safe='')}")
        except GraphRequestError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # ----- push (K8): change notification subscriptions ------------------------------------
    def subscribe(self, resource: str, notification_url: str, client_state: str,
                  expires: dt.datetime, lifecycle_url: str | None = None) -> dict:
        """POST /subscriptions for created, updated and deleted events of ``resource``; Graph
        validates ``notification_url`` first (the validationToken handshake)."""
        body = {"changeType": "created,updated,deleted", "notificationUrl": notification_url,
                "resource": resource, "clientState": client_state,
                "expirationDateTime": expires.astimezone(dt.UTC).strftime(
                    "%Y-%m-%dT%H:%M:%S.0000000Z")}
        if lifecycle_url:
            body["lifecycleNotificationUrl"] = lifecycle_url
        return self._request("POST", "/subscriptions", json=body).json()

    def renew(self, subscription_id: str, expires: dt.datetime) -> dict:
        return self._request("PATCH", f"/subscriptions/{quote(subscription_id, safe='')}",
                             json={"expirationDateTime": expires.astimezone(dt.UTC).strftime(
                                 "%Y-%m-%dT%H:%M:%S.0000000Z")}).json()

    def unsubscribe(self, subscription_id: str) -> None:
        try:
            self._request("DELETE", f"/subscriptions/{quote(subscription_id, safe='')}")
        except GraphRequestError as exc:
            if exc.status != 404:
                raise

    def find_event_by_ical_uid(self, ical_uid: str) -> GraphEvent | None:
        return self._find(f"iCalUId eq '{_literal(ical_uid)}'")

    def find_event_by_property(self, property_id: str, value: str) -> GraphEvent | None:
        """The event tagged with ``value`` in the extended property ``property_id``."""
        return self._find(f"singleValueExtendedProperties/Any(ep: ep/id eq "
                          f"'{_literal(property_id)}' and ep/value eq '{_literal(value)}')")

    def _find(self, odata_filter: str) -> GraphEvent | None:
        body = self._request("GET", "/me/events", params={"$filter": odata_filter}).json()
        return parse_event(body["value"][0]) if body.get("value") else None


def _literal(value: str) -> str:
    """An OData string literal's content: single quotes doubled."""
    return value.replace("'", "''")


def token_refresher(refresh: Callable[[str], TokenSet], persist: Callable[[TokenSet], None],
                    ) -> Callable[[TokenSet], TokenSet]:
    """A ``GraphClient`` refresher: ``refresh(refresh_token)`` then ``persist(new tokens)``.

    ``persist`` runs before the new access token is used, so a rotated refresh token is
    never lost to a crash after Microsoft issued it.
    """
    def refresher(stale: TokenSet) -> TokenSet:
        if not stale.refresh_token:
            raise GraphAuthError("no refresh token stored", "no_refresh_token")
        fresh = refresh(stale.refresh_token)
        persist(fresh)
        return fresh
    return refresher
