"""Zephyr Scale Cloud JSON -> canonical records (ztoq.sources.zephyr_cloud.decode and its reader)."""

from __future__ import annotations

from typing import Any

import pytest

from ztoq.sources.base import RowsInMemory, read_records
from ztoq.sources.records import (
    CallParameter,
    FolderKind,
    IssueLink,
    Ref,
    ScriptKind,
    StepResult,
    TestScript,
    WebLink,
)
from ztoq.sources.zephyr_cloud import ZephyrCloudRecords, decode


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ({"id": 10, "self": "https://api/statuses/10"}, Ref(id=10)),
        ({"id": "12"}, Ref(id=12)),
        ({"id": True}, None),
        ({"self": "no id"}, None),
        (None, None),
        ("10", None),
    ],
)
def test_references_are_by_number(link: Any, expected: Ref | None) -> None:
    assert decode.ref(link) == expected


def test_ref_keys_and_shown_values() -> None:
    assert (Ref(id=7).key, Ref(id=7).shown) == ("7", 7)
    assert (Ref(name="/A/B").key, Ref(name="/A/B").shown) == ("/A/B", "/A/B")
    assert (Ref().key, Ref().shown) == ("", None)


def test_folder_kinds_parents_and_order() -> None:
    folder = decode.folder({"id": 5, "parentId": 4, "name": "Sub", "index": 2, "folderType": "TEST_CYCLE"})
    assert folder is not None
    assert (folder.key, folder.id, folder.name, folder.index) == ("5", 5, "Sub", 2)
    assert (folder.kind, folder.parent) == (FolderKind.TEST_CYCLE, Ref(id=4))
    untyped = decode.folder({"id": 6, "parentId": None, "name": "Top"})
    assert untyped is not None
    assert (untyped.kind, untyped.parent, untyped.index) == (None, None, 0)
    other = decode.folder({"id": 7, "folderType": "SOMETHING"})
    assert other is not None
    assert other.kind is FolderKind.OTHER
    assert decode.folder({"name": "no id"}) is None
    assert decode.folder("not an object") is None


def test_options() -> None:
    assert decode.option({"id": 3, "name": "High", "index": 0}) is not None
    option = decode.option({"id": 3, "name": None})
    assert option is not None
    assert (option.id, option.name) == (3, None)
    assert decode.option(["not", "an", "object"]) is None


def test_test_case_with_every_member() -> None:
    raw = {
        "id": 1,
        "key": "PROJ-T1",
        "name": "Login works",
        "folder": {"id": 100},
        "priority": {"id": 7},
        "status": {"id": 2},
        "owner": {"accountId": "5b10", "self": "x"},
        "component": {"id": 10001},
        "labels": ["Smoke", 3, "UI"],
        "estimatedTime": 138000,
        "createdOn": "2018-05-15T13:15:13Z",
        "objective": "<p>Why</p>",
        "precondition": "Logged in",
        "customFields": {"Risk": "High", "Empty": None},
        "links": {
            "issues": [
                {"issueId": 10100, "type": "COVERAGE", "target": "https://jira/10100"},
                {"key": "PROJ-9", "issueId": 10103},
                {"issueKey": "PROJ-8"},
                "not a link",
            ],
            "webLinks": [{"url": "https://a", "description": "A"}, {"url": "https://b"}, {"no": "url"}],
        },
    }
    case = decode.case(raw, [{"inline": {"description": "Do"}}], None)
    assert (case.key, case.id, case.name) == ("PROJ-T1", 1, "Login works")
    assert (case.folder, case.priority, case.status, case.component) == (
        Ref(id=100),
        Ref(id=7),
        Ref(id=2),
        Ref(id=10001),
    )
    assert (case.owner, case.labels, case.estimated_time) == ("5b10", ("Smoke", "UI"), 138000)
    assert (case.created_on, case.objective, case.precondition) == (
        "2018-05-15T13:15:13Z",
        "<p>Why</p>",
        "Logged in",
    )
    assert dict(case.custom_fields) == {"Risk": "High", "Empty": None}
    assert case.links.issues == (
        IssueLink(issue_id=10100, type="COVERAGE", target="https://jira/10100"),
        IssueLink(key="PROJ-9", issue_id=10103),
        IssueLink(key="PROJ-8"),
    )
    assert case.links.issues[0].covers
    assert not case.links.issues[1].covers
    assert case.links.web_links == (WebLink("https://a", "A"), WebLink("https://b"))
    assert [s.description for s in case.steps] == ["Do"]
    assert case.script is None


def test_missing_members_are_none_not_guesses() -> None:
    case = decode.case({"id": 9}, (), None)
    assert (case.key, case.name, case.folder, case.priority, case.owner) == (None, None, None, None, None)
    assert (case.labels, case.steps, case.custom_fields) == ((), (), {})
    assert (
        decode.case({"key": "P-T1", "estimatedTime": True, "owner": {"accountId": ""}}).estimated_time is None
    )


def test_inline_steps_keep_their_other_fields_in_order() -> None:
    step = decode.step(
        {
            "inline": {
                "description": "Open",
                "testData": "user = admin",
                "expectedResult": "Shown",
                "customFields": {"Risk": "High"},
                "reflectRef": "AI-1",
            }
        }
    )
    assert (step.description, step.test_data, step.expected_result) == ("Open", "user = admin", "Shown")
    assert list(step.fields.items()) == [("Risk", "High"), ("reflectRef", "AI-1")]
    assert step.called_test_case is None
    assert decode.step({}) == decode.step({"inline": None}) == decode.step({"testCase": {}})


def test_call_steps_name_the_called_test_case_and_its_parameters() -> None:
    step = decode.step(
        {
            "testCase": {
                "testCaseKey": "PROJ-T2",
                "parameters": [{"name": "u", "type": "MANUAL_INPUT", "value": "v"}, {"value": "w"}, 3],
            }
        }
    )
    assert step.called_test_case == "PROJ-T2"
    assert step.parameters == (CallParameter("u", "v", "MANUAL_INPUT"), CallParameter(value="w"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"type": "plain", "text": "Do it"}, TestScript(ScriptKind.PLAIN, "Do it")),
        ({"type": "BDD", "text": "Given x"}, TestScript(ScriptKind.BDD, "Given x")),
        ({"type": "plain", "text": "  "}, TestScript(ScriptKind.PLAIN, "  ")),
        ({"type": "STEP_BY_STEP", "text": "x"}, None),
        ({"type": "plain", "text": None}, None),
        (None, None),
    ],
)
def test_scripts(raw: Any, expected: TestScript | None) -> None:
    assert decode.text_script(raw) == expected


def test_plans_and_cycles_link_each_other_by_id() -> None:
    plan = decode.plan(
        {
            "id": 900,
            "key": "PROJ-P1",
            "labels": ["q1"],
            "folder": {"id": 101},
            "owner": {"accountId": "ada"},
            "links": {"testCycles": [{"id": 1, "testCycleId": 300}, {"id": 2}], "webLinks": [{"url": "u"}]},
        }
    )
    assert (plan.key, plan.labels, plan.folder, plan.owner) == ("PROJ-P1", ("q1",), Ref(id=101), "ada")
    assert plan.test_cycles == (Ref(id=300),)
    assert plan.links.web_links == (WebLink("u"),)
    cycle = decode.cycle(
        {
            "id": 300,
            "key": "PROJ-R1",
            "plannedStartDate": "2018-05-19T13:15:13Z",
            "jiraProjectVersion": {"id": 10000},
            "links": {"testPlans": [{"id": 1, "testPlanId": 900}, {"id": 2, "testPlanId": "x"}]},
        }
    )
    assert (cycle.planned_start_date, cycle.jira_version) == ("2018-05-19T13:15:13Z", Ref(id=10000))
    # A link whose plan cannot be named is kept: mapping reports it as an unknown plan.
    assert cycle.test_plans == (Ref(id=900), Ref())


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ({"self": "https://x/v2/testcases/SA-T10/versions/2"}, ("SA-T10", "2")),
        ({"key": "SA-T1"}, ("SA-T1", None)),
        ({"testCaseKey": "SA-T3", "version": 4}, ("SA-T3", "4")),
        ({"id": 5}, (None, None)),
        (None, (None, None)),
    ],
)
def test_the_executed_test_case_and_version(link: Any, expected: tuple[str | None, str | None]) -> None:
    assert decode.executed_test_case({"testCase": link}) == expected
    execution = decode.execution({"testCase": link})
    assert (execution.test_case_key, execution.test_case_version) == expected


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (None, None),
        ({}, None),
        ({"id": 300, "self": "x"}, Ref(id=300)),
        ({"id": 1, "key": "PROJ-R1"}, Ref(id=1, name="PROJ-R1")),
        ({"self": "no id"}, Ref()),
    ],
)
def test_the_cycle_of_an_execution(link: Any, expected: Ref | None) -> None:
    assert decode.execution({"id": 1, "testCycle": link}).test_cycle == expected


def test_execution_members_and_step_results_by_position() -> None:
    execution = decode.execution(
        {
            "id": 7,
            "key": "PROJ-E7",
            "testExecutionStatus": {"id": 22},
            "environment": {"id": 40},
            "actualEndDate": "2024-01-02T10:00:00Z",
            "executionTime": 120000,
            "estimatedTime": 138000,
            "executedById": "ada",
            "assignedToId": "grace",
            "comment": "ok",
            "automated": True,
            "jiraProjectVersion": {"id": 10000},
            "customFields": {"Browser": "Firefox"},
            "links": {"issues": [{"issueId": 10100}]},
        },
        [
            {"inline": {"description": "Do", "actualResult": "ok", "status": {"id": 22}}},
            {"inline": None},
            "not a step",
        ],
    )
    assert (execution.key, execution.id, execution.status, execution.environment) == (
        "PROJ-E7",
        7,
        Ref(id=22),
        Ref(id=40),
    )
    assert (execution.actual_end_date, execution.execution_time, execution.estimated_time) == (
        "2024-01-02T10:00:00Z",
        120000,
        138000,
    )
    assert (execution.executed_by, execution.assigned_to, execution.comment) == ("ada", "grace", "ok")
    assert (execution.automated, execution.jira_version) == (True, Ref(id=10000))
    assert execution.links.issues == (IssueLink(issue_id=10100),)
    assert execution.steps == (
        StepResult(0, Ref(id=22), "ok", "Do"),
        StepResult(1),
        StepResult(2),
    )
    assert decode.execution({"id": "7", "automated": "yes"}).id is None
    assert decode.execution({"automated": "yes"}).automated is False


def test_step_results_are_found_by_id_key_or_id_as_text() -> None:
    by = {7: ["by id"], "PROJ-E8": ["by key"], "9": ["by text"]}
    assert decode.execution_steps_of({"id": 7, "key": "PROJ-E7"}, by) == ["by id"]
    assert decode.execution_steps_of({"id": 8, "key": "PROJ-E8"}, by) == ["by key"]
    assert decode.execution_steps_of({"id": 9}, by) == ["by text"]
    assert decode.execution_steps_of({"id": 10}, by) == ()


def stored_rows(batch_size: int) -> RowsInMemory:
    """Stored rows by entity type, as StoreRows gives them, in batches of ``batch_size``."""
    return RowsInMemory(
        {
            "folder": [("1", {"id": 1, "name": "A", "folderType": "TEST_CASE"}), ("None", {"name": "no id"})],
            "status": [("2", {"id": 2, "name": "Approved"})],
            "priority": [("3", {"id": 3, "name": "High"})],
            "environment": [("4", {"id": 4, "name": "Chrome"})],
            "test_case": [("P-T1", {"key": "P-T1"}), ("P-T2", {"key": "P-T2"}), ("x", ["not", "a", "case"])],
            "test_steps": [("P-T1", [{"inline": {"description": "Do"}}]), ("P-T2", [])],
            "test_script": [("P-T2", {"type": "plain", "text": "Script"})],
            "test_plan": [("P-P1", {"id": 9, "key": "P-P1"})],
            "test_cycle": [("P-R1", {"id": 5, "key": "P-R1"})],
            "test_execution": [("P-E1", {"id": 11, "key": "P-E1"}), ("12", {"id": 12})],
            "execution_steps": [("P-E1", [{"inline": {"actualResult": "ok"}}]), ("12", [{}, {}])],
        },
        batch_size=batch_size,
    )


@pytest.mark.parametrize("batch_size", [1, 2, 100])
def test_the_reader_joins_parts_and_skips_what_is_not_an_object(batch_size: int) -> None:
    records = read_records(ZephyrCloudRecords(), stored_rows(batch_size))
    assert [f.key for f in records.folders] == ["1"]
    assert [(o.id, o.name) for o in (*records.statuses, *records.priorities, *records.environments)] == [
        (2, "Approved"),
        (3, "High"),
        (4, "Chrome"),
    ]
    cases = {c.key: c for c in records.test_cases}
    assert set(cases) == {"P-T1", "P-T2"}
    assert [s.description for s in cases["P-T1"].steps] == ["Do"]
    assert cases["P-T1"].script is None
    assert (cases["P-T2"].steps, cases["P-T2"].script) == ((), TestScript(ScriptKind.PLAIN, "Script"))
    assert [p.key for p in records.test_plans] == ["P-P1"]
    assert [c.key for c in records.test_cycles] == ["P-R1"]
    assert [len(e.steps) for e in records.test_executions] == [1, 2]


def test_the_reader_reads_test_cases_by_key_and_executions_without_their_steps() -> None:
    reader, rows = ZephyrCloudRecords(), stored_rows(1)
    cases = {c.key: c for c in reader.test_cases_for(rows, ["P-T2", "P-T9", "x"])}
    assert list(cases) == ["P-T2"]
    assert cases["P-T2"].script == TestScript(ScriptKind.PLAIN, "Script")
    assert [(e.id, e.steps) for e in reader.test_executions(rows, with_steps=False)] == [(11, ()), (12, ())]
