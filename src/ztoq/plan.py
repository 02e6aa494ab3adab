"""The typed plan: one :class:`PlannedEntity` per qTest entity ztoq intends to send, and its codec.

Mapping produces planned entities, transform stores them (:meth:`PlannedEntity.to_payload`), and
load, validate and preflight read them back (:func:`decode_planned`). Planned entities refer to
other entities by *source* key (``{"$ref": "module:12"}``, :func:`ref`); load resolves those
placeholders to qTest ids (:func:`resolve_refs`). A leaf module: it imports only the registry.

The stored form is ``{"body": <qTest request body>, "extra": <load options>}``; its hash decides
whether load sends an entity again, so the codec writes exactly the options that are set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from ztoq.entities import BY_NAME

REF_KEY = "$ref"

P = TypeVar("P")


def ref(entity_type: str, source_key: str) -> dict[str, str]:
    """A placeholder for the qTest id of another migrated entity, resolved at load time."""
    return {REF_KEY: f"{entity_type}:{source_key}"}


def parse_ref(value: Any) -> tuple[str, str] | None:
    """``(entity_type, source_key)`` when ``value`` is a reference made by :func:`ref`, else None."""
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get(REF_KEY), str):
        entity_type, _, key = value[REF_KEY].partition(":")
        return entity_type, key
    return None


def find_placeholders(payload: Any, parse: Callable[[Any], P | None]) -> list[P]:
    """Every placeholder ``parse`` recognises in a payload, in document order, without duplicates."""
    found: list[P] = []

    def walk(node: Any) -> None:
        target = parse(node)
        if target is not None:
            if target not in found:
                found.append(target)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload)
    return found


def replace_placeholders(
    payload: Any,
    parse: Callable[[Any], P | None],
    resolve: Callable[[P], int | None],
    describe: Callable[[P], str],
) -> Any:
    """A copy of ``payload`` with every placeholder replaced by ``resolve(placeholder)``.

    Raises:
        KeyError: ``describe(placeholder)``, for one that ``resolve`` has no id for.
    """
    target = parse(payload)
    if target is not None:
        resolved = resolve(target)
        if resolved is None:
            raise KeyError(describe(target))
        return resolved
    if isinstance(payload, dict):
        return {k: replace_placeholders(v, parse, resolve, describe) for k, v in payload.items()}
    if isinstance(payload, list):
        return [replace_placeholders(v, parse, resolve, describe) for v in payload]
    return payload


def find_refs(payload: Any) -> list[tuple[str, str]]:
    """Every reference in a payload, in document order, without duplicates."""
    return find_placeholders(payload, parse_ref)


def resolve_refs(payload: Any, resolve: Callable[[str, str], int | None]) -> Any:
    """A copy of ``payload`` with every reference replaced by ``resolve(entity_type, key)``.

    Raises:
        KeyError: a reference whose target has no qTest id yet (``resolve`` returned None).
    """
    return replace_placeholders(payload, parse_ref, lambda t: resolve(*t), lambda t: f"{t[0]}:{t[1]}")


#: The severity of a value kept whole in text (a "Zephyr fields" row, a note line) because qTest
#: has no field for it: information, not a degradation. A value that changed on the way (defaulted,
#: converted, truncated, an unmatched user, a lost link or place) is "degraded", even when its
#: original is kept in text too.
KEPT_IN_TEXT = "kept_in_text"


@dataclass(frozen=True)
class Problem:
    """A value degraded or kept in text, or an entity skipped or failed, with the reason (one sentence)."""

    severity: str  # "kept_in_text" | "degraded" | "skipped" | "failed"
    code: str  # machine-readable, e.g. "priority_defaulted"
    message: str
    field: str | None = None
    detail: dict[str, Any] | None = None


@dataclass
class PlannedEntity:
    """One qTest entity ztoq intends to create or update.

    Attributes:
        entity_type: a registered type (:mod:`ztoq.entities`): "module", "test_case", ...
        source_key: the Zephyr key (or id) this entity comes from; with entity_type, unique.
        body: the qTest request body, with references to other entities by source key; None for
            an entity that is not sent (skipped, with its reason in ``problems``).
        parent: where it is placed: the parent's reference (a qTest id once resolved), or None at
            the top (root module, root cycle folder). Sent as the type's ``parent_option``.
        parent_type: qTest's ``parentType`` of that parent ("root", "release", "test-cycle").
        approve: test cases: approve the version after create/update (logs bind to approved ones).
        requirement_links: test cases: Jira issue keys to link as qTest requirements.
        defect_links: test logs: Jira issue keys of linked defects (named in the note).
        executed_by: test logs: the qTest user id of the tester, when mapped.
        level: dependency level; everything at level n may be loaded once level n-1 is done.
        sort_key: order within a level where it matters (e.g. a run's logs by end date).
        problems: what was degraded while mapping.
    """

    entity_type: str
    source_key: str
    body: dict[str, Any] | None
    parent: Any = None
    parent_type: str | None = None
    approve: bool | None = None
    requirement_links: tuple[str, ...] | None = None
    defect_links: tuple[str, ...] | None = None
    executed_by: int | None = None
    level: int = 0
    sort_key: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def skipped(self) -> bool:
        return self.body is None

    @property
    def options(self) -> dict[str, Any]:
        """The load options as stored (the ``extra`` of the stored payload)."""
        out: dict[str, Any] = {}
        parent_option = BY_NAME[self.entity_type].parent_option if self.entity_type in BY_NAME else None
        if parent_option is not None:
            out[parent_option] = self.parent
        if self.parent_type is not None:
            out["parent_type"] = self.parent_type
        if self.approve is not None:
            out["approve"] = self.approve
        if self.requirement_links is not None:
            out["requirement_links"] = list(self.requirement_links)
        if self.executed_by is not None:
            out["executed_by"] = self.executed_by
        if self.defect_links is not None:
            out["defect_links"] = list(self.defect_links)
        return out

    @property
    def depends_on(self) -> list[tuple[str, str]]:
        """Entities that must exist in qTest before this one can be sent."""
        return find_refs({"payload": self.body, "extra": self.options})

    def to_payload(self) -> dict[str, Any]:
        """The stored form: ``{"body": ..., "extra": ...}`` (its hash decides what load sends)."""
        return {"body": self.body, "extra": self.options}

    def resolved(self, resolve: Callable[[str, str], int | None]) -> PlannedEntity:
        """A copy with every reference in the body and placement replaced by its qTest id.

        Raises:
            KeyError: a reference whose target has no qTest id yet.
        """
        return replace(
            self,
            body=None if self.body is None else resolve_refs(self.body, resolve),
            parent=resolve_refs(self.parent, resolve),
        )


def decode_planned(
    entity_type: str, source_key: str, payload: Any, *, level: int = 0, sort_key: str = ""
) -> PlannedEntity:
    """A planned entity from its stored form (see :meth:`PlannedEntity.to_payload`)."""
    if not (isinstance(payload, Mapping) and "body" in payload):
        return PlannedEntity(entity_type, source_key, payload, level=level, sort_key=sort_key)
    options: Mapping[str, Any] = payload.get("extra") or {}
    parent_option = BY_NAME[entity_type].parent_option if entity_type in BY_NAME else None

    def keys(name: str) -> tuple[str, ...] | None:
        value = options.get(name)
        return None if value is None else tuple(str(v) for v in value)

    executed_by = options.get("executed_by")
    approve = options.get("approve")
    return PlannedEntity(
        entity_type,
        source_key,
        payload.get("body"),
        parent=options.get(parent_option) if parent_option else None,
        parent_type=options.get("parent_type"),
        approve=None if approve is None else bool(approve),
        requirement_links=keys("requirement_links"),
        defect_links=keys("defect_links"),
        executed_by=executed_by if isinstance(executed_by, int) else None,
        level=level,
        sort_key=sort_key,
    )
