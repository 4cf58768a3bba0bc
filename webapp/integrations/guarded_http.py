"""A requests session that connects only to public addresses, pinned to the one it checked (X3).

For calls to URLs that came from input (a member's CalDAV server and every href it answers).
The URL check (``urls.checked_url``) reads the host as the client will; this adapter closes
the gap between checking a name and connecting: each new connection resolves the host once,
refuses it when any answer is internal (a name like ``127.0.0.1.nip.io``, DNS rebinding), and
connects the socket to that checked address, so a second DNS answer cannot move it. TLS still
verifies the certificate against the host name (urllib3 keeps ``server_hostname``).

Our own small adapter, because the SSRF libraries for requests (advocate and its forks) are
unmaintained and do not support urllib3 2; this hooks urllib3's documented pool and connection
classes (``pool_classes_by_scheme``, ``ConnectionCls``) and overrides one method, pinned by
tests/test_security_urls.py.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util import connection as urllib3_connection

from webapp.integrations.urls import RefusedURL, resolve_public


class InternalAddress(NewConnectionError):
    """The host resolved to an address Apo does not call (X3)."""


def _guarded(base: type, test_origins: frozenset[str]) -> type:
    class GuardedConnection(base):
        def _new_conn(self):
            host, port = self._dns_host, self.port
            if f"{host}:{port}".lower() in test_origins:
                return super()._new_conn()  # a configured test server on loopback
            try:
                address = resolve_public(host, port)
            except RefusedURL as exc:
                raise InternalAddress(self, f"refused {exc.reason}") from None
            return urllib3_connection.create_connection(
                (address, port), self.timeout, source_address=self.source_address,
                socket_options=self.socket_options)

    return GuardedConnection


class GuardedAdapter(HTTPAdapter):
    def __init__(self, test_origins=(), **kwargs):
        self.test_origins = frozenset(o.strip().lower() for o in test_origins if o.strip())
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        origins = self.test_origins
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,),
                         {"ConnectionCls": _guarded(HTTPConnection, origins)}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,),
                          {"ConnectionCls": _guarded(HTTPSConnection, origins)}),
        }


def guarded_session(test_origins=()) -> requests.Session:
    """A session whose every connection goes to a checked public address; ``test_origins``
    (``host:port``) are the configured local test servers, connected as they are."""
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: the address is ours to pin
    adapter = GuardedAdapter(test_origins)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
