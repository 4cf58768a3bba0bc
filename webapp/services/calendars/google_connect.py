"""Google Calendar connections (K1): the member's one-click OAuth connect through a link the
admin sends, and the Google app settings from config.

The member opens the signed link the admin sent (services/calendars/links.py), clicks 「Googleで
連携する」, signs in at Google and consents; Apo keeps the refresh token encrypted (C8), the
Google account's email, and the calendars the member owns. Only the primary calendar blocks
at first, as in Google's own free/busy, which colleagues see from the primary calendar only;
the others can be switched on. The primary also receives bookings unless another calendar of
the member already does. One blocking calendar keeps a refresh at one call per member.
"""

from __future__ import annotations

import json
import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from webapp.extensions import db
from webapp.integrations import calendar_port, google_calendar
from webapp.integrations.google_calendar import oauth
from webapp.models import CalendarConnection, CalendarStatus, Member, MemberCalendar
from webapp.services.calendars import connections
from webapp.services.calendars.connections import CalendarConnectError
from webapp.services.calendars.options import CalendarOptions

PROVIDER = "google"
CONNECT_FAILED = _l("Googleカレンダーに接続できませんでした。もう一度お試しください。")


def google_app(config) -> oauth.GoogleApp | None:
    """The configured OAuth client, or None when Google is not set up."""
    if not (config.get("GOOGLE_CLIENT_ID") and config.get("GOOGLE_CLIENT_SECRET")):
        return None
    return oauth.GoogleApp(config["GOOGLE_CLIENT_ID"], config["GOOGLE_CLIENT_SECRET"],
                           oauth.GoogleEndpoints.for_base(config.get("GOOGLE_BASE_URL")),
                           float(config.get("CALENDAR_TIMEOUT", 10.0)))


def begin_connect(member: Member, app: oauth.GoogleApp, redirect_uri: str) -> tuple[dict, str]:
    """(pending flow to keep in the session, Google consent URL)."""
    pending = {"state": secrets.token_urlsafe(24), "verifier": secrets.token_urlsafe(64),
               "member_id": member.id, "org_id": member.organization_id}
    url = oauth.authorization_url(app, redirect_uri, pending["state"], pending["verifier"],
                                  login_hint=member.email)
    return pending, url


def complete_connect(member: Member, app: oauth.GoogleApp, pending: dict, code: str,
                     redirect_uri: str, options: CalendarOptions) -> CalendarConnection:
    """Exchange the code, read the account and its calendars, store the connection.

    Raises:
        CalendarConnectError: Google refused the code or is unreachable; nothing is stored.
    """
    try:
        credentials = oauth.exchange_code(app, redirect_uri, code, pending["verifier"])
        email = oauth.account_email(app, credentials["access_token"])
        client = google_calendar.GoogleCalendarClient(app, credentials)
        found = google_calendar.GoogleCalendarProvider(client).list_calendars()
    except calendar_port.ProviderError as exc:
        raise CalendarConnectError(CONNECT_FAILED, str(exc)) from None
    if not found:
        raise CalendarConnectError(_l("このGoogleアカウントには自分のカレンダーがありません。"))
    connection = db.session.scalar(select(CalendarConnection).where(
        CalendarConnection.member_id == member.id, CalendarConnection.provider == PROVIDER,
        CalendarConnection.username == email))
    if connection is None:
        connection = CalendarConnection(organization_id=member.organization_id,
                                        member_id=member.id, provider=PROVIDER, username=email)
        db.session.add(connection)
    connection.credentials_enc = options.keyring.encrypt(json.dumps(credentials))
    connection.status, connection.status_reason = CalendarStatus.PENDING.value, ""
    connection.broken_since = None
    _add_calendars(member, connection, found, email)
    db.session.flush()
    return connection


def _add_calendars(member: Member, connection: CalendarConnection,
                   found: list[calendar_port.RemoteCalendar], email: str) -> None:
    known = {c.remote_id for c in connection.calendars}
    receiving = db.session.scalar(select(MemberCalendar.id).where(
        MemberCalendar.member_id == member.id, MemberCalendar.receives_bookings.is_(True)))
    for remote in found:
        if remote.remote_id in known:
            continue
        connection.calendars.append(MemberCalendar(
            member_id=member.id, remote_id=remote.remote_id, name=remote.name[:255],
            blocks=remote.remote_id == email,
            receives_bookings=receiving is None and remote.remote_id == email))


def disconnect(connection: CalendarConnection, app: oauth.GoogleApp | None,
               options: CalendarOptions) -> bool:
    """Revoke the grant at Google (best effort) and forget the connection and its busy times.
    Returns whether Google confirmed the revocation."""
    revoked = False
    if app is not None and connection.credentials_enc:
        revoked = oauth.revoke(app, json.loads(options.keyring.decrypt(connection.credentials_enc)))
    connections.remove_connection(connection)
    return revoked


def google_connections(member: Member) -> list[CalendarConnection]:
    return list(db.session.scalars(select(CalendarConnection).where(
        CalendarConnection.member_id == member.id, CalendarConnection.provider == PROVIDER)
        .order_by(CalendarConnection.id)))
