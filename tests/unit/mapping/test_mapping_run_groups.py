"""Which run each execution belongs to, kept compact (ztoq.mapping.run_groups) and the source index."""

from __future__ import annotations

import random

import pytest
import server_records as sr

from ztoq.mapping import SourceLookups
from ztoq.mapping.run_groups import RunGroups, recency, run_of
from ztoq.mapping.source_index import SourceIndex
from ztoq.sources.records import Ref, TestCase, TestCycle, TestExecution, TestPlan, TestStep

LOOKUPS = SourceLookups.build(test_cycles=[TestCycle("P-R1", id=1), TestCycle("P-R2", id=2)])


def execution(n: int, case: str, cycle: Ref | None, end: str | None) -> TestExecution:
    return TestExecution(f"P-E{n}", id=n, test_case_key=case, test_cycle=cycle, actual_end_date=end)


def test_each_run_takes_the_latest_execution_the_first_of_equals() -> None:
    executions = [
        execution(3, "P-T1", Ref(id=1), "2024-01-02T00:00:00Z"),
        execution(1, "P-T1", Ref(id=1), "2024-01-02T01:00:00+02:00"),  # earlier than it reads
        execution(2, "P-T1", Ref(id=2), None),
        execution(4, "P-T1", Ref(id=2), "not a date"),
        execution(5, "P-T2", Ref(id=9), "2024-01-01T00:00:00Z"),  # unknown cycle
        execution(6, "P-T2", Ref(name="P-R7"), "2024-01-01T00:00:00Z"),
        execution(6, "P-T2", None, "2024-01-01T00:00:00Z"),  # a twin: the first one stays
    ]
    groups = RunGroups(LOOKUPS)
    for e in executions:
        groups.add(e)
    groups.end_pass()
    assert groups.count == 3
    assert groups.executions == 7
    assert groups.has_adhoc
    assert [p for p in range(9) if groups.is_latest(p)] == [0, 3, 5]
    assert groups.lost_cycles == {
        "adhoc|P-T2": ["test cycle 9 was not extracted", "test cycle P-R7 was not extracted"]
    }
    for key in ("P-R1|P-T1", "P-R2|P-T1", "adhoc|P-T2"):
        members = [e for e in executions if run_of(e, LOOKUPS)[0] == key]
        assert executions.index(max(members, key=recency)) in (0, 3, 5)


@pytest.mark.parametrize("parts", [1, 2, 7])
def test_many_executions_match_max_by_recency(parts: int) -> None:
    rng = random.Random(3)
    days = [None, "bad", *(f"2024-01-{d:02d}T10:00:00Z" for d in range(1, 6))]
    executions = [
        execution(rng.randint(1, 40), f"P-T{rng.randint(1, 5)}", Ref(id=rng.randint(1, 3)), rng.choice(days))
        for _ in range(500)
    ]
    groups = RunGroups(LOOKUPS, parts=parts)
    while not groups.done:
        for e in executions:
            groups.add(e)
        groups.end_pass()
    expected: dict[str, int] = {}
    for position, e in enumerate(executions):
        key = run_of(e, LOOKUPS)[0]
        if key not in expected or recency(e) > recency(executions[expected[key]]):
            expected[key] = position
    assert [p for p in range(len(executions)) if groups.is_latest(p)] == sorted(expected.values())
    assert (groups.count, groups.executions) == (len(expected), len(executions))


def test_the_index_builds_the_lookups_and_the_call_levels() -> None:
    cases = [
        TestCase("P-T1", name="One", steps=(TestStep(called_test_case="P-T2"),)),
        TestCase("P-T2", steps=(TestStep(called_test_case="P-T1"), TestStep(called_test_case="P-T9"))),
        TestCase(None, id=7, name="No key"),
        TestCase("P-T3", name="Data", test_data=sr.DATA),
    ]
    plans = [TestPlan("P-P1", id=5, test_cycles=(Ref(id=1), Ref(name="P-R2")))]
    index = SourceIndex()
    for case in cases:
        index.add_test_case(case)
    for plan in plans:
        index.add_test_plan(plan)
    built = SourceLookups.build(test_cases=cases, test_plans=plans)
    tables = index.tables()
    assert {
        k: tables[k] for k in ("test_case_keys", "test_case_names", "plan_keys_by_cycle", "test_plan_keys")
    } == {
        "test_case_keys": built.test_case_keys,
        "test_case_names": built.test_case_names,
        "plan_keys_by_cycle": built.plan_keys_by_cycle,
        "test_plan_keys": built.test_plan_keys,
    }
    assert tables["test_data"] == built.test_data == {"P-T3": sr.DATA}
    assert index.known_test_case_keys(["P-T1", "None", "P-T9"]) == {"P-T1", "None"}
    assert index.call_levels() == ({"P-T1": 1, "P-T2": 0}, {"P-T2": frozenset({0})})
    # Without the test cases, the index keeps their calls, and asks which called keys exist.
    calls_only = SourceIndex(keep_test_cases=False)
    for case in cases:
        calls_only.add_test_case(case)
    assert calls_only.tables()["test_case_names"] == {}
    assert calls_only.call_levels(lambda keys: {"P-T1", "P-T2"} & set(keys)) == index.call_levels()
