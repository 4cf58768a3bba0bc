"""Microsoft 365 calendars (K1): the member's one-click OAuth connect and the adapter factory.

Settings come from the app config, passed in by the caller (MS_CLIENT_ID, MS_CLIENT_SECRET,
MS_LOGIN_URL, MS_GRAPH_URL, MS_TEST_HOSTS for the local emulator). The member reaches the
connect button through the signed link of ``links`` (the same one as for CalDAV).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from webapp.extensions import db
from webapp.integrations import microsoft_graph as ms
from webapp.integrations.microsoft_graph.calendar_provider import (
    MicrosoftApp,
    credentials_from,
)
from webapp.models import CalendarConnection, CalendarStatus, Member, MemberCalendar
from webapp.services.calendars.connections import (
    CalendarConnectError,
    receiving_calendar,
    remove_connection,
)
from webapp.services.calendars.options import CalendarOptions

PROVIDER = "microsoft"
CONNECT_FAILED = _l("Microsoft 365 に接続できませんでした。もう一度お試しください。")


@dataclass(frozen=True)
class MicrosoftSettings:
    app: MicrosoftApp
    test_hosts: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        return bool(self.app.client_id and self.app.client_secret)

    @classmethod
    def from_config(cls, config: Mapping) -> MicrosoftSettings:
        hosts = tuple(config.get("MS_TEST_HOSTS") or ())
        app = MicrosoftApp(client_id=config.get("MS_CLIENT_ID") or "",
                           client_secret=config.get("MS_CLIENT_SECRET") or "",
                           login_url=config.get("MS_LOGIN_URL") or ms.LOGIN_URL,
                           graph_url=config.get("MS_GRAPH_URL") or ms.GRAPH_URL)
        return cls(app, tuple(hosts))

    def check_hosts(self) -> None:
        """X3: the login and Graph hosts are Microsoft's (or a configured test host)."""
        for url in (self.app.login_url, self.app.graph_url):
            if not ms.is_trusted_url(url, self.test_hosts):
                raise CalendarConnectError(_l("Microsoft 365 の接続先が正しく設定されていません。"),
                                           "untrusted Microsoft host")


# ----- OAuth --------------------------------------------------------------------------------
def start_connect(settings: MicrosoftSettings, member: Member, redirect_uri: str) -> dict:
    """The authorize URL and the values the callback must check (kept in the session)."""
    settings.check_hosts()
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    url = ms.authorization_url(settings.app.client_id, redirect_uri, state, verifier,
                               login_url=settings.app.login_url, login_hint=member.email)
    return {"url": url, "state": state, "verifier": verifier, "member_id": member.id}


def finish_connect(settings: MicrosoftSettings, options: CalendarOptions, member: Member,
                   redirect_uri: str, code: str, verifier: str) -> CalendarConnection:
    """Exchange the code, learn who connected and their calendars, store the connection
    (tokens encrypted, C8) with every calendar blocking and the default one receiving.
    An earlier Microsoft connection of the member is replaced.

    Raises:
        CalendarConnectError: Microsoft refused, or could not be reached.
    """
    settings.check_hosts()
    try:
        tokens = ms.exchange_code(settings.app.client_id, settings.app.client_secret,
                                  redirect_uri, code, verifier, login_url=settings.app.login_url)
        client = ms.GraphClient(tokens, None, graph_url=settings.app.graph_url)
        who, found = client.me(), client.calendars()
    except ms.GraphError as exc:
        raise CalendarConnectError(CONNECT_FAILED, exc.message) from None
    for old in list(member_connections(member)):
        remove_connection(old)
    found.sort(key=lambda c: not c.is_default)
    connection = CalendarConnection(
        organization_id=member.organization_id, member_id=member.id, provider=PROVIDER,
        server_url="", username=who.mail[:254],
        credentials_enc=options.keyring.encrypt(json.dumps(credentials_from(tokens))),
        status=CalendarStatus.PENDING.value)
    receiving = None if receiving_calendar(member.id) else next(
        (c for c in found if c.can_edit), None)  # K9: a member's first one receives
    connection.calendars = [
        MemberCalendar(member_id=member.id, remote_id=c.id, name=c.name[:255], blocks=True,
                       receives_bookings=c is receiving)
        for c in found]
    db.session.add(connection)
    db.session.flush()
    return connection


def member_connections(member: Member) -> list[CalendarConnection]:
    return list(db.session.scalars(db.select(CalendarConnection).where(
        CalendarConnection.member_id == member.id, CalendarConnection.provider == PROVIDER)))
