"""Validation's comparison (ztoq.pipeline.validate_compare): hand-built expectations and snapshots.

No network, no disk: a small migrated project (two modules, two test cases, a release, two cycle
folders, a test cycle, a run with two logs) is built once as the store would describe it and once
as qTest would hold it; each test spoils one thing in qTest and checks the exact problem.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from ztoq.entities import LOAD_ORDER
from ztoq.mapping.text import with_source_key
from ztoq.pipeline.validate_compare import VALIDATORS, compare
from ztoq.pipeline.validate_types import (
    CaseSnapshot,
    ExpectedProject,
    LogSnapshot,
    QTestSnapshot,
    RunSnapshot,
    StepSnapshot,
    TypeCounts,
)
from ztoq.plan import PlannedEntity, ref
from ztoq.store import ProblemItem

KEY_FIELD, PRIORITY, STATUS = 300, 301, 302
PASSED, FAILED = 601, 602
RUN_KEY = "DEMO-R1|DEMO-T1"
FIRST_END = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
LAST_END = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)


def planned(entity_type: str, key: str, body: dict[str, Any] | None = None, **more: Any) -> PlannedEntity:
    return PlannedEntity(entity_type, key, body if body is not None else {"name": key}, **more)


def log_body(status: int, end: datetime, steps: list[int]) -> dict[str, Any]:
    return {
        "status": {"id": status},
        "exe_end_date": end.isoformat().replace("+00:00", "Z"),
        "test_step_logs": [{"status": {"id": s}} for s in steps],
    }


def expected_project() -> ExpectedProject:
    """The project as the store describes it: planned entities with references, and qTest ids."""
    case_t1 = {
        "name": "Login works",
        "parent_id": ref("module", "10"),
        "test_steps": [
            {"description": "Open the page", "expected": "It opens"},
            {"description": "Log in", "expected": "Welcome"},
        ],
        "properties": [
            {"field_id": PRIORITY, "field_value": "11"},
            {"field_id": STATUS, "field_value": "21"},
            {"field_id": KEY_FIELD, "field_value": "DEMO-T1"},
        ],
    }
    case_t2 = {
        "name": "Logout works",
        "parent_id": ref("module", "root"),
        "test_steps": [
            {"description": "Call", "expected": "", "called_test_case_id": ref("test_case", "DEMO-T1")}
        ],
    }
    run = ref("test_run", RUN_KEY)
    return ExpectedProject(
        planned={
            "module": [planned("module", "root"), planned("module", "10", parent=ref("module", "root"))],
            "test_case": [planned("test_case", "DEMO-T1", case_t1), planned("test_case", "DEMO-T2", case_t2)],
            "release": [planned("release", "PLAN-1")],
            "cycle_folder": [
                planned("cycle_folder", "root", parent_type="root"),
                planned("cycle_folder", "50", parent=ref("cycle_folder", "root"), parent_type="test-cycle"),
            ],
            "test_cycle": [
                planned("test_cycle", "DEMO-R1", parent=ref("release", "PLAN-1"), parent_type="release")
            ],
            "test_run": [planned("test_run", RUN_KEY, parent=ref("test_cycle", "DEMO-R1"))],
            "test_log": [
                # Out of execution order on purpose: logs are compared in sort-key order.
                planned(
                    "test_log", "DEMO-E2", log_body(PASSED, LAST_END, [PASSED]), parent=run, sort_key="2"
                ),
                planned(
                    "test_log", "DEMO-E1", log_body(FAILED, FIRST_END, [FAILED]), parent=run, sort_key="1"
                ),
            ],
        },
        target_ids={
            "module": {"root": 1000, "10": 1001},
            "test_case": {"DEMO-T1": 2001, "DEMO-T2": 2002},
            "release": {"PLAN-1": 3001},
            "cycle_folder": {"root": 4000, "50": 4001},
            "test_cycle": {"DEMO-R1": 5001},
            "test_run": {RUN_KEY: 6001},
            "test_log": {"DEMO-E1": 7001, "DEMO-E2": 7002},
        },
        source_counts={
            "module": 3,
            "test_case": 2,
            "release": 1,
            "cycle_folder": 2,
            "test_cycle": 1,
            "test_run": 1,
            "test_log": 2,
        },
        checked_fields={PRIORITY: "Priority", STATUS: "Status"},
        key_field_id=KEY_FIELD,
    )


def case_t1(**changes: Any) -> CaseSnapshot:
    case = CaseSnapshot(
        2001,
        "Login works",
        1001,
        "Logging in",
        (StepSnapshot("Open the page", "It opens"), StepSnapshot("Log in", "Welcome")),
        {PRIORITY: "11", STATUS: "21", KEY_FIELD: "DEMO-T1"},
    )
    return dataclasses.replace(case, **changes)


def snapshot(**changes: Any) -> QTestSnapshot:
    """The project as qTest holds it when everything arrived (``changes`` spoil it)."""
    held = QTestSnapshot(
        module_paths={1000: "DEMO", 1001: "DEMO/Login"},
        test_cases={
            2001: case_t1(),
            # The Zephyr key only in the description, the way editors keep it (<br />, <p>).
            2002: CaseSnapshot(
                2002,
                "Logout  works",
                1000,
                f"<p>{with_source_key('Logging out', 'DEMO-T2')}</p>".replace("<br>", "<br />"),
                (StepSnapshot("Call", None, 2001),),
                {},
            ),
        },
        release_ids=frozenset({3001}),
        cycle_parents={4000: None, 4001: 4000, 5001: 3001},
        test_runs={6001: RunSnapshot(6001, 5001, 2001)},
        test_logs={
            6001: (
                LogSnapshot(7001, FAILED, FIRST_END, (FAILED,)),
                LogSnapshot(7002, PASSED, LAST_END.replace(tzinfo=None), (PASSED,)),
            )
        },
    )
    return dataclasses.replace(held, **changes)


def with_case(case: CaseSnapshot) -> QTestSnapshot:
    return snapshot(test_cases={**snapshot().test_cases, case.id: case})


def with_logs(*logs: LogSnapshot) -> QTestSnapshot:
    return snapshot(test_logs={6001: logs})


def mismatch(code: str, message: str, field: str, **detail: Any) -> ProblemItem:
    return ProblemItem("mismatch", code, message, field, detail)


def case_problem(what: str, want: Any, got: Any, key: str = "DEMO-T1", target: int = 2001) -> ProblemItem:
    message = f"The {what.replace('_', ' ')} of {key} in qTest differs from Zephyr."
    return mismatch(f"{what}_differs", message, what, expected=str(want), actual=str(got), target_id=target)


# -- the planned entity type names are the validators' keys ---------------------------------------


def test_every_registered_type_has_a_validator_and_nothing_else() -> None:
    assert list(VALIDATORS) == list(LOAD_ORDER)


# -- a project that arrived whole -----------------------------------------------------------------


def test_a_matching_project_gives_no_problems_and_full_counts() -> None:
    result = compare(expected_project(), snapshot())

    assert result.problems == []
    assert result.ok
    assert list(result.counts) == list(LOAD_ORDER)
    assert result.counts == {
        "module": TypeCounts(source=3, planned=2, target=2),
        "test_case": TypeCounts(source=2, planned=2, target=2),
        "release": TypeCounts(source=1, planned=1, target=1),
        "cycle_folder": TypeCounts(source=2, planned=2, target=2),
        "test_cycle": TypeCounts(source=1, planned=1, target=1),
        "test_run": TypeCounts(source=1, planned=1, target=1),
        "test_log": TypeCounts(source=2, planned=2, target=2),
        "attachment": TypeCounts(),
    }


# -- test design ----------------------------------------------------------------------------------


def test_a_missing_test_case_is_missing() -> None:
    held = snapshot()
    result = compare(expected_project(), snapshot(test_cases={2001: held.test_cases[2001]}))

    assert result.problems == [
        ("test_case", "DEMO-T2", ProblemItem("missing", "not_in_qtest", "Test case DEMO-T2 is not in qTest."))
    ]
    assert result.counts["test_case"] == TypeCounts(source=2, planned=2, target=1, missing=1)
    assert (result.missing, result.mismatched, result.ok) == (1, 0, False)


def test_a_test_case_with_another_name_is_a_mismatch() -> None:
    result = compare(expected_project(), with_case(case_t1(name="Logout")))

    assert result.problems == [("test_case", "DEMO-T1", case_problem("name", "Login works", "Logout"))]
    assert result.counts["test_case"] == TypeCounts(source=2, planned=2, target=2, mismatched=1)


def test_a_test_case_in_another_module_names_both_paths() -> None:
    result = compare(expected_project(), with_case(case_t1(parent_id=1000)))

    assert result.problems == [("test_case", "DEMO-T1", case_problem("module_path", "DEMO/Login", "DEMO"))]


def test_steps_out_of_order_differ_step_by_step_and_count_once() -> None:
    steps = case_t1().steps
    result = compare(expected_project(), with_case(case_t1(steps=steps[::-1])))

    assert result.problems == [
        ("test_case", "DEMO-T1", case_problem("step_1_description", "Open the page", "Log in")),
        ("test_case", "DEMO-T1", case_problem("step_1_expected", "It opens", "Welcome")),
        ("test_case", "DEMO-T1", case_problem("step_2_description", "Log in", "Open the page")),
        ("test_case", "DEMO-T1", case_problem("step_2_expected", "Welcome", "It opens")),
    ]
    assert result.counts["test_case"].mismatched == 1


def test_a_missing_step_is_a_step_count_mismatch() -> None:
    result = compare(expected_project(), with_case(case_t1(steps=case_t1().steps[:1])))

    assert result.problems == [("test_case", "DEMO-T1", case_problem("step_count", 2, 1))]


def test_a_step_calling_another_test_case_is_compared_by_qtest_id() -> None:
    held = snapshot().test_cases[2002]
    spoiled = dataclasses.replace(held, steps=(StepSnapshot("Call", None, 2999),))
    result = compare(expected_project(), with_case(spoiled))

    assert result.problems == [
        ("test_case", "DEMO-T2", case_problem("step_1_called_test_case", 2001, 2999, "DEMO-T2", 2002))
    ]


@pytest.mark.parametrize(("field_id", "what"), [(PRIORITY, "priority"), (STATUS, "status")])
def test_a_wrong_priority_or_status_is_a_mismatch(field_id: int, what: str) -> None:
    props = {**case_t1().properties, field_id: "99"}
    result = compare(expected_project(), with_case(case_t1(properties=props)))

    want = "11" if field_id == PRIORITY else "21"
    assert result.problems == [("test_case", "DEMO-T1", case_problem(what, want, "99"))]


def test_a_test_case_without_its_zephyr_key_is_a_mismatch() -> None:
    props = {PRIORITY: "11", STATUS: "21"}
    result = compare(expected_project(), with_case(case_t1(properties=props, description="Logging in")))

    assert result.problems == [
        (
            "test_case",
            "DEMO-T1",
            case_problem("zephyr_key", "DEMO-T1", "not found in the source-key field or the description"),
        )
    ]


def test_a_zephyr_key_carried_twice_in_qtest_is_a_duplicate() -> None:
    result = compare(expected_project(), with_case(case_t1(id=2003)))

    duplicate = mismatch(
        "duplicate_in_qtest",
        "Test case DEMO-T1 is in qTest 2 times.",
        "duplicates",
        expected="1",
        actual="2001, 2003",
    )
    assert result.problems == [("test_case", "DEMO-T1", duplicate)]
    assert result.counts["test_case"] == TypeCounts(source=2, planned=2, target=2, mismatched=1)


def test_zephyr_test_cases_left_out_of_the_plan_are_missing() -> None:
    expected = dataclasses.replace(
        expected_project(), source_counts={**expected_project().source_counts, "test_case": 5}
    )
    result = compare(expected, snapshot())

    message = "3 Zephyr test case(s) were not planned for qTest; see the transform problems."
    assert result.problems == [("test_case", "*", ProblemItem("missing", "not_planned", message))]


def test_a_module_outside_the_root_tree_is_missing() -> None:
    result = compare(expected_project(), snapshot(module_paths={1000: "DEMO"}))

    message = "Zephyr folder 10 has no module in qTest."
    assert result.problems == [("module", "10", ProblemItem("missing", "not_in_qtest", message))]
    assert result.counts["module"] == TypeCounts(source=3, planned=2, target=1, missing=1)


# -- execution ------------------------------------------------------------------------------------


def test_a_missing_release_is_missing() -> None:
    result = compare(expected_project(), snapshot(release_ids=frozenset()))

    message = "Test plan PLAN-1 has no release in qTest."
    assert result.problems == [("release", "PLAN-1", ProblemItem("missing", "not_in_qtest", message))]


def test_a_test_cycle_under_another_parent_is_a_mismatch() -> None:
    result = compare(expected_project(), snapshot(cycle_parents={4000: None, 4001: 4000, 5001: 4001}))

    moved = mismatch(
        "parent_differs",
        "Test cycle DEMO-R1 is not under the qTest parent it belongs to.",
        "parent",
        expected="3001",
        actual="4001",
    )
    assert result.problems == [("test_cycle", "DEMO-R1", moved)]
    assert result.counts["test_cycle"] == TypeCounts(source=1, planned=1, target=1, mismatched=1)


def test_a_run_under_the_wrong_cycle_is_misplaced() -> None:
    result = compare(expected_project(), snapshot(test_runs={6001: RunSnapshot(6001, 5002, 2001)}))

    misplaced = mismatch(
        "run_misplaced",
        "The test run of DEMO-T1 in DEMO-R1 is not under its cycle with its test case.",
        "run",
        expected="cycle 5001, case 2001",
        actual="cycle 5002, case 2001",
    )
    assert result.problems == [("test_run", RUN_KEY, misplaced)]
    assert result.counts["test_run"] == TypeCounts(source=1, planned=1, target=1, mismatched=1)


def test_a_missing_run_has_its_logs_missing_too() -> None:
    result = compare(expected_project(), snapshot(test_runs={}))

    assert [(t, k, p.code) for t, k, p in result.problems] == [
        ("test_run", RUN_KEY, "not_in_qtest"),
        ("test_log", "DEMO-E1", "not_in_qtest"),
        ("test_log", "DEMO-E2", "not_in_qtest"),
    ]
    assert result.problems[0][2].message == "The test run of DEMO-T1 in DEMO-R1 is not in qTest."
    assert result.problems[1][2].message == "Execution DEMO-E1 has no test log in qTest."


MOVED_END = datetime(2024, 1, 1, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spoil", "key", "problem"),
    [
        pytest.param(
            {"status_id": PASSED},
            "DEMO-E1",
            ("status_differs", "The status of execution DEMO-E1 differs in qTest.", "status", "602", "601"),
            id="status",
        ),
        pytest.param(
            {"exe_end_date": MOVED_END},
            "DEMO-E1",
            (
                "end_date_differs",
                "The end date of execution DEMO-E1 differs in qTest.",
                "exe_end_date",
                "2024-01-01T10:00:00Z",
                "2024-01-01 11:00:00+00:00",
            ),
            id="end date",
        ),
        pytest.param(
            {"step_status_ids": (PASSED, None)},
            "DEMO-E2",
            (
                "step_results_differ",
                "The step results of execution DEMO-E2 differ in qTest.",
                "test_step_logs",
                "[601]",
                "[601, None]",
            ),
            id="step results",
        ),
    ],
)
def test_a_log_that_differs_from_its_execution_is_a_mismatch(
    spoil: dict[str, Any], key: str, problem: tuple[str, str, str, str, str]
) -> None:
    logs = {log.id: log for log in snapshot().test_logs[6001]}
    spoiled_id = expected_project().target_ids["test_log"][key]
    logs[spoiled_id] = dataclasses.replace(logs[spoiled_id], **spoil)
    result = compare(expected_project(), with_logs(*logs.values()))

    code, message, field, want, got = problem
    assert result.problems == [("test_log", key, mismatch(code, message, field, expected=want, actual=got))]
    assert result.counts["test_log"] == TypeCounts(source=2, planned=2, target=2, mismatched=1)


def test_a_run_whose_latest_log_is_not_its_latest_execution_is_a_mismatch() -> None:
    first, last = snapshot().test_logs[6001]
    later = LogSnapshot(7003, FAILED, datetime(2024, 2, 1, tzinfo=UTC), ())
    result = compare(expected_project(), with_logs(first, last, later))

    spoiled = mismatch(
        "latest_log_differs",
        f"The latest test log of run {RUN_KEY} is not its latest execution.",
        "latest_test_log",
        expected="7002",
        actual="7003",
    )
    assert result.problems == [("test_run", RUN_KEY, spoiled)]
    # Filed under the run, counted with the logs (as validation always has).
    assert result.counts["test_log"].mismatched == 1
    assert result.counts["test_run"].mismatched == 0


# -- the whole qTest project: every key once, and only keys this project can account for ----------


def test_a_zephyr_key_carried_twice_by_any_kind_is_a_duplicate_with_both_ids() -> None:
    held = snapshot(
        carried={"test-log": {"DEMO-E1": (7001, 7009), "DEMO-E2": (7002,)}, "module": {"10": (1001,)}}
    )
    result = compare(expected_project(), held)

    duplicate = ProblemItem(
        "mismatch",
        "duplicate_in_qtest",
        "Test log DEMO-E1 is in qTest 2 times.",
        "duplicates",
        {"expected": "1", "actual": "7001, 7009"},
    )
    assert result.problems == [("test_log", "DEMO-E1", duplicate)]
    assert result.counts["test_log"].mismatched == 1


def test_a_cycle_folder_and_a_test_cycle_share_a_kind_but_not_a_type() -> None:
    held = snapshot(carried={"test-cycle": {"50": (4001, 4002), "DEMO-R1": (5001, 5002)}})
    result = compare(expected_project(), held)

    assert [(t, k, p.detail["actual"]) for t, k, p in result.problems] == [
        ("cycle_folder", "50", "4001, 4002"),
        ("test_cycle", "DEMO-R1", "5001, 5002"),
    ]


def test_a_key_of_this_project_that_the_store_cannot_account_for_is_reported() -> None:
    expected = dataclasses.replace(expected_project(), project_key="DEMO")
    stray = case_t1(id=2009, properties={KEY_FIELD: "DEMO-T9"})
    other_project = case_t1(id=2010, properties={KEY_FIELD: "OTHER-T1"})
    held = snapshot(
        test_cases={**snapshot().test_cases, 2009: stray, 2010: other_project},
        carried={"release": {"DEMO-P7": (3007,), "PLAN-1": (3001,)}},
    )
    result = compare(expected, held)

    unknown = [
        (t, k, p.code, p.detail["actual"]) for t, k, p in result.problems if p.code == "unknown_zephyr_key"
    ]
    assert unknown == [
        ("release", "DEMO-P7", "unknown_zephyr_key", "DEMO-P7"),
        ("test_case", "DEMO-T9", "unknown_zephyr_key", "DEMO-T9"),
    ]
    message = next(p.message for t, k, p in result.problems if k == "DEMO-T9")
    assert message.startswith(
        "qTest test case 2009 carries Zephyr key DEMO-T9, which this project does not have"
    )


def test_keys_the_store_migrated_before_are_accounted_for() -> None:
    """A Zephyr entity deleted since it was migrated is the transform's to report, not a stray."""
    expected = dataclasses.replace(
        expected_project(),
        project_key="DEMO",
        target_ids={**expected_project().target_ids, "release": {"PLAN-1": 3001, "DEMO-P7": 3007}},
    )
    result = compare(expected, snapshot(carried={"release": {"DEMO-P7": (3007,)}}))
    assert [p.code for _, _, p in result.problems] == []


def test_log_dates_are_compared_to_the_second_as_qtest_keeps_them() -> None:
    """Zephyr Scale Server dates carry milliseconds; qTest answers them to the second."""
    project = expected_project()
    logs = project.planned["test_log"]
    first = next(log for log in logs if log.source_key == "DEMO-E1")
    assert first.body is not None
    precise = {**first.body, "exe_end_date": "2024-01-01T10:00:00.699Z"}
    logs[logs.index(first)] = dataclasses.replace(first, body=precise)
    assert compare(project, snapshot()).problems == []
