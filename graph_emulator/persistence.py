"""The tenant on disk (``--state-dir``): one JSON file written atomically shortly after each
change, read back at start.

Why: ``make run`` restarts the emulator with the demo database kept; the product still holds
refresh tokens, delta links and subscription ids issued before the restart, and they must
keep working (a real tenant does not forget them). JSON keeps the file readable; datetimes,
sets and tuples are tagged so they come back as they were.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import threading

from .state import PERSISTENT, Tenant

FILE_NAME = "graph-tenant.json"
FLUSH_SECONDS = 0.3


def _encode(value):
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, set):
        return {"$set": [_encode(v) for v in value]}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value):
    if isinstance(value, dict):
        if set(value) == {"$dt"}:
            return dt.datetime.fromisoformat(value["$dt"])
        if set(value) == {"$set"}:
            return {_decode(v) for v in value["$set"]}
        if set(value) == {"$tuple"}:
            return tuple(_decode(v) for v in value["$tuple"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def snapshot(tenant: Tenant) -> str:
    """The persistent state as JSON text (call with the tenant's lock held)."""
    return json.dumps({name: _encode(getattr(tenant, name)) for name in PERSISTENT},
                      ensure_ascii=False)


def load(tenant: Tenant, directory: str) -> bool:
    """Replace the tenant's persistent state by the saved one; False when none is saved."""
    path = os.path.join(directory, FILE_NAME)
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8") as handle:
        saved = json.load(handle)
    with tenant.lock:
        for name in PERSISTENT:
            if name in saved:
                current = getattr(tenant, name)
                value = _decode(saved[name])
                if isinstance(current, dict) and name == "settings":
                    current.update(value)  # settings added since the file was written
                    continue
                setattr(tenant, name, value)
        tenant.dirty = False
    return True


def write(tenant: Tenant, directory: str) -> None:
    with tenant.lock:
        text = snapshot(tenant)
        tenant.dirty = False
    os.makedirs(directory, mode=0o700, exist_ok=True)
    # Refresh tokens are secrets: the file is created 0600 and replaced atomically.
    handle, temp = tempfile.mkstemp(prefix=".graph-tenant-", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, os.path.join(directory, FILE_NAME))
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


class Saver:
    """Writes the tenant whenever it is dirty, at most every FLUSH_SECONDS, and on stop."""

    def __init__(self, tenant: Tenant, directory: str):
        self.tenant = tenant
        self.directory = directory
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="graph-saver", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.wait(FLUSH_SECONDS):
            if self.tenant.dirty:
                write(self.tenant, self.directory)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        write(self.tenant, self.directory)
