"""What the Zephyr Scale Server/Data Center adapter stored, read back as canonical records (transform's side).

Unlike Cloud, Server stores no separate parts: a test case holds its script and test data, a
test result its step results. What v1 cannot list is derived from the stored rows instead:

* folders, from the ``folder`` paths of test cases, test plans and test runs (each ancestor too);
* statuses and priorities, from the names the rows use (``Option(id=None, name)``);
* environments, from the stored environment rows, plus any name results use that is not listed.

The step results of a data-driven test case are numbered over rows x steps; the reader reads
the shape (steps, data rows) of the test cases a batch of results ran, by key, to split them back
(:func:`ztoq.sources.zephyr_server.decode.step_results`). Every method streams: the lookup
tables keep only the names and paths in use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ztoq.sources.base import StoredRows
from ztoq.sources.records import Folder, FolderKind, Option, TestCase, TestCycle, TestExecution, TestPlan
from ztoq.sources.zephyr_server import decode

#: Stored row type -> the folder tree its ``folder`` path belongs to.
_FOLDERED = (
    ("test_case", FolderKind.TEST_CASE),
    ("test_plan", FolderKind.TEST_PLAN),
    ("test_cycle", FolderKind.TEST_CYCLE),
)


def _objects(rows: StoredRows, entity_type: str) -> Iterator[Mapping[str, Any]]:
    return (raw for _, raw in rows.payloads(entity_type) if isinstance(raw, Mapping))


def _status_names(rows: StoredRows) -> Iterator[Any]:
    for entity_type in ("test_case", "test_plan", "test_cycle"):
        for raw in _objects(rows, entity_type):
            yield raw.get("status")
    for raw in _objects(rows, "test_execution"):
        yield raw.get("status")
        for item in raw.get("scriptResults") or ():
            if isinstance(item, Mapping):
                yield item.get("status")


class ZephyrServerRecords:
    """The :class:`~ztoq.sources.base.RecordReader` of Zephyr Scale Server/Data Center v1 rows."""

    def folders(self, rows: StoredRows) -> Iterator[Folder]:
        """Every folder the stored test cases, plans and runs are in, with its ancestors."""
        paths = (
            (kind, raw.get("folder"))
            for entity_type, kind in _FOLDERED
            for raw in _objects(rows, entity_type)
        )
        return iter(decode.folders(paths))

    def statuses(self, rows: StoredRows) -> Iterator[Option]:
        """Every status name of test cases, plans, runs, results and step results."""
        return iter(decode.options(_status_names(rows)))

    def priorities(self, rows: StoredRows) -> Iterator[Option]:
        """Every test case priority name."""
        return iter(decode.options(raw.get("priority") for raw in _objects(rows, "test_case")))

    def environments(self, rows: StoredRows) -> Iterator[Option]:
        """The listed environments, then any environment name results use that is not listed."""
        listed = [option for _, raw in rows.payloads("environment") if (option := decode.environment(raw))]
        known = {option.name for option in listed}
        used = (raw.get("environment") for raw in _objects(rows, "test_execution"))
        unlisted = decode.options(name for name in used if name not in known)
        return iter([*listed, *unlisted])

    def test_cases(self, rows: StoredRows) -> Iterator[TestCase]:
        """Every test case, with its steps or script and its test data."""
        return (decode.case(raw) for raw in _objects(rows, "test_case"))

    def test_cases_for(
        self, rows: StoredRows, keys: Iterable[str], *, with_steps: bool = True
    ) -> Iterator[TestCase]:
        """The test cases stored under ``keys`` (a test case holds its steps: they always come)."""
        found = rows.payloads_for("test_case", keys)
        return (decode.case(raw) for raw in found.values() if isinstance(raw, Mapping))

    def test_plans(self, rows: StoredRows) -> Iterator[TestPlan]:
        """Every test plan."""
        return (decode.plan(raw) for raw in _objects(rows, "test_plan"))

    def test_cycles(self, rows: StoredRows) -> Iterator[TestCycle]:
        """Every test run, as a test cycle."""
        return (decode.cycle(raw) for raw in _objects(rows, "test_cycle"))

    def test_executions(self, rows: StoredRows, *, with_steps: bool = True) -> Iterator[TestExecution]:
        """Every test result, in store order; data-driven step results split into (step, row).

        The shapes of the executed test cases are read per batch of results.
        """
        for batch in rows.batches("test_execution"):
            results = [raw for _, raw in batch if isinstance(raw, Mapping)]
            if not with_steps:
                yield from (decode.execution({**raw, "scriptResults": None}) for raw in results)
                continue
            shapes = _shapes(rows, {key for raw in results if isinstance(key := raw.get("testCaseKey"), str)})
            for raw in results:
                case_key = raw.get("testCaseKey")
                # A result may name a test case deleted since it ran: its step indexes stay as served.
                shape = shapes.get(case_key) if isinstance(case_key, str) else None
                yield decode.execution(raw, shape)


def _shapes(rows: StoredRows, keys: set[str]) -> dict[Any, tuple[int, int]]:
    """Test case key -> its shape (:func:`decode.case_shape`), of the stored test cases among ``keys``."""
    if not keys:
        return {}
    found = rows.payloads_for("test_case", sorted(keys))
    return {raw.get("key"): decode.case_shape(raw) for raw in found.values() if isinstance(raw, Mapping)}
