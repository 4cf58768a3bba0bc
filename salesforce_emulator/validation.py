"""Describe-driven checks of a DML body: field names, writability, types, lengths, picklists.

Each check raises the ``SFError`` Salesforce answers with, using its message patterns, e.g.
``<Label>: data value too large: <v> (max length=N)`` or
``<Label>: bad value for restricted picklist field: <v>``.
"""

from __future__ import annotations

import math
import re

from . import ids
from .errors import SFError, json_parser_error
from .schema import TEXT_TYPES, Field
from .values import normalize_datetime, parse_date

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_JAVA_TYPES = {"int": "int", "double": "double", "currency": "double", "percent": "double",
               "boolean": "boolean", "date": "date", "datetime": "datetime"}


def _deserialize_error(fld: Field, value) -> SFError:
    kind = "VALUE_STRING" if isinstance(value, str) else (
        "START_ARRAY" if isinstance(value, list) else
        "START_OBJECT" if isinstance(value, dict) else "VALUE_NUMBER_INT")
    java = _JAVA_TYPES.get(fld.type, "string")
    shown = value if not isinstance(value, (list, dict)) else ""
    return json_parser_error(f"Cannot deserialize instance of {java} from {kind} value {shown} "
                             "or request may be missing a required field")


def coerce(fld: Field, value):
    """JSON value -> stored value, or JSON_PARSER_ERROR as Salesforce's deserializer does."""
    if value is None:
        return None
    kind = fld.type
    if isinstance(value, (list, dict)):
        raise _deserialize_error(fld, value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _deserialize_error(fld, value)
    if kind in ("int", "double", "currency", "percent"):
        if isinstance(value, bool):
            raise _deserialize_error(fld, value)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise _deserialize_error(fld, value) from None
        if not math.isfinite(number):
            raise _deserialize_error(fld, value)
        if kind == "int":
            if number != int(number):
                raise _deserialize_error(fld, value)
            return int(number)
        return number
    if kind == "date":
        parsed = parse_date(value) if isinstance(value, str) else None
        if parsed is None:
            raise _deserialize_error(fld, value)
        return parsed.isoformat()
    if kind == "datetime":
        normalized = normalize_datetime(value) if isinstance(value, str) else None
        if normalized is None:
            raise _deserialize_error(fld, value)
        return normalized
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if not isinstance(value, str) else value


def check_value(org, fld: Field, value) -> object:
    """Field-level checks of a coerced value; returns the value to store."""
    if value is None:
        return None
    kind, label = fld.type, fld.label
    if kind in TEXT_TYPES and kind not in ("id", "reference", "multipicklist", "picklist"):
        if value == "":
            return None  # Salesforce stores an empty string as null
        if fld.length and len(value) > fld.length:
            raise SFError(400, "STRING_TOO_LONG", f"{label}: data value too large: {value} "
                          f"(max length={fld.length})", [fld.name])
        if kind == "email" and not _EMAIL.match(value):
            raise SFError(400, "INVALID_EMAIL_ADDRESS",
                          f"{label}: invalid email address: {value}", [fld.name])
    if kind == "picklist":
        if value == "":
            return None
        if fld.restricted and value not in fld.active_values():
            raise SFError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                          f"{label}: bad value for restricted picklist field: {value}",
                          [fld.name])
        if len(value) > fld.length:
            raise SFError(400, "STRING_TOO_LONG", f"{label}: data value too large: {value} "
                          f"(max length={fld.length})", [fld.name])
    if kind == "multipicklist":
        parts = []
        for part in value.split(";"):
            if part and part not in parts:
                parts.append(part)
            if part and fld.restricted and part not in fld.active_values():
                raise SFError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                              f"{label}: bad value for restricted picklist field: {part}",
                              [fld.name])
        value = ";".join(parts) or None
        if value and len(value) > fld.length:
            raise SFError(400, "STRING_TOO_LONG", f"{label}: data value too large: {value} "
                          f"(max length={fld.length})", [fld.name])
    if kind in ("double", "currency", "percent") and fld.precision:
        if abs(value) >= 10 ** (fld.precision - fld.scale):
            raise SFError(400, "NUMBER_OUTSIDE_VALID_RANGE",
                          f"{label}: value outside of valid range on numeric field: {value}",
                          [fld.name])
        value = round(value, fld.scale)
        value = float(value)
    if kind == "reference":
        return check_reference(org, fld, value)
    return value


def check_reference(org, fld: Field, value: str) -> str:
    full = ids.normalize(value)
    if full is None:
        raise SFError(400, "MALFORMED_ID", f"{fld.label}: id value of incorrect type: {value}",
                      [fld.name])
    allowed = {org.schema[name].key_prefix for name in fld.reference_to if name in org.schema}
    foreign = {"Group": "00G", "Calendar": "023"}
    allowed |= {foreign[name] for name in fld.reference_to if name in foreign}
    if full[:3] not in allowed:
        raise SFError(400, "FIELD_INTEGRITY_EXCEPTION",
                      f"{fld.label}: id value of incorrect type: {value}", [fld.name])
    sobject, record = org.lookup(full)
    if record is None or record.get("IsDeleted"):
        raise SFError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id",
                      [fld.name])
    if sobject == "User" and fld.name == "OwnerId" and not record["IsActive"]:
        # Message text UNVERIFIED (see README); the code is the documented one.
        raise SFError(400, "INACTIVE_OWNER_OR_USER",
                      f"operation performed with inactive user [{full}] as owner of "
                      f"{fld.label.replace(' ID', '').lower()}", [fld.name])
    return full


def clean_body(org, sobject: str, body, *, creating: bool) -> dict:
    """Validate a create/update body; returns {canonical field name: stored value}."""
    if not isinstance(body, dict):
        raise json_parser_error("Cannot deserialize instance of "
                                f"{sobject} from {type(body).__name__.upper()} value")
    resolved: list[tuple[Field, object]] = []
    for key, value in body.items():
        if key == "attributes":
            continue
        fld = org.field(sobject, key)
        if fld is None:
            raise SFError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type "
                          f"{sobject}")
        if fld.name == "Id" and creating:
            raise SFError(400, "INVALID_FIELD",
                          "The Id field should not be specified in the sobject data.")
        resolved.append((fld, value))
    not_writable = [fld.name for fld, _ in resolved
                    if fld.name != "Id" and not (fld.createable if creating else fld.updateable)]
    if not_writable:
        names = ", ".join(not_writable)
        raise SFError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                      f"Unable to create/update fields: {names}. Please check the security "
                      "settings of this field and verify that it is read/write for your profile "
                      "or permission set.", not_writable)
    coerced = [(fld, coerce(fld, value)) for fld, value in resolved if fld.name != "Id"]
    return {fld.name: check_value(org, fld, value) for fld, value in coerced}


def required_missing(org, sobject: str, record: dict) -> list[str]:
    """createable, not nillable, not defaulted on create, not boolean -> required."""
    return [f.name for f in org.visible_fields(sobject)
            if f.createable and not f.nillable and not f.defaulted and f.type != "boolean"
            and record.get(f.name) in (None, "")]


def raise_required(names: list[str]) -> None:
    if names:
        raise SFError(400, "REQUIRED_FIELD_MISSING",
                      f"Required fields are missing: [{', '.join(names)}]", names)
