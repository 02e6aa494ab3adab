"""What the kill harness's test files share: the kill points, the simulators, one migration in a
child process (killed or not), and the reference run a killed-then-resumed run must equal.

Fixtures defined here are imported by each test file (module scope: one reference run a file).
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

from ztoq.config import load_config
from ztoq.rehearsal import simulator_config, write_config
from ztoq.serving import serve_in_thread
from ztoq.simulators.faults import FaultOptions
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset
from ztoq.store import open_store

#: Kill points spread over every phase: "<point>:<n>" kills at the n-th arrival at the point.
KILL_POINTS = [
    "phase.extract:1",
    "extract.batch:2",
    "phase.transform:1",
    "transform.batch:2",
    "phase.load:1",
    "load.after_intent:1",
    "load.after_create:1",
    "load.after_record:2",
    "load.before_approve:2",
    "load.after_intent:14",
    "load.after_create:55",
    "phase.validate:1",
    "validate.read:2",
    # Attachments: between download and upload, after the intent, between upload and recording.
    "extract.attachment_downloaded:2",
    "load.attachment_before_upload:2",
    "load.attachment_uploaded:1",
    "load.attachment_uploaded:4",
]


#: Kill points while extract and load overlap: Zephyr answers slowly (as a real quota makes it), so
#: extract still reads the executions and attachments while the test cases are created in qTest,
#: and still lists and downloads files while the first rounds of attachments are planned and sent.
OVERLAP_POINTS = [
    "load.after_create:2",
    "load.after_record:4",
    "extract.attachment_downloaded:4",
    "overlap.attachment_round:1",
    "load.attachment_uploaded:3",
    "overlap.attachment_read:1",
]


@pytest.fixture(scope="module")
def slow_zephyr_url() -> Iterator[str]:
    dataset = generate_dataset(10, seed=21)
    with serve_in_thread(ZephyrSimulator(dataset, faults=FaultOptions(latency_ms=40)).app) as url:
        yield url


@pytest.fixture(scope="module")
def zephyr_url() -> Iterator[str]:
    dataset = generate_dataset(10, seed=21)
    with serve_in_thread(ZephyrSimulator(dataset).app) as url:
        yield url


def migrate(
    workdir: Path, zephyr: str, qtest: str, project: int, kill_at: str | None, *, source: str = "cloud"
) -> int:
    """One ``migrate run`` in a child process (killed at ``kill_at``); returns its exit code."""
    config = simulator_config(zephyr, qtest, project, workdir, max_workers=4, batch_size=5, source=source)
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


def migrate_into_fresh_qtest(
    workdir: Path, zephyr: str, kills: list[str], *, source: str = "cloud"
) -> dict[str, Any]:
    """Migrate with the given kills (each must happen), then a clean run; return qTest's snapshot."""
    workdir.mkdir(parents=True, exist_ok=True)
    qtest = QTestSimulator.generated()
    with serve_in_thread(qtest.app) as qurl:
        headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
        project = httpx.get(f"{qurl}/api/v3/projects", headers=headers).json()[0]["id"]
        for point in kills:
            assert migrate(workdir, zephyr, qurl, project, point, source=source) == -signal.SIGKILL, (
                f"{point} was not reached"
            )
        assert migrate(workdir, zephyr, qurl, project, None, source=source) == 0
        with httpx.Client(base_url=f"{qurl}/api/v3/projects/{project}", headers=headers, timeout=30) as api:
            return qtest_snapshot(api)


@pytest.fixture(scope="module")
def reference(zephyr_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What one uninterrupted run leaves in qTest."""
    return migrate_into_fresh_qtest(tmp_path_factory.mktemp("reference"), zephyr_url, [])


def open_phases(workdir: Path) -> dict[str, str]:
    """Phase -> status of the last run in the store of ``workdir`` (a killed phase stays running)."""
    database = load_config(workdir / "config.yaml").database
    with open_store(database, create_if_empty=False) as store, store.session() as repo:
        run = repo.list_runs(limit=1)[0]
        return {phase.phase: phase.status for phase in repo.phase_runs(run.id)}
