"""Zephyr Scale Server / Data Center records (names, paths and keys instead of ids) planned for qTest."""

from __future__ import annotations

import random

import mapping_builders as mb
import server_records as sr
from mapping_builders import codes, prop

from ztoq.mapping.base import ref
from ztoq.mapping.cycles import plan_test_cycle
from ztoq.mapping.executions import plan_executions
from ztoq.mapping.modules import plan_cycle_folders, plan_modules
from ztoq.mapping.releases import plan_release
from ztoq.mapping.steps import step_ref
from ztoq.mapping.testcases import plan_test_case, plan_test_cases
from ztoq.mapping.text import find_source_key
from ztoq.sources.records import FolderKind, IssueLink, Links, Option, Ref, TestStep


def test_lookups_keep_options_that_have_only_a_name() -> None:
    lookups = sr.lookups()
    assert lookups.statuses["Approved"] == Option(None, "Approved")
    assert set(lookups.priorities) == {"High", "Normal", "Low"}
    assert lookups.name_of(lookups.environments, Ref(name="Safari 17")) == "Safari 17"
    assert lookups.all_test_plan_keys == {"DC-P1", "DC-P2"}
    assert lookups.all_test_cycle_keys == {"DC-C1", "DC-C4"}
    assert lookups.test_cycle_keys == {}
    assert lookups.test_plan_keys == {}
    # Cloud tables stay keyed by number.
    cloud = mb.lookups()
    assert cloud.statuses[2].name == "Approved"
    assert "Approved" not in cloud.statuses


def test_modules_from_folder_paths() -> None:
    folders = sr.folders(FolderKind.TEST_CASE, "/Orbiter/Propulsion", "/Orbiter/Cargo Bay", "/Ground")
    folders += sr.folders(FolderKind.TEST_CYCLE, "/Regression")
    plans = plan_modules(folders, sr.config())
    assert [(p.source_key, p.level) for p in plans] == [
        ("root", 0),
        ("TEST_CASE:/Ground", 1),
        ("TEST_CASE:/Orbiter", 1),
        ("TEST_CASE:/Orbiter/Cargo Bay", 2),
        ("TEST_CASE:/Orbiter/Propulsion", 2),
    ]
    cargo = plans[3]
    assert cargo.body == {"name": "Cargo Bay", "description": "Zephyr key: TEST_CASE:/Orbiter/Cargo%20Bay"}
    assert find_source_key(cargo.body["description"]) == "TEST_CASE:/Orbiter/Cargo Bay"
    assert cargo.options["parent_id"] == ref("module", "TEST_CASE:/Orbiter")
    assert plans[1].options["parent_id"] == ref("module", "root")
    assert all(not p.problems for p in plans)


def test_module_order_is_by_name_whatever_the_input_order() -> None:
    folders = sr.folders(FolderKind.TEST_CASE, "/B/y", "/A", "/B/x", "/C", "/B/a b")
    expected = [p.source_key for p in plan_modules(folders, sr.config())]
    assert expected == [
        "root",
        "TEST_CASE:/A",
        "TEST_CASE:/B",
        "TEST_CASE:/C",
        "TEST_CASE:/B/a b",
        "TEST_CASE:/B/x",
        "TEST_CASE:/B/y",
    ]
    shuffled = list(folders)
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        assert [p.source_key for p in plan_modules(shuffled, sr.config())] == expected


def test_cycle_folders_from_test_cycle_paths() -> None:
    folders = sr.folders(FolderKind.TEST_CYCLE, "/Regression/Nightly") + sr.folders(
        FolderKind.TEST_CASE, "/A"
    )
    plans = plan_cycle_folders(folders, sr.config())
    assert [p.source_key for p in plans] == [
        "root",
        "TEST_CYCLE:/Regression",
        "TEST_CYCLE:/Regression/Nightly",
    ]
    assert plans[2].options == {
        "parent_id": ref("cycle_folder", "TEST_CYCLE:/Regression"),
        "parent_type": "test-cycle",
    }


def test_test_case_with_names_paths_and_keys() -> None:
    planned = plan_test_case(sr.case(), sr.lookups(), mb.target(), sr.config())
    assert planned.body is not None
    assert planned.body["parent_id"] == ref("module", "TEST_CASE:/Orbiter/Propulsion")
    assert prop(planned, 2) == "21"  # Priority "High", by name
    assert prop(planned, 3) == "32"  # Status "Approved", by name
    description = planned.body["description"]
    assert "<td>component</td><td>Valves</td>" in description
    assert f"<td>owner</td><td>{sr.OWNER}</td>" in description
    assert find_source_key(description) == "DC-T12"
    assert planned.options["requirement_links"] == ["DC-101"]
    assert [s["order"] for s in planned.body["test_steps"]] == [1, 2]
    assert "priority_defaulted" not in codes(planned)
    assert "status_defaulted" not in codes(planned)


def test_unknown_status_name_is_defaulted_and_kept() -> None:
    case = sr.case(status=Ref(name="Under Review"), folder=sr.case_ref("/Nowhere"))
    planned = plan_test_case(case, sr.lookups(), mb.target(), sr.config())
    assert planned.body is not None
    assert prop(planned, 3) == "31"  # the default "New"
    assert "<td>Status</td><td>Under Review</td>" in planned.body["description"]
    assert "status_defaulted" in codes(planned)
    # An unknown folder path: under the root, never lost.
    assert planned.body["parent_id"] == ref("module", "root")
    missing = next(p for p in planned.problems if p.code == "missing_folder")
    assert missing.detail == {"folder_id": "TEST_CASE:/Nowhere"}


def test_owner_user_key_into_a_user_field() -> None:
    planned = plan_test_case(
        sr.case(),
        sr.lookups(),
        mb.target(),
        sr.config(mappings={"users": {sr.OWNER: "grace"}, "test_case_fields": {"owner": "Reviewer"}}),
    )
    assert prop(planned, 10) == "502"


def test_call_to_test_by_test_case_key() -> None:
    case = sr.case("DC-T20", steps=(TestStep(called_test_case="DC-T3"), TestStep(description="Then")))
    planned = plan_test_cases([case, sr.case("DC-T3", steps=())], sr.lookups(), mb.target(), sr.config())
    caller = planned[0]
    assert caller.body is not None
    assert caller.body["test_steps"][0]["called_test_case_id"] == ref("test_case", "DC-T3")
    assert (caller.level, planned[1].level) == (1, 0)


def test_release_from_a_server_plan() -> None:
    planned = plan_release(sr.plan("DC-P1", "DC-C4"), sr.lookups(), mb.target(), sr.config())
    assert planned.body is not None
    description = planned.body["description"]
    assert "<td>Folder</td><td>2024</td>" in description
    assert "<td>Status</td><td>Approved</td>" in description  # releases offer Planned/Active only
    assert find_source_key(description) == "DC-P1"


def test_cycle_linked_to_its_plan_by_key_from_either_side() -> None:
    lookups = sr.lookups()
    own_side = plan_test_cycle(sr.cycle("DC-C1", "DC-P1"), lookups, mb.target(), sr.config())
    assert own_side.options == {"parent_id": ref("release", "DC-P1"), "parent_type": "release"}
    assert "unknown_test_plan" not in codes(own_side)
    plan_side = plan_test_cycle(sr.cycle("DC-C4"), lookups, mb.target(), sr.config())
    assert plan_side.options == {"parent_id": ref("release", "DC-P1"), "parent_type": "release"}
    both = sr.lookups(test_plans=[sr.plan("DC-P1", "DC-C1")])
    linked_twice = plan_test_cycle(sr.cycle("DC-C1", "DC-P1"), both, mb.target(), sr.config())
    assert linked_twice.options["parent_id"] == ref("release", "DC-P1")
    assert "multiple_plans" not in codes(linked_twice)


def test_cycle_with_an_unknown_plan_key_or_no_plan() -> None:
    lookups = sr.lookups()
    unknown = plan_test_cycle(sr.cycle("DC-C9", "DC-P9"), lookups, mb.target(), sr.config())
    assert "unknown_test_plan" in codes(unknown)
    assert unknown.options == {
        "parent_id": ref("cycle_folder", "TEST_CYCLE:/Regression"),
        "parent_type": "test-cycle",
    }
    assert unknown.body is not None
    assert "<td>Unknown test plans</td><td>DC-P9</td>" in unknown.body["description"]
    assert "<td>Jira Version</td><td>4.2</td>" in unknown.body["description"]
    assert "<td>Status</td><td>Done</td>" in unknown.body["description"]


def test_results_become_runs_and_logs_linked_to_the_cycle_by_key() -> None:
    results = [
        sr.result(5124, status=Ref(name="Fail"), actual_end_date="2024-03-02T10:00:00.000Z"),
        sr.result(5123),
        sr.result(5200, case="DC-T3", run="DC-C4"),
        sr.result(5300, status=Ref(name="Not Executed"), actual_end_date=None, execution_time=None),
    ]
    plans = plan_executions(
        results, sr.lookups(), mb.target(), sr.config(mappings={"users": {sr.TESTER: "ada@example.com"}})
    )
    runs = [p for p in plans if p.entity_type == "test_run"]
    logs = [p for p in plans if p.entity_type == "test_log"]
    assert not any(p.entity_type == "test_cycle" for p in plans)
    assert [r.source_key for r in runs] == ["DC-C1|DC-T12", "DC-C4|DC-T3"]
    assert runs[0].options == {"parent_id": ref("test_cycle", "DC-C1"), "parent_type": "test-cycle"}
    assert runs[0].body is not None
    assert runs[0].body["name"] == "Engine ignites"
    # Every result of the run's history is a log, keyed by its id, loaded oldest first.
    assert [entry.source_key for entry in logs] == ["5124", "5123", "5200"]
    assert sorted(entry.sort_key for entry in logs[:2]) == [
        "2024-03-01T10:15:00.000Z#000000000005123",
        "2024-03-02T10:00:00.000Z#000000000005124",
    ]
    assert logs[0].options["run"] == ref("test_run", "DC-C1|DC-T12")
    assert logs[2].options["run"] == ref("test_run", "DC-C4|DC-T3")
    failed = logs[0].body
    assert failed is not None
    assert failed["status"] == {"id": 602}  # "Fail", by name
    assert failed["properties"] == [{"field_id": 801, "field_value": "811"}]  # "Chrome Latest", by name
    assert "<td>Test case version</td><td>1</td>" in failed["note"]
    assert find_source_key(failed["note"]) == "5124"
    assert logs[0].options["executed_by"] == 501


def test_result_step_results_by_index_and_defects_by_key() -> None:
    result = sr.result(
        5123,
        steps=(sr.step(0, "Pass", "ok"), sr.step(1, "Fail", "<p>timeout</p>")),
        links=Links(issues=(IssueLink(key="DC-900"),)),
    )
    (_, log) = plan_executions([result], sr.lookups(), mb.target(), sr.config())
    assert log.body is not None
    assert log.body["test_step_logs"] == [
        {"test_step_id": step_ref("DC-T12", 1), "status": {"id": 601}, "actual_result": "ok", "order": 1},
        {
            "test_step_id": step_ref("DC-T12", 2),
            "status": {"id": 602},
            "actual_result": "<p>timeout</p>",
            "order": 2,
        },
    ]
    assert log.options["defect_links"] == ["DC-900"]
    assert "<td>Jira issues</td><td>DC-900</td>" in log.body["note"]
    assert "test_data_rows_merged" not in codes(log)


def test_result_of_a_run_that_was_not_extracted_goes_to_the_adhoc_cycle() -> None:
    plans = plan_executions([sr.result(1, run="DC-C77")], sr.lookups(), mb.target(), sr.config())
    assert [p.entity_type for p in plans] == ["test_cycle", "test_run", "test_log"]
    run = plans[1]
    assert run.source_key == "adhoc|DC-T12"
    assert "unknown_test_cycle" in codes(run)
    assert "DC-C77" in next(p.message for p in run.problems if p.code == "unknown_test_cycle")
