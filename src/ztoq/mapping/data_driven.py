"""The test data of a data-driven test case (Zephyr Scale Server) as text qTest can hold.

A data-driven Zephyr test case carries a table: variables (columns) and one row of values per run;
its steps refer to the variables as ``{name}`` and are executed once per row. qTest Manager test
cases have no structured test data (qTest Parameters, a separate application, does: see
docs/mapping.md), so the table is kept whole in the test case description, and each execution's
note names the rows it ran with. Values are plain data, not rich text: they are HTML-escaped.

Rows are numbered from 1 in everything people read ("Row 1"), as Zephyr shows them; records
number them from 0.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ztoq.mapping.fields import display
from ztoq.mapping.properties import PropertySet
from ztoq.mapping.text import table_html
from ztoq.sources.records import TestData, TestDataVariable

#: The block row (and Problem field) holding a test case's test data.
TEST_DATA_ROW = "Test data"
#: The block row of a test log naming the test data rows its execution ran with.
RAN_WITH_ROW = "Test data rows"


def has_test_data(test_data: TestData | None) -> bool:
    """True when there is a table to keep: at least one variable or one row."""
    return test_data is not None and bool(test_data.variables or test_data.rows)


def _variable_heading(variable: TestDataVariable) -> str:
    """``user (FREE_TEXT)``, ``country (DATA_SET: Countries)``, or the bare name."""
    kind = variable.type or ""
    if variable.data_set:
        kind = f"{kind}: {variable.data_set}" if kind else variable.data_set
    return f"{variable.name} ({kind})" if kind else variable.name


def _columns(test_data: TestData) -> list[tuple[str, str]]:
    """``(variable name, heading)`` per column: the declared variables, then names only rows use."""
    columns = [(v.name, _variable_heading(v)) for v in test_data.variables]
    named = {name for name, _ in columns}
    for row in test_data.rows:
        for name in row:
            if name not in named:
                named.add(name)
                columns.append((name, name))
    return columns


def _cell(value: Any) -> str:
    return html.escape(display(value), quote=False)


def row_values(test_data: TestData | None, row: int | None) -> str:
    """A row's values as escaped text, ``user=ada, country=UK``; "" when the row is unknown."""
    if test_data is None or row is None or not 0 <= row < len(test_data.rows):
        return ""
    values = test_data.rows[row]
    return ", ".join(
        f"{html.escape(name, quote=False)}={_cell(values.get(name))}"
        for name, _ in _columns(test_data)
        if name in values
    )


def row_label(test_data: TestData | None, row: int | None) -> str:
    """How a row is named in text: ``Row 2 (user=linus, country=FI)``, or ``Row 2`` alone."""
    if row is None:
        return "No row"
    values = row_values(test_data, row)
    return f"Row {row + 1} ({values})" if values else f"Row {row + 1}"


def data_table(test_data: TestData | None, rows: Iterable[int] | None = None) -> str:
    """The test data as an HTML table: "#" then one column per variable, one line per row.

    Args:
        test_data: the table; None when unknown (the rows are then listed by number only).
        rows: the 0-based rows to show, in order; all of them when None.
    """
    columns = [] if test_data is None else _columns(test_data)
    shown: Sequence[int] = (
        list(range(len(test_data.rows))) if rows is None and test_data is not None else list(rows or ())
    )
    lines: list[tuple[str, ...]] = []
    for row in shown:
        values: Mapping[str, Any] = (
            test_data.rows[row] if test_data is not None and 0 <= row < len(test_data.rows) else {}
        )
        lines.append((str(row + 1), *(_cell(values.get(name)) for name, _ in columns)))
    headings = ("#", *(html.escape(heading, quote=False) for _, heading in columns))
    return table_html(headings, lines)


def keep_test_data(props: PropertySet, test_data: TestData | None) -> None:
    """A test case's test data, whole, in its description's block (Problem ``test_data_in_description``)."""
    if test_data is None or not has_test_data(test_data):
        return
    props.keep_in_text(
        TEST_DATA_ROW,
        data_table(test_data),
        "test_data_in_description",
        f"qTest test cases have no structured test data; the Zephyr test data ({len(test_data.variables)} "
        f"variables, {len(test_data.rows)} rows) is kept as a table in the description (qTest Parameters "
        "could hold it as parameters and a data set).",
        variables=len(test_data.variables),
        rows=len(test_data.rows),
    )


__all__ = [
    "RAN_WITH_ROW",
    "TEST_DATA_ROW",
    "data_table",
    "has_test_data",
    "keep_test_data",
    "row_label",
    "row_values",
]
