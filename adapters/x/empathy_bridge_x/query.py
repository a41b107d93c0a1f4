"""A small evaluator of X search query syntax, used by the sandbox's recent-search endpoint.

Supports what brand listening queries use: words, ``"exact phrases"``, ``@mentions``,
``#hashtags``, ``OR``, implicit AND, ``-`` negation, parentheses and the operators ``from:``,
``to:``, ``lang:``, ``is:reply``, ``is:retweet``. Parsing is a recursive descent over tokens
(no ``eval``); a malformed query raises :class:`QueryError`, which the sandbox answers with
X's 400 invalid-request body.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["QueryError", "compile_query"]

_TOKEN = re.compile(r'-?"[^"]*"|\(|\)|-?[^\s()]+')
_WORD = re.compile(r"[\w@#']+", re.UNICODE)

Predicate = Callable[[Mapping[str, Any], Mapping[str, Any]], bool]


class QueryError(ValueError):
    """The query cannot be parsed; the message says where."""


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _atom(token: str) -> Predicate:
    if token.startswith('"'):
        phrase = token.strip('"').lower()
        return lambda tweet, user: phrase in str(tweet.get("text", "")).lower()
    if ":" in token and not token.startswith(("@", "#")):
        op, _, value = token.partition(":")
        value = value.lower()
        if op == "from":
            return lambda tweet, user: str(user.get("username", "")).lower() == value.lstrip("@")
        if op == "to":
            return lambda tweet, user: value.lstrip("@") in str(tweet.get("_to", "")).lower()
        if op == "lang":
            return lambda tweet, user: str(tweet.get("lang", "")).lower() == value
        if op == "is" and value == "reply":
            return lambda tweet, user: bool(tweet.get("in_reply_to_user_id"))
        if op == "is" and value == "retweet":
            return lambda tweet, user: str(tweet.get("text", "")).startswith("RT @")
        raise QueryError(f"unsupported operator {token!r}")
    word = token.lower()
    return lambda tweet, user: word in _words(str(tweet.get("text", "")))


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = _TOKEN.findall(query)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = str(self.tokens[self.pos])
        self.pos += 1
        return token

    def expr(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek() == "OR":
            self.take()
            parts.append(self.conjunction())
        if len(parts) == 1:
            return parts[0]
        return lambda tweet, user: any(p(tweet, user) for p in parts)

    def conjunction(self) -> Predicate:
        parts: list[Predicate] = []
        while self.peek() not in (None, ")", "OR"):
            parts.append(self.term())
        if not parts:
            raise QueryError(f"expected a term at position {self.pos + 1}")
        return lambda tweet, user: all(p(tweet, user) for p in parts)

    def term(self) -> Predicate:
        token = self.take()
        negate = token.startswith("-") and len(token) > 1
        if negate:
            token = token[1:]
        if token == "(":
            inner = self.expr()
            if self.peek() != ")":
                raise QueryError("unbalanced parentheses")
            self.take()
            pred = inner
        elif token == ")":
            raise QueryError("unbalanced parentheses")
        else:
            pred = _atom(token)
        if negate:
            return lambda tweet, user: not pred(tweet, user)
        return pred


def compile_query(query: str) -> Predicate:
    """A predicate ``(tweet, author) -> bool`` for ``query``; raises :class:`QueryError`."""
    if not query.strip():
        raise QueryError("query is empty")
    parser = _Parser(query)
    pred = parser.expr()
    if parser.peek() is not None:
        raise QueryError("unbalanced parentheses")
    return pred
