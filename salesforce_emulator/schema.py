"""Field and object metadata, rendered with the property names of the REST describe call."""

from __future__ import annotations

from dataclasses import dataclass, field

# Field types compared as (case-insensitive) text in SOQL and validated as strings in DML.
TEXT_TYPES = frozenset({
    "string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox",
    "encryptedstring", "id", "reference",
})
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})

_SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
    "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
    "date": "xsd:date", "datetime": "xsd:dateTime",
}


@dataclass
class Field:
    """One field as describe reports it. Defaults are those of an ordinary optional field."""

    name: str
    label: str
    type: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted: bool = False
    default_value: object = None
    picklist: tuple = ()
    restricted: bool = False
    reference_to: tuple = ()
    relationship_name: str | None = None
    custom: bool = False
    extra_type_info: str | None = None
    html: bool = False
    filterable: bool = True
    sortable: bool = True
    groupable: bool = True
    calculated: bool = False
    unique: bool = False
    id_lookup: bool = False
    name_field: bool = False
    help_text: str | None = None

    @property
    def polymorphic(self) -> bool:
        return len(self.reference_to) > 1

    def active_values(self) -> set[str]:
        return {entry["value"] for entry in self.picklist if entry["active"]}

    def picklist_default(self) -> str | None:
        for entry in self.picklist:
            if entry["active"] and entry["defaultValue"]:
                return entry["value"]
        return None

    def describe(self) -> dict:
        byte_length = self.length * 3 if self.type in TEXT_TYPES else 0
        if self.type in ("id", "reference"):
            byte_length = 18
        return {
            "aggregatable": self.groupable, "autoNumber": False, "byteLength": byte_length,
            "calculated": self.calculated, "calculatedFormula": None, "cascadeDelete": False,
            "caseSensitive": False, "compoundFieldName": None, "controllerName": None,
            "createable": self.createable, "custom": self.custom,
            # Picklists keep the field-level default null and flag the default entry instead.
            "defaultValue": self.default_value if self.type not in ("picklist", "multipicklist")
            else None,
            "defaultValueFormula": None, "defaultedOnCreate": self.defaulted,
            "dependentPicklist": False, "deprecatedAndHidden": False, "digits": self.digits,
            "displayLocationInDecimal": False, "encrypted": self.type == "encryptedstring",
            "externalId": False, "extraTypeInfo": self.extra_type_info,
            "filterable": self.filterable, "filteredLookupInfo": None, "groupable": self.groupable,
            "highScaleNumber": False, "htmlFormatted": self.html, "idLookup": self.id_lookup,
            "inlineHelpText": self.help_text, "label": self.label, "length": self.length,
            "mask": None, "maskType": None, "name": self.name, "nameField": self.name_field,
            "namePointing": self.polymorphic, "nillable": self.nillable, "permissionable":
            self.nillable and self.createable, "picklistValues": [dict(e) for e in self.picklist],
            "polymorphicForeignKey": self.polymorphic, "precision": self.precision,
            "queryByDistance": False, "referenceTargetField": None,
            "referenceTo": list(self.reference_to), "relationshipName": self.relationship_name,
            "relationshipOrder": None, "restrictedDelete": False,
            "restrictedPicklist": self.restricted, "scale": self.scale,
            "searchPrefilterable": False,
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
            "sortable": self.sortable, "type": self.type, "unique": self.unique,
            "updateable": self.updateable, "writeRequiresMasterRead": False,
        }


@dataclass
class SObjectDef:
    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: list[Field]
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    child_relationships: list[tuple[str, str, str]] = field(default_factory=list)
    by_lower: dict[str, Field] = field(init=False)
    by_relationship: dict[str, Field] = field(init=False)

    def __post_init__(self) -> None:
        self.by_lower = {f.name.lower(): f for f in self.fields}
        self.by_relationship = {
            f.relationship_name.lower(): f for f in self.fields if f.relationship_name
        }

    def urls(self, version: str) -> dict:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}

    def summary(self, version: str) -> dict:
        """The per-object entry of the global describe (``GET /sobjects``)."""
        return {
            "activateable": False, "createable": self.createable, "custom": False,
            "customSetting": False, "deletable": self.deletable, "deprecatedAndHidden": False,
            "feedEnabled": False, "hasSubtypes": False, "isSubtype": False,
            "keyPrefix": self.key_prefix, "label": self.label, "labelPlural": self.label_plural,
            "layoutable": True, "mergeable": self.name in ("Lead", "Contact", "Account"),
            "mruEnabled": True, "name": self.name, "queryable": True, "replicateable": True,
            "retrieveable": True, "searchable": True, "triggerable": True, "undeletable": True,
            "updateable": self.updateable, "urls": self.urls(version),
        }

    def describe(self, version: str, hidden: frozenset[str]) -> dict:
        result = self.summary(version)
        result.update({
            "childRelationships": [
                {"cascadeDelete": child == "Event" or child == "Task", "childSObject": child,
                 "deprecatedAndHidden": False, "field": fk, "junctionIdListNames": [],
                 "junctionReferenceTo": [], "relationshipName": rel, "restrictedDelete": False}
                for child, fk, rel in self.child_relationships
            ],
            "compactLayoutable": True, "fields": [
                f.describe() for f in self.fields if f.name not in hidden
            ],
            "listviewable": None, "lookupLayoutable": None, "namedLayoutInfos": [],
            "networkScopeFieldName": None,
            "recordTypeInfos": [{
                "active": True, "available": True, "defaultRecordTypeMapping": True,
                "developerName": "Master", "master": True, "name": "Master",
                "recordTypeId": "012000000000000AAA",
                "urls": {"layout": f"/services/data/v{version}/sobjects/{self.name}/describe/"
                                   "layouts/012000000000000AAA"},
            }],
            "searchLayoutable": True, "supportedScopes": [
                {"label": "All " + self.label_plural.lower(), "name": "everything"}],
            "urls": dict(self.urls(version), layouts=f"/services/data/v{version}/sobjects/"
                         f"{self.name}/describe/layouts"),
        })
        return result
