"""X3: every URL Apo calls from input is judged by the host requests will connect to."""

from __future__ import annotations

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from urllib3.util import parse_url

from tests import fixtures_salesforce as sfx
from webapp import settings as app_settings
from webapp.integrations import salesforce as sf
from webapp.integrations.urls import RefusedURL, checked_url
from webapp.services.salesforce import connections

TRICKS = [
    "https://evil.example\\.my.salesforce.com",  # browsers and requests go to evil.example
    "https://evil.example\\@acme.my.salesforce.com",
    "https://acme.my.salesforce.com@evil.example",
    "https://user:pw@acme.my.salesforce.com",
    "https://evil.example%2F.my.salesforce.com",
    "https://evil.example%2e.my.salesforce.com",
    "https://acme%2emy.salesforce.com",
    "https://evil.example\u3002my.salesforce.com",  # ideographic full stop
    "https://evil.example\uff0emy.salesforce.com",  # fullwidth full stop
    "https://evil.example\u2024my.salesforce.com",  # one dot leader
    "https://evil.example#.my.salesforce.com",
    "https://evil.example?.my.salesforce.com",
    "https://evil.example/.my.salesforce.com",
    "https://evil.example\t.my.salesforce.com",
    "https://evil.example .my.salesforce.com",
    "https://acme.my.salesforce.com.",
    "http://acme.my.salesforce.com",
    "https://acme.my.salesforce.com:8443",
    "https:acme.my.salesforce.com",
    "https:/\\evil.example/.my.salesforce.com",
    "//acme.my.salesforce.com",
    "javascript:alert(1)//.my.salesforce.com",
]


@pytest.mark.parametrize("url", TRICKS)
def test_X3_tricks_are_refused_for_my_domain_instance_and_identity(app, url):
    app.config["SALESFORCE_ALLOWED_INSTANCE_HOSTS"] = ("127.0.0.1:5101",)
    assert not connections.is_valid_my_domain(url, app_settings.current().salesforce)
    assert not sf.is_trusted_url(url)
    assert not sf.is_trusted_url(url + "/id/00D000000000001/005000000000001")


@pytest.mark.parametrize("url", TRICKS[:14])
def test_X3_connect_form_refuses_tricks_and_redirects_nowhere(sf_admin_client, connected_app,
                                                              url):
    response = sfx.start_connect(sf_admin_client, *connected_app, kind="my_domain",
                                 my_domain=url)
    assert response.status_code == 422
    assert "Location" not in response.headers


def test_X3_connect_form_stores_the_canonical_form(sf_admin_client, connected_app):
    response = sfx.start_connect(sf_admin_client, *connected_app, kind="my_domain",
                                 my_domain="HTTPS://Acme.My.Salesforce.com:443/")
    assert response.headers["Location"].startswith(
        "https://acme.my.salesforce.com/services/oauth2/authorize?")


def _sent_host(url: str) -> tuple[str, str]:
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, None)
    parsed = parse_url(prepared.url)
    return parsed.scheme, parsed.host


PIECES = ["acme", "evil.example", ".", "my", ".my.salesforce.com", "salesforce", "com", "\\",
          "@", "%2e", "%40", "\u3002", "\uff0e", ":", "443", "/", "#", "?", " ", "-", "xn--",
          "A", "\u0131"]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scheme=st.sampled_from(["https://", "http://", "HTTPS://", "https:/", "https:\\\\"]),
       pieces=st.lists(st.sampled_from(PIECES), min_size=1, max_size=8))
def test_X3_every_accepted_my_domain_reaches_an_allowed_host_through_requests(app, scheme,
                                                                             pieces):
    url = scheme + "".join(pieces)
    accepted = connections.checked_my_domain(url, app_settings.current().salesforce)
    if accepted is None:
        return
    for candidate in (url, accepted, accepted + "/services/oauth2/token"):
        sent_scheme, host = _sent_host(candidate)
        assert sent_scheme == "https" and host.endswith(".my.salesforce.com"), candidate


def test_X3_the_shared_helper_refuses_a_host_outside_the_suffixes_and_keeps_test_origins():
    assert checked_url("http://127.0.0.1:5101/x", ("salesforce.com",), ("127.0.0.1:5101",)) \
        == "http://127.0.0.1:5101/x"
    for url in ("http://127.0.0.1:5102/", "https://salesforce.com", "https://evilsalesforce.com",
                "https://a..salesforce.com", "ftp://a.salesforce.com"):
        with pytest.raises(RefusedURL):
            checked_url(url, ("salesforce.com",), ("127.0.0.1:5101",))


@pytest.mark.parametrize("url", [
    "https://calendar.example.com\\@evil.example/dav/",  # backslash
    "https://user@calendar.example.com/dav/",  # user info
    "https://calendar%2eexample.com/dav/",  # percent-encoded dot
    "https://calendar。example.com/dav/",  # Unicode full stop
    "https://10.0.0.5/dav/",  # private address literal
    "https://169.254.169.254/latest/",  # link-local (cloud metadata)
    "https://localhost:5232/",  # loopback by name
    "http://calendar.example.com/dav/",  # plain http
])
def test_X3_calendar_urls_follow_the_same_rules(url):
    from webapp.integrations.caldav import UnsafeCalendarURL, check_caldav_url

    with pytest.raises(UnsafeCalendarURL):
        check_caldav_url(url)


def test_X3_calendar_urls_keep_their_path_and_port_for_any_public_host():
    from webapp.integrations.caldav import check_caldav_url

    assert check_caldav_url("https://cloud.example.org:8443/remote.php/dav/") == (
        "https://cloud.example.org:8443/remote.php/dav/")
    assert check_caldav_url("http://127.0.0.1:5232/user/", ("127.0.0.1:5232",)) == (
        "http://127.0.0.1:5232/user/")
