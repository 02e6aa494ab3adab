"""The Zephyr Server decoder: names, paths, inline scripts and test data, results split into (step, row)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from zephyr_server_wire import BDD_CASE, DATA_DRIVEN_CASE, PLAIN_CASE, PLAN, RESULT, RUN, RUN_WITHOUT_ITEMS

from ztoq.sources import records
from ztoq.sources.records import (
    Folder,
    FolderKind,
    IssueLink,
    Option,
    Ref,
    ScriptKind,
    StepResult,
    TestScript,
    TestStep,
)
from ztoq.sources.zephyr_server import decode

CASE = FolderKind.TEST_CASE


@pytest.mark.parametrize(
    ("raw", "path"),
    [("/A/B", "/A/B"), ("/A//B/", "/A/B"), ("A/B", "/A/B"), ("/", None), ("", None), (None, None), (3, None)],
)
def test_folder_paths_are_normalised(raw: Any, path: str | None) -> None:
    assert decode.folder_path(raw) == path


def test_folders_are_rebuilt_from_paths_with_every_ancestor() -> None:
    paths = [
        (CASE, "/Orbiter/Propulsion"),
        (CASE, "/Orbiter/Cargo Bay/"),
        (CASE, "/orbiter"),  # paths are case-sensitive: another folder
        (CASE, "/"),
        (FolderKind.TEST_CYCLE, "/Orbiter"),  # another tree
        (CASE, "/Orbiter/Propulsion"),
    ]
    found = decode.folders(paths)
    assert found == [
        Folder("TEST_CASE:/Orbiter", "Orbiter", CASE, None, index=0),
        Folder("TEST_CASE:/Orbiter/Propulsion", "Propulsion", CASE, Ref(name="TEST_CASE:/Orbiter"), index=1),
        Folder("TEST_CASE:/Orbiter/Cargo Bay", "Cargo Bay", CASE, Ref(name="TEST_CASE:/Orbiter"), index=0),
        Folder("TEST_CASE:/orbiter", "orbiter", CASE, None, index=1),
        Folder("TEST_CYCLE:/Orbiter", "Orbiter", FolderKind.TEST_CYCLE, None, index=0),
    ]
    assert all(folder.id is None for folder in found)


def test_options_hold_each_name_once() -> None:
    assert decode.options(["Pass", None, "", "Fail", "Pass", 3]) == [
        Option(None, "Pass"),
        Option(None, "Fail"),
    ]
    assert decode.environment({"id": 1, "name": "Chrome"}) == Option(1, "Chrome")
    assert decode.environment("Chrome") is None


def test_a_data_driven_step_by_step_test_case() -> None:
    case = decode.case(DATA_DRIVEN_CASE)
    assert (case.key, case.id, case.name, case.owner) == ("DC-T12", None, "Engine ignites", "JIRAUSER10100")
    assert case.folder == Ref(name="TEST_CASE:/Orbiter/Propulsion")
    assert (case.status, case.priority, case.component) == (
        Ref(name="Approved"),
        Ref(name="High"),
        Ref(name="Valves"),
    )
    assert (case.labels, case.estimated_time, case.created_on) == (
        ("Smoke",),
        138000,
        "2024-03-01T10:15:00.000Z",
    )
    assert case.custom_fields == DATA_DRIVEN_CASE["customFields"]
    assert case.links.issues == (IssueLink(key="DC-101", type="COVERAGE"),)
    assert case.links.issues[0].covers
    # Steps come in index order: the call step (index 1) was first on the wire.
    assert case.steps == (
        TestStep(
            description='<p>Open {user}</p><img src="/secure/attachment/6/step.png">',
            test_data="user={user}",
            expected_result="Shown",
            fields={"Risk": "Low"},
        ),
        TestStep(called_test_case="DC-T3"),
    )
    assert case.script is None
    assert case.test_data is not None
    assert case.test_data.variables == (
        records.TestDataVariable("user", "FREE_TEXT"),
        records.TestDataVariable("country", "DATA_SET", "Countries"),
    )
    assert case.test_data.rows == ({"user": "ada", "country": "UK"}, {"user": "linus", "country": "FI"})
    assert decode.case_shape(DATA_DRIVEN_CASE) == (2, 2)


def test_plain_and_bdd_scripts() -> None:
    plain, bdd = decode.case(PLAIN_CASE), decode.case(BDD_CASE)
    assert plain.script == TestScript(ScriptKind.PLAIN, "Log in as admin")
    assert plain.steps == ()
    assert bdd.script is not None
    assert bdd.script.kind is ScriptKind.BDD
    assert bdd.folder == Ref(name="TEST_CASE:/Shop/Cart")
    assert plain.test_data is None
    assert decode.case_shape(PLAIN_CASE) == (0, 0)
    assert decode.case({"key": "X", "folder": "/"}).folder is None


def test_a_plan_names_its_runs_by_key() -> None:
    plan = decode.plan(PLAN)
    assert (plan.key, plan.id, plan.status, plan.folder) == (
        "DC-P1",
        None,
        Ref(name="Approved"),
        Ref(name="TEST_PLAN:/2024"),
    )
    assert plan.test_cycles == (Ref(name="DC-C1"), Ref(name="DC-C4"))
    assert plan.links.issues == (IssueLink(key="DC-7"),)
    assert (plan.objective, plan.labels, plan.owner) == ("<p>ship it</p>", ("release",), "JIRAUSER10100")


def test_a_run_is_a_cycle_with_its_iteration_as_a_custom_field() -> None:
    cycle = decode.cycle(RUN)
    assert (cycle.key, cycle.name, cycle.status, cycle.folder) == (
        "DC-C1",
        "Regression 4.2",
        Ref(name="Done"),
        Ref(name="TEST_CYCLE:/Regression"),
    )
    assert cycle.jira_version == Ref(name="4.2")
    assert cycle.custom_fields == {"Build": "nightly", "Iteration": "Sprint 12"}
    assert cycle.links.issues == (IssueLink(key="DC-55"),)
    assert cycle.test_plans == (Ref(name="DC-P1"),)
    assert (cycle.planned_start_date, cycle.description) == ("2024-03-01T00:00:00.000Z", "<p>nightly</p>")
    other = decode.cycle(RUN_WITHOUT_ITEMS)
    assert other.custom_fields == {"Iteration": "Kept"}  # a custom field of that name wins
    assert (other.test_plans, other.jira_version, other.folder, other.links.issues) == ((), None, None, ())


def test_a_result_of_a_data_driven_test_case_is_split_into_steps_and_rows() -> None:
    execution = decode.execution(RESULT, (2, 2))
    assert (execution.key, execution.id, execution.test_case_key, execution.test_case_version) == (
        None,
        5123,
        "DC-T12",
        "1",
    )
    assert execution.test_cycle == Ref(name="DC-C1")
    assert (execution.status, execution.environment) == (Ref(name="Fail"), Ref(name="Chrome"))
    assert (execution.executed_by, execution.assigned_to) == ("JIRAUSER10101", "JIRAUSER10101")
    assert (execution.actual_end_date, execution.execution_time, execution.estimated_time) == (
        "2024-03-02T10:00:00.000Z",
        180000,
        None,
    )
    assert execution.custom_fields == {"Build": "4.2.1"}
    assert not execution.automated
    assert execution.links.issues == (IssueLink(key="DC-900"),)
    assert execution.steps == (
        StepResult(0, Ref(name="Pass"), "ok", row=0),
        StepResult(1, Ref(name="Pass"), None, row=0),
        StepResult(0, Ref(name="Blocked"), None, row=1),
        StepResult(1, Ref(name="Fail"), "<p>timeout</p>", row=1),
    )


def test_without_test_data_step_indexes_stay_as_served() -> None:
    plain = decode.execution(RESULT, (4, 0))
    assert [(s.index, s.row) for s in plain.steps] == [(0, None), (1, None), (2, None), (3, None)]
    assert [s.index for s in decode.execution(RESULT).steps] == [0, 1, 2, 3]


def test_a_never_run_result_falls_back_to_execution_date_and_user_key() -> None:
    execution = decode.execution(
        {"id": 1, "userKey": "JIRAUSER1", "executionDate": "2024", "automated": True}
    )
    assert (execution.executed_by, execution.actual_end_date, execution.automated) == (
        "JIRAUSER1",
        "2024",
        True,
    )
    assert (execution.test_cycle, execution.test_case_version, execution.steps) == (None, None, ())


_JUNK: list[Any] = [None, True, 0, -1, 1.5, "", "x", [], {}, [None, 1, "a"], {"a": None}, [{"index": "x"}]]


def _junk_object(rng: random.Random, members: list[str]) -> dict[str, Any]:
    return {member: rng.choice(_JUNK) for member in members if rng.random() < 0.8}


def test_odd_input_never_raises() -> None:
    rng = random.Random(7)
    members = sorted(
        {*DATA_DRIVEN_CASE, *PLAN, *RUN, *RESULT, "testScript", "parameters", "scriptResults", "steps"}
    )
    for _ in range(300):
        raw = _junk_object(rng, members)
        raw["testScript"] = rng.choice([*_JUNK, {"type": "STEP_BY_STEP", "steps": rng.choice(_JUNK)}])
        raw["parameters"] = rng.choice(
            [*_JUNK, {"variables": rng.choice(_JUNK), "entries": rng.choice(_JUNK)}]
        )
        decode.case(raw)
        decode.case_shape(raw)
        decode.plan(raw)
        decode.cycle(raw)
        decode.execution(raw, rng.choice([None, (0, 0), (2, 3), (3, 0)]))
        decode.folders([(CASE, raw.get("folder"))])
        decode.environment(raw)
