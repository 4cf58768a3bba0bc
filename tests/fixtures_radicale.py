"""Real CalDAV servers for the calendar tests (K1-K6), each started once per session.

- ``radicale`` (session): a ``RadicaleServer`` (scripts/radicale_server.py) on a free loopback
  port with htpasswd accounts in a temp directory; ``.make_calendar()``, ``.put()``,
  ``.get()``, ``.delete()``, ``.list_hrefs()``, ``.add_user()``.
- ``xandikos`` (session): a ``XandikosServer`` (scripts/xandikos_server.py), the second,
  independent implementation, behind the small Basic-auth proxy that file describes; same
  methods.
- ``caldav_server``: Radicale, then Xandikos: every test that uses it (or ``caldav_account``)
  runs once against each, so the client is held to what both servers do.
- ``caldav_account`` (function): a fresh user with its own password and one calendar, so tests
  never see each other's events.
- ``caldav_app``: the app configured to accept both servers' http origins (X3 test hosts).
"""

from __future__ import annotations

import itertools
import os
import sys
from dataclasses import dataclass

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts"))
from dav_accounts import DavAccounts  # noqa: E402
from radicale_server import RadicaleServer  # noqa: E402
from xandikos_server import XandikosServer  # noqa: E402

_accounts = itertools.count(1)


@pytest.fixture(scope="session")
def radicale(tmp_path_factory):
    """The running Radicale server (stopped at the end of the session)."""
    server = RadicaleServer(str(tmp_path_factory.mktemp("radicale")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def xandikos(tmp_path_factory):
    """The running Xandikos server and its auth proxy (stopped at the end of the session)."""
    server = XandikosServer(str(tmp_path_factory.mktemp("xandikos")))
    yield server
    server.stop()


@pytest.fixture(params=["radicale", "xandikos"])
def caldav_server(request) -> DavAccounts:
    return request.getfixturevalue(request.param)


@dataclass
class CalDAVAccount:
    server: DavAccounts
    user: str
    password: str
    calendar_url: str

    def put_event(self, name: str, ics: str) -> str:
        return self.server.put(self.user, self.calendar_url, name, ics)

    def delete_event(self, name: str) -> None:
        self.server.delete(self.user, self.calendar_url + name)


@pytest.fixture
def caldav_account(caldav_server) -> CalDAVAccount:
    """A new user of the server with one empty calendar named 仕事."""
    user = f"user{os.getpid()}x{next(_accounts)}"
    password = f"pw-{user}"
    caldav_server.add_user(user, password)
    return CalDAVAccount(caldav_server, user, password,
                         caldav_server.make_calendar(user, "work", "仕事"))


@pytest.fixture
def caldav_app(app, radicale, xandikos):
    """The app fixture with the local CalDAV servers' origins allowed over http (X3 test
    hosts)."""
    app.config["CALDAV_TEST_HOSTS"] = (radicale.origin, xandikos.origin)
    app.config["ICAL_UID_DOMAIN"] = "apo.test"
    return app


def vevent(uid: str, start: str, end: str, extra: str = "", tzid: str = "") -> str:
    """A VCALENDAR with one VEVENT; start/end in iCalendar form (UTC when ending in Z)."""
    param = f";TZID={tzid}" if tzid else ""
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apo tests//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART{param}:{start}\r\n"
            f"DTEND{param}:{end}\r\nSUMMARY:{uid}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n")
