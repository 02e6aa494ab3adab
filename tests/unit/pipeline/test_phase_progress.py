"""The phase's live counts, written every second off the event loop, never after its final record."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, cast

import pytest

from ztoq.pipeline import phase_record
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.progress import ProgressReporter


class _SlowRepo:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def update_phase_counts(self, phase_run_id: int, counts: dict[str, Any]) -> None:
        where = "loop" if threading.current_thread() is threading.main_thread() else "worker"
        self.log.append(f"counts on {where}")
        time.sleep(0.2)  # a commit waiting for the database

    def update_run_stats(self, run_id: int, stats: dict[str, Any]) -> None:
        self.log.append("stats written")


def test_a_write_under_way_is_finished_before_the_task_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phase_record, "PROGRESS_INTERVAL", 0.01)
    log: list[str] = []

    @contextmanager
    def session() -> Iterator[_SlowRepo]:
        yield _SlowRepo(log)

    ctx = SimpleNamespace(reporter=ProgressReporter(), run_id=1, session=session, api_stats=dict)

    async def main() -> float:
        task = asyncio.create_task(phase_record._persist_progress(cast(PhaseContext, ctx), "load", 7))
        await asyncio.sleep(0.05)  # the first write is under way in its thread
        ticks = 0
        started = time.monotonic()
        while time.monotonic() - started < 0.1:  # the loop stays free meanwhile
            await asyncio.sleep(0.001)
            ticks += 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return ticks

    ticks = asyncio.run(main())
    assert log[0] == "counts on worker", "written off the event loop"
    assert log[-1] == "stats written", "the write under way ended before the task did"
    assert ticks > 20
