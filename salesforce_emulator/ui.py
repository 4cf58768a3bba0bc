"""Read-only Lightning record browser at the real paths, so a person can open what Apo wrote.

Deliberately no login: it is a local demo aid (see README).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template

from . import ids

bp = Blueprint("ui", __name__)
TABS = ["Lead", "Contact", "Account", "Event", "Task", "User"]
_LIST_COLUMNS = {
    "Lead": ["Name", "Company", "Email", "Status", "OwnerId", "LastModifiedDate"],
    "Contact": ["Name", "Email", "AccountId", "OwnerId", "LastModifiedDate"],
    "Account": ["Name", "Industry", "OwnerId", "LastModifiedDate"],
    "Event": ["Subject", "StartDateTime", "EndDateTime", "WhoId", "OwnerId", "Type"],
    "Task": ["Subject", "Status", "WhoId", "OwnerId", "ActivityDate"],
    "User": ["Name", "Username", "Email", "IsActive", "ProfileId"],
    "Profile": ["Name", "UserType"],
    "Organization": ["Name", "OrganizationType", "IsSandbox"],
}


def _display(org, value):
    """A reference shows the target's name; everything else its plain value."""
    if isinstance(value, str) and len(value) == 18 and ids.normalize(value):
        sobject, record = org.lookup(value)
        if record is not None:
            return record.get("Name") or record.get("Subject") or value, \
                f"/lightning/r/{sobject}/{value}/view"
    if isinstance(value, bool):
        return ("✔" if value else ""), None
    if isinstance(value, dict):  # a compound address: its parts, in reading order
        parts = ("street", "city", "state", "postalCode", "country")
        return " ".join(str(value[p]) for p in parts if value.get(p) is not None), None
    return ("" if value is None else value), None


@bp.route("/")
@bp.route("/lightning/page/home")
def home():
    return redirect("/lightning/o/Lead/list")


@bp.route("/lightning/o/<sobject>/list")
def list_view(sobject: str):
    org = current_app.config["ORG"]
    with org.lock:
        name = org.sobject_name(sobject)
        if name is None:
            abort(404)
        obj = org.schema[name]
        columns = [obj.by_lower[c.lower()] for c in _LIST_COLUMNS.get(name, ["Id"])]
        records = sorted(org.records[name].values(),
                         key=lambda r: r.get("LastModifiedDate") or "", reverse=True)
        rows = [{"record": r, "cells": [_display(org, r.get(c.name))[0] for c in columns]}
                for r in records]
    return render_template("list.html", obj=obj, columns=columns, rows=rows, tabs=TABS)


@bp.route("/lightning/r/<sobject>/<record_id>/view")
@bp.route("/<record_id>")
def record_view(record_id: str, sobject: str | None = None):
    org = current_app.config["ORG"]
    with org.lock:
        found_type, record = org.lookup(record_id)
        if record is None or (sobject and org.sobject_name(sobject) != found_type):
            abort(404)
        obj = org.schema[found_type]
        fields = []
        for fld in obj.fields:
            value, link = _display(org, record.get(fld.name))
            fields.append((fld.label, fld.name, value, link))
        owner = org.lookup(record["OwnerId"])[1] if record.get("OwnerId") else None
        who_type, who = org.lookup(record["WhoId"]) if record.get("WhoId") else (None, None)
        title = record.get("Name") or record.get("Subject") or record["Id"]
    return render_template("record.html", obj=obj, record=record, fields=fields, owner=owner,
                           who=who, who_type=who_type, title=title, tabs=TABS)
