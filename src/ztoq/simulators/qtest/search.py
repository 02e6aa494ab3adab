"""The query language of qTest's ``POST /api/v3/projects/{projectId}/search``, as pure functions.

What Tricentis documents for the ``query`` attribute (Swagger file, "Queries objects"), and what
this parser implements:

* a query is the web app's Query Summary text: ``criteria operator value`` clauses combined with
  ``and`` / ``or`` (``and`` binds tighter; parentheses group, an extension);
* a criteria name with spaces goes between single quotes (``'Zephyr Key' = 'DEMO-T1'``); a field
  ID may be used instead of its name;
* criteria, operator and value are separated by spaces (the tokenizer does not require them
  around operators, an extension);
* operators: ``=``, ``<>`` (``!=`` accepted too), ``~`` (contains), ``!~`` (not contains), ``<``,
  ``>``, ``<=``, ``>=``, ``is 'empty'`` and ``is 'not empty'`` (the documented spelling; the
  unquoted ``is empty`` / ``is not empty`` are accepted too);
* values are quoted with single or double quotes (the docs show both), or bare words/numbers.
  Inside quotes, a quote character is written doubled (``'it''s'``) or backslash-escaped; the
  docs do not say how to escape quotes, so both are accepted.

Matching is case-insensitive for text (a guess; the docs are silent). Values that both parse as
numbers, or as ISO-8601 date-times, are compared as such.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

OPERATORS = ("=", "<>", "!=", "~", "!~", "<", ">", "<=", ">=", "is empty", "is not empty")


class QueryError(ValueError):
    """The query text cannot be parsed (the simulator answers 400 with this message)."""


@dataclass(frozen=True)
class Token:
    """A lexical token: ``kind`` is ``word``, ``quoted``, ``op``, ``(`` or ``)``."""

    kind: str
    text: str


@dataclass(frozen=True)
class Condition:
    """One clause: ``criteria operator value`` (``value`` None for the emptiness operators)."""

    criteria: str
    op: str
    value: str | None


@dataclass(frozen=True)
class BoolOp:
    """``left and right`` or ``left or right``."""

    op: str
    left: Node
    right: Node


Node = Condition | BoolOp

_OP_CHARS = "=<>!~"


def tokenize(text: str) -> list[Token]:
    """Split query text into tokens.

    Args:
        text: The query.

    Returns:
        The tokens.

    Raises:
        QueryError: On an unterminated quote or a stray operator character.
    """
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(Token(char, char))
            i += 1
        elif char in "'\"":
            value, i = _quoted(text, i)
            tokens.append(Token("quoted", value))
        elif char in _OP_CHARS:
            for op in ("<=", ">=", "<>", "!=", "!~", "=", "~", "<", ">"):
                if text.startswith(op, i):
                    tokens.append(Token("op", op))
                    i += len(op)
                    break
            else:
                raise QueryError(f"Unexpected character '{char}' at position {i + 1}")
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in "()'\"" + _OP_CHARS:
                i += 1
            tokens.append(Token("word", text[start:i]))
    return tokens


def _quoted(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif char == quote:
            if i + 1 < len(text) and text[i + 1] == quote:
                out.append(quote)
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    raise QueryError(f"Unterminated quote starting at position {start + 1}")


def parse_query(text: str | None) -> Node | None:
    """Parse a query; an empty query (None or blank) matches everything and parses to None.

    Args:
        text: The query.

    Returns:
        The syntax tree, or None.

    Raises:
        QueryError: The query is not well formed.
    """
    if text is None or not text.strip():
        return None
    parser = _Parser(tokenize(text))
    node = parser.parse_or()
    if parser.pos != len(parser.tokens):
        raise QueryError(f"Unexpected '{parser.tokens[parser.pos].text}' after a complete clause")
    return node


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise QueryError("The query ends too early")
        self.pos += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() == word:
            self.pos += 1
            return True
        return False

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self._keyword("or"):
            node = BoolOp("or", node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_clause()
        while self._keyword("and"):
            node = BoolOp("and", node, self.parse_clause())
        return node

    def parse_clause(self) -> Node:
        token = self.take()
        if token.kind == "(":
            node = self.parse_or()
            if self.take().kind != ")":
                raise QueryError("Missing ')'")
            return node
        if token.kind not in ("word", "quoted"):
            raise QueryError(f"Expected a criteria name, found '{token.text}'")
        criteria = token.text
        if self._keyword("is"):
            return Condition(criteria, self._emptiness(), None)
        op = self.take()
        if op.kind != "op":
            raise QueryError(f"Expected an operator after '{criteria}', found '{op.text}'")
        value = self.take()
        if value.kind not in ("word", "quoted"):
            raise QueryError(f"Expected a value after '{criteria} {op.text}', found '{value.text}'")
        return Condition(criteria, "<>" if op.text == "!=" else op.text, value.text)

    def _emptiness(self) -> str:
        token = self.take()
        words = token.text.lower().split()
        if token.kind == "word" and words == ["not"]:
            words.append(self.take().text.lower())
        if words == ["empty"]:
            return "is empty"
        if words == ["not", "empty"]:
            return "is not empty"
        raise QueryError(f"Expected 'empty' or 'not empty' after 'is', found '{token.text}'")


def evaluate(node: Node | None, lookup: Callable[[str], Sequence[str]]) -> bool:
    """Whether an object matches a query.

    Args:
        node: The parsed query (None matches everything).
        lookup: Criteria name -> the object's values for it (raise QueryError when unknown).

    Returns:
        True when the object matches.
    """
    if node is None:
        return True
    if isinstance(node, BoolOp):
        if node.op == "and":
            return evaluate(node.left, lookup) and evaluate(node.right, lookup)
        return evaluate(node.left, lookup) or evaluate(node.right, lookup)
    return matches(node, lookup(node.criteria))


def matches(condition: Condition, values: Sequence[str]) -> bool:
    """Whether one clause holds for an object's values of its criteria.

    Args:
        condition: The clause.
        values: Every text the object has for the criteria (value, labels...).

    Returns:
        True when the clause holds.
    """
    present = [v for v in values if v.strip()]
    if condition.op == "is empty":
        return not present
    if condition.op == "is not empty":
        return bool(present)
    wanted = (condition.value or "").strip().lower()
    texts = [v.strip().lower() for v in present]
    if condition.op == "=":
        return wanted in texts
    if condition.op == "<>":
        return wanted not in texts
    if condition.op == "~":
        return any(wanted in t for t in texts)
    if condition.op == "!~":
        return not any(wanted in t for t in texts)
    return any(_compare(condition.op, t, wanted) for t in texts)


def _compare(op: str, left: str, right: str) -> bool:
    compare = _ORDERING[op]
    numbers = (_number(left), _number(right))
    if numbers[0] is not None and numbers[1] is not None:
        return bool(compare(numbers[0], numbers[1]))
    dates = (_date(left), _date(right))
    if dates[0] is not None and dates[1] is not None:
        return bool(compare(dates[0], dates[1]))
    return bool(compare(left, right))


_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
