"""Data-driven test cases (Zephyr Scale Server test data) and their executions in qTest.

The test data table goes whole into the test case description; an execution's step results, one
per step and data row, merge into one step log per step (worst status, every row's actual result)
with every row × step result kept in the note.
"""

from __future__ import annotations

from typing import Any

import mapping_builders as mb
import pytest
import server_records as sr
from mapping_builders import codes

from ztoq.mapping.base import PlannedEntity
from ztoq.mapping.data_driven import data_table, row_label
from ztoq.mapping.executions import plan_test_log
from ztoq.mapping.steps import step_ref
from ztoq.mapping.testcases import plan_test_case
from ztoq.sources.records import StepResult, TestData, TestExecution

# Aliased: pytest would try to collect a class named Test* (records.TestDataVariable has no __test__).
from ztoq.sources.records import TestDataVariable as Variable

ROW_1 = "Row 1 (user=ada, country=UK)"
ROW_2 = "Row 2 (user=linus, country=FI)"


def body(planned: PlannedEntity | None) -> dict[str, Any]:
    assert planned is not None
    assert planned.body is not None, planned.problems
    return planned.body


def log_of(execution: TestExecution, **config: Any) -> PlannedEntity:
    lookups = sr.lookups(test_cases=[sr.case(test_data=sr.DATA), sr.case("DC-T3")])
    planned = plan_test_log(execution, lookups, mb.target(), sr.config(**config))
    assert planned is not None
    return planned


def rows_run(*statuses: tuple[str | None, str | None], actual: str = "") -> tuple[StepResult, ...]:
    """Step results row by row (as the source yields them): ``(step 1 status, step 2 status)`` per row."""
    return tuple(
        sr.step(index, status, f"{actual}r{row + 1}s{index + 1}" if actual else "", row=row)
        for row, pair in enumerate(statuses)
        for index, status in enumerate(pair)
    )


# -- the test case ------------------------------------------------------------------------------------


def test_test_data_table_in_the_description() -> None:
    planned = plan_test_case(sr.case(test_data=sr.DATA), sr.lookups(), mb.target(), sr.config())
    description = body(planned)["description"]
    table = (
        '<table border="1"><tr><th>#</th><th>user (FREE_TEXT)</th><th>country (DATA_SET: Countries)</th></tr>'
        "<tr><td>1</td><td>ada</td><td>UK</td></tr><tr><td>2</td><td>linus</td><td>FI</td></tr></table>"
    )
    assert f"<tr><td>Test data</td><td>{table}</td></tr>" in description
    merged = [p for p in planned.problems if p.code == "test_data_in_description"]
    assert len(merged) == 1
    assert merged[0].severity == "kept_in_text"
    assert "no structured test data" in merged[0].message
    assert "qTest Parameters" in merged[0].message
    assert merged[0].detail == {"variables": 2, "rows": 2}
    # The steps stay as they are: one qTest step per Zephyr step.
    assert len(body(planned)["test_steps"]) == 2


def test_test_data_values_are_escaped_and_undeclared_columns_kept() -> None:
    data = TestData(
        variables=(Variable("<name>"),),
        rows=({"<name>": "<b>Ada</b> & co", "extra": 3}, {"<name>": None}),
    )
    description = body(plan_test_case(sr.case(test_data=data), sr.lookups(), mb.target(), sr.config()))[
        "description"
    ]
    assert "<th>&lt;name&gt;</th><th>extra</th>" in description
    assert "<tr><td>1</td><td>&lt;b&gt;Ada&lt;/b&gt; &amp; co</td><td>3</td></tr>" in description
    assert "<tr><td>2</td><td></td><td></td></tr>" in description


@pytest.mark.parametrize("data", [None, TestData()])
def test_no_test_data_no_table_no_problem(data: TestData | None) -> None:
    planned = plan_test_case(sr.case(test_data=data), sr.lookups(), mb.target(), sr.config())
    assert "Test data</td>" not in body(planned)["description"]
    assert "test_data_in_description" not in codes(planned)


def test_row_labels_and_tables() -> None:
    assert row_label(sr.DATA, 0) == ROW_1
    assert row_label(sr.DATA, 5) == "Row 6"
    assert row_label(None, 1) == "Row 2"
    assert data_table(None, [0, 1]) == (
        '<table border="1"><tr><th>#</th></tr><tr><td>1</td></tr><tr><td>2</td></tr></table>'
    )


# -- its executions -----------------------------------------------------------------------------------


def test_rows_merge_into_one_step_log_per_step_with_the_worst_status() -> None:
    planned = log_of(sr.result(7, steps=rows_run(("Pass", "Pass"), ("Pass", "Fail"), ("Pass", "Blocked"))))
    logs = body(planned)["test_step_logs"]
    assert [(s["test_step_id"], s["order"], s["status"]) for s in logs] == [
        (step_ref("DC-T12", 1), 1, {"id": 601}),
        (step_ref("DC-T12", 2), 2, {"id": 602}),  # Fail and Blocked tie: the first row's wins
    ]
    assert logs[1]["actual_result"] == f"{ROW_1} [Pass]<br>{ROW_2} [Fail]<br>Row 3 [Blocked]"
    merged = [p for p in planned.problems if p.code == "test_data_rows_merged"]
    assert len(merged) == 1
    assert merged[0].severity == "degraded"
    assert merged[0].detail == {"steps": 2, "rows": 3}


def test_merged_actual_results_name_each_row() -> None:
    planned = log_of(sr.result(7, steps=rows_run(("Pass", "Pass"), ("Fail", "Pass"), actual="got ")))
    first = body(planned)["test_step_logs"][0]
    assert first["status"] == {"id": 602}
    assert first["actual_result"] == f"{ROW_1} [Pass]: got r1s1<br>{ROW_2} [Fail]: got r2s1"


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (("Pass", "In Progress"), 603),
        (("Not Executed", "Pass"), 605),
        (("In Progress", "Blocked"), 604),
        (("Pass", None), 605),  # no status: not executed
        (("Pass", "Pass"), 601),
    ],
)
def test_worst_status_order(statuses: tuple[str | None, str | None], expected: int) -> None:
    steps = tuple(sr.step(0, status, row=row) for row, status in enumerate(statuses))
    steps += tuple(sr.step(1, "Pass", row=row) for row in range(2))
    planned = log_of(sr.result(7, steps=steps))
    assert body(planned)["test_step_logs"][0]["status"] == {"id": expected}


def test_configured_status_ranks_by_what_it_maps_to() -> None:
    steps = rows_run(("Pass", "Pass"), ("Retest Needed", "Pass"))
    mapped = log_of(sr.result(7, steps=steps), mappings={"execution_status": {"Retest Needed": "Failed"}})
    assert body(mapped)["test_step_logs"][0]["status"] == {"id": 602}
    unmapped = log_of(sr.result(7, steps=steps))
    # Not a pass: it outranks Pass, and (no qTest status) takes the default with the usual Problem.
    assert body(unmapped)["test_step_logs"][0]["status"] == {"id": 605}
    assert "execution_status_defaulted" in codes(unmapped)


def test_note_keeps_every_row_and_step_and_the_row_values() -> None:
    planned = log_of(sr.result(7, steps=rows_run(("Pass", "Fail"), ("Pass", "Pass"), actual="a ")))
    note = body(planned)["note"]
    rows = (
        '<table border="1"><tr><th>#</th><th>user (FREE_TEXT)</th><th>country (DATA_SET: Countries)</th></tr>'
        "<tr><td>1</td><td>ada</td><td>UK</td></tr><tr><td>2</td><td>linus</td><td>FI</td></tr></table>"
    )
    assert f"<tr><td>Test data rows</td><td>{rows}</td></tr>" in note
    results = (
        '<table border="1"><tr><th>Row</th><th>#</th><th>Step</th><th>Expected</th><th>Status</th>'
        "<th>Actual result</th></tr>"
        "<tr><td>1</td><td>1</td><td></td><td></td><td>Pass</td><td>a r1s1</td></tr>"
        "<tr><td>1</td><td>2</td><td></td><td></td><td>Fail</td><td>a r1s2</td></tr>"
        "<tr><td>2</td><td>1</td><td></td><td></td><td>Pass</td><td>a r2s1</td></tr>"
        "<tr><td>2</td><td>2</td><td></td><td></td><td>Pass</td><td>a r2s2</td></tr></table>"
    )
    assert f"<tr><td>Step results by test data row</td><td>{results}</td></tr>" in note
    assert note.index("Test data rows") < note.index("Step results by test data row")
    assert note.endswith("Zephyr key: 7")


def test_rows_in_any_order_give_the_same_plan() -> None:
    steps = rows_run(("Pass", "Fail"), ("Blocked", "Pass"), actual="x")
    forward = log_of(sr.result(7, steps=steps))
    backward = log_of(sr.result(7, steps=tuple(reversed(steps))))
    assert forward.to_payload() == backward.to_payload()


def test_steps_that_do_not_match_the_test_case_stay_in_the_note() -> None:
    steps = tuple(sr.step(index, "Pass", row=row) for row in range(2) for index in range(3))
    planned = log_of(sr.result(7, steps=steps))
    payload = body(planned)
    assert payload["test_step_logs"] == []
    assert "step_results_in_note" in codes(planned)
    assert "test_data_rows_merged" not in codes(planned)
    assert '<tr><td>Step results</td><td><table border="1"><tr><th>Row</th><th>#</th>' in payload["note"]
    assert "<tr><td>2</td><td>3</td><td></td><td></td><td>Pass</td><td></td></tr>" in payload["note"]


def test_execution_of_a_data_driven_case_without_row_results_names_every_row() -> None:
    planned = log_of(sr.result(7))
    note = body(planned)["note"]
    assert "<tr><td>Test data rows</td><td><table" in note
    assert "<td>linus</td><td>FI</td>" in note
    assert body(planned)["test_step_logs"] == []
    assert {"test_data_rows_merged", "step_results_in_note"}.isdisjoint(codes(planned))


def test_execution_naming_rows_the_test_case_does_not_have() -> None:
    steps = (sr.step(0, "Pass", "ok", row=4), sr.step(1, "Pass", row=4))
    planned = log_of(sr.result(7, test_case_key="DC-T3", steps=steps))
    # DC-T3 has one step and no test data: the results stay in the note, the row by number.
    note = body(planned)["note"]
    assert '<tr><td>Test data rows</td><td><table border="1"><tr><th>#</th></tr><tr><td>5</td></tr>' in note
    assert "step_results_in_note" in codes(planned)


def test_execution_without_rows_plans_as_before() -> None:
    steps = (sr.step(0, "Pass", "ok"), sr.step(1, "Fail", "no"))
    plain = sr.lookups()
    with_data = sr.lookups(test_cases=[sr.case(), sr.case("DC-T3", test_data=sr.DATA)])
    before = plan_test_log(sr.result(7, steps=steps), plain, mb.target(), sr.config())
    after = plan_test_log(sr.result(7, steps=steps), with_data, mb.target(), sr.config())
    assert before is not None
    assert after is not None
    assert before.to_payload() == after.to_payload()
    assert before.problems == after.problems
    assert "Test data rows" not in body(after)["note"]
