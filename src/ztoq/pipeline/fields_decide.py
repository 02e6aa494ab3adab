"""What ``ztoq fields plan`` decides, without I/O: what each Zephyr field holds, and where it lands.

A :class:`FieldTally` counts the values one Zephyr field carries on one kind of entity (and keeps
a few samples and the distinct choices). :func:`propose_type` says which qTest data type would
hold those values without loss; :func:`decide_landing` says whether the target already has the
field the mapping would use (by the configured label or the same label), whether it must be
created, or whether qTest offers no field there at all (test cycles have no custom fields).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ztoq.mapping.fields import Kind, display, field_kind, is_empty
from ztoq.mapping.lookups import TargetField, TargetFields, fold
from ztoq.vendor import (
    QTEST_CHECKBOX,
    QTEST_DATA_TYPE_NAMES,
    QTEST_DATE,
    QTEST_DATE_TIME,
    QTEST_FIELD_OBJECT_TYPES,
    QTEST_MULTI_SELECT,
    QTEST_NUMBER,
    QTEST_PICK_LIST,
    QTEST_RICH_TEXT,
    QTEST_TEXT,
    QTEST_TEXT_AREA,
    QTEST_USER_LIST,
)

#: Most distinct texts a free-text field may hold and still be proposed as a pick list.
MAX_CHOICES = 25
#: Most distinct items a list field (labels, multi-choice) may hold as a multi-select.
MAX_LIST_CHOICES = 100
#: Texts longer than this are proposed as a text area rather than a text box.
LONG_TEXT = 255
#: Distinct values kept per field (enough to decide; a field with more is free text).
_KEEP = 500
_SAMPLES = 3

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_HTML = re.compile(r"<[a-zA-Z/][^>]*>")

#: Names of qTest data types, for tables, messages and ``field_types`` in the configuration.
DATA_TYPE_NAMES: dict[int, str] = dict(QTEST_DATA_TYPE_NAMES)

#: The box a checked Zephyr checkbox ticks: qTest check boxes are lists of boxes.
CHECKBOX_CHOICE = "Yes"


def shape_of(value: Any) -> str:
    """What kind of value this is: bool, number, date, datetime, list, user, rich or text."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, Mapping):
        return "user" if "accountId" in value else "text"
    if isinstance(value, list | tuple):
        return "list"
    text = display(value)
    if _DATE.match(text.strip()):
        return "date"
    if _DATE_TIME.match(text.strip()):
        try:
            datetime.fromisoformat(text.strip())
        except ValueError:
            return "text"
        return "datetime"
    if "\n" in text or _HTML.search(text):
        return "rich"
    return "text"


@dataclass
class FieldTally:
    """The values one Zephyr field carries on one kind of entity.

    Attributes:
        kind: the entity kind ("test_case", "test_plan", "test_cycle", "test_execution").
        name: the Zephyr field name ("labels", "Automation Status").
        label: the qTest label the mapping puts it in (configured, else the same label).
        via: what decides that label ("same label", "custom_fields.test_case", ...).
        standard: a member of the record (labels, owner, ...) rather than a custom field.
        user: its values are Jira users (owners, user pickers).
        free_text: the mapping sends it as text whatever it holds (durations, folder paths).
    """

    kind: str
    name: str
    label: str
    via: str
    standard: bool = False
    user: bool = False
    free_text: bool = False
    count: int = 0
    samples: list[str] = field(default_factory=list)
    shapes: Counter[str] = field(default_factory=Counter)
    choices: dict[str, str] = field(default_factory=dict)
    parts: Counter[str] = field(default_factory=Counter)
    split_values: int = 0
    max_length: int = 0

    def add(self, value: Any) -> None:
        """Count one entity's value (empty values carry nothing and are not counted)."""
        if is_empty(value):
            return
        self.count += 1
        shown = display(value)
        if len(self.samples) < _SAMPLES and shown not in self.samples:
            self.samples.append(shown if len(shown) <= 60 else shown[:57] + "...")
        shape = shape_of(value)
        self.shapes[shape] += 1
        self.max_length = max(self.max_length, len(shown))
        items = list(value) if isinstance(value, list | tuple) else [value]
        for item in items:
            self._choice(display(item))
        if shape == "text":
            pieces = [p.strip() for p in shown.split(",") if p.strip()]
            self.split_values += len(pieces) > 1
            for piece in pieces:
                if len(self.parts) < _KEEP or piece in self.parts:
                    self.parts[piece] += 1

    def _choice(self, label: str) -> None:
        if label and len(self.choices) < _KEEP:
            self.choices.setdefault(fold(label), label)

    @property
    def distinct(self) -> int:
        """How many distinct values (or list items) it holds (capped at what is kept)."""
        return len(self.choices)


@dataclass(frozen=True)
class Proposal:
    """The qTest field that would hold a Zephyr field's values: data type, multiple, choices."""

    data_type: int
    multiple: bool = False
    choices: tuple[str, ...] = ()


def _only(tally: FieldTally, *shapes: str) -> bool:
    return bool(tally.shapes) and set(tally.shapes) <= set(shapes)


def propose_type(tally: FieldTally, known_users: frozenset[str], mapped_users: frozenset[str]) -> Proposal:
    """The qTest data type that holds ``tally``'s values as they are.

    Args:
        tally: the values seen.
        known_users: every Jira account the project's records name (owners, testers, assignees):
            a custom text field holding only those is a user picker.
        mapped_users: the accounts ``mappings.users`` maps to qTest users. A user field becomes a
            user list only when some of its people are mapped; otherwise their names go to text.
    """
    choices = tuple(sorted(tally.choices.values(), key=str.casefold))
    values = set(tally.choices.values())
    is_user = (
        tally.user
        or _only(tally, "user")
        or (_only(tally, "text") and bool(values) and values <= known_users)
    )
    if is_user:
        if values & mapped_users:
            return Proposal(QTEST_USER_LIST, multiple="list" in tally.shapes)
        return Proposal(QTEST_TEXT)
    if tally.free_text:
        return Proposal(QTEST_TEXT_AREA if tally.max_length > LONG_TEXT else QTEST_TEXT)
    if _only(tally, "bool"):
        return Proposal(QTEST_CHECKBOX, multiple=True, choices=(CHECKBOX_CHOICE,))
    if _only(tally, "number"):
        return Proposal(QTEST_NUMBER)
    if _only(tally, "date"):
        return Proposal(QTEST_DATE)
    if _only(tally, "date", "datetime"):
        return Proposal(QTEST_DATE_TIME)
    if _only(tally, "list"):
        if tally.distinct <= MAX_LIST_CHOICES:
            return Proposal(QTEST_MULTI_SELECT, multiple=True, choices=choices)
        return Proposal(QTEST_TEXT_AREA)
    if "rich" in tally.shapes or "list" in tally.shapes:
        return Proposal(QTEST_RICH_TEXT)
    if _only(tally, "text"):
        parts = tuple(sorted(tally.parts, key=str.casefold))
        if tally.split_values and _repeats(len(parts), sum(tally.parts.values())):
            # Zephyr Scale Server sends multi-choice values as one text: "UI, API".
            return Proposal(QTEST_MULTI_SELECT, multiple=True, choices=parts)
        if _repeats(tally.distinct, tally.count) and tally.max_length <= 80:
            return Proposal(QTEST_PICK_LIST, choices=choices)
        if tally.max_length > LONG_TEXT:
            return Proposal(QTEST_TEXT_AREA)
    return Proposal(QTEST_TEXT)


def configured_type(tally: FieldTally, data_type: int) -> Proposal:
    """The field ``field_types`` asks for: ``data_type``, with the observed values as its choices.

    A check box gets the one "Yes" box a Zephyr checkbox ticks when the values are booleans; a
    multi-select gets the items (or the parts of Server's "UI, API" texts); a user list takes its
    values from the project's users, so it has none.
    """
    if data_type not in (QTEST_PICK_LIST, QTEST_MULTI_SELECT, QTEST_CHECKBOX, QTEST_USER_LIST):
        return Proposal(data_type)  # text, text area, rich text, number, date, date time, url
    if data_type == QTEST_USER_LIST:
        return Proposal(data_type, multiple="list" in tally.shapes)
    if data_type == QTEST_CHECKBOX and _only(tally, "bool"):
        return Proposal(data_type, multiple=True, choices=(CHECKBOX_CHOICE,))
    texts = _only(tally, "text") and tally.split_values and data_type == QTEST_MULTI_SELECT
    labels = tally.parts if texts else tally.choices.values()
    choices = tuple(sorted(labels, key=str.casefold))
    return Proposal(data_type, multiple=data_type in (QTEST_CHECKBOX, QTEST_MULTI_SELECT), choices=choices)


def _repeats(distinct: int, count: int) -> bool:
    """A few values, each used again and again: choices, not free text."""
    return 0 < distinct <= MAX_CHOICES and count >= 2 * distinct


#: Where a field lands.
EXISTING, MISSING, UNAVAILABLE = "existing", "missing", "unavailable"


@dataclass(frozen=True)
class FieldPlan:
    """One Zephyr field of one entity kind, and the qTest field it lands in.

    Attributes:
        status: ``existing`` (the target has the field), ``missing`` (``fields apply`` creates it)
            or ``unavailable`` (qTest has no fields on that object: the value stays in text).
        field_id: the existing field's id (any sign: real sites number system fields below 0).
        data_type, multiple: the existing field's, or those proposed for a missing one.
        choices: the allowed values proposed for a missing pick list or multi-select.
        missing_choices: observed values an existing pick list lacks (``fields apply`` may add them).
        type_via: what decided a missing field's data type: "proposed" from the values, or the
            ``field_types`` section that names it.
    """

    kind: str
    name: str
    standard: bool
    count: int
    samples: tuple[str, ...]
    object_type: str
    label: str
    via: str
    status: str
    field_id: int | None = None
    data_type: int | None = None
    multiple: bool = False
    choices: tuple[str, ...] = ()
    missing_choices: tuple[str, ...] = ()
    type_via: str = ""

    @property
    def type_name(self) -> str:
        """The data type's name ("pick list"), or "" when unknown."""
        return DATA_TYPE_NAMES.get(self.data_type or 0, "" if self.data_type is None else str(self.data_type))

    def to_json(self) -> dict[str, Any]:
        """The row as ``--json`` prints it."""
        return {
            "entity": self.kind,
            "zephyr_field": self.name,
            "standard": self.standard,
            "entities": self.count,
            "samples": list(self.samples),
            "qtest_object_type": self.object_type,
            "qtest_label": self.label,
            "via": self.via,
            "status": self.status,
            "qtest_field_id": self.field_id,
            "data_type": self.data_type,
            "data_type_name": self.type_name,
            "multiple": self.multiple,
            "choices": list(self.choices),
            "missing_choices": list(self.missing_choices),
            "data_type_via": self.type_via or None,
        }


def _missing_choices(tally: FieldTally, target: TargetField) -> tuple[str, ...]:
    kind = field_kind(target)
    if kind not in (Kind.PICK_LIST, Kind.MULTI_SELECT):
        return ()
    split = kind is Kind.MULTI_SELECT and "text" in tally.shapes
    observed: list[str] = []
    for value in tally.choices.values():
        if target.choice(value) is not None:
            continue
        # A multi-select takes Server's "UI, API" text as its parts (see mapping.fields).
        observed += [p.strip() for p in value.split(",") if p.strip()] if split else [value]
    missing = {fold(v): v for v in observed if target.choice(v) is None}
    return tuple(sorted(missing.values(), key=str.casefold))


def decide_landing(
    tally: FieldTally,
    object_type: str,
    target: TargetFields,
    known_users: frozenset[str] = frozenset(),
    mapped_users: frozenset[str] = frozenset(),
    configured: int | None = None,
) -> FieldPlan:
    """Where ``tally``'s values land in qTest ``object_type``: an existing field, a missing one, or none.

    ``configured`` is the data type ``field_types`` gives the field: a missing field gets it
    instead of the proposed one (an existing field keeps its own: qTest cannot change it).
    """
    base = FieldPlan(
        kind=tally.kind,
        name=tally.name,
        standard=tally.standard,
        count=tally.count,
        samples=tuple(tally.samples),
        object_type=object_type,
        label=tally.label,
        via=tally.via,
        status=UNAVAILABLE,
    )
    if object_type not in QTEST_FIELD_OBJECT_TYPES:
        return base
    existing = target.field(object_type, tally.label)
    if existing is not None:
        return replace(
            base,
            status=EXISTING,
            field_id=existing.id,
            data_type=existing.data_type,
            multiple=existing.multiple,
            missing_choices=_missing_choices(tally, existing),
        )
    if configured is None:
        proposal, via = propose_type(tally, known_users, mapped_users), "proposed"
    else:
        proposal, via = configured_type(tally, configured), f"field_types.{tally.kind}"
    return replace(
        base,
        status=MISSING,
        data_type=proposal.data_type,
        multiple=proposal.multiple,
        choices=proposal.choices,
        type_via=via,
    )
