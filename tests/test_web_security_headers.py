"""X1: security headers on every response; the real pages run under the CSP in Chromium."""

from __future__ import annotations

import re

import pytest

from tests.factories import login, make_booking, make_page, make_public_page
from webapp.extensions import db


@pytest.fixture
def booking(app):
    page = make_public_page()
    booking = make_booking(page)
    db.session.commit()
    return booking


def _paths(booking) -> list[str]:
    return ["/login", f"/p/{booking.page.slug}", f"/b/{booking.token}",
            f"/b/{booking.token}/reschedule", "/admin/", "/nowhere"]


def test_X1_every_response_carries_csp_frame_nosniff_and_permissions(client, booking):
    for path in _paths(booking):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, path
        assert "default-src 'self'" in csp and "base-uri 'none'" in csp, path
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert "camera=()" in headers["Permissions-Policy"], path
        assert "geolocation=()" in headers["Permissions-Policy"], path
        assert headers["Cache-Control"] == "no-store", path


def test_X1_private_booking_pages_send_a_referrer_to_apo_only_others_only_the_origin(
        client, booking):
    for path in (f"/b/{booking.token}", f"/b/{booking.token}/reschedule"):
        assert client.get(path).headers["Referrer-Policy"] == "same-origin"
    page = client.get(f"/p/{booking.page.slug}")
    assert page.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_X1_admin_pages_are_not_cached_and_static_files_are(client, admin):
    login(client, admin)
    assert client.get("/admin/").headers["Cache-Control"] == "no-store"
    static = client.get("/static/app.js")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


def test_X1_templates_hold_no_inline_script_or_handlers():
    import pathlib

    root = pathlib.Path(__file__).parent.parent / "webapp" / "templates"
    for template in root.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template
        assert "javascript:" not in text and "hx-on" not in text, template


@pytest.mark.browser
def test_X1_booking_journey_and_admin_htmx_run_without_csp_violations(page, live_server, app,
                                                                     admin):
    booking_page = make_public_page(fields=[])
    admin_page = make_page(admin.organization, [])
    db.session.commit()
    violations = []
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    page.goto(f"{live_server.url}/p/{booking_page.slug}")
    page.locator("a.slot").first.click()
    page.wait_for_url(re.compile(r"/book\?start="))
    page.fill("#name", "山田 太郎")
    page.fill("#email", "taro@example.com")
    page.get_by_role("button", name="予約を確定する").click()
    page.wait_for_url(re.compile(r"/b/[\w-]+$"))
    page.goto(f"{live_server.url}/login")
    page.fill("#email", admin.email)
    page.fill("#password", "secret-pass")
    page.get_by_role("button", name="ログイン").click()
    page.goto(f"{live_server.url}/admin/pages/{admin_page.id}/form")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.htmx && htmx.config.includeIndicatorStyles") is False
    assert violations == []


def test_X1_over_https_the_private_link_can_still_cancel(client, booking):
    """Flask-WTF refuses an HTTPS form post without a same-origin Referer; the private pages'
    policy (same-origin) is what lets the browser send it, so the customer can cancel."""
    path = f"/b/{booking.token}/cancel"
    page = client.get(path, base_url="https://localhost")
    assert page.headers["Referrer-Policy"] == "same-origin"
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      page.get_data(as_text=True)).group(1)
    refused = client.post(path, base_url="https://localhost", data={"csrf_token": token})
    assert refused.status_code == 400  # what "no-referrer" made of every cancel
    sent = client.post(path, base_url="https://localhost", data={"csrf_token": token},
                       headers={"Referer": "https://localhost" + path})
    assert sent.status_code == 302
    db.session.refresh(booking)
    assert booking.is_cancelled
