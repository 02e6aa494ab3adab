"""Extract, syncs: whether an extract lists everything or only what changed, and where it resumes.

Every extract is one *sync* of the store with Zephyr, of one of two modes:

* **full**: every listing reads the whole project, deletions are marked, and the parts of every
  test case (steps, scripts) are read again: the only way to see a step edited in Zephyr, which
  leaves the test case itself as it was. Every extract is full when ``migration.incremental`` is
  off; with it on, the first one is, then one every ``migration.full_sync_every_days`` days (0:
  every run), and any run with ``ztoq migrate run --full`` (``migration.full_sync``).
* **delta** (``migration.incremental``, between full syncs): the listings the source can filter
  by time (``delta_types``; Cloud: executions, by ``actualEndDateAfter``) ask only for what
  changed since the last completed sync started, less :data:`DELTA_OVERLAP`; a filtered listing
  marks no deletions. Parts are read only for objects that are new or changed.

A sync outlives the run that starts it: when that run is killed or fails, the next extract
resumes it (same mode, same ``since``, deletions marked against the run that started it), and
every listing resumes from its checkpoint: the position after the last page whose rows were
committed, written in the same commit as those rows. A delta sync is abandoned for a full one
when a full one is asked for (``--full``, or incremental turned off).

The bookkeeping rows live among the source rows (like :data:`~ztoq.sources.base.SOURCE_KIND`):

* ``("extract_sync", "pending")``: the sync in progress ``{"run_id", "mode", "started_at",
  "since"}``, removed when its extract completes;
* ``("extract_sync", "last")``: the last completed sync ``{"run_id", "mode", "started_at",
  "finished_at", "full_started_at"}``;
* ``("checkpoint", <entity type>)``: ``{"run_id", "next"}``, where that listing resumes (``next``
  is the source's position); removed when the listing completes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ztoq.config import MigrationConfig
from ztoq.store import Repository, SourceItem

FULL, DELTA = "full", "delta"

#: How far before the last sync's start a delta listing reaches back. An execution's end date is
#: set by whoever records it (a CI upload may set it to when its tests ran, minutes or hours before
#: the upload), and clocks differ; what the overlap lists again is only compared by hash, so it
#: costs listing pages, never a part read.
DELTA_OVERLAP = timedelta(hours=24)

PENDING = ("extract_sync", "pending")
LAST = ("extract_sync", "last")
CHECKPOINT = "checkpoint"


@dataclass(frozen=True)
class Sync:
    """One sync of the store with Zephyr (see the module docstring).

    Attributes:
        run_id: the run that started it: rows seen since then count as seen by it.
        mode: FULL or DELTA.
        started_at: when it started (the next delta sync asks for what changed after this).
        since: DELTA: what changed after this time (None for FULL).
        resumed: it was started by an earlier run, which did not complete it.
    """

    run_id: int
    mode: str
    started_at: datetime
    since: datetime | None = None
    resumed: bool = False

    def to_payload(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "started_at": self.started_at.isoformat(),
            "since": None if self.since is None else self.since.isoformat(),
        }


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _pending(payload: Any, run_id: int) -> Sync | None:
    if not isinstance(payload, Mapping) or payload.get("mode") not in (FULL, DELTA):
        return None
    started, since = _time(payload.get("started_at")), _time(payload.get("since"))
    started_by = payload.get("run_id")
    if started is None or not isinstance(started_by, int) or (payload["mode"] == DELTA and since is None):
        return None
    return Sync(started_by, str(payload["mode"]), started, since, resumed=started_by != run_id)


def decide_sync(
    pending: Any, last: Any, migration: MigrationConfig, *, run_id: int, now: datetime
) -> tuple[Sync, str]:
    """The sync this extract does, and a sentence saying why (pure).

    Args:
        pending: the payload of the pending sync row (None: none).
        last: the payload of the last completed sync row (None: none).
        migration: ``incremental``, ``full_sync`` and ``full_sync_every_days``.
        run_id: the current run.
        now: the current time (timezone-aware).
    """
    asked_full = migration.full_sync or not migration.incremental
    resumable = _pending(pending, run_id)
    if resumable is not None and not (resumable.mode == DELTA and asked_full):
        window = "" if resumable.since is None else f" (what changed since {_when(resumable.since)})"
        return resumable, f"resuming the {resumable.mode} sync of run {resumable.run_id}{window}"
    full = Sync(run_id, FULL, now)
    if not migration.incremental:
        return full, "full sync (migration.incremental is off)"
    if migration.full_sync:
        return full, "full sync (asked for with --full or migration.full_sync)"
    previous = last if isinstance(last, Mapping) else {}
    started, full_started = _time(previous.get("started_at")), _time(previous.get("full_started_at"))
    if started is None or full_started is None:
        return full, "full sync (no completed extract to sync from yet)"
    every = migration.full_sync_every_days
    if now - full_started >= timedelta(days=every):
        age = (now - full_started).total_seconds() / 86400
        return full, (
            f"full sync (the last one started {age:.1f} days ago; migration.full_sync_every_days: {every})"
        )
    since = started - DELTA_OVERLAP
    return Sync(run_id, DELTA, now, since), f"delta sync: what changed since {_when(since)}"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _payload(repo: Repository, project_key: str, key: tuple[str, str]) -> Any:
    row = repo.get_source(project_key, *key)
    return None if row is None or row.deleted_at is not None else row.payload


def sync_mode(repo: Repository, project_key: str) -> str | None:
    """The mode of the sync in progress, else of the last completed one (None: no sync yet)."""
    for key in (PENDING, LAST):
        payload = _payload(repo, project_key, key)
        if isinstance(payload, Mapping) and payload.get("mode") in (FULL, DELTA):
            return str(payload["mode"])
    return None


def begin_sync(
    repo: Repository, project_key: str, migration: MigrationConfig, *, run_id: int, now: datetime
) -> tuple[Sync, str]:
    """Resume the pending sync, or start the one :func:`decide_sync` picks (and record it)."""
    pending = _payload(repo, project_key, PENDING)
    sync, why = decide_sync(pending, _payload(repo, project_key, LAST), migration, run_id=run_id, now=now)
    if not sync.resumed:
        # A sync started over leaves no checkpoint of the one it replaces.
        repo.delete_source(project_key, CHECKPOINT)
        repo.upsert_source(project_key, [SourceItem(*PENDING, sync.to_payload())], run_id=run_id)
    return sync, why


def finish_sync(repo: Repository, project_key: str, sync: Sync, *, run_id: int, now: datetime) -> None:
    """Record ``sync`` as the last completed one and forget it as pending."""
    previous = _payload(repo, project_key, LAST)
    full_started = sync.started_at.isoformat() if sync.mode == FULL else None
    if full_started is None and isinstance(previous, Mapping):
        full_started = previous.get("full_started_at")
    last = {
        "run_id": sync.run_id,
        "mode": sync.mode,
        "started_at": sync.started_at.isoformat(),
        "finished_at": now.isoformat(),
        "full_started_at": full_started,
    }
    repo.upsert_source(project_key, [SourceItem(*LAST, last)], run_id=run_id)
    repo.delete_source(project_key, PENDING[0], [PENDING[1]])
    repo.delete_source(project_key, CHECKPOINT)


def checkpoint(repo: Repository, project_key: str, sync: Sync, entity_type: str) -> dict[str, Any] | None:
    """Where the listing of ``entity_type`` resumes in ``sync`` (None: from the start)."""
    payload = _payload(repo, project_key, (CHECKPOINT, entity_type))
    if not isinstance(payload, Mapping) or payload.get("run_id") != sync.run_id:
        return None
    position = payload.get("next")
    return dict(position) if isinstance(position, Mapping) else None


def save_checkpoint(
    repo: Repository,
    project_key: str,
    sync: Sync,
    entity_type: str,
    position: Mapping[str, Any],
    *,
    run_id: int,
) -> None:
    """Record that the listing of ``entity_type`` resumes at ``position`` (in the caller's commit)."""
    payload = {"run_id": sync.run_id, "next": dict(position)}
    repo.upsert_source(project_key, [SourceItem(CHECKPOINT, entity_type, payload)], run_id=run_id)


def clear_checkpoint(repo: Repository, project_key: str, entity_type: str) -> None:
    """Forget the checkpoint of a listing that completed."""
    repo.delete_source(project_key, CHECKPOINT, [entity_type])
