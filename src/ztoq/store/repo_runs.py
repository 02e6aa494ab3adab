"""Named queries on ``runs`` and ``phase_runs``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select, update

from ztoq import __version__
from ztoq.store.records import PhaseRunRecord, RunRecord, RunStatus
from ztoq.store.repo_base import RepoBase, check_value, utcnow
from ztoq.store.tables import phase_runs, runs

_FINAL = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.INTERRUPTED, RunStatus.SKIPPED)


def _run(row: Row[Any]) -> RunRecord:
    values = row._asdict()
    values["phases"] = [p for p in values["phases"].split(",") if p]
    values["stats"] = values["stats"] or {}
    return RunRecord(**values)


def _phase_run(row: Row[Any]) -> PhaseRunRecord:
    values = row._asdict()
    values["counts"] = values["counts"] or {}
    return PhaseRunRecord(**values)


def _final(status: str) -> str:
    check_value(status, RunStatus, "run status")
    if status not in _FINAL:
        raise ValueError(f"a run or phase finishes as one of {', '.join(_FINAL)}, not {status!r}")
    return str(status)


class RunQueries(RepoBase):
    """Runs and their phases (history and statistics)."""

    def start_run(
        self, project_key: str, command: str, phases: Sequence[str], *, ztoq_version: str = __version__
    ) -> int:
        """Record a run as started; returns its id (ids only ever grow)."""
        result = self._session.execute(
            runs.insert()
            .values(
                project_key=project_key,
                command=command,
                phases=",".join(phases),
                status=RunStatus.RUNNING.value,
                started_at=utcnow(),
                ztoq_version=ztoq_version,
                stats={},
            )
            .returning(runs.c.id)
        )
        return int(result.scalar_one())

    def finish_run(
        self, run_id: int, status: str, *, error: str | None = None, stats: dict[str, Any] | None = None
    ) -> None:
        """Record how a run ended (``succeeded``, ``failed`` or ``interrupted``), with its final stats."""
        values: dict[str, Any] = {"status": _final(status), "finished_at": utcnow(), "error": error}
        if stats is not None:
            values["stats"] = stats
        self._session.execute(update(runs).where(runs.c.id == run_id).values(values))

    def update_run_stats(self, run_id: int, stats: dict[str, Any]) -> None:
        """Replace a run's statistics (requests per API, retries, rate-limit waits, counts)."""
        self._session.execute(update(runs).where(runs.c.id == run_id).values(stats=stats))

    def list_runs(self, project_key: str | None = None, *, limit: int = 20) -> list[RunRecord]:
        """The most recent runs first."""
        query = select(*runs.c).order_by(runs.c.id.desc()).limit(limit)
        if project_key is not None:
            query = query.where(runs.c.project_key == project_key)
        return [_run(row) for row in self._session.execute(query)]

    def last_run_per_project(self) -> list[RunRecord]:
        """The most recent run of every project the store holds, by project key."""
        latest = select(func.max(runs.c.id)).group_by(runs.c.project_key).scalar_subquery()
        query = select(*runs.c).where(runs.c.id.in_(latest)).order_by(runs.c.project_key)
        return [_run(row) for row in self._session.execute(query)]

    def latest_run(self, project_key: str, *, command: str | None = None) -> RunRecord | None:
        """The most recent run of a project (optionally of one command), or None."""
        query = select(*runs.c).where(runs.c.project_key == project_key).order_by(runs.c.id.desc()).limit(1)
        if command is not None:
            query = query.where(runs.c.command == command)
        row = self._session.execute(query).first()
        return None if row is None else _run(row)

    def interrupt_abandoned_runs(self, project_key: str) -> int:
        """Mark runs still ``running`` as ``interrupted``; call only while holding the store lock.

        A run killed outright (SIGKILL, power loss) never records its end; the next run, once it
        holds the lock and so knows nobody else is running, closes such runs here.

        Returns:
            How many runs (and their running phases) were closed.
        """
        now = utcnow()
        stale = select(runs.c.id).where(
            runs.c.project_key == project_key, runs.c.status == RunStatus.RUNNING.value
        )
        ids = list(self._session.scalars(stale))
        if not ids:
            return 0
        values = {"status": RunStatus.INTERRUPTED.value, "finished_at": now}
        self._session.execute(
            update(phase_runs)
            .where(phase_runs.c.run_id.in_(ids), phase_runs.c.status == RunStatus.RUNNING.value)
            .values({**values, "error": "The process ended without recording how the phase finished."})
        )
        self._session.execute(
            update(runs)
            .where(runs.c.id.in_(ids))
            .values({**values, "error": "The process ended without recording how the run finished."})
        )
        return len(ids)

    def start_phase(self, run_id: int, phase: str) -> int:
        """Record a phase of a run as started; returns the phase run id."""
        result = self._session.execute(
            phase_runs.insert()
            .values(
                run_id=run_id, phase=phase, status=RunStatus.RUNNING.value, started_at=utcnow(), counts={}
            )
            .returning(phase_runs.c.id)
        )
        return int(result.scalar_one())

    def update_phase_counts(self, phase_run_id: int, counts: dict[str, Any]) -> None:
        """Replace a phase's progress counts, e.g. ``{"test_case": {"done": 9, "total": 50}}``."""
        self._session.execute(update(phase_runs).where(phase_runs.c.id == phase_run_id).values(counts=counts))

    def finish_phase(
        self,
        phase_run_id: int,
        status: str,
        *,
        counts: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Record how a phase ended, with its final counts."""
        values: dict[str, Any] = {"status": _final(status), "finished_at": utcnow(), "error": error}
        if counts is not None:
            values["counts"] = counts
        self._session.execute(update(phase_runs).where(phase_runs.c.id == phase_run_id).values(values))

    def phase_runs(self, run_id: int) -> list[PhaseRunRecord]:
        """The phases of a run, in the order they started."""
        query = select(*phase_runs.c).where(phase_runs.c.run_id == run_id).order_by(phase_runs.c.id)
        return [_phase_run(row) for row in self._session.execute(query)]
