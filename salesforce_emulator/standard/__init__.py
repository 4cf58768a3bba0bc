"""Standard objects built from a real org's describe (see README, "Describe sources").

The data modules (``lead``, ``contact``, ``event``, ``user``) list each field as the keys
in which its real describe differs from ``field_defaults(type, length)``; ``build`` turns them
back into ``schema.Field`` objects whose ``describe()`` reproduces the real field description
key for key. Keys the emulator's behaviour does not read travel in ``Field.extra``.
"""

from __future__ import annotations

from ..schema import Field, SObjectDef
from .timezones import TIMEZONES

_TEXT_BYTES = frozenset({"string", "textarea", "email", "phone", "url", "picklist",
                         "multipicklist", "combobox", "encryptedstring"})
_SOAP = {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
         "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
         "date": "xsd:date", "datetime": "xsd:dateTime", "address": "urn:address",
         "location": "urn:location"}
# Attributes of schema.Field and the describe keys they come from.
_MODELED = {
    "name": "name", "label": "label", "type": "type", "length": "length",
    "precision": "precision", "scale": "scale", "digits": "digits", "nillable": "nillable",
    "createable": "createable", "updateable": "updateable", "defaulted": "defaultedOnCreate",
    "default_value": "defaultValue", "restricted": "restrictedPicklist",
    "relationship_name": "relationshipName", "custom": "custom",
    "extra_type_info": "extraTypeInfo", "html": "htmlFormatted", "filterable": "filterable",
    "sortable": "sortable", "groupable": "groupable", "calculated": "calculated",
    "unique": "unique", "id_lookup": "idLookup", "name_field": "nameField",
    "help_text": "inlineHelpText",
}


def field_defaults(kind: str, length: int = 0) -> dict:
    """The describe of an ordinary optional, writable standard field of this type."""
    return {
        "aggregatable": True, "aiPredictionField": False, "autoNumber": False,
        "byteLength": length * 3 if kind in _TEXT_BYTES else 18 if kind in ("id", "reference")
        else 0,
        "calculated": False, "calculatedFormula": None, "cascadeDelete": False,
        "caseSensitive": False, "compoundFieldName": None, "controllerName": None,
        "createable": True, "custom": False, "defaultValue": None, "defaultValueFormula": None,
        "defaultedOnCreate": False, "dependentPicklist": False, "deprecatedAndHidden": False,
        "digits": 0, "displayLocationInDecimal": False, "encrypted": False,
        "externalId": False, "extraTypeInfo": None, "filterable": True,
        "filteredLookupInfo": None, "formulaTreatNullNumberAsZero": False, "groupable": True,
        "highScaleNumber": False, "htmlFormatted": False, "idLookup": False,
        "inlineHelpText": None, "label": "", "length": length, "mask": None, "maskType": None,
        "name": "", "nameField": False, "namePointing": False, "nillable": True,
        "permissionable": True, "picklistValues": [], "polymorphicForeignKey": False,
        "precision": 0, "queryByDistance": False, "referenceTargetField": None,
        "referenceTo": [], "relationshipName": None, "relationshipOrder": None,
        "restrictedDelete": False, "restrictedPicklist": False, "scale": 0,
        "searchPrefilterable": False, "soapType": _SOAP.get(kind, "xsd:string"),
        "sortable": True, "type": kind, "unique": False, "updateable": True,
        "writeRequiresMasterRead": False,
    }


def _picklist(entries) -> tuple:
    if entries == "TIMEZONES":
        entries = TIMEZONES
    values = []
    for entry in entries:
        if isinstance(entry, str):
            entry = (entry, entry)
        if len(entry) == 2:
            entry = (*entry, True, False)
        value, label, active, default = entry
        values.append({"active": active, "defaultValue": default, "label": label,
                       "validFor": None, "value": value})
    return tuple(values)


def field_from(data: dict) -> Field:
    """A Field whose describe() equals the real description ``defaults | data``."""
    real = field_defaults(data["type"], data.get("length", 0))
    real.update(data)
    real["picklistValues"] = list(_picklist(data.get("picklistValues", ())))
    fld = Field(**{attr: real[key] for attr, key in _MODELED.items()},
                picklist=tuple(real["picklistValues"]),
                reference_to=tuple(real["referenceTo"]))
    computed = fld.describe()
    fld.extra = {key: value for key, value in real.items() if computed.get(key) != value}
    return fld


def build(module, extra_fields=(), **flags) -> SObjectDef:
    """The SObjectDef of a data module, plus the org's own (custom) fields."""
    fields = [field_from(entry) for entry in module.FIELDS]
    fields.extend(extra_fields)
    info = dict(module.OBJECT)
    children = None if module.CHILDREN is None else []
    for child, fk, rel, cascade, restricted, *junction in module.CHILDREN or ():
        names, targets = junction or ([], [])
        children.append({"cascadeDelete": cascade, "childSObject": child,
                         "deprecatedAndHidden": False, "field": fk,
                         "junctionIdListNames": list(names), "junctionReferenceTo": list(targets),
                         "relationshipName": rel, "restrictedDelete": restricted})
    return SObjectDef(info["name"], info["label"], info["labelPlural"], info["keyPrefix"],
                      fields, info=info, children=children, **flags)
