"""Two Flask apps (login origin, Graph origin) over one Tenant, each on its own thread, plus
the notification sender and (with a state directory) the saver."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
import threading

from flask import Flask, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from . import control, graph, graph_events, identity, oidc, schedule, subscriptions, ui  # noqa: F401
from .errors import graph_error
from .notifier import Notifier
from .persistence import Saver, load
from .state import Tenant


def _app(tenant: Tenant, name: str) -> Flask:
    app = Flask(name, template_folder=os.path.join(os.path.dirname(__file__), "templates"))
    app.config["TENANT"] = tenant
    app.url_map.strict_slashes = False

    @app.after_request
    def remember_change(response):
        # Writes change the tenant; the saver (if any) writes it out shortly after.
        if request.method != "GET":
            tenant.touch()
        return response

    return app


def build_login_app(tenant: Tenant) -> Flask:
    app = _app(tenant, "graph_emulator.login")
    app.register_blueprint(identity.bp)
    app.register_blueprint(oidc.bp)
    app.register_blueprint(ui.bp)
    return app


def build_graph_app(tenant: Tenant) -> Flask:
    app = _app(tenant, "graph_emulator.graph")
    app.register_blueprint(graph.bp)
    app.register_blueprint(schedule.bp)
    app.register_blueprint(subscriptions.bp)
    app.register_blueprint(control.bp)

    @app.errorhandler(HTTPException)
    def graph_http_error(exc: HTTPException):
        """Every error answers in Graph's JSON shape (learn.microsoft.com/graph/errors), so
        SDKs raise their ODataError rather than failing to parse an HTML page."""
        if exc.code == 404:
            segments = [s for s in request.path.split("/") if s]
            if segments[:1] == ["v1.0"]:
                # An unknown path under a version: "Resource not found for the segment".
                return graph_error(400, "BadRequest", "Resource not found for the segment "
                                   f"'{segments[-1] if len(segments) > 1 else ''}'.")
            return graph_error(404, "ResourceNotFound", "Resource could not be discovered.")
        if exc.code == 405:
            return graph_error(405, "BadRequest", "Specified HTTP method is not allowed for "
                               "the request target.", {"Allow": ", ".join(
                                   exc.valid_methods or [])} if getattr(
                                   exc, "valid_methods", None) else None)
        return graph_error(exc.code or 500, "BadRequest" if (exc.code or 500) < 500 else
                           "generalException", exc.description or "Bad request.")

    @app.errorhandler(Exception)
    def graph_server_error(exc: Exception):
        app.logger.exception("unhandled error", exc_info=exc)
        return graph_error(500, "generalException", "General exception while processing.")

    return app


def self_signed_context(host: str) -> ssl.SSLContext:
    """A TLS context with a fresh self-signed certificate for ``host`` (and localhost).

    The same certificate shape as salesforce_emulator/servers.py: OpenSSL 3 trusts a
    self-signed anchor only with CA basic constraints and key identifiers.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    alt = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        alt.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        alt.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            # Back-dated a year: under `make test-dates` this process's clock is shifted ahead while
            # OpenSSL checks the dates on the real one.
            .not_valid_before(now - datetime.timedelta(days=400))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(list({str(a): a for a in alt}
                                                            .values())), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, False, False,
                                         False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    folder = tempfile.mkdtemp(prefix="graphemu-tls-")
    cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with os.fdopen(os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.cert_path = cert_path  # for clients that want to verify (printed at start)
    return context


class Emulator:
    def __init__(self, tenant: Tenant, host: str, login_port: int, graph_port: int,
                 https: bool = False, state_dir: str | None = None):
        self.tenant = tenant
        self.state_dir = state_dir
        if state_dir:
            load(tenant, state_dir)
        context = self_signed_context(host) if https else None
        self.cert_path = getattr(context, "cert_path", None)
        scheme = "https" if https else "http"
        self.servers = [
            make_server(host, login_port, build_login_app(tenant), threaded=True,
                        ssl_context=context),
            make_server(host, graph_port, build_graph_app(tenant), threaded=True,
                        ssl_context=context)]
        tenant.login_url = f"{scheme}://{host}:{self.servers[0].server_port}"
        tenant.graph_url = f"{scheme}://{host}:{self.servers[1].server_port}"
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True)
                        for s in self.servers]
        self.notifier = Notifier(tenant)
        tenant.notifier = self.notifier
        self.saver = Saver(tenant, state_dir) if state_dir else None

    def start(self) -> None:
        for thread in self.threads:
            thread.start()
        self.notifier.start()
        if self.saver:
            self.saver.start()

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
        self.notifier.stop()
        if self.saver:
            self.saver.stop()
