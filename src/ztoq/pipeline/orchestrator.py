"""Run phases in order over one store, under its lock, recording the run and each phase.

``run_migration`` is what ``ztoq migrate run`` and every ``ztoq workflow <phase>`` call: it takes
the store lock (a second process is refused), closes runs a killed process left open, runs the
requested phases in pipeline order, and wraps a failure in :class:`PhaseFailed` naming the phase
and how to resume. SIGINT/SIGTERM stop new work; what is in flight finishes and is recorded, and
the run ends as ``interrupted`` (exit 130) with everything needed to resume saved.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ztoq.config import PHASES, ZtoqConfig, inert_settings
from ztoq.errors import RunInterrupted
from ztoq.pipeline.context import PhaseContext, Transports
from ztoq.pipeline.extract import run_extract
from ztoq.pipeline.load import run_load
from ztoq.pipeline.notifications import notify_run_end
from ztoq.pipeline.overlap import run_overlapped, split_phases
from ztoq.pipeline.phase_record import PhaseRecorder, PhaseSummary
from ztoq.pipeline.progress import ProgressReporter, QuietProgress
from ztoq.pipeline.reconcile import ReconcileResult, run_reconcile
from ztoq.pipeline.transform import run_transform
from ztoq.pipeline.validate import ValidationResult, run_validate
from ztoq.pipeline.validate_scope import FULL_SCOPE, read_scope
from ztoq.sources import source_name
from ztoq.store import Store, open_store

#: Every phase a run can have, in the order they run. ``reconcile`` (``ztoq db reconcile``) is not
#: a migration phase users list in ``migration.phases``: it runs between transform and load.
PIPELINE_ORDER: tuple[str, ...] = (*PHASES[:2], "reconcile", *PHASES[2:])


@dataclass
class RunSummary:
    """How a run went: what the CLI prints, the report reads, and the tests check."""

    run_id: int
    project_key: str
    status: str
    phases: list[PhaseSummary]
    wall_seconds: float
    cpu_seconds: float
    api: dict[str, dict[str, Any]]
    validation: ValidationResult | None = None
    store: str = ""
    reconcile: ReconcileResult | None = None
    #: Whether this run extracted (its validation may then be a delta one).
    extracted: bool = False

    @property
    def requests(self) -> dict[str, int]:
        return {name: int(stats.get("requests", 0)) for name, stats in self.api.items()}

    @property
    def retries(self) -> int:
        return sum(int(s.get("retries", 0)) for s in self.api.values())

    @property
    def rate_limit_waits(self) -> int:
        return sum(int(s.get("rate_limit_waits", 0)) for s in self.api.values())


@contextlib.contextmanager
def _signals(loop: asyncio.AbstractEventLoop, cancelled: asyncio.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set ``cancelled`` (a second SIGINT falls back to the default: stop now)."""
    installed: list[signal.Signals] = []

    def stop() -> None:
        if cancelled.is_set():
            loop.remove_signal_handler(signal.SIGINT)
        cancelled.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)


@dataclass
class PhaseResults:
    """What phases return besides their counts."""

    validation: ValidationResult | None = None
    reconcile: ReconcileResult | None = None
    #: Whether this run extracted (its validation may then be a delta one).
    extracted: bool = False


async def _run_phase(ctx: PhaseContext, recorder: PhaseRecorder, phase: str, results: PhaseResults) -> None:
    """Run one phase on its own, recorded."""
    async with recorder.phase(phase) as outcome:
        if phase == "extract":
            await run_extract(ctx)
            results.extracted = True
        elif phase == "transform":
            # Pure CPU and store work: in a thread, so live progress keeps being saved.
            await asyncio.to_thread(run_transform, ctx)
        elif phase == "reconcile":
            results.reconcile = await run_reconcile(ctx)
        elif phase == "load":
            await run_load(ctx)
        elif phase == "validate":
            # After this run's extract, a delta sync validates what changed (validate_scope).
            scope = read_scope(ctx) if results.extracted else FULL_SCOPE
            if scope.delta:
                ctx.reporter.message(f"validate: {scope.why}")
            validation = results.validation = await run_validate(ctx, scope)
            if (failure := validation.failure()) is not None:
                outcome.status, outcome.error = "failed", failure


async def _run_phases(ctx: PhaseContext, phases: list[str], recorder: PhaseRecorder) -> PhaseResults:
    """Run ``phases`` in order; extract, transform and load overlap when the run has all three
    (:mod:`ztoq.pipeline.overlap`) and ``performance.overlap_phases`` allows it."""
    results = PhaseResults()
    ctx.cancelled = asyncio.Event()
    before, overlapped, after = split_phases(phases)
    if not ctx.config.performance.overlap_phases:
        before, overlapped, after = phases, False, []
    with _signals(asyncio.get_running_loop(), ctx.cancelled):
        try:
            for phase in before:
                await _run_phase(ctx, recorder, phase, results)
            if overlapped:
                # Validate reads back what is loaded while load works on the tail.
                with_validate = after[:1] == ["validate"]
                results.validation = await run_overlapped(ctx, recorder, validate=with_validate)
                after = after[1:] if with_validate else after
            for phase in after:
                await _run_phase(ctx, recorder, phase, results)
        finally:
            await ctx.aclose()
    return results


def run_migration(
    config: ZtoqConfig,
    phases: list[str] | None = None,
    *,
    command: str = "migrate run",
    reporter: ProgressReporter | None = None,
    transports: Transports | None = None,
    store: Store | None = None,
) -> RunSummary:
    """Run ``phases`` (default: the config's) of a migration; return its summary.

    A validation that finds missing or mismatched entities does not raise: the summary's status
    is ``failed`` and its ``validation`` says what was found.

    Raises:
        PhaseFailed: a phase failed (the run is recorded as failed; run again to resume).
        RunInterrupted: SIGINT/SIGTERM (the run is recorded as interrupted; run again to resume).
        StoreLocked: another ztoq process works on the same store.
    """
    wanted = list(phases or config.migration.phases)
    ordered = [p for p in PIPELINE_ORDER if p in wanted]
    reporter = reporter or QuietProgress()
    if "extract" in ordered:
        config.require_source("server" if source_name(config) == "zephyr_server" else "cloud")
    if {"reconcile", "load", "validate"} & set(ordered):
        config.require_target()
    own_store = store is None
    store = store or open_store(config.database)
    wall, cpu = time.monotonic(), time.process_time()
    try:
        with store.acquire_lock(project=config.zephyr.project_key):
            with store.session() as repo:
                repo.interrupt_abandoned_runs(config.zephyr.project_key)
                run_id = repo.start_run(config.zephyr.project_key, command, ordered)
            ctx = PhaseContext(config, store, run_id, reporter, transports or Transports())
            recorder = PhaseRecorder(ctx)
            summaries = recorder.summaries
            for sentence in inert_settings(config):
                reporter.message(f"notice: {sentence}")
            status, error = "succeeded", None
            validation: ValidationResult | None = None
            results = PhaseResults()
            try:
                results = asyncio.run(_run_phases(ctx, ordered, recorder))
                validation = results.validation
                if validation is not None and not validation.ok:
                    status = "failed"
                    error = summaries[-1].error
            except RunInterrupted as exc:
                status, error = "interrupted", str(exc)
                raise
            except BaseException as exc:
                status, error = "failed", str(exc)
                raise
            finally:
                summary = RunSummary(
                    run_id,
                    config.zephyr.project_key,
                    status,
                    summaries,
                    time.monotonic() - wall,
                    time.process_time() - cpu,
                    ctx.api_stats(),
                    validation,
                    store.description,
                    results.reconcile,
                )
                stats: dict[str, Any] = {"api": summary.api}
                if results.reconcile is not None:
                    stats["reconcile"] = results.reconcile.to_json()
                if validation is not None:
                    stats["validation"] = {t: vars(c) for t, c in validation.counts.items()}
                with store.session() as repo:
                    repo.finish_run(run_id, status, error=error, stats=stats)
                reporter.close()
                notify_run_end(config, store, summary, command)
    finally:
        if own_store:
            store.close()
    return summary
