"""What the dashboard shows, read from the store alone: one short session per poll.

:func:`read_status` turns one ``Repository`` session into the JSON the page renders: the run, its
phases with their live counts (``phase_runs.counts``, written every second by the orchestrator),
the API counters (``runs.stats["api"]``), problems by severity and code, the per-type table of
:func:`~ztoq.pipeline.status.type_status`, and the attachments (files and bytes per owner kind,
sent and not sent with reasons: :func:`~ztoq.report.attachments.attachment_overview`).
:class:`StatusSource` owns the store for the web app: it opens it lazily (a dashboard may start
before the migration creates the database), keeps each read short, and recomputes the costlier
parts (the per-type table, the attachments, problem examples) at most every few seconds, or at
once when the run or a phase changes status.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ztoq.config import ZtoqConfig
from ztoq.errors import ConfigError, ZtoqError
from ztoq.pipeline.status import type_status
from ztoq.report.attachments import attachment_overview, empty_overview, overview_to_dict
from ztoq.report.sections import KEPT_IN_TEXT
from ztoq.store import PhaseRunRecord, Repository, RunRecord, Store, open_store
from ztoq.store.repo_base import error_reason

#: Problem severities, worst first (the order of the "problems" panel).
SEVERITY_ORDER = ("failed", "missing", "mismatch", "skipped", "degraded")
#: How many (severity, code) rows the problems panel lists.
TOP_CODES = 10
#: The per-type table and problem examples are recomputed at most this often (seconds)...
SLOW_EVERY = 5.0
#: ...or this many times their last cost, when that is longer (a large store stays responsive).
SLOW_COST_FACTOR = 20.0


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    value = _utc(value)
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _seconds(start: datetime | None, end: datetime | None, now: datetime) -> float | None:
    start = _utc(start)
    if start is None:
        return None
    return round(max(0.0, ((_utc(end) or now) - start).total_seconds()), 1)


def _number(value: Any, default: float | None = 0) -> float | None:
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float):
        return value
    return default


def _count_row(entity_type: str, raw: Any) -> dict[str, Any]:
    """One (phase, entity type) progress row, tolerant of partial or older shapes."""
    values = raw if isinstance(raw, dict) else {}
    done = int(_number(values.get("done")) or 0)
    total_raw = _number(values.get("total"), None)
    total = None if total_raw is None else int(total_raw)
    percent = None
    if total is not None:
        percent = 100.0 if total <= 0 else round(min(100.0, 100.0 * done / total), 1)
    return {
        "type": str(values.get("type") or entity_type),
        "done": done,
        "total": total,
        "failed": int(_number(values.get("failed")) or 0),
        "skipped": int(_number(values.get("skipped")) or 0),
        "rate": _number(values.get("rate"), None),
        "eta": _number(values.get("eta"), None),
        "percent": percent,
    }


def _phase(record: PhaseRunRecord, now: datetime) -> dict[str, Any]:
    counts = record.counts if isinstance(record.counts, dict) else {}
    return {
        "phase": record.phase,
        "status": record.status,
        "started_at": _iso(record.started_at),
        "finished_at": _iso(record.finished_at),
        "seconds": _seconds(record.started_at, record.finished_at, now),
        "error": record.error,
        "counts": [_count_row(str(entity_type), raw) for entity_type, raw in counts.items()],
    }


def _phases(run: RunRecord, records: list[PhaseRunRecord], now: datetime) -> list[dict[str, Any]]:
    """The run's phases in order: those started (the latest attempt of each), then those to come."""
    phases = [_phase(r, now) for r in records]
    started = {p["phase"] for p in phases}
    pending = "pending" if run.status == "running" else "not run"
    for name in run.phases:
        if name not in started:
            phases.append(
                {
                    "phase": name,
                    "status": pending,
                    "started_at": None,
                    "finished_at": None,
                    "seconds": None,
                    "error": None,
                    "counts": [],
                }
            )
    return phases


def _api(stats: dict[str, Any]) -> list[dict[str, Any]]:
    api = stats.get("api") if isinstance(stats, dict) else None
    if not isinstance(api, dict):
        return []
    rows = []
    for name, values in sorted(api.items()):
        values = values if isinstance(values, dict) else {}
        rows.append(
            {
                "api": str(name),
                "requests": int(_number(values.get("requests")) or 0),
                "retries": int(_number(values.get("retries")) or 0),
                "rate_limit_waits": int(_number(values.get("rate_limit_waits")) or 0),
                "rate_limit_wait_seconds": round(
                    float(_number(values.get("rate_limit_wait_seconds")) or 0), 1
                ),
            }
        )
    return rows


def _run(run: RunRecord, now: datetime) -> dict[str, Any]:
    return {
        "id": run.id,
        "command": run.command,
        "status": run.status,
        "phases": list(run.phases),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "elapsed_seconds": _seconds(run.started_at, run.finished_at, now),
        "ztoq_version": run.ztoq_version,
        "error": run.error,
    }


def _severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def problem_summary(
    repo: Repository,
    project_key: str,
    *,
    top: int = TOP_CODES,
    examples: dict[tuple[str, str], dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """Problems by severity, and the ``top`` (severity, code) pairs, worst severity first.

    Each top code carries one example (the entity and message of its first recorded problem),
    taken from ``examples`` when given and looked up (and added to it) otherwise. Values kept
    whole in text because qTest has no field for them are no problems: ``kept_in_text`` counts
    them apart.
    """
    by_code: dict[tuple[str, str], int] = defaultdict(int)
    phases: dict[tuple[str, str], set[str]] = defaultdict(set)
    kept_in_text = 0
    for (phase, severity, code), count in repo.problem_counts(project_key).items():
        if severity == KEPT_IN_TEXT:
            kept_in_text += count
            continue
        by_code[(severity, code)] += count
        phases[(severity, code)].add(phase)
    by_severity: dict[str, int] = defaultdict(int)
    for (severity, _code), count in by_code.items():
        by_severity[severity] += count
    ranked = sorted(by_code.items(), key=lambda item: (_severity_rank(item[0][0]), -item[1], item[0][1]))
    cache = examples if examples is not None else {}
    codes = []
    for (severity, code), count in ranked[:top]:
        if (severity, code) not in cache:
            found = repo.list_problems(project_key, severity=severity, code=code, limit=1)
            cache[(severity, code)] = (
                {
                    "entity_type": found[0].entity_type,
                    "source_key": found[0].source_key,
                    "field": found[0].field,
                    "message": found[0].message,
                }
                if found
                else None
            )
        codes.append(
            {
                "severity": severity,
                "code": code,
                "count": count,
                "phases": sorted(phases[(severity, code)]),
                "example": cache[(severity, code)],
            }
        )
    return {
        "total": sum(by_severity.values()),
        "by_severity": [
            {"severity": s, "count": n}
            for s, n in sorted(by_severity.items(), key=lambda item: _severity_rank(item[0]))
        ],
        "top_codes": codes,
        "more_codes": max(0, len(ranked) - top),
        "kept_in_text": kept_in_text,
    }


def type_table(repo: Repository, project_key: str) -> list[dict[str, Any]]:
    """:func:`type_status` as JSON rows (Zephyr / planned / in qTest / degraded / kept in text / ...)."""
    return [
        {key: value for key, value in asdict(row).items() if key != "states"}
        for row in type_status(repo, project_key)
    ]


def empty_status(project_key: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The shape of :func:`read_status` with nothing in it (no store or no run yet)."""
    return {
        "project_key": project_key,
        "now": _iso(now or datetime.now(UTC)),
        "run": None,
        "phases": [],
        "api": [],
        "problems": {"total": 0, "by_severity": [], "top_codes": [], "more_codes": 0, "kept_in_text": 0},
        "types": [],
        "attachments": overview_to_dict(empty_overview()),
    }


def read_status(
    repo: Repository,
    project_key: str,
    *,
    now: datetime | None = None,
    with_slow: bool = True,
    examples: dict[tuple[str, str], dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """Everything the dashboard shows, from one repository session.

    Args:
        repo: An open session of the store.
        project_key: The Zephyr project key of the config.
        now: The time elapsed and running durations are measured to (default: now).
        with_slow: Include ``types`` (the per-type table) and ``attachments``, the costliest reads.
        examples: A cache of problem examples per (severity, code), kept between calls.

    Returns:
        ``project_key``, ``now``, ``run`` (None before the first run), ``phases``, ``api``,
        ``problems`` and, with ``with_slow``, ``types`` and ``attachments``.
    """
    now = now or datetime.now(UTC)
    run = repo.latest_run(project_key)
    status: dict[str, Any] = {
        "project_key": project_key,
        "now": _iso(now),
        "run": None,
        "phases": [],
        "api": [],
        "problems": problem_summary(repo, project_key, examples=examples),
    }
    if run is not None:
        status["run"] = _run(run, now)
        status["phases"] = _phases(run, repo.phase_runs(run.id), now)
        status["api"] = _api(run.stats)
    if with_slow:
        status["types"] = type_table(repo, project_key)
        status["attachments"] = overview_to_dict(attachment_overview(repo, project_key))
    return status


class StatusSource:
    """The store behind a dashboard: opened lazily, read in one short session per poll.

    Thread-safe: polls are served one at a time (each is a few indexed queries), so any number of
    open pages costs the store no more than one reader.
    """

    def __init__(self, config: ZtoqConfig, *, config_file: str | None = None) -> None:
        if not config.zephyr.project_key:
            raise ConfigError("zephyr.project_key is not set; add it to the config file (e.g. PROJ).")
        self.config = config
        self.project_key = config.zephyr.project_key
        self.config_file = config_file
        self._store: Store | None = None
        self._lock = threading.Lock()
        self._types: list[dict[str, Any]] | None = None
        self._attachments: dict[str, Any] = overview_to_dict(empty_overview())
        self._slow_at = 0.0
        self._slow_cost = 0.0
        self._slow_key: tuple[Any, ...] | None = None
        self._examples: dict[tuple[str, str], dict[str, Any] | None] = {}
        self.closed = False

    @property
    def store_description(self) -> str:
        return self.config.database.describe()

    def _open(self) -> Store:
        if self._store is None:
            self._store = open_store(
                self.config.database, create_if_empty=False, config_file=self.config_file
            )
        return self._store

    def _slow_due(self, key: tuple[Any, ...]) -> bool:
        if self._types is None or key != self._slow_key:
            return True
        return time.monotonic() - self._slow_at >= max(SLOW_EVERY, SLOW_COST_FACTOR * self._slow_cost)

    def read(self) -> dict[str, Any]:
        """The dashboard's JSON: the status, or ``error`` saying why the store cannot be read yet."""
        with self._lock:
            base: dict[str, Any] = {"store": self.store_description, "error": None}
            if self.closed:
                return {**base, **empty_status(self.project_key), "error": "The dashboard is shutting down."}
            try:
                store = self._open()
                with store.session() as repo:
                    run = repo.latest_run(self.project_key)
                    key: tuple[Any, ...] = (None,)
                    if run is not None:
                        key = (run.id, run.status, *((p.phase, p.status) for p in repo.phase_runs(run.id)))
                    slow = self._slow_due(key)
                    started = time.monotonic()
                    if slow:
                        self._examples = {}
                    status = read_status(repo, self.project_key, with_slow=slow, examples=self._examples)
                    if slow:
                        self._types = status["types"]
                        self._attachments = status["attachments"]
                        self._slow_at = time.monotonic()
                        self._slow_cost = self._slow_at - started
                        self._slow_key = key
            except (ZtoqError, SQLAlchemyError) as exc:
                reason = (
                    str(exc)
                    if isinstance(exc, ZtoqError)
                    else f"The store could not be read ({error_reason(exc)})."
                )
                return {
                    **base,
                    **empty_status(self.project_key),
                    "error": f"{reason} This page keeps checking.",
                }
            status["types"] = self._types or []
            status["attachments"] = self._attachments
            return {**base, **status}

    def close(self) -> None:
        """Close the store's connections; later reads answer with an error."""
        with self._lock:
            self.closed = True
            if self._store is not None:
                self._store.close()
                self._store = None
