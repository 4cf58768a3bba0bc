"""Two Flask apps (login origin, instance origin) over one Org, each on its own server thread."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
import threading

from flask import Flask

from . import control, data_api, oauth, ui
from .state import Org
from .wsgi_server import WSGIServer


def _app(org: Org, name: str) -> Flask:
    app = Flask(name, template_folder=os.path.join(os.path.dirname(__file__), "templates"))
    app.config["ORG"] = org
    app.url_map.strict_slashes = False  # every resource answers with and without a slash
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    return app


def build_login_app(org: Org) -> Flask:
    app = _app(org, "salesforce_emulator.login")
    app.register_blueprint(oauth.bp)
    app.register_blueprint(oauth.userinfo_bp)
    return app


def build_instance_app(org: Org) -> Flask:
    app = _app(org, "salesforce_emulator.instance")
    app.register_blueprint(data_api.bp)
    app.register_blueprint(oauth.userinfo_bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(ui.bp)
    return app


def self_signed_context(host: str) -> ssl.SSLContext:
    """A TLS context with a fresh self-signed certificate for ``host`` (and localhost)."""
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
            # CA + key identifiers: OpenSSL 3 only trusts a self-signed anchor shaped so.
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
    folder = tempfile.mkdtemp(prefix="sfemu-tls-")
    cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.cert_path = cert_path  # for clients that want to verify (tests print it)
    return context


class Emulator:
    """Both origins running in background threads of this process."""

    def __init__(self, org: Org, host: str, login_port: int, instance_port: int,
                 https: bool = False):
        self.org = org
        context = self_signed_context(host) if https else None
        self.cert_path = getattr(context, "cert_path", None)
        scheme = "https" if https else "http"
        self.servers = [
            WSGIServer(host, port, app, ssl_context=context)
            for port, app in ((login_port, build_login_app(org)),
                              (instance_port, build_instance_app(org)))
        ]
        org.login_url = f"{scheme}://{host}:{self.servers[0].server_port}"
        org.instance_url = f"{scheme}://{host}:{self.servers[1].server_port}"
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True)
                        for s in self.servers]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
