"""SOQL tokenizer and recursive-descent parser for the subset the emulator supports.

Grammar (keywords are case-insensitive)::

    query     := SELECT items FROM name [WHERE cond] [GROUP BY path (, path)*]
                 [HAVING cond] [ORDER BY order (, order)*] [LIMIT int] [OFFSET int]
    items     := COUNT ( ) | item (, item)*
    item      := path | agg [alias]
    agg       := (COUNT|COUNT_DISTINCT|SUM|AVG|MIN|MAX) ( path )
    path      := name (. name)*
    cond      := term ((AND term)* | (OR term)*)     -- mixing AND/OR needs parentheses
    term      := NOT term | ( cond ) | (path|agg) op value | path [NOT] IN ( value, ... )
                 | path (INCLUDES|EXCLUDES) ( string, ... )
    op        := = | != | <> | < | <= | > | >= | LIKE
    value     := 'string' | number | TRUE | FALSE | NULL | 2024-01-15
                 | 2024-01-15T10:00:00Z | TODAY | LAST_N_DAYS:n | ...
    order     := (path|agg) [ASC|DESC] [NULLS FIRST|LAST]

Errors are raised as ``SFError(400, "MALFORMED_QUERY", ...)`` with Salesforce's message shape:
the offending line, a caret, ``ERROR at Row:r:Column:c`` and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import SFError

KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "INCLUDES",
            "EXCLUDES", "ORDER", "BY", "ASC", "DESC", "NULLS", "FIRST", "LAST", "LIMIT",
            "OFFSET", "NULL", "TRUE", "FALSE", "GROUP", "HAVING"}
DATE_LITERALS = {"TODAY", "YESTERDAY", "TOMORROW", "THIS_WEEK", "LAST_WEEK", "NEXT_WEEK",
                 "THIS_MONTH", "LAST_MONTH", "NEXT_MONTH", "LAST_90_DAYS", "NEXT_90_DAYS",
                 "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR"}
AGGREGATES = {"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"}
N_DATE_LITERALS = {"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_WEEKS", "NEXT_N_WEEKS",
                   "LAST_N_MONTHS", "NEXT_N_MONTHS"}

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))(?![\w:+-])
  | (?P<baddatetime>\d{4}-\d{2}-\d{2}T[\w:.+-]*)
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>')
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),.:])
""", re.VERBOSE)

_SIMPLE_ESCAPES = {"n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t",
                   "b": "\b", "B": "\b", "f": "\f", "F": "\f", '"': '"', "'": "'", "\\": "\\"}


@dataclass
class Token:
    kind: str      # name, string, number, date, datetime, op, punct, eof
    text: str      # source text (for strings: the raw body between the quotes)
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "name" else ""


@dataclass
class Path:
    parts: list[str]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass
class Aggregate:
    """``COUNT(Id)``, ``SUM(x)``...; ``COUNT()`` has no path. Also a HAVING/ORDER BY operand."""

    func: str
    path: Path | None
    alias: str | None = None
    pos: int = 0

    @property
    def text(self) -> str:
        return f"{self.func}({self.path.text if self.path else ''})"


@dataclass
class Value:
    kind: str      # string, number, boolean, null, date, datetime, dateliteral
    value: object
    pos: int
    raw: str = ""  # undecoded string body, decoded later (LIKE decodes differently)


@dataclass
class Compare:
    path: Path
    op: str        # =, !=, <, <=, >, >=, LIKE, IN, NOT IN, INCLUDES, EXCLUDES
    values: list[Value]


@dataclass
class BoolOp:
    op: str        # AND, OR, NOT
    items: list


@dataclass
class Order:
    path: Path
    descending: bool
    nulls_first: bool


@dataclass
class Query:
    text: str
    items: list
    sobject: str
    sobject_pos: int
    where: object = None
    order: list[Order] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    count_only: bool = False
    group_by: list[Path] = field(default_factory=list)
    having: object = None

    @property
    def aggregated(self) -> bool:
        return bool(self.group_by) or any(isinstance(i, Aggregate) for i in self.items)


def error_at(text: str, pos: int, reason: str, code: str = "MALFORMED_QUERY") -> SFError:
    """Salesforce's caret message: the line, a caret under the column, row/column, reason."""
    row = text.count("\n", 0, pos) + 1
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start:] if line_end < 0 else text[line_start:line_end]
    column = pos - line_start + 1
    message = f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{reason}"
    return SFError(400, code, message)


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise error_at(text, pos, f"unexpected token: '{text[pos]}'")
        kind = match.lastgroup
        if kind == "baddatetime":
            # SOQL documents only ...ssZ and ...ss+hh:mm / -hh:mm (no "+0000", no missing
            # seconds), though Salesforce itself renders datetimes as "+0000".
            raise error_at(text, pos, f"unexpected token: '{match.group()}'")
        if kind == "string":
            end, body = _scan_string(text, pos)
            tokens.append(Token("string", body, pos))
            pos = end
            continue
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("eof", "<EOF>", len(text)))
    return tokens


def _scan_string(text: str, start: int) -> tuple[int, str]:
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            pos += 2
            continue
        if char == "'":
            return pos + 1, text[start + 1:pos]
        pos += 1
    raise error_at(text, start, "unexpected token: <EOF>")


def decode_string(raw: str, query: str, pos: int, like: bool = False) -> str:
    """Apply SOQL escapes; in LIKE, ``\\%`` and ``\\_`` stay escaped for the pattern."""
    out, i = [], 0
    while i < len(raw):
        char = raw[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = raw[i + 1] if i + 1 < len(raw) else ""
        if nxt in _SIMPLE_ESCAPES:
            out.append(("\\" + nxt) if like and nxt == "\\" else _SIMPLE_ESCAPES[nxt])
            i += 2
        elif nxt in ("u", "U") and re.fullmatch(r"[0-9a-fA-F]{4}", raw[i + 2:i + 6] or ""):
            out.append(chr(int(raw[i + 2:i + 6], 16)))
            i += 6
        elif like and nxt in ("%", "_"):
            out.append("\\" + nxt)
            i += 2
        else:
            seq = "\\" + nxt
            raise SFError(400, "MALFORMED_QUERY",
                          f"\n{query}\nERROR at Row:1:Column:{pos + 1}\nInvalid string literal "
                          f"'{raw}'. Illegal character sequence '{seq}' in string literal.")
    return "".join(out)


class Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # ----- token helpers ---------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, token: Token | None = None):
        token = token or self.tok
        shown = token.text if token.kind != "string" else f"'{token.text}'"
        if token.kind == "eof":
            raise error_at(self.text, token.pos, "unexpected token: <EOF>")
        raise error_at(self.text, token.pos, f"unexpected token: '{shown}'")

    def accept(self, *words: str) -> Token | None:
        if self.tok.upper in words or (self.tok.kind in ("punct", "op") and
                                       self.tok.text in words):
            token = self.tok
            self.i += 1
            return token
        return None

    def expect(self, *words: str) -> Token:
        return self.accept(*words) or self.fail()

    def name(self) -> Token:
        if self.tok.kind != "name" or self.tok.upper in KEYWORDS - {"FIRST", "LAST"}:
            self.fail()
        token = self.tok
        self.i += 1
        return token

    # ----- grammar ---------------------------------------------------------------------
    def parse(self) -> Query:
        self.expect("SELECT")
        items, count_only = self.select_items()
        self.expect("FROM")
        obj = self.name()
        query = Query(self.text, items, obj.text, obj.pos, count_only=count_only)
        if self.accept("WHERE"):
            query.where = self.condition()
        if self.accept("GROUP"):
            self.expect("BY")
            query.group_by.append(self.path())
            while self.accept(","):
                query.group_by.append(self.path())
        if self.tok.upper == "HAVING" and not query.group_by:
            raise error_at(self.text, self.tok.pos, "HAVING clause requires a GROUP BY clause")
        if self.accept("HAVING"):
            query.having = self.condition()
        if self.accept("ORDER"):
            self.expect("BY")
            query.order.append(self.order_item())
            while self.accept(","):
                query.order.append(self.order_item())
        if self.accept("LIMIT"):
            query.limit = self.integer()
        if self.accept("OFFSET"):
            query.offset = self.integer()
        if self.tok.kind != "eof":
            self.fail()
        return query

    def select_items(self) -> tuple[list, bool]:
        items = []
        while True:
            if self.at_aggregate():
                agg = self.aggregate(allow_empty=not items)
                if agg.path is None:
                    if self.tok.text == ",":
                        self.fail()
                    return [agg], True
                if self.tok.kind == "name" and self.tok.upper not in KEYWORDS:
                    agg.alias = self.name().text
                items.append(agg)
            else:
                items.append(self.path())
            if not self.accept(","):
                return items, False

    def at_aggregate(self) -> bool:
        return self.tok.upper in AGGREGATES and self.tokens[self.i + 1].text == "("

    def aggregate(self, allow_empty: bool = False) -> Aggregate:
        start = self.tok
        self.i += 2
        if self.tok.text == ")" and start.upper == "COUNT" and allow_empty:
            self.i += 1
            return Aggregate("COUNT", None, None, start.pos)
        path = self.path()
        self.expect(")")
        return Aggregate(start.upper, path, None, start.pos)

    def path(self) -> Path:
        first = self.name()
        parts = [first.text]
        while self.accept("."):
            parts.append(self.name().text)
        return Path(parts, first.pos)

    def order_item(self) -> Order:
        path = self.aggregate() if self.at_aggregate() else self.path()
        descending = bool(self.accept("DESC"))
        if not descending:
            self.accept("ASC")
        nulls_first = not descending
        if self.accept("NULLS"):
            nulls_first = bool(self.expect("FIRST", "LAST").upper == "FIRST")
        return Order(path, descending, nulls_first)

    def integer(self) -> int:
        token = self.tok
        if token.kind != "number" or not token.text.isdigit():
            self.fail()
        self.i += 1
        return int(token.text)

    def condition(self):
        items = [self.term()]
        joiner = None
        while self.tok.upper in ("AND", "OR"):
            if joiner and self.tok.upper != joiner:
                # SOQL refuses "a AND b OR c": the precedence must be made explicit.
                self.fail()
            joiner = self.tok.upper
            self.i += 1
            items.append(self.term())
        return items[0] if joiner is None else BoolOp(joiner, items)

    def term(self):
        if self.accept("NOT"):
            return BoolOp("NOT", [self.term()])
        if self.accept("("):
            inner = self.condition()
            self.expect(")")
            return inner
        path = self.aggregate() if self.at_aggregate() else self.path()
        token = self.tok
        if token.kind == "op":
            self.i += 1
            op = "!=" if token.text == "<>" else token.text
            return Compare(path, op, [self.value()])
        if self.accept("LIKE"):
            return Compare(path, "LIKE", [self.value()])
        if self.accept("NOT"):
            self.expect("IN")
            return Compare(path, "NOT IN", self.value_list())
        for word in ("IN", "INCLUDES", "EXCLUDES"):
            if self.accept(word):
                return Compare(path, word, self.value_list())
        self.fail()

    def value_list(self) -> list[Value]:
        self.expect("(")
        values = [self.value()]
        while self.accept(","):
            values.append(self.value())
        self.expect(")")
        return values

    def value(self) -> Value:
        token = self.tok
        self.i += 1
        if token.kind == "string":
            return Value("string", None, token.pos, raw=token.text)
        if token.kind == "number":
            number = float(token.text) if "." in token.text else int(token.text)
            return Value("number", number, token.pos)
        if token.kind in ("date", "datetime"):
            return Value(token.kind, token.text, token.pos)
        word = token.upper
        if word in ("TRUE", "FALSE"):
            return Value("boolean", word == "TRUE", token.pos)
        if word == "NULL":
            return Value("null", None, token.pos)
        if word in DATE_LITERALS:
            return Value("dateliteral", (word, 0), token.pos)
        if word in N_DATE_LITERALS:
            self.expect(":")
            return Value("dateliteral", (word, self.integer()), token.pos)
        self.fail(token)


def parse(text: str) -> Query:
    if not text or not text.strip():
        raise SFError(400, "MALFORMED_QUERY", "unexpected token: <EOF>")
    return Parser(text).parse()
