"""Pytest fixtures that run the Zoom emulator as a real subprocess over real HTTP.

Loaded by ``tests/conftest.py`` (``pytest_plugins``):

- ``zoom_server`` (session): ``python -m zoom_emulator --seed demo`` on a free port.
- ``zoom`` (function): the same server reset to the demo seed before the test.

Each is a ``ZoomEmulator`` with ``.url``, ``.control()``, ``.reset()``, ``.register_app()``,
``.authorize()`` (plays the browser through sign-in and consent), ``.tokens()`` (a full
authorization-code exchange with PKCE and HTTP Basic client auth for a demo user),
``.api()`` (a ``requests.Session`` carrying a Bearer token), ``.meetings()`` and
``.usage()``.
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

from scripts.services import free_port
from tests.fixtures_salesforce_emulator import stop_process, wait_until_healthy
from zoom_emulator.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
CALLBACK = "https://apo.example/member/meetings/zoom/callback"
SATO = "sato@example.com"
SUZUKI = "suzuki@example.com"


def query_of(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


class ZoomEmulator:
    def __init__(self, process, url: str, log_path: str, cert_path: str | None = None):
        self.process, self.url, self.log_path = process, url, log_path
        self.cert_path = cert_path
        self.http = self.new_session()

    def new_session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        if self.cert_path:
            session.verify = self.cert_path
        return session

    def control(self, method: str, path: str, json=None):
        response = self.http.request(method, f"{self.url}/__emulator__/{path.lstrip('/')}",
                                     json=json, timeout=10)
        response.raise_for_status()
        return response.json()

    def reset(self, seed: str = "demo") -> None:
        self.control("POST", "reset", {"seed": seed})

    def register_app(self, redirect_uris=(CALLBACK,), **extra) -> tuple[str, str]:
        answer = self.control("POST", "apps", {"redirect_uris": list(redirect_uris), **extra})
        return answer["client_id"], answer["client_secret"]

    def usage(self) -> dict:
        return self.control("GET", "usage")

    def meetings(self, user: str | None = None) -> list[dict]:
        return self.control("GET", "meetings" + (f"?user={user}" if user else ""))

    def authorize_url(self, client_id: str, challenge: str | None = None, **params) -> str:
        base = {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK,
                "state": "st-1"}
        if challenge:
            base.update(code_challenge=challenge, code_challenge_method="S256")
        base.update(params)
        return f"{self.url}/oauth/authorize?{urlencode(base)}"

    def authorize(self, url: str, email: str = SATO, password: str = DEMO_PASSWORD,
                  allow: bool = True, session: requests.Session | None = None) -> str:
        """Play the browser: sign in, consent (or decline); returns the redirect location."""
        browser = session or self.new_session()
        response = browser.get(url, allow_redirects=False, timeout=10)
        for _ in range(4):
            if response.is_redirect:
                return urljoin(response.url, response.headers["Location"])
            html = response.text
            form = re.search(r'<form method="post" action="([^"]+)"', html)
            if form is None:
                raise AssertionError(f"no form on the page: {html[:300]}")
            fields = {"ticket": re.search(r'name="ticket" value="([^"]*)"', html).group(1)}
            if 'name="password"' in html:
                if 'role="alert"' in html:
                    raise AssertionError("sign-in failed at the emulator")
                fields.update(email=email, password=password)
            else:
                fields["decision"] = "allow" if allow else "deny"
            response = browser.post(urljoin(response.url, unescape(form.group(1))),
                                    data=fields, allow_redirects=False, timeout=10)
        raise AssertionError("authorize flow did not reach the callback")

    def token_request(self, client: tuple[str, str], **form) -> requests.Response:
        """POST /oauth/token with HTTP Basic client authentication, as Zoom documents it."""
        return self.http.post(f"{self.url}/oauth/token", data=form, auth=client, timeout=10)

    def tokens(self, email: str = SATO, client: tuple[str, str] | None = None) -> dict:
        """A full authorization-code exchange with PKCE (S256) for a demo user."""
        client = client or (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        verifier, challenge = pkce_pair()
        location = self.authorize(self.authorize_url(client[0], challenge), email)
        response = self.token_request(client, grant_type="authorization_code",
                                      code=query_of(location)["code"],
                                      redirect_uri=CALLBACK, code_verifier=verifier)
        response.raise_for_status()
        return response.json()

    def api(self, email: str = SATO, access_token: str | None = None) -> requests.Session:
        session = self.new_session()
        session.headers["Authorization"] = "Bearer " + (
            access_token or self.tokens(email)["access_token"])
        return session

    def v2(self, path: str) -> str:
        return f"{self.url}/v2/{path.lstrip('/')}"

    def stop(self) -> None:
        stop_process(self.process)


def start_zoom_emulator(*extra_args: str, port: int | None = None,
                        timeout: float = 20.0) -> ZoomEmulator:
    log = tempfile.NamedTemporaryFile(prefix="zoomemu-", suffix=".log", delete=False)
    args = [sys.executable, "-m", "zoom_emulator", "--port", str(port or free_port()),
            "--demo-callback", CALLBACK, *extra_args]
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    lines: dict[str, str] = {}
    want = 2 if "--https" in extra_args else 1
    while len(lines) < want:
        line = process.stdout.readline()
        if not line:
            process.kill()
            raise RuntimeError(f"Zoom emulator did not start; see {log.name}")
        key, _, value = line.strip().partition(": ")
        lines[key] = value
    server = ZoomEmulator(process, lines["url"], log.name, lines.get("cert"))
    return wait_until_healthy(server, time.monotonic() + timeout)


@pytest.fixture(scope="session")
def zoom_server():
    server = start_zoom_emulator("--seed", "demo")
    yield server
    server.stop()


@pytest.fixture
def zoom(zoom_server):
    zoom_server.reset()
    return zoom_server
