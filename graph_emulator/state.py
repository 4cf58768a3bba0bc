"""The tenant: users, apps, tokens, calendars and events, delta rounds, subscriptions,
online meetings and switches.

One lock guards everything; handlers hold it while they read or write. With a state
directory (``--state-dir``) the persistent part (``PERSISTENT``) is written to
``<dir>/graph-tenant.json`` shortly after every change and read back at start, so a restart
keeps signed-in apps, events and subscriptions (persistence.py).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import threading
import time
import uuid

from . import seed

UTC = dt.UTC


def opaque_id(prefix: str, *parts: str) -> str:
    """An Exchange-looking id ("AAMkAD..."): base64 of a digest, stable for its parts."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return prefix + base64.urlsafe_b64encode(digest).decode().rstrip("=")


# What survives a restart (everything a client may still hold a reference to).
PERSISTENT = ("seed_name", "clock_offset", "users", "calendars", "events", "apps",
              "access_tokens", "refresh_tokens", "browser_sessions", "consents",
              "delta_tokens", "settings", "counter", "subscriptions", "meetings",
              "signing_key_pem")


class Tenant:
    def __init__(self, seed_name: str = "demo", latency_ms: int = 0,
                 demo_callbacks: tuple[str, ...] = ()):
        self.lock = threading.RLock()
        self.latency_ms = latency_ms
        self.demo_callbacks = tuple(demo_callbacks)
        self.login_url = ""
        self.graph_url = ""
        self.dirty = False
        # Set by servers.Emulator: the background sender of change notifications.
        self.notifier = None
        # The ID-token signing key outlives resets (made on first use, oidc.py).
        self.signing_key_pem = ""
        self.reset(seed_name)

    def touch(self) -> None:
        """Something persistent changed (persistence.Saver writes it soon)."""
        self.dirty = True

    # ----- lifecycle ---------------------------------------------------------------------
    def reset(self, seed_name: str = "demo") -> None:
        if seed_name not in ("demo", "empty"):
            raise ValueError(f"unknown seed {seed_name!r}")
        with self.lock:
            # Deliveries in flight from before a reset are not recorded after it.
            self.generation = getattr(self, "generation", 0) + 1
            self.seed_name = seed_name
            self.clock_offset = 0.0
            self.users: dict[str, dict] = {}
            self.calendars: dict[str, dict] = {}      # id -> calendar (owner user id inside)
            self.events: dict[str, dict] = {}         # id -> stored event (master or single)
            self.apps: dict[str, dict] = {}
            self.codes: dict[str, dict] = {}
            self.access_tokens: dict[str, dict] = {}
            self.refresh_tokens: dict[str, dict] = {}
            self.browser_sessions: dict[str, str] = {}
            self.consents: set[tuple[str, str]] = set()   # (user id, client id)
            self.consent_nonces: dict[str, dict] = {}
            self.skip_tokens: dict[str, dict] = {}
            self.delta_tokens: dict[str, dict] = {}
            self.subscriptions: dict[str, dict] = {}  # id -> subscription (owner inside)
            self.meetings: dict[str, dict] = {}       # conferenceId -> online meeting
            self.deliveries: list[dict] = []          # notification attempts, newest last
            self.faults: list[dict] = []
            self.usage: dict = {"total": 0, "by_endpoint": {}, "by_user": {}}
            self.settings = {"access_token_ttl_seconds": 3599, "code_ttl_seconds": 600,
                             "refresh_token_idle_days": 90, "delta_ttl_seconds": None,
                             "default_page_size": 10, "max_schedules": 100,
                             # change notifications (README "Change notifications")
                             "subscription_max_minutes": 4230,
                             "require_https_notification_url": False,
                             "notification_retry_seconds": 600,
                             "notification_retry_for_seconds": 4 * 3600,
                             "reauthorization_before_seconds": 3600,
                             "reauthorization_every_seconds": 900}
            self.counter = 0
            self.add_app(seed.DEMO_CLIENT_ID, seed.DEMO_CLIENT_SECRET,
                         list(self.demo_callbacks), "Apo (demo)")
            if seed_name == "demo":
                for user_id, name, mail, tz in seed.DEMO_USERS:
                    self.add_user(user_id, name, mail, tz)
            self.touch()

    # ----- clock -------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(time.time() + self.clock_offset, UTC)

    def next_serial(self) -> int:
        self.counter += 1
        return self.counter

    # ----- directory ---------------------------------------------------------------------
    def add_user(self, user_id: str | None, name: str, mail: str, tz: str = "UTC",
                 password: str = seed.DEMO_PASSWORD) -> dict:
        user_id = user_id or str(uuid.uuid4())
        given, _, surname = name.partition(" ")
        user = {"id": user_id, "displayName": name, "givenName": surname or given,
                "surname": given if surname else None, "mail": mail,
                "userPrincipalName": mail, "preferredLanguage": "ja-JP",
                "jobTitle": None, "mobilePhone": None, "officeLocation": None,
                "businessPhones": [], "password": password, "timeZone": tz,
                "enabled": True}
        self.users[user_id] = user
        calendar_id = opaque_id("AAMkAGI2TG93AAA=", user_id, "calendar")
        self.calendars[calendar_id] = {
            "id": calendar_id, "owner": user_id, "name": "予定表", "color": "auto",
            "hexColor": "", "isDefaultCalendar": True,
            "changeKey": "nfZyf7VcrEKLNoU37KWlkQAAA0x0+w==",
            "canShare": True, "canViewPrivateItems": True, "canEdit": True,
            "isRemovable": False, "isTallyingResponses": True,
            "allowedOnlineMeetingProviders": ["teamsForBusiness"],
            "defaultOnlineMeetingProvider": "teamsForBusiness",
            "owner_address": {"name": name, "address": mail}}
        return user

    def user_by_mail(self, mail: str) -> dict | None:
        mail = (mail or "").strip().lower()
        return next((u for u in self.users.values()
                     if u["mail"].lower() == mail or u["userPrincipalName"].lower() == mail),
                    None)

    def add_calendar(self, user_id: str, name: str) -> dict:
        calendar_id = opaque_id("AAMkAGI2TG93AAA=", user_id, "calendar", name,
                                str(self.next_serial()))
        user = self.users[user_id]
        calendar = dict(self.calendars[self.default_calendar(user_id)["id"]])
        calendar.update(id=calendar_id, name=name, isDefaultCalendar=False, isRemovable=True,
                        owner_address={"name": user["displayName"], "address": user["mail"]})
        self.calendars[calendar_id] = calendar
        return calendar

    def default_calendar(self, user_id: str) -> dict:
        return next(c for c in self.calendars.values()
                    if c["owner"] == user_id and c["isDefaultCalendar"])

    def user_calendars(self, user_id: str) -> list[dict]:
        return [c for c in self.calendars.values() if c["owner"] == user_id]

    # ----- apps --------------------------------------------------------------------------
    def add_app(self, client_id: str | None, secret: str | None, redirect_uris, name: str,
                ) -> dict:
        app = {"client_id": client_id or str(uuid.uuid4()),
               "client_secret": secret or secrets.token_urlsafe(30),
               "redirect_uris": list(redirect_uris), "name": name}
        self.apps[app["client_id"]] = app
        return app

    # ----- usage -------------------------------------------------------------------------
    def count(self, label: str, user_id: str | None) -> None:
        self.usage["total"] += 1
        by_endpoint = self.usage["by_endpoint"]
        by_endpoint[label] = by_endpoint.get(label, 0) + 1
        if user_id:
            per_user = self.usage["by_user"].setdefault(user_id, {"total": 0, "by_endpoint": {}})
            per_user["total"] += 1
            per_user["by_endpoint"][label] = per_user["by_endpoint"].get(label, 0) + 1

    # ----- faults ------------------------------------------------------------------------
    def take_fault(self, method: str, path: str) -> dict | None:
        for fault in self.faults:
            if fault.get("method") and fault["method"].upper() != method:
                continue
            if fault.get("path_contains") and fault["path_contains"] not in path:
                continue
            fault["remaining"] -= 1
            if fault["remaining"] <= 0:
                self.faults.remove(fault)
            return fault
        return None
