"""Aggregate SOQL: COUNT/COUNT_DISTINCT/SUM/AVG/MIN/MAX, GROUP BY and HAVING.

Rows are ``AggregateResult`` records: grouped fields under their field name, aggregates under
their alias or ``exprN`` (N counts the aggregates without an alias, from 0, in SELECT order).
"""

from __future__ import annotations

from . import soql
from .schema import NUMBER_TYPES, TEXT_TYPES
from .soql_exec import Result, _Compiler, _fail, _scalar_predicate, resolve

_NUMERIC_ONLY = {"SUM", "AVG"}


def aliases(query: soql.Query) -> dict[int, str]:
    """Output key of every aggregate item, by its index in the SELECT list."""
    keys, unnamed = {}, 0
    for index, item in enumerate(query.items):
        if isinstance(item, soql.Aggregate):
            if item.alias:
                keys[index] = item.alias
            else:
                keys[index] = f"expr{unnamed}"
                unnamed += 1
    return keys


class _Aggregator:
    def __init__(self, org, query: soql.Query, sobject: str):
        self.org, self.query, self.sobject = org, query, sobject

    def field_of(self, agg: soql.Aggregate):
        resolved = resolve(self.org, self.query, self.sobject, agg.path)
        fld = resolved.field
        if agg.func in _NUMERIC_ONLY and fld.type not in NUMBER_TYPES:
            _fail(self.query, agg.path.pos, f"field {agg.path.text} does not support aggregate "
                  f"operator {agg.func}", "MALFORMED_QUERY")
        return resolved

    def compute(self, agg: soql.Aggregate, records: list[dict]):
        if agg.path is None:
            return len(records)
        resolved = self.field_of(agg)
        get, fld = resolved.getter(self.org), resolved.field
        values = [v for v in map(get, records) if v is not None]
        if agg.func == "COUNT":
            return len(values)
        if agg.func == "COUNT_DISTINCT":
            text = fld.type in TEXT_TYPES
            return len({v.casefold() if text and isinstance(v, str) else v for v in values})
        if not values:
            return None
        if agg.func == "SUM":
            return sum(values)
        if agg.func == "AVG":
            return sum(values) / len(values)
        return (min if agg.func == "MIN" else max)(values)

    def having(self, node):
        """A predicate over one group (its records)."""
        if isinstance(node, soql.BoolOp):
            parts = [self.having(item) for item in node.items]
            if node.op == "NOT":
                return lambda group: not parts[0](group)
            if node.op == "AND":
                return lambda group: all(part(group) for part in parts)
            return lambda group: any(part(group) for part in parts)
        if isinstance(node.path, soql.Aggregate):
            literal = node.values[0]
            if literal.kind not in ("number", "null") or node.op not in \
                    ("=", "!=", "<", "<=", ">", ">="):
                _fail(self.query, literal.pos, f"value of filter criterion for field "
                      f"'{node.path.text}' must be of type double and should not be enclosed "
                      "in quotes")
            test = _scalar_predicate(lambda group: self.compute(node.path, group), node.op,
                                     literal.value, lambda v: v)
            return test
        self.require_grouped(node.path)
        # A grouped field has one value per group: test the group's first record.
        test = _Compiler(self.org, self.query, self.sobject).compile(node)
        return lambda group: test(group[0])

    def require_grouped(self, path: soql.Path) -> None:
        grouped = {p.text.lower() for p in self.query.group_by}
        if path.text.lower() not in grouped:
            _fail(self.query, path.pos, f"Field must be grouped or aggregated: {path.text}",
                  "MALFORMED_QUERY")


def _group(org, query, sobject, records) -> tuple[list, list[list[dict]]]:
    getters = []
    for path in query.group_by:
        resolved = resolve(org, query, sobject, path)
        if not resolved.field.groupable:
            _fail(query, path.pos, f"field '{path.text}' can not be grouped in a query call")
        getters.append(resolved.getter(org))
    if not query.group_by:
        return getters, [records]
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        key = tuple(v.casefold() if isinstance(v, str) else v
                    for v in (get(record) for get in getters))
        groups.setdefault(key, []).append(record)
    return getters, list(groups.values())


def _sort(aggregator: _Aggregator, groups: list, query: soql.Query) -> None:
    for order in reversed(query.order):
        if isinstance(order.path, soql.Aggregate):
            def value(group, agg=order.path):
                return aggregator.compute(agg, group)
        else:
            aggregator.require_grouped(order.path)
            get = resolve(aggregator.org, query, aggregator.sobject, order.path).getter(
                aggregator.org)

            def value(group, get=get):
                return get(group[0])
        nulls_rank = 0 if order.nulls_first != order.descending else 1

        def key(group, value=value, nulls_rank=nulls_rank):
            found = value(group)
            if found is None:
                return (nulls_rank, "")
            return (1 - nulls_rank, found.casefold() if isinstance(found, str) else found)
        groups.sort(key=key, reverse=order.descending)


def run(org, query: soql.Query, sobject: str, records: list[dict]) -> Result:
    aggregator = _Aggregator(org, query, sobject)
    keys = aliases(query)
    plain = []
    for index, item in enumerate(query.items):
        if isinstance(item, soql.Aggregate):
            if item.path is not None:
                aggregator.field_of(item)
            continue
        aggregator.require_grouped(item)
        plain.append((index, resolve(org, query, sobject, item)))
    _, groups = _group(org, query, sobject, records)
    if query.having is not None:
        keep = aggregator.having(query.having)
        groups = [group for group in groups if keep(group)]
    if query.count_only:
        return Result(sobject, [], len(groups))
    _sort(aggregator, groups, query)
    groups = groups[query.offset or 0:]
    if query.limit is not None:
        groups = groups[:query.limit]
    rows = []
    for group in groups:
        row = {"attributes": {"type": "AggregateResult"}}
        getters = {index: resolved.getter(org) for index, resolved in plain}
        names = {index: resolved.field.name for index, resolved in plain}
        for index, item in enumerate(query.items):
            if index in keys:
                row[keys[index]] = aggregator.compute(item, group)
            else:
                row[names[index]] = getters[index](group[0]) if group else None
        rows.append(row)
    return Result(sobject, rows, len(rows))
