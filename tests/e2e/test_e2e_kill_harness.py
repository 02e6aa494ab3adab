"""Crash safety: kill ``ztoq migrate run`` with SIGKILL at many points, run it again, compare.

For each kill point the migration runs in a child process with ``ZTOQ_TEST_KILL_AT`` set, dies
there (SIGKILL: nothing is flushed or cleaned up), and is run again normally. The qTest project it
leaves must be exactly what one uninterrupted run leaves: identical entities, zero duplicates,
zero missing. The simulators live in this test process, so their state survives the kills.
(Kills inside the overlap of the phases, signals and chains of kills:
``test_e2e_kill_harness_overlap.py``.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kill_support import (  # noqa: F401 (fixtures)
    KILL_POINTS,
    OVERLAP_POINTS,
    migrate_into_fresh_qtest,
    reference,
    zephyr_url,
)

pytestmark = pytest.mark.e2e


def test_the_reference_run_migrated_everything(reference: dict[str, Any]) -> None:
    assert len(reference["test_cases"]) == 10
    assert sum(len(files) for files in reference["attachments"].values()) >= 5, "attachments arrived"
    assert reference["test_runs"], "executions were migrated"
    assert sum(len(logs) for logs in reference["test_runs"].values()) > 10


def test_kill_points_cover_every_phase() -> None:
    phases = {
        point.split(".")[0] if not point.startswith("phase.") else point.split(":")[0]
        for point in KILL_POINTS
    }
    assert {"extract", "transform", "load", "validate", "phase.extract", "phase.validate"} <= phases
    assert len(set(KILL_POINTS + OVERLAP_POINTS)) >= 20


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_at_any_point_then_rerun_equals_one_clean_run(
    point: str, zephyr_url: str, reference: dict[str, Any], tmp_path: Path
) -> None:
    assert migrate_into_fresh_qtest(tmp_path / "run", zephyr_url, [point]) == reference
