"""``GET /query?columns=true&q=...``: the query's column metadata instead of its rows.

Tooling (query editors, Salesforce Inspector) calls it to learn the result's columns. The
shape of a column entry follows a real ``queryMetadata`` (see README); relationship columns
nest their fields in ``joinColumns``.
"""

from __future__ import annotations

from . import soql
from .schema import NUMBER_TYPES, TEXT_TYPES
from .soql_aggregate import aliases
from .soql_exec import resolve, run

_APEX_TYPES = {
    "id": "Id", "reference": "Id", "boolean": "Boolean", "int": "Integer", "double": "Double",
    "percent": "Double", "currency": "Decimal", "date": "Date", "datetime": "Datetime",
    "time": "Time", "address": "Address", "location": "Location",
}


def _column(name: str, display: str, apex_type, fld=None, aggregate=False) -> dict:
    kind = fld.type if fld is not None else ""
    return {
        "aggregate": aggregate, "apexType": apex_type, "booleanType": kind == "boolean",
        "columnName": name, "custom": bool(fld is not None and fld.custom),
        "displayName": display, "foreignKeyName": None,
        "insertable": bool(fld is not None and fld.createable and not aggregate),
        "joinColumns": [], "numberType": kind in NUMBER_TYPES or (aggregate and apex_type in (
            "Integer", "Double", "Decimal")),
        "textType": kind in TEXT_TYPES and kind not in ("id", "reference"),
        "updatable": bool(fld is not None and fld.updateable and not aggregate),
    }


def _apex_type(fld) -> str:
    return _APEX_TYPES.get(fld.type, "String")


def columns(org, text: str) -> dict:
    # Running the query first gives every error exactly as the query call would.
    sobject = run(org, text).sobject
    query = soql.parse(text)
    result, keys = [], aliases(query)
    for index, item in enumerate(query.items):
        if isinstance(item, soql.Aggregate):
            if item.path is None:
                continue  # COUNT() answers totalSize only: no column
            fld = resolve(org, query, sobject, item.path).field
            apex = "Integer" if item.func.startswith("COUNT") else (
                "Double" if item.func == "AVG" else _apex_type(fld))
            result.append(_column(keys[index], item.alias or item.text, apex, fld,
                                  aggregate=True))
            continue
        resolved = resolve(org, query, sobject, item)
        leaf = _column(resolved.field.name, item.text, _apex_type(resolved.field),
                       resolved.field)
        if query.aggregated or not resolved.hops:
            result.append(leaf)
            continue
        siblings = result
        for hop in resolved.hops:
            parent = next((c for c in siblings if c["columnName"] == hop.relationship_name
                           and c["joinColumns"] is not None and c["apexType"] is None), None)
            if parent is None:
                parent = _column(hop.relationship_name, hop.relationship_name, None)
                siblings.append(parent)
            siblings = parent["joinColumns"]
        siblings.append(leaf)
    first = org.schema[sobject]
    return {
        "columnMetadata": result, "entityName": "AggregateResult" if query.aggregated
        and not query.count_only else sobject, "groupBy": bool(query.group_by),
        "idSelected": any(isinstance(i, soql.Path) and i.text.lower() == "id"
                          for i in query.items),
        "keyPrefix": None if query.aggregated and not query.count_only else first.key_prefix,
    }
