"""Crash safety, continued: kills while extract and load overlap, SIGINT/SIGTERM, a chain of kills,
and a second process on the same project (see ``test_e2e_kill_harness.py``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import qtest_snapshot
from kill_support import (  # noqa: F401 (fixtures)
    OVERLAP_POINTS,
    migrate,
    migrate_into_fresh_qtest,
    open_phases,
    reference,
    slow_zephyr_url,
    zephyr_url,
)

from ztoq.pipeline.overlap import OVERLAPPED
from ztoq.rehearsal import simulator_config, write_config
from ztoq.serving import serve_in_thread
from ztoq.simulators.faults import FaultOptions
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator

pytestmark = pytest.mark.e2e


def test_killed_again_and_again_then_rerun_equals_one_clean_run(
    zephyr_url: str, reference: dict[str, Any], tmp_path: Path
) -> None:
    # Resuming a resumed run: three kills in a row, each in a later part of the work.
    kills = ["extract.batch:3", "load.after_create:6", "load.after_intent:9"]
    assert migrate_into_fresh_qtest(tmp_path / "run", zephyr_url, kills) == reference


@dataclass
class SlowRun:
    """A migration against a qTest that answers slowly (until ``slow.latency_ms`` is set to 0)."""

    slow: FaultOptions
    qtest: QTestSimulator
    qurl: str
    project: int
    path: Path
    command: list[str]
    env: dict[str, str]

    def wait_for_writes(self, count: int) -> None:
        """Until the load has written ``count`` entities to qTest (at most a minute)."""
        deadline = time.monotonic() + 60
        while self.qtest.stats.total(write_only=True) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def snapshot(self) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
        base = f"{self.qurl}/api/v3/projects/{self.project}"
        with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
            return qtest_snapshot(api)


@contextlib.contextmanager
def slow_run(zephyr_url: str, workdir: Path) -> Iterator[SlowRun]:
    """A config and a ``migrate run`` command against a slow qTest (so a signal lands mid-load)."""
    slow = FaultOptions(latency_ms=40)
    qtest = QTestSimulator.generated(faults=slow)
    with serve_in_thread(qtest.app) as qurl:
        headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
        project = httpx.get(f"{qurl}/api/v3/projects", headers=headers).json()[0]["id"]
        config = simulator_config(zephyr_url, qurl, project, workdir, max_workers=2, batch_size=5)
        path = write_config(config, workdir / "config.yaml")
        command = [sys.executable, "-m", "ztoq.cli", "migrate", "run", "--config", str(path), "--quiet"]
        env = {k: v for k, v in os.environ.items() if k != "ZTOQ_TEST_KILL_AT"}
        yield SlowRun(slow, qtest, qurl, project, path, command, env)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_run_cleanly_and_the_rerun_completes(
    sig: signal.Signals, zephyr_url: str, reference: dict[str, Any], tmp_path: Path
) -> None:
    with slow_run(zephyr_url, tmp_path) as run:
        proc = subprocess.Popen(
            run.command, env=run.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        run.wait_for_writes(5)  # the load phase has written something: interrupt it
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 130, stderr
        assert "run the same command again to resume" in stderr.lower()
        assert "Traceback" not in stderr
        run.slow.latency_ms = 0
        rerun = subprocess.run(run.command, env=run.env, capture_output=True, text=True, timeout=240)
        assert rerun.returncode == 0, rerun.stderr
        assert run.snapshot() == reference


def test_a_second_process_on_the_same_store_is_refused(
    zephyr_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with slow_run(zephyr_url, tmp_path) as run:
        first = subprocess.Popen(
            run.command, env=run.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        try:
            run.wait_for_writes(3)
            from ztoq.cli.main import run as ztoq_cli

            assert ztoq_cli(["migrate", "run", "--config", str(run.path), "--quiet"]) == 2
            err = capsys.readouterr().err
            assert "Another ztoq process" in err
            assert "Traceback" not in err
        finally:
            run.slow.latency_ms = 0  # the first run may finish quickly now
            _, stderr = first.communicate(timeout=240)
        assert first.returncode == 0, stderr


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
        # Killed inside the overlap: extract had not finished and load had begun (validate may have
        # begun too, on what load had finished).
        phases = open_phases(workdir)
        assert {p: phases.pop(p, None) for p in OVERLAPPED} == dict.fromkeys(OVERLAPPED, "running")
        assert phases in ({}, {"validate": "running"})
        assert migrate(workdir, slow_zephyr_url, qurl, project, None) == 0
        with httpx.Client(base_url=f"{qurl}/api/v3/projects/{project}", headers=headers, timeout=30) as api:
            assert qtest_snapshot(api) == reference
