"""Create, update and delete with Salesforce's rules: defaults, required fields, Event
consistency, lead assignment rules (``Sforce-Auto-Assign``) and duplicate rules."""

from __future__ import annotations

from . import ids
from .errors import SFError, not_found
from .records import blank, derive
from .validation import clean_body, raise_required, required_missing
from .values import parse_datetime

DUPLICATE_RULE = "Standard_Lead_Duplicate_Rule"
MATCH_RULE = "Standard_Lead_Match_Rule_v1_0"


def _object(org, sobject: str, action: str):
    obj = org.schema[sobject]
    if not getattr(obj, action):
        raise SFError(400, "INSUFFICIENT_ACCESS_OR_READONLY",
                      "insufficient access rights on object id")
    return obj


def fetch(org, sobject: str, record_id: str) -> dict:
    """The live record for a path id (15 or 18 characters) or 404 as Salesforce answers."""
    full = ids.normalize(record_id)
    if full is None:
        # Salesforce reads a path segment that is no id as an external id value.
        raise SFError(404, "NOT_FOUND", "Provided external ID field does not exist or is not "
                      f"accessible: {record_id}")
    record = org.records[sobject].get(full)
    if record is None:
        raise not_found()
    if record.get("IsDeleted"):
        # Status UNVERIFIED (404 vs 400); see README.
        raise SFError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
    return record


def _headers(headers) -> tuple[str, bool]:
    auto_assign = (headers.get("Sforce-Auto-Assign") or "").strip()
    dup_header = (headers.get("Sforce-Duplicate-Rule-Header") or "").replace(",", ";")
    allow_save = any(part.strip().lower() == "allowsave=true" for part in dup_header.split(";"))
    return auto_assign, allow_save


def create(org, user_id: str, sobject: str, body, headers) -> str:
    _object(org, sobject, "createable")
    values = clean_body(org, sobject, body, creating=True)
    record = blank(org, sobject, user_id)
    obj = org.schema[sobject]
    for name, value in values.items():
        # An explicit null on a defaulted field (OwnerId, Status...) keeps the default.
        if value is None and obj.by_lower[name.lower()].defaulted:
            continue
        record[name] = value
    raise_required(required_missing(org, sobject, record))
    if sobject in ("Event", "Task"):
        _check_activity(org, sobject, record, set(values), creating=True)
    derive(sobject, record, set(values))
    auto_assign, allow_save = _headers(headers)
    if sobject == "Lead":
        _check_duplicates(org, record, allow_save)
        _assign(org, record, auto_assign, creating=True)
    org.put(sobject, record)
    return record["Id"]


def update(org, user_id: str, sobject: str, record_id: str, body, headers) -> None:
    _object(org, sobject, "updateable")
    current = fetch(org, sobject, record_id)
    if sobject == "Lead" and current.get("IsConverted"):
        raise SFError(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead",
                      [])
    values = clean_body(org, sobject, body, creating=False)
    record = dict(current)
    record.update(values)
    cleared = [name for name, value in values.items() if value is None
               and not org.schema[sobject].by_lower[name.lower()].nillable]
    raise_required(cleared)
    if sobject in ("Event", "Task"):
        _check_activity(org, sobject, record, set(values), creating=False)
    derive(sobject, record, set(values))
    auto_assign, allow_save = _headers(headers)
    if sobject == "Lead":
        if "Email" in values:
            _check_duplicates(org, record, allow_save)
        _assign(org, record, auto_assign, creating=False)
    record["LastModifiedDate"] = record["SystemModstamp"] = org.now_str()
    record["LastModifiedById"] = user_id
    org.put(sobject, record)


def delete(org, sobject: str, record_id: str) -> None:
    _object(org, sobject, "deletable")
    record = dict(fetch(org, sobject, record_id))
    record["IsDeleted"] = True
    record["SystemModstamp"] = org.now_str()
    org.put(sobject, record)
    if sobject in ("Lead", "Contact", "Account"):
        # Deleting a Lead/Contact/Account deletes its open activities too (recycle bin).
        key = "WhatId" if sobject == "Account" else "WhoId"
        for child in ("Event", "Task"):
            for activity in list(org.records[child].values()):
                if activity.get(key) == record["Id"] and not activity.get("IsDeleted"):
                    org.put(child, dict(activity, IsDeleted=True))


def _check_activity(org, sobject, record, changed, creating) -> None:
    who = record.get("WhoId")
    if who and record.get("WhatId") and who.startswith("00Q"):
        # Message text UNVERIFIED; the rule (no WhatId on a Lead's activity) is documented.
        raise SFError(400, "FIELD_INTEGRITY_EXCEPTION", "Related To ID: You can't associate a "
                      "lead with a related record (WhatId must be empty when WhoId is a Lead)",
                      ["WhatId"])
    if sobject != "Event":
        return
    if record.get("IsAllDayEvent"):
        if not record.get("StartDateTime") and not record.get("ActivityDate"):
            raise SFError(400, "REQUIRED_FIELD_MISSING",
                          "Required fields are missing: [ActivityDate]", ["ActivityDate"])
        if not record.get("StartDateTime"):
            record["StartDateTime"] = record["ActivityDate"] + "T00:00:00.000+0000"
        return
    start = record.get("StartDateTime") or record.get("ActivityDateTime")
    if not start:
        raise SFError(400, "REQUIRED_FIELD_MISSING",
                      "Required fields are missing: [StartDateTime]", ["StartDateTime"])
    record["StartDateTime"] = start
    duration, end = record.get("DurationInMinutes"), record.get("EndDateTime")
    if creating and duration is None and end is None:
        # Since API v39.0 the error is reported on EndDateTime.
        raise SFError(400, "REQUIRED_FIELD_MISSING",
                      "Required fields are missing: [EndDateTime]", ["EndDateTime"])
    start_at = parse_datetime(start)
    end_at = parse_datetime(end) if end else None
    if end_at is not None and end_at < start_at and (creating or "EndDateTime" in changed):
        raise SFError(400, "FIELD_INTEGRITY_EXCEPTION",
                      "End Date Time: End time can't be before the start time", ["EndDateTime"])
    if {"EndDateTime", "DurationInMinutes"} <= changed and end_at and duration is not None:
        if int((end_at - start_at).total_seconds() // 60) != duration:
            raise SFError(400, "FIELD_INTEGRITY_EXCEPTION", "Duration: DurationInMinutes "
                          "does not match the difference between StartDateTime and "
                          "EndDateTime", ["DurationInMinutes"])
    if duration is not None and duration < 0:
        raise SFError(400, "FIELD_INTEGRITY_EXCEPTION",
                      "Duration: Event duration must be positive", ["DurationInMinutes"])
    if (record.get("OwnerId") or "").startswith("00G"):
        raise SFError(400, "FIELD_INTEGRITY_EXCEPTION",
                      "Assigned To ID: id value of incorrect type: " + record["OwnerId"],
                      ["OwnerId"])


def _assign(org, record: dict, header: str, creating: bool) -> None:
    """Run the active lead assignment rule unless ``Sforce-Auto-Assign: FALSE``.

    A missing header means TRUE on create (REST default). On update the rule runs only when
    the header asks for it explicitly (community reports disagree; UNVERIFIED).
    """
    rule = org.settings["assignment_rule"]
    if not rule["active"] or not rule.get("target_user_id"):
        return
    value = header.upper()
    if value == "FALSE":
        return
    if not value and not creating:
        return
    if value not in ("", "TRUE") and ids.normalize(header) != rule["rule_id"]:
        return
    target = org.records["User"].get(ids.normalize(rule["target_user_id"]) or "")
    if target is not None and target["IsActive"]:
        record["OwnerId"] = target["Id"]


def _check_duplicates(org, record: dict, allow_save_header: bool) -> None:
    rule = org.settings["duplicate_rule"]
    email = (record.get("Email") or "").casefold()
    if not rule["active"] or not email:
        return
    matches = [lead for lead in org.records["Lead"].values()
               if lead["Id"] != record["Id"] and not lead.get("IsDeleted")
               and not lead.get("IsConverted") and (lead.get("Email") or "").casefold() == email]
    if not matches:
        return
    allow = rule["action"] == "allow"
    if allow and allow_save_header:
        return
    message = "Use one of these records?"
    result = {
        "allowSave": allow, "duplicateRule": DUPLICATE_RULE, "duplicateRuleEntityType": "Lead",
        "errorMessage": message,
        "matchResults": [{
            "entityType": "Lead", "errors": [], "matchEngine": "FuzzyMatchEngine",
            "matchRecords": [{
                "additionalInformation": [], "fieldDiffs": [], "matchConfidence": 100.0,
                "record": {"attributes": {"type": "Lead", "url":
                                          f"/services/data/v59.0/sobjects/Lead/{m['Id']}"},
                           "Id": m["Id"]},
            } for m in matches],
            "rule": MATCH_RULE, "size": len(matches), "success": True,
        }],
    }
    # The real REST body misspells the key as "duplicateResut".
    raise SFError(400, "DUPLICATES_DETECTED", message, None, {"duplicateResut": result})
