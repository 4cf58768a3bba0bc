"""Field-name autocomplete fragment (M5): warm describe cache versus a cold one.

Run: ``python bench/bench_autocomplete.py [-n 200]``. It starts the Salesforce emulator as a
subprocess, builds the app on a temporary SQLite database, connects an organization through
the emulator's OAuth flow, then times ``n`` requests of the autocomplete fragment
(``admin.salesforce_field_options``) with the describe cache warm, and ``n`` with the cache
cleared before each request (cold). It prints the mean time per request, the ratio, and the
Salesforce API calls per keystroke read from the emulator's usage endpoint (goal: 0 warm).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete  # noqa: E402

from tests.fixtures_salesforce import salesforce_config  # noqa: E402
from tests.fixtures_salesforce_emulator import start_emulator  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import (  # noqa: E402
    Admin,
    BookingPage,
    DescribeCache,
    Member,
    Organization,
    PageMember,
)

BASE_URL = "http://127.0.0.1"
CALLBACK = "/admin/integrations/salesforce/callback"
KEYSTROKES = ["b", "bu", "bud", "budg", "budge", "budget", "p", "ph", "pho", "phon", "phone",
              "予", "予算", "d", "de", "dep", "depa", "depar", "depart"]


def build_app(emulator, database: str):
    """The app on a fresh SQLite file, pointed at the emulator; CSRF off (no browser here)."""
    app = create_app({
        "TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "RATELIMIT_ENABLED": False,
        "SESSION_COOKIE_SECURE": False, "BASE_URL": BASE_URL,
        **salesforce_config(emulator)})
    return app


def seed() -> BookingPage:
    org = Organization(name="Bench", plan="premium")
    admin = Admin(organization=org, email="bench@example.com", name="Bench")
    admin.set_password("secret-pass")
    member = Member(organization=org, name="Member", email="member@example.com")
    page = BookingPage(organization=org, title="Bench", slug="bench")
    page.page_members = [PageMember(member=member, position=0)]
    db.session.add_all([org, admin, member, page])
    db.session.commit()
    return page


def connect(client, emulator) -> None:
    """Sign in and connect through the emulator's login and consent pages."""
    key, secret = emulator.register_app([BASE_URL + CALLBACK])
    client.post("/login", data={"email": "bench@example.com", "password": "secret-pass"})
    response = client.post("/admin/integrations/salesforce/connect", data={
        "consumer_key": key, "consumer_secret": secret, "login_kind": "production",
        "my_domain_url": ""})
    location = emulator.authorize(response.headers["Location"])
    parts = urlsplit(location)
    assert client.get(f"{parts.path}?{parts.query}").status_code == 302, "connect failed"


def run(client, emulator, url: str, n: int, cold: bool) -> tuple[float, float]:
    """Mean seconds per request and Salesforce API calls per request."""
    calls_before, elapsed = emulator.usage()["total"], 0.0
    for i in range(n):
        if cold:
            db.session.execute(delete(DescribeCache))
            db.session.commit()
        started = time.perf_counter()
        response = client.get(url, query_string={"field_type": "text",
                                                 "salesforce_field": KEYSTROKES[i % len(
                                                     KEYSTROKES)]})
        elapsed += time.perf_counter() - started
        assert response.status_code == 200, response.data[:300]
        assert b'role="option"' in response.data, response.data[:300]
    return elapsed / n, (emulator.usage()["total"] - calls_before) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="requests per run (default 200)")
    args = parser.parse_args()
    emulator = start_emulator("--seed", "demo")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = build_app(emulator, str(Path(tmp) / "bench.sqlite3"))
            with app.app_context():
                db.create_all()
                page = seed()
                client = app.test_client()
                connect(client, emulator)
                url = f"/admin/pages/{page.id}/salesforce/field-options"
                client.get(url, query_string={"field_type": "text"})  # fill the cache once
                warm, warm_calls = run(client, emulator, url, args.n, cold=False)
                cold, cold_calls = run(client, emulator, url, args.n, cold=True)
                db.session.remove()
                db.engine.dispose()
    finally:
        emulator.stop()
    print(f"autocomplete fragment, {args.n} requests each (keystrokes: {len(KEYSTROKES)} "
          "queries cycled)")
    print(f"  warm cache: {warm * 1000:7.2f} ms/request, {warm_calls:.2f} Salesforce API "
          "calls per keystroke")
    print(f"  cold cache: {cold * 1000:7.2f} ms/request, {cold_calls:.2f} Salesforce API "
          "calls per keystroke")
    print(f"  cold / warm: {cold / warm:.1f}x")


if __name__ == "__main__":
    main()
