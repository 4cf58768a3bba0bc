"""The M2 table and the mapping checks (M1-M5) against the emulator's real Lead describe."""

from __future__ import annotations

import pytest

from webapp.models import FieldType
from webapp.services.salesforce import field_mapping as fm
from webapp.services.salesforce.field_mapping import FieldSpec, check_mapping

# One Lead field per Salesforce data type the emulator's describe carries (its seed has a
# custom field of every M2 type; the standard fields add the types outside the table).
SF_FIELD_BY_TYPE = {
    "text": "Department__c", "url": "ReferenceUrl__c", "email": "SubEmail__c",
    "richtextarea": "Notes__c", "longtextarea": "Inquiry__c", "phone": "DirectPhone__c",
    "number": "EmployeeCount__c", "currency": "Budget__c", "encryptedtext": "SecretCode__c",
    "percent": "Probability__c", "picklist": "ContactPreference__c",
    "multipicklist": "Interests__c", "checkbox": "Newsletter__c", "date": "PreferredDate__c",
    "textarea": "Memo__c", "datetime": "CreatedDate", "reference": "OwnerId", "id": "Id",
}
# SPEC M2, written out again by hand so the table in the code is checked, not restated.
M2 = {
    "text": {"text", "url", "email", "richtextarea", "phone", "number", "currency",
             "encryptedtext", "percent"},
    "textarea": {"text", "richtextarea", "longtextarea", "url", "email", "phone", "currency",
                 "encryptedtext", "percent"},
    "radio": {"picklist"},
    "checkbox": {"multipicklist"},
    "dropdown": {"multipicklist"},
    "hidden": {"text", "picklist", "url", "email", "richtextarea", "phone", "number",
               "currency", "encryptedtext", "percent", "checkbox"},
    "date": set(),
}
# Values that pass the value checks for each form type, so only the type decides a cell.
GOOD_VALUES = {
    "checkbox": {"hidden_value": "true"}, "picklist": {"hidden_value": "メール"},
    "number": {"hidden_value": "3"}, "currency": {"hidden_value": "3"},
    "percent": {"hidden_value": "3"},
}


@pytest.fixture(scope="module")
def lead_describe(emulator_server) -> dict:
    """The emulator's Lead describe, fetched over its REST API once for this module."""
    session = emulator_server.api_session()
    response = session.get(emulator_server.data_url("sobjects/Lead/describe"), timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def request_ctx(app):
    """A request context, so messages are rendered in the request's (default) locale."""
    with app.test_request_context():
        yield


def spec(field_type: str, name: str, **kw) -> FieldSpec:
    return FieldSpec(field_type=field_type, salesforce_field=name, **kw)


def test_M2_every_type_of_the_table_is_in_the_emulator_describe(lead_describe):
    for key, name in SF_FIELD_BY_TYPE.items():
        assert fm.describe_type_key(fm.find_field(lead_describe, name)) == key, name


@pytest.mark.parametrize("sf_key", sorted(SF_FIELD_BY_TYPE))
@pytest.mark.parametrize("form_type", [t.value for t in FieldType])
def test_M2_table_cell(lead_describe, form_type, sf_key):
    """Every (form type x Salesforce type) cell: allowed ones save, the others are refused."""
    name = SF_FIELD_BY_TYPE[sf_key]
    extra = {"choices": ["メール", "電話"]} if FieldType(form_type).has_choices else {}
    if form_type == "hidden":
        extra = GOOD_VALUES.get(sf_key, {"hidden_value": "x"})
    if form_type in ("checkbox", "dropdown") and sf_key == "multipicklist":
        extra = {"choices": ["日程調整", "CRM連携"]}
    result = check_mapping(spec(form_type, name, **extra), lead_describe)
    allowed = sf_key in M2[form_type]
    assert result.ok is allowed, (form_type, sf_key, result.errors)
    assert fm.compatible_types(form_type) == frozenset(M2[form_type])
    if allowed:
        assert result.state == "ok", result.warnings
    elif form_type != "date":
        [issue] = result.errors
        assert issue.code == "incompatible"
        assert "連携できません" in issue.message and "連携できるデータ型" in issue.message


def test_M2_date_fields_are_refused_whatever_the_target(lead_describe):
    result = check_mapping(spec("date", "PreferredDate__c"), lead_describe)
    assert [i.code for i in result.errors] == ["date_unsupported"]
    assert fm.compatible_types("date") == frozenset()


def test_M2_refusal_names_both_types_and_lists_the_allowed_ones(request_ctx, lead_describe):
    [issue] = check_mapping(spec("radio", "Budget__c"), lead_describe).errors
    message = issue.message
    assert "ラジオボタン" in message and "通貨" in message
    assert message.endswith("連携できるデータ型: 選択リスト")


@pytest.mark.parametrize("name", ["LastName", "firstname", "Company", "EMAIL", "Name"])
def test_M1_default_fields_cannot_be_mapped(lead_describe, name):
    for form_type in ("text", "hidden"):
        result = check_mapping(spec(form_type, name, hidden_value="x"), lead_describe)
        assert [i.code for i in result.errors] == ["default_field"]
    offered = {o.name.lower() for o in fm.field_options(lead_describe, "text", name)}
    assert name.lower() not in offered


def test_M3_radio_choices_missing_from_the_picklist_are_listed(request_ctx, lead_describe):
    """The seed's example: 「Google Chat」 is not a choice of the Salesforce picklist."""
    field = spec("radio", "ChatTool__c",
                 choices=["Slack", "Chatwork", "Microsoft Teams", "Google Chat", "Skype"])
    result = check_mapping(field, lead_describe)
    assert result.ok and result.state == "warning"
    [issue] = result.warnings
    # Skype is an inactive value: Salesforce refuses it like an unknown one.
    assert issue.params["missing"] == ["Google Chat", "Skype"]
    assert "Google Chat" in issue.message


@pytest.mark.parametrize("form_type", ["checkbox", "dropdown"])
def test_M3_multi_select_choices_missing_are_listed(lead_describe, form_type):
    result = check_mapping(spec(form_type, "Interests__c", choices=["Slack", "Google Chat"]),
                           lead_describe)
    assert result.ok
    assert result.warnings[0].params["missing"] == ["Google Chat"]


def test_M3_choices_compare_exactly(lead_describe):
    sf_field = fm.find_field(lead_describe, "ChatTool__c")
    assert fm.missing_picklist_choices(["slack", "Slack "], sf_field) == ["slack", "Slack "]
    assert fm.active_picklist_values(sf_field) == ["Slack", "Chatwork", "Microsoft Teams"]


@pytest.mark.parametrize("value, ok", [("true", True), ("false", True), ("True", False),
                                       ("1", False), ("yes", False)])
def test_M4_hidden_field_for_a_checkbox_must_be_true_or_false(lead_describe, value, ok):
    result = check_mapping(spec("hidden", "Newsletter__c", hidden_value=value), lead_describe)
    assert result.ok is ok
    if not ok:
        assert result.errors[0].code == "hidden_not_boolean"


def test_M2_hidden_value_for_a_picklist_must_equal_a_choice_exactly(lead_describe):
    ok = check_mapping(spec("hidden", "ChatTool__c", hidden_value="Chatwork"), lead_describe)
    assert ok.ok
    bad = check_mapping(spec("hidden", "ChatTool__c", hidden_value="chatwork"), lead_describe)
    assert [i.code for i in bad.errors] == ["hidden_not_a_choice"]
    assert bad.errors[0].params["choices"] == ["Slack", "Chatwork", "Microsoft Teams"]


def test_M5_a_name_salesforce_does_not_show_is_a_warning_not_an_error(lead_describe):
    result = check_mapping(spec("text", "Hidden_By_FLS__c"), lead_describe)
    assert result.ok and [i.code for i in result.warnings] == ["not_visible"]


def test_M5_unverifiable_without_a_describe(lead_describe):
    result = check_mapping(spec("text", "Department__c"), None)
    assert result.ok and [i.code for i in result.warnings] == ["not_checked"]


def test_api_names_match_case_insensitively(lead_describe):
    result = check_mapping(spec("text", "department__C"), lead_describe)
    assert result.state == "ok" and result.sf_field["name"] == "Department__c"


def test_read_only_fields_are_refused(lead_describe):
    result = check_mapping(spec("text", "Name"), lead_describe)  # M1 first
    assert result.errors[0].code == "default_field"
    result = check_mapping(spec("hidden", "IsDeleted", hidden_value="true"), lead_describe)
    assert result.errors[0].code == "read_only"


def test_hidden_number_warns_when_the_value_is_not_a_number(lead_describe):
    result = check_mapping(spec("hidden", "Budget__c", hidden_value="たくさん"), lead_describe)
    assert result.ok and result.warnings[0].code == "hidden_not_number"


def test_empty_mapping_is_fine(lead_describe):
    assert check_mapping(spec("date", ""), lead_describe).state == "ok"


def test_M5_options_match_name_or_label_and_only_compatible_types(lead_describe):
    names = [o.name for o in fm.field_options(lead_describe, "text", "budget")]
    assert names == ["Budget__c"]
    # The label matches too (予算 is Budget__c's label), case-insensitively for names.
    assert [o.name for o in fm.field_options(lead_describe, "text", "予算")] == ["Budget__c"]
    radio = fm.field_options(lead_describe, "radio", "")
    assert radio and {o.type_key for o in radio} == {"picklist"}
    assert "ChatTool__c" in [o.name for o in radio]
    assert "Interests__c" not in [o.name for o in radio]
    dropdown = [o.name for o in fm.field_options(lead_describe, "dropdown", "")]
    assert dropdown == ["Interests__c"]
    assert fm.field_options(lead_describe, "date", "") == []


def test_M5_options_never_offer_default_or_read_only_fields(lead_describe):
    names = {o.name for o in fm.field_options(lead_describe, "hidden", "")}
    assert not names & {"LastName", "FirstName", "Company", "Email", "Name", "IsDeleted",
                        "CreatedDate", "Id"}
    assert {"Newsletter__c", "Department__c", "LeadSource"} <= names


def test_M5_options_put_prefix_matches_first(lead_describe):
    names = [o.name for o in fm.field_options(lead_describe, "text", "phone")]
    assert names[0] == "Phone" and "DirectPhone__c" in names


def test_describe_type_key_reads_extra_type_info():
    assert fm.describe_type_key({"type": "textarea", "extraTypeInfo": "richtextarea",
                                 "length": 32768}) == "richtextarea"
    assert fm.describe_type_key({"type": "textarea", "extraTypeInfo": "plaintextarea",
                                 "length": 32768}) == "longtextarea"
    assert fm.describe_type_key({"type": "textarea", "extraTypeInfo": "plaintextarea",
                                 "length": 255}) == "textarea"
    assert fm.describe_type_key({"type": "combobox"}) == "other:combobox"
    assert fm.describe_type_key({"type": "int"}) == "number"
