"""Raw-HTTP conformance of the data API: every error shape of the reference, CRUD
validation, headers, limits and faults."""

from __future__ import annotations

import threading
import time

import pytest
import requests

pytestmark = pytest.mark.timeout(30)
SESSION_INVALID = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


@pytest.fixture
def api(emulator):
    return emulator.api_session()


def _query(emulator, api, soql: str, **kwargs):
    return api.get(emulator.data_url("query/"), params={"q": soql}, **kwargs)


def _lead(**extra) -> dict:
    body = {"LastName": "Doe", "Company": "Acme", "Email": "doe@example.com"}
    body.update(extra)
    return body


def test_versions_list_needs_no_token_and_counts_nothing(emulator):
    response = requests.get(f"{emulator.instance_url}/services/data/")
    versions = response.json()
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    assert versions == sorted(versions, key=lambda v: float(v["version"]))  # oldest first
    assert "Sforce-Limit-Info" not in response.headers
    assert emulator.usage()["total"] == 0


def test_missing_bad_and_old_scheme_tokens(emulator, api):
    url = emulator.data_url("limits")
    assert requests.get(url).status_code == 401
    bad = requests.get(url, headers={"Authorization": "Bearer 00Dxx!nope"})
    assert (bad.status_code, bad.json()) == (401, SESSION_INVALID)
    token = api.headers["Authorization"].split()[1]
    assert requests.get(url, headers={"Authorization": f"OAuth {token}"}).status_code == 200


def test_unknown_version_and_resource_are_404(emulator, api):
    assert api.get(emulator.data_url("limits", version="99.0")).json() == NOT_FOUND
    response = api.get(emulator.data_url("nosuchthing"))
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert api.get(emulator.data_url("sobjects/Foo__c")).status_code == 404


def test_trailing_slash_is_optional_and_never_redirects(emulator, api):
    for path in ("limits", "limits/", "sobjects/Lead/describe", "sobjects/Lead/describe/"):
        response = api.get(emulator.data_url(path), allow_redirects=False)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == "application/json;charset=UTF-8"


def test_limit_info_header_and_limits_resource_agree(emulator, api):
    api.get(emulator.data_url("limits"))
    response = api.get(emulator.data_url("limits/"))
    assert response.headers["Sforce-Limit-Info"] == "api-usage=2/100000"
    assert response.json()["DailyApiRequests"] == {"Max": 100000, "Remaining": 99998}
    usage = emulator.usage()
    assert usage["total"] == 2 and usage["by_endpoint"] == {"GET /limits": 2}


def test_daily_limit_exceeded(emulator, api):
    emulator.set_org(daily_limit=3)
    for _ in range(3):
        assert api.get(emulator.data_url("limits")).status_code == 200
    over = api.get(emulator.data_url("limits"))
    assert over.status_code == 403
    assert over.json() == [{"message": "TotalRequests Limit exceeded.",
                            "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    emulator.control("POST", "usage/reset")
    assert api.get(emulator.data_url("limits")).status_code == 200


def test_C9_api_disabled_for_org(emulator, api):
    emulator.set_org(api_disabled=True)
    response = _query(emulator, api, "SELECT Id FROM Lead")
    assert response.status_code == 403
    assert response.json()[0]["errorCode"] == "API_DISABLED_FOR_ORG"


def test_create_returns_201_with_18_char_id_and_defaults(emulator, api):
    response = api.post(emulator.data_url("sobjects/Lead/"), json=_lead())
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True and body["errors"] == []
    record = api.get(emulator.data_url(f"sobjects/Lead/{body['id']}")).json()
    assert record["attributes"] == {"type": "Lead",
                                    "url": f"/services/data/v59.0/sobjects/Lead/{body['id']}"}
    assert record["Status"] == "Open - Not Contacted"
    assert record["IsConverted"] is False and record["CustomerRank__c"] == "C"
    assert record["CreatedDate"].endswith(".000+0000")
    assert record["LastModifiedDate"] == record["SystemModstamp"] == record["CreatedDate"]
    assert record["Name"] == "Doe"


@pytest.mark.parametrize("body, status, expected", [
    ({"Id": "00Q000000000001AAA", "LastName": "x", "Company": "y"}, 400,
     [{"message": "The Id field should not be specified in the sobject data.",
       "errorCode": "INVALID_FIELD"}]),
    ({"LastName": "x"}, 400, [{"message": "Required fields are missing: [Company]",
                               "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Company"]}]),
    ({}, 400, [{"message": "Required fields are missing: [LastName, Company]",
                "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName", "Company"]}]),
    (_lead(Name="x"), 400, [{
        "message": "Unable to create/update fields: Name. Please check the security settings "
                   "of this field and verify that it is read/write for your profile or "
                   "permission set.",
        "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "fields": ["Name"]}]),
    (_lead(LeadSource="Webinar", ChatTool__c="Google Chat"), 400, [{
        "message": "利用チャットツール: bad value for restricted picklist field: Google Chat",
        "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "fields": ["ChatTool__c"]}]),
    (_lead(Email="not an email"), 400, [{
        "message": "Email: invalid email address: not an email",
        "errorCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"]}]),
    (_lead(FirstName="x" * 41), 400, [{
        "message": f"First Name: data value too large: {'x' * 41} (max length=40)",
        "errorCode": "STRING_TOO_LONG", "fields": ["FirstName"]}]),
])
def test_create_validation_errors(emulator, api, body, status, expected):
    response = api.post(emulator.data_url("sobjects/Lead"), json=body)
    assert response.status_code == status
    assert response.json() == expected


def test_M2_every_custom_field_type_round_trips(emulator, api):
    body = _lead(Department__c="営業部", ReferenceUrl__c="https://a.example",
                 SubEmail__c="sub@example.com", Notes__c="<b>太字</b>", Inquiry__c="長文" * 500,
                 Memo__c="メモ", DirectPhone__c="03-1234-5678", EmployeeCount__c="120",
                 Budget__c=1000000, SecretCode__c="秘密", Probability__c=75,
                 ChatTool__c="Slack", ContactPreference__c="FAX (not a listed choice)",
                 Interests__c="日程調整;CRM連携;日程調整", Newsletter__c="true",
                 PreferredDate__c="2024-06-01")
    created = api.post(emulator.data_url("sobjects/Lead"), json=body).json()
    record = api.get(emulator.data_url(f"sobjects/Lead/{created['id']}")).json()
    assert record["EmployeeCount__c"] == 120.0 and record["Budget__c"] == 1000000.0
    assert record["Interests__c"] == "日程調整;CRM連携"  # duplicates dropped
    assert record["Newsletter__c"] is True
    assert record["ContactPreference__c"] == "FAX (not a listed choice)"  # unrestricted


@pytest.mark.parametrize("field, value, message_start", [
    ("Newsletter__c", "maybe", "Cannot deserialize instance of boolean"),
    ("Budget__c", "lots", "Cannot deserialize instance of double"),
    ("PreferredDate__c", "2024-13-45", "Cannot deserialize instance of date"),
])
def test_M7_type_errors_are_json_parser_errors(emulator, api, field, value, message_start):
    response = api.post(emulator.data_url("sobjects/Lead"), json=_lead(**{field: value}))
    assert response.status_code == 400
    error = response.json()[0]
    assert error["errorCode"] == "JSON_PARSER_ERROR"
    assert error["message"].startswith(message_start)


def test_malformed_json_body(emulator, api):
    response = api.post(emulator.data_url("sobjects/Lead"), data="{LastName: x",
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert "[line:1, column:2]" in response.json()[0]["message"]


def test_update_delete_and_missing_ids(emulator, api):
    lead_id = api.post(emulator.data_url("sobjects/Lead"), json=_lead()).json()["id"]
    response = api.patch(emulator.data_url(f"sobjects/Lead/{lead_id[:15]}"),
                         json={"title": "部長"})  # field names are case-insensitive
    assert (response.status_code, response.content) == (204, b"")
    assert api.get(emulator.data_url(f"sobjects/Lead/{lead_id}"),
                   params={"fields": "Title,Email"}).json() == {
        "attributes": {"type": "Lead", "url": f"/services/data/v59.0/sobjects/Lead/{lead_id}"},
        "Title": "部長", "Email": "doe@example.com"}
    cleared = api.patch(emulator.data_url(f"sobjects/Lead/{lead_id}"), json={"Company": None})
    assert cleared.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    readonly = api.patch(emulator.data_url(f"sobjects/Lead/{lead_id}"),
                         json={"IsConverted": True})
    assert readonly.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert api.delete(emulator.data_url(f"sobjects/Lead/{lead_id}")).status_code == 204
    gone = api.get(emulator.data_url(f"sobjects/Lead/{lead_id}"))
    assert gone.status_code == 404 and gone.json()[0]["errorCode"] == "ENTITY_IS_DELETED"
    missing = api.get(emulator.data_url("sobjects/Lead/00QIg00000ZZZZZ"))
    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)
    malformed = api.patch(emulator.data_url("sobjects/Lead/xyz"), json={})
    assert malformed.status_code == 404
    method = api.put(emulator.data_url(f"sobjects/Lead/{lead_id}"), json={})
    assert method.status_code == 405
    assert method.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_L1_converted_lead_cannot_be_updated(emulator, api):
    converted = next(r for r in emulator.records("Lead") if r["IsConverted"])
    response = api.patch(emulator.data_url(f"sobjects/Lead/{converted['Id']}"),
                         json={"Title": "x"})
    assert response.json()[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_describe_field_properties(emulator, api):
    describe = api.get(emulator.data_url("sobjects/Lead/describe")).json()
    fields = {f["name"]: f for f in describe["fields"]}
    assert describe["keyPrefix"] == "00Q" and describe["name"] == "Lead"
    assert fields["Inquiry__c"]["type"] == "textarea"
    assert fields["Inquiry__c"]["extraTypeInfo"] == "plaintextarea"
    assert fields["Inquiry__c"]["length"] == 32768 and not fields["Inquiry__c"]["filterable"]
    assert fields["Notes__c"]["htmlFormatted"] is True
    status = fields["Status"]
    # A real describe carries the default both on the field and on its picklist entry.
    assert status["defaultedOnCreate"] and status["defaultValue"] == "Open - Not Contacted"
    assert [v["value"] for v in status["picklistValues"] if v["defaultValue"]] == [
        "Open - Not Contacted"]
    chat = fields["ChatTool__c"]
    assert chat["restrictedPicklist"] and chat["label"] == "利用チャットツール"
    assert {v["value"]: v["active"] for v in chat["picklistValues"]} == {
        "Slack": True, "Chatwork": True, "Microsoft Teams": True, "Skype": False}
    assert "Google Chat" not in {v["value"] for v in chat["picklistValues"]}
    types = {f["type"] for f in describe["fields"] if f["custom"]}
    assert types == {"string", "url", "email", "textarea", "phone", "double", "currency",
                     "encryptedstring", "percent", "picklist", "multipicklist", "boolean",
                     "date"}
    assert fields["OwnerId"]["referenceTo"] == ["Group", "User"]
    assert fields["OwnerId"]["relationshipName"] == "Owner"
    rank = fields["CustomerRank__c"]
    assert (rank["nillable"], rank["defaultedOnCreate"], rank["defaultValue"]) == (
        False, True, "C")


def test_C9_seven_event_fields_in_describe(emulator, api):
    describe = api.get(emulator.data_url("sobjects/Event/describe")).json()
    fields = {f["name"]: f for f in describe["fields"]}
    expected = {"Type": "picklist", "Subject": "combobox", "Description": "textarea",
                "StartDateTime": "datetime", "EndDateTime": "datetime", "WhoId": "reference",
                "OwnerId": "reference"}
    assert {name: fields[name]["type"] for name in expected} == expected
    assert fields["Description"]["length"] == 32000
    assert fields["WhoId"]["referenceTo"] == ["Contact", "Lead"]
    assert fields["OwnerId"]["referenceTo"] == ["Calendar", "User"]


def test_C9_required_field_without_default_switch(emulator, api):
    emulator.set_org(required_lead_field_without_default=True)
    describe = api.get(emulator.data_url("sobjects/Lead/describe")).json()
    field = next(f for f in describe["fields"] if f["name"] == "InternalCode__c")
    assert field["nillable"] is False and field["defaultedOnCreate"] is False
    response = api.post(emulator.data_url("sobjects/Lead"), json=_lead())
    assert response.json()[0]["fields"] == ["InternalCode__c"]


def test_C9_hidden_field_absent_from_describe_and_invalid_in_soql_and_dml(emulator, api):
    emulator.set_org(hidden_fields=["Lead.ChatTool__c"])
    describe = api.get(emulator.data_url("sobjects/Lead/describe")).json()
    assert "ChatTool__c" not in {f["name"] for f in describe["fields"]}
    query = _query(emulator, api, "SELECT ChatTool__c FROM Lead")
    assert query.json()[0]["errorCode"] == "INVALID_FIELD"
    create = api.post(emulator.data_url("sobjects/Lead"), json=_lead(ChatTool__c="Slack"))
    assert create.json()[0]["errorCode"] == "INVALID_FIELD"


@pytest.mark.parametrize("kind, status, code", [
    ("503", 503, "SERVER_UNAVAILABLE"),
    ("unable_to_lock_row", 400, "UNABLE_TO_LOCK_ROW"),
    ("request_limit_exceeded", 403, "REQUEST_LIMIT_EXCEEDED"),
])
def test_S5_faults_hit_the_next_n_calls(emulator, api, kind, status, code):
    emulator.control("POST", "faults", {"kind": kind, "count": 2, "method": "POST",
                                        "path": "/sobjects/Lead"})
    assert api.get(emulator.data_url("limits")).status_code == 200  # not in scope
    for _ in range(2):
        response = api.post(emulator.data_url("sobjects/Lead"), json=_lead())
        assert response.status_code == status and response.json()[0]["errorCode"] == code
    assert api.post(emulator.data_url("sobjects/Lead"), json=_lead()).status_code == 201


def test_S4_commit_then_hang_commits_before_the_client_times_out(emulator, api):
    emulator.control("POST", "faults", {"kind": "commit_then_hang", "hang_ms": 1500})
    before = len(emulator.records("Lead"))
    with pytest.raises(requests.Timeout):
        api.post(emulator.data_url("sobjects/Lead"), json=_lead(), timeout=0.5)
    assert len(emulator.records("Lead")) == before + 1


def test_latency_injection_and_delay_fault(emulator, api):
    emulator.control("POST", "latency", {"ms": 200})
    started = time.monotonic()
    api.get(emulator.data_url("limits"))
    assert time.monotonic() - started >= 0.2
    emulator.control("POST", "latency", {"ms": 0})
    emulator.control("POST", "faults", {"kind": "delay", "delay_ms": 300})
    started = time.monotonic()
    assert api.get(emulator.data_url("limits")).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_concurrent_writes_are_serialized(emulator, api):
    token = api.headers["Authorization"]
    errors = []

    def worker(index):
        response = requests.post(emulator.data_url("sobjects/Lead"),
                                 json=_lead(LastName=f"T{index}"),
                                 headers={"Authorization": token}, timeout=10)
        if response.status_code != 201:
            errors.append(response.text)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = [r["Id"] for r in emulator.records("Lead")]
    assert len(ids) == len(set(ids))
