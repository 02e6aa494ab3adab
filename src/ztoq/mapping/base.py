"""What every mapping function returns, and references to other entities by source key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

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


@dataclass(frozen=True)
class Problem:
    """A value that was degraded or an entity that was skipped, with the reason (one sentence)."""

    severity: str  # "degraded" | "skipped" | "failed"
    code: str  # machine-readable, e.g. "priority_defaulted"
    message: str
    field: str | None = None
    detail: dict[str, Any] | None = None


@dataclass
class Planned:
    """One qTest entity ztoq intends to create or update.

    Attributes:
        entity_type: "module", "test_case", "release", "test_cycle", "test_run", "test_log", ...
        source_key: the Zephyr key (or id) this entity comes from; with entity_type, unique.
        payload: the qTest request body, with references to other entities by source key.
        level: dependency level; everything at level n may be loaded once level n-1 is done.
        sort_key: order within a level where it matters (e.g. a run's logs by end date).
        problems: what was degraded while mapping; a skipped entity has payload None.
        extra: load-time instructions that are not part of the body (e.g. ``{"approve": True}``,
            query parameters such as ``parentId``/``parentType``).
    """

    entity_type: str
    source_key: str
    payload: dict[str, Any] | None
    level: int = 0
    sort_key: str = ""
    problems: list[Problem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def depends_on(self) -> list[tuple[str, str]]:
        """Entities that must exist in qTest before this one can be sent."""
        return find_refs({"payload": self.payload, "extra": self.extra})

    @property
    def skipped(self) -> bool:
        return self.payload is None
