"""One phase of a run, recorded: started, its live progress saved every second, finished with its status.

:meth:`PhaseRecorder.phase` wraps the work of one phase, sequential (:mod:`ztoq.pipeline.orchestrator`)
or overlapped with others (:mod:`ztoq.pipeline.overlap`): it records the phase's start in the store,
saves its counts and the API counters every second (``ztoq dashboard`` and ``migrate status`` read
them), and records how it ended: ``succeeded``, ``failed`` (the error wrapped in :class:`PhaseFailed`,
naming the phase; an API that never answered in this run is reported as a configuration error)
or ``interrupted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ztoq.config import ZtoqConfig
from ztoq.errors import ApiError, ConfigError, PhaseFailed, RunInterrupted, ZtoqError
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.progress import ProgressReporter
from ztoq.sources import source_name

#: Seconds between two writes of live progress to the store (read by ``ztoq dashboard``).
PROGRESS_INTERVAL = 1.0

#: What to check when an API never answered in a run, by API name (Zephyr: by source name).
_HINT = {
    "zephyr_cloud": "Check zephyr.base_url (https://api.zephyrscale.smartbear.com/v2) and zephyr.api_token.",
    "zephyr_server": (
        "Check zephyr.base_url (your Jira Server/Data Center site, e.g. https://jira.example.com) and the "
        "credentials (zephyr.api_token as a personal access token, or zephyr.username and zephyr.password)."
    ),
    "qTest": "Check qtest.base_url (https://<site>.qtestnet.com) and the qTest credentials.",
}


@dataclass
class PhaseSummary:
    """How one phase went."""

    phase: str
    status: str
    seconds: float
    counts: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass
class Outcome:
    """How the phase's work ended when it raised nothing (validation sets ``failed`` itself)."""

    status: str = "succeeded"
    error: str | None = None


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


def phase_counts(reporter: ProgressReporter, phase: str) -> list[dict[str, Any]]:
    """The live counts of every entity type of ``phase``."""
    return [t for t in reporter.snapshot() if t["phase"] == phase]


async def _persist_progress(ctx: PhaseContext, phase: str, phase_run_id: int) -> None:
    """Write the phase's counts and the API counters to the store every second, until cancelled.

    The write runs in a worker thread: on the event loop it held every request's turn for a
    commit (each running phase, every second), and a worker kept waiting loses its turn at a
    quota. A write under way when the task is cancelled is finished first, so it never lands
    after the phase's final record.
    """
    while True:
        await asyncio.sleep(PROGRESS_INTERVAL)
        counts = {c["type"]: c for c in phase_counts(ctx.reporter, phase)}
        stats = {"api": ctx.api_stats()}

        def write(counts: dict[str, Any] = counts, stats: dict[str, Any] = stats) -> None:
            with ctx.session() as repo:
                repo.update_phase_counts(phase_run_id, counts)
                repo.update_run_stats(ctx.run_id, stats)

        written = asyncio.ensure_future(asyncio.to_thread(write))
        try:
            await asyncio.shield(written)
        except asyncio.CancelledError:
            await written
            raise


class PhaseRecorder:
    """Records the phases of one run; :attr:`summaries` in the order they ended."""

    def __init__(self, ctx: PhaseContext) -> None:
        self.ctx = ctx
        self.summaries: list[PhaseSummary] = []

    @contextlib.asynccontextmanager
    async def phase(self, phase: str) -> AsyncIterator[Outcome]:
        """Record ``phase`` around the work done in the ``async with`` body.

        Raises:
            PhaseFailed: the body raised a ZtoqError (wrapped, naming the phase).
            RunInterrupted: the run was cancelled before the phase started or during it.
        """
        ctx = self.ctx
        ctx.check_cancelled()
        fault_point(f"phase.{phase}")
        with ctx.session() as repo:
            phase_run_id = repo.start_phase(ctx.run_id, phase)
        ctx.reporter.message(f"{phase}: started")
        started = time.monotonic()
        outcome = Outcome()
        progress = asyncio.create_task(_persist_progress(ctx, phase, phase_run_id))
        try:
            yield outcome
        except RunInterrupted as exc:
            outcome.status, outcome.error = "interrupted", str(exc)
            raise
        except ZtoqError as exc:
            outcome.status, outcome.error = "failed", str(exc)
            failed = PhaseFailed(phase, exc)
            if isinstance(exc, ApiError) and never_answered(ctx.api_stats(), exc.api):
                # Not one successful answer from this API in this run: the base URL or the token in
                # the config is wrong, not the network having a bad day.
                hint = connection_hint(exc.api, ctx.config)
                failed = PhaseFailed(phase, ConfigError(f"{exc} {hint}".strip()))
            raise failed from exc
        except BaseException as exc:
            outcome.status, outcome.error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            progress.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await progress
            counts = phase_counts(ctx.reporter, phase)
            seconds = time.monotonic() - started
            self.summaries.append(PhaseSummary(phase, outcome.status, seconds, counts, outcome.error))
            with ctx.session() as repo:
                repo.finish_phase(
                    phase_run_id, outcome.status, counts={c["type"]: c for c in counts}, error=outcome.error
                )
                repo.update_run_stats(ctx.run_id, {"api": ctx.api_stats()})
            ctx.reporter.message(f"{phase}: {outcome.status} in {seconds:.1f}s")
