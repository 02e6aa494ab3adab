"""What load does with one planned entity: a pure decision, shared by load and preflight.

Load acts on it (:mod:`ztoq.pipeline.load`); the dry run counts it (:mod:`ztoq.pipeline.preflight`),
so what the dry run says load would send is, by construction, what load sends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ztoq.entities import BY_NAME
from ztoq.plan import PlannedEntity
from ztoq.store.records import TARGET_STATES, MappingRecord, PlannedRecord
from ztoq.vendor import QTEST_PARENT_CYCLE, QTEST_PARENT_RELEASE


class LoadAction(StrEnum):
    """The five things load can do with a planned entity."""

    #: Not in qTest: record the intent, then create it.
    CREATE = "create"
    #: A previous run recorded the intent but not the answer: look for it in qTest by its Zephyr
    #: key first, adopt it when found, create it otherwise.
    RECONCILE = "reconcile"
    #: In qTest with other content: update it in place (a new version, never a copy).
    UPDATE = "update"
    #: A test log whose execution did not change (only its plan moved because its test case was
    #: edited since): it stays as it is, bound to the version that was executed.
    KEEP = "keep"
    #: In qTest with exactly this content: nothing to send.
    UNCHANGED = "unchanged"

    @property
    def sends(self) -> bool:
        """Whether this action sends a write to qTest (at least possibly)."""
        return self in (LoadAction.CREATE, LoadAction.RECONCILE, LoadAction.UPDATE)

    @property
    def summary(self) -> str:
        """How the dry run counts it: "create", "update" or "unchanged"."""
        if self in (LoadAction.CREATE, LoadAction.RECONCILE):
            return "create"
        return "update" if self is LoadAction.UPDATE else "unchanged"


def decide_load(planned: PlannedRecord, mapping: MappingRecord | None) -> LoadAction:
    """What load does with ``planned``, given its mapping (None when it has none).

    A mapping left in state ``deleted`` (rolled back, or deleted in qTest by propagation) counts
    as none: the entity is created anew.
    """
    if mapping is None or mapping.state == "deleted":
        return LoadAction.CREATE
    if mapping.target_id is None:
        return LoadAction.RECONCILE if mapping.state == "intent" else LoadAction.CREATE
    if mapping.state in TARGET_STATES and mapping.loaded_hash == planned.content_hash:
        return LoadAction.UNCHANGED
    if (
        planned.entity_type == "test_log"
        and mapping.loaded_source_hash is not None
        and mapping.loaded_source_hash == planned.source_hash
    ):
        return LoadAction.KEEP
    return LoadAction.UPDATE


def placement_of(entity_type: str, target_id: int) -> tuple[str, int]:
    """How a qTest object is named as a parent: its kind and its id."""
    return BY_NAME[entity_type].kind, target_id


#: The kind of object an attachment's qTest object type belongs to (a step is its test case's).
_ATTACHMENT_OBJECT_KINDS = {
    "test-cases": "test-case",
    "test-steps": "test-case",
    "releases": "release",
    "test-logs": "test-log",
    "test-step-logs": "test-log",
}


def parent_of(entity: PlannedEntity) -> tuple[str, int] | None:
    """The (kind, id) of ``entity``'s resolved qTest parent; None at the top of the project."""
    registered = BY_NAME[entity.entity_type]
    if not registered.parents:
        return None
    if entity.parent_type in _ATTACHMENT_OBJECT_KINDS and isinstance(entity.parent, int):
        return _ATTACHMENT_OBJECT_KINDS[entity.parent_type], entity.parent
    parent = (entity.body or {}).get(registered.body_parent) if registered.body_parent else entity.parent
    if not isinstance(parent, int) or isinstance(parent, bool):
        return None
    if entity.parent_type in (QTEST_PARENT_RELEASE, QTEST_PARENT_CYCLE):
        return str(entity.parent_type), parent
    return BY_NAME[registered.parents[0]].kind, parent


def matches_plan(found: Mapping[str, Any] | None, body: Mapping[str, Any]) -> bool:
    """Whether what qTest holds (as listed) already says what the plan would send.

    Only what both sides carry is compared (qTest does not echo every member it accepts);
    properties by field id, steps and step logs by position, timestamps as instants. Used when
    adopting an entity found in qTest: a match is recorded as loaded, a difference is updated.
    """
    if found is None:
        return False
    for member, wanted in body.items():
        if member not in found or (found[member] is None and wanted is not None and member != "properties"):
            continue
        if member == "properties":
            if not _same_properties(found.get(member), wanted):
                return False
        elif not _same_value(found[member], wanted):
            return False
    return True


def _same_properties(found: Any, wanted: Any) -> bool:
    have = {p.get("field_id"): p.get("field_value") for p in found or () if isinstance(p, Mapping)}
    for prop in wanted or ():
        if not isinstance(prop, Mapping):
            continue
        if _scalar(have.get(prop.get("field_id"))) != _scalar(prop.get("field_value")):
            return False
    return True


def _same_value(found: Any, wanted: Any) -> bool:
    if isinstance(wanted, Mapping) and wanted and all(str(k).startswith("$") for k in wanted):
        return True  # a placeholder load resolves only when sending (a step of the approved version)
    if isinstance(wanted, Mapping):
        return isinstance(found, Mapping) and matches_plan(found, wanted)
    if isinstance(wanted, list):
        if not isinstance(found, list) or len(found) != len(wanted):
            return False
        return all(_same_value(f, w) for f, w in zip(found, wanted, strict=True))
    return bool(_scalar(found) == _scalar(wanted))


def _scalar(value: Any) -> Any:
    """A value in the form two answers are compared in: trimmed text, instants in UTC, ids as text."""
    if value is None or value in ("", "[]"):
        return None  # qTest answers an empty text, or an empty multi-select, as null or ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) >= 19 and text[4:5] == "-" and text[10:11] == "T":
            with contextlib.suppress(ValueError):
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
                return moment.astimezone(UTC)
        return text
    return value
