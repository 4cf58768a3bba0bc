"""Record construction shared by DML, the seed and the control API: defaults and derived fields."""

from __future__ import annotations

from datetime import timedelta

from .values import format_datetime, parse_datetime

NAMED_PERSONS = ("Lead", "Contact", "User")


def compose_name(record: dict) -> str:
    """Full name in the org's ja_JP order (last name first); see README, UNVERIFIED."""
    parts = [record.get("LastName"), record.get("FirstName")]
    return " ".join(part for part in parts if part)


def _defaults(obj) -> dict:
    """Every field's value on create, computed once per object (creates are hot)."""
    cached = obj.__dict__.get("_create_defaults")
    if cached is None:
        cached = {}
        for fld in obj.fields:
            value = None
            if fld.type == "boolean":
                value = bool(fld.default_value)
            elif fld.defaulted and fld.type in ("picklist", "multipicklist"):
                value = fld.picklist_default()
            elif fld.defaulted and fld.default_value is not None:
                value = fld.default_value
            cached[fld.name] = value
        obj.__dict__["_create_defaults"] = cached
    return cached


def blank(org, sobject: str, user_id: str) -> dict:
    """A new record: every field null, then the values Salesforce fills in on create."""
    now = org.now_str()
    record = dict(_defaults(org.schema[sobject]))
    record["Id"] = org.new_id(sobject)
    for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
        if name in record:
            record[name] = now
    for name in ("CreatedById", "LastModifiedById", "OwnerId"):
        if name in record:
            record[name] = user_id
    if sobject == "Task":
        record["TaskSubtype"] = "Task"
    return record


# Compound address fields (type "address") and the prefix of their component fields.
ADDRESSES = {"Lead": ("",), "Contact": ("Mailing", "Other")}
_ADDRESS_PARTS = ("City", "Country", "GeocodeAccuracy", "Latitude", "Longitude", "PostalCode",
                  "State", "Street")


def compose_address(record: dict, prefix: str) -> dict | None:
    """The read-only compound value, e.g. Lead.Address; null when every part is null."""
    parts = {part[0].lower() + part[1:]: record.get(prefix + part) for part in _ADDRESS_PARTS}
    return parts if any(value is not None for value in parts.values()) else None


def derive(sobject: str, record: dict, changed: set[str] | None = None) -> None:
    """Recompute derived fields after a write (Name, addresses; an Event's times)."""
    if sobject in NAMED_PERSONS:
        record["Name"] = compose_name(record)
    for prefix in ADDRESSES.get(sobject, ()):
        record[prefix + "Address"] = compose_address(record, prefix)
    if sobject == "Event":
        derive_event_times(record, changed)
    if sobject == "Task":
        record["IsClosed"] = record.get("Status") == "Completed"


def derive_event_times(record: dict, changed: set[str] | None = None) -> None:
    """Keep StartDateTime, EndDateTime and DurationInMinutes consistent, as Salesforce does.

    A changed start with no new end or duration moves the end (the duration is kept).
    """
    changed = changed if changed is not None else set(record)
    start = parse_datetime(record.get("StartDateTime") or "")
    if start is None and record.get("ActivityDateTime"):
        start = parse_datetime(record["ActivityDateTime"])
        record["StartDateTime"] = record["ActivityDateTime"]
    if start is None:
        return
    if record.get("IsAllDayEvent"):
        start = start.replace(hour=0, minute=0, second=0)
        record["StartDateTime"] = format_datetime(start)
        if not record.get("DurationInMinutes") and "EndDateTime" not in changed:
            record["DurationInMinutes"] = 1440
    end = parse_datetime(record.get("EndDateTime") or "")
    duration = record.get("DurationInMinutes")
    if "EndDateTime" in changed and end is not None:
        record["DurationInMinutes"] = int((end - start).total_seconds() // 60)
    elif duration is not None:
        record["EndDateTime"] = format_datetime(start + timedelta(minutes=duration))
    elif end is not None:
        record["DurationInMinutes"] = int((end - start).total_seconds() // 60)
    record["ActivityDateTime"] = None if record.get("IsAllDayEvent") else record["StartDateTime"]
    record["ActivityDate"] = record["StartDateTime"][:10]
    if record.get("EndDateTime"):
        record["EndDate"] = record["EndDateTime"][:10]


def insert_raw(org, sobject: str, values: dict, *, user_id: str | None = None) -> dict:
    """Insert a record without validation or API accounting (seed and test fixtures).

    System fields (CreatedDate, LastModifiedDate, IsConverted, IsDeleted...) may be given
    explicitly, which the API would refuse: that is the point of fixture inserts.
    """
    record = blank(org, sobject, user_id or org.admin_id)
    fields = {f.name.lower(): f.name for f in org.schema[sobject].fields}
    for key, value in values.items():
        name = fields.get(key.lower())
        if name is None:
            raise KeyError(f"No such column '{key}' on sobject of type {sobject}")
        if name == "Id":
            continue
        record[name] = value
    if "LastModifiedDate" in record and "SystemModstamp" not in values:
        record["SystemModstamp"] = record["LastModifiedDate"]
    derive(sobject, record)
    org.put(sobject, record)
    return record
