"""Transform's planners: one per registered entity type, run in load order, a batch at a time.

The planners stream: they read records a batch at a time and keep compact indexes in between.
Whatever the batch size, they plan exactly what the mapping functions plan for the same records
held in memory (``plan_test_cases``, ``plan_executions``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest

from ztoq.config import build_config
from ztoq.entities import LOAD_ORDER
from ztoq.mapping import SourceLookups, TargetFields, plan_executions, plan_test_cases, step_counts
from ztoq.pipeline import transform_planning
from ztoq.pipeline.transform import PLANNERS, Planning, plan_batches
from ztoq.plan import PlannedEntity
from ztoq.sources.base import RowsInMemory, StoredRows
from ztoq.sources.records import (
    Option,
    Ref,
    SourceRecords,
    StepResult,
    TestCase,
    TestCycle,
    TestExecution,
    TestStep,
)

TARGET = TargetFields.from_settings(
    {}, execution_statuses=[{"id": 601, "name": "Passed", "is_default": True}, {"id": 602, "name": "Failed"}]
)


class Records:
    """A record reader over canonical records held in memory (it never reads the rows)."""

    def __init__(self, records: SourceRecords) -> None:
        self.records = records

    def folders(self, rows: StoredRows) -> Iterator[Any]:
        return iter(self.records.folders)

    def statuses(self, rows: StoredRows) -> Iterator[Any]:
        return iter(self.records.statuses)

    def priorities(self, rows: StoredRows) -> Iterator[Any]:
        return iter(self.records.priorities)

    def environments(self, rows: StoredRows) -> Iterator[Any]:
        return iter(self.records.environments)

    def test_cases(self, rows: StoredRows) -> Iterator[TestCase]:
        return iter(self.records.test_cases)

    def test_cases_for(
        self, rows: StoredRows, keys: Iterable[str], *, with_steps: bool = True
    ) -> Iterator[TestCase]:
        wanted = set(keys)
        return (c if with_steps else replace(c, steps=()) for c in self.records.test_cases if c.key in wanted)

    def test_plans(self, rows: StoredRows) -> Iterator[Any]:
        return iter(self.records.test_plans)

    def test_cycles(self, rows: StoredRows) -> Iterator[TestCycle]:
        return iter(self.records.test_cycles)

    def test_executions(self, rows: StoredRows, *, with_steps: bool = True) -> Iterator[TestExecution]:
        return (e if with_steps else replace(e, steps=()) for e in self.records.test_executions)


class Plans:
    """What was planned so far, by type and key (transform reads it back from the store)."""

    def __init__(self) -> None:
        self.by_type: dict[str, dict[str, PlannedEntity]] = {}

    def planned(self, entity_type: str, keys: Iterable[str]) -> Mapping[str, PlannedEntity]:
        stored = self.by_type.get(entity_type, {})
        return {k: stored[k] for k in keys if k in stored and not stored[k].skipped}

    def planned_keys(self, entity_type: str, keys: Iterable[str]) -> set[str]:
        return set(self.planned(entity_type, keys))


def plan(records: SourceRecords, batch_size: int = 100) -> dict[str, list[PlannedEntity]]:
    config = build_config({"zephyr": {"project_key": "PROJ"}, "performance": {"batch_size": batch_size}})
    plans = Plans()
    counts = {"test_execution": len(records.test_executions)}
    planning = Planning(RowsInMemory({}), Records(records), TARGET, config, plans, source_counts=counts)
    planned: dict[str, list[PlannedEntity]] = {}
    for entity_type in LOAD_ORDER:
        batches = list(plan_batches(planning, entity_type))
        assert all(0 < len(b) <= batch_size for b in batches if entity_type not in ("module", "cycle_folder"))
        planned[entity_type] = [p for batch in batches for p in batch]
        plans.by_type[entity_type] = {p.source_key: p for p in planned[entity_type]}
    return planned


def keys(planned: dict[str, list[PlannedEntity]]) -> dict[str, list[str]]:
    return {t: [p.source_key for p in plans] for t, plans in planned.items()}


def test_the_planners_are_the_registry_in_load_order() -> None:
    assert list(PLANNERS) == list(LOAD_ORDER)


def test_nothing_extracted_plans_the_two_roots() -> None:
    assert keys(plan(SourceRecords())) == {
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
    planned = keys(
        plan(SourceRecords(test_cases=(case,), test_cycles=(cycle,), test_executions=(ran, never_ran)))
    )
    assert planned["test_cycle"] == ["PROJ-R1", "adhoc"]
    assert planned["test_run"] == ["PROJ-R1|PROJ-T1", "adhoc|PROJ-T1"]
    assert planned["test_log"] == ["PROJ-E1"]


def _history() -> SourceRecords:
    """Test cases calling each other (in a cycle, too) and executions of every kind, out of order."""
    cases = (
        TestCase("PROJ-T1", name="Calls T2", steps=(TestStep(called_test_case="PROJ-T2"),)),
        TestCase("PROJ-T2", name="Calls T3", steps=(TestStep(called_test_case="PROJ-T3"),)),
        TestCase(
            "PROJ-T3",
            name="Calls T1",
            steps=(TestStep(description="x"), TestStep(called_test_case="PROJ-T1")),
        ),
        TestCase("PROJ-T4", name="Plain", steps=(TestStep(description="a"), TestStep(description="b"))),
        TestCase(None, id=99, name="No key", steps=(TestStep(called_test_case="None"),)),
        TestCase("PROJ-T5", name="", steps=(TestStep(called_test_case="PROJ-T4"),)),
    )
    cycles = (TestCycle("PROJ-R1", id=300, name="Sprint"), TestCycle("PROJ-R2", id=301, name="Next"))

    def run(
        n: int, case: str, cycle: Ref | None, end: str | None, status: int = 1, env: int = 7
    ) -> TestExecution:
        return TestExecution(
            f"PROJ-E{n}",
            id=n,
            test_case_key=case,
            test_cycle=cycle,
            status=Ref(id=status),
            environment=Ref(id=env),
            assigned_to=f"user-{n}",
            actual_end_date=end,
            steps=(StepResult(0, Ref(id=status)), StepResult(1)),
        )

    executions = (
        run(5, "PROJ-T4", Ref(id=300), "2024-01-05T10:00:00Z"),
        run(2, "PROJ-T4", Ref(id=300), "2024-01-07T10:00:00Z", status=2, env=8),
        run(9, "PROJ-T4", Ref(id=300), "2024-01-07T10:00:00Z", env=9),  # ties with 2: the later id wins
        run(3, "PROJ-T1", Ref(id=301), None, status=3),  # never ran
        run(4, "PROJ-T9", Ref(id=300), "2024-01-03T10:00:00Z"),  # unknown test case: the run fails
        run(6, "PROJ-T9", Ref(id=300), "2024-01-04T10:00:00Z"),
        run(7, "PROJ-T4", Ref(id=999), "2024-01-02T10:00:00Z"),  # unknown cycle: ad hoc
        run(8, "PROJ-T4", Ref(name="PROJ-R7"), "2024-01-02T11:00:00Z"),
        run(1, "PROJ-T5", None, "2024-01-01T00:00:00Z"),
        run(10, "PROJ-T5", None, "2024-01-01T00:00:00Z", env=8),  # same moment, same group
    )
    options = (Option(1, "Pass"), Option(2, "Fail"), Option(3, "Not Executed"))
    environments = (Option(7, "Chrome"), Option(8, "Firefox"), Option(9, "Safari"))
    return SourceRecords(
        statuses=options,
        environments=environments,
        test_cases=cases,
        test_cycles=cycles,
        test_executions=executions,
    )


def _stored(plans: Iterable[PlannedEntity]) -> list[tuple[Any, ...]]:
    return [(p.entity_type, p.source_key, p.to_payload(), p.level, p.sort_key, p.problems) for p in plans]


@pytest.mark.parametrize(("batch_size", "executions_per_pass"), [(1, 100), (2, 3), (3, 1), (100, 100)])
def test_streaming_plans_what_the_whole_records_plan(
    batch_size: int, executions_per_pass: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transform_planning, "EXECUTIONS_PER_PASS", executions_per_pass)
    records = _history()
    config = build_config({"zephyr": {"project_key": "PROJ"}})
    lookups = SourceLookups.build(
        statuses=records.statuses,
        environments=records.environments,
        test_cases=records.test_cases,
        test_cycles=records.test_cycles,
    )
    cases = plan_test_cases(records.test_cases, lookups, TARGET, config)
    with_counts = replace(lookups, test_case_step_counts=step_counts(cases))
    executions = plan_executions(records.test_executions, with_counts, TARGET, config)

    planned = plan(records, batch_size)
    assert _stored(planned["test_case"]) == _stored(cases)
    assert {p.source_key: p.level for p in planned["test_case"]} == {
        "PROJ-T1": 2,  # the walk starts at T1, so T3 -> T1 closes the cycle
        "PROJ-T2": 1,
        "PROJ-T3": 0,
        "PROJ-T4": 0,
        "id-99": 0,
        "PROJ-T5": 1,
    }
    streamed = {
        (p.entity_type, p.source_key): p for t in ("test_cycle", "test_run", "test_log") for p in planned[t]
    }
    whole = {(p.entity_type, p.source_key): p for p in executions}
    assert set(whole) <= set(streamed)
    for key, expected in whole.items():
        assert _stored([streamed[key]]) == _stored([expected]), key
    runs = {p.source_key: p for p in planned["test_run"]}
    assert runs["PROJ-R1|PROJ-T9"].skipped
    assert {p.source_key for p in planned["test_log"] if p.skipped} >= {"PROJ-E4", "PROJ-E6"}
    assert [p.code for p in runs["adhoc|PROJ-T4"].problems].count("unknown_test_cycle") == 2
