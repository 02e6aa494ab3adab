"""The preflight's checks of planned entities: pure functions of plain values, no network, no store.

What a load would do with each planned entity comes from :func:`~ztoq.pipeline.load_decision.decide_load`,
the decision load itself acts on (:func:`sent_work`), so the dry run's counts cannot drift from
what load sends. Each entity load would send is then checked against today's qTest: every
``field_id`` in its ``properties`` is an active field of its object type, every pick-list value
an active allowed value, every user a project member, every execution status (of a test log and
its steps) still offered (:func:`check_entity`), and every required field gets a value
(:func:`missing_required`). qTest answers each of these problems with 400, so each is blocking.
Issues are grouped into :class:`Finding` objects, one per problem, with a few example keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ztoq.entities import BY_NAME, noun
from ztoq.mapping.fields import Kind, field_kind
from ztoq.mapping.lookups import TargetField, TargetFields, fold
from ztoq.mapping.properties import BODY_LABELS
from ztoq.pipeline.load_decision import LoadAction, decide_load
from ztoq.store.records import LoadWork
from ztoq.values import int_or_none

BLOCKING = "blocking"
WARNING = "warning"

#: How many source keys a finding names as examples.
EXAMPLES = 5


@dataclass(frozen=True)
class Finding:
    """One problem the preflight found; entity findings are grouped (count and example keys)."""

    check: str
    severity: str
    code: str
    message: str
    entity_type: str | None = None
    count: int = 0
    examples: tuple[str, ...] = ()

    @property
    def blocking(self) -> bool:
        return self.severity == BLOCKING

    def text(self) -> str:
        """The message, with how many entities it concerns and a few of their Zephyr keys."""
        if not self.count:
            return self.message
        more = ", ..." if self.count > len(self.examples) else ""
        keys = f": {', '.join(self.examples)}{more}" if self.examples else ""
        return f"{self.message} ({noun(self.entity_type, self.count)}{keys})"


@dataclass(frozen=True)
class Issue:
    """One problem of one planned entity; issues with the same text are grouped into a Finding."""

    check: str
    severity: str
    code: str
    message: str


# -- what a load would do -----------------------------------------------------------------------------


@dataclass
class TypeCounts:
    """What a load would do with one planned entity type."""

    entity_type: str
    planned: int = 0
    create: int = 0
    update: int = 0
    unchanged: int = 0
    #: Planned as skipped by transform (never sent): by design or because planning failed.
    not_planned: int = 0

    @property
    def send(self) -> int:
        return self.create + self.update

    def count(self, action: LoadAction) -> None:
        """Count one entity load would create or update (the rest is ``planned - send``)."""
        if action.summary == "create":
            self.create += 1
        elif action.summary == "update":
            self.update += 1


def sent_work(row: TypeCounts, work: Iterable[LoadWork]) -> Iterator[LoadWork]:
    """Count in ``row`` what load would do with each item; yield the items it would send.

    ``row.unchanged`` is set once ``work`` is exhausted: what is planned and not sent.
    """
    for item in work:
        action = decide_load(item.planned, item.mapping)
        row.count(action)
        if action.sends:
            yield item
    row.unchanged = max(0, row.planned - row.send)


# -- names for messages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """Labels of fields, values and statuses (today's and those extract stored), for messages."""

    fields: Mapping[tuple[str, int], str] = field(default_factory=dict)
    values: Mapping[tuple[str, int, int], str] = field(default_factory=dict)
    statuses: Mapping[int, str] = field(default_factory=dict)
    inactive_fields: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def build(
        cls,
        settings: Iterable[Mapping[str, Sequence[Mapping[str, Any]]]],
        statuses: Iterable[Iterable[Mapping[str, Any]]] = (),
    ) -> Names:
        """From raw field settings (object type -> FieldResource list), freshest first."""
        fields: dict[tuple[str, int], str] = {}
        values: dict[tuple[str, int, int], str] = {}
        inactive: set[tuple[str, int]] = set()
        for index, by_type in enumerate(settings):
            for object_type, raw_fields in by_type.items():
                for raw in raw_fields:
                    field_id = int_or_none(raw.get("id"))
                    if field_id is None:
                        continue
                    fields.setdefault((object_type, field_id), str(raw.get("label") or ""))
                    if index == 0 and raw.get("is_active") is False:
                        inactive.add((object_type, field_id))
                    for value in raw.get("allowed_values") or ():
                        value_id = int_or_none(value.get("value"))
                        if value_id is not None:
                            values.setdefault(
                                (object_type, field_id, value_id), str(value.get("label") or "")
                            )
        names: dict[int, str] = {}
        for listing in statuses:
            for status in listing:
                status_id = int_or_none(status.get("id"))
                if status_id is not None:
                    names.setdefault(status_id, str(status.get("name") or ""))
        return cls(fields, values, names, frozenset(inactive))

    def field(self, object_type: str, field_id: int, label: str | None = None) -> str:
        """``test-cases field 'Priority' (id 12)``; ``label`` is used when no label is known."""
        label = self.fields.get((object_type, field_id)) or label
        return (
            f"{object_type} field {label!r} (id {field_id})" if label else f"{object_type} field {field_id}"
        )

    def value(self, object_type: str, field_id: int, value: int) -> str:
        label = self.values.get((object_type, field_id, value))
        return f"{value} ({label!r})" if label else str(value)

    def status(self, status_id: int) -> str:
        name = self.statuses.get(status_id)
        return f"{status_id} ({name!r})" if name else str(status_id)


# -- one planned body ------------------------------------------------------------------------------------


def _object_type(entity_type: str) -> str | None:
    registered = BY_NAME.get(entity_type)
    return None if registered is None else registered.object_type


def _ids(value: Any) -> list[str]:
    """The tokens of a list field's value: ``"723"``, ``"[1,2]"``, ``[1, 2]`` -> ["723"] / ["1", "2"]."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in str(value).strip().strip("[]").split(",") if p.strip()]


def _is_empty(value: Any) -> bool:
    return not _ids(value) if isinstance(value, list) else str(value or "").strip() in ("", "[]")


def _choice_field(target: TargetField) -> bool:
    kind = field_kind(target)
    return kind in (Kind.PICK_LIST, Kind.MULTI_SELECT) or (
        kind is Kind.CHECKBOX and bool(target.allowed_values)
    )


def check_entity(
    entity_type: str, body: Mapping[str, Any], target: TargetFields, names: Names
) -> list[Issue]:
    """The field, value, user and status problems of one planned body against today's qTest.

    Every one of them makes qTest refuse the entity (400), so every issue is blocking.
    """
    issues: list[Issue] = []
    object_type = _object_type(entity_type)
    if object_type is not None:
        by_id = {f.id: f for f in target.fields(object_type)}
        member_ids = {u.id for u in target.users}
        for prop in body.get("properties") or ():
            if not isinstance(prop, Mapping):
                continue
            field_id = int_or_none(prop.get("field_id"))
            if field_id is None:
                continue
            where = names.field(object_type, field_id)
            found = by_id.get(field_id)
            if found is None:
                state = (
                    "is inactive" if (object_type, field_id) in names.inactive_fields else "no longer exists"
                )
                issues.append(
                    Issue(
                        "fields",
                        BLOCKING,
                        "field_missing",
                        f"{where} {state} in qTest; qTest refuses a value for it",
                    )
                )
                continue
            value = prop.get("field_value")
            if _is_empty(value):
                continue
            issues.extend(_value_issues(object_type, found, value, member_ids, names))
    registered = BY_NAME.get(entity_type)
    if registered is not None and registered.needs_execute:
        # An execution carries execution statuses, for itself and for each of its steps.
        issues.extend(_status_issues(body, target, names))
    return issues


def _value_issues(
    object_type: str, found: TargetField, value: Any, member_ids: set[int], names: Names
) -> list[Issue]:
    where = names.field(object_type, found.id, found.label)
    kind = field_kind(found)
    tokens = _ids(value)
    issues: list[Issue] = []
    if kind is Kind.USER:
        for token in tokens:
            user_id = int_or_none(token)
            if member_ids and (user_id is None or user_id not in member_ids):
                issues.append(
                    Issue(
                        "fields",
                        BLOCKING,
                        "user_not_member",
                        f"{where} names qTest user {token}, who is not an active member of the project",
                    )
                )
        what = "user"
    elif _choice_field(found):
        allowed = {v.value for v in found.allowed_values}
        for token in tokens:
            choice = int_or_none(token)
            if choice is None or choice not in allowed:
                shown = names.value(object_type, found.id, choice) if choice is not None else repr(token)
                issues.append(
                    Issue(
                        "fields",
                        BLOCKING,
                        "value_not_allowed",
                        f"{where} no longer offers value {shown}; qTest refuses it",
                    )
                )
        what = "value"
    else:
        return []
    if len(tokens) > 1 and not found.multiple:
        issues.append(
            Issue(
                "fields",
                BLOCKING,
                "single_value_field",
                f"{where} now takes one {what}; the plan has several",
            )
        )
    return issues


def _status_issues(body: Mapping[str, Any], target: TargetFields, names: Names) -> list[Issue]:
    offered = {s.id for s in target.execution_statuses}
    used: list[int] = []
    status = body.get("status")
    if isinstance(status, Mapping) and (status_id := int_or_none(status.get("id"))) is not None:
        used.append(status_id)
    for step in body.get("test_step_logs") or ():
        step_status = step.get("status") if isinstance(step, Mapping) else None
        if isinstance(step_status, Mapping) and (status_id := int_or_none(step_status.get("id"))) is not None:
            used.append(status_id)
    return [
        Issue(
            "fields",
            BLOCKING,
            "status_missing",
            f"execution status {names.status(status_id)} is no longer offered by qTest; "
            "qTest refuses the log",
        )
        for status_id in dict.fromkeys(used)
        if status_id not in offered
    ]


def missing_required(entity_type: str, body: Mapping[str, Any], target: TargetFields) -> list[TargetField]:
    """Required fields of the entity's object type that get no value and have no default.

    Fields qTest fills from the request body (name, description, ...) never count.
    """
    object_type = _object_type(entity_type)
    if object_type is None:
        return []
    given = {
        int_or_none(p.get("field_id"))
        for p in body.get("properties") or ()
        if isinstance(p, Mapping) and not _is_empty(p.get("field_value"))
    }
    return [
        f
        for f in target.fields(object_type)
        if f.required
        and f.id not in given
        and fold(f.label) not in BODY_LABELS
        and fold(f.original_name or "") not in BODY_LABELS
        and f.default_field_value() is None
    ]


def required_issues(
    entity_type: str, body: Mapping[str, Any], target: TargetFields, names: Names
) -> list[Issue]:
    """:func:`missing_required` as blocking issues."""
    object_type = _object_type(entity_type) or ""
    return [
        Issue(
            "required",
            BLOCKING,
            "required_field_missing",
            f"qTest requires {names.field(object_type, f.id, f.label)}, which has no default and no "
            "planned value; qTest refuses the entity",
        )
        for f in missing_required(entity_type, body, target)
    ]


class Grouper:
    """Groups per-entity issues into findings: one per (check, severity, code, message, type)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str, str, str], int] = {}
        self._examples: dict[tuple[str, str, str, str, str], list[str]] = {}

    def add(self, entity_type: str, source_key: str, issues: Iterable[Issue]) -> None:
        """Count ``issues`` of one entity, keeping its key as an example while there are few."""
        for issue in issues:
            key = (issue.check, issue.severity, issue.code, issue.message, entity_type)
            self._counts[key] = self._counts.get(key, 0) + 1
            examples = self._examples.setdefault(key, [])
            if len(examples) < EXAMPLES:
                examples.append(source_key)

    def findings(self) -> list[Finding]:
        """One finding per distinct issue, in the order they were first met."""
        return [Finding(*key, count, tuple(self._examples[key])) for key, count in self._counts.items()]
