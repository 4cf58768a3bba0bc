"""Org behaviour the app relies on: Event validation, lead assignment rules, duplicate rules,
users by email (SPEC L1-L3, E1-E3)."""

from __future__ import annotations

import pytest
from simple_salesforce import format_soql

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def api(emulator):
    return emulator.api_session()


def _query(emulator, api, soql):
    response = api.get(emulator.data_url("query"), params={"q": soql})
    assert response.status_code == 200, response.text
    return response.json()


def _user_id(emulator, key):
    return next(u["Id"] for u in emulator.records("User") if u["Username"].startswith(key))


def _known_lead(emulator):
    return next(r["Id"] for r in emulator.records("Lead") if r["Email"] == "known@example.com")


def _event(**extra):
    body = {"Subject": "打ち合わせ", "Type": "Meeting", "Description": "予約ページ: デモ",
            "StartDateTime": "2024-05-01T01:00:00Z", "EndDateTime": "2024-05-01T01:30:00Z"}
    body.update(extra)
    return body


def test_E1_event_with_the_seven_fields(emulator, api):
    sato = _user_id(emulator, "sato")
    body = _event(WhoId=_known_lead(emulator), OwnerId=sato)
    created = api.post(emulator.data_url("sobjects/Event"), json=body)
    assert created.status_code == 201, created.text
    event = api.get(emulator.data_url(f"sobjects/Event/{created.json()['id']}")).json()
    assert event["DurationInMinutes"] == 30
    assert event["StartDateTime"] == "2024-05-01T01:00:00.000+0000"
    assert event["EndDateTime"] == "2024-05-01T01:30:00.000+0000"
    assert event["ActivityDateTime"] == event["StartDateTime"]
    assert event["OwnerId"] == sato
    rows = _query(emulator, api, format_soql("SELECT Who.Name, Who.Type, Owner.Name FROM Event "
                                             "WHERE Id = {}", event["Id"]))["records"]
    assert rows[0]["Who"]["Type"] == "Lead" and rows[0]["Owner"]["Name"] == "佐藤 花子"


@pytest.mark.parametrize("extra, code, field", [
    ({"EndDateTime": None}, "REQUIRED_FIELD_MISSING", "EndDateTime"),
    ({"EndDateTime": "2024-05-01T00:30:00Z"}, "FIELD_INTEGRITY_EXCEPTION", "EndDateTime"),
    ({"DurationInMinutes": 45}, "FIELD_INTEGRITY_EXCEPTION", "DurationInMinutes"),
    ({"StartDateTime": None}, "REQUIRED_FIELD_MISSING", "StartDateTime"),
    ({"Subject": "x" * 256}, "STRING_TOO_LONG", "Subject"),
    ({"Description": "x" * 32001}, "STRING_TOO_LONG", "Description"),
    ({"StartDateTime": "tomorrow"}, "JSON_PARSER_ERROR", None),
])
def test_event_time_rules(emulator, api, extra, code, field):
    response = api.post(emulator.data_url("sobjects/Event"), json=_event(**extra))
    assert response.status_code == 400
    error = response.json()[0]
    assert error["errorCode"] == code
    if field:
        assert error["fields"] == [field]


def test_event_duration_alone_sets_end(emulator, api):
    body = _event(EndDateTime=None, DurationInMinutes=60)
    body.pop("EndDateTime")
    created = api.post(emulator.data_url("sobjects/Event"), json=body).json()
    event = api.get(emulator.data_url(f"sobjects/Event/{created['id']}")).json()
    assert event["EndDateTime"] == "2024-05-01T02:00:00.000+0000"
    moved = api.patch(emulator.data_url(f"sobjects/Event/{created['id']}"),
                      json={"StartDateTime": "2024-05-02T03:00:00+09:00"})
    assert moved.status_code == 204
    event = api.get(emulator.data_url(f"sobjects/Event/{created['id']}")).json()
    assert event["StartDateTime"] == "2024-05-01T18:00:00.000+0000"
    assert event["EndDateTime"] == "2024-05-01T19:00:00.000+0000"  # duration kept


def test_event_who_must_be_lead_or_contact(emulator, api):
    account = emulator.records("Account")[0]["Id"]
    wrong = api.post(emulator.data_url("sobjects/Event"), json=_event(WhoId=account))
    assert wrong.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert wrong.json()[0]["fields"] == ["WhoId"]
    malformed = api.post(emulator.data_url("sobjects/Event"), json=_event(WhoId="00Qnope"))
    assert malformed.json()[0]["errorCode"] == "MALFORMED_ID"
    missing = api.post(emulator.data_url("sobjects/Event"),
                       json=_event(WhoId="00QIg0000000ZZZ"))
    assert missing.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    lead_with_what = api.post(emulator.data_url("sobjects/Event"),
                              json=_event(WhoId=_known_lead(emulator), WhatId=account))
    assert lead_with_what.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_E3_owner_must_be_an_active_user(emulator, api):
    inactive = _user_id(emulator, "takahashi")
    response = api.post(emulator.data_url("sobjects/Event"), json=_event(OwnerId=inactive))
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INACTIVE_OWNER_OR_USER"
    sato = _user_id(emulator, "sato")
    emulator.control("POST", f"users/{sato}/deactivate")
    again = api.post(emulator.data_url("sobjects/Event"), json=_event(OwnerId=sato))
    assert again.json()[0]["errorCode"] == "INACTIVE_OWNER_OR_USER"


def test_E3_users_by_email_case_insensitive_and_active_only(emulator, api):
    rows = _query(emulator, api, "SELECT Id, Email, IsActive FROM User "
                                 "WHERE Email IN ('SATO@example.com', 'Suzuki@Example.com', "
                                 "'tanaka@example.com', 'takahashi@example.com') "
                                 "AND IsActive = true ORDER BY Email")["records"]
    assert [r["Email"] for r in rows] == ["sato@example.com", "suzuki@example.com"]


def test_L3_owner_defaults_to_the_connecting_user(emulator, api):
    admin = emulator.reset()["admin_id"]
    api = emulator.api_session()
    created = api.post(emulator.data_url("sobjects/Lead"),
                       json={"LastName": "x", "Company": "y"}).json()
    assert api.get(emulator.data_url(f"sobjects/Lead/{created['id']}")).json()[
        "OwnerId"] == admin


def test_L3_assignment_rule_and_auto_assign_header(emulator, api):
    suzuki = _user_id(emulator, "suzuki")
    rule = emulator.set_org(assignment_rule={"active": True, "target_user_id": suzuki})
    body = {"LastName": "x", "Company": "y", "OwnerId": _user_id(emulator, "sato")}
    default = api.post(emulator.data_url("sobjects/Lead"), json=body).json()
    skipped = api.post(emulator.data_url("sobjects/Lead"), json=body,
                       headers={"Sforce-Auto-Assign": "false"}).json()
    by_id = api.post(emulator.data_url("sobjects/Lead"), json=body,
                     headers={"Sforce-Auto-Assign": rule["assignment_rule"]["rule_id"]}).json()
    owners = {r["Id"]: r["OwnerId"] for r in emulator.records("Lead")}
    assert owners[default["id"]] == suzuki  # header missing means TRUE
    assert owners[skipped["id"]] == body["OwnerId"]
    assert owners[by_id["id"]] == suzuki


def test_duplicate_rule_shapes_and_bypass(emulator, api):
    emulator.set_org(duplicate_rule={"active": True, "action": "allow"})
    body = {"LastName": "x", "Company": "y", "Email": "KNOWN@example.com"}
    blocked = api.post(emulator.data_url("sobjects/Lead"), json=body)
    assert blocked.status_code == 400
    error = blocked.json()[0]
    assert error["errorCode"] == "DUPLICATES_DETECTED"
    assert error["message"] == "Use one of these records?"
    result = error["duplicateResut"]
    assert result["allowSave"] is True and result["duplicateRuleEntityType"] == "Lead"
    assert result["matchResults"][0]["matchRecords"][0]["record"]["Id"] == _known_lead(emulator)
    allowed = api.post(emulator.data_url("sobjects/Lead"), json=body,
                       headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"})
    assert allowed.status_code == 201
    emulator.set_org(duplicate_rule={"action": "block"})
    hard = api.post(emulator.data_url("sobjects/Lead"), json=body,
                    headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"})
    assert hard.json()[0]["duplicateResut"]["allowSave"] is False


def test_L1_E2_seed_supports_lead_and_contact_matching(emulator, api):
    leads = _query(emulator, api, "SELECT Id, LastModifiedDate FROM Lead WHERE "
                                  "Email = 'dup@example.com' AND IsConverted = false "
                                  "ORDER BY LastModifiedDate DESC")["records"]
    assert len(leads) == 2 and leads[0]["LastModifiedDate"] > leads[1]["LastModifiedDate"]
    both = _query(emulator, api, "SELECT Id FROM Contact WHERE Email = 'known@example.com'")
    assert both["totalSize"] == 1
    converted = _query(emulator, api, "SELECT Id FROM Lead WHERE Email = "
                                      "'converted@example.com' AND IsConverted = false")
    assert converted["totalSize"] == 0
    twins = _query(emulator, api, "SELECT Id FROM Contact WHERE Email = 'twin@example.com'")
    assert twins["totalSize"] == 2


def test_deleting_a_lead_deletes_its_events(emulator, api):
    lead = _known_lead(emulator)
    assert api.delete(emulator.data_url(f"sobjects/Lead/{lead}")).status_code == 204
    events = [e for e in emulator.records("Event") if e["WhoId"] == lead]
    assert events and all(e["IsDeleted"] for e in events)
