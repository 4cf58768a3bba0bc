"""simple-salesforce (unmodified) against the emulator over HTTPS, as an independent client."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def https_emulator(emulator_https_server):
    emulator_https_server.reset()
    return emulator_https_server


@pytest.fixture
def sf(https_emulator):
    session = https_emulator.new_session()
    token = https_emulator.password_token()
    return Salesforce(instance_url=token["instance_url"], session_id=token["access_token"],
                      session=session, version="59.0")


def test_query_returns_canonical_keys_and_parents(sf):
    result = sf.query("select id, name, email, owner.name from lead where email = "
                      "'KNOWN@example.com'")
    assert result["totalSize"] == 1 and result["done"] is True
    record = result["records"][0]
    assert set(record) == {"attributes", "Id", "Name", "Email", "Owner"}
    assert record["Owner"]["Name"] == "佐藤 花子"
    # Lead.OwnerId is polymorphic (Group, User): Salesforce types the parent "Name".
    assert record["Owner"]["attributes"]["type"] == "Name"
    assert sf.api_usage["api-usage"].used >= 1


def test_query_all_follows_next_records_url(sf, https_emulator):
    https_emulator.set_org(min_batch_size=1)
    first = sf.query("SELECT Id FROM Lead ORDER BY CreatedDate",
                     headers={"Sforce-Query-Options": "batchSize=2"})
    assert first["done"] is False and len(first["records"]) == 2
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    page = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert len(page["records"]) == 2 and page["totalSize"] == first["totalSize"]
    everything = sf.query_all("SELECT Id FROM Lead",
                              headers={"Sforce-Query-Options": "batchSize=3"})
    assert everything["totalSize"] == len(everything["records"]) == 7
    deleted = sf.query_all("SELECT Id FROM Lead WHERE IsDeleted = true", include_deleted=True)
    assert deleted["totalSize"] == 1


def test_create_get_update_delete(sf, https_emulator):
    created = sf.Lead.create({"LastName": "鈴木", "Company": "テスト株式会社",
                              "Email": "new@example.com"})
    assert created["success"] is True and created["id"].startswith("00Q")
    assert len(created["id"]) == 18
    record = sf.Lead.get(created["id"])
    assert record["Status"] == "Open - Not Contacted" and record["IsConverted"] is False
    assert record["OwnerId"] == sf.query("SELECT Id FROM User WHERE Username = "
                                         "'admin@apo-demo.example'")["records"][0]["Id"]
    assert sf.Lead.update(created["id"], {"Title": "部長"}) == 204
    assert sf.Lead.get(created["id"][:15])["Title"] == "部長"
    assert sf.Lead.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get(created["id"])


def test_describe_and_global_describe(sf):
    describe = sf.Lead.describe()
    assert describe["keyPrefix"] == "00Q"
    fields = {f["name"]: f for f in describe["fields"]}
    assert fields["ChatTool__c"]["restrictedPicklist"] is True
    assert fields["Notes__c"]["extraTypeInfo"] == "richtextarea"
    names = {s["name"] for s in sf.describe()["sobjects"]}
    assert {"Lead", "Contact", "Account", "Event", "Task", "User", "Organization"} <= names


def test_composite_through_restful(sf):
    answer = sf.restful("composite", method="POST", json={
        "allOrNone": True,
        "compositeRequest": [
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Lead",
             "referenceId": "refLead", "body": {"LastName": "Doe", "Company": "Acme"}},
            {"method": "GET", "referenceId": "refUser", "url": "/services/data/v59.0/query?q="
             "SELECT+Id+FROM+User+WHERE+Email='sato@example.com'"},
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Event",
             "referenceId": "refEvent",
             "body": {"WhoId": "@{refLead.id}", "OwnerId": "@{refUser.records[0].Id}",
                      "Subject": "Meeting", "StartDateTime": "2024-05-01T15:00:00.000+0000",
                      "DurationInMinutes": 30}},
        ]})
    statuses = [item["httpStatusCode"] for item in answer["compositeResponse"]]
    assert statuses == [201, 200, 201]


def test_expired_session_raises_salesforce_expired_session(sf, https_emulator):
    https_emulator.control("POST", "tokens/expire")
    with pytest.raises(SalesforceExpiredSession) as info:
        sf.query("SELECT Id FROM Lead")
    assert info.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


def test_bad_field_raises_malformed_request(sf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Lead.create({"LastName": "x", "Company": "y", "Foo__c": 1})
    assert info.value.content == [{"message": "No such column 'Foo__c' on sobject of type Lead",
                                   "errorCode": "INVALID_FIELD"}]
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FRM Lead")
    assert info.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_refused_and_general_errors(sf, https_emulator):
    https_emulator.control("POST", "faults", {"kind": "503"})
    with pytest.raises(SalesforceGeneralError) as info:
        sf.query("SELECT Id FROM Lead")
    assert info.value.status == 503
    https_emulator.set_org(api_disabled=True)
    with pytest.raises(SalesforceRefusedRequest) as info:
        sf.query("SELECT Id FROM Lead")
    assert info.value.content[0]["errorCode"] == "API_DISABLED_FOR_ORG"


def test_format_soql_escaping_round_trips(sf):
    soql = format_soql("SELECT Id, Company FROM Lead WHERE Company = {}", "bob's bbq")
    assert sf.query(soql)["records"][0]["Company"] == "Bob's BBQ"
    like = format_soql("SELECT Id FROM Lead WHERE Company LIKE '{:like}%'", "50%_")
    assert sf.query(like)["totalSize"] == 1


def test_limits_and_is_sandbox(sf, https_emulator):
    assert sf.is_sandbox() is False
    limits = sf.limits()
    used = https_emulator.usage()["total"]
    assert limits["DailyApiRequests"] == {"Max": 100000, "Remaining": 100000 - used}
