"""Views of the 同期ログ (S3): what was done with Lightning links, filters, live rows, retry."""

from __future__ import annotations

from tests.fixtures_salesforce import switch_to_other_org
from tests.fixtures_sync import booking_with_sync, reload, team_page
from webapp.extensions import db
from webapp.jobs import sync as sync_jobs


def test_S3_log_lists_what_was_done_with_links_into_salesforce(
        sf_connection, sf_admin_client, org, emulator, redis_conn):
    page = team_page(org)
    booking, record = booking_with_sync(page, email="log@example.com",
                                        name="<script>alert(1)</script>")
    sync_jobs.run_sync_record(record.id)
    record = reload(record)
    html = sf_admin_client.get("/admin/syncs").get_data(as_text=True)
    lead_id, event_id = record.result["lead"]["id"], record.result["event"]["id"]
    assert f'{emulator.instance_url}/lightning/r/Lead/{lead_id}/view' in html
    assert f'{emulator.instance_url}/lightning/r/Event/{event_id}/view' in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'hx-trigger="every 2s"' not in html  # final rows do not poll
    assert sf_admin_client.get(f"{emulator.instance_url}/lightning/r/Lead/{lead_id}/view"
                               ) is not None


def test_S3_rows_poll_while_pending_and_filters_apply(sf_connection, sf_admin_client, org):
    page = team_page(org)
    other_page = team_page(org, title="別ページ")
    _, record = booking_with_sync(page)
    _, other = booking_with_sync(other_page, email="other@example.com")
    row = sf_admin_client.get(f"/admin/syncs/{record.id}/row").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in row and f'id="sync-{record.id}"' in row
    html = sf_admin_client.get(f"/admin/syncs?page={other_page.id}&status=pending"
                               ).get_data(as_text=True)
    assert f'id="sync-{other.id}"' in html and f'id="sync-{record.id}"' not in html
    html = sf_admin_client.get("/admin/syncs?from=2099-01-01").get_data(as_text=True)
    assert f'id="sync-{record.id}"' not in html
    assert sf_admin_client.get("/admin/syncs?status=failed").status_code == 200


def test_S3_failed_sync_shows_the_fix_and_can_be_retried(
        sf_connection, sf_admin_client, org, emulator, redis_conn):
    emulator.set_org(required_lead_field_without_default=True)
    page = team_page(org)
    _, record = booking_with_sync(page)
    sync_jobs.run_sync_record(record.id)
    html = sf_admin_client.get("/admin/syncs?status=failed").get_data(as_text=True)
    assert "REQUIRED_FIELD_MISSING" in html and "デフォルト値" in html
    assert sf_admin_client.post(f"/admin/syncs/{record.id}/retry").status_code == 400  # CSRF
    response = sf_admin_client.post_form(f"/admin/syncs/{record.id}/retry", {},
                                         token_from="/admin/syncs")
    assert response.status_code == 302
    assert reload(record).status == "pending" and redis_conn.llen("rq:queue:apo-sync") == 1
    emulator.set_org(required_lead_field_without_default=False)
    sync_jobs.run_sync_record(record.id)
    assert reload(record).status == "succeeded"


def test_O2_other_organizations_syncs_answer_404(sf_connection, sf_admin_client, org):
    _, record = booking_with_sync(team_page(org))
    switch_to_other_org(sf_admin_client)
    assert sf_admin_client.get(f"/admin/syncs/{record.id}/row").status_code == 404
    assert sf_admin_client.post_form(f"/admin/syncs/{record.id}/retry", {},
                                     token_from="/admin/syncs").status_code == 404
    assert f'sync-{record.id}"' not in sf_admin_client.get("/admin/syncs").get_data(as_text=True)


def test_S3_home_counts_failed_and_parked_syncs_with_links(sf_connection, sf_admin_client, org):
    _, record = booking_with_sync(team_page(org))
    record.status = "waiting_reconnect"
    db.session.commit()
    html = sf_admin_client.get("/admin/").get_data(as_text=True)
    assert "/admin/syncs?status=waiting_reconnect" in html and "/admin/syncs?status=failed" in html


def test_S3_S8_log_names_the_owner_and_records_beside_their_ids_without_api_calls(
        sf_connection, sf_admin_client, org, emulator, redis_conn):
    page = team_page(org)  # its member is sato@example.com, a Salesforce user (E3)
    booking, record = booking_with_sync(page, email="names@example.com", name="名前 太郎")
    sync_jobs.run_sync_record(record.id)
    record = reload(record)
    before = emulator.usage()["total"]
    html = sf_admin_client.get("/admin/syncs").get_data(as_text=True)
    assert emulator.usage()["total"] == before  # names come from caches, not from Salesforce
    row = html.split(f'id="sync-{record.id}"')[1].split("</tr>")[0]
    assert "割り当て先: 佐藤 一郎 (sato@example.com)" in row
    assert "名前 太郎</a>" in row and record.result["lead"]["id"] in row
    assert f"{page.title}: 名前 太郎様</a>" in row and record.result["event"]["id"] in row
