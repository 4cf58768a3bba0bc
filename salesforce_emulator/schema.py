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
    # Describe keys the emulator does not model, as a real org reports them (standard/).
    extra: dict = field(default_factory=dict)

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
        described = {
            "aggregatable": self.groupable, "aiPredictionField": False, "autoNumber": False,
            "byteLength": byte_length,
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
            "filterable": self.filterable, "filteredLookupInfo": None,
            "formulaTreatNullNumberAsZero": False, "groupable": self.groupable,
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
        described.update(self.extra)
        return described


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
    info: dict = field(default_factory=dict)        # real object-level describe keys
    children: list[dict] | None = None              # real childRelationships, when known
    by_lower: dict[str, Field] = field(init=False)
    by_relationship: dict[str, Field] = field(init=False)

    def __post_init__(self) -> None:
        self.by_lower = {f.name.lower(): f for f in self.fields}
        self.by_relationship = {
            f.relationship_name.lower(): f for f in self.fields if f.relationship_name
        }

    def urls(self, version: str, instance_url: str = "", full: bool = False) -> dict:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        paths = {
            "compactLayouts": f"{base}/describe/compactLayouts", "rowTemplate": f"{base}/{{ID}}",
            "approvalLayouts": f"{base}/describe/approvalLayouts",
            "uiDetailTemplate": f"{instance_url}/{{ID}}",
            "uiEditTemplate": f"{instance_url}/{{ID}}/e",
            "eventSeriesUpdates": f"{base}/{{ID}}/fromThisEventOnwards",
            "namedLayouts": f"{base}/describe/namedLayouts/{{LayoutName}}",
            "passwordUtilities": f"{base}/{{ID}}/password", "listviews": f"{base}/listviews",
            "describe": f"{base}/describe", "uiNewRecord": f"{instance_url}/{self.key_prefix}/e",
            "quickActions": f"{base}/quickActions", "layouts": f"{base}/describe/layouts",
            "sobject": base,
        }
        kinds = self.info.get("urls") or ("rowTemplate", "describe", "layouts", "sobject")
        if not full:  # the global describe leaves out the UI and per-object-only links
            kinds = [k for k in kinds if not k.startswith("ui") and k != "eventSeriesUpdates"
                     and (k != "layouts" or self.info)]
        return {kind: paths[kind] for kind in kinds}

    def summary(self, version: str) -> dict:
        """The per-object entry of the global describe (``GET /sobjects``)."""
        entry = {
            "activateable": False, "associateEntityType": None, "associateParentEntity": None,
            "createable": self.createable, "custom": False, "customSetting": False,
            "deepCloneable": False, "deletable": self.deletable, "deprecatedAndHidden": False,
            "feedEnabled": False, "hasSubtypes": False, "isInterface": False,
            "isSubtype": False, "keyPrefix": self.key_prefix, "label": self.label,
            "labelPlural": self.label_plural, "layoutable": True,
            "mergeable": self.name in ("Lead", "Contact", "Account"), "mruEnabled": True,
            "name": self.name, "queryable": True, "replicateable": True, "retrieveable": True,
            "searchable": True, "triggerable": True, "undeletable": True,
            "updateable": self.updateable, "urls": self.urls(version),
        }
        entry.update({k: v for k, v in self.info.items() if k in _SUMMARY_FROM_INFO})
        return entry

    def describe(self, version: str, hidden: frozenset[str], instance_url: str = "") -> dict:
        result = self.summary(version)
        children = self.children if self.children is not None else [
            {"cascadeDelete": child == "Event" or child == "Task", "childSObject": child,
             "deprecatedAndHidden": False, "field": fk, "junctionIdListNames": [],
             "junctionReferenceTo": [], "relationshipName": rel, "restrictedDelete": False}
            for child, fk, rel in self.child_relationships]
        result.update({
            "actionOverrides": [], "childRelationships": children, "compactLayoutable": True,
            "defaultImplementation": None, "extendedBy": None, "extendsInterfaces": None,
            "fields": [f.describe() for f in self.fields if f.name not in hidden],
            "implementedBy": None, "implementsInterfaces": None, "listviewable": None,
            "lookupLayoutable": None, "namedLayoutInfos": [], "networkScopeFieldName": None,
            "recordTypeInfos": [{
                "active": True, "available": True, "defaultRecordTypeMapping": True,
                "developerName": "Master", "master": True, "name": "Master",
                "recordTypeId": "012000000000000AAA",
                "urls": {"layout": f"/services/data/v{version}/sobjects/{self.name}/describe/"
                                   "layouts/012000000000000AAA"},
            }],
            "searchLayoutable": True, "sobjectDescribeOption": "FULL",
            "supportedScopes": self.info.get("supportedScopes") or [
                {"label": "All " + self.label_plural.lower(), "name": "everything"}],
            "urls": self.urls(version, instance_url, full=True),
        })
        return dict(sorted(result.items()))


# Object-level keys a data module may set (real values), beyond the emulator's own flags.
_SUMMARY_FROM_INFO = frozenset({"feedEnabled", "mergeable", "undeletable", "mruEnabled",
                                "searchable", "layoutable", "activateable"})
