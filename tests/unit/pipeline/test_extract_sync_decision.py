"""Which sync an extract does: full or delta, resumed or new (``decide_sync`` is pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ztoq.config import MigrationConfig
from ztoq.pipeline.extract_sync import DELTA, DELTA_OVERLAP, FULL, Sync, decide_sync

NOW = datetime(2030, 6, 10, 12, 0, tzinfo=UTC)
RUN = 40


def last(days_ago: float = 1, full_days_ago: float | None = None) -> dict[str, Any]:
    started = NOW - timedelta(days=days_ago)
    full = NOW - timedelta(days=days_ago if full_days_ago is None else full_days_ago)
    return {
        "run_id": 30,
        "mode": FULL,
        "started_at": started.isoformat(),
        "full_started_at": full.isoformat(),
    }


def decide(pending: Any = None, previous: Any = None, **migration: Any) -> tuple[Sync, str]:
    return decide_sync(pending, previous, MigrationConfig(**migration), run_id=RUN, now=NOW)


def test_without_incremental_every_extract_is_a_full_sync() -> None:
    sync, why = decide(previous=last())
    assert sync == Sync(RUN, FULL, NOW)
    assert "migration.incremental is off" in why


def test_the_first_incremental_extract_is_full() -> None:
    sync, why = decide(incremental=True)
    assert (sync.mode, sync.since, sync.resumed) == (FULL, None, False)
    assert "no completed extract" in why


def test_then_a_delta_sync_asks_for_what_changed_since_the_last_one_started() -> None:
    previous = last(days_ago=2, full_days_ago=3)
    sync, why = decide(previous=previous, incremental=True)
    started = NOW - timedelta(days=2)
    assert sync == Sync(RUN, DELTA, NOW, started - DELTA_OVERLAP)
    assert why.startswith("delta sync: what changed since ")


@pytest.mark.parametrize(("every", "full_days_ago", "mode"), [(7, 6.9, DELTA), (7, 7, FULL), (0, 0.01, FULL)])
def test_a_full_sync_comes_every_full_sync_every_days(every: int, full_days_ago: float, mode: str) -> None:
    sync, why = decide(previous=last(0.5, full_days_ago), incremental=True, full_sync_every_days=every)
    assert sync.mode == mode
    if mode == FULL:
        assert f"migration.full_sync_every_days: {every}" in why


def test_a_full_sync_is_asked_for() -> None:
    sync, why = decide(previous=last(), incremental=True, full_sync=True)
    assert sync.mode == FULL
    assert "--full" in why


def test_an_unfinished_sync_is_resumed_as_it_was() -> None:
    since = NOW - timedelta(days=4)
    pending = Sync(33, DELTA, NOW - timedelta(hours=3), since).to_payload()
    sync, why = decide(pending=pending, previous=last(), incremental=True)
    assert sync == Sync(33, DELTA, NOW - timedelta(hours=3), since, resumed=True)
    assert why.startswith("resuming the delta sync of run 33")
    # A full one stays full, whatever this run would have chosen.
    full = Sync(33, FULL, NOW - timedelta(hours=3)).to_payload()
    assert decide(pending=full, previous=last(), incremental=True)[0].mode == FULL


@pytest.mark.parametrize("migration", [{"incremental": True, "full_sync": True}, {"incremental": False}])
def test_asking_for_a_full_sync_abandons_an_unfinished_delta(migration: dict[str, Any]) -> None:
    pending = Sync(33, DELTA, NOW - timedelta(hours=3), NOW - timedelta(days=2)).to_payload()
    sync, _ = decide(pending=pending, previous=last(), **migration)
    assert sync == Sync(RUN, FULL, NOW)


@pytest.mark.parametrize(
    "pending",
    [{"mode": "sideways"}, {"mode": DELTA, "run_id": 3, "started_at": NOW.isoformat()}, "nonsense", {}],
)
def test_a_malformed_pending_sync_is_ignored(pending: Any) -> None:
    sync, _ = decide(pending=pending, previous=last(0.5), incremental=True)
    assert (sync.run_id, sync.mode, sync.resumed) == (RUN, DELTA, False)
