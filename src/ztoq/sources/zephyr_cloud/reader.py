"""What the Zephyr Scale Cloud adapter stored, read back as canonical records (transform's side).

Cloud serves a test case's steps and script, and an execution's step results, apart from the
object itself, so extract stores them as their own rows (``test_steps``, ``test_script``,
``execution_steps``, keyed by the parent's key); this reader joins them back, one batch of
parents at a time (``StoredRows.payloads_for``), so it never holds more than a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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


def _object_batches(rows: StoredRows, entity_type: str) -> Iterator[list[Mapping[str, Any]]]:
    for batch in rows.batches(entity_type):
        objects = [raw for _, raw in batch if isinstance(raw, Mapping)]
        if objects:
            yield objects


def _cases(rows: StoredRows, batch: Sequence[Mapping[str, Any]]) -> Iterator[TestCase]:
    """A batch of stored test cases joined with their ``test_steps`` and ``test_script`` rows by key."""
    keys = [str(raw.get("key")) for raw in batch]
    steps = rows.payloads_for("test_steps", keys)
    scripts = rows.payloads_for("test_script", keys)
    for raw, key in zip(batch, keys, strict=True):
        yield decode.case(raw, steps.get(key, ()), scripts.get(key))


def _step_row_keys(raw: Mapping[str, Any]) -> list[str]:
    """The keys :func:`decode.execution_steps_of` may find an execution's step results under."""
    return [k for k in (raw.get("id"), raw.get("key"), str(raw.get("id"))) if isinstance(k, str)]


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
        for batch in _object_batches(rows, "test_case"):
            yield from _cases(rows, batch)

    def test_cases_for(
        self, rows: StoredRows, keys: Iterable[str], *, with_steps: bool = True
    ) -> Iterator[TestCase]:
        """The test cases stored under ``keys``, joined with their steps and script when ``with_steps``."""
        found = [raw for raw in rows.payloads_for("test_case", keys).values() if isinstance(raw, Mapping)]
        return _cases(rows, found) if with_steps else (decode.case(raw) for raw in found)

    def test_plans(self, rows: StoredRows) -> Iterator[TestPlan]:
        """Every test plan."""
        return (decode.plan(raw) for raw in _objects(rows, "test_plan"))

    def test_cycles(self, rows: StoredRows) -> Iterator[TestCycle]:
        """Every test cycle."""
        return (decode.cycle(raw) for raw in _objects(rows, "test_cycle"))

    def test_executions(self, rows: StoredRows, *, with_steps: bool = True) -> Iterator[TestExecution]:
        """Every test execution, joined with its ``execution_steps`` row (by id, key or id as text)."""
        for batch in _object_batches(rows, "test_execution"):
            if not with_steps:
                yield from (decode.execution(raw) for raw in batch)
                continue
            steps = rows.payloads_for("execution_steps", (k for raw in batch for k in _step_row_keys(raw)))
            for raw in batch:
                yield decode.execution(raw, decode.execution_steps_of(raw, steps))
