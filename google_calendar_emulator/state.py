"""The emulator's whole state: accounts, OAuth clients and grants, calendars, events, tokens,
usage counts, faults, latency and a movable clock. One lock guards it all."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
from collections import Counter

from .seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, seed_demo

ACCESS_TOKEN_SECONDS = 3599
SYNC_TOKEN_TTL_SECONDS = 7 * 24 * 3600  # UNVERIFIED: Google does not publish a lifetime
BASE32HEX = "0123456789abcdefghijklmnopqrstuv"


def random_id(length: int = 26) -> str:
    """An event id in Google's alphabet (base32hex, lower case)."""
    return "".join(secrets.choice(BASE32HEX) for _ in range(length))


class Store:
    def __init__(self, seed: str = "demo", latency_ms: int = 0,
                 demo_callbacks: tuple[str, ...] = ()):
        self.lock = threading.RLock()
        self.seed_name = seed
        self.demo_callbacks = list(demo_callbacks)
        self.initial_latency = latency_ms
        self.reset(seed)

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
            if self.seed_name == "demo":
                seed_demo(self)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC).replace(microsecond=0) + self.offset

    def stamp(self) -> str:
        return self.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

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
