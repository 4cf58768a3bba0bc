"""Pytest fixtures that run the Google Calendar emulator as a real subprocess over real HTTP.

- ``gcal_server`` (session): ``python -m google_calendar_emulator --seed demo`` on a free port.
- ``gcal`` (function): the same server reset to the demo seed before the test.

Each is a ``GcalEmulator`` with ``.url``, ``.control()``, ``.register_client()``,
``.authorize()`` (plays the browser through sign-in and consent), ``.token_for()`` (a full
code exchange for a demo user), ``.seed_event()``, ``.usage()`` and ``.api()`` (a
``requests.Session`` with a Bearer token).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import subprocess
import sys
import tempfile
import time
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

from google_calendar_emulator.seed import DEMO_PASSWORD
from scripts.services import free_port
from tests.fixtures_salesforce_emulator import PinnedSession, stop_process, wait_until_healthy

ROOT = Path(__file__).resolve().parent.parent
CALLBACK = "https://apo.example/member/calendar/google/callback"
APP_CALLBACK = "http://127.0.0.1/calendar/google/callback"  # the test app's BASE_URL
AUTH = "https://www.googleapis.com/auth/"
ALL_SCOPES = ("openid email " + AUTH + "calendar.calendarlist.readonly " + AUTH +
              "calendar.events.owned " + AUTH + "calendar.events.freebusy")


def query_of(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class GcalEmulator:
    def __init__(self, process, url: str, log_path: str, cert_path: str | None = None):
        self.process, self.url, self.log_path = process, url, log_path
        self.cert_path = cert_path  # the --https certificate (None over HTTP)
        self.http = self.new_session()

    def new_session(self) -> requests.Session:
        """A session that trusts this emulator's certificate whatever the environment says."""
        session = PinnedSession(self.cert_path or True)
        session.trust_env = False
        return session

    def control(self, method: str, path: str, json=None):
        response = self.http.request(method, f"{self.url}/__emulator__/{path.lstrip('/')}",
                                     json=json, timeout=10)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self.control("POST", "reset", {"seed": "demo"})

    def register_client(self, redirect_uris=(CALLBACK,)) -> tuple[str, str]:
        answer = self.control("POST", "clients", {"redirect_uris": list(redirect_uris)})
        return answer["client_id"], answer["client_secret"]

    def usage(self) -> dict:
        return self.control("GET", "usage")

    def seed_event(self, calendar: str, **event) -> dict:
        return self.control("POST", f"calendars/{calendar}/events", event)

    def authorize_url(self, client_id: str, scope: str = ALL_SCOPES, **params) -> str:
        base = {"client_id": client_id, "redirect_uri": CALLBACK, "response_type": "code",
                "scope": scope, "state": "st-1", "access_type": "offline",
                "prompt": "consent"}
        base.update(params)
        return f"{self.url}/o/oauth2/v2/auth?{urlencode(base)}"

    def authorize(self, url: str, email: str = "sato@example.com",
                  password: str = DEMO_PASSWORD, allow: bool = True,
                  session: requests.Session | None = None) -> str:
        """Play the browser: sign in, consent (or deny); returns the redirect location."""
        browser = session or self.new_session()
        response = browser.get(url, allow_redirects=False, timeout=10)
        for _ in range(4):
            if response.is_redirect:
                return urljoin(response.url, response.headers["Location"])
            html = response.text
            action = unescape(re.search(r'<form method="post" action="([^"]+)"', html).group(1))
            fields = {"ticket": re.search(r'name="ticket" value="([^"]*)"', html).group(1)}
            if 'name="password"' in html:
                fields.update(email=email, password=password)
            else:
                fields["decision"] = "allow" if allow else "deny"
            response = browser.post(urljoin(response.url, action), data=fields,
                                    allow_redirects=False, timeout=10)
            if not response.is_redirect and 'role="alert"' in response.text:
                raise AssertionError("sign-in failed at the emulator")
        raise AssertionError("authorize flow did not reach the callback")

    def token_for(self, email: str = "sato@example.com", scope: str = ALL_SCOPES,
                  client: tuple[str, str] | None = None) -> dict:
        """A full authorization-code exchange with PKCE for a demo user."""
        client_id, secret = client or self.register_client()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        location = self.authorize(self.authorize_url(
            client_id, scope, code_challenge=challenge, code_challenge_method="S256"), email)
        response = self.http.post(f"{self.url}/token", data={
            "grant_type": "authorization_code", "code": query_of(location)["code"],
            "client_id": client_id, "client_secret": secret, "redirect_uri": CALLBACK,
            "code_verifier": verifier}, timeout=10)
        response.raise_for_status()
        return dict(response.json(), client_id=client_id, client_secret=secret)

    def api(self, email: str = "sato@example.com", scope: str = ALL_SCOPES) -> requests.Session:
        session = self.new_session()
        session.headers["Authorization"] = "Bearer " + self.token_for(email, scope)[
            "access_token"]
        return session

    def cal(self, path: str) -> str:
        return f"{self.url}/calendar/v3/{path.lstrip('/')}"

    def stop(self) -> None:
        stop_process(self.process)


def start_gcal_emulator(*extra_args: str, timeout: float = 20.0,
                        port: int | None = None) -> GcalEmulator:
    log = tempfile.NamedTemporaryFile(prefix="gcalemu-", suffix=".log", delete=False)
    args = [sys.executable, "-m", "google_calendar_emulator", "--port", str(port or free_port()),
            *extra_args]
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    line = process.stdout.readline()
    if not line.startswith("url: "):
        process.kill()
        raise RuntimeError(f"Google emulator did not start; see {log.name}")
    cert = process.stdout.readline().strip()[6:] if "--https" in extra_args else None
    server = GcalEmulator(process, line.strip()[5:], log.name, cert)
    deadline = time.monotonic() + timeout
    return wait_until_healthy(server, deadline)


# Push notifications go to receivers the tests run on loopback over plain HTTP.
PUSH_TEST_HOSTS = ("--push-http-hosts", "127.0.0.1")


@pytest.fixture(scope="session")
def gcal_server():
    server = start_gcal_emulator("--seed", "demo", *PUSH_TEST_HOSTS)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gcal_https_server():
    """The emulator over HTTPS with its own self-signed certificate (``.cert_path``)."""
    server = start_gcal_emulator("--seed", "demo", "--https", *PUSH_TEST_HOSTS)
    yield server
    server.stop()


@pytest.fixture
def gcal_https(gcal_https_server):
    gcal_https_server.reset()
    return gcal_https_server


@pytest.fixture
def gcal(gcal_server):
    gcal_server.reset()
    return gcal_server


@pytest.fixture
def google_app(app, gcal):
    """The app using the emulator as Google: a registered OAuth client whose redirect URI is
    the app's callback, and written bookings' UIDs under apo.test."""
    client_id, secret = gcal.register_client([APP_CALLBACK])
    app.config.update(GOOGLE_CLIENT_ID=client_id, GOOGLE_CLIENT_SECRET=secret,
                      GOOGLE_BASE_URL=gcal.url, ICAL_UID_DOMAIN="apo.test")
    # The app's settings, and its calendar registry with them, follow the config: no global
    # to set and reset.
    return app
