"""O6 in a real browser across two sites: the organization's site frames Apo's booking page.

Apo runs at http://127.0.0.1:<port>; the organization's site is another server reached as
http://localhost:<port>, so for Chromium the frame is cross-site (a different host), just as
www.example.com framing apo.example would be. The site serves the snippets exactly as the admin
copied them from 基本設定 under its own strict CSP (no inline script or style, scripts from
itself and Apo only), and records the "apo:booked" events it hears.
"""

from __future__ import annotations

import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests.factories import make_admin, make_public_page
from tests.test_browser_booking import fill_and_submit
from webapp.extensions import db
from webapp.models import Booking

pytestmark = pytest.mark.browser

# The site's own script: it keeps what it hears where the test can read it.
HOST_JS = """
window.apoBooked = [];
document.addEventListener("apo:booked", function (event) {
  window.apoBooked.push(event.detail);
  document.getElementById("status").textContent = "booked";
});
"""


class Site:
    """A plain web server standing in for the organization's site (one per origin)."""

    def __init__(self, apo_url: str):
        self.pages: dict[str, str] = {}
        self.apo_url = apo_url
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                if self.path == "/host.js":
                    body, kind = HOST_JS, "text/javascript"
                elif self.path in site.pages:
                    body = ("<!doctype html><html lang='ja'><head><meta charset='utf-8'>"
                            "<title>Example Co.</title><script src='/host.js'></script></head>"
                            "<body><h1>Example Co.</h1><p id='status'>-</p>"
                            f"{site.pages[self.path]}</body></html>")
                    kind = "text/html; charset=utf-8"
                else:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                # The site's own strict policy: the snippet must work without 'unsafe-inline'
                # or 'unsafe-eval' on this side too.
                self.send_header("Content-Security-Policy",
                                 f"default-src 'self'; script-src 'self' {site.apo_url}; "
                                 f"frame-src {site.apo_url}; style-src 'self'")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://localhost:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def sites(live_server):
    listed, other = Site(live_server.url), Site(live_server.url)
    yield listed, other
    listed.close()
    other.close()


@pytest.fixture
def team_page(app):
    page = make_public_page(title="製品デモのご予約")
    make_admin(page.organization, email="embed-admin@example.com")
    db.session.commit()
    return page


def copy_snippets(browser, live_server, team_page, site: Site) -> dict[str, str]:
    """The admin lists the site in 組織設定 and copies both snippets from 基本設定."""
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    admin = context.new_page()
    admin.set_default_timeout(10_000)
    try:
        admin.goto(f"{live_server.url}/login")
        admin.fill("#email", "embed-admin@example.com")
        admin.fill("#password", "secret-pass")
        admin.get_by_role("button", name="ログイン").click()
        admin.wait_for_url(re.compile(r"/admin/"))
        admin.goto(f"{live_server.url}/admin/organization")
        admin.get_by_label("予約ページを埋め込むサイト").fill(site.origin + "/")
        admin.get_by_role("button", name="変更を保存").click()
        assert admin.get_by_label("予約ページを埋め込むサイト").input_value() == site.origin
        admin.goto(f"{live_server.url}/admin/pages/{team_page.id}")
        assert site.origin in admin.locator("#embed").inner_text()
        return {"inline": admin.locator("#embed-inline").input_value(),
                "popup": admin.locator("#embed-popup").input_value()}
    finally:
        context.close()


def shot(page, name: str) -> None:
    """The README's tour pictures, when APO_SCREENSHOT_DIR asks for them."""
    folder = os.environ.get("APO_SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"))


def visitor(browser):
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return context, page, problems


def test_O6_the_listed_site_frames_the_page_which_sizes_itself_and_reports_the_booking(
        browser, live_server, team_page, sites):
    listed, _other = sites
    snippets = copy_snippets(browser, live_server, team_page, listed)
    listed.pages["/"] = snippets["inline"]
    context, page, problems = visitor(browser)
    try:
        page.goto(listed.origin + "/")
        frame_element = page.locator("iframe[data-apo-embed]")
        frame = frame_element.element_handle().content_frame()
        frame.get_by_role("heading", name="製品デモのご予約").wait_for()
        # The frame says its height and the site's script applies it (the snippet's 720).
        page.wait_for_function(
            "() => document.querySelector('iframe[data-apo-embed]').style.height !== ''")
        inner = frame.evaluate("document.documentElement.getBoundingClientRect().height")
        outer = page.evaluate(
            "parseFloat(document.querySelector('iframe[data-apo-embed]').style.height)")
        assert abs(outer - inner) <= 2 and outer != 720
        assert frame.locator("header.public-header").count() == 0  # the site is the header
        shot(page, "26-embedded-inline")

        frame.locator("a.slot").last.click()  # the day's latest: clear of the notice's edge
        frame.wait_for_url(re.compile(r"/book\?.*embed=1"))
        fill_and_submit(frame, with_js=True)
        frame.wait_for_url(re.compile(r"/b/[\w-]+\?embed=1$"))
        frame.get_by_role("heading", name="ご予約が確定しました").wait_for()
        page.wait_for_function("() => window.apoBooked.length === 1")
        heard = page.evaluate("window.apoBooked")
        assert heard == [{"page": team_page.slug}]  # nothing personal reaches the site
        # The height follows the new content (the confirmation is not the picker's height).
        page.wait_for_function(
            "h => Math.abs(parseFloat(document.querySelector('iframe[data-apo-embed]')"
            ".style.height) - h) <= 2",
            arg=frame.evaluate("document.documentElement.getBoundingClientRect().height"))
        # A reload of the confirmation is not a second booking.
        frame.evaluate("location.reload()")
        frame.get_by_role("heading", name="ご予約が確定しました").wait_for()
        page.wait_for_timeout(500)
        assert page.evaluate("window.apoBooked.length") == 1
        db.session.expire_all()
        booking = db.session.scalar(select(Booking))
        assert booking is not None and booking.name == "山田 太郎"
        # The private link offered for keeping is the plain one, not the framed one.
        assert frame.locator("#private-link").inner_text().endswith(f"/b/{booking.token}")
        assert not [p for p in problems if "Content Security Policy" in p
                    or "Refused" in p], problems
    finally:
        context.close()


def test_O6_a_site_not_listed_and_the_admin_screens_cannot_frame(
        browser, live_server, team_page, sites):
    listed, other = sites
    snippets = copy_snippets(browser, live_server, team_page, listed)
    other.pages["/"] = snippets["inline"]
    listed.pages["/admin"] = (f"<iframe data-apo-embed src='{live_server.url}/admin/?embed=1' "
                              "title='admin'></iframe>")
    context, page, problems = visitor(browser)
    try:
        for url in (other.origin + "/", listed.origin + "/admin"):
            problems.clear()
            page.goto(url)
            page.wait_for_timeout(1000)
            frame = page.locator("iframe").element_handle().content_frame()
            # Chromium replaces a refused frame with its own error document.
            assert frame.url.startswith("chrome-error://"), url
            assert frame.get_by_role("heading", name="製品デモのご予約").count() == 0, url
            assert any("frame-ancestors" in p and "blocked" in p for p in problems), (
                url, problems)
    finally:
        context.close()


def test_O6_the_button_opens_the_page_over_the_site_and_escape_closes_it(
        browser, live_server, team_page, sites):
    listed, _other = sites
    snippets = copy_snippets(browser, live_server, team_page, listed)
    listed.pages["/"] = snippets["popup"]
    context, page, problems = visitor(browser)
    try:
        page.goto(listed.origin + "/")
        button = page.get_by_role("link", name="日程を予約する")
        button.click()
        dialog = page.get_by_role("dialog", name="日程を予約する")
        dialog.wait_for()
        frame = page.locator("iframe[data-apo-popup-frame]").element_handle().content_frame()
        frame.get_by_role("heading", name="製品デモのご予約").wait_for()
        assert "embed=1" in frame.url
        assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "閉じる"
        shot(page, "27-embedded-popup")
        assert page.evaluate("document.querySelector('h1').closest('[inert]') !== null")
        page.keyboard.press("Escape")
        dialog.wait_for(state="detached")
        assert page.evaluate("document.activeElement.textContent") == "日程を予約する"
        assert page.evaluate("document.querySelector('[inert]')") is None
        assert page.url == listed.origin + "/"  # the site itself never navigated
        assert not [p for p in problems if "Content Security Policy" in p], problems
    finally:
        context.close()
