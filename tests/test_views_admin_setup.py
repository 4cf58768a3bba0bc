"""The guided setup on ホーム, 連携完了's next step, the page list and API usage (C1, C9, P1-P4)."""

from __future__ import annotations

import re

from tests.fixtures_salesforce import *  # noqa: F403 - fixtures (conftest plugin pending)
from tests.fixtures_sync import SATO, booking_with_sync, team_page
from webapp.extensions import db
from webapp.jobs import sync as sync_jobs
from webapp.web.templating import api_usage


def done_steps(client) -> list[str]:
    html = client.get("/admin/").get_data(as_text=True)
    return re.findall(r'class="setup-step is-done[^"]*" id="setup-(\w+)"', html)


def test_C9_setup_guide_ticks_itself_from_real_state(sf_admin_client, emulator, connected_app,
                                                     org):
    client = sf_admin_client
    assert done_steps(client) == []
    html = client.get("/admin/").get_data(as_text=True)
    assert 'id="setup-connect"' in html and "is-next" in html.split('id="setup-connect"')[0]
    connect(client, emulator, *connected_app)  # noqa: F405
    assert done_steps(client) == ["connect"]
    assert client.get("/admin/integrations/salesforce/checks").status_code == 200
    assert done_steps(client) == ["connect", "checks"]
    page = team_page(org, (SATO,), sf_create_lead=True, sf_create_event=False)
    db.session.commit()
    assert done_steps(client) == ["connect", "checks"]  # ② alone is not the step
    assert f'/admin/pages/{page.id}/advanced' in client.get("/admin/").get_data(as_text=True)
    page.sf_create_event = True
    db.session.commit()
    _, record = booking_with_sync(page)
    assert done_steps(client) == ["connect", "checks", "page", "booking"]
    sync_jobs.run_sync_record(record.id)
    html = client.get("/admin/").get_data(as_text=True)
    assert "Salesforce連携の準備は完了しています" in html and "setup-step" not in html


def test_P1_page_list_shows_advanced_settings_and_salesforce_state(sf_admin_client, org):
    on = team_page(org, (SATO,), title="連携あり")
    off = team_page(org, (SATO,), title="連携なし", sf_create_lead=False, sf_create_event=False)
    db.session.commit()
    html = sf_admin_client.get("/admin/pages").get_data(as_text=True)
    for page in (on, off):
        assert f'href="/admin/pages/{page.id}/advanced" aria-label="詳細設定: {page.title}"' in html
    row = html.split(f'id="page-{on.id}"')[1].split("</tr>")[0]
    assert "②リード、③行動" in row and "有効" in row
    assert "無効" in html.split(f'id="page-{off.id}"')[1].split("</tr>")[0]


def test_C4_connected_screen_links_each_team_page_to_its_settings(sf_admin_client, emulator,
                                                                  connected_app, org):
    page = team_page(org, (SATO,), title="製品デモ", sf_create_lead=False, sf_create_event=False)
    db.session.commit()
    connect(sf_admin_client, emulator, *connected_app)  # noqa: F405
    html = sf_admin_client.get("/admin/integrations/salesforce/connected").get_data(as_text=True)
    assert f'href="/admin/pages/{page.id}/advanced"' in html and "製品デモ" in html


def test_C9_api_usage_reads_used_of_limit_with_percent(app):
    assert api_usage("api-usage=3/100000") == "3 / 100,000 (<0.1%)"
    assert api_usage("api-usage=25000/100000") == "25,000 / 100,000 (25.0%)"
    assert api_usage("api-usage=0/15000") == "0 / 15,000 (0.0%)"
    assert api_usage("something else") == "something else"
