"""The Zephyr Server record reader: lookup tables derived from stored rows, results joined to cases."""

from __future__ import annotations

from zephyr_server_wire import RESULT, Rows, stored

from ztoq.sources.base import RecordReader, read_records
from ztoq.sources.records import FolderKind, Option, Ref
from ztoq.sources.zephyr_server import ZephyrServerRecords


def test_it_is_a_record_reader_and_reads_everything_stored() -> None:
    reader: RecordReader = ZephyrServerRecords()
    found = read_records(reader, stored())
    assert [c.key for c in found.test_cases] == ["DC-T12", "DC-T3", "DC-T4"]
    assert [p.key for p in found.test_plans] == ["DC-P1"]
    assert [c.key for c in found.test_cycles] == ["DC-C1", "DC-C4"]
    assert [e.id for e in found.test_executions] == [5123, 5124]
    assert found.test_executions[1].test_cycle == Ref(name="DC-C4")


def test_folders_come_from_the_paths_of_cases_plans_and_runs() -> None:
    folders = list(ZephyrServerRecords().folders(stored()))
    assert [(f.kind, f.key) for f in folders] == [
        (FolderKind.TEST_CASE, "TEST_CASE:/Orbiter"),
        (FolderKind.TEST_CASE, "TEST_CASE:/Orbiter/Propulsion"),
        (FolderKind.TEST_CASE, "TEST_CASE:/Shop"),
        (FolderKind.TEST_CASE, "TEST_CASE:/Shop/Cart"),
        (FolderKind.TEST_PLAN, "TEST_PLAN:/2024"),
        (FolderKind.TEST_CYCLE, "TEST_CYCLE:/Regression"),
    ]


def test_statuses_priorities_and_environments_are_the_names_in_use() -> None:
    reader, rows = ZephyrServerRecords(), stored()
    assert [o.name for o in reader.statuses(rows)] == [
        "Approved",
        "Draft",
        "Done",
        "In Progress",
        "Fail",
        "Pass",
        "Blocked",
        "Not Executed",
    ]
    assert all(o.id is None for o in reader.statuses(rows))
    assert list(reader.priorities(rows)) == [Option(None, "High"), Option(None, "Normal")]
    # Chrome is listed (with its id); Firefox is used by a result but not listed.
    assert list(reader.environments(rows)) == [Option(1, "Chrome"), Option(None, "Firefox")]


def test_data_driven_results_are_split_with_the_shape_of_their_test_case() -> None:
    executions = list(ZephyrServerRecords().test_executions(stored()))
    assert [(s.index, s.row) for s in executions[0].steps] == [(0, 0), (1, 0), (0, 1), (1, 1)]


def test_a_result_of_a_deleted_test_case_keeps_its_indexes() -> None:
    rows = Rows(test_execution=[("5123", {**RESULT, "testCaseKey": "DC-T999"}), ("1", "junk")])
    [execution] = ZephyrServerRecords().test_executions(rows)
    assert [(s.index, s.row) for s in execution.steps] == [(0, None), (1, None), (2, None), (3, None)]


def test_nothing_stored_reads_as_nothing() -> None:
    found = read_records(ZephyrServerRecords(), Rows())
    assert found.folders == found.statuses == found.test_executions == ()


def test_test_cases_are_read_by_key_and_results_without_their_steps() -> None:
    reader, rows = ZephyrServerRecords(), stored()
    assert [c.key for c in reader.test_cases_for(rows, ["DC-T3", "DC-T999"])] == ["DC-T3"]
    bare = list(reader.test_executions(rows, with_steps=False))
    assert [(e.id, e.steps) for e in bare] == [(5123, ()), (5124, ())]
    assert [e.status for e in bare] == [e.status for e in reader.test_executions(rows)]
