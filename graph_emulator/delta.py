"""calendarView delta rounds (learn.microsoft.com/graph/delta-query-events).

A round starts with startDateTime/endDateTime and ends with an ``@odata.deltaLink``; the
token remembers the window and a snapshot ``{instance id: fingerprint}``. The next round
diffs the current instances against that snapshot: new or changed instances come back in
full, vanished ones as ``{"id", "@removed": {"reason": "deleted"}}``. Pages (``$skiptoken``)
hold the rest of a round's items; the page size comes from ``Prefer: odata.maxpagesize``.
"""

from __future__ import annotations

import datetime as dt
import secrets

from . import events
from .state import Tenant

MAX_DELTA_LINKS = 5000


class DeltaTokenGone(Exception):
    """The delta or skip token is unknown or expired."""


def start_round(tenant: Tenant, user_id: str, calendar_id: str, start: dt.datetime,
                end: dt.datetime, previous: dict | None) -> dict:
    """The whole round's items and the snapshot the next deltaLink will carry."""
    current = events.instances(tenant, calendar_id, start, end)
    snapshot = {e["id"]: events.fingerprint(tenant, e) for e in current}
    old = previous or {}
    items = [("upsert", e["id"]) for e in current if old.get(e["id"]) != snapshot[e["id"]]]
    items += [("removed", instance_id) for instance_id in old if instance_id not in snapshot]
    return {"user_id": user_id, "calendar_id": calendar_id, "start": start, "end": end,
            "snapshot": snapshot, "items": items}


def take_page(tenant: Tenant, round_: dict, page_size: int) -> tuple[list, str | None]:
    """The next page's items and a new skip token (None when the round is complete)."""
    page, rest = round_["items"][:page_size], round_["items"][page_size:]
    if not rest:
        return page, None
    token = secrets.token_urlsafe(24)
    tenant.skip_tokens[token] = {**round_, "items": rest}
    return page, token


def finish_round(tenant: Tenant, round_: dict) -> str:
    token = secrets.token_urlsafe(24)
    tenant.touch()
    # Every round issues a link; the oldest are forgotten (410 then, as an expired token) so
    # a long-running demo's state file stays small.
    while len(tenant.delta_tokens) >= MAX_DELTA_LINKS:
        del tenant.delta_tokens[next(iter(tenant.delta_tokens))]
    tenant.delta_tokens[token] = {key: round_[key] for key in
                                  ("user_id", "calendar_id", "start", "end", "snapshot")}
    tenant.delta_tokens[token]["issued_at"] = tenant.now()
    return token


def resume(tenant: Tenant, user_id: str, skip: str | None, delta: str | None) -> dict:
    """The round a ``$skiptoken`` continues or a ``$deltatoken`` starts; DeltaTokenGone if
    the token is unknown, expired or another user's."""
    if skip is not None:
        round_ = tenant.skip_tokens.pop(skip, None)
        if round_ is None or round_["user_id"] != user_id:
            raise DeltaTokenGone()
        return round_
    saved = tenant.delta_tokens.get(delta or "")
    ttl = tenant.settings.get("delta_ttl_seconds")
    if saved is None or saved["user_id"] != user_id or saved.get("expired") or (
            ttl is not None and (tenant.now() - saved["issued_at"]).total_seconds() > ttl):
        raise DeltaTokenGone()
    return start_round(tenant, user_id, saved["calendar_id"], saved["start"], saved["end"],
                       saved["snapshot"])


def expire_all(tenant: Tenant) -> int:
    for saved in tenant.delta_tokens.values():
        saved["expired"] = True
    tenant.skip_tokens.clear()
    return len(tenant.delta_tokens)
