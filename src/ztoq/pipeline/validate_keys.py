"""Validation over the whole qTest project: every Zephyr key carried once, and only known keys (pure).

Validation compares what the store planned with what qTest holds; these checks look the other way,
from what qTest holds: a Zephyr key carried by more than one qTest entity of a kind is a duplicate
(whichever copy the store points at, both ids side by side), and a key of this project that the
store neither plans nor has ever migrated is an entity ztoq cannot account for (typically one
deleted in Zephyr after a store was lost). Test cases' duplicates are checked with the test cases
(:mod:`ztoq.pipeline.validate_compare`); every other kind is checked here.
"""

from __future__ import annotations

from collections.abc import Mapping

from ztoq.entities import BY_NAME, LOAD_ORDER
from ztoq.pipeline.validate_types import ExpectedProject, QTestSnapshot, ValidationResult

#: Kinds whose keys are checked for duplicates here (test cases are checked with the test cases).
DUPLICATE_KINDS = ("module", "release", "test-cycle", "test-run", "test-log")


def _known_keys(expected: ExpectedProject) -> dict[str, set[str]]:
    """Per planned type, every key the store plans or has migrated (built once per validation)."""
    return {
        entity_type: set(expected.target_ids.get(entity_type, {}))
        | {p.source_key for p in expected.planned_of(entity_type)}
        for entity_type in LOAD_ORDER
    }


def _entity_type(kind: str, key: str, known: dict[str, set[str]]) -> str:
    """The planned type a carried key belongs to (test cycles and cycle folders share a kind)."""
    candidates = [t for t in LOAD_ORDER if BY_NAME[t].kind == kind]
    return next((t for t in candidates if key in known[t]), candidates[-1])


def report_duplicated_keys(
    expected: ExpectedProject, snapshot: QTestSnapshot, result: ValidationResult
) -> None:
    """A Zephyr key carried by more than one qTest entity of a kind is a duplicate."""
    known = _known_keys(expected)
    for kind in DUPLICATE_KINDS:
        for key, ids in sorted(snapshot.carried.get(kind, {}).items()):
            if len(ids) < 2:
                continue
            report_duplicate(result, _entity_type(kind, key, known), key, ids)


def report_duplicate(result: ValidationResult, entity_type: str, key: str, ids: tuple[int, ...]) -> None:
    """One Zephyr key carried by several qTest entities of a type: a mismatch naming every id."""
    result.count(entity_type).mismatched += 1
    result.mismatch(
        entity_type,
        key,
        "duplicate_in_qtest",
        f"{BY_NAME[entity_type].singular.capitalize()} {key} is in qTest {len(ids)} times.",
        field="duplicates",
        expected="1",
        actual=", ".join(str(i) for i in sorted(ids)),
    )


def report_unknown_keys(
    expected: ExpectedProject, carried: Mapping[str, Mapping[str, tuple[int, ...]]], result: ValidationResult
) -> None:
    """A key of this project in qTest that the store neither plans nor ever migrated.

    Only keys that name this Zephyr project (``PROJ-…``) are judged: folder ids and other
    projects' keys say nothing about this one.
    """
    prefix = f"{expected.project_key}-"
    if not expected.project_key:
        return
    known = _known_keys(expected)
    for kind, keys in carried.items():
        for key, ids in sorted(keys.items()):
            if not key.startswith(prefix):
                continue
            entity_type = _entity_type(kind, key, known)
            if key in known[entity_type]:
                continue
            result.count(entity_type).mismatched += 1
            result.mismatch(
                entity_type,
                key,
                "unknown_zephyr_key",
                f"qTest {BY_NAME[entity_type].singular} {', '.join(map(str, ids))} carries Zephyr key {key}, "
                "which this project does not have (deleted in Zephyr, or never migrated by ztoq); it is "
                "kept in qTest: delete it there if it should go.",
                field="key",
                expected="a key of this Zephyr project",
                actual=key,
            )
