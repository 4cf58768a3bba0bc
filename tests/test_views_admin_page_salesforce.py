"""予約ページ > 詳細設定 > Salesforce and the field mapping, against the emulator (P1-P5, M1-M5).

P2/P3/P4 are carried out by the sync engine (tests/test_services_sync.py); these
tests prove the settings are stored and shown, which is what the sync engine reads.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, event, select

from tests.factories import ALWAYS_WORKING, make_member, make_page
from tests.fixtures_salesforce import switch_to_other_org
from tests.test_views_public import first_start, post_booking
from webapp.extensions import db
from webapp.models import Booking, DescribeCache, FormField
from webapp.services.salesforce import connections

HX = {"HX-Request": "true"}
SETTINGS = {"sf_split_name": "y", "sf_create_lead": "y", "sf_create_event": "y",
            "sf_map_fields": "y", "sf_company_placeholder": "未入力", "sf_cancel_action": "mark"}


@pytest.fixture
def team_page(org):
    page = make_page(org, [make_member(org)], fields=[
        {"field_type": "text", "label": "予算", "salesforce_field": "Budget__c"},
        {"field_type": "radio", "label": "チャット", "salesforce_field": "ChatTool__c",
         "choices": ["Slack", "Google Chat"]},
        {"field_type": "text", "label": "秘密", "salesforce_field": "Hidden_By_FLS__c"},
        {"field_type": "text", "label": "メモ"},
    ])
    db.session.commit()
    return page


def advanced(client, page) -> str:
    return f"/admin/pages/{page.id}/advanced"


def save(client, page, data=None, headers=HX):
    return client.post_form(f"/admin/pages/{page.id}/salesforce", data or SETTINGS,
                            token_from=advanced(client, page), headers=headers)


def options(client, page, field_type="text", text=""):
    return client.get(f"/admin/pages/{page.id}/salesforce/field-options",
                      query_string={"field_type": field_type, "salesforce_field": text})


def field_form(page, **overrides) -> dict:
    data = {"field_type": "text", "label": "項目", "help_text": "", "choices": "",
            "hidden_value": "", "salesforce_field": ""}
    data.update(overrides)
    return data


def add_field(client, page, **overrides):
    return client.post_form(f"/admin/pages/{page.id}/fields/new", field_form(page, **overrides))


def api_calls(emulator) -> int:
    return emulator.usage()["total"]


# ----- the settings screen ------------------------------------------------------------------


def test_P1_P2_P3_P4_checkboxes_are_stored_by_the_save_button_through_htmx(sf_admin_client,
                                                                           sf_connection,
                                                                           team_page):
    html = sf_admin_client.get(advanced(sf_admin_client, team_page)).get_data(as_text=True)
    for label in ("① 姓名を分けて保存する", "② 新規リードを自動作成する",
                  "③ 新規行動を自動作成する", "④ 予約フォームのフィールドと連携させる"):
        assert label in html
    assert f'id="page-salesforce-{team_page.id}"' in html
    # The seed's step is tick, then 「変更を保存」: one explicit save like every admin form.
    assert 'hx-trigger="change"' not in html and "変更を保存" in html
    response = save(sf_admin_client, team_page)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<form id="page-salesforce-{team_page.id}"')
    assert "保存しました" in body and "saved" in response.headers["HX-Trigger"]
    db.session.expire_all()
    assert (team_page.sf_split_name, team_page.sf_create_lead, team_page.sf_create_event,
            team_page.sf_map_fields) == (True, True, True, True)
    save(sf_admin_client, team_page, dict(SETTINGS, sf_create_lead=None, sf_split_name=None))
    db.session.expire_all()
    assert (team_page.sf_split_name, team_page.sf_create_lead, team_page.sf_create_event) == (
        False, False, True)


def test_P1_split_name_setting_changes_the_public_form_and_bookings_store_the_parts(
        sf_admin_client, sf_connection, org):
    public = make_page(org, [make_member(org, working_hours=ALWAYS_WORKING)])
    db.session.commit()
    book = f"/p/{public.slug}/book?start={first_start(public)}"
    assert 'name="name"' in sf_admin_client.get(book).get_data(as_text=True)
    save(sf_admin_client, public, dict(SETTINGS, sf_map_fields=None))
    html = sf_admin_client.get(book).get_data(as_text=True)
    assert "氏名(姓)" in html and "氏名(名)" in html and 'name="name"' not in html
    response = post_booking(sf_admin_client, public, {
        "start": first_start(public), "last_name": "山田", "first_name": "太郎",
        "email": "taro@example.com"})
    assert response.status_code == 302
    booking = db.session.scalar(select(Booking))
    assert (booking.last_name, booking.first_name) == ("山田", "太郎")


def test_L2_blank_company_placeholder_answers_422_partial_and_changes_nothing(
        sf_admin_client, sf_connection, team_page):
    response = save(sf_admin_client, team_page, dict(SETTINGS, sf_company_placeholder="  "))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(f'<form id="page-salesforce-{team_page.id}"')
    assert "会社名の代わりに入れる値を入力してください。" in body
    db.session.expire_all()
    assert (team_page.sf_create_lead, team_page.sf_company_placeholder) == (False, "未入力")
    save(sf_admin_client, team_page, dict(SETTINGS, sf_company_placeholder="(個人)"))
    db.session.expire_all()
    assert team_page.sf_company_placeholder == "(個人)"


def test_S7_cancel_action_is_offered_and_stored(sf_admin_client, sf_connection, team_page):
    html = sf_admin_client.get(advanced(sf_admin_client, team_page)).get_data(as_text=True)
    assert "行動を残してキャンセルと記録する" in html and "行動を削除する" in html
    save(sf_admin_client, team_page, dict(SETTINGS, sf_cancel_action="delete"))
    db.session.expire_all()
    assert team_page.sf_cancel_action == "delete"
    assert save(sf_admin_client, team_page,
                dict(SETTINGS, sf_cancel_action="burn")).status_code == 422


def test_settings_without_htmx_redirect_with_a_flash(sf_admin_client, sf_connection, team_page):
    response = save(sf_admin_client, team_page, headers={})
    assert response.status_code == 302
    assert "Salesforce設定を保存しました。" in sf_admin_client.get(
        response.headers["Location"]).get_data(as_text=True)
    bad = save(sf_admin_client, team_page, dict(SETTINGS, sf_company_placeholder=""), headers={})
    assert bad.status_code == 422 and "<html" in bad.get_data(as_text=True)


def test_P4_map_fields_is_premium_only(sf_admin_client, sf_connection, team_page, org):
    org.plan = "enterprise"
    db.session.commit()
    html = sf_admin_client.get(advanced(sf_admin_client, team_page)).get_data(as_text=True)
    assert "プレミアムプランのみ" in html
    assert 'disabled id="sf_map_fields"' in html
    assert save(sf_admin_client, team_page).status_code == 200
    db.session.expire_all()
    assert team_page.sf_create_lead and not team_page.sf_map_fields


@pytest.mark.parametrize("plan", ["free", "standard"])
def test_C1_plans_below_enterprise_see_the_screen_disabled(sf_admin_client, sf_connection,
                                                          team_page, org, plan):
    org.plan = plan
    db.session.commit()
    html = sf_admin_client.get(advanced(sf_admin_client, team_page)).get_data(as_text=True)
    assert "エンタープライズプランとプレミアムプランでご利用いただけます" in html
    assert "disabled" in html
    response = save(sf_admin_client, team_page)
    assert response.status_code == 422 and "現在変更できません" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not team_page.sf_create_lead


def test_not_connected_screen_is_disabled_with_the_reason(admin_client, team_page):
    html = admin_client.get(advanced(admin_client, team_page)).get_data(as_text=True)
    assert "Salesforceと連携すると" in html and "Salesforceと連携していません。" in html
    assert save(admin_client, team_page).status_code == 422
    db.session.expire_all()
    assert not team_page.sf_create_lead


def test_C7_broken_connection_disables_the_screen_and_shows_the_banner(
        sf_admin_client, sf_connection, team_page, org):
    connections.mark_broken(org.id, "invalid_grant: expired")
    html = sf_admin_client.get(advanced(sf_admin_client, team_page)).get_data(as_text=True)
    assert "要再連携" in html and "Salesforceとの連携が切れているため" in html
    assert save(sf_admin_client, team_page).status_code == 422


def test_personal_pages_say_why_not(sf_admin_client, sf_connection, org):
    personal = make_page(org, [make_member(org)], kind="personal")
    db.session.commit()
    html = sf_admin_client.get(advanced(sf_admin_client, personal)).get_data(as_text=True)
    assert "個人用の予約ページではSalesforce連携をご利用になれません" in html
    assert "page-salesforce-" not in html
    assert save(sf_admin_client, personal).status_code == 422


def test_P2_P3_combination_table_shows_outcomes_and_marks_the_current_row(
        sf_admin_client, sf_connection, team_page):
    """The table of what ② and ③ do together; its note words the P5 matching rule, which
    test_L1_P5_tricky_emails_match_exactly_that_email proves in the sync engine."""
    save(sf_admin_client, team_page, dict(SETTINGS, sf_create_event=None))
    html = sf_admin_client.get(advanced(sf_admin_client, team_page)).get_data(as_text=True)
    assert "デフォルト項目のメールアドレスだけを使います" in html
    assert "大文字と小文字は区別しません" in html
    assert "新規リードを作成し、そのリードに行動を作成します。" in html
    current = html.split('aria-current="true"', 1)[1].split("</tr>", 1)[0]
    assert "新規リードを作成します。行動は作成しません。" in current


# ----- mapping overview (P4, M1-M5) --------------------------------------------------------


def test_mapping_overview_lists_fields_types_states_and_pencil_links(
        sf_admin_client, sf_connection, team_page):
    html = sf_admin_client.get(advanced(sf_admin_client, team_page)).get_data(as_text=True)
    budget, chat, hidden, memo = team_page.fields
    row = html.split(f'id="mapping-{budget.id}"', 1)[1].split("</tr>", 1)[0]
    assert "Budget__c" in row and "通貨" in row and "OK" in row
    assert f'/admin/pages/{team_page.id}/fields/{budget.id}/edit' in row
    row = html.split(f'id="mapping-{chat.id}"', 1)[1].split("</tr>", 1)[0]
    assert "注意" in row and "Google Chat" in row
    row = html.split(f'id="mapping-{hidden.id}"', 1)[1].split("</tr>", 1)[0]
    assert "項目レベルセキュリティ" in row
    row = html.split(f'id="mapping-{memo.id}"', 1)[1].split("</tr>", 1)[0]
    assert "未設定" in row


def test_describe_cache_is_refreshed_on_demand(sf_admin_client, sf_connection, team_page,
                                               emulator):
    sf_admin_client.get(advanced(sf_admin_client, team_page))
    before = api_calls(emulator)
    sf_admin_client.get(advanced(sf_admin_client, team_page))
    assert api_calls(emulator) == before  # warm: no Salesforce call
    response = sf_admin_client.post_form(f"/admin/pages/{team_page.id}/salesforce/refresh", {},
                                         token_from=advanced(sf_admin_client, team_page))
    assert response.status_code == 302
    assert api_calls(emulator) == before + 1


def test_S8_read_only_screens_and_autocomplete_never_commit(sf_admin_client, sf_connection,
                                                             team_page, emulator):
    """A cold describe is stored in its own short transaction, not in the request's."""
    db.session.execute(delete(DescribeCache))
    db.session.commit()
    commits = []
    listener = lambda session: commits.append(session)  # noqa: E731
    event.listen(db.session, "after_commit", listener)
    try:
        assert sf_admin_client.get(advanced(sf_admin_client, team_page)).status_code == 200
        assert options(sf_admin_client, team_page, text="Bud").status_code == 200
        assert sf_admin_client.get("/admin/integrations/salesforce/checks").status_code == 200
    finally:
        event.remove(db.session, "after_commit", listener)
    assert commits == []
    before = api_calls(emulator)
    assert "Budget__c" in options(sf_admin_client, team_page, text="Bud").get_data(as_text=True)
    assert api_calls(emulator) == before  # the describes fetched above were stored
    stored = {row.sobject for row in db.session.scalars(select(DescribeCache))}
    assert stored == {"Lead", "Event", "LoginIpRange@profile"}  # 事前確認 2's ranges too


# ----- autocomplete (M5) --------------------------------------------------------------------


def test_M5_options_match_name_or_label_and_show_label_and_type(sf_admin_client, sf_connection,
                                                                team_page):
    body = options(sf_admin_client, team_page, "text", "bud").get_data(as_text=True)
    assert body.lstrip().startswith(f'<div id="sf-field-options-{team_page.id}"')
    assert re.search(r'role="option" id="[^"]+" data-value="Budget__c" aria-selected="false">'
                     r'予算 \(通貨\) <span class="mono combo-api">Budget__c</span>', body)
    assert "予算" in options(sf_admin_client, team_page, "text", "予算").get_data(as_text=True)


def test_M5_options_offer_compatible_types_only(sf_admin_client, sf_connection, team_page):
    radio = options(sf_admin_client, team_page, "radio").get_data(as_text=True)
    assert 'data-value="ChatTool__c"' in radio and 'data-value="Budget__c"' not in radio
    assert 'data-value="Interests__c"' not in radio
    dropdown = options(sf_admin_client, team_page, "dropdown").get_data(as_text=True)
    assert 'data-value="Interests__c"' in dropdown and 'data-value="ChatTool__c"' not in dropdown
    text = options(sf_admin_client, team_page, "text").get_data(as_text=True)
    for default in ("LastName", "Company", "Email"):
        assert f'data-value="{default}"' not in text  # M1
    assert 'role="option"' not in options(sf_admin_client, team_page, "date").get_data(
        as_text=True)


def test_M5_warm_cache_makes_no_salesforce_call_per_keystroke(sf_admin_client, sf_connection,
                                                              team_page, emulator):
    options(sf_admin_client, team_page, "text", "b")  # cold: one describe
    before = api_calls(emulator)
    for text in ("bu", "bud", "budg", "budge", "budget"):
        assert "Budget__c" in options(sf_admin_client, team_page, "text", text).get_data(
            as_text=True)
    assert api_calls(emulator) == before
    assert db.session.scalar(select(db.func.count()).select_from(DescribeCache)) >= 1


def test_M5_not_connected_answers_200_with_a_notice(admin_client, team_page):
    response = options(admin_client, team_page, "text", "bud")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'role="option"' not in body and "フィールド名を直接入力してください" in body


def test_M5_salesforce_down_answers_200_with_a_notice(sf_admin_client, sf_connection, team_page,
                                                      emulator):
    emulator.control("POST", "faults", {"kind": "503", "count": 10, "path": "describe"})
    response = options(sf_admin_client, team_page, "text", "bud")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'role="option"' not in body and "Salesforceに接続できないため" in body


def test_M5_field_form_input_is_wired_to_the_autocomplete(sf_admin_client, sf_connection,
                                                          team_page):
    budget = team_page.fields[0]
    for url in (f"/admin/pages/{team_page.id}/fields/new",
                f"/admin/pages/{team_page.id}/fields/{budget.id}/edit"):
        html = sf_admin_client.get(url).get_data(as_text=True)
        assert 'role="combobox"' in html and 'aria-autocomplete="list"' in html
        assert f'aria-controls="sf-fields-{team_page.id}"' in html
        assert 'hx-trigger="input changed delay:300ms, focus once"' in html
        assert 'hx-include="#field_type"' in html
        assert f'<ul id="sf-fields-{team_page.id}" role="listbox"' in html


def test_O2_other_organizations_pages_answer_404(sf_admin_client, sf_connection, team_page):
    switch_to_other_org(sf_admin_client)
    assert options(sf_admin_client, team_page).status_code == 404
    assert sf_admin_client.get(advanced(sf_admin_client, team_page)).status_code == 404


# ----- save-time checks in the field form (M1-M5) -------------------------------------------


def stored(page, label: str) -> FormField | None:
    db.session.expire_all()
    return next((f for f in page.fields if f.label == label), None)


@pytest.mark.parametrize("name", ["LastName", "FirstName", "Company", "Email", "email"])
def test_M1_default_fields_cannot_be_mapped(sf_admin_client, sf_connection, team_page, name):
    response = add_field(sf_admin_client, team_page, label="x", salesforce_field=name)
    assert response.status_code == 200
    assert "デフォルト項目" in response.get_data(as_text=True)
    assert stored(team_page, "x") is None


def test_M1_refused_even_without_a_connection(admin_client, team_page):
    response = add_field(admin_client, team_page, label="x", salesforce_field="Company")
    assert response.status_code == 200 and stored(team_page, "x") is None


def test_M2_incompatible_type_is_refused_with_the_reason(sf_admin_client, sf_connection,
                                                        team_page):
    response = add_field(sf_admin_client, team_page, label="x", field_type="radio",
                         choices="A\nB", salesforce_field="Budget__c")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and stored(team_page, "x") is None
    assert ("フィールドタイプ「ラジオボタン」はSalesforceのデータ型「通貨」と連携できません。"
            in html)
    assert "連携できるデータ型: 選択リスト" in html


def test_M2_dropdown_maps_to_multi_select_not_picklist(sf_admin_client, sf_connection,
                                                      team_page):
    refused = add_field(sf_admin_client, team_page, label="x", field_type="dropdown",
                        choices="Slack", salesforce_field="ChatTool__c")
    assert refused.status_code == 200 and stored(team_page, "x") is None
    ok = add_field(sf_admin_client, team_page, label="y", field_type="dropdown",
                   choices="Slack", salesforce_field="Interests__c")
    assert ok.status_code == 302 and stored(team_page, "y").salesforce_field == "Interests__c"


def test_M2_date_fields_are_refused(sf_admin_client, sf_connection, team_page):
    response = add_field(sf_admin_client, team_page, label="x", field_type="date",
                         salesforce_field="PreferredDate__c")
    assert response.status_code == 200 and stored(team_page, "x") is None


def test_M2_editing_to_an_incompatible_type_is_refused(sf_admin_client, sf_connection,
                                                       team_page):
    budget = team_page.fields[0]
    url = f"/admin/pages/{team_page.id}/fields/{budget.id}/edit"
    response = sf_admin_client.post_form(url, field_form(
        team_page, field_type="hidden", label="予算", hidden_value="true",
        salesforce_field="Budget__c"))
    assert response.status_code == 302  # hidden -> currency is allowed
    response = sf_admin_client.post_form(url, field_form(
        team_page, field_type="checkbox", label="予算", choices="A", salesforce_field="Budget__c"))
    assert response.status_code == 200
    db.session.expire_all()
    assert budget.field_type == "hidden"


def test_M3_missing_choices_are_saved_with_a_warning_listing_them(sf_admin_client,
                                                                  sf_connection, team_page):
    response = add_field(sf_admin_client, team_page, label="ツール", field_type="radio",
                         choices="Slack\nChatwork\nMicrosoft Teams\nGoogle Chat",
                         salesforce_field="ChatTool__c")
    assert response.status_code == 302
    assert stored(team_page, "ツール").salesforce_field == "ChatTool__c"
    html = sf_admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "flash-warning" in html and "Google Chat" in html
    assert "選択リストにない" in html


@pytest.mark.parametrize("value, saved", [("true", True), ("false", True), ("TRUE", False),
                                          ("はい", False)])
def test_M4_hidden_field_for_a_checkbox_needs_true_or_false(sf_admin_client, sf_connection,
                                                            team_page, value, saved):
    response = add_field(sf_admin_client, team_page, label="メルマガ", field_type="hidden",
                         hidden_value=value, salesforce_field="Newsletter__c")
    assert (response.status_code == 302) is saved
    assert (stored(team_page, "メルマガ") is not None) is saved
    if not saved:
        assert "「true」か「false」" in response.get_data(as_text=True)


def test_M2_hidden_field_for_a_picklist_must_equal_a_choice(sf_admin_client, sf_connection,
                                                           team_page):
    refused = add_field(sf_admin_client, team_page, label="x", field_type="hidden",
                        hidden_value="slack", salesforce_field="ChatTool__c")
    assert refused.status_code == 200 and "完全に一致" in refused.get_data(as_text=True)
    ok = add_field(sf_admin_client, team_page, label="y", field_type="hidden",
                   hidden_value="Slack", salesforce_field="ChatTool__c")
    assert ok.status_code == 302


def test_M5_field_hidden_by_field_level_security_can_still_be_saved_with_a_warning(
        sf_admin_client, sf_connection, team_page, emulator):
    emulator.set_org(hidden_fields=["Lead.Department__c"])
    body = options(sf_admin_client, team_page, "text", "depart").get_data(as_text=True)
    assert "Department__c" not in body  # not suggested
    response = add_field(sf_admin_client, team_page, label="部署", salesforce_field="Department__c")
    assert response.status_code == 302
    assert stored(team_page, "部署").salesforce_field == "Department__c"
    html = sf_admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "項目レベルセキュリティ" in html


def test_M5_without_a_connection_names_are_saved_with_a_warning(admin_client, team_page):
    response = add_field(admin_client, team_page, label="x", salesforce_field="Anything__c")
    assert response.status_code == 302 and stored(team_page, "x").salesforce_field == "Anything__c"
