"""The emulator's whole state: accounts, OAuth clients and grants, calendars, events, tokens,
watch channels, usage counts, faults, latency and a movable clock. One lock guards it all.

With a state directory (``--state-dir``) the lasting part (accounts, clients, grants, tokens,
calendars, events, sync tokens, channels, the clock) is written to ``state.json`` there after
every change, atomically, and read back at start: a restarted emulator keeps the demo's
connections working."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import tempfile
import threading
from collections import Counter

from .seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, seed_demo

ACCESS_TOKEN_SECONDS = 3599
SYNC_TOKEN_TTL_SECONDS = 7 * 24 * 3600  # UNVERIFIED: Google does not publish a lifetime
BASE32HEX = "0123456789abcdefghijklmnopqrstuv"


# What --state-dir keeps (besides grants, clock offset and sync tokens, handled apart).
PERSISTED = ("seed_name", "users", "calendars", "events", "clients", "access_tokens",
             "refresh_tokens", "sessions", "seq", "channels")


def _encode(value):
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    raise TypeError(f"cannot store {type(value).__name__}")


def _decode(obj: dict):
    return dt.datetime.fromisoformat(obj["$dt"]) if set(obj) == {"$dt"} else obj


def random_id(length: int = 26) -> str:
    """An event id in Google's alphabet (base32hex, lower case)."""
    return "".join(secrets.choice(BASE32HEX) for _ in range(length))


class Store:
    def __init__(self, seed: str = "demo", latency_ms: int = 0,
                 demo_callbacks: tuple[str, ...] = (), state_dir: str | None = None,
                 push_http_hosts: tuple[str, ...] = ()):
        self.lock = threading.RLock()
        self.seed_name = seed
        self.demo_callbacks = list(demo_callbacks)
        self.initial_latency = latency_ms
        self.initial_push_http_hosts = list(push_http_hosts)
        self.wakeup = threading.Event()  # the push dispatcher waits on it
        self.state_file = None  # set after seeding, so the seed cannot overwrite a saved state
        self.reset(seed)
        if state_dir:
            os.makedirs(state_dir, mode=0o700, exist_ok=True)
            self.state_file = os.path.join(state_dir, "state.json")
            if os.path.exists(self.state_file):
                self._load()
            else:
                self.save()

    # ----- lifecycle -----------------------------------------------------------------------
    def reset(self, seed: str | None = None) -> None:
        with self.lock:
            self.seed_name = seed or self.seed_name
            self.offset = dt.timedelta(0)
            self.latency_ms = self.initial_latency
            self.users: dict[str, dict] = {}          # email -> {password, name, sub}
            self.calendars: dict[str, dict] = {}      # id -> {summary, timeZone, acl{email: role}}
            self.events: dict[str, dict[str, dict]] = {}  # calendar -> id -> stored event
            self.clients = {DEMO_CLIENT_ID: {"secret": DEMO_CLIENT_SECRET,
                                             "redirect_uris": list(self.demo_callbacks)}}
            self.codes: dict[str, dict] = {}
            self.access_tokens: dict[str, dict] = {}
            self.refresh_tokens: dict[str, dict] = {}
            self.grants: set[tuple[str, str]] = set()  # (user, client) consented before
            self.sessions: dict[str, str] = {}         # browser session cookie -> user
            self.sync_tokens: dict[str, dict] = {}
            self.page_tokens: dict[str, dict] = {}
            self.seq = 0
            self.faults: list[dict] = []
            self.usage: Counter = Counter()
            self.usage_by_user: Counter = Counter()
            self.sync_ttl = SYNC_TOKEN_TTL_SECONDS
            self.channels: dict[str, dict] = {}        # channel id -> channel (push.py)
            self.deliveries: list[dict] = []           # what the dispatcher sent, newest last
            self.changed_calendars: set[str] = set()   # waiting for "exists" messages
            self.push_http_hosts = list(self.initial_push_http_hosts)
            self.conference_mode = {"status": "success", "resolve_after_seconds": 2}
            self.freebusy_errors: dict[str, dict] = {}  # calendar -> {"reason", "remaining"}
            self.pending_conferences: set[tuple[str, str]] = set()  # (calendar, event id)
            if self.seed_name == "demo":
                seed_demo(self)
            self.wakeup.set()
            self.save()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC).replace(microsecond=0) + self.offset

    def stamp(self) -> str:
        return self.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def changed(self, calendar_id: str) -> None:
        """An event of this calendar changed: its watch channels get an "exists" message."""
        self.changed_calendars.add(calendar_id)
        self.wakeup.set()

    # ----- persistence -------------------------------------------------------------------------
    def save(self) -> None:
        """Write the lasting state (temp file + rename) when started with a state directory."""
        if not self.state_file:
            return
        with self.lock:
            horizon = self.now() - dt.timedelta(seconds=self.sync_ttl)
            payload = {key: getattr(self, key) for key in PERSISTED}
            payload.update(
                grants=sorted(self.grants), offset=self.offset.total_seconds(),
                sync_tokens={k: v for k, v in self.sync_tokens.items() if v["issued"] > horizon})
            text = json.dumps(payload, ensure_ascii=False, default=_encode)
            # Written under the lock too: an older snapshot must never replace a newer one.
            fd, tmp = tempfile.mkstemp(prefix=".gcalemu-", dir=os.path.dirname(self.state_file))
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.state_file)

    def _load(self) -> None:
        with open(self.state_file, encoding="utf-8") as handle:
            payload = json.load(handle, object_hook=_decode)
        with self.lock:
            for key in PERSISTED:
                if key in payload:
                    setattr(self, key, payload[key])
            self.grants = {tuple(g) for g in payload.get("grants", [])}
            self.offset = dt.timedelta(seconds=payload.get("offset", 0))
            self.sync_tokens = payload.get("sync_tokens", {})
            self.pending_conferences = {(c, e["id"]) for c, records in self.events.items()
                                        for e in records.values() if e.get("_conference_due")}
            if DEMO_CLIENT_ID in self.clients and self.demo_callbacks:
                # The command line decides the demo client's redirect URIs, not an old file.
                self.clients[DEMO_CLIENT_ID]["redirect_uris"] = list(self.demo_callbacks)

    # ----- accounts and calendars ------------------------------------------------------------
    def add_user(self, email: str, name: str, password: str, time_zone: str = "Asia/Tokyo"):
        sub = str(int(hashlib.sha256(email.encode()).hexdigest()[:15], 16))
        self.users[email] = {"password": password, "name": name, "sub": sub}
        self.add_calendar(email, name, email, time_zone)

    def add_calendar(self, calendar_id: str, summary: str, owner: str,
                     time_zone: str = "Asia/Tokyo") -> None:
        self.calendars[calendar_id] = {"summary": summary, "timeZone": time_zone,
                                       "acl": {owner: "owner"}, "owner": owner}
        self.events.setdefault(calendar_id, {})

    def role(self, user: str, calendar_id: str) -> str | None:
        calendar = self.calendars.get(calendar_id)
        if calendar is None:
            return None
        role = calendar["acl"].get(user)
        if role is None and calendar_id in self.users and calendar_id != user and \
                user.split("@")[-1] == calendar_id.split("@")[-1]:
            return "freeBusyReader"  # Workspace default: the domain sees free/busy
        return role

    def resolve(self, user: str, calendar_id: str) -> str:
        return user if calendar_id == "primary" else calendar_id

    # ----- tokens ----------------------------------------------------------------------------
    def issue_access(self, user: str, client_id: str, scope: str, refresh: str | None) -> str:
        token = "ya29." + secrets.token_urlsafe(40)
        self.access_tokens[token] = {
            "user": user, "client": client_id, "scope": scope, "refresh": refresh,
            "expires": self.now() + dt.timedelta(seconds=ACCESS_TOKEN_SECONDS)}
        return token

    def issue_refresh(self, user: str, client_id: str, scope: str) -> str:
        token = "1//" + secrets.token_urlsafe(48)
        self.refresh_tokens[token] = {"user": user, "client": client_id, "scope": scope,
                                      "revoked": False}
        return token

    def revoke_refresh(self, token: str) -> None:
        self.refresh_tokens[token]["revoked"] = True
        for access in [a for a, v in self.access_tokens.items() if v["refresh"] == token]:
            del self.access_tokens[access]

    def revoke_user(self, user: str) -> int:
        """The user removes the app's access in their Google account."""
        count = 0
        for token, grant in self.refresh_tokens.items():
            if grant["user"] == user and not grant["revoked"]:
                self.revoke_refresh(token)
                count += 1
        for token in [a for a, v in self.access_tokens.items() if v["user"] == user]:
            del self.access_tokens[token]
            count += 1
        self.grants = {g for g in self.grants if g[0] != user}
        return count

    # ----- usage and faults ------------------------------------------------------------------
    def count(self, endpoint: str, user: str | None) -> None:
        self.usage[endpoint] += 1
        if user:
            self.usage_by_user[user] += 1

    def take_fault(self, endpoint: str) -> dict | None:
        for fault in self.faults:
            if fault["endpoint"] in ("*", endpoint) and fault["remaining"] != 0:
                fault["remaining"] -= 1
                return fault
        return None
