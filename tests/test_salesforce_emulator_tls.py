"""HTTPS helpers trust the emulator's own certificate whatever REQUESTS_CA_BUNDLE says."""

from __future__ import annotations

import ssl

import pytest
import requests

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def ca_bundle_env(monkeypatch):
    """The machine's setting, made explicit: requests then prefers this bundle."""
    bundle = ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    monkeypatch.setenv("CURL_CA_BUNDLE", bundle)
    return bundle


def test_session_verify_alone_is_overridden_by_the_environment(emulator_https_server,
                                                               ca_bundle_env):
    # Why the helpers pin the certificate: Session.verify loses to REQUESTS_CA_BUNDLE.
    naive = requests.Session()
    naive.verify = emulator_https_server.cert_path
    with pytest.raises(requests.exceptions.SSLError):
        naive.get(f"{emulator_https_server.instance_url}/services/data/", timeout=10)


def test_pinned_sessions_verify_the_emulator_certificate(emulator_https_server, ca_bundle_env):
    session = emulator_https_server.new_session()
    response = session.get(f"{emulator_https_server.instance_url}/services/data/", timeout=10)
    assert response.status_code == 200 and response.json()[0]["version"]
    session.trust_env = True  # even a session that reads the environment keeps the pin
    token = session.post(f"{emulator_https_server.login_url}/services/oauth2/token", data={
        "grant_type": "password", "client_id": "x"}, timeout=10)
    assert token.status_code in (400, 401)  # reached the emulator over verified TLS
    # Verification is on, not off: the system bundle alone does not trust the emulator.
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"{emulator_https_server.instance_url}/services/data/", timeout=10,
                    verify=ca_bundle_env)
    api = emulator_https_server.api_session()
    assert api.get(emulator_https_server.data_url("limits"), timeout=10).status_code == 200
