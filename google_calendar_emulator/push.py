"""Push notifications: events.watch channels, channels.stop, and the dispatcher that posts
the "sync" and "exists" messages to each channel's address from a background thread.

Google only delivers to HTTPS addresses. The emulator allows plain HTTP to the hosts named by
``--push-http-hosts`` (or the control API), so that tests and the demo can receive on
loopback without a certificate; every other address must be HTTPS."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import format_datetime
from urllib.parse import urlsplit

import requests

from . import conference
from .errors import ApiError
from .events import sync_copies, touch

DEFAULT_TTL_SECONDS = 604800   # events.watch: params.ttl defaults to 604800 s
MAX_TTL_SECONDS = 604800       # UNVERIFIED: longer requests are cut to the default
SUCCESS = {102, 200, 201, 202, 204}   # what the push guide counts as delivered
RETRIED = {500, 502, 503, 504}        # answered with exponential backoff
RETRY_DELAYS = (0.5, 1.0, 2.0)        # UNVERIFIED: Google does not publish its schedule
USER_AGENT = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"
KEEP_DELIVERIES = 500


def resource_id(calendar_id: str) -> str:
    """Opaque and stable for the watched resource: every channel on one calendar's events
    shares it (the real ids look like this; the derivation is the emulator's own)."""
    digest = hashlib.sha256(("events:" + calendar_id).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:27]


def _millis(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def check_address(store, address) -> None:
    parts = urlsplit(address or "")
    if not address or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(400, "invalid", "Invalid channel address.", "address")  # UNVERIFIED
    host = parts.hostname.lower()
    allowed = {h.lower() for h in store.push_http_hosts}
    if parts.scheme == "http" and host not in allowed and parts.netloc.lower() not in allowed:
        raise ApiError(400, "push.webhookUrlNotHttps",
                       "WebHook callback must be HTTPS: " + address)


def watch(store, calendar_id: str, user: str, body: dict, resource_uri: str) -> dict:
    """events.watch: a new channel (the "sync" message follows from the dispatcher)."""
    channel_id = body.get("id")
    if not channel_id or not isinstance(channel_id, str):
        raise ApiError(400, "required", "Required", "id")
    if len(channel_id) > 64:
        raise ApiError(400, "invalid", "Invalid channel id.", "id")  # UNVERIFIED wording
    if body.get("type") not in ("web_hook", "webhook"):
        raise ApiError(400, "invalid", "Invalid channel type.", "type")  # UNVERIFIED wording
    check_address(store, body.get("address"))
    if channel_id in store.channels and not store.channels[channel_id]["stopped"]:
        raise ApiError(400, "channelIdNotUnique", location="id")  # UNVERIFIED reason
    now = store.now()
    ttl = DEFAULT_TTL_SECONDS
    params = body.get("params") or {}
    if params.get("ttl") is not None:
        try:
            ttl = int(params["ttl"])
        except (TypeError, ValueError):
            raise ApiError(400, "invalid", "Invalid ttl value.", "params.ttl") from None
    expires = _millis(now) + min(max(ttl, 1), MAX_TTL_SECONDS) * 1000
    if body.get("expiration") not in (None, ""):
        try:
            wanted = int(body["expiration"])
        except (TypeError, ValueError):
            raise ApiError(400, "invalid", "Invalid expiration value.", "expiration") from None
        expires = min(expires, max(wanted, _millis(now)))
    channel = {"kind": "api#channel", "id": channel_id, "resourceId": resource_id(calendar_id),
               "resourceUri": resource_uri, "expiration": str(expires),
               "calendar": calendar_id, "user": user, "address": body["address"],
               "number": 0, "stopped": False, "expired": False, "synced": False}
    if body.get("token"):
        channel["token"] = str(body["token"])
    store.channels[channel_id] = channel
    store.wakeup.set()
    return answer(channel)


def answer(channel: dict) -> dict:
    keys = ("kind", "id", "resourceId", "resourceUri", "token", "expiration")
    return {k: channel[k] for k in keys if k in channel}


def stop(store, user: str, body: dict) -> None:
    channel = store.channels.get(str(body.get("id") or ""))
    if channel is None or channel["stopped"] or channel["user"] != user or \
            channel["resourceId"] != body.get("resourceId"):
        raise ApiError(404, "notFound", f"Channel '{body.get('id')}' not found for project.")
    channel["stopped"] = True


def live(store, channel: dict) -> bool:
    """Channels end at their expiration by the emulator's clock; nothing is sent after."""
    if channel["stopped"] or channel["expired"]:
        return False
    if int(channel["expiration"]) <= _millis(store.now()):
        channel["expired"] = True
        return False
    return True


class Dispatcher:
    """Sends each channel's messages in order, within a second of the change that caused
    them: the initial "sync" once the channel exists, then one "exists" per batch of changes
    to its calendar. A slow or failing address delays only its own channel."""

    def __init__(self, store, ca_bundle: str | None = None):
        self.store = store
        self.verify = ca_bundle or True
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="push")
        self.busy: dict[str, threading.Lock] = {}
        self.http = requests.Session()
        self.http.trust_env = False
        self.thread = threading.Thread(target=self._run, name="push-dispatcher", daemon=True)

    def start(self) -> Dispatcher:
        self.thread.start()
        return self

    def _run(self) -> None:
        while True:
            self.store.wakeup.wait(0.25)
            self.store.wakeup.clear()
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the thread must outlive a bad message
                time.sleep(0.25)

    def tick(self) -> None:
        """One pass: due conferences, channel expiry, then the messages now owed."""
        s = self.store
        messages = []
        with s.lock:
            for event in conference.resolve_due(s):
                touch(s, event)
                sync_copies(s, event["_calendar"], event)
            changed, s.changed_calendars = s.changed_calendars, set()
            for channel in s.channels.values():
                if not live(s, channel):
                    continue
                if not channel["synced"]:
                    channel["synced"] = True
                    channel["number"] = 1  # a channel's first message is "sync", number 1
                    messages.append(self._message(channel, "sync"))
                elif channel["calendar"] in changed:
                    # Message numbers increase on a channel but are not sequential.
                    channel["number"] += secrets.choice((1, 1, 2, 3))
                    messages.append(self._message(channel, "exists"))
            if messages or changed:
                s.save()
        for message in messages:
            lock = self.busy.setdefault(message["channel"], threading.Lock())
            self.pool.submit(self._deliver, lock, message)

    def _message(self, channel: dict, state: str) -> dict:
        expires = dt.datetime.fromtimestamp(int(channel["expiration"]) / 1000, dt.UTC)
        headers = {"X-Goog-Channel-ID": channel["id"],
                   "X-Goog-Channel-Expiration": format_datetime(expires, usegmt=True),
                   "X-Goog-Resource-ID": channel["resourceId"],
                   "X-Goog-Resource-URI": channel["resourceUri"],
                   "X-Goog-Resource-State": state,
                   "X-Goog-Message-Number": str(channel["number"]),
                   "User-Agent": USER_AGENT, "Content-Length": "0"}
        if "token" in channel:
            headers["X-Goog-Channel-Token"] = channel["token"]
        return {"channel": channel["id"], "address": channel["address"], "headers": headers,
                "state": state, "number": channel["number"]}

    def _deliver(self, lock: threading.Lock, message: dict) -> None:
        with lock:  # one channel's messages leave in order
            outcome = None
            for delay in (0.0, *RETRY_DELAYS):
                time.sleep(delay)
                try:
                    response = self.http.post(message["address"], data=b"",
                                              headers=message["headers"], timeout=5,
                                              allow_redirects=False, verify=self.verify)
                    outcome = response.status_code
                except requests.RequestException as exc:
                    outcome = type(exc).__name__
                if outcome in SUCCESS or (isinstance(outcome, int) and outcome not in RETRIED):
                    break
            with self.store.lock:
                self.store.deliveries.append({
                    "channel": message["channel"], "state": message["state"],
                    "number": message["number"], "address": message["address"],
                    "result": outcome, "at": self.store.stamp()})
                del self.store.deliveries[:-KEEP_DELIVERIES]
