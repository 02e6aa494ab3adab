"""What the Zephyr Scale Cloud adapter stored, read back as canonical records (transform's side).

Cloud serves a test case's steps and script, and an execution's step results, apart from the
object itself, so extract stores them as their own rows (``test_steps``, ``test_script``,
``execution_steps``, keyed by the parent's key); this reader joins them back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from ztoq.sources.base import StoredRows
from ztoq.sources.records import Folder, Option, TestCase, TestCycle, TestExecution, TestPlan
from ztoq.sources.zephyr_cloud import decode

R = TypeVar("R")


def _decoded(rows: StoredRows, entity_type: str, read: Callable[[Any], R | None]) -> Iterator[R]:
    for _, raw in rows.payloads(entity_type):
        record = read(raw)
        if record is not None:
            yield record


def _objects(rows: StoredRows, entity_type: str) -> Iterator[Mapping[str, Any]]:
    return (raw for _, raw in rows.payloads(entity_type) if isinstance(raw, Mapping))


class ZephyrCloudRecords:
    """The :class:`~ztoq.sources.base.RecordReader` of Zephyr Scale Cloud v2 rows."""

    def folders(self, rows: StoredRows) -> Iterator[Folder]:
        """Every folder with an id (of every type)."""
        return _decoded(rows, "folder", decode.folder)

    def statuses(self, rows: StoredRows) -> Iterator[Option]:
        """Every status."""
        return _decoded(rows, "status", decode.option)

    def priorities(self, rows: StoredRows) -> Iterator[Option]:
        """Every priority."""
        return _decoded(rows, "priority", decode.option)

    def environments(self, rows: StoredRows) -> Iterator[Option]:
        """Every environment."""
        return _decoded(rows, "environment", decode.option)

    def test_cases(self, rows: StoredRows) -> Iterator[TestCase]:
        """Every test case, joined with its ``test_steps`` and ``test_script`` rows by key."""
        steps = dict(rows.payloads("test_steps"))
        scripts = dict(rows.payloads("test_script"))
        for raw in _objects(rows, "test_case"):
            key = str(raw.get("key"))
            yield decode.case(raw, steps.get(key, ()), scripts.get(key))

    def test_plans(self, rows: StoredRows) -> Iterator[TestPlan]:
        """Every test plan."""
        return (decode.plan(raw) for raw in _objects(rows, "test_plan"))

    def test_cycles(self, rows: StoredRows) -> Iterator[TestCycle]:
        """Every test cycle."""
        return (decode.cycle(raw) for raw in _objects(rows, "test_cycle"))

    def test_executions(self, rows: StoredRows) -> Iterator[TestExecution]:
        """Every test execution, joined with its ``execution_steps`` row."""
        steps = dict(rows.payloads("execution_steps"))
        for raw in _objects(rows, "test_execution"):
            yield decode.execution(raw, decode.execution_steps_of(raw, steps))
