"""Crash safety: kill ``ztoq migrate run`` with SIGKILL at many points, run it again, compare.

For each kill point the migration runs in a child process with ``ZTOQ_TEST_KILL_AT`` set, dies
there (SIGKILL: nothing is flushed or cleaned up), and is run again normally. The qTest project it
leaves must be exactly what one uninterrupted run leaves: identical entities, zero duplicates,
zero missing. The simulators live in this test process, so their state survives the kills.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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

pytestmark = pytest.mark.e2e

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
#: extract still reads the executions and attachments while the test cases are created in qTest.
OVERLAP_POINTS = ["load.after_create:2", "load.after_record:4", "extract.attachment_downloaded:4"]


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


def migrate(workdir: Path, zephyr: str, qtest: str, project: int, kill_at: str | None) -> int:
    config = simulator_config(zephyr, qtest, project, workdir, max_workers=4, batch_size=5)
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


def migrate_into_fresh_qtest(workdir: Path, zephyr: str, kills: list[str]) -> dict[str, Any]:
    """Migrate with the given kills (each must happen), then a clean run; return qTest's snapshot."""
    workdir.mkdir(parents=True, exist_ok=True)
    qtest = QTestSimulator.generated()
    with serve_in_thread(qtest.app) as qurl:
        headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
        project = httpx.get(f"{qurl}/api/v3/projects", headers=headers).json()[0]["id"]
        for point in kills:
            assert migrate(workdir, zephyr, qurl, project, point) == -signal.SIGKILL, (
                f"{point} was not reached"
            )
        assert migrate(workdir, zephyr, qurl, project, None) == 0
        with httpx.Client(base_url=f"{qurl}/api/v3/projects/{project}", headers=headers, timeout=30) as api:
            return qtest_snapshot(api)


@pytest.fixture(scope="module")
def reference(zephyr_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What one uninterrupted run leaves in qTest."""
    return migrate_into_fresh_qtest(tmp_path_factory.mktemp("reference"), zephyr_url, [])


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


def test_killed_again_and_again_then_rerun_equals_one_clean_run(
    zephyr_url: str, reference: dict[str, Any], tmp_path: Path
) -> None:
    # Resuming a resumed run: three kills in a row, each in a later part of the work.
    kills = ["extract.batch:3", "load.after_create:6", "load.after_intent:9"]
    assert migrate_into_fresh_qtest(tmp_path / "run", zephyr_url, kills) == reference


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_run_cleanly_and_the_rerun_completes(
    sig: signal.Signals, zephyr_url: str, reference: dict[str, Any], tmp_path: Path
) -> None:
    # qTest answers slowly until the signal, so it arrives in the middle of the load.
    slow = FaultOptions(latency_ms=40)
    qtest = QTestSimulator.generated(faults=slow)
    with serve_in_thread(qtest.app) as qurl:
        headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
        project = httpx.get(f"{qurl}/api/v3/projects", headers=headers).json()[0]["id"]
        config = simulator_config(zephyr_url, qurl, project, tmp_path, max_workers=2, batch_size=5)
        path = write_config(config, tmp_path / "config.yaml")
        command = [sys.executable, "-m", "ztoq.cli", "migrate", "run", "--config", str(path), "--quiet"]
        env = {k: v for k, v in os.environ.items() if k != "ZTOQ_TEST_KILL_AT"}
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Wait until the load phase has written something, then interrupt it.
        deadline = time.monotonic() + 60
        while qtest.stats.total(write_only=True) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 130, stderr
        assert "run the same command again to resume" in stderr.lower()
        assert "Traceback" not in stderr
        slow.latency_ms = 0
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
        assert rerun.returncode == 0, rerun.stderr
        with httpx.Client(base_url=f"{qurl}/api/v3/projects/{project}", headers=headers, timeout=30) as api:
            assert qtest_snapshot(api) == reference


def test_a_second_process_on_the_same_store_is_refused(
    zephyr_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = FaultOptions(latency_ms=40)
    qtest = QTestSimulator.generated(faults=slow)
    with serve_in_thread(qtest.app) as qurl:
        headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
        project = httpx.get(f"{qurl}/api/v3/projects", headers=headers).json()[0]["id"]
        config = simulator_config(zephyr_url, qurl, project, tmp_path, max_workers=2, batch_size=5)
        path = write_config(config, tmp_path / "config.yaml")
        command = [sys.executable, "-m", "ztoq.cli", "migrate", "run", "--config", str(path), "--quiet"]
        env = {k: v for k, v in os.environ.items() if k != "ZTOQ_TEST_KILL_AT"}
        first = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 60
            while qtest.stats.total(write_only=True) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            from ztoq.cli.main import run

            assert run(["migrate", "run", "--config", str(path), "--quiet"]) == 2
            err = capsys.readouterr().err
            assert "Another ztoq process" in err
            assert "Traceback" not in err
        finally:
            slow.latency_ms = 0  # the first run may finish quickly now
            _, stderr = first.communicate(timeout=240)
        assert first.returncode == 0, stderr


def open_phases(workdir: Path) -> dict[str, str]:
    """Phase -> status of the last run in the store of ``workdir`` (a killed phase stays running)."""
    database = load_config(workdir / "config.yaml").database
    with open_store(database, create_if_empty=False) as store, store.session() as repo:
        run = repo.list_runs(limit=1)[0]
        return {phase.phase: phase.status for phase in repo.phase_runs(run.id)}


@pytest.mark.parametrize("point", OVERLAP_POINTS)
def test_killed_while_extract_and_load_overlap_then_rerun_equals_one_clean_run(
    point: str, slow_zephyr_url: str, reference: dict[str, Any], tmp_path: Path
) -> None:
    workdir = tmp_path / "run"
    workdir.mkdir()
    qtest = QTestSimulator.generated()
    with serve_in_thread(qtest.app) as qurl:
        headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
        project = httpx.get(f"{qurl}/api/v3/projects", headers=headers).json()[0]["id"]
        assert migrate(workdir, slow_zephyr_url, qurl, project, point) == -signal.SIGKILL
        # Killed inside the overlap: extract had not finished and load had begun.
        assert open_phases(workdir) == {"extract": "running", "transform": "running", "load": "running"}
        assert migrate(workdir, slow_zephyr_url, qurl, project, None) == 0
        with httpx.Client(base_url=f"{qurl}/api/v3/projects/{project}", headers=headers, timeout=30) as api:
            assert qtest_snapshot(api) == reference
