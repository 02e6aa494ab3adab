"""What qTest holds, read back into plain data for validation (I/O only, no decisions).

:class:`ReadBack` reads the migrated part of the qTest project a part at a time: the root module
with its descendants, the test cases of every module of that tree (steps and properties
expanded), the releases, the test-cycle trees (at the project's top and under each release), the
test runs of the migrated test cycles and the test logs of the runs validation checks. It keeps
only what the comparison (:mod:`ztoq.pipeline.validate_compare`) looks at, and only while the
types that need it are validated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from ztoq.errors import NotFound
from ztoq.mapping.text import find_source_key
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.progress import ProgressReporter
from ztoq.pipeline.validate_types import (
    PHASE,
    AttachmentSnapshot,
    CaseSnapshot,
    LogSnapshot,
    QTestSnapshot,
    RunSnapshot,
    SnapshotScope,
    StepSnapshot,
)
from ztoq.qtest import QTestClient
from ztoq.qtest.models import Module, Property, TestCase, TestCycle, TestLog, TestRun
from ztoq.vendor import QTEST_PARENT_CYCLE, QTEST_PARENT_RELEASE, QTEST_PARENT_ROOT


class CarriedKeys:
    """Zephyr key -> qTest ids, per qTest kind, as entities are read."""

    def __init__(self) -> None:
        self.by_kind: dict[str, dict[str, list[int]]] = {}

    def add(self, kind: str, key: str | None, target_id: int | None) -> None:
        if key and target_id is not None:
            self.by_kind.setdefault(kind, {}).setdefault(key, []).append(target_id)

    def frozen(self) -> dict[str, dict[str, tuple[int, ...]]]:
        return {kind: {k: tuple(v) for k, v in keys.items()} for kind, keys in self.by_kind.items()}


def _key_in(properties: Iterable[Property] | None, field_id: int | None) -> str | None:
    if field_id is None:
        return None
    return next((p.field_value for p in properties or () if p.field_id == field_id and p.field_value), None)


def _module_paths(root: Module, root_name: str, carried: CarriedKeys) -> dict[int, str]:
    """qTest module id -> path ("ROOT/Folder/Sub") over a module read with its descendants."""
    paths: dict[int, str] = {}

    def walk(module: Module, prefix: str) -> None:
        path = f"{prefix}/{module.name}" if prefix else str(module.name or root_name)
        if module.id is not None:
            paths[module.id] = path
            carried.add("module", find_source_key(module.description), module.id)
        for child in module.children or ():
            walk(child, path)

    walk(root, "")
    return paths


def _case_snapshot(case: TestCase, case_id: int) -> CaseSnapshot:
    """The part of a test case read with its steps and properties that validation compares."""
    steps = sorted(case.test_steps or [], key=lambda s: s.order or 0)
    return CaseSnapshot(
        id=case_id,
        name=case.name,
        parent_id=case.parent_id,
        description=case.description,
        steps=tuple(StepSnapshot(s.description, s.expected, s.called_test_case_id) for s in steps),
        properties={p.field_id: p.field_value for p in case.properties or ()},
    )


def _run_snapshot(run: TestRun, run_id: int) -> RunSnapshot:
    """Where a test run is and which test case it runs (by id, or inside its expanded test case)."""
    case_id = (
        run.test_case_id if run.test_case_id is not None else (run.test_case.id if run.test_case else None)
    )
    return RunSnapshot(run_id, run.parent_id, case_id)


def _log_snapshot(log: TestLog) -> LogSnapshot:
    """A test log's status, end date and step results (in step order)."""
    steps = sorted(log.test_step_logs or [], key=lambda s: s.order or 0)
    return LogSnapshot(
        id=log.id,
        status_id=log.status.id if log.status else None,
        exe_end_date=log.exe_end_date,
        step_status_ids=tuple(s.status.id if s.status else None for s in steps),
    )


async def _read_modules(client: QTestClient, scope: SnapshotScope, carried: CarriedKeys) -> dict[int, str]:
    if scope.root_module_id is None:
        return {}
    try:
        root = await client.get_module(scope.root_module_id, expand_descendants=True)
    except NotFound:
        return {}
    return _module_paths(root, scope.root_module_name, carried)


async def _read_test_cases(
    client: QTestClient, paths: Mapping[int, str], reporter: ProgressReporter
) -> dict[int, CaseSnapshot]:
    found: dict[int, CaseSnapshot] = {}
    reporter.start(PHASE, "module", total=len(paths))

    async def read(module_id: int) -> None:
        # Modules are read at once: the session keeps performance.max_workers requests in flight.
        async for case in client.iter_test_cases(parent_id=module_id, expand_steps=True, expand_props=True):
            if case.id is not None:
                found[case.id] = _case_snapshot(case, case.id)
        reporter.advance(PHASE, "module")
        fault_point("validate.read")

    await asyncio.gather(*(read(module_id) for module_id in paths))
    reporter.finish(PHASE, "module")
    return found


async def _read_cycle_parents(
    client: QTestClient, release_ids: Iterable[int], carried: CarriedKeys
) -> dict[int, int | None]:
    """Every test cycle with its parent, read from the tops of both trees (project, releases)."""
    parents: dict[int, int | None] = {}

    def walk(cycle: TestCycle, parent_id: int | None) -> None:
        if cycle.id is None:
            return
        parents[cycle.id] = parent_id
        carried.add("test-cycle", find_source_key(cycle.description), cycle.id)
        for child in cycle.test_cycles or ():
            walk(child, cycle.id)

    for top in await client.list_test_cycles(None, QTEST_PARENT_ROOT, expand="descendants"):
        walk(top, None)
    for release_id in release_ids:
        for top in await client.list_test_cycles(release_id, QTEST_PARENT_RELEASE, expand="descendants"):
            walk(top, release_id)
    return parents


class ReadBack:
    """The migrated part of the qTest project, read back a part at a time as validation needs it.

    Each part (:data:`PARTS`) is read on first use and kept until :meth:`forget`, so the validate
    phase holds what qTest has of the types it is validating, not of the whole project.
    :meth:`snapshot` is what was read so far, as plain data.
    """

    def __init__(self, client: QTestClient, scope: SnapshotScope, reporter: ProgressReporter) -> None:
        self.client = client
        self.scope = scope
        self.reporter = reporter
        self.carried = CarriedKeys()
        self.module_paths: dict[int, str] | None = None
        self.test_cases: dict[int, CaseSnapshot] | None = None
        self.release_ids: frozenset[int] | None = None
        self.cycle_parents: dict[int, int | None] | None = None
        self.test_runs: dict[int, RunSnapshot] | None = None
        self.test_logs: dict[int, tuple[LogSnapshot, ...]] | None = None

    async def read(self, part: str, *, log_run_ids: Iterable[int] = ()) -> None:
        """Read ``part`` (one of :data:`PARTS`) and what it needs, unless it was read already.

        Args:
            part: what to read.
            log_run_ids: for ``test_logs``, the runs whose logs are read (only those among the
                runs read; each once).

        Raises:
            ApiError: a request failed (a missing root module is an empty tree, not an error).
        """
        if part in ("module_paths", "test_cases") and self.module_paths is None:
            self.module_paths = await _read_modules(self.client, self.scope, self.carried)
        if part == "test_cases" and self.test_cases is None:
            assert self.module_paths is not None
            self.test_cases = await _read_test_cases(self.client, self.module_paths, self.reporter)
        if part in ("release_ids", "cycle_parents") and self.release_ids is None:
            self.release_ids = await self._read_releases()
        if part == "cycle_parents" and self.cycle_parents is None:
            assert self.release_ids is not None
            self.cycle_parents = await _read_cycle_parents(self.client, self.release_ids, self.carried)
        if part in ("test_runs", "test_logs") and self.test_runs is None:
            self.test_runs = await self._read_runs()
        if part == "test_logs" and self.test_logs is None:
            self.test_logs = await self._read_logs(log_run_ids)

    async def _read_releases(self) -> frozenset[int]:
        release_field = self.scope.key_fields.get("releases")
        releases: set[int] = set()
        for release in await self.client.list_releases(include_closed=True):
            if release.id is not None:
                releases.add(release.id)
                key = _key_in(release.properties, release_field) or find_source_key(release.description)
                self.carried.add("release", key, release.id)
        return frozenset(releases)

    async def _read_runs(self) -> dict[int, RunSnapshot]:
        runs: dict[int, RunSnapshot] = {}
        run_field = self.scope.key_fields.get("test-runs")
        for cycle_id in sorted(self.scope.cycle_ids):
            async for run in self.client.iter_test_runs(cycle_id, QTEST_PARENT_CYCLE):
                if run.id is not None:
                    runs[run.id] = _run_snapshot(run, run.id)
                    self.carried.add("test-run", _key_in(run.properties, run_field), run.id)
        return runs

    async def _read_logs(self, run_ids: Iterable[int]) -> dict[int, tuple[LogSnapshot, ...]]:
        runs = self.test_runs or {}
        logs: dict[int, tuple[LogSnapshot, ...]] = {}
        for run_id in run_ids:
            if run_id in runs and run_id not in logs:
                read = await self.client.list_test_logs(run_id)
                logs[run_id] = tuple(_log_snapshot(log) for log in read)
                for log in read:
                    self.carried.add("test-log", find_source_key(log.note), log.id)
        return logs

    def forget(self, part: str) -> None:
        """Let go of a part (and the keys its entities carry); it is read again if asked for."""
        setattr(self, part, None)
        for kind in _CARRIED_BY.get(part, ()):
            self.carried.by_kind.pop(kind, None)

    def snapshot(
        self, attachments: Mapping[str, tuple[AttachmentSnapshot, ...]] | None = None
    ) -> QTestSnapshot:
        """What was read so far (parts not read are empty), with ``attachments`` read for a batch."""
        return QTestSnapshot(
            self.module_paths or {},
            self.test_cases or {},
            self.release_ids or frozenset(),
            self.cycle_parents or {},
            self.test_runs or {},
            self.test_logs or {},
            self.carried.frozen(),
            attachments or {},
        )


#: What the validate phase reads back, by :class:`ReadBack` attribute.
PARTS = ("module_paths", "test_cases", "release_ids", "cycle_parents", "test_runs", "test_logs")

#: Part -> the kinds of the keys its entities carry.
_CARRIED_BY: dict[str, tuple[str, ...]] = {
    "module_paths": ("module",),
    "release_ids": ("release",),
    "cycle_parents": ("test-cycle",),
    "test_runs": ("test-run",),
    "test_logs": ("test-log",),
}
