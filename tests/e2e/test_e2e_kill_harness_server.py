"""Crash safety with a Zephyr Scale Server/Data Center source: kill, rerun, compare with one clean run.

The same harness as ``test_e2e_kill_harness.py`` (SIGKILL at a pipeline point, then a normal
run; the qTest project must equal what one uninterrupted run leaves: zero duplicates, zero
missing), over the Server source's own reading: test cases with inline scripts, test runs with
their results read per run, attachments listed by index and downloaded from the Jira site.
Fewer points than the Cloud harness: the points are the pipeline's, shared by both sources; these
cover each phase and each attachment step once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kill_support import migrate_into_fresh_qtest

from ztoq.serving import serve_in_thread
from ztoq.simulators.zephyr_server import ZephyrServerSimulator
from ztoq.simulators.zephyr_server.generate import generate_server_dataset

pytestmark = pytest.mark.e2e

KILL_POINTS = [
    "extract.batch:2",
    "transform.batch:2",
    "load.after_intent:3",
    "load.after_create:7",
    "load.before_approve:2",
    "validate.read:1",
    "extract.attachment_downloaded:2",
    "load.attachment_uploaded:2",
]


@pytest.fixture(scope="module")
def zephyr_url() -> Iterator[str]:
    dataset = generate_server_dataset(8, seed=21, project_key="DEMO")
    with serve_in_thread(ZephyrServerSimulator(dataset).app) as url:
        yield url


@pytest.fixture(scope="module")
def reference(zephyr_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return migrate_into_fresh_qtest(tmp_path_factory.mktemp("reference"), zephyr_url, [], source="server")


def test_the_reference_run_migrated_a_server_project(reference: dict[str, Any]) -> None:
    assert len(reference["test_cases"]) == 8
    assert reference["test_runs"], "test results were migrated"
    assert reference["attachments"], "attachments arrived"


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_server_migration_killed_anywhere_then_rerun_equals_one_clean_run(
    point: str, zephyr_url: str, reference: dict[str, Any], tmp_path: Path
) -> None:
    assert migrate_into_fresh_qtest(tmp_path / "run", zephyr_url, [point], source="server") == reference
