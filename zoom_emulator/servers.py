"""The HTTP(S) server around the app: werkzeug's threaded server, with ``--https`` a fresh
self-signed certificate written where a client can trust it (``cert_path``)."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
import threading

from werkzeug.serving import make_server

from .app import build_app
from .state import Store


def self_signed_context(host: str, folder: str) -> ssl.SSLContext:
    """A server context whose certificate names ``host``, localhost and 127.0.0.1; the
    certificate is written to ``folder/cert.pem`` for clients (``verify=``) to trust."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    names: dict[str, x509.GeneralName] = {"dns:localhost": x509.DNSName("localhost"),
                                          "ip:127.0.0.1": x509.IPAddress(
                                              ipaddress.ip_address("127.0.0.1"))}
    try:
        names["ip:" + host] = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        names["dns:" + host] = x509.DNSName(host)
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
               .public_key(public).serial_number(x509.random_serial_number())
               # Back-dated a year: under `make test-dates` this process's clock is shifted
               # ahead while OpenSSL checks the dates on the real one.
               .not_valid_before(now - datetime.timedelta(days=400))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.SubjectAlternativeName(list(names.values())), False)
               # OpenSSL 3 trusts a self-signed anchor only as a CA with key identifiers.
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
               .add_extension(x509.KeyUsage(True, False, False, False, False, True, False,
                                            False, False), True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                              False))
    cert = builder.sign(key, hashes.SHA256())
    cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.cert_path = cert_path
    return context


class Emulator:
    """The app on one port in a background thread of this process."""

    def __init__(self, store: Store, host: str, port: int, https: bool = False,
                 cert_dir: str | None = None):
        self.store = store
        context = None
        if https:
            context = self_signed_context(host, cert_dir or tempfile.mkdtemp(prefix="zoomemu-"))
        self.cert_path = getattr(context, "cert_path", None)
        self.server = make_server(host, port, build_app(store), threaded=True,
                                  ssl_context=context)
        store.public_url = f"{'https' if https else 'http'}://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
