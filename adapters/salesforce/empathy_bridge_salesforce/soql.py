"""A parser for the subset of SOQL the sandbox answers, with Salesforce-shaped errors.

Supported::

    SELECT field[, field...] FROM Object
      [WHERE condition [AND condition ...]]
      [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST][, ...]]
      [LIMIT n]

    condition := field (= | != | < | <= | > | >=) literal
               | field [NOT] IN (literal[, literal...])
    literal   := 'string' | 2026-11-27T10:00:00Z (dateTime, unquoted) | number | true | false | null

Fields may be relationship paths (``CreatedBy.ContactId``). Everything else (OR, sub-queries,
functions, GROUP BY, LIKE, date literals such as ``LAST_N_DAYS``) is rejected with
:class:`SoqlError` carrying ``MALFORMED_QUERY``, so a query the sandbox does not understand fails
loudly instead of answering wrongly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

__all__ = ["Condition", "OrderBy", "Query", "SoqlError", "format_datetime", "parse_datetime",
           "parse_soql"]


class SoqlError(ValueError):
    """A query the sandbox rejects; ``code`` is the Salesforce errorCode."""

    def __init__(self, message: str, code: str = "MALFORMED_QUERY") -> None:
        super().__init__(message)
        self.code = code


_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})"
)


def parse_datetime(text: str) -> datetime:
    """A Salesforce/SOQL dateTime (``Z``, ``+00:00`` or ``+0000`` offsets) as an aware datetime."""
    match = _DATETIME.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a dateTime: {text!r}")
    year, month, day, hour, minute, second, frac, offset = match.groups()
    micro = int((frac or "0").ljust(6, "0"))
    if offset == "Z":
        tz = UTC
    else:
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro,
                    tzinfo=tz).astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """Salesforce's wire format: ``2026-11-27T10:00:00.000+0000``."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*')
      | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2}))
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),])
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)

_KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "ORDER", "BY", "ASC", "DESC",
             "LIMIT", "NULLS", "FIRST", "LAST", "TRUE", "FALSE", "NULL", "OFFSET", "GROUP",
             "LIKE", "HAVING", "INCLUDES", "EXCLUDES", "FOR", "WITH", "TYPEOF"}
_UNSUPPORTED = {"OR", "OFFSET", "GROUP", "LIKE", "HAVING", "INCLUDES", "EXCLUDES", "FOR", "WITH",
                "TYPEOF"}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


@dataclass(frozen=True)
class Condition:
    """``field op value``; for ``IN``/``NOT IN`` the value is a tuple of literals."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class OrderBy:
    """One ORDER BY key."""

    field: str
    descending: bool = False
    nulls_last: bool | None = None


@dataclass
class Query:
    """A parsed query."""

    fields: list[str]
    sobject: str
    where: list[Condition] = field(default_factory=list)
    order_by: list[OrderBy] = field(default_factory=list)
    limit: int | None = None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise SoqlError(f"unexpected token at: '{text[pos:pos + 20].strip()}'")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "ident" and value.upper() in _KEYWORDS:
            tokens.append(_Token("kw", value.upper()))
        else:
            tokens.append(_Token(kind, value))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self) -> _Token:
        token = self.peek()
        if token is None:
            raise SoqlError("unexpected end of query")
        self.pos += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "kw" and token.text == word:
            self.pos += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            token = self.peek()
            found = token.text if token else "end of query"
            raise SoqlError(f"expecting '{word}', found '{found}'")

    def identifier(self) -> str:
        token = self.next()
        if token.kind != "ident":
            if token.kind == "kw" and token.text in _UNSUPPORTED:
                raise SoqlError(f"{token.text} is not supported by the sandbox")
            if token.kind == "punct" and token.text == "(":
                raise SoqlError("sub-queries and functions are not supported by the sandbox")
            raise SoqlError(f"expecting a field name, found '{token.text}'")
        return token.text

    def literal(self) -> Any:
        token = self.next()
        if token.kind == "string":
            body = token.text[1:-1]
            return re.sub(r"\\(.)", r"\1", body)
        if token.kind == "datetime":
            return parse_datetime(token.text)
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "kw" and token.text in ("TRUE", "FALSE"):
            return token.text == "TRUE"
        if token.kind == "kw" and token.text == "NULL":
            return None
        if token.kind == "ident":
            raise SoqlError(f"date literals and bind variables are not supported: '{token.text}'")
        raise SoqlError(f"expecting a value, found '{token.text}'")

    def condition(self) -> Condition:
        if self.peek() is not None and self.peek() == _Token("punct", "("):
            raise SoqlError("parenthesised conditions are not supported by the sandbox")
        name = self.identifier()
        if self.keyword("NOT"):
            self.expect_keyword("IN")
            return Condition(name, "NOT IN", self.value_list())
        if self.keyword("IN"):
            return Condition(name, "IN", self.value_list())
        token = self.next()
        if token.kind != "op":
            if token.kind == "kw" and token.text in _UNSUPPORTED:
                raise SoqlError(f"{token.text} is not supported by the sandbox")
            raise SoqlError(f"expecting an operator after {name}, found '{token.text}'")
        op = "!=" if token.text == "<>" else token.text
        return Condition(name, op, self.literal())

    def value_list(self) -> tuple[Any, ...]:
        if self.next() != _Token("punct", "("):
            raise SoqlError("expecting '(' after IN")
        if self.peek() is not None and self.peek() == _Token("kw", "SELECT"):
            raise SoqlError("semi-joins (IN (SELECT ...)) are not supported by the sandbox")
        values = [self.literal()]
        while True:
            token = self.next()
            if token == _Token("punct", ")"):
                return tuple(values)
            if token != _Token("punct", ","):
                raise SoqlError(f"expecting ',' or ')' in IN list, found '{token.text}'")
            values.append(self.literal())

    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        fields = [self.identifier()]
        while self.peek() == _Token("punct", ","):
            self.pos += 1
            fields.append(self.identifier())
        self.expect_keyword("FROM")
        query = Query(fields=fields, sobject=self.identifier())
        if self.keyword("WHERE"):
            query.where.append(self.condition())
            while self.keyword("AND"):
                query.where.append(self.condition())
        if self.keyword("ORDER"):
            self.expect_keyword("BY")
            query.order_by.append(self.order_key())
            while self.peek() == _Token("punct", ","):
                self.pos += 1
                query.order_by.append(self.order_key())
        if self.keyword("LIMIT"):
            token = self.next()
            if token.kind != "number" or "." in token.text or int(token.text) < 0:
                raise SoqlError(f"LIMIT must be a non-negative integer, found '{token.text}'")
            query.limit = int(token.text)
        rest = self.peek()
        if rest is not None:
            if rest.kind == "kw" and rest.text in _UNSUPPORTED:
                raise SoqlError(f"{rest.text} is not supported by the sandbox")
            raise SoqlError(f"unexpected token: '{rest.text}'")
        return query

    def order_key(self) -> OrderBy:
        name = self.identifier()
        descending = False
        if self.keyword("DESC"):
            descending = True
        else:
            self.keyword("ASC")
        nulls_last: bool | None = None
        if self.keyword("NULLS"):
            if self.keyword("LAST"):
                nulls_last = True
            else:
                self.expect_keyword("FIRST")
                nulls_last = False
        return OrderBy(name, descending, nulls_last)


def parse_soql(text: str) -> Query:
    """Parse ``text``; raises :class:`SoqlError` (``MALFORMED_QUERY``) for anything unsupported."""
    if not text or not text.strip():
        raise SoqlError("empty query")
    return _Parser(_tokenize(text)).parse()
