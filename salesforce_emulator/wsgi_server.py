"""A small threaded HTTP/1.1 WSGI server with keep-alive.

Why not werkzeug's ``make_server``: werkzeug 3 sends ``Connection: close`` on every
response, so each call pays a new TCP (and TLS) connection and a new thread; that capped the
emulator near 250 calls/s. Real Salesforce keeps connections alive, and so do clients'
``requests.Session`` pools, so this server does too. It only has to serve the emulator's own
Flask apps: bodies are read fully (Content-Length or chunked) and responses are buffered.
"""

from __future__ import annotations

import io
import socket
import socketserver
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

IDLE_TIMEOUT_SECONDS = 30
_HOP_HEADERS = frozenset({"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SalesforceEmulator"
    sys_version = ""
    timeout = IDLE_TIMEOUT_SECONDS
    disable_nagle_algorithm = True  # small responses must not wait for delayed ACKs

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()  # here, not in the accept loop

    def log_message(self, format, *args) -> None:  # noqa: A002 - stdlib signature
        pass  # one line per request would dominate the benchmark

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _environ(self, body: bytes) -> dict:
        path, _, query = self.path.partition("?")
        host, port = self.server.server_address[:2]
        environ = {
            "REQUEST_METHOD": self.command, "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, encoding="latin-1"), "QUERY_STRING": query,
            "SERVER_NAME": host, "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version, "REMOTE_ADDR": self.client_address[0],
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)), "wsgi.version": (1, 0),
            "wsgi.url_scheme": self.server.scheme, "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for key in set(self.headers.keys()):
            name = "HTTP_" + key.upper().replace("-", "_")
            # The body is already de-chunked and its length is CONTENT_LENGTH: passing
            # Transfer-Encoding on makes Werkzeug read the (consumed) stream as chunked, i.e.
            # an empty body.
            if name not in _HOP_HEADERS:
                environ[name] = ",".join(self.headers.get_all(key))
        return environ

    def _serve(self) -> None:
        body = self._read_body()
        started: list = []

        def start_response(status, headers, exc_info=None):
            started[:] = [status, headers]
            return lambda data: None  # the write() callable is not used by Flask

        result = self.server.app(self._environ(body), start_response)
        try:
            payload = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        status, headers = started
        code = int(status.split(" ", 1)[0])
        try:
            self.send_response(code, status.split(" ", 1)[1] if " " in status else "")
            for key, value in headers:
                if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value)
            if code not in (204, 304) and code >= 200:
                self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:
                self.send_header("Connection", "close")
            # Head and body leave in one write (what end_headers() does, plus the body).
            self._headers_buffer.append(b"\r\n")
            if self.command != "HEAD" and payload:
                self._headers_buffer.append(payload)
            self.flush_headers()
        except (TimeoutError, BrokenPipeError, ConnectionResetError, ssl.SSLError):
            # The client gave up (e.g. commit_then_hang outlived its timeout).
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _serve


class WSGIServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, app, ssl_context: ssl.SSLContext | None = None):
        self.app = app
        self.ssl_context = ssl_context
        self.scheme = "https" if ssl_context else "http"
        super().__init__((host, port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), a DNS lookup that can hang.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        conn, addr = self.socket.accept()
        if self.ssl_context is not None:
            conn = self.ssl_context.wrap_socket(conn, server_side=True,
                                                do_handshake_on_connect=False)
        return conn, addr

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, socket.timeout, ssl.SSLError, OSError)):
            return  # clients closing or failing TLS are not server errors
        super().handle_error(request, client_address)
