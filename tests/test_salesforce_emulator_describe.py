"""Describe conformance: Lead, Contact, Event and User against real describes published in
public sources (README, "Describe sources"). The expectations below are transcribed from
those sources, not read from the emulator's data modules."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(30)

# The 57 keys of every field of a real v59.0 REST describe.
FIELD_KEYS = {
    "aggregatable", "aiPredictionField", "autoNumber", "byteLength", "calculated",
    "calculatedFormula", "cascadeDelete", "caseSensitive", "compoundFieldName", "controllerName",
    "createable", "custom", "defaultValue", "defaultValueFormula", "defaultedOnCreate",
    "dependentPicklist", "deprecatedAndHidden", "digits", "displayLocationInDecimal",
    "encrypted", "externalId", "extraTypeInfo", "filterable", "filteredLookupInfo",
    "formulaTreatNullNumberAsZero", "groupable", "highScaleNumber", "htmlFormatted", "idLookup",
    "inlineHelpText", "label", "length", "mask", "maskType", "name", "nameField",
    "namePointing", "nillable", "permissionable", "picklistValues", "polymorphicForeignKey",
    "precision", "queryByDistance", "referenceTargetField", "referenceTo", "relationshipName",
    "relationshipOrder", "restrictedDelete", "restrictedPicklist", "scale",
    "searchPrefilterable", "soapType", "sortable", "type", "unique", "updateable",
    "writeRequiresMasterRead",
}
OBJECT_KEYS = {
    "actionOverrides", "activateable", "associateEntityType", "associateParentEntity",
    "childRelationships", "compactLayoutable", "createable", "custom", "customSetting",
    "deepCloneable", "defaultImplementation", "deletable", "deprecatedAndHidden", "extendedBy",
    "extendsInterfaces", "feedEnabled", "fields", "hasSubtypes", "implementedBy",
    "implementsInterfaces", "isInterface", "isSubtype", "keyPrefix", "label", "labelPlural",
    "layoutable", "listviewable", "lookupLayoutable", "mergeable", "mruEnabled", "name",
    "namedLayoutInfos", "networkScopeFieldName", "queryable", "recordTypeInfos",
    "replicateable", "retrieveable", "searchLayoutable", "searchable", "sobjectDescribeOption",
    "supportedScopes", "triggerable", "undeletable", "updateable", "urls",
}
GLOBAL_KEYS = OBJECT_KEYS - {
    "actionOverrides", "childRelationships", "compactLayoutable", "defaultImplementation",
    "extendedBy", "extendsInterfaces", "fields", "implementedBy", "implementsInterfaces",
    "listviewable", "lookupLayoutable", "namedLayoutInfos", "networkScopeFieldName",
    "recordTypeInfos", "searchLayoutable", "sobjectDescribeOption", "supportedScopes"}
LEAD_STANDARD = [
    "Id", "IsDeleted", "MasterRecordId", "LastName", "FirstName", "Salutation", "Name", "Title",
    "Company", "Street", "City", "State", "PostalCode", "Country", "Latitude", "Longitude",
    "GeocodeAccuracy", "Address", "Phone", "MobilePhone", "Fax", "Email", "Website", "PhotoUrl",
    "Description", "LeadSource", "Status", "Industry", "Rating", "AnnualRevenue",
    "NumberOfEmployees", "OwnerId", "IsConverted", "ConvertedDate", "ConvertedAccountId",
    "ConvertedContactId", "ConvertedOpportunityId", "IsUnreadByOwner", "CreatedDate",
    "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp", "LastActivityDate",
    "LastViewedDate", "LastReferencedDate", "Jigsaw", "JigsawContactId", "CleanStatus",
    "CompanyDunsNumber", "DandbCompanyId", "EmailBouncedReason", "EmailBouncedDate",
    "IndividualId",
]
CONTACT_STANDARD = [
    "Id", "IsDeleted", "MasterRecordId", "AccountId", "LastName", "FirstName", "Salutation",
    "Name", "OtherStreet", "OtherCity", "OtherState", "OtherPostalCode", "OtherCountry",
    "OtherLatitude", "OtherLongitude", "OtherGeocodeAccuracy", "OtherAddress", "MailingStreet",
    "MailingCity", "MailingState", "MailingPostalCode", "MailingCountry", "MailingLatitude",
    "MailingLongitude", "MailingGeocodeAccuracy", "MailingAddress", "Phone", "Fax",
    "MobilePhone", "HomePhone", "OtherPhone", "AssistantPhone", "ReportsToId", "Email", "Title",
    "Department", "AssistantName", "LeadSource", "Birthdate", "Description", "OwnerId",
    "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp",
    "LastActivityDate", "LastCURequestDate", "LastCUUpdateDate", "LastViewedDate",
    "LastReferencedDate", "EmailBouncedReason", "EmailBouncedDate", "IsEmailBounced",
    "PhotoUrl", "Jigsaw", "JigsawContactId", "CleanStatus", "IndividualId",
]
EVENT_STANDARD = [
    "Id", "WhoId", "WhatId", "Subject", "Location", "IsAllDayEvent", "ActivityDateTime",
    "ActivityDate", "DurationInMinutes", "StartDateTime", "EndDateTime", "EndDate",
    "Description", "AccountId", "OwnerId", "IsPrivate", "ShowAs", "IsDeleted", "IsChild",
    "IsGroupEvent", "GroupEventType", "CreatedDate", "CreatedById", "LastModifiedDate",
    "LastModifiedById", "SystemModstamp", "IsArchived", "RecurrenceActivityId", "IsRecurrence",
    "RecurrenceStartDateTime", "RecurrenceEndDateOnly", "RecurrenceTimeZoneSidKey",
    "RecurrenceType", "RecurrenceInterval", "RecurrenceDayOfWeekMask", "RecurrenceDayOfMonth",
    "RecurrenceInstance", "RecurrenceMonthOfYear", "ReminderDateTime", "IsReminderSet",
    "EventSubtype", "IsRecurrence2Exclusion", "Recurrence2PatternText",
    "Recurrence2PatternVersion", "IsRecurrence2", "IsRecurrence2Exception",
    "Recurrence2PatternStartDate", "Recurrence2PatternTimeZone",
]
# (name, key, real value) spot checks transcribed from the sources.
LEAD_FACTS = [
    ("Address", "type", "address"), ("Address", "soapType", "urn:address"),
    ("Address", "createable", False), ("Address", "sortable", False),
    ("Address", "queryByDistance", True), ("Street", "compoundFieldName", "Address"),
    ("Street", "extraTypeInfo", "plaintextarea"), ("Street", "byteLength", 765),
    ("Latitude", "precision", 18), ("Latitude", "scale", 15), ("Latitude", "groupable", False),
    ("GeocodeAccuracy", "restrictedPicklist", True), ("GeocodeAccuracy", "length", 40),
    ("Name", "extraTypeInfo", "personname"), ("Name", "createable", False),
    ("LastName", "compoundFieldName", "Name"), ("Company", "nillable", False),
    ("Company", "permissionable", False), ("Email", "idLookup", True),
    ("OwnerId", "referenceTo", ["Group", "User"]), ("OwnerId", "namePointing", True),
    ("OwnerId", "defaultedOnCreate", True), ("PhotoUrl", "extraTypeInfo", "imageurl"),
    ("EmailBouncedDate", "createable", False), ("EmailBouncedDate", "updateable", True),
    ("IndividualId", "referenceTo", ["Individual"]), ("IndividualId", "searchPrefilterable", True),
    ("Jigsaw", "length", 20), ("CleanStatus", "restrictedPicklist", True),
    ("Status", "defaultValue", "Open - Not Contacted"), ("Description", "filterable", False),
    ("NumberOfEmployees", "digits", 8), ("AnnualRevenue", "precision", 18),
]
USER_LISTING = {  # name: (label, type, length) from the User describe listing
    "Username": ("Username", "string", 80), "Email": ("E-mail", "email", 128),
    "Alias": ("Alias", "string", 8), "TimeZoneSidKey": ("Time Zone", "picklist", 40),
    "Signature": ("Email Signature", "string", 1333), "Address": ("Address", "address", 0),
    "FederationIdentifier": ("SAML Federation ID", "string", 512),
    "AboutMe": ("About Me", "textarea", 1000), "ManagerId": ("Manager ID", "reference", 18),
    "UserPreferencesHideS1BrowserUI": ("HideS1BrowserUI", "boolean", 0),
}


@pytest.fixture(scope="module")
def describes(emulator_server):
    emulator_server.reset()
    api = emulator_server.api_session()
    return {name: api.get(emulator_server.data_url(f"sobjects/{name}/describe")).json()
            for name in ("Lead", "Contact", "Event", "User")}


def _fields(describe) -> dict:
    return {f["name"]: f for f in describe["fields"]}


@pytest.mark.parametrize("sobject, standard", [
    ("Lead", LEAD_STANDARD), ("Contact", CONTACT_STANDARD), ("Event", EVENT_STANDARD)])
def test_every_standard_field_and_key_of_the_real_describe(describes, sobject, standard):
    describe = describes[sobject]
    assert set(describe) == OBJECT_KEYS
    names = [f["name"] for f in describe["fields"] if not f["custom"]]
    assert names[:len(standard)] == standard  # same fields, same order
    for fld in describe["fields"]:
        assert set(fld) == FIELD_KEYS, fld["name"]
        assert list(fld) == sorted(fld), fld["name"]  # keys alphabetical, as Salesforce sends
    assert describe["sobjectDescribeOption"] == "FULL"


def test_lead_field_values_match_the_source(describes):
    fields = _fields(describes["Lead"])
    for name, key, value in LEAD_FACTS:
        assert fields[name][key] == value, (name, key)
    assert [v["value"] for v in fields["GeocodeAccuracy"]["picklistValues"]] == [
        "Address", "NearAddress", "Block", "Street", "ExtendedZip", "Zip", "Neighborhood", "City",
        "County", "State", "Unknown"]
    assert {v["value"]: v["label"] for v in fields["CleanStatus"]["picklistValues"]}[
        "Matched"] == "In Sync"
    assert len(fields["Industry"]["picklistValues"]) == 32
    assert [v["value"] for v in fields["Salutation"]["picklistValues"]][-1] == "Mx."
    lead = describes["Lead"]
    assert [s["name"] for s in lead["supportedScopes"]] == [
        "everything", "mine", "queue_owned", "scopingRule", "team", "user_owned"]
    assert lead["feedEnabled"] is True and len(lead["childRelationships"]) == 57
    assert lead["urls"]["uiDetailTemplate"].endswith("/{ID}")


def test_contact_event_and_user_values_match_the_sources(describes):
    contact = _fields(describes["Contact"])
    assert contact["OwnerId"]["referenceTo"] == ["User"]
    assert contact["MailingAddress"]["type"] == "address"
    assert contact["MailingCity"]["compoundFieldName"] == "MailingAddress"
    event = _fields(describes["Event"])
    assert len(event["WhatId"]["referenceTo"]) == 80 and "Opportunity" in \
        event["WhatId"]["referenceTo"]
    assert event["OwnerId"]["referenceTo"] == ["Calendar", "User"]
    assert event["Subject"]["type"] == "combobox" and event["Subject"]["nameField"] is True
    zones = {v["value"]: v["label"] for v in event["RecurrenceTimeZoneSidKey"]["picklistValues"]}
    assert len(zones) == 423
    assert zones["Asia/Tokyo"] == "(GMT+09:00) Japan Standard Time (Asia/Tokyo)"
    assert [v["label"] for v in event["ShowAs"]["picklistValues"]] == [
        "Busy", "Out of Office", "Free"]
    assert event["Type"]["type"] == "picklist"  # SPEC C9; not in the source (see README)
    user = _fields(describes["User"])
    assert len(user) == 124
    for name, (label, kind, length) in USER_LISTING.items():
        assert (user[name]["label"], user[name]["type"], user[name]["length"]) == \
            (label, kind, length), name
    assert describes["User"]["urls"]["passwordUtilities"].endswith("/User/{ID}/password")
    assert len(user["TimeZoneSidKey"]["picklistValues"]) == 423


def test_compound_address_is_read_only_and_composed(emulator):
    api = emulator.api_session()
    created = api.post(emulator.data_url("sobjects/Lead"), json={
        "LastName": "住所", "Company": "Address KK", "Street": "丸の内1-1", "City": "千代田区",
        "PostalCode": "100-0005", "Country": "JP", "Latitude": 35.681236,
        "GeocodeAccuracy": "Address"}).json()
    record = api.get(emulator.data_url(f"sobjects/Lead/{created['id']}")).json()
    assert record["Address"] == {
        "city": "千代田区", "country": "JP", "geocodeAccuracy": "Address", "latitude": 35.681236,
        "longitude": None, "postalCode": "100-0005", "state": None, "street": "丸の内1-1"}
    row = api.get(emulator.data_url("query"), params={
        "q": "SELECT Address FROM Lead WHERE Company = 'Address KK'"}).json()["records"][0]
    assert row["Address"]["city"] == "千代田区"
    refused = api.patch(emulator.data_url(f"sobjects/Lead/{created['id']}"),
                        json={"Address": {"city": "x"}})
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    bad = api.patch(emulator.data_url(f"sobjects/Lead/{created['id']}"),
                    json={"GeocodeAccuracy": "Galaxy"})
    assert bad.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    empty = api.get(emulator.data_url("sobjects/Lead/00QIg000000000GMAQ")).json()
    assert empty["Address"] is None


def test_every_object_describes_with_the_real_key_sets(emulator):
    api = emulator.api_session()
    entries = api.get(emulator.data_url("sobjects")).json()["sobjects"]
    names = [o["name"] for o in entries]
    for entry in entries:  # the keys of a real global describe entry
        assert set(entry) == GLOBAL_KEYS, entry["name"]
    user = next(o for o in entries if o["name"] == "User")
    assert (user["mergeable"], user["undeletable"], user["feedEnabled"]) == (False, False, True)
    assert "passwordUtilities" in user["urls"] and "uiDetailTemplate" not in user["urls"]
    assert {"Account", "Task", "Organization", "Profile"} <= set(names)
    for name in names:
        describe = api.get(emulator.data_url(f"sobjects/{name}/describe")).json()
        assert set(describe) == OBJECT_KEYS, name
        assert all(set(f) == FIELD_KEYS for f in describe["fields"]), name
