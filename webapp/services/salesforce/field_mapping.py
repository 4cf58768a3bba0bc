"""Which form field may feed which Lead field (SPEC M1-M5): pure rules over a Lead describe.

No database, no HTTP: the form settings (save-time checks, autocomplete) and the sync engine
both read the same table. The describe is the REST ``sobjects/Lead/describe`` dict.

Type keys name the Salesforce UI data types of the SPEC M2 table; types outside the table get
their own keys (``textarea`` = the 255-character Text Area, ``date``, ``reference``...) so they
can be named in a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from webapp.models import FieldType
from webapp.web.i18n import join_list

# Rich and long text areas are longer than this; a plain Text Area is at most 255 (API ref 2.5).
TEXT_AREA_MAX = 255

# SPEC M2, cell by cell. Note: dropdown maps to multi-select picklist, as the SPEC says.
_TEXT_LIKE = {"text", "url", "email", "richtextarea", "phone", "number", "currency",
              "encryptedtext", "percent"}
ALLOWED: dict[FieldType, frozenset[str]] = {
    FieldType.TEXT: frozenset(_TEXT_LIKE),
    FieldType.TEXTAREA: frozenset({"text", "richtextarea", "longtextarea", "url", "email",
                                   "phone", "currency", "encryptedtext", "percent"}),
    FieldType.RADIO: frozenset({"picklist"}),
    FieldType.CHECKBOX: frozenset({"multipicklist"}),
    FieldType.DROPDOWN: frozenset({"multipicklist"}),
    FieldType.HIDDEN: frozenset(_TEXT_LIKE | {"picklist", "checkbox"}),
    FieldType.DATE: frozenset(),
}

# The seven form field types of F2, named as in the seed.
FORM_TYPE_LABELS = {
    FieldType.TEXT.value: _l("テキストフィールド"),
    FieldType.TEXTAREA.value: _l("テキストエリア"),
    FieldType.RADIO.value: _l("ラジオボタン"),
    FieldType.CHECKBOX.value: _l("チェックボックス"),
    FieldType.DROPDOWN.value: _l("ドロップダウン"),
    FieldType.HIDDEN.value: _l("隠しフィールド"),
    FieldType.DATE.value: _l("日付"),
}

# M1: the default fields Apo writes itself (name, company, email) are never mappable.
DEFAULT_LEAD_FIELDS = frozenset({"lastname", "firstname", "name", "company", "email"})

TYPE_LABELS = {
    "text": _l("テキスト"), "url": _l("URL"), "email": _l("メール"),
    "richtextarea": _l("テキストエリア (リッチ)"), "longtextarea": _l("ロングテキストエリア"),
    "textarea": _l("テキストエリア"), "phone": _l("電話"), "number": _l("数値"),
    "currency": _l("通貨"), "encryptedtext": _l("テキスト(暗号化)"), "percent": _l("パーセント"),
    "picklist": _l("選択リスト"), "multipicklist": _l("選択リスト(複数選択)"),
    "checkbox": _l("チェックボックス"), "date": _l("日付"), "datetime": _l("日付/時間"),
    "reference": _l("参照関係"), "id": _l("ID"),
}
# The order in which allowed types are listed in a refusal (the seed's table order).
TYPE_ORDER = list(TYPE_LABELS)

_SIMPLE_TYPES = {
    "string": "text", "url": "url", "email": "email", "phone": "phone", "int": "number",
    "double": "number", "long": "number", "currency": "currency",
    "encryptedstring": "encryptedtext", "percent": "percent", "picklist": "picklist",
    "multipicklist": "multipicklist", "boolean": "checkbox", "date": "date",
    "datetime": "datetime", "reference": "reference", "id": "id",
}


def describe_type_key(sf_field: dict) -> str:
    """The M2 type key of one describe field: ``type`` refined by ``extraTypeInfo``.

    All three text-area kinds share ``type: "textarea"``; rich ones say ``richtextarea`` (or
    ``htmlFormatted``), long ones are plain but longer than 255. Unknown types come back as
    ``"other:<type>"``, which no form field type accepts.
    """
    sf_type = (sf_field.get("type") or "").lower()
    if sf_type == "textarea":
        if sf_field.get("extraTypeInfo") == "richtextarea" or sf_field.get("htmlFormatted"):
            return "richtextarea"
        return "longtextarea" if (sf_field.get("length") or 0) > TEXT_AREA_MAX else "textarea"
    return _SIMPLE_TYPES.get(sf_type, f"other:{sf_type}")


def type_label(key: str) -> str:
    """A translatable name for a type key (the raw Salesforce type for unknown ones)."""
    return str(TYPE_LABELS.get(key, key.removeprefix("other:")))


def compatible_types(form_field_type: str | FieldType) -> frozenset[str]:
    """The Salesforce type keys a form field type may be mapped to (M2)."""
    try:
        return ALLOWED[FieldType(form_field_type)]
    except ValueError:
        return frozenset()


def mappable_type(form_field_type: str | FieldType) -> bool:
    """False for the form field types no Lead type accepts: today the date field (M2)."""
    return bool(compatible_types(form_field_type))


def is_default_field(name: str) -> bool:
    """True for the Lead fields behind the default form fields (M1)."""
    return name.strip().lower() in DEFAULT_LEAD_FIELDS


def find_field(lead_describe: dict | None, name: str) -> dict | None:
    """The describe entry of ``name`` (API names are case-insensitive), or None."""
    wanted = name.strip().lower()
    for sf_field in (lead_describe or {}).get("fields", []):
        if sf_field.get("name", "").lower() == wanted:
            return sf_field
    return None


def active_picklist_values(sf_field: dict) -> list[str]:
    """The active choices of a picklist or multi-select picklist, in Salesforce's order."""
    return [v["value"] for v in sf_field.get("picklistValues") or [] if v.get("active")]


def missing_picklist_choices(choices: list[str], sf_field: dict) -> list[str]:
    """Form choices Salesforce would not store (M3), compared exactly as the API does."""
    active = set(active_picklist_values(sf_field))
    return [choice for choice in choices if choice not in active]


def _writable(sf_field: dict) -> bool:
    return bool(sf_field.get("createable") or sf_field.get("updateable")) and not sf_field.get(
        "calculated")


@dataclass(frozen=True)
class Issue:
    """One finding: ``code`` for programs (sync log, tests), ``params`` for the message."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return issue_message(self)


@dataclass
class MappingCheck:
    """The verdict on one mapping: errors refuse the save, warnings only inform."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    sf_field: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def state(self) -> str:
        return "error" if self.errors else "warning" if self.warnings else "ok"

    @property
    def type_key(self) -> str | None:
        return describe_type_key(self.sf_field) if self.sf_field else None


@dataclass(frozen=True)
class FieldSpec:
    """What the checks read from a form field; ``FormField`` rows have the same attributes."""

    field_type: str
    salesforce_field: str = ""
    choices: list[str] = field(default_factory=list)
    hidden_value: str = ""


def check_mapping(form_field: Any, lead_describe: dict | None) -> MappingCheck:
    """Check one form field's Salesforce mapping against the Lead describe (M1-M5).

    ``form_field`` is a ``FormField`` or ``FieldSpec``. ``lead_describe`` None means the org
    could not be asked (not connected, Salesforce down): the name cannot be verified then.
    """
    result = MappingCheck()
    name = (form_field.salesforce_field or "").strip()
    if not name:
        return result
    if is_default_field(name):
        result.errors.append(Issue("default_field", {"name": name}))
        return result
    if not mappable_type(form_field.field_type):
        result.errors.append(Issue("date_unsupported"))
        return result
    if lead_describe is None:
        result.warnings.append(Issue("not_checked", {"name": name}))
        return result
    sf_field = result.sf_field = find_field(lead_describe, name)
    if sf_field is None:
        # Field-level security hides a field from describe; M5 lets the admin keep the name.
        result.warnings.append(Issue("not_visible", {"name": name}))
        return result
    _check_type(form_field, sf_field, result)
    if result.ok:
        _check_values(form_field, sf_field, result)
    return result


def _check_type(form_field: Any, sf_field: dict, result: MappingCheck) -> None:
    key = describe_type_key(sf_field)
    allowed = compatible_types(form_field.field_type)
    if key not in allowed:
        result.errors.append(Issue("incompatible", {
            "form_type": form_field.field_type, "sf_type": key,
            "allowed": [k for k in TYPE_ORDER if k in allowed]}))
    elif not _writable(sf_field):
        result.errors.append(Issue("read_only", {"name": sf_field["name"]}))


def _check_values(form_field: Any, sf_field: dict, result: MappingCheck) -> None:
    key = describe_type_key(sf_field)
    value = (form_field.hidden_value or "").strip()
    if form_field.field_type == FieldType.HIDDEN.value:
        if key == "checkbox" and value not in ("true", "false"):
            result.errors.append(Issue("hidden_not_boolean", {"value": value}))  # M4
        elif key == "picklist" and value not in active_picklist_values(sf_field):
            result.errors.append(Issue("hidden_not_a_choice", {
                "value": value, "choices": active_picklist_values(sf_field)}))
        elif key in ("number", "currency", "percent") and not _is_number(value):
            result.warnings.append(Issue("hidden_not_number", {"value": value}))
        elif sf_field.get("length") and len(value) > sf_field["length"]:
            result.warnings.append(Issue("too_long", {"length": sf_field["length"]}))
        return
    if key in ("picklist", "multipicklist"):
        missing = missing_picklist_choices(list(form_field.choices or []), sf_field)
        if missing:
            result.warnings.append(Issue("missing_choices", {"missing": missing}))  # M3


def _is_number(value: str) -> bool:
    try:
        float(value.replace(",", ""))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class FieldOption:
    """One autocomplete suggestion."""

    name: str
    label: str
    type_key: str

    @property
    def type_label(self) -> str:
        return type_label(self.type_key)


def field_options(lead_describe: dict | None, form_field_type: str, query: str = "",
                  limit: int = 30) -> list[FieldOption]:
    """Lead fields whose API name or label contains ``query`` (case-insensitive), M5.

    Only writable fields of a type the form field type accepts (M2), never the default fields
    (M1). Fields whose name starts with the query come first, then by API name.
    """
    allowed = compatible_types(form_field_type)
    needle = query.strip().lower()
    options = []
    for sf_field in (lead_describe or {}).get("fields", []):
        name, label = sf_field.get("name", ""), sf_field.get("label", "")
        key = describe_type_key(sf_field)
        if key not in allowed or is_default_field(name) or not _writable(sf_field):
            continue
        if needle in name.lower() or needle in label.lower():
            options.append(FieldOption(name, label, key))
    options.sort(key=lambda o: (not o.name.lower().startswith(needle), o.name.lower()))
    return options[:limit]


def issue_message(issue: Issue) -> str:
    """The admin-facing sentence for an issue, in the current locale."""
    p = issue.params
    render = _MESSAGES.get(issue.code)
    return str(render(p)) if render else issue.code


_MESSAGES = {
    "default_field": lambda p: _l(
        "「%(name)s」はデフォルト項目(氏名・会社名・メールアドレス)が使うため、連携できません。",
        name=p["name"]),
    "date_unsupported": lambda p: _l("日付フィールドはまだSalesforceと連携できません。"),
    "not_checked": lambda p: _l(
        "Salesforceに接続できないため、フィールド名「%(name)s」を確認できませんでした。",
        name=p["name"]),
    "not_visible": lambda p: _l(
        "Salesforceのリードに「%(name)s」が見つかりません。項目レベルセキュリティで非表示に"
        "なっている可能性があります。項目名が正しければ、このまま保存できます。", name=p["name"]),
    "incompatible": lambda p: _l(
        "フィールドタイプ「%(form_type)s」はSalesforceのデータ型「%(sf_type)s」と連携できません。"
        "連携できるデータ型: %(allowed)s", form_type=FORM_TYPE_LABELS.get(p["form_type"], ""),
        sf_type=type_label(p["sf_type"]),
        allowed=join_list(type_label(k) for k in p["allowed"]) or _l("なし")),
    "read_only": lambda p: _l("「%(name)s」はSalesforceで書き込めない項目です。", name=p["name"]),
    "missing_choices": lambda p: _l(
        "次の選択肢はSalesforceの選択リストにないため、選ばれてもSalesforceに保存されません: "
        "%(missing)s", missing=join_list(p["missing"])),
    "hidden_not_boolean": lambda p: _l(
        "Salesforceのチェックボックスと連携する隠しフィールドの設定値は「true」か「false」に"
        "してください。"),
    "hidden_not_a_choice": lambda p: _l(
        "設定値「%(value)s」はSalesforceの選択リストの選択肢と完全に一致する必要があります。"
        "選択肢: %(choices)s", value=p["value"], choices=join_list(p["choices"])),
    "hidden_not_number": lambda p: _l(
        "設定値「%(value)s」は数値ではないため、Salesforceに保存されません。", value=p["value"]),
    "too_long": lambda p: _l(
        "設定値がSalesforceの項目の長さ(%(length)s文字)を超えています。", length=p["length"]),
}
