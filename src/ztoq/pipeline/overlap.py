"""Extract, transform and load overlapped: both APIs' quotas kept busy in one ``migrate run``.

Zephyr and qTest have separate quotas, so qTest's work starts as soon as what it needs is stored,
while extract goes on reading the rest from Zephyr::

    extract    [ref. data, test cases][plans .. executions][their files' lists, files][other lists, files]
    transform                         [modules, test cases] [plans .. runs]  [logs][files]..[files][all]
    load                               [modules, test cases] [plans .. runs]  [logs] [files]..[files][all]
    validate                                [modules, test cases]          [plans .. logs]       [files]

Test cases need only the reference data and the test cases (and the images they embed, which
extract downloads with them); plans, cycles and runs need the executions; logs also need to know
which executions have files on their steps (their attachment lists come first, and take most of
Zephyr's requests: loading the runs meanwhile keeps qTest's quota busy while they are listed).
Extract downloads the files of each batch of lists while it lists the next objects, and tells
each file as it is cached; once the owners are planned and loaded, attachments go in rounds of
cached files (:mod:`ztoq.pipeline.attachment_rounds`), and once extract is done every attachment
is transformed and loaded as in a sequential run (what a round sent is not sent again). When
validate follows load in the run, it reads back each part as soon as load has finished it (the
reads use qTest's quota while extract still uses Zephyr's; attachments once load has ended, each
round having read back the files it sent); with ``migration.propagate_deletions`` it waits for
the whole load, whose last step may delete any type.

Each phase is still recorded as one phase (``migrate status``, the report, ``--phases`` and
``workflow <phase>`` are unchanged; a run of fewer phases runs them one after the other), and every
durable step is the same as in a sequential run, so a kill anywhere in the overlap resumes as a
kill anywhere else does. When one phase fails or the run is interrupted, the others stop at their
next safe point (what is in flight finishes and is recorded), and the first failure is raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

from ztoq.entities import LOAD_ORDER
from ztoq.errors import RunInterrupted
from ztoq.pipeline.attachment_rounds import AttachmentRounds
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.extract import EXECUTIONS_READ, EXECUTIONS_STORED, TEST_CASES_STORED, run_extract
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.load import prepared_loader, run_load
from ztoq.pipeline.phase_record import PhaseRecorder
from ztoq.pipeline.transform import run_transform
from ztoq.pipeline.validate import PHASE as VALIDATE
from ztoq.pipeline.validate import validate_types
from ztoq.pipeline.validate_scope import read_scope
from ztoq.pipeline.validate_types import ValidationResult

#: The phases that overlap, in pipeline order.
OVERLAPPED = ("extract", "transform", "load")

#: What needs only the reference data and the test cases: transformed and loaded while extract
#: reads the plans, cycles and executions.
EARLY_TYPES: tuple[str, ...] = ("module", "test_case")

#: What needs the files of the attachments: in rounds of cached files once the owners are loaded,
#: and all of it once extract is done.
LATE_TYPES: tuple[str, ...] = ("attachment",)

#: The rest (plans, cycles, runs, logs): transformed and loaded while extract lists and downloads
#: the files of the test cases, plans and cycles.
MIDDLE_TYPES: tuple[str, ...] = tuple(t for t in LOAD_ORDER if t not in EARLY_TYPES + LATE_TYPES)

#: What of the middle types needs only the executions (not their files' lists): transformed and
#: loaded while extract lists the executions' files.
RUN_TYPES: tuple[str, ...] = tuple(t for t in MIDDLE_TYPES if t != "test_log")

#: The rest of the middle types: the test logs, once the executions' files are listed.
LOG_TYPES: tuple[str, ...] = tuple(t for t in MIDDLE_TYPES if t not in RUN_TYPES)

STOPPED = "Stopped because another phase of this run failed or the run was interrupted; run again to resume."


def split_phases(phases: Sequence[str]) -> tuple[list[str], bool, list[str]]:
    """Split an ordered list of phases into (before, whether extract-transform-load overlap, after).

    They overlap only when the run has all three, one after the other (no reconcile between).
    """
    ordered = list(phases)
    for start in range(len(ordered) - len(OVERLAPPED) + 1):
        if tuple(ordered[start : start + len(OVERLAPPED)]) == OVERLAPPED:
            return ordered[:start], True, ordered[start + len(OVERLAPPED) :]
    return ordered, False, []


async def _when(event: asyncio.Event, producer: asyncio.Task[None]) -> None:
    """Wait until ``event`` is set; raise RunInterrupted when ``producer`` ended without setting it."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter, producer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not event.is_set():
        raise RunInterrupted(STOPPED)


async def _after(producer: asyncio.Task[None]) -> None:
    """Wait until ``producer`` ends; raise RunInterrupted unless it succeeded."""
    await asyncio.wait({producer})
    if producer.cancelled() or producer.exception() is not None:
        raise RunInterrupted(STOPPED)


class _Overlap:
    """The three phases' tasks and the events between them."""

    def __init__(self, ctx: PhaseContext, recorder: PhaseRecorder) -> None:
        self.ctx = ctx
        self.recorder = recorder
        milestones = (TEST_CASES_STORED, EXECUTIONS_READ, EXECUTIONS_STORED)
        self.extracted = {milestone: asyncio.Event() for milestone in milestones}
        self.early_planned = asyncio.Event()
        self.runs_planned = asyncio.Event()
        self.middle_planned = asyncio.Event()
        self.early_loaded = asyncio.Event()
        self.middle_loaded = asyncio.Event()
        self.extracting: asyncio.Task[None] | None = None
        self.transforming: asyncio.Task[None] | None = None
        self.loading: asyncio.Task[None] | None = None
        self.validation: ValidationResult | None = None
        #: The attachments sent while extract still downloads (None: attachments are not migrated).
        self.rounds: AttachmentRounds | None = None

    async def extract(self) -> None:
        cached = None if self.rounds is None else self.rounds.file_cached
        async with self.recorder.phase("extract"):
            await run_extract(
                self.ctx, reached=lambda milestone: self.extracted[milestone].set(), cached=cached
            )

    async def transform(self) -> None:
        assert self.extracting is not None
        await _when(self.extracted[TEST_CASES_STORED], self.extracting)
        async with self.recorder.phase("transform"):
            await asyncio.to_thread(run_transform, self.ctx, EARLY_TYPES)
            self.early_planned.set()
            await _when(self.extracted[EXECUTIONS_READ], self.extracting)
            await asyncio.to_thread(run_transform, self.ctx, RUN_TYPES)
            self.runs_planned.set()
            await _when(self.extracted[EXECUTIONS_STORED], self.extracting)
            await asyncio.to_thread(run_transform, self.ctx, LOG_TYPES)
            self.middle_planned.set()
            if self.rounds is not None:
                await self.rounds.plan(self.extracting)
            await _after(self.extracting)
            fault_point("overlap.extract_done")
            await asyncio.to_thread(run_transform, self.ctx, LATE_TYPES)

    async def load(self) -> None:
        assert self.transforming is not None
        await _when(self.early_planned, self.transforming)
        async with self.recorder.phase("load"):
            # One loader for every part: it knows which containers this run created.
            loader = prepared_loader(self.ctx)
            await loader.run(EARLY_TYPES)
            self.early_loaded.set()
            await _when(self.runs_planned, self.transforming)
            await prepared_loader(self.ctx, loader).run(RUN_TYPES)
            await _when(self.middle_planned, self.transforming)
            # Built again: the test logs' loader learns which logs have files on their steps.
            await prepared_loader(self.ctx, loader).run(LOG_TYPES)
            self.middle_loaded.set()
            if self.rounds is not None:
                await self.rounds.load(loader, self.transforming)
            await _after(self.transforming)
            counted = None if self.rounds is None else self.rounds.counted()
            await run_load(self.ctx, LATE_TYPES, loader=loader)
            if self.rounds is not None:
                self.rounds.count_again(counted)

    def validate_parts(self) -> list[tuple[asyncio.Event | None, tuple[str, ...]]]:
        """What validate reads back, each part once load has set its event (None: load ended)."""
        if self.ctx.config.migration.propagate_deletions:
            return [(None, LOAD_ORDER)]
        return [(self.early_loaded, EARLY_TYPES), (self.middle_loaded, MIDDLE_TYPES), (None, LATE_TYPES)]

    async def validate(self) -> None:
        assert self.loading is not None
        parts = self.validate_parts()
        await self.loaded(parts[0][0])
        async with self.recorder.phase(VALIDATE) as outcome:
            scope = read_scope(self.ctx)
            if not scope.delta:
                with self.ctx.session() as repo:
                    repo.clear_problems(self.ctx.project_key, VALIDATE)
            else:
                self.ctx.reporter.message(f"validate: {scope.why}")
            result = ValidationResult()
            for event, types in parts:
                await self.loaded(event)
                result.merge(await validate_types(self.ctx, types, scope))
            self.validation = result
            if (failure := result.failure()) is not None:
                outcome.status, outcome.error = "failed", failure

    async def loaded(self, event: asyncio.Event | None) -> None:
        """Wait for a part of load (``None``: all of it); RunInterrupted when load stopped first."""
        assert self.loading is not None
        await (_after(self.loading) if event is None else _when(event, self.loading))


def _first_failure(
    tasks: Sequence[asyncio.Task[None]], order: list[asyncio.Task[None]]
) -> BaseException | None:
    """The exception to raise: the first phase failure to happen, else an interruption."""
    failures = [t.exception() for t in order if not t.cancelled() and t.exception() is not None]
    for exc in failures:
        if not isinstance(exc, RunInterrupted):
            return exc
    if failures:
        return failures[0]
    if any(t.cancelled() for t in tasks):
        return asyncio.CancelledError()
    return None


async def run_overlapped(
    ctx: PhaseContext, recorder: PhaseRecorder, *, validate: bool = False
) -> ValidationResult | None:
    """Run extract, transform and load overlapped, and validate too when asked (see the module docstring).

    Returns:
        What validate found (None when it was not asked for).

    Raises:
        PhaseFailed: a phase failed (the first to fail; the others stopped at a safe point).
        RunInterrupted: the run was interrupted (every phase stopped at a safe point).
    """
    overlap = _Overlap(ctx, recorder)
    if ctx.migrates("attachment"):
        overlap.rounds = AttachmentRounds(ctx, read_back=validate)
    ended: list[asyncio.Task[None]] = []

    def on_end(task: asyncio.Task[None]) -> None:
        ended.append(task)
        if (task.cancelled() or task.exception() is not None) and ctx.cancelled is not None:
            ctx.cancelled.set()  # the other phases stop at their next safe point

    overlap.extracting = asyncio.create_task(overlap.extract(), name="extract")
    overlap.transforming = asyncio.create_task(overlap.transform(), name="transform")
    overlap.loading = asyncio.create_task(overlap.load(), name="load")
    tasks = [overlap.extracting, overlap.transforming, overlap.loading]
    if validate:
        tasks.append(asyncio.create_task(overlap.validate(), name="validate"))
    for task in tasks:
        task.add_done_callback(on_end)
    try:
        await _all(tasks)
    finally:
        if overlap.rounds is not None:
            overlap.rounds.close()
    failure = _first_failure(tasks, ended)
    if failure is not None:
        raise failure
    return overlap.validation


async def _all(tasks: Sequence[Awaitable[None]]) -> None:
    """Wait for every task to end, whatever each raised (the caller reads their exceptions)."""
    await asyncio.gather(*tasks, return_exceptions=True)
