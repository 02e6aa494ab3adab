"""What qTest holds, read back into plain data for validation (I/O only, no decisions).

:func:`read_snapshot` reads the migrated part of the qTest project: the root module with its
descendants, the test cases of every module of that tree (steps and properties expanded), the
releases, the test-cycle trees (at the project's top and under each release), the test runs of
the migrated test cycles and the test logs of the runs validation checks. It keeps only what the
comparison (:mod:`ztoq.pipeline.validate_compare`) looks at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ztoq.errors import NotFound
from ztoq.mapping.text import find_source_key
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.progress import ProgressReporter
from ztoq.pipeline.validate_attachments import read_attachments
from ztoq.pipeline.validate_types import (
    PHASE,
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
    for module_id in paths:
        async for case in client.iter_test_cases(parent_id=module_id, expand_steps=True, expand_props=True):
            if case.id is not None:
                found[case.id] = _case_snapshot(case, case.id)
        reporter.advance(PHASE, "module")
        fault_point("validate.read")
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


async def read_snapshot(
    client: QTestClient, scope: SnapshotScope, reporter: ProgressReporter
) -> QTestSnapshot:
    """Read back the migrated part of the qTest project.

    Args:
        client: the qTest client to read with.
        scope: the root module, the test cycles and the runs to read.
        reporter: counts the modules whose test cases were read.

    Returns:
        What qTest holds, as plain data.

    Raises:
        ApiError: a request failed (a missing root module is an empty tree, not an error).
    """
    carried = CarriedKeys()
    paths = await _read_modules(client, scope, carried)
    test_cases = await _read_test_cases(client, paths, reporter)
    case_field = scope.key_fields.get("test-cases")
    for case in test_cases.values():
        carried.add(
            "test-case", case.properties.get(case_field or -1) or find_source_key(case.description), case.id
        )
    release_field = scope.key_fields.get("releases")
    releases: set[int] = set()
    for release in await client.list_releases(include_closed=True):
        if release.id is not None:
            releases.add(release.id)
            key = _key_in(release.properties, release_field) or find_source_key(release.description)
            carried.add("release", key, release.id)
    cycle_parents = await _read_cycle_parents(client, releases, carried)
    runs: dict[int, RunSnapshot] = {}
    for cycle_id in scope.cycle_ids:
        async for run in client.iter_test_runs(cycle_id, QTEST_PARENT_CYCLE):
            if run.id is not None:
                runs[run.id] = _run_snapshot(run, run.id)
                carried.add("test-run", _key_in(run.properties, scope.key_fields.get("test-runs")), run.id)
    logs: dict[int, tuple[LogSnapshot, ...]] = {}
    for run_id in scope.log_run_ids:
        if run_id in runs and run_id not in logs:
            read = await client.list_test_logs(run_id)
            logs[run_id] = tuple(_log_snapshot(log) for log in read)
            for log in read:
                carried.add("test-log", find_source_key(log.note), log.id)
    attachments = await read_attachments(client, scope.attachment_places, deep=scope.deep_attachments)
    return QTestSnapshot(
        paths, test_cases, frozenset(releases), cycle_parents, runs, logs, carried.frozen(), attachments
    )
