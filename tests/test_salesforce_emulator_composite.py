"""/composite and /composite/sobjects: references, allOrNone, limits, API accounting (S8)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(30)
V = "/services/data/v59.0"
HALTED = {"errorCode": "PROCESSING_HALTED",
          "message": "The transaction was rolled back since another operation in the same "
                     "transaction failed."}


@pytest.fixture
def api(emulator):
    return emulator.api_session()


def _composite(emulator, api, subrequests, all_or_none=True):
    response = api.post(emulator.data_url("composite"), json={
        "allOrNone": all_or_none, "compositeRequest": subrequests})
    return response


def _lead_sub(ref="refLead", **body):
    body = body or {"LastName": "Doe", "Company": "Acme"}
    return {"method": "POST", "url": f"{V}/sobjects/Lead", "referenceId": ref, "body": body}


def _event_sub(**body):
    full = {"WhoId": "@{refLead.id}", "Subject": "Meeting",
            "StartDateTime": "2024-05-01T15:00:00.000+0000"}
    full.update(body)
    return {"method": "POST", "url": f"{V}/sobjects/Event", "referenceId": "refEvent",
            "body": full}


def test_S8_composite_counts_as_one_call_and_resolves_references(emulator, api):
    response = _composite(emulator, api, [
        _lead_sub(),
        {"method": "GET", "referenceId": "refUser",
         "url": f"{V}/query?q=SELECT+Id+FROM+User+WHERE+Email='suzuki@example.com'"},
        _event_sub(DurationInMinutes=30, OwnerId="@{refUser.records[0].Id}"),
        {"method": "GET", "referenceId": "refRead", "url": f"{V}/sobjects/Event/@{{refEvent.id}}"},
    ])
    assert response.status_code == 200
    results = response.json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in results] == [201, 200, 201, 200]
    lead_id = results[0]["body"]["id"]
    assert results[0]["httpHeaders"] == {"Location": f"{V}/sobjects/Lead/{lead_id}"}
    assert results[3]["body"]["WhoId"] == lead_id
    assert results[3]["body"]["OwnerId"] == results[1]["body"]["records"][0]["Id"]
    usage = emulator.usage()
    assert usage["total"] == 1 and usage["by_endpoint"] == {"POST /composite": 1}
    assert response.headers["Sforce-Limit-Info"] == "api-usage=1/100000"


def test_all_or_none_rolls_back_and_halts_the_others(emulator, api):
    before = len(emulator.records("Lead"))
    response = _composite(emulator, api, [_lead_sub(), _event_sub(), _lead_sub("refLater")])
    assert response.status_code == 200
    results = response.json()["compositeResponse"]
    assert results[0] == {"body": [HALTED], "httpHeaders": {}, "httpStatusCode": 400,
                          "referenceId": "refLead"}
    assert results[1]["httpStatusCode"] == 400
    assert results[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert results[2]["body"] == [HALTED]
    assert len(emulator.records("Lead")) == before  # the Lead was rolled back


def test_without_all_or_none_only_dependents_fail(emulator, api):
    before = len(emulator.records("Lead"))
    response = _composite(emulator, api, [
        _lead_sub(LastName="NoCompany"), _event_sub(DurationInMinutes=30),
        _lead_sub("refOther")], all_or_none=False)
    results = response.json()["compositeResponse"]
    assert results[0]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert results[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert "Invalid reference specified" in results[1]["body"][0]["message"]
    assert results[2]["httpStatusCode"] == 201
    assert len(emulator.records("Lead")) == before + 1


def test_composite_request_limits_and_forbidden_headers(emulator, api):
    too_many = _composite(emulator, api, [_lead_sub(f"r{i}") for i in range(26)])
    assert too_many.status_code == 400
    queries = [{"method": "GET", "url": f"{V}/query?q=SELECT+Id+FROM+Lead",
                "referenceId": f"q{i}"} for i in range(6)]
    assert _composite(emulator, api, queries).status_code == 400
    header = dict(_lead_sub(), httpHeaders={"Authorization": "Bearer x"})
    assert _composite(emulator, api, [header]).status_code == 400
    bad_ref = _composite(emulator, api, [_lead_sub("bad-ref")])
    assert bad_ref.status_code == 400 and isinstance(bad_ref.json(), list)


def test_subrequest_headers_reach_the_subrequest(emulator, api):
    suzuki = next(u["Id"] for u in emulator.records("User") if u["Email"] == "suzuki@example.com")
    emulator.set_org(assignment_rule={"active": True, "target_user_id": suzuki})
    sub = dict(_lead_sub(), httpHeaders={"Sforce-Auto-Assign": "FALSE"})
    lead_id = _composite(emulator, api, [sub]).json()["compositeResponse"][0]["body"]["id"]
    owner = next(r["OwnerId"] for r in emulator.records("Lead") if r["Id"] == lead_id)
    assert owner != suzuki


def test_collections_create_with_all_or_none(emulator, api):
    records = [{"attributes": {"type": "Lead"}, "LastName": "A", "Company": "X"},
               {"attributes": {"type": "Lead"}, "LastName": "B"}]
    before = len(emulator.records("Lead"))
    response = api.post(emulator.data_url("composite/sobjects"),
                        json={"allOrNone": True, "records": records})
    assert response.status_code == 200
    first, second = response.json()
    assert first["success"] is False
    assert first["errors"] == [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                "message": "Record rolled back because not all records were "
                                           "valid and the request was using AllOrNone header",
                                "fields": []}]
    assert second["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert "errorCode" not in second["errors"][0]
    assert len(emulator.records("Lead")) == before
    partial = api.post(emulator.data_url("composite/sobjects"),
                       json={"allOrNone": False, "records": records}).json()
    assert [r["success"] for r in partial] == [True, False]
    assert len(emulator.records("Lead")) == before + 1


def test_collections_update_delete_and_get(emulator, api):
    created = api.post(emulator.data_url("composite/sobjects"), json={"records": [
        {"attributes": {"type": "Lead"}, "LastName": f"L{i}", "Company": "X"}
        for i in range(3)]}).json()
    ids = [r["id"] for r in created]
    updated = api.patch(emulator.data_url("composite/sobjects"), json={"records": [
        {"attributes": {"type": "Lead"}, "id": ids[0], "Title": "CEO"},
        {"attributes": {"type": "Lead"}, "id": ids[1], "Email": "bad"}]}).json()
    assert updated[0] == {"id": ids[0], "success": True, "errors": []}
    assert updated[1]["errors"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    fetched = api.get(emulator.data_url("composite/sobjects/Lead"),
                      params={"ids": ",".join(ids), "fields": "Title"}).json()
    assert [r["Title"] for r in fetched] == ["CEO", None, None]
    deleted = api.delete(emulator.data_url("composite/sobjects"),
                         params={"ids": ",".join(ids)}).json()
    assert all(r["success"] for r in deleted)
    missing_type = api.post(emulator.data_url("composite/sobjects"),
                            json={"records": [{"LastName": "x"}]})
    assert missing_type.status_code == 400
    too_many = api.post(emulator.data_url("composite/sobjects"), json={"records": [
        {"attributes": {"type": "Lead"}, "LastName": "x", "Company": "y"}] * 201})
    assert too_many.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
