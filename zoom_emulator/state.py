"""The emulator's whole state: users, OAuth apps, grants and tokens, meetings, paging cursors,
faults, latency and a movable clock. One lock guards it all.

With a state directory the durable part (users, apps, grants, tokens, meetings, clock) is
written to ``zoom.json`` there after every change, so a restart of `make run` keeps the demo's
Zoom connections and meetings; faults, latency and browser sessions live in memory only.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import string
import tempfile
import threading
import time
from collections import Counter

from .seed import DEMO_ACCOUNT_ID, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_SCOPES, seed_demo

UTC = dt.UTC
STATE_FILE = "zoom.json"
_DURABLE = ("users", "apps", "grants", "access_tokens", "refresh_tokens", "meetings",
            "clock_offset", "daily_writes", "settings")
DEFAULT_SETTINGS = {
    "access_token_seconds": 3599,
    "code_seconds": 300,
    "page_token_seconds": 900,
    "daily_meeting_writes": 100,
}
_ALNUM = string.ascii_letters + string.digits


def random_user_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")[:22]


class Store:
    def __init__(self, seed: str = "demo", latency_ms: int = 0,
                 demo_callbacks: tuple[str, ...] = (), state_dir: str | None = None):
        self.lock = threading.RLock()
        self.seed_name = seed
        self.initial_latency = latency_ms
        self.demo_callbacks = list(demo_callbacks)
        self.state_file = None  # set after the seeding reset, so it cannot overwrite the file
        self.public_url = ""
        self.reset(seed)
        if state_dir:
            os.makedirs(state_dir, mode=0o700, exist_ok=True)
            self.state_file = os.path.join(state_dir, STATE_FILE)
            if os.path.exists(self.state_file):
                self._load()
            self.save()

    # ----- lifecycle -----------------------------------------------------------------------
    def reset(self, seed: str | None = None) -> None:
        with self.lock:
            self.seed_name = seed or self.seed_name
            self.clock_offset = 0.0
            self.latency_ms = self.initial_latency
            self.settings = dict(DEFAULT_SETTINGS)
            self.users: dict[str, dict] = {}           # e-mail -> user
            self.apps: dict[str, dict] = {}
            self.add_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, self.demo_callbacks, DEMO_SCOPES,
                         "Apo (demo)")
            self.grants: list[list[str]] = []          # [e-mail, client id]: app authorized
            self.codes: dict[str, dict] = {}
            self.pending: dict[str, dict] = {}         # authorize ticket -> request
            self.sessions: dict[str, str] = {}         # browser cookie -> e-mail
            self.access_tokens: dict[str, dict] = {}
            self.refresh_tokens: dict[str, dict] = {}
            self.meetings: dict[str, dict] = {}        # str(id) -> stored meeting
            self.page_tokens: dict[str, dict] = {}
            self.daily_writes: dict[str, int] = {}     # "e-mail|YYYY-MM-DD" -> count
            self.faults: list[dict] = []
            self.usage: Counter = Counter()
            if self.seed_name == "demo":
                seed_demo(self)
            self.save()

    # ----- clock -----------------------------------------------------------------------------
    def timestamp(self) -> float:
        return time.time() + self.clock_offset

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.timestamp(), UTC).replace(microsecond=0)

    def stamp(self) -> str:
        return self.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    # ----- accounts and apps -----------------------------------------------------------------
    def add_user(self, email: str, last_name: str, first_name: str, password: str,
                 user_id: str | None = None, timezone: str = "Asia/Tokyo") -> dict:
        email = email.strip().lower()
        user = {"id": user_id or random_user_id(), "email": email, "first_name": first_name,
                "last_name": last_name, "display_name": f"{last_name} {first_name}".strip(),
                "password": password, "timezone": timezone, "type": 2,
                "pmi": int("8" + "".join(secrets.choice(string.digits) for _ in range(9))),
                "account_id": DEMO_ACCOUNT_ID, "language": "ja-JP"}
        self.users[email] = user
        return user

    def user_by_ref(self, ref: str) -> dict | None:
        ref = (ref or "").strip()
        return self.users.get(ref.lower()) or next(
            (u for u in self.users.values() if u["id"] == ref), None)

    def add_app(self, client_id: str | None, secret: str | None, redirect_uris, scopes: str,
                name: str) -> dict:
        app = {"client_id": client_id or secrets.token_urlsafe(16).replace("-", "")[:20],
               "client_secret": secret or secrets.token_urlsafe(24),
               "redirect_uris": list(redirect_uris), "scopes": scopes, "name": name}
        self.apps[app["client_id"]] = app
        return app

    def granted(self, email: str, client_id: str) -> bool:
        return [email, client_id] in self.grants

    # ----- tokens ----------------------------------------------------------------------------
    def issue_tokens(self, email: str, client_id: str, scope: str) -> dict:
        """A new access token and a new refresh token (Zoom rotates refresh tokens)."""
        access, refresh = _token(), _token()
        seconds = self.settings["access_token_seconds"]
        self.access_tokens[access] = {"user": email, "client": client_id, "scope": scope,
                                      "expires": self.timestamp() + seconds,
                                      "refresh": refresh}
        self.refresh_tokens[refresh] = {"user": email, "client": client_id, "scope": scope}
        return {"access_token": access, "token_type": "bearer", "refresh_token": refresh,
                "expires_in": seconds, "scope": scope, "api_url": self.public_url}

    def drop_refresh(self, refresh: str) -> None:
        self.refresh_tokens.pop(refresh, None)
        for token in [a for a, v in self.access_tokens.items() if v["refresh"] == refresh]:
            del self.access_tokens[token]

    def revoke_user(self, email: str, client_id: str | None = None) -> int:
        """The user removes the app (or every app): its grant and all its tokens end."""
        gone = [r for r, v in self.refresh_tokens.items()
                if v["user"] == email and client_id in (None, v["client"])]
        gone_access = [a for a, v in self.access_tokens.items()
                       if v["user"] == email and client_id in (None, v["client"])]
        for refresh in gone:
            self.refresh_tokens.pop(refresh, None)
        for access in gone_access:
            self.access_tokens.pop(access, None)
        self.grants = [g for g in self.grants
                       if not (g[0] == email and client_id in (None, g[1]))]
        return len(gone) + len(gone_access)

    # ----- meetings --------------------------------------------------------------------------
    def new_meeting_id(self) -> int:
        while True:
            number = 80000000000 + secrets.randbelow(19999999999)
            if str(number) not in self.meetings:
                return number

    def live_meetings(self, email: str | None = None) -> list[dict]:
        return [m for m in self.meetings.values()
                if not m["deleted"] and email in (None, m["host_email"])]

    def count_write(self, email: str) -> bool:
        """One create/update/delete against the user's daily quota; False when it is spent."""
        key = f"{email}|{self.now().date().isoformat()}"
        if self.daily_writes.get(key, 0) >= self.settings["daily_meeting_writes"]:
            return False
        self.daily_writes[key] = self.daily_writes.get(key, 0) + 1
        return True

    # ----- faults ----------------------------------------------------------------------------
    def take_fault(self, method: str, path: str, kinds: tuple[str, ...]) -> dict | None:
        for fault in self.faults:
            if fault["kind"] not in kinds:
                continue
            if fault.get("method") and fault["method"].upper() != method:
                continue
            if fault.get("path_contains") and fault["path_contains"] not in path:
                continue
            fault["remaining"] -= 1
            if fault["remaining"] == 0:
                self.faults.remove(fault)
            return fault
        return None

    # ----- persistence -----------------------------------------------------------------------
    def save(self) -> None:
        """Write the durable state atomically (temp file + rename) when it has a directory."""
        if not self.state_file:
            return
        payload = {key: getattr(self, key) for key in _DURABLE}
        fd, tmp = tempfile.mkstemp(prefix=".zoomemu-", dir=os.path.dirname(self.state_file))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, ensure_ascii=False)
        os.replace(tmp, self.state_file)

    def _load(self) -> None:
        with open(self.state_file, encoding="utf-8") as handle:
            payload = json.load(handle)
        for key in _DURABLE:
            if key in payload:
                setattr(self, key, payload[key])
        self.settings = {**DEFAULT_SETTINGS, **self.settings}
        if self.demo_callbacks and DEMO_CLIENT_ID in self.apps:
            # The command line decides the demo app's redirect URIs, not an old state file.
            self.apps[DEMO_CLIENT_ID]["redirect_uris"] = list(self.demo_callbacks)


def _token() -> str:
    return secrets.token_urlsafe(48)


def passcode(length: int = 6) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def digits(length: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(length))
