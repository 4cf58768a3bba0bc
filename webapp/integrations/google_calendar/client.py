"""Google Calendar API v3 over requests: the only code in Apo that calls the Calendar API.

Every call carries a timeout and the member's Bearer token, refreshed ahead of expiry (and
once more on a 401) with the new credentials handed to ``on_credentials_change`` so the
caller can persist them. Rate limits (403 rateLimitExceeded/userRateLimitExceeded, 429) and
5xx are retried with exponential backoff and jitter, honouring Retry-After.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from urllib.parse import quote

import requests

from . import oauth
from .errors import (
    RATE_REASONS,
    RETRY_STATUSES,
    GoogleApiError,
    GoogleAuthError,
    GoogleUnavailable,
    SyncTokenExpired,
    parse_error,
)

REFRESH_MARGIN_SECONDS = 60
FREEBUSY_BATCH = 50  # freeBusy.query: calendarExpansionMax is at most 50
PAGE_SIZE = 250


def meet_request(request_id: str) -> dict:
    return {"createRequest": {"requestId": request_id,
                              "conferenceSolutionKey": {"type": "hangoutsMeet"}}}


class GoogleCalendarClient:
    def __init__(self, app: oauth.GoogleApp, credentials: dict, *,
                 on_credentials_change: Callable[[dict], None] | None = None,
                 max_attempts: int = 5, backoff_base: float = 0.5, backoff_cap: float = 20.0,
                 wait_budget: float = 30.0, session: requests.Session | None = None):
        self.app = app
        self.credentials = dict(credentials)
        self.on_credentials_change = on_credentials_change
        self.max_attempts, self.backoff_base, self.backoff_cap = (
            max_attempts, backoff_base, backoff_cap)
        # Total sleeping allowed per call: a customer's confirm re-check (K3) must not wait
        # out a long backoff; the stored copy decides instead.
        self.wait_budget = wait_budget
        self.session = session or requests.Session()

    # -- calls ---------------------------------------------------------------------------
    def calendar_list(self) -> list[dict]:
        items, params = [], {"maxResults": 250}
        while True:
            page = self._call("GET", "/users/me/calendarList", params=params)
            items += page.get("items", [])
            if not page.get("nextPageToken"):
                return items
            params = {"maxResults": 250, "pageToken": page["nextPageToken"]}

    def list_events(self, calendar_id: str, *, sync_token: str | None = None,
                    time_min: str | None = None, time_max: str | None = None,
                    single_events: bool = True) -> tuple[list[dict], str | None]:
        """All pages of events.list: a full listing (with a window) or the changes since
        ``sync_token`` (deletions included). Returns (items, nextSyncToken).
        Raises SyncTokenExpired on 410 so the caller starts over with a full sync."""
        params: dict = {"maxResults": PAGE_SIZE, "singleEvents": str(single_events).lower()}
        if sync_token:
            params["syncToken"] = sync_token
        else:
            params.update({k: v for k, v in (("timeMin", time_min), ("timeMax", time_max))
                           if v})
        path = f"/calendars/{quote(calendar_id, safe='@')}/events"
        items: list[dict] = []
        while True:
            page = self._call("GET", path, params=params)
            items += page.get("items", [])
            if page.get("nextPageToken"):
                params = dict(params, pageToken=page["nextPageToken"])
                continue
            return items, page.get("nextSyncToken")

    def freebusy(self, calendar_ids: Iterable[str], time_min: str,
                 time_max: str) -> dict[str, list[tuple[str, str]] | None]:
        """Busy periods per calendar, 50 calendars per query; None for a calendar Google
        reports an error for (not found, not shared)."""
        ids = list(dict.fromkeys(calendar_ids))
        answer: dict[str, list[tuple[str, str]] | None] = {}
        for start in range(0, len(ids), FREEBUSY_BATCH):
            batch = ids[start:start + FREEBUSY_BATCH]
            body = {"timeMin": time_min, "timeMax": time_max, "items": [{"id": i} for i in batch],
                    "calendarExpansionMax": len(batch)}
            calendars = self._call("POST", "/freeBusy", json=body).get("calendars", {})
            for cal_id in batch:
                entry = calendars.get(cal_id) or {"errors": [{}]}
                answer[cal_id] = None if entry.get("errors") else [
                    (p["start"], p["end"]) for p in entry.get("busy", [])]
        return answer

    def find_by_ical_uid(self, calendar_id: str, uid: str) -> dict | None:
        """The series/single event with that iCalUID (cancelled ones included), if any."""
        page = self._call("GET", f"/calendars/{quote(calendar_id, safe='@')}/events",
                          params={"iCalUID": uid, "showDeleted": "true"})
        items = [i for i in page.get("items", []) if "recurringEventId" not in i]
        items.sort(key=lambda i: i.get("status") == "cancelled")
        return items[0] if items else None

    def upsert_by_ical_uid(self, calendar_id: str, body: dict,
                           conference_request: str = "") -> dict:
        """Insert the event with ``body["iCalUID"]`` or patch the one that has it: a retry
        after a lost answer writes once. With ``conference_request`` (a requestId) the event
        gets a Google Meet conference; Meet creates one conference per requestId, so a
        repeated request adds none (Calendar API, "Create events": conferenceDataVersion=1)."""
        existing = self.find_by_ical_uid(calendar_id, body["iCalUID"])
        path = f"/calendars/{quote(calendar_id, safe='@')}/events"
        if existing is None:
            params = {}
            if conference_request:
                body = dict(body, conferenceData=meet_request(conference_request))
                params = {"conferenceDataVersion": 1}
            try:
                return self._call("POST", path, json=body, params=params)
            except GoogleApiError as exc:
                if exc.status != 409:
                    raise
                existing = self.find_by_ical_uid(calendar_id, body["iCalUID"])
                if existing is None:
                    raise
        return self._patch_own(path, existing, body, calendar_id, conference_request)

    # An update sets only these (K10): the member's own edits to the rest of the event (a
    # location, a note in the description, guests they added) are kept.
    OWN_FIELDS = ("summary", "start", "end", "transparency")

    def _patch_own(self, path: str, existing: dict, body: dict, calendar_id: str,
                   conference_request: str = "") -> dict:
        """PATCH Apo's fields under If-Match on the etag read; a 412 (the member saved in
        between) reads the event again, three times at most. A patch without conferenceData
        keeps the event's conference (the link stays, V3); one is asked for only when the
        event has none yet."""
        for _ in range(3):
            patch = {k: body[k] for k in self.OWN_FIELDS if k in body}
            patch["status"] = "confirmed"
            if body.get("location") and not existing.get("location"):
                patch["location"] = body["location"]
            params = {}
            if conference_request and not existing.get("conferenceData"):
                patch["conferenceData"] = meet_request(conference_request)
                params = {"conferenceDataVersion": 1}
            headers = {"If-Match": existing["etag"]} if existing.get("etag") else {}
            try:
                answer = self._call("PATCH", f"{path}/{quote(existing['id'])}", json=patch,
                                    headers_extra=headers, params=params)
            except GoogleApiError as exc:
                if exc.status != 412:
                    raise
                existing = self.find_by_ical_uid(calendar_id, body["iCalUID"]) or existing
                continue
            answer["_kept_theirs"] = any(
                existing.get(k) not in (None, "", body.get(k)) for k in ("description",
                                                                          "location"))
            return answer
        raise GoogleUnavailable("the event kept changing while Apo wrote it")

    def delete_by_ical_uid(self, calendar_id: str, uid: str) -> bool:
        """Delete the event with that iCalUID; False when there was none left to delete."""
        existing = self.find_by_ical_uid(calendar_id, uid)
        if existing is None or existing.get("status") == "cancelled":
            return False
        try:
            self._call("DELETE", f"/calendars/{quote(calendar_id, safe='@')}/events/"
                       f"{quote(existing['id'])}")
        except GoogleApiError as exc:
            if exc.status not in (404, 410):
                raise
            return False
        return True

    # -- push (K8): events.watch channels ---------------------------------------------------
    def watch(self, calendar_id: str, channel_id: str, address: str, token: str,
              ttl_seconds: int) -> dict:
        """Open a web_hook channel on the calendar's events (events.watch); Google answers with
        the channel's resourceId and expiration (ms since the epoch). Channels cannot be
        renewed: a new one is opened before the old one ends."""
        return self._call("POST", f"/calendars/{quote(calendar_id, safe='@')}/events/watch",
                          json={"id": channel_id, "type": "web_hook", "address": address,
                                "token": token, "params": {"ttl": str(int(ttl_seconds))}})

    def stop_channel(self, channel_id: str, resource_id: str) -> None:
        """channels.stop; a channel already gone is fine."""
        try:
            self._call("POST", "/channels/stop", json={"id": channel_id,
                                                       "resourceId": resource_id})
        except GoogleApiError as exc:
            if exc.status != 404:
                raise

    # -- transport ------------------------------------------------------------------------
    def _token(self, force: bool = False) -> str:
        expires_at = int(self.credentials.get("expires_at") or 0)
        if force or expires_at - REFRESH_MARGIN_SECONDS <= time.time():
            if not self.credentials.get("refresh_token"):
                raise GoogleAuthError("Google access expired and no refresh token is stored")
            self.credentials = oauth.refresh(self.app, self.credentials)
            if self.on_credentials_change:
                self.on_credentials_change(dict(self.credentials))
        return self.credentials["access_token"]

    def _call(self, method: str, path: str, headers_extra: dict | None = None,
              **kwargs) -> dict:
        url = self.app.endpoints.api_url + path
        refreshed, self._waited = False, 0.0
        for attempt in range(self.max_attempts):
            headers = {"Authorization": "Bearer " + self._token(), **(headers_extra or {})}
            try:
                response = self.session.request(method, url, headers=headers,
                                                timeout=self.app.timeout, **kwargs)
            except requests.RequestException as exc:
                error: Exception = GoogleUnavailable(
                    f"Google Calendar unreachable ({type(exc).__name__})")
                self._pause(attempt, None, error)
                continue
            if response.status_code < 300:
                return response.json() if response.content else {}
            reason, message = parse_error(response)
            if response.status_code == 401 and not refreshed:
                refreshed = True
                self._token(force=True)
                continue
            if response.status_code == 401:
                raise GoogleAuthError(f"Google Calendar refused the token: {message}")
            if response.status_code == 410 and reason == "fullSyncRequired":
                raise SyncTokenExpired(message or "sync token expired")
            if response.status_code in RETRY_STATUSES or (
                    response.status_code == 403 and reason in RATE_REASONS):
                error = GoogleUnavailable(
                    f"Google Calendar {response.status_code} {reason}: {message}")
                self._pause(attempt, response.headers.get("Retry-After"), error)
                continue
            if response.status_code == 403 and reason == "quotaExceeded":
                raise GoogleUnavailable(f"Google Calendar quota exhausted: {message}")
            raise GoogleApiError(response.status_code, reason, message)
        raise error

    def _pause(self, attempt: int, retry_after: str | None, error: Exception) -> None:
        """Exponential backoff with jitter; the last attempt re-raises instead of sleeping."""
        if attempt + 1 >= self.max_attempts:
            raise error
        delay = min(self.backoff_cap, self.backoff_base * 2 ** attempt)
        delay *= 1 + random.random() / 4  # noqa: S311 - jitter, not security
        if retry_after and retry_after.isdigit():
            delay = max(delay, float(retry_after))
        if delay > self.backoff_cap or self._waited + delay > self.wait_budget:
            raise error
        self._waited += delay
        time.sleep(delay)
