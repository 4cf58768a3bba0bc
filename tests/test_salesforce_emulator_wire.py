"""Wire conformance with real Salesforce: chunked request bodies on both origins, the resource
directory, NOT_FOUND wording, SOQL datetime literals and polymorphic parents (see the
emulator README for the sources)."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlencode, urlsplit

import pytest

from salesforce_emulator.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

pytestmark = pytest.mark.timeout(30)
SEEDED_LEAD = "00QIg000000000GMAQ"
# "List Available REST Resources" (REST API Developer Guide), in its order.
DOCUMENTED_RESOURCES = [
    "tooling", "metadata", "eclair", "folders", "prechatForms", "contact-tracing", "jsonxform",
    "chatter", "payments", "tabs", "appMenu", "quickActions", "queryAll", "commerce", "wave",
    "iot", "analytics", "search", "smartdatadiscovery", "identity", "composite",
    "parameterizedSearch", "fingerprint", "theme", "nouns", "event", "serviceTemplates",
    "recent", "connect", "licensing", "limits", "process", "dedupe", "async-queries", "query",
    "jobs", "match", "emailConnect", "localizedvalue", "mobile", "emailTemplates",
    "knowledgeManagement", "sobjects", "actions", "support",
]


def _chunked(base_url: str, method: str, path: str, body: bytes, headers: dict):
    """Send ``body`` with Transfer-Encoding: chunked (three pieces) over a raw connection."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    third = max(1, len(body) // 3)
    pieces = iter([body[:third], body[third:2 * third], body[2 * third:]])
    try:
        connection.request(method, path, body=pieces, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None, connection
    finally:
        connection.close()


def _json_headers(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
            "Transfer-Encoding": "chunked"}


def _token_form(emulator) -> bytes:
    return urlencode({"grant_type": "password", "client_id": DEMO_CLIENT_ID,
                      "client_secret": DEMO_CLIENT_SECRET,
                      "username": "admin@apo-demo.example", "password": "apo-demo"}).encode()


def test_chunked_token_and_revoke_bodies_reach_the_login_origin(emulator):
    form = {"Content-Type": "application/x-www-form-urlencoded", "Transfer-Encoding": "chunked"}
    status, token, _ = _chunked(emulator.login_url, "POST", "/services/oauth2/token",
                                _token_form(emulator), form)
    assert status == 200 and token["access_token"] and token["token_type"] == "Bearer"
    status, _, _ = _chunked(emulator.login_url, "POST", "/services/oauth2/revoke",
                            urlencode({"token": token["access_token"]}).encode(), form)
    assert status == 200
    dead = emulator.http.get(emulator.data_url("limits"),
                             headers={"Authorization": f"Bearer {token['access_token']}"})
    assert dead.status_code == 401


def test_chunked_create_update_and_composite_bodies_reach_the_data_api(emulator):
    token = emulator.password_token()["access_token"]
    base = "/services/data/v59.0"
    lead = {"LastName": "分割", "Company": "Chunked Inc", "Email": "chunked@example.com",
            "Description": "x" * 5000}  # long enough for several chunks
    status, created, _ = _chunked(emulator.instance_url, "POST", f"{base}/sobjects/Lead",
                                  json.dumps(lead).encode(), _json_headers(token))
    assert status == 201 and created["success"] is True
    status, _, _ = _chunked(emulator.instance_url, "PATCH",
                            f"{base}/sobjects/Lead/{created['id']}",
                            json.dumps({"Title": "部長"}).encode(), _json_headers(token))
    assert status == 204
    stored = {r["Id"]: r for r in emulator.records("Lead")}[created["id"]]
    assert (stored["Title"], stored["Description"]) == ("部長", "x" * 5000)
    composite = {"compositeRequest": [
        {"method": "GET", "referenceId": "q",
         "url": f"{base}/query?q=SELECT+Id+FROM+Lead+WHERE+Email='chunked@example.com'"},
        {"method": "PATCH", "referenceId": "u", "url": f"{base}/sobjects/Lead/@{{q.records[0].Id}}",
         "body": {"Rating": "Hot"}}]}
    status, answer, _ = _chunked(emulator.instance_url, "POST", f"{base}/composite",
                                 json.dumps(composite).encode(), _json_headers(token))
    assert status == 200
    assert [r["httpStatusCode"] for r in answer["compositeResponse"]] == [200, 204]
    assert {r["Id"]: r for r in emulator.records("Lead")}[created["id"]]["Rating"] == "Hot"


def test_resource_directory_lists_every_documented_resource_and_identity(emulator):
    api = emulator.api_session()
    token = emulator.password_token()
    directory = api.get(emulator.data_url("")).json()
    assert list(directory) == DOCUMENTED_RESOURCES  # same names, same order
    for name in DOCUMENTED_RESOURCES:
        if name != "identity":
            assert directory[name] == f"/services/data/v59.0/{name}"
    # identity is absolute: the caller's identity URL, the token response's "id".
    assert directory["identity"] == token["id"]
    identity = api.get(directory["identity"]).json()
    assert identity["username"] == "admin@apo-demo.example"
    assert api.get(emulator.data_url("", version="60.0")).json()["query"] == \
        "/services/data/v60.0/query"


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_not_found_wording_for_bad_and_missing_ids(emulator, method):
    api = emulator.api_session()
    body = {"Title": "x"} if method == "PATCH" else None
    bad = api.request(method, emulator.data_url("sobjects/Lead/-1"), json=body)
    assert (bad.status_code, bad.json()) == (404, [{
        "errorCode": "NOT_FOUND",
        "message": "Provided external ID field does not exist or is not accessible: -1"}])
    missing = api.request(method, emulator.data_url("sobjects/Lead/00QIg0000000ZZZAAA"),
                          json=body)
    assert (missing.status_code, missing.json()) == (404, [{
        "errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])


@pytest.mark.parametrize("literal, accepted", [
    ("2024-01-15T10:00:00Z", True), ("2024-01-15T10:00:00+09:00", True),
    ("2024-01-15T10:00:00-05:30", True), ("2024-01-15T10:00:00+0000", False),
    ("2024-01-15T10:00:00", False), ("2024-01-15T10:00Z", False),
    ("2024-01-15T10:00:00+09", False),
])
def test_datetime_literals_only_z_and_colon_offsets(emulator, literal, accepted):
    api = emulator.api_session()
    response = api.get(emulator.data_url("query"), params={
        "q": "SELECT Id FROM Lead WHERE CreatedDate > " + literal})  # noqa: S608
    if accepted:
        assert response.status_code == 200
        return
    assert response.status_code == 400
    error = response.json()[0]
    assert error["errorCode"] == "MALFORMED_QUERY" and literal in error["message"]


def test_offset_literal_means_the_same_instant(emulator):
    api = emulator.api_session()

    def count(literal):
        return api.get(emulator.data_url("query"), params={
            "q": "SELECT COUNT() FROM Lead WHERE LastModifiedDate >= " + literal,  # noqa: S608
        }).json()["totalSize"]
    assert count("2024-03-05T09:00:00+09:00") == count("2024-03-05T00:00:00Z")
    assert count("2024-03-05T00:00:00Z") != count("2024-01-01T00:00:00Z")


def test_polymorphic_parents_are_typed_name_and_single_targets_keep_their_type(emulator):
    api = emulator.api_session()

    def first(soql):
        return api.get(emulator.data_url("query"), params={"q": soql}).json()["records"][0]
    lead = first("SELECT Owner.Name FROM Lead WHERE Id = '" + SEEDED_LEAD + "'")  # noqa: S608
    assert lead["Owner"]["attributes"]["type"] == "Name"
    assert lead["Owner"]["attributes"]["url"].endswith("/sobjects/User/005Ig0000000005IAA")
    event = first("SELECT Who.Name, Owner.Name FROM Event")
    assert event["Who"]["attributes"]["type"] == "Name"
    assert event["Who"]["attributes"]["url"].split("/")[-2] == "Lead"
    assert event["Owner"]["attributes"]["type"] == "Name"
    contact = first("SELECT Owner.Name, Account.Name FROM Contact WHERE AccountId != null")
    assert contact["Owner"]["attributes"]["type"] == "User"  # Contact.OwnerId: User only
    assert contact["Account"]["attributes"]["type"] == "Account"
