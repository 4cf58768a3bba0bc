"""The standard and custom objects of the emulated org, with realistic field metadata.

Labels of standard fields are the English ones (the connecting user's language is en_US);
the org's own custom Lead fields carry Japanese labels, as a Japanese customer's org would.
"""

from __future__ import annotations

from . import standard
from .schema import Field, SObjectDef
from .standard import contact as standard_contact
from .standard import event as standard_event
from .standard import lead as standard_lead
from .standard import user as standard_user

# The field that ``POST /__emulator__/org {"required_lead_field_without_default": true}``
# turns into a required field without a default value (SPEC C9 pre-check).
SWITCHABLE_REQUIRED_FIELD = "InternalCode__c"


def _pick_values(values, default=None, inactive=()) -> tuple:
    entries = []
    for item in values:
        value, label = item if isinstance(item, tuple) else (item, item)
        entries.append({"active": True, "defaultValue": value == default, "label": label,
                        "validFor": None, "value": value})
    for value in inactive:
        entries.append({"active": False, "defaultValue": False, "label": value,
                        "validFor": None, "value": value})
    return tuple(entries)


def text(name, label, length=255, **kw) -> Field:
    return Field(name, label, "string", length=length, **kw)


def typed(name, label, kind, length=0, **kw) -> Field:
    return Field(name, label, kind, length=length, **kw)


def long_text(name, label, length=32000, rich=False, **kw) -> Field:
    # Long and rich text areas cannot be filtered, sorted or grouped in SOQL.
    return Field(name, label, "textarea", length=length, filterable=False, sortable=False,
                 groupable=False, extra_type_info="richtextarea" if rich else "plaintextarea",
                 html=rich, **kw)


def number(name, label, kind="double", precision=18, scale=0, **kw) -> Field:
    if kind == "int":
        return Field(name, label, "int", digits=precision, **kw)
    return Field(name, label, kind, precision=precision, scale=scale, **kw)


def boolean(name, label, default=False, **kw) -> Field:
    kw.setdefault("defaulted", True)
    return Field(name, label, "boolean", nillable=False, default_value=default, **kw)


def pick(name, label, values, default=None, inactive=(), kind="picklist", **kw) -> Field:
    length = 255
    if kind == "multipicklist":
        # Stored as one ';'-joined string; filterable (INCLUDES/EXCLUDES), never sortable.
        length = 4099
        kw.update(sortable=False, groupable=False)
    return Field(name, label, kind, length=length,
                 picklist=_pick_values(values, default, inactive), **kw)


def ref(name, label, to, rel, **kw) -> Field:
    return Field(name, label, "reference", length=18, reference_to=tuple(to),
                 relationship_name=rel, **kw)


def readonly(fld: Field) -> Field:
    fld.createable = False
    fld.updateable = False
    return fld


def _id_field() -> Field:
    return Field("Id", "Record ID", "id", length=18, nillable=False, createable=False,
                 updateable=False, defaulted=True, id_lookup=True)


def _deleted_field() -> Field:
    return readonly(boolean("IsDeleted", "Deleted"))


def _audit_fields() -> list[Field]:
    def stamp(name, label):
        return readonly(typed(name, label, "datetime", nillable=False, defaulted=True))

    def who(name, label, rel):
        return readonly(ref(name, label, ["User"], rel, nillable=False, defaulted=True))

    return [stamp("CreatedDate", "Created Date"), who("CreatedById", "Created By ID", "CreatedBy"),
            stamp("LastModifiedDate", "Last Modified Date"),
            who("LastModifiedById", "Last Modified By ID", "LastModifiedBy"),
            stamp("SystemModstamp", "System Modstamp")]


INDUSTRIES = ["Agriculture", "Banking", "Consulting", "Education", "Manufacturing",
              "Technology", "Other"]


def _lead_custom_fields() -> list[Field]:
    """One Lead custom field of every data type of SPEC M2, plus the required ones."""
    return [
        text("Department__c", "部署", 80, custom=True),
        typed("ReferenceUrl__c", "参考URL", "url", 255, custom=True),
        typed("SubEmail__c", "サブメールアドレス", "email", 80, custom=True),
        long_text("Notes__c", "備考(リッチテキスト)", 32768, rich=True, custom=True),
        long_text("Inquiry__c", "お問い合わせ内容", 32768, custom=True),
        typed("Memo__c", "メモ", "textarea", 255, extra_type_info="plaintextarea", custom=True),
        typed("DirectPhone__c", "直通電話", "phone", 40, custom=True),
        number("EmployeeCount__c", "従業員数", "double", 18, 0, custom=True),
        number("Budget__c", "予算", "currency", 18, 0, custom=True),
        typed("SecretCode__c", "暗号化メモ", "encryptedstring", 175, custom=True,
              filterable=False, sortable=False, groupable=False),
        number("Probability__c", "確度", "percent", 3, 0, custom=True),
        # Restricted, and deliberately without 「Google Chat」 (the seed's warning example).
        pick("ChatTool__c", "利用チャットツール", ["Slack", "Chatwork", "Microsoft Teams"],
             inactive=["Skype"], restricted=True, custom=True),
        pick("ContactPreference__c", "希望連絡方法", ["メール", "電話", "オンライン会議"],
             custom=True),
        pick("Interests__c", "興味のある機能", ["日程調整", "Web会議", "CRM連携", "Slack",
                                        "Chatwork", "Microsoft Teams"],
             kind="multipicklist", custom=True),
        boolean("Newsletter__c", "メルマガ希望", custom=True),
        typed("PreferredDate__c", "希望日", "date", custom=True),
        # Required with a default value: creates succeed without it (seed prerequisite 4).
        text("CustomerRank__c", "顧客ランク", 20, nillable=False, defaulted=True,
             default_value="C", custom=True),
        text(SWITCHABLE_REQUIRED_FIELD, "社内管理コード", 20, custom=True),
    ]


def _lead() -> SObjectDef:
    return standard.build(standard_lead, _lead_custom_fields())


def _contact() -> SObjectDef:
    return standard.build(standard_contact)


def _account() -> SObjectDef:
    fields = [
        _id_field(), _deleted_field(),
        text("Name", "Account Name", 255, nillable=False, name_field=True),
        pick("Type", "Account Type", ["Prospect", "Customer - Direct", "Customer - Channel",
                                      "Partner", "Other"]),
        ref("ParentId", "Parent Account ID", ["Account"], "Parent"),
        typed("BillingStreet", "Billing Street", "textarea", 255,
              extra_type_info="plaintextarea"),
        text("BillingCity", "Billing City", 40), text("BillingState", "Billing State", 80),
        text("BillingPostalCode", "Billing Zip/Postal Code", 20),
        text("BillingCountry", "Billing Country", 80),
        typed("Phone", "Account Phone", "phone", 40), typed("Website", "Website", "url", 255),
        pick("Industry", "Industry", INDUSTRIES),
        number("AnnualRevenue", "Annual Revenue", "currency", 18, 0),
        number("NumberOfEmployees", "Employees", "int", 8),
        long_text("Description", "Account Description"),
        ref("OwnerId", "Owner ID", ["User"], "Owner", nillable=False, defaulted=True),
        *_audit_fields(),
    ]
    return SObjectDef("Account", "Account", "Accounts", "001", fields, child_relationships=[
        ("Contact", "AccountId", "Contacts"), ("Event", "WhatId", "Events"),
        ("Task", "WhatId", "Tasks")])


ACTIVITY_SUBJECTS = ["Call", "Email", "Meeting", "Send Letter/Quote", "Other"]
ACTIVITY_TYPES = ["Call", "Email", "Meeting", "Other"]


def _activity_common() -> list[Field]:
    return [
        ref("WhoId", "Name ID", ["Contact", "Lead"], "Who"),
        ref("WhatId", "Related To ID", ["Account"], "What"),
        # Subject is a combobox: suggested values plus free text (never restricted).
        pick("Subject", "Subject", ACTIVITY_SUBJECTS, kind="combobox"),
    ]


def _event() -> SObjectDef:
    # Event.Type is a standard picklist (SPEC C9) that the source org's user could not see;
    # its metadata follows the object reference (UNVERIFIED, see README).
    activity_type = pick("Type", "Type", ACTIVITY_TYPES)
    activity_type.extra = {"permissionable": True}
    # Two custom fields an org might add for Apo: form answers on the Event (R6) and the
    # meeting's outcome (R7). Custom fields are the org's own, so these are fixtures, not
    # claims about Salesforce's standard schema.
    custom = [text("Topic__c", "相談内容", 255, custom=True),
              pick("Outcome__c", "実施結果", ["Held", "No Show"], custom=True)]
    return standard.build(standard_event, [activity_type, *custom])


def _task() -> SObjectDef:
    fields = [
        _id_field(), _deleted_field(), *_activity_common(),
        typed("ActivityDate", "Due Date Only", "date"),
        pick("Status", "Status", ["Not Started", "In Progress", "Completed",
                                  "Waiting on someone else", "Deferred"],
             default="Not Started", nillable=False, defaulted=True),
        pick("Priority", "Priority", ["High", "Normal", "Low"], default="Normal",
             nillable=False, defaulted=True),
        ref("OwnerId", "Assigned To ID", ["Group", "User"], "Owner", nillable=False,
            defaulted=True),
        long_text("Description", "Description"),
        pick("Type", "Type", ACTIVITY_TYPES),
        readonly(boolean("IsClosed", "Closed")),
        pick("TaskSubtype", "Task Subtype", ["Task", "Email", "Call"], defaulted=True),
        *_audit_fields(),
    ]
    return SObjectDef("Task", "Task", "Tasks", "00T", fields)


def _user() -> SObjectDef:
    # Creating users through the emulator's API is left out (see README).
    return standard.build(standard_user, createable=False, updateable=False, deletable=False)


def _profile() -> SObjectDef:
    fields = [
        _id_field(), text("Name", "Name", 255, nillable=False, name_field=True),
        pick("UserType", "User Type", ["Standard"]),
        text("Description", "Description", 255),
        boolean("PermissionsApiEnabled", "API Enabled"),
        *_audit_fields(),
    ]
    return SObjectDef("Profile", "Profile", "Profiles", "00e", [readonly(f) for f in fields],
                      createable=False, updateable=False, deletable=False)


def _login_ip_range() -> SObjectDef:
    # A profile's 「ログイン IP アドレスの制限」 as the REST API serves it (the Metadata API calls
    # the same rows Profile.loginIpRanges, ProfileLoginIpRange: startAddress, endAddress).
    fields = [
        _id_field(),
        ref("ProfileId", "Profile ID", ["Profile"], "Profile", nillable=False),
        text("StartAddress", "IP Start Address", 39, nillable=False),
        text("EndAddress", "IP End Address", 39, nillable=False),
        text("Description", "Description", 255),
        *_audit_fields(),
    ]
    return SObjectDef("LoginIpRange", "Login IP Range", "Login IP Ranges", "0NV", fields)


def _organization() -> SObjectDef:
    fields = [
        _id_field(), text("Name", "Name", 80, nillable=False, name_field=True),
        text("Division", "Division", 80),
        pick("OrganizationType", "Edition", ["Developer Edition", "Professional Edition",
                                             "Enterprise Edition", "Unlimited Edition"]),
        text("InstanceName", "Instance Name", 5),
        boolean("IsSandbox", "Is Sandbox"),
        text("Country", "Country", 80), typed("Phone", "Phone", "phone", 40),
        pick("DefaultLocaleSidKey", "Locale", ["ja_JP", "en_US"]),
        pick("LanguageLocaleKey", "Language", ["ja", "en_US"]),
        pick("TimeZoneSidKey", "Time Zone", ["Asia/Tokyo", "America/Los_Angeles"]),
        typed("TrialExpirationDate", "Trial Expiration Date", "datetime"),
        *_audit_fields(),
    ]
    return SObjectDef("Organization", "Organization", "Organizations", "00D",
                      [readonly(f) for f in fields], createable=False, updateable=False,
                      deletable=False)


def build() -> dict[str, SObjectDef]:
    """Fresh object definitions (fresh because org switches mutate field flags)."""
    objects = [_lead(), _contact(), _account(), _event(), _task(), _user(), _profile(),
               _login_ip_range(), _organization()]
    return {obj.name: obj for obj in objects}


# Fields of the "Name" pseudo-object that polymorphic relationships (Who, What, Owner of a
# Lead or Event) expose in SOQL, e.g. ``Who.Email``; ``Type`` is the target's object name.
NAME_FIELDS = ("Id", "Name", "FirstName", "LastName", "Email", "Phone", "Title", "Type",
               "Alias", "IsActive", "Username")
