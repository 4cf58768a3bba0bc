"""R3: the routing step cannot be used to test many addresses: it is limited per client and
per email like booking, and every lookup counts (not only the bookings that follow)."""

from __future__ import annotations

import pytest

from tests.factories import make_public_page
from webapp import create_app
from webapp.extensions import db


def limited(app, **limits):
    made = create_app({**{k: app.config[k] for k in (
        "TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "BASE_URL")},
        "RATELIMIT_ENABLED": True, **limits})
    made.test_client_class = type(app.test_client())
    return made


@pytest.fixture
def routed(app):
    page = make_public_page(fields=[])
    page.route_by_owner = True
    db.session.commit()
    return page


def lookup(client, page, email: str, address: str) -> int:
    return client.post_form(f"/p/{page.slug}/route", {"email": email},
                            token_from=f"/p/{page.slug}",
                            environ_base={"REMOTE_ADDR": address}).status_code


def test_R3_one_email_from_rotating_addresses_is_limited(app, routed, redis_conn):
    client = limited(app, RATELIMIT_BOOKING="100 per minute",
                     RATELIMIT_BOOKING_PER_PAGE="100 per hour",
                     RATELIMIT_BOOKING_PER_EMAIL="2 per hour").test_client()
    assert [lookup(client, routed, "Probe@Example.com", f"10.1.0.{i}") for i in range(3)] == [
        302, 302, 429]
    assert lookup(client, routed, "other@example.com", "10.1.0.9") == 302  # another email


def test_R3_one_client_trying_many_emails_is_limited(app, routed, redis_conn):
    client = limited(app, RATELIMIT_BOOKING="2 per minute",
                     RATELIMIT_BOOKING_PER_PAGE="100 per hour",
                     RATELIMIT_BOOKING_PER_EMAIL="100 per hour").test_client()
    assert [lookup(client, routed, f"guess{i}@example.com", "10.2.0.1") for i in range(3)] == [
        302, 302, 429]
