"""Transform's planners: one per registered entity type, run in load order over canonical records."""

from __future__ import annotations

from ztoq.config import build_config
from ztoq.entities import LOAD_ORDER
from ztoq.mapping import TargetFields
from ztoq.pipeline.transform import PLANNERS, Planning
from ztoq.sources.records import Ref, SourceRecords, StepResult, TestCase, TestCycle, TestExecution, TestStep

TARGET = TargetFields.from_settings(
    {}, execution_statuses=[{"id": 601, "name": "Passed", "is_default": True}]
)


def plan(records: SourceRecords) -> dict[str, list[str]]:
    planning = Planning(records, TARGET, build_config({"zephyr": {"project_key": "PROJ"}}))
    for entity_type in LOAD_ORDER:
        planning.planned[entity_type] = PLANNERS[entity_type](planning)
    return {t: [p.source_key for p in planned] for t, planned in planning.planned.items()}


def test_the_planners_are_the_registry_in_load_order() -> None:
    assert list(PLANNERS) == list(LOAD_ORDER)


def test_nothing_extracted_plans_the_two_roots() -> None:
    assert plan(SourceRecords()) == {
        "module": ["root"],
        "test_case": [],
        "release": [],
        "cycle_folder": ["root"],
        "test_cycle": [],
        "test_run": [],
        "test_log": [],
        "attachment": [],
    }


def test_executions_feed_runs_logs_and_the_ad_hoc_cycle() -> None:
    case = TestCase("PROJ-T1", name="Login", steps=(TestStep(description="Do"),))
    cycle = TestCycle("PROJ-R1", id=300, name="Sprint")
    ran = TestExecution(
        "PROJ-E1",
        id=1,
        test_case_key="PROJ-T1",
        test_cycle=Ref(id=300),
        actual_end_date="2024-01-02T10:00:00Z",
        steps=(StepResult(0),),
    )
    never_ran = TestExecution("PROJ-E2", id=2, test_case_key="PROJ-T1")
    planned = plan(SourceRecords(test_cases=(case,), test_cycles=(cycle,), test_executions=(ran, never_ran)))
    assert planned["test_cycle"] == ["PROJ-R1", "adhoc"]
    assert planned["test_run"] == ["PROJ-R1|PROJ-T1", "adhoc|PROJ-T1"]
    assert planned["test_log"] == ["PROJ-E1"]
