"""Step results of an execution -> the ``test_step_logs`` of its qTest test log (or its note).

A qTest test step log binds one status and one actual result to one step of the test case version
the run points at, matched here by order. Step results that do not match the migrated steps
(another version, flattened calls) are kept whole in the note as a table.

A data-driven test case (Zephyr Scale Server test data) runs its steps once per data row, so one
execution holds steps × rows step results, each with its ``row``. qTest has one step log per step,
so each step log takes the worst status of its rows (:data:`ztoq.mapping.statuses.SEVERITY`) and
lists every row's actual result, and the note keeps every row × step result and the row values
(Problem ``test_data_rows_merged``). Executions without rows are mapped exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ztoq.mapping.data_driven import RAN_WITH_ROW, data_table, has_test_data, row_label
from ztoq.mapping.properties import PropertySet
from ztoq.mapping.statuses import StatusMapper
from ztoq.mapping.steps import step_ref
from ztoq.mapping.text import join_html, table_html, text_to_html
from ztoq.sources.records import StepResult, TestData

#: The note's table of step results kept whole (no row), and its columns.
STEP_RESULTS_ROW = "Step results"
STEP_COLUMNS = ("#", "Step", "Expected", "Status", "Actual result")
#: The note's table of every row × step result of a data-driven execution.
ROW_RESULTS_ROW = "Step results by test data row"


def _step_rows(steps: Sequence[StepResult], statuses: StatusMapper) -> list[tuple[str, ...]]:
    return [
        (
            str(step.index + 1),
            join_html(text_to_html(step.description), text_to_html(step.test_data)),
            text_to_html(step.expected_result),
            statuses.source_name(step.status) or "",
            text_to_html(step.actual_result),
        )
        for step in steps
    ]


def _by_row(step: StepResult) -> tuple[bool, int, int]:
    return step.row is None, step.row or 0, step.index


def _row_results_table(steps: Sequence[StepResult], statuses: StatusMapper) -> str:
    """Every row × step result, row by row: "Row" then the columns of the plain step table."""
    ordered = sorted(steps, key=_by_row)
    rows = [
        ("" if step.row is None else str(step.row + 1), *line)
        for step, line in zip(ordered, _step_rows(ordered, statuses), strict=True)
    ]
    return table_html(("Row", *STEP_COLUMNS), rows)


def _ran_with(test_data: TestData | None, steps: Sequence[StepResult], props: PropertySet) -> None:
    """Name the data rows the execution ran with (those its step results name, else all of them)."""
    ran = sorted({step.row for step in steps if step.row is not None})
    if not ran and (test_data is None or not test_data.rows):
        return
    props.keep_in_text(RAN_WITH_ROW, data_table(test_data, ran or None), None, "")


def _merged_actual(results: Sequence[StepResult], test_data: TestData | None, statuses: StatusMapper) -> str:
    """Each row's outcome of one step, one line per row: ``Row 1 (user=ada) [Pass]: ok``."""
    lines = []
    for result in results:
        head = f"{row_label(test_data, result.row)} [{statuses.source_name(result.status) or 'no status'}]"
        actual = text_to_html(result.actual_result)
        lines.append(f"{head}: {actual}" if actual else head)
    return join_html(*lines)


def _merged_step_logs(
    case_key: str, steps: Sequence[StepResult], statuses: StatusMapper, props: PropertySet
) -> list[dict[str, Any]] | None:
    """One step log per step over every data row (worst status), or None when kept in the note."""
    test_data = props.source.test_data.get(case_key)
    _ran_with(test_data, steps, props)
    indexes = sorted({step.index for step in steps})
    rows = len({step.row for step in steps})
    expected = props.source.test_case_step_counts.get(case_key)
    table = _row_results_table(steps, statuses)
    if expected is None or indexes != list(range(expected)):
        props.keep_in_text(
            STEP_RESULTS_ROW,
            table,
            "step_results_in_note",
            f"The execution's step results cover {len(indexes)} steps over {rows} test data rows but the "
            f"migrated test case has {'an unknown number of' if expected is None else expected} steps "
            "(an older version or calls); the step results are kept in the note.",
            severity="degraded",
        )
        return None
    logs = []
    for index in indexes:
        results = sorted((s for s in steps if s.index == index), key=_by_row)
        # The first of the worst rows: its status stands for the step (the others are in the text).
        worst = max(results, key=lambda result: statuses.severity(result.status))
        order = index + 1
        logs.append(
            {
                "test_step_id": step_ref(case_key, order),
                "status": {"id": statuses.map(worst.status, props, f"step {order}")},
                "actual_result": _merged_actual(results, test_data, statuses),
                "order": order,
            }
        )
    props.keep_in_text(
        ROW_RESULTS_ROW,
        table,
        "test_data_rows_merged",
        f"The execution ran {len(indexes)} steps over {rows} test data rows; a qTest step log holds one "
        "status per step, so each step log has the worst status of its rows and lists every row's "
        "actual result, and the per-row step results are kept in the note.",
        severity="degraded",
        steps=len(indexes),
        rows=rows,
    )
    return logs


def plan_step_logs(
    case_key: str, steps: Sequence[StepResult], statuses: StatusMapper, props: PropertySet
) -> list[dict[str, Any]] | None:
    """``test_step_logs`` matched by order, or None when the steps no longer match (kept in the note).

    Args:
        case_key: the executed test case (step placeholders name its steps).
        steps: the execution's step results.
        statuses: maps step statuses to qTest ids.
        props: the test log's properties: receives the note rows and the Problems.
    """
    if any(step.row is not None for step in steps):
        return _merged_step_logs(case_key, steps, statuses, props)
    test_data = props.source.test_data.get(case_key)
    if has_test_data(test_data):
        _ran_with(test_data, steps, props)
    if not steps:
        return []
    expected = props.source.test_case_step_counts.get(case_key)
    if expected != len(steps):
        props.keep_in_text(
            STEP_RESULTS_ROW,
            table_html(STEP_COLUMNS, _step_rows(steps, statuses)),
            "step_results_in_note",
            f"The execution has {len(steps)} step results but the migrated test case has "
            f"{'an unknown number of' if expected is None else expected} steps (an older version, "
            "test data rows or calls); the step results are kept in the note.",
            severity="degraded",
        )
        return None
    logs = []
    for step in steps:
        order = step.index + 1
        status = statuses.map(step.status, props, f"step {order}")
        logs.append(
            {
                "test_step_id": step_ref(case_key, order),
                "status": {"id": status},
                "actual_result": text_to_html(step.actual_result),
                "order": order,
            }
        )
    return logs
