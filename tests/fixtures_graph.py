"""Pytest fixtures that run the Microsoft Graph emulator as a real subprocess over real HTTP.

Loaded by ``tests/conftest.py`` (``pytest_plugins``):

- ``graph_server`` (session): ``python -m graph_emulator --seed demo`` on free ports.
- ``graph`` (function): the same, reset to the demo seed before the test.
- ``graph_https_server`` (session) / ``graph_https`` (function, reset): the same over
  HTTPS with its self-signed certificate (``.cert_path``; sessions from ``.new_session()``
  trust it whatever REQUESTS_CA_BUNDLE says).

Both are a ``GraphEmulator`` with ``.login_url``, ``.graph_url``, ``.control()``,
``.reset()``, ``.seed_event()``, ``.usage()``, ``.authorize()`` (plays the browser through
sign-in and consent) and ``.tokens()`` (a full code + PKCE flow for a demo user).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

from graph_emulator.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD
from scripts.services import free_port
from tests.fixtures_salesforce_emulator import PinnedSession, stop_process, wait_until_healthy

ROOT = Path(__file__).resolve().parent.parent
CALLBACK = "http://127.0.0.1:9/callback"
SCOPES = "offline_access User.Read Calendars.ReadWrite"
SATO = "sato@example.com"
SUZUKI = "suzuki@example.com"
TANAKA = "tanaka@example.com"
__all__ = ["CALLBACK", "DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET", "SATO", "SCOPES", "SUZUKI",
           "WebhookReceiver", "webhook",
           "TANAKA", "GraphEmulator", "graph", "graph_https", "graph_https_server",
           "graph_server", "start_graph_emulator"]


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


class GraphEmulator:
    def __init__(self, process, login_url: str, graph_url: str, log_path: str,
                 cert_path: str | None = None):
        self.process = process
        self.login_url = login_url
        self.graph_url = graph_url
        self.log_path = log_path
        self.cert_path = cert_path
        self.http = self.new_session()

    def new_session(self) -> requests.Session:
        """No proxies from the environment; over HTTPS, the emulator's certificate pinned
        (REQUESTS_CA_BUNDLE would otherwise replace ``Session.verify``)."""
        session = PinnedSession(self.cert_path or True)
        session.trust_env = False
        return session

    def control(self, method: str, path: str, json=None):
        response = self.http.request(method, f"{self.graph_url}/__emulator__/{path}",
                                     json=json, timeout=10)
        response.raise_for_status()
        return response.json()

    def reset(self, seed: str = "demo") -> dict:
        return self.control("POST", "reset", {"seed": seed})

    def usage(self) -> dict:
        return self.control("GET", "usage")

    def seed_event(self, user: str, exceptions=None, calendar_id=None, **event) -> dict:
        body = {"user": user, "event": event, "exceptions": exceptions or []}
        if calendar_id:
            body["calendar_id"] = calendar_id
        return self.control("POST", "events", body)

    def authorize_url(self, challenge: str | None, scope: str = SCOPES, state: str = "s1",
                      **extra) -> str:
        params = {"client_id": DEMO_CLIENT_ID, "response_type": "code",
                  "redirect_uri": CALLBACK, "response_mode": "query", "scope": scope,
                  "state": state, **extra}
        if challenge:
            params.update(code_challenge=challenge, code_challenge_method="S256")
        return f"{self.login_url}/common/oauth2/v2.0/authorize?{urlencode(params)}"

    def authorize(self, url: str, user: str = SATO, password: str = DEMO_PASSWORD,
                  accept: bool = True, session: requests.Session | None = None) -> str:
        """Play the browser through sign-in and consent; returns the redirect reached."""
        browser = session or self.new_session()
        response = browser.get(url, allow_redirects=False, timeout=10)
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
            if 'name="passwd"' in html:
                if 'role="alert"' in html:
                    raise AssertionError("sign-in failed at the emulator")
                fields.update(login=user, passwd=password)
            else:
                fields["decision"] = "accept" if accept else "cancel"
            response = browser.post(urljoin(response.url, action), data=fields,
                                    allow_redirects=False, timeout=10)
        raise AssertionError("authorize flow did not reach the callback")

    def code_for(self, user: str = SATO, scope: str = SCOPES) -> tuple[str, str]:
        verifier, challenge = pkce_pair()
        location = self.authorize(self.authorize_url(challenge, scope=scope), user=user)
        return parse_qs(urlsplit(location).query)["code"][0], verifier

    def tokens(self, user: str = SATO, scope: str = SCOPES) -> dict:
        """A token response for ``user`` through the full code + PKCE flow (demo app)."""
        code, verifier = self.code_for(user, scope)
        response = self.http.post(f"{self.login_url}/common/oauth2/v2.0/token", data={
            "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
            "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "code_verifier": verifier, "scope": scope}, timeout=10)
        response.raise_for_status()
        return response.json()

    def api(self, user: str = SATO, scope: str = SCOPES) -> requests.Session:
        session = self.new_session()
        session.headers["Authorization"] = "Bearer " + self.tokens(user, scope)["access_token"]
        return session

    def url(self, path: str) -> str:
        return f"{self.graph_url}/v1.0/{path.lstrip('/')}"

    def stop(self) -> None:
        stop_process(self.process)


def start_graph_emulator(*extra_args: str, timeout: float = 20.0, https: bool = False,
                         ports: tuple[int, int] | None = None,
                         command: list[str] | None = None) -> GraphEmulator:
    """Start the emulator on free ports (or ``ports``), or exactly as ``command`` says."""
    log = tempfile.NamedTemporaryFile(prefix="graphemu-", suffix=".log", delete=False)
    login_port, graph_port = ports or (free_port(), free_port())
    args = command or [sys.executable, "-m", "graph_emulator", "--login-port", str(login_port),
                       "--graph-port", str(graph_port), "--demo-callback", CALLBACK,
                       *extra_args]
    if https:
        args.append("--https")
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    urls: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while len(urls) < (3 if https else 2):
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"graph emulator exited early; see {log.name}")
        key, _, value = line.strip().partition(": ")
        urls[key] = value
    server = GraphEmulator(process, urls["login"], urls["graph"], log.name, urls.get("cert"))
    return wait_until_healthy(server, deadline)


@pytest.fixture(scope="session")
def graph_server():
    server = start_graph_emulator("--seed", "demo")
    yield server
    server.stop()


@pytest.fixture
def graph(graph_server):
    graph_server.reset()
    return graph_server


@pytest.fixture(scope="session")
def graph_https_server():
    server = start_graph_emulator("--seed", "demo", https=True)
    yield server
    server.stop()


@pytest.fixture
def graph_https(graph_https_server):
    graph_https_server.reset()
    return graph_https_server


class WebhookReceiver:
    """A local HTTP endpoint standing in for an app's notificationUrl.

    It answers Graph's validation handshake (the decoded ``validationToken`` echoed as
    text/plain, 200) unless ``mode`` says otherwise, records every notification POST
    (``received``) and answers them with ``status`` (202 by default), or with
    ``path_status[path]`` for that path.
    """

    def __init__(self):
        receiver = self
        self.received: list[dict] = []
        self.validations: list[str] = []
        self.mode = "echo"          # echo | wrong | error
        self.status = 202
        self.path_status: dict[str, int] = {}
        self.arrived = threading.Condition()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                query = parse_qs(urlsplit(self.path).query)
                if "validationToken" in query:
                    token = query["validationToken"][0]
                    receiver.validations.append(token)
                    answer = {"echo": token, "wrong": token + "x"}.get(receiver.mode)
                    code = 200 if answer is not None else 500
                    body = (answer or "no").encode()
                    self.send_response(code)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                with receiver.arrived:
                    receiver.received.append({"path": urlsplit(self.path).path,
                                              "body": json.loads(raw or b"{}")})
                    receiver.arrived.notify_all()
                self.send_response(receiver.path_status.get(urlsplit(self.path).path,
                                                            receiver.status))
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def notifications(self, path: str = "/notify") -> list[dict]:
        return [n for r in self.received if r["path"] == path for n in r["body"]["value"]]

    def wait_for(self, count: int, path: str = "/notify", timeout: float = 5.0) -> list[dict]:
        """The first ``count`` notifications that reached ``path``; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.notifications(path)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.notifications(path))} of {count} "
                                         f"notifications reached {path}")
                self.arrived.wait(left)
            return self.notifications(path)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()
