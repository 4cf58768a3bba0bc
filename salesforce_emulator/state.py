"""The in-memory org: records, connected apps, tokens, switches, usage, faults.

One ``Org`` is shared by both origins and guarded by ``org.lock``. Writes made inside
``org.transaction()`` are journaled so composite ``allOrNone`` can roll them back.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import tempfile
import threading
import time
from collections import Counter, OrderedDict
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from . import ids, objects, seed
from .values import format_datetime

ORG_ID = ids.to18("00D" + ids.POD + "0001AbC")

DEFAULT_SETTINGS = {
    "assignment_rule": {"active": False, "target_user_id": None,
                        "rule_id": ids.to18("01Q" + ids.POD + "0000Asg")},
    "duplicate_rule": {"active": False, "action": "allow"},
    "api_disabled": False,
    "daily_limit": 100000,
    "required_lead_field_without_default": False,
    "hidden_fields": [],
    "ip_restriction": False,
    "session_timeout_seconds": 7200,
    "code_ttl_seconds": 900,
    "min_batch_size": 200,
    "is_sandbox": False,
}

# Keys persisted by --data (tokens included, so a demo connection survives a restart).
_PERSISTED = ("records", "counter", "settings", "apps", "access_tokens", "refresh_tokens",
              "approvals", "usage", "usage_total")


class Org:
    def __init__(self, *, data_file: str | None = None, latency_ms: int = 0,
                 seed_name: str = "demo", demo_callbacks: tuple[str, ...] = ()):
        self.lock = threading.RLock()
        self.data_file = None  # set below, so the seeding reset cannot overwrite the file
        self.base_latency_ms = latency_ms
        self.seed_name = seed_name
        self.demo_callbacks = tuple(demo_callbacks)
        self.login_url = ""
        self.instance_url = ""
        self.reset(seed_name)
        self.data_file = data_file
        if data_file and os.path.exists(data_file):
            self._load(data_file)
        else:
            self.save()

    # ----- lifecycle -------------------------------------------------------------------
    def reset(self, seed_name: str | None = None) -> None:
        """Back to the seed state: records, apps, tokens, switches, usage, faults, clock."""
        with self.lock:
            self.schema = objects.build()
            self.by_prefix = {obj.key_prefix: name for name, obj in self.schema.items()}
            self.records: dict[str, dict[str, dict]] = {name: {} for name in self.schema}
            self.counter = 0
            self.settings = copy.deepcopy(DEFAULT_SETTINGS)
            self.apps: dict[str, dict] = {}
            self.codes: dict[str, dict] = {}
            self.access_tokens: dict[str, dict] = {}
            self.refresh_tokens: dict[str, dict] = {}
            self.approvals: list[str] = []
            self.browser_sessions: dict[str, str] = {}
            self.faults: list[dict] = []
            self.usage: Counter = Counter()
            self.usage_total = 0
            self.cursors: OrderedDict[str, dict] = OrderedDict()
            self.clock_offset = 0.0
            self.latency_ms = self.base_latency_ms
            self.journal: list | None = None
            self.apply_switches()
            seed.populate(self, seed_name or self.seed_name)
            self.save()

    def apply_switches(self) -> None:
        """Reflect org switches in the metadata (the describe call must agree with DML)."""
        lead = self.schema["Lead"].by_lower[objects.SWITCHABLE_REQUIRED_FIELD.lower()]
        lead.nillable = not self.settings["required_lead_field_without_default"]
        self.hidden = {}
        for qualified in self.settings["hidden_fields"]:
            sobject, _, name = qualified.partition(".")
            obj = self.schema.get(sobject)
            fld = obj.by_lower.get(name.lower()) if obj else None
            if fld is not None:
                self.hidden.setdefault(obj.name, set()).add(fld.name)

    # ----- clock and ids ---------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    def now_str(self) -> str:
        return format_datetime(self.now().replace(microsecond=0))

    def epoch(self) -> float:
        return time.time() + self.clock_offset

    def new_id(self, sobject: str) -> str:
        self.counter += 1
        return ids.make(self.schema[sobject].key_prefix, self.counter)

    @staticmethod
    def token(nbytes: int = 36) -> str:
        return secrets.token_urlsafe(nbytes)

    # ----- metadata visible to API users -------------------------------------------------
    def field(self, sobject: str, name: str):
        """The field (case-insensitive name) unless missing or hidden from the profile."""
        fld = self.schema[sobject].by_lower.get(name.lower())
        if fld is None or fld.name in self.hidden.get(sobject, ()):
            return None
        return fld

    def visible_fields(self, sobject: str):
        hidden = self.hidden.get(sobject, ())
        return [f for f in self.schema[sobject].fields if f.name not in hidden]

    def sobject_name(self, name: str) -> str | None:
        for candidate in self.schema:
            if candidate.lower() == name.lower():
                return candidate
        return None

    # ----- records ---------------------------------------------------------------------
    def lookup(self, record_id: str) -> tuple[str, dict] | tuple[None, None]:
        full = ids.normalize(record_id)
        sobject = self.by_prefix.get(full[:3]) if full else None
        if sobject is None:
            return None, None
        record = self.records[sobject].get(full)
        return (sobject, record) if record is not None else (None, None)

    def put(self, sobject: str, record: dict) -> None:
        table = self.records[sobject]
        if self.journal is not None:
            before = table.get(record["Id"])
            self.journal.append((sobject, record["Id"], copy.copy(before)))
        table[record["Id"]] = record

    @contextmanager
    def transaction(self):
        """Journal writes; ``rollback()`` inside the block undoes them (allOrNone)."""
        outer = self.journal
        self.journal = [] if outer is None else outer
        mark = len(self.journal)
        try:
            yield mark
        finally:
            if outer is None:
                self.journal = None

    def rollback(self, mark: int) -> None:
        while self.journal is not None and len(self.journal) > mark:
            sobject, record_id, before = self.journal.pop()
            if before is None:
                self.records[sobject].pop(record_id, None)
            else:
                self.records[sobject][record_id] = before

    # ----- usage -----------------------------------------------------------------------
    def count_call(self, endpoint: str) -> None:
        self.usage[endpoint] += 1
        self.usage_total += 1

    def limit_info(self) -> str:
        return f"api-usage={self.usage_total}/{self.settings['daily_limit']}"

    # ----- persistence -----------------------------------------------------------------
    def save(self) -> None:
        """Write the org atomically (temp file + rename) when started with --data."""
        if not self.data_file:
            return
        payload = {key: getattr(self, key) for key in _PERSISTED}
        payload["usage"] = dict(self.usage)
        directory = os.path.dirname(os.path.abspath(self.data_file))
        fd, tmp = tempfile.mkstemp(prefix=".sfemu-", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, ensure_ascii=False)
        os.replace(tmp, self.data_file)

    def _load(self, path: str) -> None:
        with open(path, encoding="utf-8") as handle:
            payload = json.load(handle)
        for key in _PERSISTED:
            if key in payload:
                setattr(self, key, payload[key])
        self.usage = Counter(self.usage)
        from .seed import DEMO_CLIENT_ID

        if self.demo_callbacks and DEMO_CLIENT_ID in self.apps:
            # The command line decides the demo app's callbacks, not an old data file.
            self.apps[DEMO_CLIENT_ID]["callback_urls"] = list(self.demo_callbacks)
        for name in self.schema:
            self.records.setdefault(name, {})
        settings = copy.deepcopy(DEFAULT_SETTINGS)
        settings.update(self.settings)
        self.settings = settings
        self.apply_switches()
