"""The subset of Zephyr Scale Server's TQL (the ``query`` of the search endpoints) real clients use.

The grammar, as strict as the spec says the server is ("The use of whitespaces between fields,
operators and logical operators is required, as well as the use of double quotes for string
values")::

    query   := clause (" AND " clause)*
    clause  := field " = " string
             | field " IN (" string ("," [" "] string)* ")"
    field   := a name of letters and digits, one the entity accepts
    string  := '"' characters, with \\" and \\\\ escaped '"'

Anything else is refused with a ``TqlError`` that says what was not understood and where: ``OR``,
lower-case keywords, a missing or doubled space, a value without double quotes, a field the entity
does not accept (test runs accept only ``projectKey`` and ``folder``), the comparison operators
(the real server takes ``>``/``<`` on ``estimatedTime``; the simulator does not), and quoted
custom field names. Folder values must start with ``/`` (``"/"`` is the root).

``parse_query`` and ``matches`` are pure: the routes parse once and filter the state with the
clauses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The fields each search accepts (a subset of the spec's "Available fields").
TEST_CASE_FIELDS = frozenset(
    {"projectKey", "key", "name", "status", "priority", "component", "folder", "owner", "labels"}
)
TEST_PLAN_FIELDS = frozenset({"projectKey", "key", "name", "status", "folder", "owner", "labels"})
TEST_RUN_FIELDS = frozenset({"projectKey", "folder"})

_FIELD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_COMPARISONS = (">=", "<=", "!=", ">", "<", "~")


class TqlError(ValueError):
    """A query the strict TQL parser refuses; the message says what was not understood and where."""


@dataclass(frozen=True)
class Clause:
    """One condition: the entity's ``field`` equals one of ``values`` (``=`` gives one value)."""

    field: str
    values: tuple[str, ...]


def parse_query(text: str | None, fields: frozenset[str], entity: str) -> tuple[Clause, ...]:
    """Parse a TQL query into its clauses (all must hold); no query at all matches everything.

    Args:
        text: The ``query`` parameter as received (None or empty: no filter).
        fields: The field names this entity's search accepts.
        entity: The entity's name in messages, plural ("test runs").

    Raises:
        TqlError: when the query is not in the subset, naming the position and the reason.
    """
    if not text:
        return ()
    return _Parser(text, fields, entity).query()


def matches(entity: Mapping[str, Any], clauses: tuple[Clause, ...]) -> bool:
    """True when ``entity`` (a wire object) satisfies every clause.

    ``folder``: the entity's folder path, ``/`` when it has none, equals a value exactly (child
    folders do not match). ``labels``: any of the entity's labels is a value. Other fields: the
    value, as text, is one of the values (an entity without the field never matches).
    """
    for clause in clauses:
        if clause.field == "folder":
            if (entity.get("folder") or "/") not in clause.values:
                return False
        elif clause.field == "labels":
            labels = entity.get("labels") or []
            if not any(str(label) in clause.values for label in labels):
                return False
        else:
            value = entity.get(clause.field)
            if value is None or str(value) not in clause.values:
                return False
    return True


class _Parser:
    """A hand-written scanner over the query text; ``pos`` is where the next token starts."""

    def __init__(self, text: str, fields: frozenset[str], entity: str) -> None:
        self.text = text
        self.fields = fields
        self.entity = entity
        self.pos = 0

    def fail(self, reason: str, at: int | None = None) -> TqlError:
        where = self.pos if at is None else at
        snippet = self.text[where : where + 20] or "the end of the query"
        return TqlError(f"The query is not valid at character {where + 1} ('{snippet}'): {reason}")

    def query(self) -> tuple[Clause, ...]:
        clauses = [self.clause()]
        while self.pos < len(self.text):
            rest = self.text[self.pos :]
            if rest.startswith(" AND "):
                self.pos += len(" AND ")
                clauses.append(self.clause())
            elif rest.upper().startswith(" OR "):
                raise self.fail("OR is not supported; clauses can only be joined by AND")
            elif rest.startswith((" and ", " And ")):
                raise self.fail("the logical operator must be written AND (upper case)")
            else:
                raise self.fail("expected ' AND ' or the end of the query")
        return tuple(clauses)

    def clause(self) -> Clause:
        field = self.field()
        self.space("between the field and the operator")
        if self.text.startswith("=", self.pos):
            self.pos += 1
            self.space("after '='")
            values: tuple[str, ...] = (self.string(),)
        elif self.text.startswith("IN ", self.pos):
            self.pos += len("IN")
            self.space("after IN")
            values = self.value_list()
        else:
            raise self.operator_error()
        if field == "folder":
            for value in values:
                if not value.startswith("/"):
                    raise TqlError(f"Folder '{value}' must start with '/' ('/' is the root folder).")
        return Clause(field, values)

    def field(self) -> str:
        if self.text.startswith('"', self.pos):
            raise self.fail("custom fields (quoted field names) are not supported by the simulator")
        match = _FIELD_RE.match(self.text, self.pos)
        if match is None:
            raise self.fail("expected a field name")
        name = match.group()
        if name not in self.fields:
            accepted = ", ".join(sorted(self.fields))
            raise self.fail(f"the field '{name}' is not supported for {self.entity} (use {accepted})")
        self.pos = match.end()
        return name

    def space(self, where: str) -> None:
        if not self.text.startswith(" ", self.pos):
            raise self.fail(f"one space is required {where}")
        self.pos += 1
        if self.text.startswith(" ", self.pos):
            raise self.fail(f"only one space is allowed {where}")

    def operator_error(self) -> TqlError:
        token = self.text[self.pos :].split(" ", 1)[0]
        if token in _COMPARISONS or token.upper() == "NOT":
            return self.fail(f"the operator '{token}' is not supported by the simulator (use = or IN)")
        if token.upper() == "IN" or token.upper().startswith("IN("):
            return self.fail("the operator must be written 'IN' followed by one space and '('")
        return self.fail(f"unknown operator '{token}' (use = or IN)")

    def value_list(self) -> tuple[str, ...]:
        if not self.text.startswith("(", self.pos):
            raise self.fail("expected '(' after IN")
        self.pos += 1
        values = [self.string()]
        while self.text.startswith(",", self.pos):
            self.pos += 1
            if self.text.startswith(" ", self.pos):
                self.pos += 1
            values.append(self.string())
        if not self.text.startswith(")", self.pos):
            raise self.fail("expected ',' or ')' after a value of the IN list")
        self.pos += 1
        return tuple(values)

    def string(self) -> str:
        if not self.text.startswith('"', self.pos):
            raise self.fail("string values must be in double quotes")
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                chars.append(self.text[self.pos + 1])
                self.pos += 2
            elif char == '"':
                self.pos += 1
                return "".join(chars)
            else:
                chars.append(char)
                self.pos += 1
        raise self.fail("the string value has no closing double quote", at=start)
