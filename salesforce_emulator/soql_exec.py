"""Runs a parsed SOQL query against the org: field resolution, filters, ordering, rows.

Text comparisons (=, !=, LIKE, IN, ordering) are case-insensitive, as in Salesforce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from . import ids, soql
from .errors import SFError
from .objects import NAME_FIELDS
from .schema import NUMBER_TYPES, TEXT_TYPES, Field
from .values import format_datetime, normalize_datetime

_NAME_OBJECT = {
    name: Field(name, name, {"Id": "id", "Email": "email", "IsActive": "boolean"}.get(
        name, "string"), length=255, createable=False, updateable=False)
    for name in NAME_FIELDS
}
_NO_COLUMN = ("No such column '{name}' on entity '{entity}'. If you are attempting to use a "
              "custom field, be sure to append the '__c' after the custom field name. Please "
              "reference your WSDL or the describe call for the appropriate names.")
_BAD_RELATION = ("Didn't understand relationship '{name}' in field path. If you are attempting "
                 "to use a custom relationship, be sure to append the '__r' after the custom "
                 "relationship name. Please reference your WSDL or the describe call for the "
                 "appropriate names.")
_TYPE_NAMES = {"int": "integer", "double": "double", "currency": "double", "percent": "double",
               "boolean": "boolean", "date": "date", "datetime": "dateTime", "id": "id",
               "reference": "id"}


@dataclass
class Resolved:
    """A field path resolved against the schema: relationship hops, then the final field."""

    path: soql.Path
    hops: list[Field]            # reference fields walked through
    field: Field
    keys: list[str]              # output keys: relationship names, then the field name

    def getter(self, org):
        hops, name = self.hops, self.field.name
        if not hops:
            return lambda record: record.get(name)

        def get(record):
            for hop in hops:
                ref = record.get(hop.name)
                if ref is None:
                    return None
                sobject, record = org.lookup(ref)
                if record is None:
                    return None
            return sobject if name == "Type" and hops[-1].polymorphic else record.get(name)
        return get


@dataclass
class Result:
    sobject: str
    rows: list[dict]
    total: int


def _fail(query: soql.Query, pos: int, message: str, code: str = "INVALID_FIELD"):
    raise soql.error_at(query.text, pos, message, code)


def resolve(org, query: soql.Query, sobject: str, path: soql.Path) -> Resolved:
    hops, keys, current = [], [], sobject
    for part in path.parts[:-1]:
        if current is None:  # already on the polymorphic "Name" object: no further hops
            _fail(query, path.pos, _BAD_RELATION.format(name=part))
        hop = org.schema[current].by_relationship.get(part.lower())
        if hop is None or hop.name in org.hidden.get(current, ()) or (
                not hop.polymorphic and hop.reference_to[0] not in org.schema):
            # (Parents of types the emulator does not keep, e.g. Individual, count as unknown.)
            _fail(query, path.pos, _BAD_RELATION.format(name=part))
        hops.append(hop)
        keys.append(hop.relationship_name)
        current = None if hop.polymorphic else hop.reference_to[0]
    last = path.parts[-1]
    if current is None:
        fld = next((f for n, f in _NAME_OBJECT.items() if n.lower() == last.lower()), None)
        entity = "Name"
    else:
        fld = org.field(current, last)
        entity = current
    if fld is None:
        _fail(query, path.pos, _NO_COLUMN.format(name=path.text, entity=entity))
    keys.append(fld.name)
    return Resolved(path, hops, fld, keys)


def _today(org) -> date:
    return org.now().date()


def _literal_range(org, name: str, n: int) -> tuple[date, date]:
    """[start, end) of a SOQL date literal, in UTC days."""
    today = _today(org)
    week = today - timedelta(days=(today.weekday() + 1) % 7)  # weeks start on Sunday
    month = today.replace(day=1)

    def add_months(day: date, count: int) -> date:
        index = day.year * 12 + day.month - 1 + count
        return date(index // 12, index % 12 + 1, 1)

    ranges = {
        "TODAY": (today, today + timedelta(1)),
        "YESTERDAY": (today - timedelta(1), today),
        "TOMORROW": (today + timedelta(1), today + timedelta(2)),
        "THIS_WEEK": (week, week + timedelta(7)),
        "LAST_WEEK": (week - timedelta(7), week),
        "NEXT_WEEK": (week + timedelta(7), week + timedelta(14)),
        "THIS_MONTH": (month, add_months(month, 1)),
        "LAST_MONTH": (add_months(month, -1), month),
        "NEXT_MONTH": (add_months(month, 1), add_months(month, 2)),
        "LAST_90_DAYS": (today - timedelta(90), today + timedelta(1)),
        "NEXT_90_DAYS": (today + timedelta(1), today + timedelta(91)),
        "THIS_YEAR": (date(today.year, 1, 1), date(today.year + 1, 1, 1)),
        "LAST_YEAR": (date(today.year - 1, 1, 1), date(today.year, 1, 1)),
        "NEXT_YEAR": (date(today.year + 1, 1, 1), date(today.year + 2, 1, 1)),
        "LAST_N_DAYS": (today - timedelta(n), today + timedelta(1)),
        "NEXT_N_DAYS": (today + timedelta(1), today + timedelta(n + 1)),
        "N_DAYS_AGO": (today - timedelta(n), today - timedelta(n - 1)),
        "LAST_N_WEEKS": (week - timedelta(7 * n), week),
        "NEXT_N_WEEKS": (week + timedelta(7), week + timedelta(7 * (n + 1))),
        "LAST_N_MONTHS": (add_months(month, -n), month),
        "NEXT_N_MONTHS": (add_months(month, 1), add_months(month, n + 1)),
    }
    return ranges[name]


def _bound(day: date, field_type: str) -> str:
    if field_type == "date":
        return day.isoformat()
    return format_datetime(datetime.combine(day, time(), tzinfo=UTC))


class _Compiler:
    def __init__(self, org, query: soql.Query, sobject: str):
        self.org, self.query, self.sobject = org, query, sobject
        # The first `field = literal` on the record's own field that every match must meet:
        # (field name, compared value, fold). Set while compiling the WHERE's top level.
        self.required: tuple | None = None
        self._top = None

    def compile_where(self, node):
        """The WHERE's predicate; also notes ``required`` when the top level allows it."""
        self._top = {id(node)} if not isinstance(node, soql.BoolOp) else (
            {id(item) for item in node.items} if node.op == "AND" else set())
        return self.compile(node)

    def compile(self, node):
        if isinstance(node, soql.BoolOp):
            parts = [self.compile(item) for item in node.items]
            if node.op == "NOT":
                inner = parts[0]
                return lambda record: not inner(record)
            if node.op == "AND":
                return lambda record: all(part(record) for part in parts)
            return lambda record: any(part(record) for part in parts)
        return self.compare(node)

    def type_error(self, value: soql.Value, fld: Field, path: soql.Path):
        tname = _TYPE_NAMES.get(fld.type, "string")
        quoted = "be" if tname in ("string", "id") else "not be"
        _fail(self.query, value.pos, f"value of filter criterion for field '{path.text}' must be"
                                     f" of type {tname} and should {quoted} enclosed in quotes")

    def literal(self, value: soql.Value, fld: Field, path: soql.Path, like: bool = False):
        """The comparable form of a literal for this field, or a type error."""
        kind, ftype = value.kind, fld.type
        if kind == "null":
            return None
        if ftype in ("id", "reference"):
            if kind != "string":
                self.type_error(value, fld, path)
            text = soql.decode_string(value.raw, self.query.text, value.pos)
            full = ids.normalize(text)
            if full is None:
                _fail(self.query, value.pos, f"invalid ID field: {text}",
                      "INVALID_QUERY_FILTER_OPERATOR")
            return full
        if ftype in TEXT_TYPES:
            if kind != "string":
                self.type_error(value, fld, path)
            text = soql.decode_string(value.raw, self.query.text, value.pos, like=like)
            return text if like else text.casefold()
        if ftype == "boolean":
            if kind != "boolean":
                self.type_error(value, fld, path)
            return value.value
        if ftype in NUMBER_TYPES:
            if kind != "number":
                self.type_error(value, fld, path)
            return value.value
        if ftype in ("date", "datetime"):
            if kind == "dateliteral":
                start, end = _literal_range(self.org, *value.value)
                return (_bound(start, ftype), _bound(end, ftype))
            if ftype == "date" and kind == "date":
                return value.value
            if ftype == "datetime" and kind == "datetime":
                return normalize_datetime(value.value)
            self.type_error(value, fld, path)
        self.type_error(value, fld, path)

    def compare(self, node: soql.Compare):
        if isinstance(node.path, soql.Aggregate):  # (HAVING compiles aggregates itself)
            _fail(self.query, node.path.pos, "Aggregate functions are not allowed in WHERE; "
                  "use HAVING", "MALFORMED_QUERY")
        resolved = resolve(self.org, self.query, self.sobject, node.path)
        fld, op = resolved.field, node.op
        if not fld.filterable:
            _fail(self.query, node.path.pos,
                  f"field '{node.path.text}' can not be filtered in query call")
        get = resolved.getter(self.org)
        text_like = fld.type in TEXT_TYPES and fld.type not in ("id", "reference")
        fold = (lambda v: v.casefold()) if text_like else (lambda v: v)
        if op in ("INCLUDES", "EXCLUDES"):
            if fld.type != "multipicklist":
                _fail(self.query, node.path.pos, "includes or excludes operator only valid on "
                      "multipicklist field", "INVALID_QUERY_FILTER_OPERATOR")
            wanted = [frozenset(p.strip() for p in self.literal(v, fld, node.path).split(";"))
                      for v in node.values]

            def includes(record):
                value = get(record)
                present = {p.casefold() for p in value.split(";")} if value else set()
                return any(group <= present for group in wanted)
            return includes if op == "INCLUDES" else (lambda record: not includes(record))
        if op in ("IN", "NOT IN"):
            options = {self.literal(v, fld, node.path) for v in node.values}
            negate = op == "NOT IN"

            def member(record):
                value = get(record)
                found = value is not None and fold(value) in options
                return found != negate
            return member
        if op == "LIKE":
            if not text_like:
                _fail(self.query, node.path.pos, f"invalid operator on {fld.type} field",
                      "INVALID_QUERY_FILTER_OPERATOR")
            pattern = _like_regex(self.literal(node.values[0], fld, node.path, like=True))
            return lambda record: (v := get(record)) is not None and bool(pattern.fullmatch(v))
        literal = self.literal(node.values[0], fld, node.path)
        if fld.type == "multipicklist" and literal is not None:
            literal = frozenset(p.strip() for p in literal.split(";"))
            fold = lambda v: frozenset(p.casefold() for p in v.split(";"))  # noqa: E731
        if fld.type == "boolean" and op not in ("=", "!="):
            _fail(self.query, node.path.pos, f"invalid operator on boolean field: {op}",
                  "INVALID_QUERY_FILTER_OPERATOR")
        if isinstance(literal, tuple):
            return _range_predicate(get, op, *literal)
        if (op == "=" and literal is not None and not resolved.hops and self.required is None
                and self._top and id(node) in self._top):
            self.required = (fld.name, literal, fold)
        return _scalar_predicate(get, op, literal, fold)


def _range_predicate(get, op, start, end):
    tests = {
        "=": lambda v: start <= v < end, "!=": lambda v: not start <= v < end,
        "<": lambda v: v < start, "<=": lambda v: v < end,
        ">": lambda v: v >= end, ">=": lambda v: v >= start,
    }
    test = tests[op]
    if op == "!=":
        return lambda record: (v := get(record)) is None or test(v)
    return lambda record: (v := get(record)) is not None and test(v)


def _scalar_predicate(get, op, literal, fold):
    if literal is None:
        if op == "=":
            return lambda record: get(record) is None
        if op == "!=":
            return lambda record: get(record) is not None
        return lambda record: False
    tests = {
        "=": lambda v: v == literal, "!=": lambda v: v != literal,
        "<": lambda v: v < literal, "<=": lambda v: v <= literal,
        ">": lambda v: v > literal, ">=": lambda v: v >= literal,
    }
    test = tests[op]
    if op == "!=":  # SOQL's != also matches records whose value is null
        return lambda record: (v := get(record)) is None or test(fold(v))
    return lambda record: (v := get(record)) is not None and test(fold(v))


def _like_regex(pattern: str) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _sort_key(getter, fld: Field, nulls_rank: int):
    text_like = fld.type in TEXT_TYPES

    def key(record):
        value = getter(record)
        if value is None:
            return (nulls_rank, "")
        return (1 - nulls_rank, value.casefold() if text_like else value)
    return key


def run(org, text: str, *, include_deleted: bool = False, version: str = "59.0") -> Result:
    """Execute SOQL; returns every matching row (the caller pages them)."""
    query = soql.parse(text)
    sobject = org.sobject_name(query.sobject)
    if sobject is None:
        _fail(query, query.sobject_pos,
              f"sObject type '{query.sobject}' is not supported. If you are attempting to use a "
              "custom object, be sure to append the '__c' after the entity name. Please "
              "reference your WSDL or the describe call for the appropriate names.",
              "INVALID_TYPE")
    if query.offset is not None and query.offset > 2000:
        raise SFError(400, "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
    compiler = _Compiler(org, query, sobject)
    predicate = compiler.compile_where(query.where) if query.where else None
    table = org.records[sobject].values()
    if compiler.required is not None:
        # Every match has this field equal to this value: a cheap pass over the table keeps
        # only those, and the whole WHERE decides on them. The records it drops fail the WHERE
        # anyway; a full pass of the compiled WHERE per record made each query's cost grow
        # with the table, where Salesforce answers a selective filter (Email, an id) from an
        # index.
        name, value, fold = compiler.required
        table = [r for r in table if (v := r.get(name)) is not None and fold(v) == value]
    records = [r for r in table
               if (include_deleted or not r.get("IsDeleted"))
               and (predicate is None or predicate(r))]
    if query.aggregated and not (query.count_only and not query.group_by):
        from . import soql_aggregate  # it calls back into resolve and _Compiler

        return soql_aggregate.run(org, query, sobject, records)
    selected = []
    seen = set()
    for item in query.items:
        if isinstance(item, soql.Aggregate):
            continue
        resolved = resolve(org, query, sobject, item)
        dotted = ".".join(resolved.keys).lower()
        if dotted in seen:
            raise SFError(400, "MALFORMED_QUERY", f"duplicate field selected: {item.text}")
        seen.add(dotted)
        selected.append(resolved)
    for order in reversed(query.order):
        resolved = resolve(org, query, sobject, order.path)
        if not resolved.field.sortable:
            _fail(query, order.path.pos,
                  f"field '{order.path.text}' can not be sorted in a query call")
        # Nulls sort first unless told otherwise; reverse=True flips the null rank too.
        first_when_sorted = order.nulls_first != order.descending
        records.sort(key=_sort_key(resolved.getter(org), resolved.field,
                                   0 if first_when_sorted else 1),
                     reverse=order.descending)
    if query.offset:
        records = records[query.offset:]
    if query.limit is not None:
        records = records[:query.limit]
    if query.count_only:
        return Result(sobject, [], len(records))
    rows = [render(org, sobject, record, selected, version) for record in records]
    return Result(sobject, rows, len(rows))


def _attributes(sobject: str, record_id: str, version: str) -> dict:
    return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}"}


def render(org, sobject: str, record: dict, selected: list[Resolved], version: str) -> dict:
    row = {"attributes": _attributes(sobject, record["Id"], version)}
    for resolved in selected:
        if not resolved.hops:
            row[resolved.field.name] = record.get(resolved.field.name)
            continue
        target, current_type, current = row, sobject, record
        for hop in resolved.hops:
            if current is None:
                break
            ref = current.get(hop.name)
            key = hop.relationship_name
            if ref is None:
                target[key] = None
                current = None
                break
            current_type, current = org.lookup(ref)
            if current is None:
                target[key] = None
                break
            nested = target.get(key)
            if not isinstance(nested, dict):
                nested = {"attributes": _attributes(current_type, current["Id"], version)}
                if hop.polymorphic:
                    # A polymorphic parent is a "Name" object, whatever the target's type.
                    nested["attributes"]["type"] = "Name"
                target[key] = nested
            target = nested
        if current is not None:
            name = resolved.field.name
            target[name] = current_type if (
                name == "Type" and resolved.hops[-1].polymorphic) else current.get(name)
    return row
