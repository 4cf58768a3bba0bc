"""sObject describe results cached per connection (C9, M5, S8).

A warm cache answers 事前確認, the mapping checks and the field autocomplete without any API
call. A miss is fetched with the client the caller already holds, and stored in a short
transaction of its own: the caller's session stays clean, so read-only screens (and the
autocomplete GET) never commit, and a job's lease is not bound up with a cache write.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp.extensions import db
from webapp.integrations import salesforce as sf
from webapp.models import DescribeCache, SalesforceConnection, utcnow


def describe_cached(conn: SalesforceConnection, client: sf.SalesforceClient,
                    sobjects: tuple[str, ...], ttl: float,
                    refresh: bool = False) -> dict[str, dict]:
    """Describe results for ``sobjects``, from the cache unless stale, missing or ``refresh``.

    Raises:
        SalesforceError: a describe call failed (the cached rows stay untouched).
    """
    rows = {row.sobject: row for row in db.session.scalars(
        select(DescribeCache).where(DescribeCache.connection_id == conn.id,
                                    DescribeCache.sobject.in_(sobjects)))}
    fresh = {name: row.data for name, row in rows.items()
             if not refresh and row.fetched_at > utcnow() - timedelta(seconds=ttl)}
    missing = [name for name in sobjects if name not in fresh]
    if not missing:
        return fresh
    # Every miss is fetched before anything is written: no write is pending while the client
    # may have to refresh its token (see connections.refresh_serialized).
    fetched = {name: client.describe(name) for name in missing}
    _store(conn.id, fetched, client.last_limit_info)
    return fresh | fetched


def cached_value(conn: SalesforceConnection, key: str, fetch, ttl: float,
                 refresh: bool = False) -> dict:
    """Another per-connection Salesforce answer kept beside the describes (same TTL rules):
    ``fetch()`` runs only when the row under ``key`` is missing, stale or ``refresh``.

    Raises:
        SalesforceError: ``fetch`` failed (the cached row stays untouched).
    """
    row = db.session.scalar(select(DescribeCache).where(
        DescribeCache.connection_id == conn.id, DescribeCache.sobject == key))
    if row is not None and not refresh and row.fetched_at > utcnow() - timedelta(seconds=ttl):
        return row.data
    data = fetch()
    _store(conn.id, {key: data}, None)
    return data


def _store(connection_id: int, fetched: dict[str, dict], limit_info: dict | None) -> None:
    with Session(db.engine) as session:
        rows = {row.sobject: row for row in session.scalars(
            select(DescribeCache).where(DescribeCache.connection_id == connection_id,
                                        DescribeCache.sobject.in_(list(fetched))))}
        for name, data in fetched.items():
            row = rows.get(name) or DescribeCache(connection_id=connection_id, sobject=name)
            row.data, row.fetched_at = data, utcnow()
            session.add(row)
        if limit_info:
            session.execute(update(SalesforceConnection)
                            .where(SalesforceConnection.id == connection_id)
                            .values(last_limit_info=limit_info))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another request stored the same describe first: it is as good


def fetched_at(conn: SalesforceConnection) -> object:
    """When the oldest cached describe was fetched (shown next to the refresh button)."""
    return db.session.scalar(select(db.func.min(DescribeCache.fetched_at))
                             .where(DescribeCache.connection_id == conn.id))
