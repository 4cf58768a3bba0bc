"""A person connects Salesforce in a real browser: Apo -> emulator login and consent -> 連携完了."""

from __future__ import annotations

import pytest

from tests.fixtures_salesforce import CALLBACK_PATH, salesforce_config
from tests.fixtures_salesforce_emulator import ADMIN_USERNAME, DEMO_PASSWORD
from webapp.extensions import db
from webapp.models import SalesforceConnection

pytestmark = pytest.mark.browser


@pytest.fixture
def sf_live_server(app, emulator, live_server):
    """The live server with BASE_URL set to its own origin, pointed at the emulator."""
    app.config.update(salesforce_config(emulator), BASE_URL=live_server.url)
    return live_server


def test_C4_admin_connects_through_login_and_consent_and_sees_completion(
        sf_live_server, emulator, page, admin, org):
    key, secret = emulator.register_app([sf_live_server.url + CALLBACK_PATH])
    page.goto(sf_live_server.url + "/login")
    page.fill("#email", admin.email)
    page.fill("#password", "secret-pass")
    page.click("button[type=submit]")
    page.goto(sf_live_server.url + "/admin/integrations")
    assert page.locator(".badge", has_text="未連携").is_visible()
    page.click(".sf-menu summary")
    page.click("text=Salesforceと連携する")
    assert page.input_value("#sf-callback-url") == sf_live_server.url + CALLBACK_PATH
    page.fill("#consumer_key", key)
    page.fill("#consumer_secret", secret)
    page.click("text=Salesforceに接続する")
    # The emulator's login page, then its 「許可」 consent page.
    page.fill("#username", ADMIN_USERNAME)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#Login")
    page.click("#oaapprove")
    page.wait_for_selector("h1:has-text('連携完了')")
    assert page.locator(".sf-admin-ok").is_visible()
    page.goto(sf_live_server.url + "/admin/integrations")
    assert page.locator(".badge", has_text="連携中").is_visible()
    assert ADMIN_USERNAME in page.content()
    db.session.expire_all()
    assert db.session.scalar(db.select(SalesforceConnection)).organization_id == org.id
