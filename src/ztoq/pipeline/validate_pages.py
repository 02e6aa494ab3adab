"""Test cases, runs and logs validated from qTest's pages, in memory bounded by a page.

qTest is read as few times as its API allows (:func:`ztoq.bench_minimum.qtest_minimum`, the
"read back" terms): the project's test cases and test runs in pages of
:data:`~ztoq.vendor.QTEST_MAX_PAGE_SIZE` (the next page read while one is compared), the logs of each
run with planned logs once. For each page, the planned entities whose qTest id is in it are read
from the store (``planned_for_targets``) and compared by the pure validators; what the page holds
is recorded in the store (``add_seen``: kind, qTest id, the Zephyr key carried) and let go. Once
a type's pages are done, SQL finds the planned entities qTest does not hold
(``planned_unseen_page``: missing). Test cases outside the root module's tree and runs outside
the migrated test cycles are left alone.

Planned test logs are stored in the order of their end dates, not by run: a pass over their
references first gathers each run's latest planned log in the store (``add_latest_logs``), then
the runs are read a batch of ``performance.batch_size`` at a time with their logs, which are
compared and checked for the latest one there and then.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from dataclasses import replace
from typing import TypeVar

from ztoq.mapping.text import find_source_key
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.load_types import KeySet
from ztoq.pipeline.validate_compare import BATCH_VALIDATORS, case_carried_key
from ztoq.pipeline.validate_compare_execution import LATEST_LOG_DIFFERS, LatestLogs, check_latest_logs
from ztoq.pipeline.validate_scope import FULL_SCOPE, ValidationScope
from ztoq.pipeline.validate_setup import ValidationSetup, flush, read_batch
from ztoq.pipeline.validate_snapshot import (
    ListedRun,
    ReadBack,
    log_snapshot,
    read_run_logs,
    test_case_pages,
    test_run_pages,
)
from ztoq.pipeline.validate_types import (
    PHASE,
    CaseSnapshot,
    ExpectedProject,
    QTestSnapshot,
    RunSnapshot,
    ValidationResult,
)
from ztoq.qtest.models import TestLog
from ztoq.store import EntityKey
from ztoq.vendor import QTEST_PARENT_CYCLE

#: Planned test logs per page when only their references are read.
_REFS_PAGE = 1000

T = TypeVar("T")


class PagedValidation:
    """The validation of the types read a page at a time: test cases, test runs, test logs."""

    def __init__(
        self,
        ctx: PhaseContext,
        setup: ValidationSetup,
        read_back: ReadBack,
        result: ValidationResult,
        scope: ValidationScope = FULL_SCOPE,
    ) -> None:
        self.ctx = ctx
        self.setup = setup
        self.read_back = read_back
        self.result = result
        self.validation_scope = scope
        self.project_key = setup.project_key
        #: A delta validation's runs with a test log in question (None: every run's logs are read).
        self.changed_runs: KeySet | None = None

    def _clear(self, kind: str) -> None:
        with self.ctx.session() as repo:
            repo.clear_seen(self.project_key, kind)

    def _compare(self, entity_type: str, expected: ExpectedProject, snapshot: QTestSnapshot) -> None:
        BATCH_VALIDATORS[entity_type](expected, snapshot, self.result)
        flush(self.ctx, self.result)

    async def _each(
        self, entity_type: str, pages: AsyncGenerator[list[T], None], handle: Callable[[list[T]], None]
    ) -> None:
        """``handle`` each page as it comes (in a worker thread, while the next page is read), counted
        as read (live progress), each followed by the kill point."""
        async with aclosing(pages):
            async for page in pages:
                await asyncio.to_thread(handle, page)
                self.ctx.reporter.advance(PHASE, entity_type, len(page))
                fault_point("validate.read")
                self.ctx.check_cancelled()

    # -- test cases ------------------------------------------------------------------------------

    async def test_cases(self) -> None:
        """Compare every test case under the root module; the planned ones not there are missing."""
        self._clear("test-case")
        self.ctx.reporter.start(PHASE, "test_case")
        await self._each("test_case", test_case_pages(self.read_back.client), self._case_page)
        await asyncio.to_thread(self.unseen, "test_case", "test-case")

    def _compare_held(self, entity_type: str, target_ids: list[int], snapshot: QTestSnapshot) -> None:
        """Compare the planned entities whose qTest id is in ``target_ids`` (what a page holds) with
        ``snapshot``, a batch of ``performance.batch_size`` at a time (their planned payloads are the
        larger part)."""
        size = self.ctx.config.performance.batch_size
        for start in range(0, len(target_ids), size):
            with self.ctx.session() as repo:
                held = target_ids[start : start + size]
                records = repo.planned_for_targets(self.project_key, entity_type, held)
                expected = read_batch(repo, self.setup, records)
            self._compare(entity_type, expected, snapshot)

    def _case_page(self, page: list[CaseSnapshot]) -> None:
        paths = self.read_back.module_paths or {}
        cases = {case.id: case for case in page if case.parent_id in paths}
        key_field = self.setup.base.key_field_id
        with self.ctx.session() as repo:
            carried = [(case_id, case_carried_key(case, key_field)) for case_id, case in cases.items()]
            repo.add_seen(self.project_key, "test-case", carried)
        self._compare_held("test_case", list(cases), replace(self.read_back.snapshot(), test_cases=cases))

    # -- test runs -------------------------------------------------------------------------------

    async def test_runs(self, *, compare: bool = True) -> None:
        """Compare every test run of the migrated test cycles; the planned ones not there are missing.

        Args:
            compare: False only records which runs qTest holds (what the logs' validation reads).
        """
        self._clear("test-run")
        self.ctx.reporter.start(PHASE, "test_run")
        await self._each(
            "test_run",
            test_run_pages(self.read_back.client, self.setup.scope.key_fields.get("test-runs")),
            functools.partial(self._run_page, compare=compare),
        )
        if compare:
            await asyncio.to_thread(self.unseen, "test_run", "test-run")

    def _run_page(self, page: list[ListedRun], *, compare: bool) -> None:
        in_cycles = [
            run
            for run in page
            if run.snapshot.parent_id is not None and run.parent_type in (None, QTEST_PARENT_CYCLE)
        ]
        with self.ctx.session() as repo:
            cycles = repo.mapped_targets_among(
                self.project_key, "test_cycle", {int(run.snapshot.parent_id or 0) for run in in_cycles}
            )
            runs = {run.snapshot.id: run for run in in_cycles if run.snapshot.parent_id in cycles}
            repo.add_seen(self.project_key, "test-run", [(run_id, run.key) for run_id, run in runs.items()])
        if compare:
            snapshots = {run_id: run.snapshot for run_id, run in runs.items()}
            self._compare_held(
                "test_run", list(runs), replace(self.read_back.snapshot(), test_runs=snapshots)
            )

    # -- test logs -------------------------------------------------------------------------------

    async def test_logs(self, *, runs_read: bool) -> None:
        """Compare the logs of every run with planned logs, a batch of runs at a time; each run's
        latest log is its latest execution; the planned logs not there are missing.

        Args:
            runs_read: whether this validation has just read the test runs (else they are read
                first: a run's logs are read only when qTest holds the run in a migrated cycle).
        """
        if not runs_read:
            await self.test_runs(compare=False)
        self._clear("test-log")
        await asyncio.to_thread(self._gather_latest)
        self.ctx.reporter.start(PHASE, "test_log")
        size = self.ctx.config.performance.batch_size
        after: str | None = None
        while True:
            page, rows, ids, present = await asyncio.to_thread(self._log_runs, after, size)
            logs = await read_run_logs(self.read_back.client, sorted(present))
            await asyncio.to_thread(self._log_batch, rows, ids, logs)
            self.ctx.reporter.advance(PHASE, "test_log", sum(len(found) for found in logs.values()))
            fault_point("validate.read")
            self.ctx.check_cancelled()
            if len(page) < size:
                break
            after = page[-1][0]
        await asyncio.to_thread(self.unseen, "test_log", "test-log")

    def _gather_latest(self) -> None:
        """Each run's latest planned log (the greatest sort key, the first of equals), into the store;
        in a delta validation, the runs with a log in question too (changed since the last
        validation, or found wrong by it)."""
        since = self.validation_scope.limits("test_log")
        self.changed_runs = None if since is None else KeySet()
        with self.ctx.session() as repo:
            repo.clear_latest_logs(self.project_key)
            if self.changed_runs is not None:  # a run whose latest log was found wrong is read again
                for run_key in repo.keys_with_problem(self.project_key, "test_run", LATEST_LOG_DIFFERS):
                    self.changed_runs.add(run_key)
        after: tuple[int, str, str] | None = None
        while True:
            with self.ctx.session() as repo:
                page = repo.planned_refs_page(self.project_key, "test_log", after=after, limit=_REFS_PAGE)
                rows = [
                    (next((key for kind, key in refs if kind == "test_run"), ""), sort_key, log_key)
                    for _, sort_key, log_key, refs in page
                ]
                repo.add_latest_logs(self.project_key, rows)
                if self.changed_runs is not None and since is not None:
                    unchanged = repo.unchanged_among(
                        self.project_key, "test_log", [r[2] for r in rows], since
                    )
                    for run_key, _, log_key in rows:
                        if log_key not in unchanged:
                            self.changed_runs.add(run_key)
            if len(page) < _REFS_PAGE:
                return
            after = page[-1][:3]

    def _log_runs(
        self, after: str | None, size: int
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict[EntityKey, int], set[int]]:
        """A page of runs with planned logs (run key, latest log key); those of them to read (a
        delta validation: the runs with a log in question), the qTest ids of both, and the runs
        qTest holds in a migrated cycle."""
        with self.ctx.session() as repo:
            page = repo.latest_logs_page(self.project_key, after=after, limit=size)
            changed = self.changed_runs
            rows = page if changed is None else [row for row in page if row[0] in changed]
            wanted = [("test_run", run) for run, _ in rows] + [("test_log", log) for _, log in rows]
            ids = repo.target_ids(self.project_key, wanted)
            run_ids = {ids[("test_run", run)] for run, _ in rows if ("test_run", run) in ids}
            present = repo.seen_among(self.project_key, "test-run", run_ids)
        return page, rows, ids, present

    def _log_batch(
        self, rows: Sequence[tuple[str, str]], ids: dict[EntityKey, int], logs: dict[int, list[TestLog]]
    ) -> None:
        read = {log.id: log for found in logs.values() for log in found if log.id is not None}
        with self.ctx.session() as repo:
            # A run named by two run keys is read twice: its logs are compared once.
            new = sorted(set(read) - repo.seen_among(self.project_key, "test-log", read))
            repo.add_seen(self.project_key, "test-log", [(i, find_source_key(read[i].note)) for i in new])
            records = repo.planned_for_targets(self.project_key, "test_log", new) if new else []
            expected = read_batch(repo, self.setup, records)
            if self.changed_runs is not None:  # a delta validation replaces what it compares
                repo.clear_problems(
                    self.project_key, PHASE, entity_type="test_log", keys=[r.source_key for r in records]
                )
                repo.clear_problems(
                    self.project_key,
                    PHASE,
                    entity_type="test_run",
                    code=LATEST_LOG_DIFFERS,
                    keys=[r for r, _ in rows],
                )
        snapshot = replace(
            self.read_back.snapshot(),
            test_runs={run_id: RunSnapshot(run_id) for run_id in logs},
            test_logs={run_id: tuple(log_snapshot(log) for log in found) for run_id, found in logs.items()},
        )
        BATCH_VALIDATORS["test_log"](expected, snapshot, self.result)
        latest = LatestLogs()
        for run_key, log_key in rows:
            latest.add(run_key, ids.get(("test_log", log_key)), ids.get(("test_run", run_key)))
        check_latest_logs(latest, snapshot, self.result)
        flush(self.ctx, self.result)

    # -- what qTest does not hold ------------------------------------------------------------------

    def unseen(self, entity_type: str, kind: str) -> None:
        """The planned entities of a type that were not read of ``kind``: missing (counted with the
        type, a batch of ``performance.batch_size`` at a time; in a delta validation, of those in
        question)."""
        size = self.ctx.config.performance.batch_size
        since = self.validation_scope.limits(entity_type)
        after: tuple[int, str, str] | None = None
        while True:
            with self.ctx.session() as repo:
                page = repo.planned_unseen_page(
                    self.project_key, entity_type, kind, after=after, limit=size, changed_since=since
                )
                expected = read_batch(repo, self.setup, page)
                if since is not None:  # a delta validation replaces what it compares
                    repo.clear_problems(
                        self.project_key, PHASE, entity_type=entity_type, keys=[r.source_key for r in page]
                    )
            self._compare(entity_type, expected, self.read_back.snapshot())
            if len(page) < size:
                return
            after = (page[-1].level, page[-1].sort_key, page[-1].source_key)
