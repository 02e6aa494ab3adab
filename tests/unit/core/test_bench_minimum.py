"""The least requests a clean migration needs, on tiny hand-made datasets and plans."""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

from ztoq.bench_minimum import (
    CLOUD_CURSOR_PAGE,
    CLOUD_PAGE,
    TargetPlan,
    cloud_minimum,
    listing_pages,
    qtest_minimum,
    search_pages,
    server_minimum,
    target_plan,
)
from ztoq.mapping import step_ref
from ztoq.plan import PlannedEntity, ref
from ztoq.simulators.zephyr import ZephyrSimulator


def test_page_counts() -> None:
    assert [listing_pages(n, 100) for n in (0, 1, 100, 101)] == [1, 1, 1, 2]
    # A plain array ends on a short page: a full last page costs one more request.
    assert [search_pages(n, 200) for n in (0, 199, 200, 401)] == [1, 1, 2, 3]


def test_the_cloud_page_sizes_are_the_simulators() -> None:
    defaults = inspect.signature(ZephyrSimulator).parameters
    assert defaults["max_results_cap"].default == CLOUD_PAGE
    assert defaults["cursor_limit_cap"].default == CLOUD_CURSOR_PAGE


def _step(n: int) -> list[dict[str, Any]]:
    return [{"inline": {"description": f"step {i}"}} for i in range(n)]


CLOUD = {
    "projects": [{"id": 1, "key": "P"}],
    "folders": [{"id": i} for i in range(150)],  # two pages
    "statuses": [{"id": 1}],
    "priorities": [{"id": 1}],
    "environments": [],
    "testcases": [
        {"id": 11, "key": "P-T1", "testScript": {}},  # 2 steps (and an older version, id 9)
        {"id": 12, "key": "P-T2", "testScript": {}},  # plain script
        {"id": 13, "key": "P-T3", "testScript": {}},  # no script at all: still one call to /teststeps
        {"id": 14, "key": "P-T4"},  # no testScript link: nothing to ask
        {"id": 15, "key": "P-T5", "testScript": {}},  # 120 steps: two pages
    ],
    "testcaseversions": {"P-T1": [{"id": 9, "key": "P-T1"}]},
    "teststeps": {"P-T1": _step(2), "P-T5": _step(120)},
    "testscripts": {"P-T2": {"type": "plain", "text": "Do it"}},
    "testplans": [{"id": 1, "key": "P-P1"}],
    "testcycles": [{"id": 1, "key": "P-R1"}, {"id": 2, "key": "P-R2"}],
    "testexecutions": [
        {"id": 21, "key": "P-E1", "testCase": {"id": 9}},  # the older version of a step-by-step case
        {"id": 22, "key": "P-E2", "testCase": {"id": 12}},  # plain script: no step results
        {"id": 23, "key": "P-E3", "testCase": {"id": 15}},  # 120 step results: two pages
    ],
    "executionsteps": {"21": _step(2), "22": [], "23": _step(120)},
    "attachments": [{"id": 1}, {"id": 2}, {"id": 3}],
}


def test_cloud_minimum() -> None:
    terms = dict(cloud_minimum(CLOUD).terms)
    assert terms == {
        "project": 1,
        "reference listings (folders, statuses, priorities, environments)": 2 + 1 + 1 + 1,
        "test case pages (NextGen)": 1,
        "test scripts (steps or plain/BDD, per test case with a testScript link)": 1 + 1 + 1 + 2,
        "plan and cycle listings": 2,
        "execution pages (NextGen)": 1,
        "step results (executions of step-by-step test cases)": 1 + 2,
        # 5 cases + 122 steps + 1 plan + 2 cycles + 3 executions + 122 step results
        "attachment lists (test cases, their steps, plans, cycles, executions, their steps)": 255,
        "attachment downloads": 3,
    }
    assert cloud_minimum(CLOUD).total == sum(terms.values())


def test_server_minimum() -> None:
    steps = {"type": "STEP_BY_STEP", "steps": [{"index": 0}, {"index": 1}]}
    dataset = {
        "testCases": [{"key": f"P-T{i}", "testScript": steps} for i in range(200)]  # a full page
        + [{"key": "P-T900", "testScript": {"type": "PLAIN_TEXT", "text": "x"}}],
        "testPlans": [{"key": "P-P1"}],
        "testRuns": [{"key": "P-C1", "items": [{}]}, {"key": "P-C2", "items": []}],
        "testResults": [{"id": 1, "scriptResults": [{"index": 0}, {"index": 1}]}, {"id": 2}],
        "attachments": [{"id": 501}],
    }
    assert dict(server_minimum(dataset).terms) == {
        "project (Jira)": 1,
        "environments": 1,
        "test case, plan and run search pages": 2 + 1 + 1,
        "test results (one list per test run)": 2,
        # 201 cases + 400 steps + 1 plan + 2 runs + 2 results + 2 step results
        "attachment lists (test cases, their steps, plans, runs, results, their steps)": 608,
        "attachment downloads": 1,
    }


def _planned(entity: PlannedEntity) -> SimpleNamespace:
    return SimpleNamespace(
        entity_type=entity.entity_type, source_key=entity.source_key, payload=entity.to_payload(), level=0
    )


class _Repo:
    def __init__(self, *entities: PlannedEntity) -> None:
        self.entities = entities

    def iter_planned(self, project_key: str, entity_type: str) -> list[SimpleNamespace]:
        return [_planned(e) for e in self.entities if e.entity_type == entity_type]


def test_target_plan_reads_what_is_sent() -> None:
    run = ref("test_run", "P-R1|P-T1")
    repo = _Repo(
        PlannedEntity("module", "root", {"name": "P"}),
        PlannedEntity("module", "7", {"name": "F"}, parent=ref("module", "root")),
        PlannedEntity("test_case", "P-T1", {"name": "a"}, approve=True, requirement_links=("P-101",)),
        PlannedEntity("test_case", "P-T2", None),  # skipped: not sent
        PlannedEntity("release", "P-P1", {"name": "r"}),
        PlannedEntity("cycle_folder", "root", {"name": "c"}, parent=None, parent_type="root"),
        PlannedEntity(
            "test_cycle", "P-R1", {"name": "c"}, parent=ref("release", "P-P1"), parent_type="release"
        ),
        PlannedEntity("test_run", "P-R1|P-T1", {"name": "r"}, parent=ref("test_cycle", "P-R1")),
        PlannedEntity("test_log", "P-E1", {"status": 1}, parent=run),
        PlannedEntity(
            "test_log", "P-E2", {"test_step_logs": [{"test_step_id": step_ref("P-T1", 1)}]}, parent=run
        ),
        PlannedEntity(
            "attachment", "a", {"step": 2}, parent=ref("test_log", "P-E1"), parent_type="test-step-logs"
        ),
        PlannedEntity(
            "attachment", "b", {"step": 2}, parent=ref("test_log", "P-E1"), parent_type="test-step-logs"
        ),
        PlannedEntity("attachment", "c", {}, parent=ref("test_case", "P-T1"), parent_type="test-cases"),
        PlannedEntity(
            "attachment", "d", {"step": 1}, parent=ref("test_case", "P-T1"), parent_type="test-steps"
        ),
    )
    plan = target_plan(repo, "P")  # type: ignore[arg-type]
    assert plan.entities == {
        "module": 2,
        "test_case": 1,
        "release": 1,
        "cycle_folder": 1,
        "test_cycle": 1,
        "test_run": 1,
        "test_log": 2,
        "attachment": 4,
    }
    assert (plan.approvals, plan.covered_issues) == (1, {"P-101"})
    assert plan.root_containers == {"module", "release", "test-cycle"}
    assert plan.releases_with_cycles == {"P-P1"}
    assert plan.runs_with_logs == {"test_run:P-R1|P-T1"}
    assert plan.attachment_types == {"test-step-logs": 2, "test-cases": 1, "test-steps": 1}
    assert plan.step_log_objects == {("test_log:P-E1", "2")}
    # P-T1's steps get step logs; P-T3's files, but it is not approved (its create answers its steps).
    assert plan.step_lookup_cases == {"test_case:P-T1"}


def test_qtest_minimum() -> None:
    plan = TargetPlan(
        entities={"module": 2, "test_case": 1000, "test_run": 1000, "test_log": 3, "attachment": 4},
        approvals=1000,
        covered_issues={"P-101", "P-9"},
        root_containers={"module", "test-cycle"},
        runs_with_logs={"run:1", "run:2"},
        attachment_types={"test-cases": 3, "test-step-logs": 1},  # type: ignore[arg-type]
        step_log_objects={("log:1", "0")},
        step_lookup_cases={"test_case:P-T1"},
    )
    terms = dict(qtest_minimum(plan, ["P-101 Login works", "P-1010 Other", "P-9"]).terms)
    assert terms["target settings"] == 7  # project, 4 field settings, statuses, users
    assert terms["adoption listings (root containers)"] == 2
    assert terms["creates: modules"] == 2
    assert terms["creates: test cases"] == 1000
    assert terms["creates: releases"] == 0
    assert terms["uploads: attachments"] == 4
    assert terms["approvals"] == 1000
    assert terms["step lookups (approved test cases whose steps get step logs or files)"] == 1
    assert (terms["requirement listing"], terms["requirement links"]) == (1, 2)
    assert terms["read back: module tree"] == 1
    assert terms["read back: test case pages"] == 2  # 999 + 1, then the short page
    assert terms["read back: releases"] == 0
    assert terms["read back: test cycle trees"] == 1
    assert terms["read back: test run pages"] == 2
    assert terms["read back: test logs (per run with logs)"] == 2
    assert terms["read back: attachment lists"] == 1 + 1
    assert terms["read back: attachment sizes"] == 4
