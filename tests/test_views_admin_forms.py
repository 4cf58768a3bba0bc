"""予約フォーム設定 (入力フィールド設定): default fields and custom fields (F1, F2)."""

import pytest

from tests.factories import make_member, make_page
from webapp.extensions import db
from webapp.models import FormField


@pytest.fixture
def page(org):
    booking_page = make_page(org, [make_member(org)])
    db.session.commit()
    return booking_page


def field_data(**overrides):
    data = {"field_type": "text", "label": "部署名", "help_text": "", "choices": "",
            "hidden_value": "", "salesforce_field": ""}
    data.update(overrides)
    return data


def add(client, page, **overrides):
    return client.post_form(f"/admin/pages/{page.id}/fields/new", field_data(**overrides))


def test_F1_default_fields_are_listed_and_not_editable(admin_client, page):
    html = admin_client.get(f"/admin/pages/{page.id}/form").get_data(as_text=True)
    for label in ("氏名", "会社名", "メールアドレス", "変更できません"):
        assert label in html
    page.sf_split_name = True
    db.session.commit()
    html = admin_client.get(f"/admin/pages/{page.id}/form").get_data(as_text=True)
    assert "氏名(姓)" in html and "氏名(名)" in html


def test_F2_the_seven_field_types_are_offered_with_seed_names(admin_client, page):
    html = admin_client.get(f"/admin/pages/{page.id}/fields/new").get_data(as_text=True)
    for name in ("テキストフィールド", "テキストエリア", "ラジオボタン", "チェックボックス",
                 "ドロップダウン", "隠しフィールド", "日付", "Salesforce側のフィールド名"):
        assert name in html
    assert html.count("<option ") == 7


def test_F2_add_radio_field_with_choices_and_salesforce_name(admin_client, page):
    response = add(admin_client, page, field_type="radio", label="連絡手段", required="y",
                   choices=" Slack \n\nChatwork\nGoogle Chat", salesforce_field="Tool__c")
    assert response.status_code == 302
    [field] = page.fields
    assert field.choices == ["Slack", "Chatwork", "Google Chat"]
    assert (field.required, field.salesforce_field) == (True, "Tool__c")
    html = admin_client.get(f"/admin/pages/{page.id}/form").get_data(as_text=True)
    assert "連絡手段" in html and "Tool__c" in html


@pytest.mark.parametrize("overrides, message", [
    ({"field_type": "dropdown", "choices": "  \n "}, "選択肢を1つ以上入力してください。"),
    ({"field_type": "checkbox", "choices": "A\nB\nA"}, "同じ選択肢が複数あります。"),
    ({"field_type": "radio", "choices": "x" * 256}, "255文字以内"),
    ({"field_type": "hidden", "hidden_value": ""}, "隠しフィールドには設定値を入力してください。"),
    ({"field_type": "hidden", "hidden_value": "web", "required": "y"}, "必須にできません"),
    ({"field_type": "date", "salesforce_field": "Date__c"},
     "日付フィールドはまだSalesforceと連携できません。"),
    ({"salesforce_field": "1Bad-Name"}, "半角英字で始まり"),
    ({"salesforce_field": "A" * 101}, "100"),
    ({"label": ""}, "has-error"),
    ({"label": "x" * 201}, "200"),
    ({"field_type": "color"}, "has-error"),
])
def test_F2_bad_field_input_shows_a_message_and_stores_nothing(admin_client, page, overrides,
                                                               message):
    response = add(admin_client, page, **overrides)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.query(FormField).count() == 0


def test_F2_changing_type_discards_choices(admin_client, page):
    add(admin_client, page, field_type="radio", label="連絡手段", choices="Slack\nChatwork")
    [field] = page.fields
    url = f"/admin/pages/{page.id}/fields/{field.id}/edit"
    assert "Chatwork" in admin_client.get(url).get_data(as_text=True)
    response = admin_client.post_form(url, field_data(
        field_type="hidden", label="流入元", choices="Slack\nChatwork", hidden_value="web"))
    assert response.status_code == 302
    db.session.expire_all()
    assert (field.field_type, field.choices, field.hidden_value) == ("hidden", [], "web")


def test_F2_move_and_delete_fields(admin_client, page):
    for label in ("一", "二", "三"):
        add(admin_client, page, label=label)
    first, _, third = page.fields
    form_url = f"/admin/pages/{page.id}/form"
    response = admin_client.post_form(f"/admin/pages/{page.id}/fields/{third.id}/move",
                                      {"direction": "up"}, token_from=form_url,
                                      headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<div id="page-fields-{page.id}"')
    db.session.expire_all()
    assert [f.label for f in page.fields] == ["一", "三", "二"]
    admin_client.post_form(f"/admin/pages/{page.id}/fields/{first.id}/delete", {},
                           token_from=form_url)
    db.session.expire_all()
    assert [(f.label, f.position) for f in page.fields] == [("三", 0), ("二", 1)]


def test_F2_bad_move_direction_changes_nothing(admin_client, page):
    for label in ("一", "二"):
        add(admin_client, page, label=label)
    second = page.fields[1]
    response = admin_client.post_form(f"/admin/pages/{page.id}/fields/{second.id}/move",
                                      {"direction": "sideways"},
                                      token_from=f"/admin/pages/{page.id}/form")
    assert response.status_code == 302
    db.session.expire_all()
    assert [f.label for f in page.fields] == ["一", "二"]
