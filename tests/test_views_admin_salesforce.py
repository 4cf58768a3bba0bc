"""The 来訪者連携 screens against the emulator over real HTTP (C1-C7, C9, O2)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests import fixtures_salesforce as sfx
from tests.factories import login, make_admin, make_org, make_page
from tests.fixtures_salesforce import client_for_org, decrypt, encrypt
from tests.fixtures_salesforce_emulator import STANDARD_USERNAME
from webapp.extensions import db
from webapp.models import SalesforceAuditEvent, SalesforceConnection
from webapp.services.salesforce import connections

INTEGRATION = "/admin/integrations"
CHECKS = "/admin/integrations/salesforce/checks"
DISCONNECT = "/admin/integrations/salesforce/disconnect"
CAUSES = ("10分程度時間を置いて", "事前設定の内容が誤っている", "「鍵」または「秘密」に誤り")


def stored_connections() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(SalesforceConnection))


def assert_failed_with_causes(response, code: str) -> None:
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert code in html
    for cause in CAUSES:
        assert cause in html
    assert stored_connections() == 0


@pytest.mark.parametrize("plan", ["free", "standard"])
def test_C1_plans_below_enterprise_see_salesforce_explained_and_disabled(sf_app, client, plan):
    org = make_org(plan=plan)
    admin = make_admin(org)
    db.session.commit()
    login(client, admin)
    html = client.get(INTEGRATION).get_data(as_text=True)
    assert "エンタープライズプラン以上" in html
    assert "Salesforceと連携する" not in html
    assert client.get(sfx.CONNECT).status_code == 403
    response = client.post_form(sfx.CONNECT, {"consumer_key": "k", "consumer_secret": "s"},
                                token_from=INTEGRATION)
    assert response.status_code == 403


def test_C1_enterprise_plan_may_connect(sf_app, client):
    org = make_org(plan="enterprise")
    admin = make_admin(org)
    db.session.commit()
    login(client, admin)
    html = client.get(INTEGRATION).get_data(as_text=True)
    assert "未連携" in html and "Salesforceと連携する" in html
    assert client.get(sfx.CONNECT).status_code == 200


def test_C2_connect_form_shows_exact_callback_url_with_copy_button(sf_admin_client, sf_callback):
    html = sf_admin_client.get(sfx.CONNECT).get_data(as_text=True)
    assert f'value="{sf_callback}"' in html
    assert 'data-copy="sf-callback-url"' in html
    assert "コンシューマ鍵" in html and "コンシューマの秘密" in html


def test_C2_authorize_redirect_carries_scopes_state_and_pkce(sf_admin_client, emulator,
                                                              connected_app, sf_callback):
    response = sfx.start_connect(sf_admin_client, *connected_app)
    location = response.headers["Location"]
    assert location.startswith(emulator.login_url + "/services/oauth2/authorize?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert params["response_type"] == "code"
    assert params["client_id"] == connected_app[0]
    assert params["redirect_uri"] == sf_callback
    assert params["scope"] == "api refresh_token offline_access"
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) >= 43
    with sf_admin_client.session_transaction() as session:
        pending = session["salesforce_connect"]
    assert pending["state"] == params["state"]
    # Neither the secret nor the PKCE verifier sits in the session cookie in clear.
    assert connected_app[1] not in str(pending)
    assert stored_connections() == 0


def test_C2_pkce_required_app_connects(sf_admin_client, emulator, sf_callback):
    key, secret = emulator.register_app([sf_callback], pkce_required=True)
    response = sfx.connect(sf_admin_client, emulator, key, secret)
    assert response.status_code == 302
    assert stored_connections() == 1


def test_C2_wrong_pkce_verifier_is_refused_and_nothing_stored(sf_admin_client, emulator,
                                                               sf_callback):
    key, secret = emulator.register_app([sf_callback], pkce_required=True)
    response = sfx.start_connect(sf_admin_client, key, secret)
    location = emulator.authorize(response.headers["Location"])
    with sf_admin_client.session_transaction() as session:
        pending = dict(session["salesforce_connect"])
        pending["verifier"] = encrypt("x" * 64)
        session["salesforce_connect"] = pending
    response = sf_admin_client.get(sfx.callback_path(location))
    assert_failed_with_causes(response, "invalid_request")


@pytest.mark.parametrize("kind", ["sandbox", "my_domain"])
def test_C3_sandbox_and_my_domain_hosts_connect(sf_admin_client, emulator, connected_app, kind):
    my_domain = emulator.login_url if kind == "my_domain" else ""
    response = sfx.connect(sf_admin_client, emulator, *connected_app, kind=kind,
                           my_domain=my_domain)
    assert response.status_code == 302
    conn = db.session.scalar(db.select(SalesforceConnection))
    assert conn.login_kind == kind and conn.login_url == emulator.login_url


@pytest.mark.parametrize("url", [
    "", "http://acme.my.salesforce.com", "https://evil.example.com",
    "https://acme.my.salesforce.com.evil.com", "https://acme.my.salesforce.com/path",
    "javascript:alert(1)",
])
def test_C3_my_domain_url_is_validated(sf_admin_client, connected_app, url):
    response = sfx.start_connect(sf_admin_client, *connected_app, kind="my_domain",
                                 my_domain=url)
    assert response.status_code == 422
    assert "field-errors" in response.get_data(as_text=True)


def test_C3_real_my_domain_url_is_used_as_login_host(sf_admin_client, connected_app):
    response = sfx.start_connect(sf_admin_client, *connected_app, kind="my_domain",
                                 my_domain="https://acme.my.salesforce.com/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(
        "https://acme.my.salesforce.com/services/oauth2/authorize?")


def test_C4_connect_stores_user_and_shows_completion(sf_admin_client, emulator, connected_app,
                                                     org, admin):
    response = sfx.connect(sf_admin_client, emulator, *connected_app)
    html = sf_admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "連携完了" in html and "sf-admin-ok" in html
    conn = db.session.scalar(db.select(SalesforceConnection))
    assert (conn.organization_id, conn.connected_by_id) == (org.id, admin.id)
    assert conn.sf_username == sfx.ADMIN_USERNAME and conn.sf_is_admin is True
    assert conn.sf_user_id.startswith("005") and conn.sf_org_id.startswith("00D")
    assert conn.sf_email and conn.sf_display_name
    assert conn.instance_url == emulator.instance_url
    screen = sf_admin_client.get(INTEGRATION).get_data(as_text=True)
    assert "連携中" in screen and conn.sf_username in screen
    assert conn.consumer_key_hint in screen and connected_app[0] not in screen


def test_C4_non_admin_salesforce_user_gets_a_warning(sf_admin_client, emulator, connected_app):
    response = sfx.connect(sf_admin_client, emulator, *connected_app, username=STANDARD_USERNAME)
    html = sf_admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "連携完了" in html and "sf-admin-warning" in html
    assert db.session.scalar(db.select(SalesforceConnection)).sf_is_admin is False


def test_C5_access_denied_shows_causes_and_stores_nothing(sf_admin_client, emulator,
                                                          connected_app):
    response = sfx.connect(sf_admin_client, emulator, *connected_app, allow=False)
    assert_failed_with_causes(response, "access_denied")


def test_C5_wrong_consumer_secret_shows_causes_and_stores_nothing(sf_admin_client, emulator,
                                                                  connected_app):
    response = sfx.connect(sf_admin_client, emulator, connected_app[0], "wrong-secret")
    assert_failed_with_causes(response, "invalid_client")


def test_C5_missing_or_mismatched_state_is_refused(sf_admin_client, emulator, connected_app):
    response = sfx.start_connect(sf_admin_client, *connected_app)
    location = emulator.authorize(response.headers["Location"])
    code = parse_qs(urlsplit(location).query)["code"][0]
    no_state = sf_admin_client.get(sfx.CALLBACK_PATH, query_string={"code": code})
    assert_failed_with_causes(no_state, "state_mismatch")
    response = sfx.start_connect(sf_admin_client, *connected_app)
    forged = sf_admin_client.get(sfx.CALLBACK_PATH,
                                 query_string={"code": code, "state": "forged"})
    assert_failed_with_causes(forged, "state_mismatch")


def test_C5_replayed_callback_and_reused_code_are_refused(sf_admin_client, emulator,
                                                          connected_app, sf_callback):
    # A code somebody already redeemed: Salesforce answers invalid_grant.
    response = sfx.start_connect(sf_admin_client, *connected_app)
    location = emulator.authorize(response.headers["Location"])
    code = parse_qs(urlsplit(location).query)["code"][0]
    burnt = requests.post(f"{emulator.login_url}/services/oauth2/token", timeout=5, data={
        "grant_type": "authorization_code", "code": code, "client_id": connected_app[0],
        "client_secret": connected_app[1], "redirect_uri": sf_callback})
    assert burnt.status_code == 400  # our PKCE verifier was not sent, but the code is burnt
    assert_failed_with_causes(sf_admin_client.get(sfx.callback_path(location)), "invalid_grant")
    # The same callback URL twice: the state was used up by the first.
    assert_failed_with_causes(sf_admin_client.get(sfx.callback_path(location)), "state_mismatch")


def test_C5_instance_url_outside_salesforce_domains_is_refused(sf_app, sf_admin_client,
                                                                emulator, connected_app):
    sf_app.config["SALESFORCE_ALLOWED_INSTANCE_HOSTS"] = (urlsplit(emulator.login_url).netloc,)
    response = sfx.connect(sf_admin_client, emulator, *connected_app)
    assert_failed_with_causes(response, "untrusted_instance")


def test_C6_disconnect_revokes_deletes_keeps_page_settings_and_audits(
        sf_admin_client, emulator, sf_connection, connected_app, org, admin):
    page = make_page(org, sf_create_lead=True, sf_create_event=True, sf_split_name=True)
    db.session.commit()
    refresh_token = decrypt(sf_connection.refresh_token_enc)
    access_token = decrypt(sf_connection.access_token_enc)
    response = sf_admin_client.post_form(DISCONNECT, {}, token_from=INTEGRATION)
    assert response.status_code == 302
    assert stored_connections() == 0
    # Salesforce says the grant is gone: the refresh token and its access token are dead.
    refresh = requests.post(f"{emulator.login_url}/services/oauth2/token", timeout=5, data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": connected_app[0], "client_secret": connected_app[1]})
    assert refresh.json()["error"] == "invalid_grant"
    data = requests.get(emulator.data_url("limits"), timeout=5,
                        headers={"Authorization": f"Bearer {access_token}"})
    assert data.status_code == 401
    db.session.refresh(page)
    assert (page.sf_create_lead, page.sf_create_event, page.sf_split_name) == (True, True, True)
    event = db.session.scalar(db.select(SalesforceAuditEvent).where(
        SalesforceAuditEvent.kind == "disconnect"))
    assert event.admin_id == admin.id and event.actor_name == admin.name
    html = sf_admin_client.get(INTEGRATION).get_data(as_text=True)
    assert "未連携" in html and "連携解除" in html


def test_C6_disconnect_over_htmx_answers_hx_redirect(sf_admin_client, sf_connection):
    token = sf_admin_client.csrf_token(INTEGRATION)
    response = sf_admin_client.post(DISCONNECT, headers={"HX-Request": "true",
                                                         "X-CSRFToken": token})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == INTEGRATION


def test_C7_broken_connection_shows_reason_everywhere_and_reconnect_restores(
        sf_admin_client, emulator, sf_connection, connected_app, org):
    emulator.control("POST", "tokens/revoke")
    client = client_for_org(org.id)
    with pytest.raises(connections.sf.SalesforceAuthError):
        client.query("SELECT Id FROM Lead LIMIT 1")
    db.session.expire_all()
    html = sf_admin_client.get(INTEGRATION).get_data(as_text=True)
    assert "要再連携" in html and "invalid_grant" in html and "sf-broken-reason" in html
    checks = sf_admin_client.get(CHECKS).get_data(as_text=True)
    assert "sf-status-banner" in checks and "要再連携" in checks
    response = sfx.connect(sf_admin_client, emulator, *connected_app)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(db.select(SalesforceConnection)).is_broken is False
    kinds = [e.kind for e in connections.audit_log(org.id)]
    assert kinds[:3] == ["reconnect", "broken", "connect"]


def test_C9_check_screen_passes_on_the_demo_org_and_costs_few_calls(sf_admin_client, emulator,
                                                                    sf_connection):
    emulator.control("POST", "usage/reset")
    html = sf_admin_client.get(CHECKS).get_data(as_text=True)
    cold = emulator.usage()["total"]
    assert html.count("badge-ok") == 6, html
    sf_admin_client.get(CHECKS)
    warm = emulator.usage()["total"] - cold
    # Cold: two describes, then the profile's login IP ranges (its ProfileId, its ranges).
    assert (cold, warm) == (4, 0)
    response = sf_admin_client.post_form(CHECKS, {}, token_from=CHECKS)
    assert response.status_code == 302
    # The refresh button re-describes Lead and Event, re-reads the IP ranges and the profile.
    assert emulator.usage()["total"] - cold == 5


def test_C9_check_screen_reports_failures_with_fixes(sf_admin_client, emulator, sf_connection,
                                                     org):
    emulator.set_org(required_lead_field_without_default=True,
                     hidden_fields=["Lead.Company", "Event.WhoId"])
    make_page(org, fields=[{"field_type": "text", "label": "Code",
                            "salesforce_field": "Missing__c"}])
    db.session.commit()
    html = sf_admin_client.get(CHECKS).get_data(as_text=True)
    assert "InternalCode__c" in html and "デフォルト値" in html
    assert "Company" in html and "Missing__c" in html and "項目レベルセキュリティ" in html
    assert "WhoId" in html
    assert html.count("badge-err") == 3


def test_C9_api_disabled_fails_the_edition_check(sf_admin_client, emulator, sf_connection):
    emulator.set_org(api_disabled=True)
    html = sf_admin_client.get(CHECKS).get_data(as_text=True)
    assert "API_DISABLED_FOR_ORG" in html and "WEBサービスAPI" in html
    assert "確認できません" in html


def test_O2_organization_b_never_sees_or_uses_organization_a_connection(sf_admin_client,
                                                                       sf_connection):
    client = sf_admin_client
    other = sfx.switch_to_other_org(client)
    html = client.get(INTEGRATION).get_data(as_text=True)
    assert "未連携" in html and sf_connection.sf_username not in html
    assert client.post_form(DISCONNECT, {}, token_from=INTEGRATION).status_code == 404
    assert client.get(CHECKS).status_code == 302
    assert client.post_form(CHECKS, {}, token_from=INTEGRATION).status_code == 404
    with pytest.raises(connections.ConnectionUnavailable):
        client_for_org(other.id)
    assert stored_connections() == 1


def test_C9_describe_cache_expires_after_its_ttl(sf_app, sf_admin_client, emulator,
                                                 sf_connection):
    sf_admin_client.get(CHECKS)
    sf_app.config["SALESFORCE_DESCRIBE_TTL"] = 0
    emulator.control("POST", "usage/reset")
    sf_admin_client.get(CHECKS)
    assert emulator.usage()["total"] == 4  # Lead, Event, and the IP ranges (two queries)


def test_C7_status_banner_partial_renders_for_other_screens(sf_app, sf_admin_client, emulator,
                                                            sf_connection):
    from flask import render_template

    emulator.control("POST", "tokens/revoke")
    with pytest.raises(connections.sf.SalesforceAuthError):
        client_for_org(sf_connection.organization_id).describe("Lead")
    db.session.expire_all()
    with sf_app.test_request_context("/admin/pages/1/edit"):
        from flask_login import login_user

        login_user(db.session.get(type(sf_connection.connected_by), sf_connection.connected_by_id))
        html = render_template("admin/salesforce/_status_banner.html")
    assert "要再連携" in html and 'href="/admin/integrations"' in html


def test_C6_connecting_again_replaces_and_revokes_the_previous_grant(
        sf_admin_client, emulator, sf_connection, connected_app, org):
    old_refresh = decrypt(sf_connection.refresh_token_enc)
    response = sfx.connect(sf_admin_client, emulator, *connected_app)
    assert response.status_code == 302 and stored_connections() == 1
    dead = requests.post(f"{emulator.login_url}/services/oauth2/token", timeout=5, data={
        "grant_type": "refresh_token", "refresh_token": old_refresh,
        "client_id": connected_app[0], "client_secret": connected_app[1]})
    assert dead.json()["error"] == "invalid_grant"
    assert client_for_org(org.id).describe("Lead")["name"] == "Lead"


def test_C2_demo_mode_prefills_the_emulators_demo_app(sf_app, sf_admin_client):
    connect = "/admin/integrations/salesforce/connect"
    assert 'value="demo-key"' not in sf_admin_client.get(connect).get_data(as_text=True)
    sf_app.config.update(DEMO=True, DEMO_CONSUMER_KEY="demo-key", DEMO_CONSUMER_SECRET="demo-s")
    html = sf_admin_client.get(connect).get_data(as_text=True)
    assert 'value="demo-key"' in html and 'value="demo-s"' in html
    sf_app.config.update(DEMO=False)  # the keys alone never prefill outside demo mode
    assert 'value="demo-key"' not in sf_admin_client.get(connect).get_data(as_text=True)



def ip_item(html: str) -> str:
    return html.split('id="check-ip"')[1].split('id="check-')[0]


def admin_profile_id(emulator) -> str:
    return next(u["ProfileId"] for u in emulator.records("User")
                if u["Username"] == "admin@apo-demo.example")


def test_C9_ip_check_reads_the_profiles_login_ip_ranges(sf_app, sf_admin_client, emulator,
                                                        sf_connection):
    """Seed item 2: Apo's outbound addresses (configuration) against the connecting user's
    profile login IP ranges (LoginIpRange rows), with the seed's steps when they block."""
    sf_app.config["OUTBOUND_IPS"] = ("203.0.113.7", "198.51.100.1")
    html = sf_admin_client.get(CHECKS).get_data(as_text=True)
    item = ip_item(html)
    assert "badge-ok" in item and "設定は不要です" in item and "203.0.113.7" in item
    emulator.insert("LoginIpRange", ProfileId=admin_profile_id(emulator),
                    StartAddress="203.0.113.0", EndAddress="203.0.113.255")
    sf_admin_client.post_form(CHECKS, {}, token_from=CHECKS)  # refresh reads the ranges again
    item = ip_item(sf_admin_client.get(CHECKS).get_data(as_text=True))
    assert "badge-err" in item and "許可していません: 198.51.100.1" in item
    assert "203.0.113.0 – 203.0.113.255" in item
    assert "「ログイン IP アドレスの制限」関連リスト" in item  # the seed's steps, step 4
    emulator.insert("LoginIpRange", ProfileId=admin_profile_id(emulator),
                    StartAddress="198.51.100.1", EndAddress="198.51.100.1")
    sf_admin_client.post_form(CHECKS, {}, token_from=CHECKS)
    item = ip_item(sf_admin_client.get(CHECKS).get_data(as_text=True))
    assert "badge-ok" in item and "許可しています" in item
    html = sf_admin_client.get(CHECKS).get_data(as_text=True)
    assert 'id="check-profile"' in html  # the profile check stays an item of its own
