"""An organization's Salesforce connection: connect, client, refresh, broken, disconnect (C2-C8).

Refresh serialization: with refresh-token rotation, two workers refreshing the same connection
at once lock it out (the reused old token revokes the new one). Every refresh therefore runs
in its own short transaction that first locks the connection row (PostgreSQL
``SELECT ... FOR UPDATE``; SQLite ``BEGIN IMMEDIATE``, a database-wide write lock, acceptable
for a refresh every couple of hours), re-reads the stored tokens, and refreshes only when no
one else did meanwhile. The new tokens are committed before the access token is used.
On SQLite, call the client with no uncommitted writes in the caller's session.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from webapp.extensions import db
from webapp.integrations import salesforce as sf
from webapp.integrations.urls import RefusedURL, checked_url
from webapp.models import (
    Admin,
    AuditKind,
    ConnectionStatus,
    DescribeCache,
    LoginKind,
    Organization,
    Plan,
    SalesforceAuditEvent,
    SalesforceConnection,
    utcnow,
)
from webapp.services.salesforce.settings import SalesforceSettings

log = logging.getLogger(__name__)
ADMIN_PROFILES = {"System Administrator", "システム管理者"}


class ConnectionUnavailable(sf.SalesforceAuthError):
    """The organization has no usable connection (never connected, disconnected or broken)."""


class ConnectError(Exception):
    """The OAuth callback failed; ``code`` is the OAuth or Apo error code. Nothing was stored."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code, self.detail = code, detail


def plan_allows(org: Organization) -> bool:
    """C1: only enterprise and premium organizations can connect."""
    return org.plan_enum.at_least(Plan.ENTERPRISE)


def get_connection(org_id: int) -> SalesforceConnection | None:
    """The organization's connection row, or None when it is not connected."""
    return db.session.scalar(
        select(SalesforceConnection).where(SalesforceConnection.organization_id == org_id)
    )


def login_url_for(kind: str, my_domain: str | None, conf: SalesforceSettings) -> str:
    """The login host for the chosen kind (C3); My Domain URLs were validated by the form."""
    if kind == LoginKind.SANDBOX.value:
        return conf.sandbox_login_url
    if kind == LoginKind.MY_DOMAIN.value:
        return (my_domain or "").rstrip("/")
    return conf.login_url


def checked_my_domain(url: str, conf: SalesforceSettings) -> str | None:
    """https://<name>.my.salesforce.com (sandbox My Domains too) or a configured test origin,
    in canonical form; None when the URL is refused (X3)."""
    test_origins = conf.allowed_hosts + tuple(
        urlsplit(u).netloc for u in (conf.login_url, conf.sandbox_login_url))
    try:
        return checked_url(url, ("my.salesforce.com",), test_origins, allow_path=False)
    except RefusedURL:
        return None


def is_valid_my_domain(url: str, conf: SalesforceSettings) -> bool:
    return checked_my_domain(url, conf) is not None


def begin_connect(org: Organization, admin: Admin, consumer_key: str, consumer_secret: str,
                  login_kind: str, login_url: str, redirect_uri: str,
                  conf: SalesforceSettings) -> tuple[dict, str]:
    """Start the web-server flow (C2): returns the session-bound pending data and the URL.

    The pending data holds the secret and the PKCE verifier encrypted, so the signed (not
    encrypted) session cookie never carries them in clear; nothing goes to the database yet.
    """
    state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    pending = {
        "org_id": org.id, "admin_id": admin.id, "state": state,
        "verifier": conf.keyring.encrypt(verifier), "consumer_key": consumer_key,
        "secret": conf.keyring.encrypt(consumer_secret), "login_kind": login_kind,
        "login_url": login_url, "redirect_uri": redirect_uri,
    }
    url = sf.authorization_url(login_url, consumer_key, redirect_uri, state, verifier)
    return pending, url


def complete_connect(org: Organization, admin: Admin, pending: dict, code: str,
                     conf: SalesforceSettings) -> SalesforceConnection:
    """Exchange the code, check the instance, read the user and store the connection (C4).

    Raises:
        ConnectError: any failure; nothing is stored then (C5).
    """
    if pending.get("org_id") != org.id or pending.get("admin_id") != admin.id:
        raise ConnectError("state_mismatch")
    secret = conf.keyring.decrypt(pending["secret"])
    try:
        tokens = sf.exchange_code(pending["login_url"], pending["consumer_key"], secret,
                                  pending["redirect_uri"], code,
                                  conf.keyring.decrypt(pending["verifier"]),
                                  conf.timeout)
        if not sf.is_trusted_url(tokens.instance_url, conf.allowed_hosts):
            raise ConnectError("untrusted_instance", tokens.instance_url)
        if not tokens.refresh_token:
            raise ConnectError("no_refresh_token")
        # The identity URL lives on the login host; it gets the access token, so check it too.
        login_origin = (urlsplit(pending["login_url"]).netloc,)
        if not sf.is_trusted_url(tokens.id_url, conf.allowed_hosts + login_origin):
            raise ConnectError("untrusted_instance", tokens.id_url)
        identity = sf.fetch_identity(tokens.id_url, tokens.access_token, conf.timeout)
        client = sf.SalesforceClient(tokens.instance_url, tokens.access_token,
                                     timeout=conf.timeout, api_version=conf.api_version)
        profile = _profile_or_empty(client, identity.user_id)
    except sf.SalesforceError as exc:
        raise ConnectError(exc.code or "error", exc.message) from None
    return _save_connection(org, admin, pending, secret, (tokens, identity, profile), conf)


def refresh_profile(conn: SalesforceConnection, client: sf.SalesforceClient) -> None:
    """Re-read the connecting user's profile (one API call); the caller commits.

    Raises:
        SalesforceError: the query failed for a reason other than a rejected request.
    """
    profile = _profile_or_empty(client, conn.sf_user_id)
    if profile.get("name"):
        conn.sf_profile_name = profile["name"]
        conn.sf_is_admin = profile["name"] in ADMIN_PROFILES


def _profile_or_empty(client: sf.SalesforceClient, user_id: str) -> dict:
    # A user without API access still connects; the check screen explains what is missing.
    try:
        return client.user_profile(user_id)
    except sf.SalesforceRequestError as exc:
        return {"name": "", "api_enabled": None, "error": exc.code}


def _save_connection(org, admin, pending, secret, answers, conf: SalesforceSettings):
    tokens, identity, profile = answers
    encrypt = conf.keyring.encrypt
    conn = get_connection(org.id)
    kind = AuditKind.RECONNECT if conn is not None else AuditKind.CONNECT
    if conn is None:
        conn = SalesforceConnection(organization_id=org.id)
        db.session.add(conn)
    else:
        _revoke_quietly(conn, conf)  # a replaced grant must not stay alive at Salesforce
        db.session.execute(delete(DescribeCache).where(DescribeCache.connection_id == conn.id))
    conn.login_kind, conn.login_url = pending["login_kind"], pending["login_url"]
    conn.consumer_key, conn.consumer_secret_enc = pending["consumer_key"], encrypt(secret)
    conn.access_token_enc = encrypt(tokens.access_token)
    conn.refresh_token_enc = encrypt(tokens.refresh_token)
    conn.instance_url = tokens.instance_url.rstrip("/")
    conn.sf_user_id, conn.sf_org_id = identity.user_id, identity.org_id
    conn.sf_username, conn.sf_email = identity.username, identity.email
    conn.sf_display_name = identity.display_name
    conn.sf_profile_name = profile.get("name") or ""
    conn.sf_is_admin = conn.sf_profile_name in ADMIN_PROFILES if conn.sf_profile_name else None
    conn.status, conn.broken_reason, conn.broken_at = ConnectionStatus.CONNECTED.value, "", None
    conn.connected_by_id, conn.connected_at = admin.id, utcnow()
    record_event(org.id, admin, kind, f"{identity.username} ({identity.org_id})")
    db.session.flush()
    return conn


def record_event(org_id: int, admin: Admin | None, kind: AuditKind, detail: str = "",
                 session: Session | None = None) -> None:
    """Append to the organization's Salesforce audit log (C6, C7)."""
    (session or db.session).add(SalesforceAuditEvent(
        organization_id=org_id, admin_id=admin.id if admin else None,
        actor_name=admin.name if admin else "", kind=kind.value, detail=detail[:1000]))


def audit_log(org_id: int, limit: int = 20) -> list[SalesforceAuditEvent]:
    """The organization's most recent audit events, newest first."""
    return list(db.session.scalars(
        select(SalesforceAuditEvent).where(SalesforceAuditEvent.organization_id == org_id)
        .order_by(SalesforceAuditEvent.id.desc()).limit(limit)))


def client_for(conn: SalesforceConnection | None,
               conf: SalesforceSettings) -> sf.SalesforceClient:
    """A client for this connection row whose refreshes are serialized and stored.

    The caller loads the row once and builds one client per request or sync attempt.

    Raises:
        ConnectionUnavailable: not connected, or the connection is broken (C7, S6).
    """
    if conn is None or conn.is_broken:
        raise ConnectionUnavailable("Salesforce is not connected", "NOT_CONNECTED")
    connection_id = conn.id
    return sf.SalesforceClient(
        conn.instance_url, conf.keyring.decrypt(conn.access_token_enc), timeout=conf.timeout,
        session=sf.pooled_session(f"{conn.id} {conn.instance_url}", conn.instance_url),
        api_version=conf.api_version,
        refresher=lambda stale: refresh_serialized(connection_id, stale, conf))


def refresh_serialized(connection_id: int, stale_access_token: str,
                       conf: SalesforceSettings) -> str:
    """Refresh under a row lock and return a working access token (see module docstring).

    Raises:
        ConnectionUnavailable: the connection is gone or already broken.
        SalesforceAuthError: the refresh token stopped working; the connection is marked broken.
        SalesforceRetryableError: Salesforce could not be reached; nothing changes.
    """
    decrypt = conf.keyring.decrypt
    with Session(db.engine, expire_on_commit=False) as session:
        if db.engine.dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        conn = session.scalar(select(SalesforceConnection)
                              .where(SalesforceConnection.id == connection_id).with_for_update())
        if conn is None or conn.is_broken:
            raise ConnectionUnavailable("Salesforce is not connected", "NOT_CONNECTED")
        current = decrypt(conn.access_token_enc)
        if current != stale_access_token:
            session.commit()  # another worker refreshed while we waited for the lock
            return current
        try:
            tokens = sf.refresh_access_token(conn.login_url, conn.consumer_key,
                                             decrypt(conn.consumer_secret_enc),
                                             decrypt(conn.refresh_token_enc), conf.timeout)
        except sf.SalesforceAuthError as exc:
            _mark_broken(session, conn, f"{exc.code}: {exc.message}")
            session.commit()
            raise
        conn.access_token_enc = conf.keyring.encrypt(tokens.access_token)
        if tokens.refresh_token:  # rotation: the old one is already dead, store the new one now
            conn.refresh_token_enc = conf.keyring.encrypt(tokens.refresh_token)
        session.commit()
        return tokens.access_token


def mark_broken(org_id: int, reason: str) -> None:
    """Mark the organization's connection 要再連携 with the reason (C7) and commit."""
    with Session(db.engine) as session:
        conn = session.scalar(select(SalesforceConnection)
                              .where(SalesforceConnection.organization_id == org_id))
        if conn is not None and not conn.is_broken:
            _mark_broken(session, conn, reason)
            session.commit()


def _mark_broken(session: Session, conn: SalesforceConnection, reason: str) -> None:
    log.warning("salesforce connection %s of org %s needs a reconnect", conn.id,
                conn.organization_id)
    conn.status, conn.broken_reason, conn.broken_at = (
        ConnectionStatus.BROKEN.value, reason[:500], utcnow())
    record_event(conn.organization_id, None, AuditKind.BROKEN, reason, session=session)


def _revoke_quietly(conn: SalesforceConnection, conf: SalesforceSettings) -> bool:
    try:
        return sf.revoke_token(conn.login_url, conf.keyring.decrypt(conn.refresh_token_enc),
                               conf.timeout)
    except sf.SalesforceError as exc:
        log.warning("revoke failed for org %s: %s", conn.organization_id, exc.code)
        return False


def disconnect(conn: SalesforceConnection, admin: Admin, conf: SalesforceSettings) -> bool:
    """Revoke at Salesforce, delete locally, keep page settings, audit (C6).

    Returns whether Salesforce confirmed the revocation; the local delete happens regardless,
    since an unreachable Salesforce must not keep a token the admin asked us to forget.
    """
    org_id = conn.organization_id
    revoked = _revoke_quietly(conn, conf)
    detail = f"{conn.sf_username} ({conn.sf_org_id})" + ("" if revoked else " revoke-unconfirmed")
    db.session.execute(delete(DescribeCache).where(DescribeCache.connection_id == conn.id))
    db.session.delete(conn)
    record_event(org_id, admin, AuditKind.DISCONNECT, detail)
    db.session.flush()
    return revoked
