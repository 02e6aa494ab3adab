"""Crash safety with a Zephyr Scale Server/Data Center source: kill, rerun, compare with one clean run.

The same harness as ``test_e2e_kill_harness.py`` (SIGKILL at a pipeline point, then a normal
run; the qTest project must equal what one uninterrupted run leaves: zero duplicates, zero
missing), over the Server source's own reading: test cases with inline scripts, test runs with
their results read per run, attachments listed by index and downloaded from the Jira site.
Fewer points than the Cloud harness: the points are the pipeline's, shared by both sources; these
cover each phase and each attachment step once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import qtest_snapshot

from ztoq.rehearsal import simulator_config, write_config
from ztoq.serving import serve_in_thread
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator
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


def migrate(workdir: Path, zephyr: str, qtest: str, project: int, kill_at: str | None) -> int:
    config = simulator_config(zephyr, qtest, project, workdir, max_workers=4, batch_size=5, source="server")
    config["logging"] = {"level": "WARNING"}
    path = write_config(config, workdir / "config.yaml")
    env = {k: v for k, v in os.environ.items() if k != "ZTOQ_TEST_KILL_AT"}
    if kill_at:
        env["ZTOQ_TEST_KILL_AT"] = kill_at
    proc = subprocess.run(
        [sys.executable, "-m", "ztoq.cli", "migrate", "run", "--config", str(path), "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.returncode


def migrate_into_fresh_qtest(workdir: Path, zephyr: str, kill_at: str | None) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    qtest = QTestSimulator.generated()
    with serve_in_thread(qtest.app) as qurl:
        headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
        project = httpx.get(f"{qurl}/api/v3/projects", headers=headers).json()[0]["id"]
        if kill_at:
            assert migrate(workdir, zephyr, qurl, project, kill_at) == -signal.SIGKILL, (
                f"{kill_at} not reached"
            )
        assert migrate(workdir, zephyr, qurl, project, None) == 0
        with httpx.Client(base_url=f"{qurl}/api/v3/projects/{project}", headers=headers, timeout=30) as api:
            return qtest_snapshot(api)


@pytest.fixture(scope="module")
def reference(zephyr_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return migrate_into_fresh_qtest(tmp_path_factory.mktemp("reference"), zephyr_url, None)


def test_the_reference_run_migrated_a_server_project(reference: dict[str, Any]) -> None:
    assert len(reference["test_cases"]) == 8
    assert reference["test_runs"], "test results were migrated"
    assert reference["attachments"], "attachments arrived"


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_server_migration_killed_anywhere_then_rerun_equals_one_clean_run(
    point: str, zephyr_url: str, reference: dict[str, Any], tmp_path: Path
) -> None:
    assert migrate_into_fresh_qtest(tmp_path / "run", zephyr_url, point) == reference
