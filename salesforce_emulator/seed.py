"""The demo org (``--seed demo``) and the empty org (``--seed empty``).

Every record here is listed in README.md; ids are deterministic because the id counter
starts from zero at every reset, so the same seed always yields the same ids.
"""

from __future__ import annotations

from .records import insert_raw

# Every seeded user who may log in at the authorize step uses this password.
DEMO_PASSWORD = "apo-demo"
ADMIN_USERNAME = "admin@apo-demo.example"
STANDARD_USERNAME = "ito@apo-demo.example"

# A connected app that exists in every seed, so `make run` can connect without set-up.
DEMO_CLIENT_ID = "3MVG9ApoDemoConsumerKey.emulator0000000000000000000000000000000000000000"
DEMO_CLIENT_SECRET = "APODEMOCONSUMERSECRET0000000000000000000000000000000000000000000000"

_USERS = [
    # (key, username, last, first, email, alias, profile, active, title)
    ("admin", ADMIN_USERNAME, "山田", "花子", "admin@apo-demo.example", "hyama", "admin", True,
     "システム管理者"),
    # The sales reps carry the names Apo's demo gives its members (webapp/services/demo.py),
    # so 同期ログ and the org name the same person.
    ("sato", "sato@apo-demo.example", "佐藤", "花子", "sato@example.com", "hsato", "standard",
     True, "営業"),
    ("suzuki", "suzuki@apo-demo.example", "鈴木", "一郎", "suzuki@example.com", "isuzu",
     "standard", True, "営業"),
    ("takahashi", "takahashi@apo-demo.example", "高橋", "三郎", "takahashi@example.com",
     "staka", "standard", False, "元営業 (無効)"),
    ("ito", STANDARD_USERNAME, "伊藤", "真", "ito@example.com", "mito", "standard", True,
     "一般ユーザー"),
]


def populate(org, name: str) -> None:
    if name not in ("demo", "empty"):
        raise ValueError(f"unknown seed {name!r} (expected 'demo' or 'empty')")
    org.admin_id = ""
    org.users = {}
    _org_and_people(org)
    from .tokens import register_app  # local import: tokens imports nothing from seed

    register_app(org, org.demo_callbacks, client_id=DEMO_CLIENT_ID,
                 client_secret=DEMO_CLIENT_SECRET, name="Apo (demo)")
    if name == "demo":
        _sales_data(org)


def _org_and_people(org) -> None:
    stamp = "2023-04-01T00:00:00.000+0000"
    org_record = insert_raw(org, "Organization", {
        "Name": "Apo デモ株式会社", "OrganizationType": "Enterprise Edition",
        "InstanceName": "AP27", "IsSandbox": org.settings["is_sandbox"], "Country": "JP",
        "DefaultLocaleSidKey": "ja_JP", "LanguageLocaleKey": "ja",
        "TimeZoneSidKey": "Asia/Tokyo", "CreatedDate": stamp, "LastModifiedDate": stamp,
    }, user_id="")
    # The organization's id is fixed (tokens start with it); move the record there.
    from .state import ORG_ID

    org.records["Organization"].pop(org_record["Id"])
    org_record["Id"] = ORG_ID
    org.records["Organization"][ORG_ID] = org_record
    profiles = {}
    for key, profile_name in (("admin", "System Administrator"), ("standard", "Standard User")):
        profiles[key] = insert_raw(org, "Profile", {
            "Name": profile_name, "UserType": "Standard", "PermissionsApiEnabled": True,
            "CreatedDate": stamp, "LastModifiedDate": stamp}, user_id="")["Id"]
    for key, username, last, first, email, alias, profile, active, title in _USERS:
        user = insert_raw(org, "User", {
            "Username": username, "LastName": last, "FirstName": first, "Email": email,
            "Alias": alias, "ProfileId": profiles[profile], "IsActive": active,
            "Title": title, "CompanyName": "Apo デモ株式会社", "UserType": "Standard",
            "TimeZoneSidKey": "Asia/Tokyo", "LocaleSidKey": "ja_JP",
            "LanguageLocaleKey": "ja", "CreatedDate": stamp, "LastModifiedDate": stamp,
        }, user_id=org.admin_id or "")
        org.users[key] = user["Id"]
        if key == "admin":
            org.admin_id = user["Id"]
            user["CreatedById"] = user["LastModifiedById"] = user["Id"]
    for table in ("Organization", "Profile"):
        for record in org.records[table].values():
            record["CreatedById"] = record["LastModifiedById"] = org.admin_id


def _sales_data(org) -> None:
    sato, admin = org.users["sato"], org.admin_id

    def add(sobject, modified, **values):
        values.setdefault("CreatedDate", modified)
        values["LastModifiedDate"] = modified
        return insert_raw(org, sobject, values)["Id"]

    sample = add("Account", "2024-01-04T00:00:00.000+0000", Name="株式会社サンプル",
                 Industry="Technology", Website="https://sample.example.com")
    acme = add("Account", "2024-01-04T00:00:00.000+0000", Name="Acme Japan株式会社",
               Industry="Manufacturing")
    known_contact = add("Contact", "2024-02-01T02:00:00.000+0000", LastName="山本",
                        FirstName="健", Email="known@example.com", AccountId=sample,
                        Title="部長")
    add("Contact", "2024-02-02T02:00:00.000+0000", LastName="中村", FirstName="美咲",
        Email="Contact.Only@Example.com", AccountId=acme)
    add("Contact", "2024-01-05T02:00:00.000+0000", LastName="小林", FirstName="悠",
        Email="twin@example.com", AccountId=acme)
    add("Contact", "2024-04-20T02:00:00.000+0000", LastName="小林", FirstName="悠",
        Email="TWIN@example.com", AccountId=sample)
    converted_contact = add("Contact", "2024-02-15T02:00:00.000+0000", LastName="加藤",
                            FirstName="翔", Email="converted@example.com", AccountId=acme)

    known_lead = add("Lead", "2024-03-01T02:00:00.000+0000", LastName="山本", FirstName="健",
                     Email="known@example.com", Company="株式会社サンプル", LeadSource="Web",
                     OwnerId=sato)
    add("Lead", "2024-01-10T02:00:00.000+0000", LastName="渡辺", FirstName="彩",
        Email="dup@example.com", Company="ABC商事", OwnerId=admin)
    add("Lead", "2024-03-05T02:00:00.000+0000", LastName="渡辺", FirstName="彩",
        Email="Dup@Example.com", Company="ABC商事株式会社", OwnerId=sato)
    add("Lead", "2024-02-15T02:00:00.000+0000", LastName="加藤", FirstName="翔",
        Email="converted@example.com", Company="Acme Japan株式会社", IsConverted=True,
        ConvertedDate="2024-02-15", ConvertedContactId=converted_contact,
        ConvertedAccountId=acme, Status="Closed - Converted")
    add("Lead", "2024-02-20T02:00:00.000+0000", LastName="松本", FirstName="蓮",
        Email="lead.only@example.com", Company="松本デザイン", Department__c="営業部",
        ChatTool__c="Slack", Interests__c="日程調整;CRM連携", Newsletter__c=True,
        Budget__c=500000.0, Probability__c=50.0, PreferredDate__c="2024-05-01",
        ContactPreference__c="メール", CustomerRank__c="A")
    add("Lead", "2024-02-21T02:00:00.000+0000", LastName="O'Brien", FirstName="Pat",
        Email="obrien@example.com", Company="Bob's BBQ")
    add("Lead", "2024-02-22T02:00:00.000+0000", LastName="Percent", FirstName="Sam",
        Email="percent@example.com", Company="50%_OFF Store")
    add("Lead", "2024-02-23T02:00:00.000+0000", LastName="削除済み", Email="deleted@example.com",
        Company="Deleted Co", IsDeleted=True)

    add("Event", "2024-03-08T02:00:00.000+0000", WhoId=known_lead, OwnerId=sato,
        Subject="打ち合わせ: 日程調整デモ", Type="Meeting",
        StartDateTime="2024-03-10T01:00:00.000+0000", DurationInMinutes=30,
        Description="予約ページ: デモ\n参加者: 佐藤 花子")
    add("Task", "2024-02-03T02:00:00.000+0000", WhoId=known_contact, Subject="Call",
        Status="Not Started", Priority="Normal", ActivityDate="2024-02-10")
