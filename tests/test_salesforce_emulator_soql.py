"""SOQL: the parser on its own, the executor on an in-process org, and escaping over HTTP."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesforce_emulator import soql, soql_exec
from salesforce_emulator.errors import SFError
from salesforce_emulator.records import insert_raw
from salesforce_emulator.state import Org

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(scope="module")
def org():
    return Org(seed_name="demo")


def rows(org, text, **kwargs):
    return soql_exec.run(org, text, **kwargs).rows


def error(org, text) -> SFError:
    with pytest.raises(SFError) as info:
        soql_exec.run(org, text)
    return info.value


# ----- parser ----------------------------------------------------------------------------
def test_parser_builds_the_tree():
    query = soql.parse("select Id, Owner.Name from Lead where (Email = 'a' or Email = 'b') "
                       "and not IsConverted = true order by LastModifiedDate desc nulls last, "
                       "Name limit 10 offset 5")
    assert [p.text for p in query.items] == ["Id", "Owner.Name"]
    assert query.sobject == "Lead" and (query.limit, query.offset) == (10, 5)
    assert query.where.op == "AND"
    assert query.where.items[0].op == "OR" and query.where.items[1].op == "NOT"
    first, second = query.order
    assert (first.descending, first.nulls_first) == (True, False)
    assert (second.descending, second.nulls_first) == (False, True)


def test_parser_reports_caret_row_and_column():
    with pytest.raises(SFError) as info:
        soql.parse("SELECT Id FRM Lead")
    assert info.value.code == "MALFORMED_QUERY"
    assert info.value.message == ("\nSELECT Id FRM Lead\n          ^\n"
                                  "ERROR at Row:1:Column:11\nunexpected token: 'FRM'")
    with pytest.raises(SFError) as info:
        soql.parse("SELECT Id\nFROM Lead WHERE")
    assert "ERROR at Row:2:Column:16\nunexpected token: <EOF>" in info.value.message


@pytest.mark.parametrize("text", [
    "SELECT Id FROM Lead WHERE Name = \"Bob\"",          # double quotes are not strings
    "SELECT Id FROM Lead WHERE A = 'x' AND B = 'y' OR C = 'z'",  # AND/OR mixed
    "SELECT Id FROM Lead WHERE Name = 'unterminated",
    "SELECT Id, FROM Lead",
    "SELECT COUNT(), Id FROM Lead",
    "SELECT Id FROM Lead LIMIT ten",
    "SELECT Id FROM Lead WHERE Name IN 'x'",
    "",
])
def test_parser_rejects_malformed(text):
    with pytest.raises(SFError) as info:
        soql.parse(text)
    assert info.value.code == "MALFORMED_QUERY"


@pytest.mark.parametrize("raw, like, expected", [
    (r"Bob\'s", False, "Bob's"),
    (r"a\\b", False, "a\\b"),
    (r"line\nbreak\t\"q\"", False, "line\nbreak\t\"q\""),
    (r"\u3042", False, "あ"),
    (r"50\%\_", True, r"50\%\_"),
])
def test_string_escapes(raw, like, expected):
    assert soql.decode_string(raw, "q", 0, like=like) == expected


@pytest.mark.parametrize("raw", [r"50\%", r"a\_b", r"\x", r"\q"])
def test_other_backslashes_are_malformed(raw):
    with pytest.raises(SFError) as info:
        soql.decode_string(raw, "q", 0)
    assert info.value.code == "MALFORMED_QUERY"
    assert "Illegal character sequence" in info.value.message


# ----- executor ----------------------------------------------------------------------------
def test_P5_equality_is_case_insensitive(org):
    found = rows(org, "SELECT Email FROM Lead WHERE Email = 'DUP@example.COM'")
    assert sorted(r["Email"] for r in found) == ["Dup@Example.com", "dup@example.com"]
    assert rows(org, "SELECT Id FROM Lead WHERE Email != 'dup@EXAMPLE.com' "
                     "AND Email LIKE 'DUP%'") == []


def test_like_wildcards_and_escapes(org):
    assert len(rows(org, r"SELECT Id FROM Lead WHERE Company LIKE '50\%\_%'")) == 1
    assert len(rows(org, "SELECT Id FROM Lead WHERE Company LIKE '50__OFF%'")) == 1
    assert rows(org, r"SELECT Id FROM Lead WHERE Company LIKE '50\_%'") == []
    # Outside LIKE, % and _ are plain characters.
    assert rows(org, "SELECT Id FROM Lead WHERE Company = '50%_off store'") != []
    assert rows(org, "SELECT Id FROM Lead WHERE Company = '50%'") == []


def test_non_ascii_values(org):
    found = rows(org, "SELECT Name, Company FROM Lead WHERE Company LIKE '%サンプル%'")
    assert found and found[0]["Name"] == "山本 健"


def test_in_not_in_null_and_boolean(org):
    assert len(rows(org, "SELECT Id FROM User WHERE Email IN ('SATO@example.com', "
                         "'suzuki@example.com')")) == 2
    active = rows(org, "SELECT Id FROM User WHERE IsActive = true")
    assert len(active) == 4
    not_in = rows(org, "SELECT Id FROM User WHERE Email NOT IN ('sato@example.com')")
    assert len(not_in) == 4
    assert len(rows(org, "SELECT Id FROM Lead WHERE ConvertedDate != null")) == 1
    unconverted = rows(org, "SELECT Id FROM Lead WHERE IsConverted = false")
    assert len(unconverted) == 6
    assert len(rows(org, "SELECT Id FROM Lead WHERE NOT (IsConverted = false)")) == 1


def test_not_equal_includes_nulls(org):
    titled = rows(org, "SELECT Id FROM Lead WHERE Title != 'x'")
    assert len(titled) == 7  # every live Lead; Title is null on all of them


def test_includes_and_excludes(org):
    assert len(rows(org, "SELECT Id FROM Lead WHERE Interests__c INCLUDES "
                         "('日程調整;crm連携')")) == 1
    assert len(rows(org, "SELECT Id FROM Lead WHERE Interests__c INCLUDES "
                         "('Slack', 'Web会議')")) == 0
    assert len(rows(org, "SELECT Id FROM Lead WHERE Interests__c EXCLUDES ('日程調整')")) == 6
    assert len(rows(org, "SELECT Id FROM Lead WHERE Interests__c = 'CRM連携;日程調整'")) == 1


def test_dates_datetimes_and_date_literals(org):
    assert len(rows(org, "SELECT Id FROM Lead WHERE LastModifiedDate > "
                         "2024-03-01T00:00:00Z")) == 2
    assert len(rows(org, "SELECT Id FROM Lead WHERE PreferredDate__c = 2024-05-01")) == 1
    assert len(rows(org, "SELECT Id FROM Lead WHERE CreatedDate < LAST_N_DAYS:30")) == 7
    assert rows(org, "SELECT Id FROM Lead WHERE CreatedDate = TODAY") == []
    fresh = Org(seed_name="empty")
    insert_raw(fresh, "Lead", {"LastName": "Now", "Company": "X"})
    assert len(rows(fresh, "SELECT Id FROM Lead WHERE CreatedDate = TODAY")) == 1
    assert len(rows(fresh, "SELECT Id FROM Lead WHERE CreatedDate = LAST_N_DAYS:7")) == 1
    assert rows(fresh, "SELECT Id FROM Lead WHERE CreatedDate > TODAY") == []


def test_order_by_nulls_limit_offset(org):
    names = [r["Email"] for r in rows(org, "SELECT Email FROM Contact ORDER BY Email")]
    assert names == sorted(names, key=str.casefold)
    desc = rows(org, "SELECT LastModifiedDate FROM Lead ORDER BY LastModifiedDate DESC "
                     "LIMIT 2 OFFSET 1")
    assert [r["LastModifiedDate"][:10] for r in desc] == ["2024-03-01", "2024-02-22"]
    firsts = rows(org, "SELECT Title FROM Contact ORDER BY Title NULLS FIRST")
    assert firsts[0]["Title"] is None
    lasts = rows(org, "SELECT Title FROM Contact ORDER BY Title NULLS LAST")
    assert lasts[0]["Title"] == "部長"


def test_relationships_nested_and_polymorphic(org):
    row = rows(org, "SELECT Owner.Profile.Name, Owner.Email FROM Contact LIMIT 1")[0]
    assert row["Owner"]["Profile"]["Name"] == "System Administrator"
    assert row["Owner"]["attributes"]["type"] == "User"
    event = rows(org, "SELECT Who.Name, Who.Email, Who.Type FROM Event")[0]
    assert event["Who"] == {"attributes": event["Who"]["attributes"], "Name": "山本 健",
                            "Email": "known@example.com", "Type": "Lead"}
    filtered = rows(org, "SELECT Id FROM Event WHERE Who.Email = 'KNOWN@example.com'")
    assert len(filtered) == 1
    task = rows(org, "SELECT What.Name FROM Task")[0]
    assert task["What"] is None


def test_count_forms_and_query_all(org):
    assert soql_exec.run(org, "SELECT COUNT() FROM Lead").total == 7
    assert soql_exec.run(org, "SELECT COUNT() FROM Lead", include_deleted=True).total == 8
    aggregate = rows(org, "SELECT COUNT(Id) total FROM Lead WHERE IsConverted = false")
    assert aggregate == [{"attributes": {"type": "AggregateResult"}, "total": 6}]


@pytest.mark.parametrize("text, code, tail", [
    ("SELECT Foo FROM Lead", "INVALID_FIELD", "No such column 'Foo' on entity 'Lead'."),
    ("SELECT Id FROM Leed", "INVALID_TYPE", "sObject type 'Leed' is not supported."),
    ("SELECT Id FROM Lead WHERE Description = 'x'", "INVALID_FIELD",
     "field 'Description' can not be filtered in query call"),
    ("SELECT Id FROM Lead ORDER BY Inquiry__c", "INVALID_FIELD",
     "field 'Inquiry__c' can not be sorted in a query call"),
    ("SELECT Bogus.Name FROM Lead", "INVALID_FIELD", "Didn't understand relationship 'Bogus'"),
    ("SELECT Id FROM Lead WHERE Email = 5", "INVALID_FIELD",
     "must be of type string and should be enclosed in quotes"),
    ("SELECT Id FROM Lead WHERE CreatedDate > '2024-01-01'", "INVALID_FIELD",
     "must be of type dateTime and should not be enclosed in quotes"),
    ("SELECT Id FROM Lead WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR",
     "invalid ID field: abc"),
    ("SELECT Id FROM Lead WHERE Email INCLUDES ('a')", "INVALID_QUERY_FILTER_OPERATOR",
     "only valid on multipicklist"),
    ("SELECT Id, id FROM Lead", "MALFORMED_QUERY", "duplicate field selected: id"),
])
def test_semantic_errors(org, text, code, tail):
    err = error(org, text)
    assert err.code == code and err.status == 400
    assert tail in err.message


def test_ids_15_and_18_chars_in_filters(org):
    lead = rows(org, "SELECT Id FROM Lead LIMIT 1")[0]["Id"]
    assert rows(org, f"SELECT Id FROM Lead WHERE Id = '{lead[:15]}'")[0]["Id"] == lead  # noqa: S608
    # An 18-character id is case-insensitive (its suffix encodes the case).
    assert len(rows(org, f"SELECT Id FROM Lead WHERE Id IN ('{lead.lower()}')")) == 1  # noqa: S608
    assert rows(org, f"SELECT Id FROM Lead WHERE Id = '{lead[:15].lower()}'") == []  # noqa: S608


# ----- over HTTP -------------------------------------------------------------------------------
def test_url_encoded_query_with_quotes_backslashes_and_percent(emulator):
    api = emulator.api_session()
    api.post(emulator.data_url("sobjects/Lead"),
             json={"LastName": "Back\\slash", "Company": "C:\\Temp 100%"})

    def count(text):
        response = api.get(emulator.data_url("query"), params={"q": text})
        assert response.status_code == 200, response.text
        return response.json()["totalSize"]

    assert count(r"SELECT Id FROM Lead WHERE LastName = 'Back\\slash'") == 1
    assert count(r"SELECT Id FROM Lead WHERE Company LIKE 'c:\\temp 100\%'") == 1
    assert count(r"SELECT Id FROM Lead WHERE Company = 'Bob\'s BBQ'") == 1
    assert count("SELECT Id FROM Lead WHERE Company = '株式会社サンプル'") == 1
    bad = api.get(emulator.data_url("query"),
                  params={"q": r"SELECT Id FROM Lead WHERE Company = 'Bob\s'"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "MALFORMED_QUERY"
    plus = api.get(emulator.data_url("query") + "?q=SELECT+Id+FROM+Lead+WHERE+Company+LIKE+"
                                               "'50%25%25'")
    assert plus.json()["totalSize"] == 1


def test_pagination_raw(emulator):
    api = emulator.api_session()
    emulator.set_org(min_batch_size=1)
    first = api.get(emulator.data_url("query"), params={"q": "SELECT Id FROM Lead"},
                    headers={"Sforce-Query-Options": "batchSize=5"}).json()
    assert (first["totalSize"], first["done"], len(first["records"])) == (7, False, 5)
    second = api.get(emulator.instance_url + first["nextRecordsUrl"]).json()
    assert second["done"] is True and "nextRecordsUrl" not in second
    assert len(second["records"]) == 2
    bad = api.get(emulator.data_url("query/01gIg0000000XYZ-5"))
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    default = api.get(emulator.data_url("query"), params={"q": "SELECT Id FROM Lead"},
                      headers={"Sforce-Query-Options": "batchSize=50"}).json()
    assert default["done"] is True
    assert emulator.usage()["by_endpoint"]["GET /query/{id}"] == 2


# ----- the equality pre-filter (a cheap pass before the compiled WHERE) -------------------
_EMAILS = ["a@example.com", "A@Example.COM", "b@example.com", "straße@example.com",
           "STRASSE@example.com", None]
_COMPANIES = ["Acme", "acme", "Beta", None]


@pytest.fixture(scope="module")
def mixed_org():
    mixed = Org(seed_name="demo")
    for i, (email, company) in enumerate(
            (e, c) for e in _EMAILS for c in _COMPANIES):
        insert_raw(mixed, "Lead", {"LastName": f"L{i}", "Company": company or "-",
                                   "Email": email, "IsConverted": i % 3 == 0,
                                   "Title": company})
    return mixed


_literal = st.sampled_from([e for e in _EMAILS if e] + ["c@example.com", "A@EXAMPLE.com"])
_condition = st.one_of(
    st.builds("Email = '{}'".format, _literal),
    st.builds("Email != '{}'".format, _literal),
    st.builds("Title = '{}'".format, st.sampled_from(["Acme", "ACME", "Beta", "Gamma"])),
    st.sampled_from(["IsConverted = true", "IsConverted = false", "Email = null",
                     "Title = null", "Email LIKE 'a%'"]),
)
_where = st.recursive(_condition, lambda inner: st.one_of(
    st.lists(inner, min_size=2, max_size=3).map(lambda p: "(" + " AND ".join(p) + ")"),
    st.lists(inner, min_size=2, max_size=3).map(lambda p: "(" + " OR ".join(p) + ")"),
    inner.map(lambda p: f"(NOT {p})")), max_leaves=5)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=_where)
def test_P5_the_equality_pre_filter_returns_what_the_whole_where_returns(mixed_org, where):
    """`x = 'v'` at the WHERE's top level lets the executor skip the records whose x differs
    before running the whole WHERE; the same WHERE under an OR that no record meets (which
    turns the pre-filter off) must find exactly the same records."""
    query = f"SELECT Id FROM Lead WHERE {where} ORDER BY Id"  # noqa: S608 - a fixed grammar
    plain = f"SELECT Id FROM Lead WHERE ({where}) OR Id = null ORDER BY Id"  # noqa: S608
    assert rows(mixed_org, query) == rows(mixed_org, plain)


def test_P5_the_pre_filter_keeps_case_folding_and_the_rest_of_the_where(mixed_org):
    found = rows(mixed_org, "SELECT Email, IsConverted FROM Lead WHERE Email = 'a@EXAMPLE.com' "
                            "AND IsConverted = false")
    assert {r["Email"] for r in found} == {"a@example.com", "A@Example.COM"}
    assert all(r["IsConverted"] is False for r in found) and len(found) == 5
