"""The calendar and mail surfaces under attack (X3, X5, N5, F5): internal addresses written
other ways, hrefs a CalDAV server answers, names that resolve inside, connect links in logs,
encoded words and line breaks in names."""

from __future__ import annotations

import base64
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.fixtures_mail import outbox, received, send_due
from tests.test_services_notifications import CUSTOMER, book
from tests.test_services_notifications import page as page  # noqa: F401 - the fixture
from webapp.extensions import db
from webapp.integrations import guarded_http, urls
from webapp.integrations.caldav import CalDAVClient
from webapp.integrations.caldav.urls import UnsafeCalendarURL, check_caldav_url
from webapp.integrations.calendar_port import ProviderError
from webapp.models import Booking, MessageStatus
from webapp.web.access_log import redact

INTERNAL_FORMS = [
    "0177.0.0.1", "0x7f.0.0.1", "127.1", "127.0.0.01", "127.000.0.1", "0x7f.1",
    "0251.0376.0251.0376", "0xa9.0xfe.0xa9.0xfe", "169.254.43518",
    "012.0.0.1", "0300.0250.0.1", "0.0", "2130706433", "0x7f000001",
]


@pytest.mark.parametrize("host", INTERNAL_FORMS)
def test_X3_internal_addresses_in_any_form_the_resolver_reads_are_refused(host):
    with pytest.raises(UnsafeCalendarURL):
        check_caldav_url(f"https://{host}/dav/")
    with pytest.raises(UnsafeCalendarURL):
        check_caldav_url(f"https://{host}:8443/dav/")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789abcdefx.", min_size=1, max_size=24))
def test_X3_every_numeric_host_the_caldav_check_accepts_resolves_to_a_public_address(host):
    """Through glibc's own resolver, as requests will call it: a host the check accepts is
    either a DNS name or an address that is public."""
    try:
        check_caldav_url(f"https://{host}/")
    except UnsafeCalendarURL:
        return
    try:
        answers = socket.getaddrinfo(host, 443, flags=socket.AI_NUMERICHOST,
                                     type=socket.SOCK_STREAM)
    except socket.gaierror:
        return  # not an address: a name, resolved and checked at connect time
    assert all(urls.is_public(urls.literal_address(a[4][0])) for a in answers), host


class _Trap:
    """A loopback listener that only counts connections: nothing may ever reach it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port, self.hits = self.sock.getsockname()[1], 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.hits += 1
            conn.close()


def _dav_server(home_href: str, calendar_href: str):
    """An allowed CalDAV test server whose answers point elsewhere."""
    class Handler(BaseHTTPRequestHandler):
        def do_PROPFIND(self):  # noqa: N802 - the method's name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/home"):
                body = (f'<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
                        f'<d:response><d:href>{calendar_href}</d:href><d:propstat><d:prop>'
                        f'<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>'
                        f'<d:displayname>x</d:displayname></d:prop>'
                        f'<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>'
                        f'</d:multistatus>')
            else:
                body = (f'<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
                        f'<d:response><d:href>/</d:href><d:propstat><d:prop>'
                        f'<c:calendar-home-set><d:href>{home_href}</d:href></c:calendar-home-set>'
                        f'</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>'
                        f'</d:response></d:multistatus>')
            data = body.encode()
            self.send_response(207)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("where", ["home", "calendar"])
def test_X3_an_href_a_caldav_server_answers_is_checked_before_it_is_called_or_stored(where):
    trap = _Trap()
    inside = f"http://127.0.0.1:{trap.port}/cal/"
    server = _dav_server(inside if where == "home" else "/home/",
                         inside if where == "calendar" else "/home/cal/")
    origin = f"127.0.0.1:{server.server_port}"
    try:
        client = CalDAVClient(f"http://{origin}/", "member", "secret", timeout=2,
                              test_hosts=(origin,))
        if where == "home":
            with pytest.raises(ProviderError):
                client.list_calendars()
        else:
            assert client.list_calendars() == []  # the inside calendar is not offered
    finally:
        server.shutdown()
    assert trap.hits == 0  # no request, so no credentials, ever went inside


def test_X3_a_name_that_resolves_inside_is_refused_at_connect(monkeypatch):
    real = socket.getaddrinfo
    attempts = []

    def fake(host, *args, **kwargs):
        if host == "calendar.inside.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    monkeypatch.setattr(guarded_http.urllib3_connection, "create_connection",
                        lambda address, *a, **k: attempts.append(address))
    with pytest.raises(requests.ConnectionError) as raised:
        guarded_http.guarded_session().get("https://calendar.inside.example/dav/", timeout=2)
    assert isinstance(raised.value.args[0].reason, guarded_http.InternalAddress)
    assert attempts == []


def test_X3_the_connection_goes_to_the_address_that_was_checked(monkeypatch):
    """DNS rebinding: the first answer is public, every later one internal. The socket is
    opened to the checked address and the name is not resolved a second time."""
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])
    asked, opened = [], []

    def fake(host, *args, **kwargs):
        if host == "rebind.example":
            asked.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), 443))]
        return real(host, *args, **kwargs)

    def refuse(address, *args, **kwargs):
        opened.append(address)
        raise OSError("no route in this test")

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    monkeypatch.setattr(guarded_http.urllib3_connection, "create_connection", refuse)
    session = guarded_http.guarded_session()
    with pytest.raises(requests.ConnectionError):
        session.get("https://rebind.example/dav/", timeout=2)
    assert opened == [("93.184.216.34", 443)] and asked == ["rebind.example"]


@pytest.mark.parametrize("path", ["/calendar/connect/", "/calendar/google/connect/",
                                  "/calendar/microsoft/connect/", "/meetings/zoom/connect/",
                                  "/meetings/zoom/disconnect/"])
def test_X5_every_providers_member_connect_link_is_redacted_in_logs(path):
    line = f'127.0.0.1 - - "GET {path}SECRETTOKEN123?x=1 HTTP/1.1" 200'
    assert "SECRETTOKEN123" not in redact(line) and path in redact(line)


def _encoded(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def test_N5_encoded_words_in_names_stay_text_and_add_no_header(page, smtp_server):  # noqa: F811
    attack = _encoded("太郎\r\nBcc: victim@example.net\r\n\r\nPHISH")
    book(page, name=attack)
    rows = send_due()
    customer = next(r for r in rows if r.recipient_email == CUSTOMER)
    assert customer.status == MessageStatus.SENT.value
    [message] = received(smtp_server, CUSTOMER)
    # V5: Reply-To is the attending host's address, nothing the customer typed.
    host = db.session.scalars(select(Booking)).first().members[0]
    assert message["Bcc"] is None and str(message["Reply-To"]) == f"{host.name} <{host.email}>"
    assert all(not m.get("Bcc") for m in (x.parsed() for x in smtp_server.messages))
    assert "victim@example.net" not in {a for m in smtp_server.messages for a in m.rcpt_tos}
    assert "PHISH" not in message.get_body(preferencelist=("plain",)).get_content()[:5]
    assert "=\u2060?utf-8?b?" in str(message["To"])  # shown as the customer typed it


def test_F5_N1_a_line_break_in_a_name_is_folded_at_the_form(client, app):
    from tests.factories import make_public_page
    from tests.test_views_public import first_start, post_booking
    from webapp.extensions import db
    from webapp.models import Booking

    plain = make_public_page(fields=[])
    db.session.commit()
    data = {"start": first_start(plain), "tz": "Asia/Tokyo", "name": "山田\r\n太郎",
            "company": "山田\n商事", "email": "taro@example.com",
            "attendees-0-name": "佐々木\u2028次郎", "attendees-0-email": "jiro@example.com"}
    response = post_booking(client, plain, data)
    assert response.status_code == 302
    booking = db.session.scalar(db.select(Booking))
    assert (booking.name, booking.company) == ("山田 太郎", "山田 商事")
    assert booking.attendees == [{"name": "佐々木 次郎", "email": "jiro@example.com"}]
    assert all(r.status == MessageStatus.PENDING.value for r in outbox())
