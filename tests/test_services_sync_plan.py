"""Unit tests of the sync engine's pure parts: SOQL, who and owner choice, payloads, M7 values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from webapp.integrations import salesforce as sf
from webapp.services.sync import errors as sync_errors
from webapp.services.sync import plan as sync_plan
from webapp.services.sync import values as sf_values
from webapp.services.sync import wording

LEAD_DESCRIBE = {"fields": [
    {"name": "Department__c", "type": "string", "length": 10},
    {"name": "ChatTool__c", "type": "picklist", "picklistValues": [
        {"value": "Slack", "active": True}, {"value": "Chatwork", "active": True},
        {"value": "Old", "active": False}]},
    {"name": "Interests__c", "type": "multipicklist", "length": 4099, "picklistValues": [
        {"value": "日程調整", "active": True}, {"value": "CRM連携", "active": True}]},
    {"name": "Budget__c", "type": "currency", "precision": 18, "scale": 0},
    {"name": "Probability__c", "type": "percent", "precision": 3, "scale": 0},
    {"name": "EmployeeCount__c", "type": "double", "precision": 18, "scale": 0},
    {"name": "Newsletter__c", "type": "boolean"},
    {"name": "Company", "type": "string", "length": 255},
]}


def field(fid, kind, sf_name, hidden_value="", label=None):
    return SimpleNamespace(id=fid, field_type=kind, salesforce_field=sf_name,
                           hidden_value=hidden_value, label=label or sf_name)


# --- L1, P5: SOQL -------------------------------------------------------------------------------

@pytest.mark.parametrize("email, literal", [
    ("o'brien@example.com", r"o\'brien@example.com"),
    ("a\\b@example.com", r"a\\b@example.com"),
    ("x%_y@example.com", "x%_y@example.com"),  # `=` is not LIKE: % and _ stay literal
    ("x' OR Email != null--@example.com", r"x\' OR Email != null--@example.com"),
    ("山田@例え.jp", "山田@例え.jp"),
])
def test_L1_P5_lead_and_contact_queries_escape_the_email(email, literal):
    lead, contact = sync_plan.lead_soql(email), sync_plan.contact_soql(email)
    assert f"WHERE Email = '{literal}' AND IsConverted = false" in lead
    assert f"WHERE Email = '{literal}' ORDER BY" in contact
    assert "LIKE" not in lead and "LIKE" not in contact


def test_L1_lead_query_covers_unconverted_leads_only_newest_first():
    soql = sync_plan.lead_soql("a@example.com")
    assert "IsConverted = false" in soql and "ORDER BY LastModifiedDate DESC" in soql


def test_S4_event_recheck_query_uses_start_and_subject():
    start = datetime(2030, 1, 7, 1, 0, tzinfo=UTC)
    soql = sync_plan.event_soql("デモ: O'Brien様", start)
    assert "StartDateTime = 2030-01-07T01:00:00Z" in soql
    assert r"Subject = 'デモ: O\'Brien様'" in soql


# --- E2, E3 -------------------------------------------------------------------------------------

def test_E2_lead_wins_over_contact_and_newest_lead_is_chosen():
    leads = [{"Id": "00Qold", "LastModifiedDate": "2024-01-10T02:00:00.000+0000"},
             {"Id": "00Qnew", "LastModifiedDate": "2024-03-05T02:00:00.000+0000"}]
    contacts = [{"Id": "003a", "LastModifiedDate": "2025-01-01T00:00:00.000+0000"}]
    assert sync_plan.choose_who(leads, contacts) == sync_plan.Who("Lead", "00Qnew", 2)


def test_E2_newest_contact_without_lead_and_none_without_matches():
    contacts = [{"Id": "003a", "LastModifiedDate": "2024-01-05T02:00:00.000+0000"},
                {"Id": "003b", "LastModifiedDate": "2024-04-20T02:00:00.000+0000"}]
    assert sync_plan.choose_who([], contacts) == sync_plan.Who("Contact", "003b", 2)
    assert sync_plan.choose_who([], []) is None


def test_E3_owner_is_first_member_in_page_order_matching_an_active_user_case_insensitively():
    users = [{"Id": "005suzuki", "Email": "Suzuki@Example.com"},
             {"Id": "005sato", "Email": "sato@example.com"}]
    members = ["nobody@example.com", "SUZUKI@example.COM", "sato@example.com"]
    assert sync_plan.choose_owner(members, users, "005conn") == sync_plan.Owner(
        "005suzuki", "SUZUKI@example.COM")


def test_E3_connecting_user_when_no_member_matches():
    owner = sync_plan.choose_owner(["x@example.com"], [{"Id": "005a", "Email": "a@b.c"}], "005c")
    assert owner == sync_plan.Owner("005c", None)


# --- L2, P1, M1, M6, M7 ---------------------------------------------------------------------------

def booking(**kw):
    base = dict(name="山田 太郎", last_name="", first_name="", company="", email="t@example.com",
                answers={}, attendees=[], members=[], cancel_reason="",
                start_at=datetime(2030, 1, 7, 1, 0, tzinfo=UTC),
                end_at=datetime(2030, 1, 7, 1, 30, tzinfo=UTC))
    base.update(kw)
    return SimpleNamespace(**base)


def test_L2_P1_new_lead_uses_split_names_and_the_company_placeholder():
    split = booking(name="", last_name="山田", first_name="太郎")
    assert sync_plan.new_lead_fields(split, True, "未入力") == {
        "LastName": "山田", "FirstName": "太郎", "Company": "未入力", "Email": "t@example.com"}
    whole = booking(company="  Acme  ")
    assert sync_plan.new_lead_fields(whole, False, "未入力") == {
        "LastName": "山田 太郎", "Company": "Acme", "Email": "t@example.com"}


def test_M6_hidden_fields_overwrite_and_blank_shown_fields_leave_the_lead_alone():
    fields = [field(1, "text", "Department__c"), field(2, "hidden", "Newsletter__c", "true"),
              field(3, "radio", "ChatTool__c")]
    values, warnings = sync_plan.mapped_lead_fields(fields, {"1": "", "3": "Slack"},
                                                    LEAD_DESCRIBE, existing=True)
    assert values == {"Newsletter__c": True, "ChatTool__c": "Slack"}
    assert warnings == []


def test_M1_default_fields_and_date_fields_are_never_mapped():
    fields = [field(1, "text", "Company"), field(2, "date", "Department__c")]
    values, _ = sync_plan.mapped_lead_fields(fields, {"1": "x", "2": "2030-01-01"},
                                             LEAD_DESCRIBE, existing=False)
    assert values == {}


def test_M3_M7_bad_values_drop_only_their_field_with_a_warning_naming_field_and_value():
    fields = [field(1, "radio", "ChatTool__c"), field(2, "text", "Budget__c"),
              field(3, "text", "Department__c"), field(4, "checkbox", "Interests__c"),
              field(5, "text", "Missing__c")]
    answers = {"1": "Google Chat", "2": "たくさん", "3": "とても長い部署名です。営業部",
               "4": ["日程調整", "CRM連携"], "5": "x"}
    values, warnings = sync_plan.mapped_lead_fields(fields, answers, LEAD_DESCRIBE, False)
    assert values == {"Interests__c": "日程調整;CRM連携"}
    assert [(w["field"], w["value"], w["reason"]) for w in warnings] == [
        ("ChatTool__c", "Google Chat", "unknown_choice"), ("Budget__c", "たくさん", "not_a_number"),
        ("Department__c", "とても長い部署名です。営業部", "too_long"),
        ("Missing__c", "x", "field_missing")]


@pytest.mark.parametrize("value, sf_type, expected", [
    ("1,500", {"type": "currency", "precision": 18, "scale": 0}, 1500),
    ("¥２，０００", {"type": "currency", "precision": 18, "scale": 0}, 2000),
    ("50%", {"type": "percent", "precision": 3, "scale": 0}, 50),
    ("12.5", {"type": "double", "precision": 18, "scale": 2}, 12.5),
    ("TRUE", {"type": "boolean"}, True),
    ("false", {"type": "boolean"}, False),
    ("Slack", {"type": "picklist", "picklistValues": [{"value": "Slack", "active": True}]},
     "Slack"),
    ("a" * 10, {"type": "string", "length": 10}, "a" * 10),
])
def test_M4_M7_values_are_converted_to_the_field_type(value, sf_type, expected):
    assert sf_values.convert(value, sf_type) == expected


@pytest.mark.parametrize("value, sf_type, reason", [
    ("1000", {"type": "percent", "precision": 3, "scale": 0}, "not_a_number"),
    ("1.5", {"type": "int", "precision": 9}, "not_a_number"),
    ("yes", {"type": "boolean"}, "not_boolean"),
    ("Old", {"type": "picklist", "picklistValues": [{"value": "Old", "active": False}]},
     "unknown_choice"),
    ("a" * 11, {"type": "string", "length": 10}, "too_long"),
    ("2030-01-01", {"type": "date"}, "unsupported_type"),
])
def test_M7_unconvertible_values_are_dropped_with_a_reason(value, sf_type, reason):
    assert sf_values.convert(value, sf_type) == sf_values.Dropped(reason, value)


# --- E1, S7 -------------------------------------------------------------------------------------

def test_E1_event_has_the_seven_fields_and_a_description_of_the_booking():
    page = SimpleNamespace(title="製品デモ", fields=[field(1, "checkbox", "", label="ご興味"),
                                                    field(2, "hidden", "", "web", "流入元")])
    b = booking(company="Acme", answers={"1": ["日程調整", "CRM連携"]},
                attendees=[{"name": "同席 花子", "email": "hanako@example.com"}],
                members=[SimpleNamespace(name="佐藤 一郎"), SimpleNamespace(name="鈴木 次郎")])
    fields = sync_plan.event_fields(b, page, "Asia/Tokyo", "00Qx", "005y")
    assert set(fields) == {"Type", "Subject", "Description", "StartDateTime", "EndDateTime",
                           "WhoId", "OwnerId"}
    assert fields["StartDateTime"] == "2030-01-07T01:00:00.000+0000"
    assert fields["Subject"] == "製品デモ: 山田 太郎様"
    description = fields["Description"]
    for text in ("予約ページ: 製品デモ", "2030/01/07(月) 10:00 - 10:30", "佐藤 一郎、鈴木 次郎",
                 "同席 花子 <hanako@example.com>", "ご興味: 日程調整、CRM連携", "流入元: web"):
        assert text in description


def test_S7_cancel_prefixes_the_subject_and_describes_the_reason():
    page = SimpleNamespace(title="製品デモ", fields=[])
    b = booking(cancel_reason="都合が悪くなりました")
    fields = sync_plan.cancelled_event_fields(b, page, "Asia/Tokyo")
    assert fields["Subject"].startswith("キャンセル") and "製品デモ" in fields["Subject"]
    assert "キャンセル理由: 都合が悪くなりました" in fields["Description"]
    assert fields["ShowAs"] == "Free"  # no longer blocks the salesperson's calendar
    moved = sync_plan.moved_event_fields(
        booking(start_at=b.start_at + timedelta(days=1), end_at=b.end_at + timedelta(days=1)),
        page, "Asia/Tokyo")
    assert moved["StartDateTime"] == "2030-01-08T01:00:00.000+0000"


def test_skip_reasons_say_why_nothing_applies():
    assert sync_plan.skip_reason(False, True, True, True, False) == "plan"
    assert sync_plan.skip_reason(True, False, True, True, False) == "personal_page"
    assert sync_plan.skip_reason(True, True, False, False, False) == "no_settings"
    assert sync_plan.skip_reason(True, True, False, True, False) is None


def test_S3_errors_map_to_fixes_pointing_at_the_seed(app):
    entry = sync_errors.error_entry(sf.SalesforceRequestError(
        "Required fields are missing: [InternalCode__c]", "REQUIRED_FIELD_MISSING", 400,
        ["InternalCode__c"]))
    assert entry["fix"] == "required_field" and entry["fields"] == ["InternalCode__c"]
    with app.test_request_context("/"):
        assert "デフォルト値" in wording.sync_fix_text(entry["fix"])
    assert sync_errors.fix_key("DUPLICATES_DETECTED") == "duplicate_rule"
    assert sync_errors.fix_key("INVALID_FIELD") == "field_access"
    assert sync_errors.fix_key("STRING_TOO_LONG") == "too_long"
    assert sync_errors.fix_key("FIELD_INTEGRITY_EXCEPTION") == "field_integrity"
    assert sync_errors.fix_key("INACTIVE_OWNER_OR_USER") == "inactive_owner"


def test_S9_event_recheck_also_looks_at_every_start_an_attempt_sent():
    start = datetime(2030, 1, 7, 1, 0, tzinfo=UTC)
    earlier = [("デモ: 山田様", datetime(2030, 1, 6, 1, 0, tzinfo=UTC))]
    soql = sync_plan.event_soql("デモ: 山田様", start, earlier)
    assert "StartDateTime = 2030-01-07T01:00:00Z" in soql
    assert "StartDateTime = 2030-01-06T01:00:00Z" in soql and " OR " in soql
