"""Live progress per phase and entity type: Rich bars on a terminal, parseable lines otherwise.

Phases report through :class:`ProgressReporter`; the orchestrator picks the rendering:
``RichProgress`` on a TTY, ``LineProgress`` (one ``key=value`` line per update, throttled) when
output is piped or logged, ``JsonProgress`` (one JSON object per line) for ``--json``, and
``QuietProgress`` for ``--quiet``. Every reporter also keeps the counts, so the summary and the
store's phase records read them from one place.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@dataclass
class TaskCounts:
    """Counts of one (phase, entity type)."""

    phase: str
    entity_type: str
    total: int | None = None
    done: int = 0
    failed: int = 0
    skipped: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def rate(self) -> float:
        elapsed = (self.finished or time.monotonic()) - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        if self.total is None or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.rate)

    def as_dict(self) -> dict[str, Any]:
        eta = self.eta_seconds
        return {
            "phase": self.phase,
            "type": self.entity_type,
            "done": self.done,
            "total": self.total,
            "failed": self.failed,
            "skipped": self.skipped,
            "rate": round(self.rate, 2),
            "eta": None if eta is None else round(eta, 1),
        }


log = logging.getLogger("ztoq.progress")


class ProgressReporter:
    """Base reporter: keeps counts; subclasses render them (and every notice goes to the log)."""

    def __init__(self) -> None:
        self.tasks: dict[tuple[str, str], TaskCounts] = {}
        self._lock = threading.Lock()

    # -- called by the phases ----------------------------------------------------------
    def start(self, phase: str, entity_type: str, total: int | None = None) -> None:
        """Begin (or re-begin) counting ``entity_type`` within ``phase``."""
        with self._lock:
            self.tasks[(phase, entity_type)] = TaskCounts(phase, entity_type, total)
        self._render_start(self.tasks[(phase, entity_type)])

    def add_to_total(self, phase: str, entity_type: str, more: int) -> None:
        """Count ``more`` items to do in ``entity_type`` of ``phase`` (begun if it was not)."""
        key = (phase, entity_type)
        if key not in self.tasks:
            self.start(phase, entity_type, total=more)
            return
        task = self.tasks[key]
        with self._lock:
            task.total = (task.total or 0) + more
        self._render_update(task, force=True)

    def set_total(self, phase: str, entity_type: str, total: int) -> None:
        """Set the expected total once it is known."""
        task = self._task(phase, entity_type)
        task.total = total
        self._render_update(task, force=True)

    def advance(
        self, phase: str, entity_type: str, done: int = 1, *, failed: int = 0, skipped: int = 0
    ) -> None:
        """Count ``done`` more items (and how many of them failed or were skipped)."""
        task = self._task(phase, entity_type)
        with self._lock:
            task.done += done
            task.failed += failed
            task.skipped += skipped
        self._render_update(task, force=False)

    def finish(self, phase: str, entity_type: str) -> None:
        """Mark ``entity_type`` of ``phase`` complete."""
        task = self._task(phase, entity_type)
        task.finished = time.monotonic()
        if task.total is None:
            task.total = task.done
        log.info(
            "%s %s: %d done, %d failed, %d skipped", phase, entity_type, task.done, task.failed, task.skipped
        )
        self._render_update(task, force=True)

    def message(self, text: str) -> None:
        """A one-line notice (a phase starting, a retry storm, a summary line)."""
        log.info(text)

    def close(self) -> None:
        """Stop rendering."""

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [t.as_dict() for t in self.tasks.values()]

    # -- rendering hooks ---------------------------------------------------------------
    def _task(self, phase: str, entity_type: str) -> TaskCounts:
        key = (phase, entity_type)
        if key not in self.tasks:
            self.start(phase, entity_type)
        return self.tasks[key]

    def _render_start(self, task: TaskCounts) -> None:
        return None

    def _render_update(self, task: TaskCounts, force: bool) -> None:
        return None


class QuietProgress(ProgressReporter):
    """Counts only; prints nothing (``--quiet``)."""


class LineProgress(ProgressReporter):
    """Plain ``key=value`` lines, at most one per task every ``interval`` seconds."""

    def __init__(self, stream: IO[str] | None = None, interval: float = 5.0) -> None:
        super().__init__()
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last: dict[tuple[str, str], float] = {}

    def message(self, text: str) -> None:
        super().message(text)
        print(text, file=self.stream, flush=True)

    def _render_update(self, task: TaskCounts, force: bool) -> None:
        key = (task.phase, task.entity_type)
        now = time.monotonic()
        if not force and now - self._last.get(key, 0.0) < self.interval:
            return
        self._last[key] = now
        d = task.as_dict()
        total = "?" if d["total"] is None else d["total"]
        eta = "" if d["eta"] is None else f" eta={d['eta']}s"
        print(
            f"progress phase={d['phase']} type={d['type']} done={d['done']}/{total} "
            f"failed={d['failed']} rate={d['rate']}/s{eta}",
            file=self.stream,
            flush=True,
        )


class JsonProgress(LineProgress):
    """One JSON object per line (``--json``), for automation."""

    def message(self, text: str) -> None:
        log.info(text)
        print(json.dumps({"event": "message", "text": text}), file=self.stream, flush=True)

    def _render_update(self, task: TaskCounts, force: bool) -> None:
        key = (task.phase, task.entity_type)
        now = time.monotonic()
        if not force and now - self._last.get(key, 0.0) < self.interval:
            return
        self._last[key] = now
        print(json.dumps({"event": "progress", **task.as_dict()}), file=self.stream, flush=True)


class RichProgress(ProgressReporter):
    """Rich progress bars, one per (phase, entity type), with counts, rate and ETA."""

    def __init__(self, console: Console | None = None) -> None:
        super().__init__()
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]{task.fields[phase]:<9}[/] {task.fields[etype]:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8}/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._ids: dict[tuple[str, str], TaskID] = {}
        self._progress.start()

    def message(self, text: str) -> None:
        super().message(text)
        self._progress.console.print(text, markup=False, highlight=False)

    def _render_start(self, task: TaskCounts) -> None:
        key = (task.phase, task.entity_type)
        if key in self._ids:
            self._progress.reset(self._ids[key], total=task.total, completed=0)
            return
        self._ids[key] = self._progress.add_task(
            "", total=task.total, phase=task.phase, etype=task.entity_type, rate="0.0"
        )

    def _render_update(self, task: TaskCounts, force: bool) -> None:
        task_id = self._ids.get((task.phase, task.entity_type))
        if task_id is not None:
            self._progress.update(task_id, completed=task.done, total=task.total, rate=f"{task.rate:.1f}")

    def close(self) -> None:
        self._progress.stop()


def make_reporter(
    *, quiet: bool = False, as_json: bool = False, stream: IO[str] | None = None
) -> ProgressReporter:
    """The reporter for this terminal and these flags."""
    out = stream or sys.stderr
    if quiet:
        return QuietProgress()
    if as_json:
        return JsonProgress(out)
    if out.isatty():
        return RichProgress(Console(file=out))
    return LineProgress(out)
