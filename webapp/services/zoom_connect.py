"""A member's Zoom connection (V1), made through the same signed link as their calendars
(K1): the member opens it, clicks 「Zoomで連携する」, signs in at Zoom and consents; Apo keeps
the tokens encrypted (C8) and the Zoom account's e-mail. Meetings that waited for the
connection run once it exists."""

from __future__ import annotations

import json
import secrets

from flask_babel import lazy_gettext as _l

from webapp.extensions import db
from webapp.integrations import calendar_port, zoom
from webapp.models import MeetingAccount, Member
from webapp.services import meetings
from webapp.services.calendars.connections import CalendarConnectError

CONNECT_FAILED = _l("Zoomに接続できませんでした。もう一度お試しください。")


def begin_connect(member: Member, app: zoom.ZoomApp, redirect_uri: str) -> tuple[dict, str]:
    """(pending flow to keep in the session, Zoom's consent URL): state and PKCE S256."""
    pending = {"state": secrets.token_urlsafe(24), "verifier": secrets.token_urlsafe(64),
               "member_id": member.id, "org_id": member.organization_id}
    return pending, zoom.authorization_url(app, redirect_uri, pending["state"],
                                           pending["verifier"])


def complete_connect(member: Member, app: zoom.ZoomApp, pending: dict, code: str,
                     redirect_uri: str, keyring) -> MeetingAccount:
    """Exchange the code, read the account's e-mail, store the connection; the member's
    meetings that waited for it are queued (tracked for enqueue-after-commit).

    Raises:
        CalendarConnectError: Zoom refused the code or is unreachable; nothing is stored.
    """
    try:
        credentials = zoom.exchange_code(app, redirect_uri, code, pending["verifier"])
        email = zoom.account_email(app, credentials["access_token"])
    except calendar_port.ProviderError as exc:
        raise CalendarConnectError(CONNECT_FAILED, str(exc)) from None
    account = meetings.zoom_account(member.id)
    if account is None:
        account = MeetingAccount(organization_id=member.organization_id, member_id=member.id,
                                 provider=meetings.ZOOM)
        db.session.add(account)
    account.username = email[:254]
    account.credentials_enc = keyring.encrypt(json.dumps(credentials))
    account.status, account.status_reason = "ok", ""
    db.session.flush()
    meetings.resume_waiting_zoom(member.id)
    return account


def disconnect(account: MeetingAccount, app: zoom.ZoomApp | None, keyring) -> bool:
    """Revoke at Zoom (best effort) and forget the account; meetings already made stay."""
    revoked = False
    if app is not None and account.credentials_enc:
        revoked = zoom.revoke(app, json.loads(keyring.decrypt(account.credentials_enc)))
    db.session.delete(account)
    db.session.flush()
    return revoked
