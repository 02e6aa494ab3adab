"""The comparison of validation (pure): what qTest should hold against what it holds.

:func:`compare` runs the validator of every registered entity type (:data:`VALIDATORS`, in load
order) over an :class:`~ztoq.pipeline.validate_types.ExpectedProject` and a
:class:`~ztoq.pipeline.validate_snapshot.QTestSnapshot`. It never calls an API or the store.
The test design side is here: each module exists under the root, and each test case exists with
its name, module path, steps in order (description, expected result, called test case), priority
and status, and a visible Zephyr key; a Zephyr key carried by two test cases is a duplicate. The
execution side is in :mod:`ztoq.pipeline.validate_compare_execution`.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping
from typing import Any

from ztoq.entities import LOAD_ORDER
from ztoq.mapping import find_source_key
from ztoq.pipeline.validate_compare_attachments import ATTACHMENT_VALIDATORS
from ztoq.pipeline.validate_compare_execution import EXECUTION_VALIDATORS, LatestLogs, check_latest_logs
from ztoq.pipeline.validate_keys import (
    known_in,
    report_duplicate,
    report_duplicated_keys,
    report_unknown_keys,
)
from ztoq.pipeline.validate_types import (
    CaseSnapshot,
    ExpectedProject,
    QTestSnapshot,
    TypeCounts,
    ValidationResult,
    Validator,
    check_found,
)

_SPACE = re.compile(r"\s+")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def normalise(text: Any) -> str:
    """Text as compared: HTML line breaks and whitespace runs folded (editors rewrite both)."""
    if text is None:
        return ""
    return _SPACE.sub(" ", _BR.sub("<br>", html.unescape(str(text)))).strip()


def validate_modules(expected: ExpectedProject, snapshot: QTestSnapshot, result: ValidationResult) -> None:
    """Every planned module exists in qTest, in the root module's tree."""
    check_found(
        "module",
        expected,
        snapshot.module_paths,
        result,
        lambda key: f"Zephyr folder {key} has no module in qTest.",
    )


def case_carried_key(case: CaseSnapshot, key_field_id: int | None) -> str | None:
    """The Zephyr key a qTest test case carries: in its key field, else in its description."""
    key_value = case.properties.get(key_field_id) if key_field_id is not None else None
    return key_value or find_source_key(case.description)


def carried_case_keys(expected: ExpectedProject, snapshot: QTestSnapshot) -> dict[str, tuple[int, ...]]:
    """Zephyr key -> the qTest test cases carrying it (in their key field, else their description)."""
    seen_keys: dict[str, list[int]] = {}
    for case_id, case in snapshot.test_cases.items():
        case_key = case_carried_key(case, expected.key_field_id)
        if case_key:
            seen_keys.setdefault(case_key, []).append(case_id)
    return {key: tuple(ids) for key, ids in seen_keys.items()}


def report_duplicated_test_cases(
    expected: ExpectedProject, snapshot: QTestSnapshot, result: ValidationResult
) -> None:
    """The same Zephyr key twice in qTest is a duplicate, whichever copy the store points at."""
    for case_key, case_ids in carried_case_keys(expected, snapshot).items():
        if len(case_ids) > 1:
            report_duplicate(result, "test_case", case_key, case_ids)


def _compare_case(
    key: str,
    want: dict[str, Any],
    actual: CaseSnapshot,
    expected: ExpectedProject,
    paths: Mapping[int, str],
    result: ValidationResult,
) -> bool:
    """One test case field by field (``want``: its planned body, resolved); True when any differs."""
    before = len(result.problems)

    def differ(what: str, wanted: Any, got: Any) -> None:
        result.mismatch(
            "test_case",
            key,
            f"{what}_differs",
            f"The {what.replace('_', ' ')} of {key} in qTest differs from Zephyr.",
            field=what,
            expected=wanted,
            actual=got,
            target_id=actual.id,
        )

    if normalise(want.get("name")) != normalise(actual.name):
        differ("name", want.get("name"), actual.name)
    want_parent, got_parent = want.get("parent_id"), actual.parent_id
    if want_parent != got_parent:
        differ(
            "module_path", paths.get(want_parent or -1, want_parent), paths.get(got_parent or -1, got_parent)
        )
    want_steps = want.get("test_steps") or []
    if len(want_steps) != len(actual.steps):
        differ("step_count", len(want_steps), len(actual.steps))
    else:
        for index, (want_step, got_step) in enumerate(zip(want_steps, actual.steps, strict=True), start=1):
            for attr in ("description", "expected"):
                if normalise(want_step.get(attr)) != normalise(getattr(got_step, attr)):
                    differ(f"step_{index}_{attr}", want_step.get(attr), getattr(got_step, attr))
            if want_step.get("called_test_case_id") != got_step.called_test_case_id:
                differ(
                    f"step_{index}_called_test_case",
                    want_step.get("called_test_case_id"),
                    got_step.called_test_case_id,
                )
    got_props = actual.properties
    for prop in want.get("properties") or ():
        field_id = prop.get("field_id")
        if field_id in expected.checked_fields and str(prop.get("field_value")) != str(
            got_props.get(field_id)
        ):
            differ(
                expected.checked_fields[field_id].lower(), prop.get("field_value"), got_props.get(field_id)
            )
    key_field_id = expected.key_field_id
    visible = find_source_key(actual.description) == key or (
        key_field_id is not None and got_props.get(key_field_id) == key
    )
    if not visible:
        differ("zephyr_key", key, "not found in the source-key field or the description")
    return len(result.problems) > before


def validate_test_cases(expected: ExpectedProject, snapshot: QTestSnapshot, result: ValidationResult) -> None:
    """Every planned test case (of a batch: counts add up) in qTest as planned."""
    counts = result.count("test_case")
    counts.source = expected.source_count("test_case")
    planned = expected.planned_of("test_case")
    counts.planned += len(planned)
    for entity in planned:
        key = entity.source_key
        target = expected.target_id("test_case", key)
        actual = snapshot.test_cases.get(target) if target is not None else None
        if actual is None:
            result.not_in_qtest("test_case", key, f"Test case {key} is not in qTest.")
            continue
        counts.target += 1
        want = expected.resolve(entity.body or {})
        if _compare_case(key, want, actual, expected, snapshot.module_paths, result):
            counts.mismatched += 1


def report_unplanned_test_cases(result: ValidationResult) -> None:
    """Zephyr test cases left out of the plan (after every batch of test cases is counted)."""
    counts = result.count("test_case")
    skipped = counts.source - counts.planned
    if skipped > 0:
        result.add(
            "test_case",
            "*",
            "missing",
            "not_planned",
            f"{skipped} Zephyr test case(s) were not planned for qTest; see the transform problems.",
        )


#: The test design side's validators, by entity type.
DESIGN_VALIDATORS: dict[str, Validator] = {
    "module": validate_modules,
    "test_case": validate_test_cases,
}

#: Entity type -> its validator over a batch of its planned entities (counts add up over batches),
#: for every registered type, in load order.
BATCH_VALIDATORS: dict[str, Validator] = {
    entity_type: {**DESIGN_VALIDATORS, **EXECUTION_VALIDATORS, **ATTACHMENT_VALIDATORS}[entity_type]
    for entity_type in LOAD_ORDER
}


def start_type(
    entity_type: str, expected: ExpectedProject, snapshot: QTestSnapshot, result: ValidationResult
) -> None:
    """What validating a type begins with, before its first batch: its source count, and for test
    cases the duplicates (a whole-type check on what qTest holds)."""
    if entity_type != "test_run":  # runs count what was planned: no Zephyr object of their own
        result.count(entity_type).source = expected.source_count(entity_type)
    if entity_type == "test_case":
        report_duplicated_test_cases(expected, snapshot, result)


def finish_type(
    entity_type: str, snapshot: QTestSnapshot, result: ValidationResult, latest: LatestLogs | None = None
) -> None:
    """What validating a type ends with, after its last batch: test cases left out of the plan;
    each run's latest log (``latest``: the latest planned log of every run)."""
    if entity_type == "test_case":
        report_unplanned_test_cases(result)
    if entity_type == "test_log" and latest is not None:
        check_latest_logs(latest, snapshot, result)


def validate_type(
    entity_type: str, expected: ExpectedProject, snapshot: QTestSnapshot, result: ValidationResult
) -> None:
    """Validate one type of a whole project (``expected`` holds every planned entity of it)."""
    start_type(entity_type, expected, snapshot, result)
    BATCH_VALIDATORS[entity_type](expected, snapshot, result)
    latest = None
    if entity_type == "test_log":
        latest = LatestLogs()
        latest.add_all(expected.planned_of("test_log"), expected.target_id)
    finish_type(entity_type, snapshot, result, latest)


#: Entity type -> its validator over a whole project, for every registered type, in load order.
VALIDATORS: dict[str, Validator] = {
    entity_type: functools.partial(validate_type, entity_type) for entity_type in LOAD_ORDER
}


def compare(expected: ExpectedProject, snapshot: QTestSnapshot) -> ValidationResult:
    """What differs between what qTest should hold and what it holds.

    Args:
        expected: the planned entities and their qTest ids, from the store.
        snapshot: what qTest holds, read back.

    Returns:
        The problems (``missing``, ``mismatch``) in the order found, and the counts of every
        registered type, in load order.

    Raises:
        KeyError: a planned reference to an entity qTest does not have (a test cycle's parent;
            the module or a called test case of a test case that is in qTest).
    """
    result = ValidationResult(counts={entity_type: TypeCounts() for entity_type in LOAD_ORDER})
    for entity_type in LOAD_ORDER:
        VALIDATORS[entity_type](expected, snapshot, result)
    known = known_in(expected)
    report_duplicated_keys(snapshot.carried, known, result)
    carried = {**snapshot.carried, "test-case": carried_case_keys(expected, snapshot)}
    report_unknown_keys(expected.project_key, carried, known, result)
    return result
