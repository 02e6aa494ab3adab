"""The rounds of attachments of an overlapped run ask the store only about their own files.

A round plans a few dozen files while extract and load go on; at 100,000 test cases a run
makes thousands of rounds. One count of every stored row per round (what transform's progress
and run grouping ask) made the rounds quadratic in the project's size: 7,185 whole-table scans
of ``source_entities`` reading 1.17 billion rows at 100,000 test cases, against 205 at 10,000.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from pathlib import Path

import pytest
from e2e_support import Served

from ztoq.config import load_config
from ztoq.pipeline import attachment_rounds
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.orchestrator import run_migration
from ztoq.store import Repository

pytestmark = pytest.mark.e2e


def test_a_round_of_attachments_never_counts_the_stored_rows(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served.zephyr.faults.latency_ms = 30  # extract outlasts the first rounds
    database = {"type": "sqlite", "path": str(tmp_path / "migration.db")}
    config = load_config(
        served.config(database, migration={"include_attachments": True}, performance={"batch_size": 5})
    )
    plan_round = attachment_rounds.transform_attachments
    count_rows = Repository.source_counts
    rounds: list[int] = []
    counted_in_rounds: list[str] = []
    # Per thread: transform of the other types may count in its own thread while a round plans.
    in_round = threading.local()

    def transform_attachments(ctx: PhaseContext, keys: Collection[str]) -> list[str]:
        in_round.active = True
        try:
            rounds.append(len(keys))
            return plan_round(ctx, keys)
        finally:
            in_round.active = False

    def source_counts(repo: Repository, project_key: str, *, include_deleted: bool = False) -> dict[str, int]:
        if getattr(in_round, "active", False):
            counted_in_rounds.append(project_key)
        return count_rows(repo, project_key, include_deleted=include_deleted)

    monkeypatch.setattr(attachment_rounds, "transform_attachments", transform_attachments)
    monkeypatch.setattr(Repository, "source_counts", source_counts)
    summary = run_migration(config)
    served.zephyr.faults.latency_ms = 0

    assert summary.status == "succeeded"
    assert len(rounds) >= 2, "the run planned its files in rounds"
    assert counted_in_rounds == []
