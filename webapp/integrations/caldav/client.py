"""The CalDAV client (RFC 4791, 6578, 6764, 5397): the only code in Apo that speaks CalDAV.

Plain `requests` plus PROPFIND/REPORT bodies, chosen over the `caldav` library because the
core needs exactly five calls with one error mapping (ProviderAuthError, ProviderUnavailable,
SyncStateInvalid), an explicit timeout on each, redirects re-checked against X3, and the
sync-collection token fallback visible here rather than inside a library. Responses are parsed
with defusedxml: the server is whatever URL a member typed.
"""

from __future__ import annotations

from urllib.parse import quote, urljoin, urlsplit

import requests

from webapp.integrations.caldav import ical
from webapp.integrations.caldav.dav_xml import (
    MAX_REDIRECTS,
    MULTIGET,
    MULTIGET_BATCH,
    NS,
    PROPFIND_CALENDARS,
    PROPFIND_ETAGS,
    PROPFIND_PRINCIPAL,
    SYNC_COLLECTION,
    TIME_RANGE_QUERY,
    UID_QUERY,
    escape_xml,
    ical_utc,
    last_segment,
    parent_href,
    parse,
    uid_conflict_href,
)
from webapp.integrations.caldav.urls import UnsafeCalendarURL, check_caldav_url
from webapp.integrations.calendar_port import (
    BookingEvent,
    BusyItem,
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
from webapp.integrations.guarded_http import InternalAddress, guarded_session

# Reads and conditional writes of one event before giving up (K10): a member editing it the
# whole time is an outage, retried later by the write's own policy.
MAX_WRITE_ATTEMPTS = 3


class CalDAVClient:
    """One CalDAV account. Never touches the database; raises ProviderError subclasses."""

    def __init__(self, url: str, username: str, password: str, *, timeout: float = 10.0,
                 zone: str = "UTC", test_hosts: tuple[str, ...] = (), owner: str = "",
                 session: requests.Session | None = None):
        self.test_hosts = tuple(test_hosts)
        self.url = self._checked(url)
        self.auth = (username, password)
        self.timeout = timeout
        self.zone = zone
        self.owner = owner  # the member's address: their own declined invitations are free
        # Every connection to a public address checked when it is made (X3); test hosts as
        # they are.
        self.session = session or guarded_session(self.test_hosts)

    @classmethod
    def from_connection(cls, info: ConnectionInfo) -> CalDAVClient:
        """The adapter factory registered under "caldav"."""
        return cls(info.server_url, info.username, info.credentials.get("password", ""),
                   timeout=info.timeout, zone=info.options.get("zone", "UTC"),
                   test_hosts=tuple(info.options.get("test_hosts", ())),
                   owner=info.options.get("email", ""))

    # -- discovery (RFC 4791 6.2.1, RFC 5397, RFC 6764) ------------------------------------

    def list_calendars(self) -> list[RemoteCalendar]:
        """Calendars of the account, found from whatever URL the member typed."""
        home = self._calendar_home()
        found = []
        for href, prop in self._propfind(home, PROPFIND_CALENDARS, depth="1"):
            if prop.find("d:resourcetype/c:calendar", NS) is None:
                continue
            comps = prop.findall("c:supported-calendar-component-set/c:comp", NS)
            if comps and "VEVENT" not in {c.get("name", "").upper() for c in comps}:
                continue  # a task list (VTODO only) holds no meetings
            name = (prop.findtext("d:displayname", "", NS) or "").strip()
            privileges = prop.find("d:current-user-privilege-set", NS)
            writable = privileges is None or any(
                privileges.find(f"d:privilege/d:{p}", NS) is not None
                for p in ("write", "write-content", "all", "bind"))
            try:  # a server may name calendars anywhere: each is checked like typed input (X3)
                remote = self._checked(urljoin(home, href))
            except ProviderError:
                continue
            found.append(RemoteCalendar(remote, name or last_segment(remote), writable))
        return found

    def _calendar_home(self) -> str:
        for start in (self.url, urljoin(self.url, "/.well-known/caldav")):
            try:
                home = self._home_from(start)
            except ProviderAuthError:
                raise
            except ProviderError:
                continue
            if home:
                return home
        raise ProviderError("no CalDAV calendar home found at this URL")

    def _home_from(self, url: str) -> str | None:
        results = self._propfind(url, PROPFIND_PRINCIPAL, depth="0")
        for href, prop in results:
            if prop.find("d:resourcetype/c:calendar", NS) is not None:
                # The member typed one calendar's URL.
                return self._checked(urljoin(url, parent_href(href)))
            home = prop.findtext("c:calendar-home-set/d:href", None, NS)
            if home:
                return self._checked(urljoin(url, home.strip()))
            principal = prop.findtext("d:current-user-principal/d:href", None, NS)
            if principal:
                principal_url = self._checked(urljoin(url, principal.strip()))
                for _href, pprop in self._propfind(principal_url, PROPFIND_PRINCIPAL, "0"):
                    home = pprop.findtext("c:calendar-home-set/d:href", None, NS)
                    if home:
                        return self._checked(urljoin(principal_url, home.strip()))
        return None

    # -- incremental sync (RFC 6578, with a ctag/etag fallback) ----------------------------

    def sync(self, remote_id: str, state: dict, window: Interval) -> SyncResult:
        """Busy items changed since `state`; an empty state gives a full sync."""
        url = self._checked(remote_id)
        if state.get("mode") == "etags":
            return self._sync_by_etags(url, state, window)
        token = state.get("sync_token", "")
        response = self._send("REPORT", url, SYNC_COLLECTION.format(token=escape_xml(token)), "1",
                              sync_report=True, sync_token=bool(token))
        if response is None:  # no sync-collection support: fall back to ctag + etags
            return self._sync_by_etags(url, {}, window)
        root = parse(response)
        changed, removed = [], []
        for node in root.findall("d:response", NS):
            href = urljoin(url, node.findtext("d:href", "", NS).strip())
            status = node.findtext("d:status", "", NS)
            if " 404 " in status or status.endswith(" 404"):
                removed.append(href)
            elif href.rstrip("/") != url.rstrip("/"):
                changed.append(href)
        items = self._fetch(url, changed, window)
        gone = [href for href in changed if href not in {i.ref for i in items}]
        return SyncResult(items, removed + gone,
                          {"sync_token": root.findtext("d:sync-token", "", NS)}, full=not token)

    def _sync_by_etags(self, url: str, state: dict, window: Interval) -> SyncResult:
        listing = self._propfind(url, PROPFIND_ETAGS, depth="1")
        ctag = next((p.findtext("cs:getctag", "", NS) for h, p in listing
                     if urljoin(url, h).rstrip("/") == url.rstrip("/")), "")
        if ctag and ctag == state.get("ctag"):
            return SyncResult([], [], state)
        etags = {urljoin(url, h): p.findtext("d:getetag", "", NS) for h, p in listing
                 if p.find("d:resourcetype/d:collection", NS) is None}
        old = state.get("etags", {})
        changed = [h for h, tag in etags.items() if old.get(h) != tag]
        items = self._fetch(url, changed, window)
        new_state = {"mode": "etags", "ctag": ctag, "etags": etags}
        return SyncResult(items, [h for h in old if h not in etags], new_state, full=not old)

    def _fetch(self, url: str, hrefs: list[str], window: Interval) -> list[BusyItem]:
        items = []
        for index in range(0, len(hrefs), MULTIGET_BATCH):
            batch = hrefs[index:index + MULTIGET_BATCH]
            body = MULTIGET.format(hrefs="".join(
                f"<d:href>{escape_xml(urlsplit(h).path)}</d:href>" for h in batch))
            for node in parse(self._send("REPORT", url, body, "1")).findall("d:response", NS):
                data = node.findtext("d:propstat/d:prop/c:calendar-data", None, NS)
                if data is None:
                    continue
                href = urljoin(url, node.findtext("d:href", "", NS).strip())
                try:
                    uid, intervals = ical.busy_intervals(data, window, self.zone, self.owner)
                    items.append(BusyItem(href, intervals, uid))
                except ical.ICalendarError:
                    items.append(BusyItem(href, ()))  # unreadable: blocks nothing, logged
        return items

    def busy(self, remote_id: str, window: Interval) -> list[Interval]:
        """Busy intervals in `window`, asked live with a time-range calendar-query."""
        url = self._checked(remote_id)
        body = TIME_RANGE_QUERY.format(start=ical_utc(window[0]), end=ical_utc(window[1]))
        found = []
        for node in parse(self._send("REPORT", url, body, "1")).findall("d:response", NS):
            data = node.findtext("d:propstat/d:prop/c:calendar-data", None, NS)
            if data:
                try:
                    found.extend(ical.busy_intervals(data, window, self.zone, self.owner)[1])
                except ical.ICalendarError:
                    continue
        return sorted(found)

    # -- write-back (K4): one resource per booking, named after its UID --------------------

    def put_event(self, remote_id: str, event: BookingEvent) -> PutAnswer:
        """The booking's event (`_put`); CalDAV has no online meetings of its own."""
        return PutAnswer(note=self._put(remote_id, event))

    def _put(self, remote_id: str, event: BookingEvent) -> str | None:
        """Create or update the booking's event; the same UID always lands on one resource.

        Never a silent overwrite (K10): a new event is PUT with If-None-Match: *; an existing
        one is read, only Apo's fields (time, title, sequence) are set on the member's copy,
        and it is PUT with If-Match on the ETag read, so a change made in between is read
        again rather than lost (RFC 4791 5.3.4, RFC 7232). Returns a note for the write log
        when the member's own changes were kept.

        When the calendar already holds that UID under another name (the member's mail client
        filed the emailed invitation there), the server refuses with the no-uid-conflict
        precondition naming the existing resource (RFC 4791 5.3.2.1): that one is updated.
        """
        url = self._event_url(remote_id, event.uid)
        for _ in range(MAX_WRITE_ATTEMPTS):
            current = self._send("GET", url, None, None, missing_ok=True)
            if current.status_code not in (404, 410):
                note = self._update(url, current, event)
            else:
                body = ical.booking_calendar(event.uid, event.start, event.end, event.summary,
                                             event.description, event.sequence, event.location)
                response = self._send("PUT", url, body, None, conflict_ok=True,
                                      precondition_ok=True, if_none_match=True,
                                      content_type="text/calendar; charset=utf-8")
                existing = uid_conflict_href(response)
                if existing is not None:
                    return self._update_elsewhere(remote_id, url, existing, event)
                note = "" if response.status_code != 412 else None
            if note is not None:
                return note or None
        raise ProviderUnavailable("the event kept changing while Apo wrote it")

    def _update(self, url: str, current, event: BookingEvent) -> str | None:
        """PUT Apo's fields onto the member's copy under If-Match; "" when written without
        the member's own changes, a note when they were kept, None when the copy changed
        again in between (412: read it again)."""
        try:
            body, theirs = ical.merge_booking(current.content, event.uid, event.start,
                                              event.end, event.summary, event.sequence,
                                              event.location)
        except ical.ICalendarError as exc:
            raise ProviderError(f"the member's copy of the event cannot be read: {exc}") from None
        response = self._send("PUT", url, body, None, precondition_ok=True,
                              if_match=current.headers.get("ETag"),
                              content_type="text/calendar; charset=utf-8")
        if response.status_code == 412:
            return None
        return "kept the member's own changes to the event" if theirs else ""

    def _update_elsewhere(self, remote_id: str, url: str, existing: str,
                          event: BookingEvent) -> str | None:
        # Some servers (Radicale) name no href in the refusal: find the resource by UID.
        targets = [urljoin(url, existing)] if existing else self._hrefs_for_uid(remote_id,
                                                                               event.uid)
        if not targets:
            raise ProviderError("the calendar refused the event's UID")
        target = self._checked(targets[0])
        for _ in range(MAX_WRITE_ATTEMPTS):
            note = self._update(target, self._send("GET", target, None, None), event)
            if note is not None:
                return note or None
        raise ProviderUnavailable("the event kept changing while Apo wrote it")

    def delete_event(self, remote_id: str, uid: str) -> None:
        """DELETE the booking's event (found by UID when it lives under another name);
        already gone is fine."""
        response = self._send("DELETE", self._event_url(remote_id, uid), None, None,
                              missing_ok=True)
        if response.status_code in (404, 410):
            for href in self._hrefs_for_uid(remote_id, uid):
                self._send("DELETE", href, None, None, missing_ok=True)

    def _hrefs_for_uid(self, remote_id: str, uid: str) -> list[str]:
        url = self._checked(remote_id)
        body = UID_QUERY.format(uid=escape_xml(uid))
        return [self._checked(urljoin(url, node.findtext("d:href", "", NS).strip()))
                for node in parse(self._send("REPORT", url, body, "1")).findall("d:response", NS)]

    def _event_url(self, remote_id: str, uid: str) -> str:
        base = self._checked(remote_id)
        return urljoin(base if base.endswith("/") else base + "/", quote(uid, safe="") + ".ics")

    # -- HTTP: one place for timeouts, redirects and the error mapping ---------------------

    def _propfind(self, url: str, body: str, depth: str) -> list[tuple[str, object]]:
        root = parse(self._send("PROPFIND", url, body, depth))
        results = []
        for node in root.findall("d:response", NS):
            href = node.findtext("d:href", "", NS).strip()
            for propstat in node.findall("d:propstat", NS):
                if " 200" in propstat.findtext("d:status", "", NS):
                    results.append((href, propstat.find("d:prop", NS)))
        return results

    def _send(self, method, url, body, depth, *, sync_report=False, sync_token=False,
              missing_ok=False, conflict_ok=False, precondition_ok=False, if_match=None,
              if_none_match=False, content_type="application/xml; charset=utf-8"):
        headers = {"Content-Type": content_type}
        if depth is not None:
            headers["Depth"] = depth
        if if_match:
            headers["If-Match"] = if_match
        if if_none_match:
            headers["If-None-Match"] = "*"
        url = self._checked(url)  # every URL, typed, stored or answered by a server (X3)
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = self.session.request(
                    method, url, data=body, headers=headers, auth=self.auth,
                    timeout=self.timeout, allow_redirects=False)
            except requests.Timeout:
                raise ProviderUnavailable("the calendar server did not answer in time") from None
            except requests.ConnectionError as exc:
                if _refused_address(exc):
                    raise ProviderError("refused calendar URL: internal_address") from None
                raise ProviderUnavailable(f"cannot reach the calendar server "
                                          f"({type(exc).__name__})") from None
            except requests.RequestException as exc:
                raise ProviderUnavailable(f"cannot reach the calendar server "
                                          f"({type(exc).__name__})") from None
            if response.status_code in (301, 302, 307, 308) and "Location" in response.headers:
                url = self._checked(urljoin(url, response.headers["Location"]))
                continue
            if conflict_ok and uid_conflict_href(response) is not None:
                return response
            if precondition_ok and response.status_code == 412:
                return response  # If-Match / If-None-Match failed: the caller reads again
            return self._answer(method, response, sync_token, missing_ok, sync_report)
        raise ProviderError("too many redirects")

    def _answer(self, method, response, sync_token, missing_ok, sync_report=False):
        code = response.status_code
        if code == 401:
            raise ProviderAuthError("the calendar server refused the user name or password")
        if method == "REPORT" and sync_token and code in (403, 409, 412):
            raise SyncStateInvalid("sync token no longer valid")
        if sync_report and not sync_token and code in (403, 405, 415, 501):
            return None  # no sync-collection here (RFC 6578 is optional): use ctag + etags
        if missing_ok and code in (404, 410):
            return response
        if code == 403:
            raise ProviderAuthError("the calendar server denied access to this calendar")
        if code == 429 or code >= 500:
            raise ProviderUnavailable(f"the calendar server answered {code}")
        if code >= 400:
            raise ProviderError(f"the calendar server answered {code}")
        return response

    def _checked(self, url: str) -> str:
        try:
            return check_caldav_url(url, self.test_hosts)
        except UnsafeCalendarURL as exc:
            raise ProviderError(f"refused calendar URL: {exc}") from None


def _refused_address(exc: requests.ConnectionError) -> bool:
    """The connection was refused by our own address check (guarded_http), not the network."""
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(reason, InternalAddress)
