"""Validation over the whole qTest project: every Zephyr key carried once, and only known keys (pure).

Validation compares what the store planned with what qTest holds; these checks look the other way,
from what qTest holds: a Zephyr key carried by more than one qTest entity of a kind is a duplicate
(whichever copy the store points at, both ids side by side), and a key of this project that the
store neither plans nor has ever migrated is an entity ztoq cannot account for (typically one
deleted in Zephyr after a store was lost). Test cases' duplicates are checked with the test cases
(:mod:`ztoq.pipeline.validate_compare`); every other kind is checked here.

Which keys the store knows is asked through :data:`KnownKeys`, a few keys at a time: the validate
phase asks the store (never holding every key of a type), the whole-project comparison its
:class:`~ztoq.pipeline.validate_types.ExpectedProject` (:func:`known_in`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Container, Mapping

from ztoq.entities import BY_NAME, LOAD_ORDER
from ztoq.pipeline.validate_types import ExpectedProject, ValidationResult

#: Kinds whose keys are checked for duplicates here (test cases are checked with the test cases).
DUPLICATE_KINDS = ("module", "release", "test-cycle", "test-run", "test-log")

#: (entity type, keys) -> the keys among them the store plans for qTest or has migrated.
KnownKeys = Callable[[str, Collection[str]], set[str]]

#: qTest kind -> Zephyr key -> the ids of every qTest entity read that carries it.
Carried = Mapping[str, Mapping[str, tuple[int, ...]]]


def known_in(expected: ExpectedProject) -> KnownKeys:
    """The keys an :class:`ExpectedProject` of the whole project plans or has qTest ids for."""
    planned: dict[str, set[str]] = {}

    def known(entity_type: str, keys: Collection[str]) -> set[str]:
        if entity_type not in planned:
            planned[entity_type] = {p.source_key for p in expected.planned_of(entity_type)}
        targets = expected.target_ids.get(entity_type, {})
        return {key for key in keys if key in targets or key in planned[entity_type]}

    return known


def _types_of(kind: str, keys: Collection[str], known: KnownKeys) -> dict[str, tuple[str, bool]]:
    """Key -> (the planned type it belongs to, whether the store knows it), for keys of one kind.

    Test cycles and cycle folders share a kind: a key is the first type's that knows it, else
    the last type's.
    """
    candidates = [t for t in LOAD_ORDER if BY_NAME[t].kind == kind]
    found = {t: known(t, keys) for t in candidates} if keys else {}
    typed: dict[str, tuple[str, bool]] = {}
    for key in keys:
        owner = next((t for t in candidates if key in found[t]), None)
        typed[key] = (candidates[-1], False) if owner is None else (owner, True)
    return typed


def report_duplicated_keys(
    carried: Carried,
    known: KnownKeys,
    result: ValidationResult,
    types: Container[str] = LOAD_ORDER,
) -> None:
    """A Zephyr key carried by more than one qTest entity of a kind is a duplicate.

    Args:
        carried: what qTest entities carry, by kind (only :data:`DUPLICATE_KINDS` are looked at).
        known: which keys the store knows (to tell a test cycle from a cycle folder).
        result: where the duplicates go.
        types: report only the duplicates of these types.
    """
    for kind in DUPLICATE_KINDS:
        twice = {key: ids for key, ids in carried.get(kind, {}).items() if len(ids) > 1}
        typed = _types_of(kind, list(twice), known)
        for key, ids in sorted(twice.items()):
            entity_type = typed[key][0]
            if entity_type in types:
                report_duplicate(result, entity_type, key, ids)


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
    project_key: str,
    carried: Carried,
    known: KnownKeys,
    result: ValidationResult,
    types: Container[str] = LOAD_ORDER,
) -> None:
    """A key of this project in qTest that the store neither plans nor ever migrated.

    Only keys that name this Zephyr project (``PROJ-…``) are judged: folder ids and other
    projects' keys say nothing about this one.

    Args:
        project_key: the Zephyr project.
        carried: what qTest entities carry, by kind.
        known: which keys the store knows.
        result: where the unknown keys go.
        types: report only the keys of these types.
    """
    prefix = f"{project_key}-"
    if not project_key:
        return
    for kind, keys in carried.items():
        ours = {key: ids for key, ids in keys.items() if key.startswith(prefix)}
        typed = _types_of(kind, list(ours), known)
        for key, ids in sorted(ours.items()):
            entity_type, is_known = typed[key]
            if is_known or entity_type not in types:
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
