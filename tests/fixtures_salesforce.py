"""Fixtures for the Salesforce connection tests: the app pointed at the emulator, a connect helper.

A plugin of conftest (``pytest_plugins``); test modules import the helper functions by name.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet

from tests.factories import login, make_admin, make_org
from tests.fixtures_salesforce_emulator import ADMIN_USERNAME
from webapp import settings
from webapp.extensions import db
from webapp.models import SalesforceConnection
from webapp.services.salesforce import connections

CONNECT = "/admin/integrations/salesforce/connect"
CALLBACK_PATH = "/admin/integrations/salesforce/callback"
# A fixed test key, so a test can add a second key and rotate.
TEST_KEY = Fernet.generate_key().decode()


def salesforce_config(emulator) -> dict:
    """Config values that point Apo's login hosts and allowed instances at the emulator."""
    return {
        "SALESFORCE_LOGIN_URL": emulator.login_url,
        "SALESFORCE_SANDBOX_LOGIN_URL": emulator.login_url,
        "SALESFORCE_ALLOWED_INSTANCE_HOSTS": (urlsplit(emulator.instance_url).netloc,
                                              urlsplit(emulator.login_url).netloc),
        "SALESFORCE_TIMEOUT": 5.0,
        "APO_ENCRYPTION_KEYS": TEST_KEY,
    }


@pytest.fixture
def sf_app(app, emulator):
    """The app fixture configured for the emulator (nothing reads these at factory time)."""
    app.config.update(salesforce_config(emulator))
    return app


def sf_settings():
    """The Salesforce settings of the running app (rebuilt when a test changes its config)."""
    return settings.current().salesforce


def encrypt(plaintext: str) -> str:
    return sf_settings().keyring.encrypt(plaintext)


def decrypt(ciphertext: str) -> str:
    return sf_settings().keyring.decrypt(ciphertext)


def client_for_org(org_id: int):
    """The client a job builds: the organization's connection row read once, then the client."""
    return connections.client_for(connections.get_connection(org_id), sf_settings())


@pytest.fixture
def sf_callback(sf_app) -> str:
    """The callback URL Apo shows (BASE_URL http://127.0.0.1 in the app fixture)."""
    return sf_app.config["BASE_URL"].rstrip("/") + CALLBACK_PATH


@pytest.fixture
def connected_app(emulator, sf_callback):
    """A connected app registered at the emulator for Apo's callback: (key, secret)."""
    return emulator.register_app([sf_callback])


@pytest.fixture
def sf_admin_client(sf_app, client, admin):
    """A signed-in admin of the premium `org`, on the emulator-configured app."""
    login(client, admin)
    return client


def start_connect(client, key: str, secret: str, kind: str = "production",
                  my_domain: str = ""):
    """POST the connect form; returns Apo's response (302 to the authorize URL when valid)."""
    return client.post_form(CONNECT, {"consumer_key": key, "consumer_secret": secret,
                                      "login_kind": kind, "my_domain_url": my_domain})


def callback_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def connect(client, emulator, key: str, secret: str, username: str = ADMIN_USERNAME,
            allow: bool = True, kind: str = "production", my_domain: str = ""):
    """The whole flow like a browser: Apo -> emulator login and consent -> Apo's callback.

    Returns Apo's callback response.
    """
    response = start_connect(client, key, secret, kind, my_domain)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    location = emulator.authorize(response.headers["Location"], username=username, allow=allow)
    assert location.startswith("http://127.0.0.1/"), location
    return client.get(callback_path(location))


@pytest.fixture
def sf_connection(sf_admin_client, emulator, connected_app, org) -> SalesforceConnection:
    """`org` connected through the full OAuth flow as the emulator's system administrator."""
    response = connect(sf_admin_client, emulator, *connected_app)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    return db.session.scalar(db.select(SalesforceConnection)
                             .where(SalesforceConnection.organization_id == org.id))


def switch_to_other_org(client):
    """Sign `client` out and in again as the admin of a new premium organization.

    One client on purpose: the tests run inside the app fixture's app context, so Flask-Login's
    per-context user cache (g._login_user) would leak between two clients.
    """
    other = make_org(name="Other Org")
    other_admin = make_admin(other)
    db.session.commit()
    client.post_form("/logout", {}, token_from="/admin/")
    login(client, other_admin)
    return other
