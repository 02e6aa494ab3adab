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
from dataclasses import dataclass, field
from typing import Any

from ztoq.config import PHASES, ZtoqConfig, inert_settings
from ztoq.errors import ApiError, ConfigError, PhaseFailed, RunInterrupted, ZtoqError
from ztoq.pipeline.context import PhaseContext, Transports
from ztoq.pipeline.extract import run_extract
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.load import run_load
from ztoq.pipeline.progress import ProgressReporter, QuietProgress
from ztoq.pipeline.reconcile import ReconcileResult, run_reconcile
from ztoq.pipeline.transform import run_transform
from ztoq.pipeline.validate import ValidationResult, run_validate
from ztoq.sources import source_name
from ztoq.store import Store, open_store

#: Every phase a run can have, in the order they run. ``reconcile`` (``ztoq db reconcile``) is not
#: a migration phase users list in ``migration.phases``: it runs between transform and load.
PIPELINE_ORDER: tuple[str, ...] = (*PHASES[:2], "reconcile", *PHASES[2:])


@dataclass
class PhaseSummary:
    """How one phase went."""

    phase: str
    status: str
    seconds: float
    counts: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


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

    @property
    def requests(self) -> dict[str, int]:
        return {name: int(stats.get("requests", 0)) for name, stats in self.api.items()}

    @property
    def retries(self) -> int:
        return sum(int(s.get("retries", 0)) for s in self.api.values())

    @property
    def rate_limit_waits(self) -> int:
        return sum(int(s.get("rate_limit_waits", 0)) for s in self.api.values())


#: What to check when an API never answered in a run, by API name (Zephyr: by source name).
_HINT = {
    "zephyr_cloud": "Check zephyr.base_url (https://api.zephyrscale.smartbear.com/v2) and zephyr.api_token.",
    "zephyr_server": (
        "Check zephyr.base_url (your Jira Server/Data Center site, e.g. https://jira.example.com) and the "
        "credentials (zephyr.api_token as a personal access token, or zephyr.username and zephyr.password)."
    ),
    "qTest": "Check qtest.base_url (https://<site>.qtestnet.com) and the qTest credentials.",
}


def connection_hint(api: str, config: ZtoqConfig) -> str:
    """The sentence saying what to check when ``api`` never answered: Zephyr's fits the configured source."""
    if api != "Zephyr":
        return _HINT.get(api, "")
    try:
        return _HINT.get(source_name(config), "")
    except ConfigError:
        return ""


def never_answered(api_stats: dict[str, dict[str, Any]], api_name: str) -> bool:
    """True when the API named ``api_name`` gave no successful (2xx) answer in this run."""
    stats = api_stats.get(api_name.lower())
    if stats is None:
        return True
    return not (stats.get("responses_by_class") or {}).get("2xx")


def _phase_counts(reporter: ProgressReporter, phase: str) -> list[dict[str, Any]]:
    return [t for t in reporter.snapshot() if t["phase"] == phase]


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


#: Seconds between two writes of live progress to the store (read by ``ztoq dashboard``).
PROGRESS_INTERVAL = 1.0


async def _persist_progress(ctx: PhaseContext, phase: str, phase_run_id: int) -> None:
    """Write the phase's counts and the API counters to the store every second, until cancelled."""
    while True:
        await asyncio.sleep(PROGRESS_INTERVAL)
        counts = {c["type"]: c for c in _phase_counts(ctx.reporter, phase)}
        with ctx.session() as repo:
            repo.update_phase_counts(phase_run_id, counts)
            repo.update_run_stats(ctx.run_id, {"api": ctx.api_stats()})


@dataclass
class PhaseResults:
    """What phases return besides their counts."""

    validation: ValidationResult | None = None
    reconcile: ReconcileResult | None = None


async def _run_phases(ctx: PhaseContext, phases: list[str], summaries: list[PhaseSummary]) -> PhaseResults:
    results = PhaseResults()
    ctx.cancelled = asyncio.Event()
    with _signals(asyncio.get_running_loop(), ctx.cancelled):
        try:
            for phase in phases:
                ctx.check_cancelled()
                fault_point(f"phase.{phase}")
                with ctx.session() as repo:
                    phase_run_id = repo.start_phase(ctx.run_id, phase)
                ctx.reporter.message(f"{phase}: started")
                started = time.monotonic()
                status, error = "succeeded", None
                progress = asyncio.create_task(_persist_progress(ctx, phase, phase_run_id))
                try:
                    if phase == "extract":
                        await run_extract(ctx)
                    elif phase == "transform":
                        # Pure CPU and store work: in a thread, so live progress keeps being saved.
                        await asyncio.to_thread(run_transform, ctx)
                    elif phase == "reconcile":
                        results.reconcile = await run_reconcile(ctx)
                    elif phase == "load":
                        await run_load(ctx)
                    elif phase == "validate":
                        validation = results.validation = await run_validate(ctx)
                        if not validation.ok:
                            status = "failed"
                            error = (
                                f"Validation found {validation.missing} missing and "
                                f"{validation.mismatched} mismatched entities in qTest."
                            )
                except RunInterrupted as exc:
                    status, error = "interrupted", str(exc)
                    raise
                except ZtoqError as exc:
                    status, error = "failed", str(exc)
                    failed = PhaseFailed(phase, exc)
                    if isinstance(exc, ApiError) and never_answered(ctx.api_stats(), exc.api):
                        # Not one successful answer from this API in this run: the base URL or
                        # the token in the config is wrong, not the network having a bad day.
                        hint = connection_hint(exc.api, ctx.config)
                        failed = PhaseFailed(phase, ConfigError(f"{exc} {hint}".strip()))
                    raise failed from exc
                except Exception as exc:
                    status, error = "failed", f"{type(exc).__name__}: {exc}"
                    raise
                finally:
                    progress.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await progress
                    counts = _phase_counts(ctx.reporter, phase)
                    summaries.append(PhaseSummary(phase, status, time.monotonic() - started, counts, error))
                    with ctx.session() as repo:
                        repo.finish_phase(
                            phase_run_id,
                            status,
                            counts={c["type"]: c for c in counts},
                            error=error,
                        )
                        repo.update_run_stats(ctx.run_id, {"api": ctx.api_stats()})
                    ctx.reporter.message(f"{phase}: {status} in {time.monotonic() - started:.1f}s")
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
    summaries: list[PhaseSummary] = []
    try:
        with store.acquire_lock():
            with store.session() as repo:
                repo.interrupt_abandoned_runs(config.zephyr.project_key)
                run_id = repo.start_run(config.zephyr.project_key, command, ordered)
            ctx = PhaseContext(config, store, run_id, reporter, transports or Transports())
            for sentence in inert_settings(config):
                reporter.message(f"notice: {sentence}")
            status, error = "succeeded", None
            validation: ValidationResult | None = None
            results = PhaseResults()
            try:
                results = asyncio.run(_run_phases(ctx, ordered, summaries))
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
    finally:
        if own_store:
            store.close()
    return summary
