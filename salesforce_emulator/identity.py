"""Identity URL and UserInfo bodies (reference sections 1.7 and 1.8)."""

from __future__ import annotations

from .state import ORG_ID


def _urls(org, user_id: str, version: str | None) -> dict:
    inst = org.instance_url
    ver = version or "{version}"
    org15 = ORG_ID[:15]
    return {
        "enterprise": f"{inst}/services/Soap/c/{ver}/{org15}",
        "metadata": f"{inst}/services/Soap/m/{ver}/{org15}",
        "partner": f"{inst}/services/Soap/u/{ver}/{org15}",
        "rest": f"{inst}/services/data/v{ver}/",
        "sobjects": f"{inst}/services/data/v{ver}/sobjects/",
        "search": f"{inst}/services/data/v{ver}/search/",
        "query": f"{inst}/services/data/v{ver}/query/",
        "recent": f"{inst}/services/data/v{ver}/recent/",
        "profile": f"{inst}/{user_id}",
        "custom_domain": inst,
    }


def _photos(org) -> dict:
    return {"picture": f"{org.instance_url}/profilephoto/005/F",
            "thumbnail": f"{org.instance_url}/profilephoto/005/T"}


def identity_body(org, user: dict, version: str | None) -> dict:
    if version == "latest":
        version = "66.0"
    return {
        "id": f"{org.login_url}/id/{ORG_ID}/{user['Id']}", "asserted_user": True,
        "user_id": user["Id"], "organization_id": ORG_ID, "username": user["Username"],
        "nick_name": user["Username"].split("@")[0], "display_name": user["Name"],
        "email": user["Email"], "email_verified": True, "first_name": user["FirstName"],
        "last_name": user["LastName"], "timezone": user["TimeZoneSidKey"],
        "photos": _photos(org), "addr_street": None, "addr_city": None, "addr_state": None,
        "addr_country": "JP", "addr_zip": None, "mobile_phone": user.get("MobilePhone"),
        "mobile_phone_verified": False, "is_lightning_login_user": False,
        "status": {"created_date": None, "body": None},
        "urls": _urls(org, user["Id"], version), "active": bool(user["IsActive"]),
        "user_type": "STANDARD", "language": "ja", "locale": "ja_JP",
        "utcOffset": 32400000, "last_modified_date": user["LastModifiedDate"],
        "is_app_installed": True,
    }


def userinfo_body(org, user: dict) -> dict:
    return {
        "sub": f"{org.login_url}/id/{ORG_ID}/{user['Id']}", "user_id": user["Id"],
        "organization_id": ORG_ID, "preferred_username": user["Username"],
        "nickname": user["Username"].split("@")[0], "name": user["Name"],
        "email": user["Email"], "email_verified": True, "given_name": user["FirstName"],
        "family_name": user["LastName"], "zoneinfo": user["TimeZoneSidKey"],
        "photos": _photos(org), "profile": f"{org.instance_url}/{user['Id']}",
        "picture": _photos(org)["picture"], "address": {"country": "JP"},
        "is_salesforce_integration_user": False, "urls": _urls(org, user["Id"], None),
        "active": bool(user["IsActive"]), "user_type": "STANDARD", "language": "ja",
        "locale": "ja_JP", "utcOffset": 32400000,
        "updated_at": user["LastModifiedDate"][:19] + "Z", "is_app_installed": True,
    }
