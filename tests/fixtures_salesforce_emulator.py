"""Pytest fixtures that run the Salesforce emulator as a real subprocess over real HTTP.

Loaded by ``tests/conftest.py`` (``pytest_plugins``). The interface is stable; the webapp's
tests use it too:

- ``emulator_server`` (session): HTTP emulator started with ``--seed demo``.
- ``emulator_https_server`` (session): the same over HTTPS (self-signed; ``.cert_path``).
- ``emulator`` (function): ``emulator_server`` reset to the demo seed before the test.

Each is an ``EmulatorServer`` with ``.login_url``, ``.instance_url``, ``.control()``,
``.register_app()``, ``.usage()``, ``.records()``, ``.insert()``, ``.set_org()``,
``.reset()``, ``.authorize()``, ``.password_token()``, ``.api_session()``, ``.new_session()``
and ``.data_url()``; ``.cert_path`` is the HTTPS certificate (None over HTTP). Use
``.new_session()`` (a ``PinnedSession``) for your own HTTPS sessions: REQUESTS_CA_BUNDLE
would otherwise override ``Session.verify``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from salesforce_emulator.seed import (
    ADMIN_USERNAME,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_PASSWORD,
    STANDARD_USERNAME,
)
from scripts.services import free_port

API_VERSION = "59.0"
ROOT = Path(__file__).resolve().parent.parent
__all__ = ["ADMIN_USERNAME", "API_VERSION", "DEMO_PASSWORD", "STANDARD_USERNAME",
           "EmulatorServer", "PinnedSession", "start_emulator"]


class PinnedSession(requests.Session):
    """A ``requests.Session`` whose ``verify`` the environment cannot override."""

    def __init__(self, verify):
        super().__init__()
        self.verify = verify

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        # An explicit per-request verify still wins; the environment never does.
        settings["verify"] = self.verify if verify is None else verify
        return settings


class EmulatorServer:
    """A running emulator subprocess and helpers to drive its control API."""

    def __init__(self, process, login_url: str, instance_url: str, cert_path: str | None,
                 log_path: str):
        self.process = process
        self.login_url = login_url
        self.instance_url = instance_url
        self.cert_path = cert_path
        self.log_path = log_path
        self.verify = cert_path or True
        self.http = self.new_session()

    def new_session(self) -> requests.Session:
        """A session that trusts this emulator's certificate, whatever the environment says.

        requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE (set on this machine) replace
        ``Session.verify`` for every request that does not pass ``verify`` itself
        (``Session.merge_environment_settings``), so the certificate is pinned there too;
        ``trust_env`` is off as well, since proxies from the environment must not apply to
        loopback.
        """
        session = PinnedSession(self.verify)
        session.trust_env = False
        return session

    # ----- control API -------------------------------------------------------------------
    def control(self, method: str, path: str, json=None):
        """Call ``/__emulator__/<path>`` on the instance origin; returns the parsed JSON.

        Raises ``requests.HTTPError`` when the control API answers with an error status.
        """
        url = f"{self.instance_url}/__emulator__/{path.lstrip('/')}"
        response = self.http.request(method, url, json=json, timeout=10)
        response.raise_for_status()
        return response.json()

    def reset(self, seed: str = "demo") -> dict:
        """Back to the seed state (records, apps, tokens, switches, usage, faults, clock)."""
        return self.control("POST", "reset", {"seed": seed})

    def register_app(self, callback_urls, pkce_required: bool = False,
                     rotation: bool = False, **extra) -> tuple[str, str]:
        """Register a connected app; returns ``(client_id, client_secret)``."""
        body = {"callback_urls": list(callback_urls), "pkce_required": pkce_required,
                "refresh_token_rotation": rotation, **extra}
        answer = self.control("POST", "apps", body)
        return answer["client_id"], answer["client_secret"]

    def usage(self) -> dict:
        """``{"total": N, "by_endpoint": {"GET /query": n, ...}, "daily_limit": M}``."""
        return self.control("GET", "usage")

    def records(self, sobject: str) -> list[dict]:
        """Every stored record of a type, deleted and converted ones included."""
        return self.control("GET", f"records/{sobject}")

    def insert(self, sobject: str, **values) -> dict:
        """Insert a fixture record directly (no validation, no API usage)."""
        return self.control("POST", f"records/{sobject}", values)

    def set_org(self, **switches) -> dict:
        """``POST /__emulator__/org`` (assignment_rule, duplicate_rule, api_disabled, ...)."""
        return self.control("POST", "org", switches)

    # ----- OAuth helpers -----------------------------------------------------------------
    def authorize(self, authorize_url: str, username: str = ADMIN_USERNAME,
                  password: str = DEMO_PASSWORD, allow: bool = True,
                  session: requests.Session | None = None) -> str:
        """Play the browser: log in, approve (or deny) and return the callback URL reached.

        Returns the ``Location`` of the redirect to the app's callback (or to an error page).
        """
        browser = session or self.new_session()
        response = browser.get(authorize_url, allow_redirects=False, timeout=10)
        for _ in range(6):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if not location.startswith(self.login_url):
                    return location
                response = browser.get(location, allow_redirects=False, timeout=10)
                continue
            html = response.text
            action = unescape(re.search(r'<form method="post" action="([^"]+)"', html).group(1))
            fields = {unescape(n): unescape(v) for n, v in
                      re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}
            if 'name="pw"' in html:
                fields.update(username=username, pw=password)
            else:
                fields["decision"] = "allow" if allow else "deny"
            response = browser.post(urljoin(response.url, action), data=fields,
                                    allow_redirects=False, timeout=10)
            if not response.is_redirect and 'name="pw"' in response.text and \
                    'role="alert"' in response.text:
                raise AssertionError("login failed at the emulator's login form")
        raise AssertionError("authorize flow did not reach the callback")

    def password_token(self, username: str = ADMIN_USERNAME) -> dict:
        """A token response for a seeded user via the demo app (password grant)."""
        response = self.http.post(f"{self.login_url}/services/oauth2/token", data={
            "grant_type": "password", "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET, "username": username,
            "password": DEMO_PASSWORD}, timeout=10)
        response.raise_for_status()
        return response.json()

    def api_session(self, username: str = ADMIN_USERNAME) -> requests.Session:
        """A keep-alive session with a fresh Bearer token of ``username`` (demo app)."""
        session = self.new_session()
        session.headers["Authorization"] = "Bearer " + self.password_token(username)[
            "access_token"]
        return session

    def data_url(self, path: str = "", version: str = API_VERSION) -> str:
        return f"{self.instance_url}/services/data/v{version}/{path.lstrip('/')}"

    def stop(self) -> None:
        stop_process(self.process)


def start_emulator(*extra_args: str, https: bool = False, timeout: float = 20.0):
    """Start ``python -m salesforce_emulator`` on free ports and wait until it answers."""
    log = tempfile.NamedTemporaryFile(prefix="sfemu-", suffix=".log", delete=False)
    args = [sys.executable, "-m", "salesforce_emulator", "--login-port", str(free_port()),
            "--instance-port", str(free_port()), *extra_args]
    if https:
        args.append("--https")
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    urls: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while len(urls) < (3 if https else 2):
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"emulator exited early; see {log.name}")
        key, _, value = line.strip().partition(": ")
        urls[key] = value
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("emulator did not start in time")
    server = EmulatorServer(process, urls["login"], urls["instance"], urls.get("cert"), log.name)
    return wait_until_healthy(server, deadline)


def stop_process(process: subprocess.Popen) -> None:
    """Stop an emulator process: SIGTERM, SIGKILL after 10 s; close its stdout pipe."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


def wait_until_healthy(server, deadline: float):
    """``server`` once its control API answers ``GET health``; stopped and raised past
    ``deadline`` (time.monotonic()). Shared by every emulator fixture."""
    while True:
        try:
            server.control("GET", "health")
            return server
        except requests.RequestException:
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.05)


@pytest.fixture(scope="session")
def emulator_server():
    """The HTTP emulator (``--seed demo``) for the whole session."""
    server = start_emulator("--seed", "demo")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def emulator_https_server():
    """The HTTPS emulator (self-signed; verify with ``.cert_path``) for the whole session."""
    server = start_emulator("--seed", "demo", https=True)
    yield server
    server.stop()


@pytest.fixture
def emulator(emulator_server):
    """``emulator_server`` reset to the demo seed before the test."""
    emulator_server.reset()
    return emulator_server
