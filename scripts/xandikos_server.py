"""A real Xandikos CalDAV server on a free loopback port, for the tests (K1-K4): the second,
independent CalDAV implementation beside Radicale (scripts/radicale_server.py).

Xandikos authenticates nobody itself unless it serves TLS (`--htpasswd` requires
`--autocert`); its documented deployment puts it behind a reverse proxy that authenticates and
passes the user on in `X-Remote-User`. That is what runs here:

- `xandikos multi-user` listens on a Unix socket in the data directory (so nothing on the
  loopback can reach it around the proxy) and trusts `X-Remote-User` on that socket only
  (`--trust-x-remote-user-unix`); each authenticated user gets the principal `/<user>/`.
- `python scripts/xandikos_server.py proxy ...` (this file) listens on the TCP port, checks
  HTTP Basic against a private `user:password` file (re-read on every request, so accounts
  change without a restart, as Radicale's htpasswd file does), drops any `X-Remote-User` the
  client sent, and forwards the request with the authenticated user's name.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dav_accounts import DavAccounts, stop_process  # noqa: E402
from services import free_port, wait_for_port  # noqa: E402

# Headers that describe one hop, not the message (RFC 9110 7.6.1), plus the ones the proxy
# owns: the client never chooses the user Xandikos sees.
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
        "upgrade", "content-length", "authorization", "x-remote-user", "host", "server",
        "date"}


class XandikosServer(DavAccounts):
    """A running Xandikos behind the auth proxy; `url` is the proxy's origin."""

    def __init__(self, data_dir: str | None = None, users: dict[str, str] | None = None,
                 log=subprocess.DEVNULL, port: int | None = None):
        self.dir = data_dir or tempfile.mkdtemp(prefix="apo-xandikos-")
        os.makedirs(self.dir, exist_ok=True)
        self.users = dict(users or {})
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.origin = f"127.0.0.1:{self.port}"
        self._write_users()
        self.socket_path = os.path.join(self.dir, "xandikos.sock")
        self.processes = [subprocess.Popen(
            [sys.executable, "-m", "xandikos", "multi-user", "--directory",
             os.path.join(self.dir, "collections"), "--listen-address", self.socket_path,
             "--trust-x-remote-user-unix", "--no-detect-systemd", "--hide-principals",
             "--state-dir", os.path.join(self.dir, "state")],
            stdout=log, stderr=log, start_new_session=True)]
        _wait_for_socket(self.socket_path, self.processes[0])
        self.processes.append(subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "proxy", "--port", str(self.port),
             "--socket", self.socket_path, "--users", self._users_file],
            stdout=log, stderr=log, start_new_session=True))
        wait_for_port(self.port, timeout=20)

    def calendar_url(self, user: str, name: str) -> str:
        # multi-user mode: the principal is /<user>/, its calendar-home-set /<user>/calendars/.
        return f"{self.url}/{user}/calendars/{name}/"

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop_process(process)


def _wait_for_socket(path: str, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"xandikos exited with {process.returncode}")
        if os.path.exists(path):
            return
        time.sleep(0.05)
    raise RuntimeError(f"xandikos did not open {path} within {timeout:.0f}s")


# ----- the proxy (runs as its own process) -------------------------------------------------

class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def _user_of(header: str, users_file: str) -> str | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    with open(users_file) as handle:
        for line in handle:
            name, _, stored = line.rstrip("\n").partition(":")
            if name == user and hmac.compare_digest(stored.encode(), password.encode()):
                return user
    return None


class _Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:  # noqa: A002 - stdlib signature
        pass

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        user = _user_of(self.headers.get("Authorization", ""), self.server.users_file)
        if user is None:
            self._reply(401, [("WWW-Authenticate", 'Basic realm="Xandikos (Apo tests)"'),
                              ("Content-Type", "text/plain")], b"Authentication required.\n")
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        headers.update({"X-Remote-User": user, "Host": self.headers.get("Host", "localhost"),
                        "Content-Length": str(len(body))})
        upstream = _UnixConnection(self.server.socket_path)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
            self._reply(answer.status, [(k, v) for k, v in answer.getheaders()
                                        if k.lower() not in _HOP], payload)
        finally:
            upstream.close()

    def _reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_OPTIONS = _forward
    do_PROPFIND = do_PROPPATCH = do_REPORT = do_MKCALENDAR = do_MKCOL = _forward
    do_MOVE = do_COPY = do_LOCK = do_UNLOCK = _forward


def serve_proxy(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="xandikos_server.py proxy")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--users", required=True)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _Proxy)
    server.daemon_threads = True
    server.socket_path, server.users_file = args.socket, args.users
    server.serve_forever()
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["proxy"]:
        sys.exit(serve_proxy(sys.argv[2:]))
    sys.exit("usage: xandikos_server.py proxy --port P --socket PATH --users FILE")
