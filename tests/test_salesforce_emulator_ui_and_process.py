"""Screens a person sees (login, consent, error pages, Lightning record browser) and the
process itself (--data persistence, clean SIGTERM shutdown)."""

from __future__ import annotations

import json
import signal
from urllib.parse import urlencode

import pytest
import requests

from tests.fixtures_salesforce_emulator import start_emulator

pytestmark = pytest.mark.timeout(40)
CALLBACK = "http://127.0.0.1:5000/admin/salesforce/callback"


def test_login_and_consent_screens_look_like_salesforce(emulator):
    client_id, _ = emulator.register_app([CALLBACK])
    browser = requests.Session()
    url = f"{emulator.login_url}/services/oauth2/authorize?" + urlencode(
        {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK})
    login = browser.get(url)
    assert login.status_code == 200 and "text/html" in login.headers["Content-Type"]
    assert 'name="username"' in login.text and 'name="pw"' in login.text
    assert "salesforce" in login.text and "<script" not in login.text
    assert "http://" not in login.text.split("<body>")[1].split("startURL")[0]  # no assets
    demo_login = login.text.split('id="demo-login"')[1].split("</div>")[0]
    assert "admin@apo-demo.example" in demo_login and "apo-demo<" in demo_login
    after = browser.post(f"{emulator.login_url}/", data={
        "username": "admin@apo-demo.example", "pw": "apo-demo",
        "startURL": url[len(emulator.login_url):]}, allow_redirects=True)
    assert "許可" in after.text and "拒否" in after.text
    assert "Allow" in after.text and "Deny" in after.text


def test_error_page_escapes_its_parameters(emulator):
    page = requests.get(f"{emulator.login_url}/setup/secur/RemoteAccessErrorPage.apexp",
                        params={"error": "<script>alert(1)</script>",
                                "error_description": "x"})
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_lightning_record_view_and_list(emulator):
    api = emulator.api_session()
    lead = api.post(emulator.data_url("sobjects/Lead"), json={
        "LastName": "<b>Bold</b>", "Company": "Acme", "ChatTool__c": "Slack"}).json()["id"]
    event = api.post(emulator.data_url("sobjects/Event"), json={
        "WhoId": lead, "Subject": "打ち合わせ", "StartDateTime": "2024-05-01T01:00:00Z",
        "DurationInMinutes": 30}).json()["id"]
    page = requests.get(f"{emulator.instance_url}/lightning/r/Lead/{lead}/view")
    assert page.status_code == 200
    assert "&lt;b&gt;Bold&lt;/b&gt;" in page.text and "<b>Bold</b>" not in page.text
    assert "利用チャットツール" in page.text and "Slack" in page.text
    assert "山田 花子" in page.text  # the owner's name
    event_page = requests.get(f"{emulator.instance_url}/lightning/r/Event/{event}/view")
    assert 'id="who-name"' in event_page.text and f"/lightning/r/Lead/{lead}/view" in \
        event_page.text
    listing = requests.get(f"{emulator.instance_url}/lightning/o/Lead/list")
    assert listing.status_code == 200 and lead in listing.text and "converted" in listing.text
    missing = requests.get(f"{emulator.instance_url}/lightning/r/Lead/00QIg0000000ZZZAAA/view")
    assert missing.status_code == 404
    assert requests.get(f"{emulator.login_url}/lightning/o/Lead/list").status_code == 404


def test_data_file_persists_across_restart_and_sigterm_is_clean(tmp_path):
    data = tmp_path / "org.json"
    first = start_emulator("--data", str(data))
    try:
        api = first.api_session()
        lead = api.post(first.data_url("sobjects/Lead"),
                        json={"LastName": "Kept", "Company": "Persisted"}).json()["id"]
        client_id, _ = first.register_app(["https://x.example/cb"])
        assert json.loads(data.read_text(encoding="utf-8"))["records"]["Lead"][lead]
    finally:
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(timeout=10) == 0
    second = start_emulator("--data", str(data))
    try:
        assert any(r["Id"] == lead for r in second.records("Lead"))
        assert any(a["client_id"] == client_id for a in second.control("GET", "apps"))
    finally:
        second.stop()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".sfemu-")]


def test_cli_prints_one_line_per_origin(emulator_server):
    assert emulator_server.login_url.startswith("http://127.0.0.1:")
    assert emulator_server.instance_url.startswith("http://127.0.0.1:")
    assert emulator_server.login_url != emulator_server.instance_url


def test_control_api_reset_and_records(emulator):
    emulator.insert("Lead", LastName="Fixture", Company="X", IsConverted=True,
                    LastModifiedDate="2020-01-01T00:00:00.000+0000")
    assert any(r["LastName"] == "Fixture" for r in emulator.records("Lead"))
    assert emulator.usage()["total"] == 0  # control calls are not API calls
    answer = emulator.reset("empty")
    assert answer["admin_id"].startswith("005")
    assert emulator.records("Lead") == [] and len(emulator.records("User")) == 5
    with pytest.raises(requests.HTTPError):
        emulator.control("POST", "faults", {"kind": "bogus"})
