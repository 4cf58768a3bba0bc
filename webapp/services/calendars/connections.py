"""Members' calendar connections (K1, K6): connect, choose calendars, state, adapters.

Credentials are stored encrypted (C8) and decrypted only to build an adapter.
"""

from __future__ import annotations

import json
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from webapp.config import DEFAULT_TIMEZONE
from webapp.extensions import db
from webapp.integrations import calendar_port
from webapp.integrations.caldav import UnsafeCalendarURL, check_caldav_url
from webapp.models import CalendarConnection, CalendarStatus, Member, MemberCalendar
from webapp.services.calendars import busy_store
from webapp.services.calendars.options import CalendarOptions

# Why a connection is broken, by the kind of failure; the detail stays in status_reason.
REASONS = {
    "auth": _l("カレンダーサーバーがユーザー名またはアプリ用パスワードを拒否しました。"
               "正しいアプリ用パスワードで接続し直してください。"),
    "unavailable": _l("カレンダーサーバーに接続できません。"),
    "error": _l("カレンダーを読み込めませんでした。"),
}

# Where a provider's wording must differ from the generic one (an OAuth grant has no password).
# Reasons an OAuth provider words itself, by provider then kind: it has no app password to fix.
PROVIDER_REASONS = {
    "google": {"auth": _l("Googleがアクセスを拒否しました（連携が取り消されたか、期限が"
                          "切れました）。連携用リンクからGoogleで連携し直してください。")},
    "microsoft": {
        "auth": _l("Microsoft 365 へのアクセスが取り消されたか、期限が切れました。"
                   "メンバーが接続用リンクから「Microsoft 365 に接続する」をやり直してください。"),
        "unavailable": _l("Microsoft 365 に接続できません。"),
    },
}


class CalendarConnectError(Exception):
    """Connecting failed; `message` tells the person connecting what to fix."""

    def __init__(self, message, detail: str = ""):
        super().__init__(detail or str(message))
        self.message = message


def connect_caldav(member: Member, url: str, username: str, password: str,
                   options: CalendarOptions) -> CalendarConnection:
    """Check the URL (X3) and the credentials by discovering the calendars, then store the
    connection with every calendar blocking and the first writable one receiving bookings.

    Raises:
        CalendarConnectError: refused URL, wrong credentials, no calendar found.
    """
    try:
        url = check_caldav_url(url, options.test_hosts)
    except UnsafeCalendarURL as exc:
        raise CalendarConnectError(
            _l("このURLには接続できません（https のURLを入力してください）。"), str(exc)) from None
    info = calendar_port.ConnectionInfo(url, username.strip(), {"password": password},
                                    timeout=options.timeout,
                                    options=_adapter_options(member, options))
    try:
        found = options.providers.build("caldav", info).list_calendars()
    except calendar_port.ProviderAuthError as exc:
        raise CalendarConnectError(REASONS["auth"], str(exc)) from None
    except calendar_port.ProviderError as exc:
        raise CalendarConnectError(_l("カレンダーが見つかりませんでした。URLを確認してください。"),
                                   str(exc)) from None
    if not found:
        raise CalendarConnectError(_l("このアカウントにはカレンダーがありません。"))
    connection = CalendarConnection(
        organization_id=member.organization_id, member_id=member.id, provider="caldav",
        server_url=url, username=username.strip(),
        credentials_enc=options.keyring.encrypt(json.dumps({"password": password})),
        status=CalendarStatus.PENDING.value)
    receiving = None if receiving_calendar(member.id) else next(
        (c for c in found if c.writable), None)  # K9: a member's first one receives
    connection.calendars = [
        MemberCalendar(member_id=member.id, remote_id=c.remote_id, name=c.name[:255],
                       blocks=True, receives_bookings=c is receiving)
        for c in found
    ]
    db.session.add(connection)
    db.session.flush()
    return connection


def adapter_for(connection: CalendarConnection, options: CalendarOptions,
                timeout: float | None = None) -> calendar_port.CalendarProvider:
    """The provider adapter of a connection, with decrypted credentials (never logged)."""

    def store(credentials: dict) -> None:
        connection.credentials_enc = options.keyring.encrypt(json.dumps(credentials))

    info = calendar_port.ConnectionInfo(
        connection.server_url, connection.username,
        json.loads(options.keyring.decrypt(connection.credentials_enc) or "{}"),
        timeout=timeout or options.timeout, on_credentials_change=store,
        options=_adapter_options(connection.member, options))
    return options.providers.build(connection.provider, info)


def receiving_calendar(member_id: int) -> MemberCalendar | None:
    """The one calendar that receives the member's bookings (K9), of any provider."""
    return db.session.scalar(select(MemberCalendar).where(
        MemberCalendar.member_id == member_id, MemberCalendar.receives_bookings.is_(True))
        .order_by(MemberCalendar.id.desc()).limit(1))


def set_calendar_roles(connection: CalendarConnection, blocking: set[int],
                       receiving: int | None) -> None:
    """Which calendars block slots and which one receives bookings: one per member across
    all of their connections (K9), so choosing one here clears it on the others."""
    receiving = receiving if receiving in {c.id for c in connection.calendars} else None
    if receiving is not None:
        db.session.execute(
            update(MemberCalendar)
            .where(MemberCalendar.member_id == connection.member_id,
                   MemberCalendar.connection_id != connection.id)
            .values(receives_bookings=False).execution_options(synchronize_session="fetch"))
    for calendar in connection.calendars:
        was_blocking = calendar.blocks
        calendar.blocks = calendar.id in blocking
        calendar.receives_bookings = calendar.id == receiving
        if was_blocking and not calendar.blocks:
            busy_store.clear_calendar(calendar.id)
            calendar.sync_state, calendar.last_synced_at = {}, None


def remove_connection(connection: CalendarConnection) -> None:
    """Forget a connection, its calendars and their busy times."""
    for calendar in connection.calendars:
        busy_store.clear_calendar(calendar.id)
    db.session.delete(connection)
    db.session.flush()


def mark_ok(connection: CalendarConnection, now: datetime) -> None:
    connection.status, connection.status_reason = CalendarStatus.OK.value, ""
    connection.last_ok_at, connection.broken_since = now, None


def mark_broken(connection: CalendarConnection, error: calendar_port.ProviderError,
                now: datetime) -> None:
    """K6: keep the state and why; `broken_since` starts the grace period once."""
    kind = ("auth" if isinstance(error, calendar_port.ProviderAuthError)
            else "unavailable" if isinstance(error, calendar_port.ProviderUnavailable) else "error")
    connection.status = CalendarStatus.BROKEN.value
    connection.status_reason = f"{kind}: {error}"[:500]
    connection.broken_since = connection.broken_since or now




def reason_message(connection: CalendarConnection):
    """The translated reason of a broken connection, for admins and the member (K6)."""
    kind = (connection.status_reason or "error").split(":", 1)[0]
    return PROVIDER_REASONS.get(connection.provider, {}).get(kind) or REASONS.get(
        kind, REASONS["error"])


def connections_by_member(org_id: int) -> dict[int, list[CalendarConnection]]:
    rows = db.session.scalars(
        select(CalendarConnection).where(CalendarConnection.organization_id == org_id)
        .order_by(CalendarConnection.id))
    found: dict[int, list[CalendarConnection]] = {}
    for connection in rows:
        found.setdefault(connection.member_id, []).append(connection)
    return found


def _adapter_options(member: Member, options: CalendarOptions) -> dict:
    return {"zone": member.timezone or DEFAULT_TIMEZONE, "test_hosts": options.test_hosts,
            "email": member.email or ""}


def rotate_credentials(keyring) -> int:
    """Re-encrypt every calendar connection's credentials with the primary key (C8, `flask
    rotate-keys`); the caller commits."""
    rows = db.session.scalars(select(CalendarConnection)).all()
    for row in rows:
        if row.credentials_enc:
            row.credentials_enc = keyring.rotate(row.credentials_enc)
    return len(rows)
