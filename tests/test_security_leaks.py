"""X5: no OAuth codes or private links in access logs, private files; booking spam limits."""

from __future__ import annotations

import logging
import os
import stat
import sys

import pytest
import requests

from tests.factories import bookable_slots, make_booking, make_public_page
from tests.fixtures_web import ROOT, Gunicorn
from webapp import create_app
from webapp.extensions import db
from webapp.services import bookings
from webapp.services.slots import format_start


@pytest.fixture
def booking(app):
    booking = make_booking(make_public_page(fields=[]))
    db.session.commit()
    return booking


def _visit_secrets(base_url: str, token: str) -> None:
    http = requests.Session()
    http.trust_env = False
    http.get(f"{base_url}/b/{token}", timeout=10)
    http.get(f"{base_url}/b/{token}/reschedule?start=2030-01-07T01:00:00Z", timeout=10)
    http.get(f"{base_url}/admin/integrations/salesforce/callback?code=aPrx0SECRETCODE"
             "&state=STATE0SECRET", timeout=10, allow_redirects=False,
             headers={"Referer": f"{base_url}/b/{token}"})


def test_X5_gunicorn_access_log_holds_no_private_link_or_oauth_code(app, booking, redis_url,
                                                                    tmp_path):
    server = Gunicorn(app, redis_url, tmp_path / "gunicorn.log")
    try:
        _visit_secrets(server.url, booking.token)
    finally:
        server.stop()
    log = server.log()
    assert "GET /b/[redacted] " in log and "code=[redacted]" in log  # the lines are there
    for secret in (booking.token, "aPrx0SECRETCODE", "STATE0SECRET"):
        assert secret not in log


def test_X5_development_server_log_holds_no_private_link_or_oauth_code(live_server, booking,
                                                                      caplog):
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        _visit_secrets(live_server.url, booking.token)
    assert "/b/[redacted]" in caplog.text
    for secret in (booking.token, "aPrx0SECRETCODE", "STATE0SECRET"):
        assert secret not in caplog.text


def test_X5_sqlite_database_is_created_readable_by_its_owner_only(app, tmp_path):
    fresh = tmp_path / "data" / "fresh.sqlite3"
    loose = tmp_path / "loose.sqlite3"
    loose.write_bytes(b"")
    os.chmod(loose, 0o644)
    for path in (fresh, loose):
        created = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                              "REDIS_URL": app.config["REDIS_URL"]})
        with created.app_context():
            db.create_all()
            db.engine.dispose()
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


def test_X5_demo_key_files_are_created_private(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    from run_demo import instance_secret

    old_umask = os.umask(0o022)
    try:
        assert instance_secret(str(tmp_path), "secret_key", lambda: "s3cret") == "s3cret"
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600


@pytest.fixture
def limited_app(app, redis_conn):
    limited = create_app({**{k: app.config[k] for k in (
        "TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "BASE_URL")},
        "RATELIMIT_ENABLED": True, "RATELIMIT_BOOKING": "100 per minute",
        "RATELIMIT_BOOKING_PER_PAGE": "3 per hour", "RATELIMIT_BOOKING_PER_EMAIL": "2 per hour"})
    limited.test_client_class = type(app.test_client())
    return limited


def _book(client, page, email: str, address: str, start_index: int):
    start = format_start(bookable_slots(page)[start_index].start)  # clear of the notice edge
    return client.post_form(f"/p/{page.slug}/book",
                            {"start": start, "tz": "Asia/Tokyo", "name": "山田", "email": email},
                            token_from=f"/p/{page.slug}", environ_base={"REMOTE_ADDR": address})


def test_X5_bookings_are_limited_per_customer_email_and_per_page(limited_app, redis_url, tmp_path):
    page = make_public_page(fields=[])
    other = make_public_page(fields=[])
    db.session.commit()
    client = limited_app.test_client()
    # One customer email from rotating addresses: the third booking is refused.
    assert [_book(client, page, "Spam@Example.com", f"10.0.0.{i}", i).status_code
            for i in range(3)] == [302, 302, 429]
    # Other emails from other addresses: the page's own limit (3) stops the fourth booking,
    # also in another web process.
    assert _book(client, page, "a@example.com", "10.0.1.1", 5).status_code == 302
    server = Gunicorn(limited_app, redis_url, tmp_path / "gunicorn.log",
                      APO_RATELIMIT_BOOKING_PER_PAGE="3 per hour")
    try:
        start = format_start(bookings.available_slots(page)[7].start)
        response = server.post_form(f"/p/{page.slug}/book", {
            "start": start, "tz": "Asia/Tokyo", "name": "b", "email": "b@example.com"},
            token_from=f"/p/{page.slug}")
        assert response.status_code == 429
    finally:
        server.stop()
    assert _book(client, other, "c@example.com", "10.0.2.1", 0).status_code == 302


def test_X5_K1_member_calendar_links_are_redacted_and_send_no_referrer(client):
    """A member's /calendar/connect/<token> link is a credential like /b/<token> (K1, X5)."""
    from webapp.web.access_log import redact

    line = '127.0.0.1 "GET /calendar/connect/abc.def-ghi HTTP/1.1" 200 "/b/tok?code=xyz"'
    cleaned = redact(line)
    assert "abc.def-ghi" not in cleaned and "tok" not in cleaned and "xyz" not in cleaned
    assert "/calendar/connect/[redacted]" in cleaned
    response = client.get("/calendar/connect/not-a-valid-token")
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" in response.headers["Cache-Control"]
