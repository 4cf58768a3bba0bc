"""Aggregate SOQL (COUNT, COUNT_DISTINCT, GROUP BY with exprN aliases, HAVING) and
``query?columns=true`` over plain HTTP against the demo seed."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def query(emulator):
    api = emulator.api_session()

    def run(soql, **params):
        return api.get(emulator.data_url("query"), params={"q": soql, **params})
    return run


def _records(response):
    assert response.status_code == 200, response.text
    return response.json()["records"]


def test_count_id_and_count_distinct_use_expr_aliases(query):
    rows = _records(query("SELECT COUNT(Id), COUNT_DISTINCT(Email), COUNT(Title) titled "
                          "FROM Lead"))
    # 7 live Leads; dup@example.com and Dup@Example.com are one distinct email.
    assert rows == [{"attributes": {"type": "AggregateResult"}, "expr0": 7, "expr1": 6,
                     "titled": rows[0]["titled"]}]
    assert rows[0]["titled"] < 7
    empty = _records(query("SELECT COUNT(Id) FROM Lead WHERE Email = 'nobody@example.com'"))
    assert empty == [{"attributes": {"type": "AggregateResult"}, "expr0": 0}]


def test_group_by_having_and_order_by_aggregate(query):
    response = query("SELECT Email, COUNT(Id) FROM Lead GROUP BY Email HAVING COUNT(Id) > 1")
    assert response.json()["totalSize"] == 1
    (row,) = _records(response)
    assert row["Email"].lower() == "dup@example.com" and row["expr0"] == 2
    by_owner = _records(query("SELECT OwnerId, COUNT(Id) n FROM Lead GROUP BY OwnerId "
                              "ORDER BY COUNT(Id) DESC"))
    assert [r["n"] for r in by_owner] == sorted((r["n"] for r in by_owner), reverse=True)
    assert sum(r["n"] for r in by_owner) == 7
    assert {r["OwnerId"]: r["n"] for r in by_owner}["005Ig0000000005IAA"] == 2  # 佐藤
    limited = _records(query("SELECT Status, COUNT(Id) FROM Lead GROUP BY Status "
                             "ORDER BY Status LIMIT 1"))
    assert len(limited) == 1 and set(limited[0]) == {"attributes", "Status", "expr0"}


@pytest.mark.parametrize("soql, code, tail", [
    ("SELECT Email, COUNT(Id) FROM Lead", "MALFORMED_QUERY",
     "Field must be grouped or aggregated: Email"),
    ("SELECT Status FROM Lead HAVING COUNT(Id) > 1", "MALFORMED_QUERY", "GROUP BY"),
    ("SELECT Description, COUNT(Id) FROM Lead GROUP BY Description", "INVALID_FIELD",
     "can not be grouped in a query call"),
    ("SELECT Id FROM Lead WHERE COUNT(Id) > 1", "MALFORMED_QUERY", "HAVING"),
    ("SELECT SUM(Email) FROM Lead", "MALFORMED_QUERY", "SUM"),
])
def test_aggregate_errors(query, soql, code, tail):
    response = query(soql)
    assert response.status_code == 400
    error = response.json()[0]
    assert error["errorCode"] == code and tail in error["message"]


def test_columns_true_answers_column_metadata_not_rows(query, emulator):
    before = emulator.usage()["total"]
    body = query("SELECT Id, Name, Company, Owner.Name, Owner.Email FROM Lead",
                 columns="true").json()
    assert set(body) == {"columnMetadata", "entityName", "groupBy", "idSelected", "keyPrefix"}
    assert (body["entityName"], body["keyPrefix"], body["groupBy"], body["idSelected"]) == \
        ("Lead", "00Q", False, True)
    columns = {c["columnName"]: c for c in body["columnMetadata"]}
    assert list(columns) == ["Id", "Name", "Company", "Owner"]
    assert columns["Id"] == {
        "aggregate": False, "apexType": "Id", "booleanType": False, "columnName": "Id",
        "custom": False, "displayName": "Id", "foreignKeyName": None, "insertable": False,
        "joinColumns": [], "numberType": False, "textType": False, "updatable": False}
    assert (columns["Company"]["insertable"], columns["Company"]["updatable"],
            columns["Company"]["textType"]) == (True, True, True)
    assert columns["Name"]["insertable"] is False  # compound, read-only
    owner = columns["Owner"]
    assert [c["displayName"] for c in owner["joinColumns"]] == ["Owner.Name", "Owner.Email"]
    assert emulator.usage()["total"] == before + 1
    aggregate = query("SELECT Status, COUNT(Id) FROM Lead GROUP BY Status",
                      columns="true").json()
    assert aggregate["groupBy"] is True
    expr = aggregate["columnMetadata"][1]
    assert (expr["columnName"], expr["displayName"], expr["aggregate"], expr["apexType"],
            expr["numberType"]) == ("expr0", "COUNT(Id)", True, "Integer", True)
    custom = query("SELECT Budget__c FROM Lead", columns="true").json()["columnMetadata"][0]
    assert (custom["custom"], custom["numberType"], custom["apexType"]) == \
        (True, True, "Decimal")
    bad = query("SELECT Nope FROM Lead", columns="true")
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"
