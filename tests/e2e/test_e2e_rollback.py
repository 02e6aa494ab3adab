"""Rollback removes exactly what ztoq created: pre-existing qTest data stays, byte for byte."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import qtest_snapshot

from ztoq.cli.main import run
from ztoq.rehearsal import simulator_config, write_config
from ztoq.serving import serve_in_thread
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset

pytestmark = pytest.mark.e2e
HEADERS = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}


class Target:
    """A qTest project that already holds test cases and modules before the migration."""

    def __init__(self, qtest: QTestSimulator, url: str) -> None:
        self.qtest = qtest
        self.url = url
        self.project = int(httpx.get(f"{url}/api/v3/projects", headers=HEADERS).json()[0]["id"])

    def snapshot(self) -> dict[str, Any]:
        with httpx.Client(base_url=f"{self.url}/api/v3/projects/{self.project}", headers=HEADERS) as api:
            return qtest_snapshot(api)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Target, Path]]:
    qtest = QTestSimulator.generated(test_cases=6)
    with (
        serve_in_thread(ZephyrSimulator(generate_dataset(10, seed=21)).app) as zurl,
        serve_in_thread(qtest.app) as qurl,
    ):
        target = Target(qtest, qurl)
        data = simulator_config(zurl, qurl, target.project, tmp_path, max_workers=4, batch_size=5)
        data["network"] = {"retry_delay": 0.2, "retry_budget_seconds": 2}
        yield target, write_config(data, tmp_path / "config.yaml")


def test_rollback_leaves_exactly_the_pre_existing_data(
    setup: tuple[Target, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    target, config = setup
    before = target.snapshot()
    assert before["test_cases"], "the target holds test cases of its own"
    assert run(["migrate", "run", "--config", str(config), "--quiet"]) == 0
    migrated = target.snapshot()
    assert len(migrated["test_cases"]) == len(before["test_cases"]) + 10
    capsys.readouterr()

    writes = target.qtest.stats.total(write_only=True)
    assert run(["workflow", "rollback", "--config", str(config), "--project-key", "DEMO", "--dry-run"]) == 0
    assert target.qtest.stats.total(write_only=True) == writes, "a dry run changes nothing"
    assert "would be deleted" in capsys.readouterr().out

    # Without --yes and without a terminal to ask on, nothing happens.
    assert run(["workflow", "rollback", "--config", str(config), "--phases", "load"]) == 2
    assert "pass --yes" in capsys.readouterr().err

    args = ["workflow", "rollback", "--config", str(config), "--project-key", "DEMO"]
    assert run([*args, "--phases", "load,transform,extract", "--yes"]) == 0
    text = capsys.readouterr().out
    assert "test logs went with their runs" in text
    assert target.snapshot() == before

    # Everything can be migrated again afterwards: the rolled-back mappings are created anew.
    assert run(["migrate", "run", "--config", str(config), "--quiet"]) == 0
    assert target.snapshot() == migrated


def test_an_interrupted_rollback_resumes(
    setup: tuple[Target, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    target, config = setup
    before = target.snapshot()
    assert run(["migrate", "run", "--config", str(config), "--quiet"]) == 0
    deletes = threading.Thread(target=_outage_after_deletes, args=(target, 5), daemon=True)
    deletes.start()
    args = ["workflow", "rollback", "--config", str(config), "--phases", "load", "--yes"]
    assert run(args) == 1, "qTest went down half way"
    deletes.join(timeout=30)
    assert "Traceback" not in capsys.readouterr().err
    httpx.post(f"{target.url}/_sim/outage", params={"seconds": 0})
    assert run(args) == 0
    assert target.snapshot() == before


def _outage_after_deletes(target: Target, count: int) -> None:
    deadline = time.monotonic() + 60
    while target.qtest.stats.total(method="DELETE") < count and time.monotonic() < deadline:
        time.sleep(0.005)
    httpx.post(f"{target.url}/_sim/outage", params={"seconds": 3600})
