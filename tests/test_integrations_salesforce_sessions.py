"""The keep-alive sessions of the Salesforce client (S8): the environment is read once, when a
session is made for its instance URL, and still applies; a ~/.netrc never replaces the token.

Real HTTP to a local server that records what it received.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webapp.integrations.salesforce import SalesforceClient
from webapp.integrations.salesforce.sessions import _new_session

EMPTY = json.dumps({"totalSize": 0, "done": True, "records": []}).encode()


@pytest.fixture
def server():
    """A local HTTP server answering every GET with an empty query result; ``seen`` holds
    (request line target, Authorization header) pairs."""
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - stdlib name
            seen.append((self.path, self.headers.get("Authorization", "")))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(EMPTY)))
            self.end_headers()
            self.wfile.write(EMPTY)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.seen = seen
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _clean_env(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy",
                 "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_S8_a_proxy_from_the_environment_still_carries_the_calls(server, monkeypatch):
    """HTTP_PROXY names our local server: the call to a host that does not exist reaches it as
    a proxy request (absolute URL), though the session no longer reads the environment per call."""
    _clean_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_port}")
    instance = "http://acme.salesforce.invalid"
    session = _new_session(instance)
    assert session.trust_env is False
    client = SalesforceClient(instance, "the-token", session=session)
    assert client.query("SELECT Id FROM Lead").records == []
    [(target, auth)] = server.seen
    assert target.startswith(instance + "/services/data/")
    assert auth == "Bearer the-token"


def test_S8_no_proxy_is_honoured_for_the_instance_host(server, monkeypatch):
    _clean_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    instance = f"http://127.0.0.1:{server.server_port}"
    client = SalesforceClient(instance, "the-token", session=_new_session(instance))
    assert client.query("SELECT Id FROM Lead").total_size == 0
    assert server.seen[0][0].startswith("/services/data/")  # direct, not through the proxy


def test_a_netrc_entry_for_the_host_never_replaces_the_bearer_token(server, monkeypatch,
                                                                    tmp_path):
    """requests lets ~/.netrc credentials override an Authorization header when it reads the
    environment; the Salesforce sessions do not, so the org's token is what is sent."""
    _clean_env(monkeypatch)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    instance = f"http://127.0.0.1:{server.server_port}"
    client = SalesforceClient(instance, "the-token", session=_new_session(instance))
    client.query("SELECT Id FROM Lead")
    assert server.seen[0][1] == "Bearer the-token"
