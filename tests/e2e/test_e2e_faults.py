"""Faults survived: flaky and rate-limited APIs, slow answers, outages, expired tokens.

Each test migrates the same small generated project as a clean run does, under one kind of fault,
and compares the qTest project it leaves with the clean run's: full parity or a clean stop.
"""

from __future__ import annotations

import json
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
from ztoq.simulators.faults import FaultMiddleware, FaultOptions, SlidingWindowLimiter
from ztoq.simulators.qtest import (
    DEFAULT_QTEST_PASSWORD,
    DEFAULT_QTEST_TOKEN,
    DEFAULT_QTEST_USER,
    QTestSimulator,
)
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset

pytestmark = pytest.mark.e2e

HEADERS = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}


def dataset() -> dict[str, Any]:
    return generate_dataset(10, seed=21)


def project_of(qurl: str) -> int:
    return int(httpx.get(f"{qurl}/api/v3/projects", headers=HEADERS).json()[0]["id"])


def snapshot(qurl: str, project: int) -> dict[str, Any]:
    with httpx.Client(base_url=f"{qurl}/api/v3/projects/{project}", headers=HEADERS, timeout=30) as api:
        return qtest_snapshot(api)


def config(tmp: Path, zurl: str, qurl: str, project: int, **sections: Any) -> Path:
    data = simulator_config(zurl, qurl, project, tmp, max_workers=4, batch_size=5)
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return write_config(data, tmp / "config.yaml")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("clean")
    with (
        serve_in_thread(ZephyrSimulator(dataset()).app) as zurl,
        serve_in_thread(QTestSimulator.generated().app) as qurl,
    ):
        project = project_of(qurl)
        assert run(["migrate", "run", "--config", str(config(tmp, zurl, qurl, project)), "--quiet"]) == 0
        return snapshot(qurl, project)


@pytest.fixture
def flaky() -> Iterator[tuple[str, str, QTestSimulator]]:
    # 5% failures (half of the failed writes processed first), 429 bursts, 2% slow answers.
    def faults(seed: int) -> FaultOptions:
        return FaultOptions(fail_rate=0.05, rate_limit=30, spike_rate=0.02, spike_ms=1500, seed=seed)

    zephyr = ZephyrSimulator(dataset(), faults=faults(1))
    qtest = QTestSimulator.generated(faults=faults(2))
    with serve_in_thread(zephyr.app) as zurl, serve_in_thread(qtest.app) as qurl:
        yield zurl, qurl, qtest


def test_full_parity_under_failures_rate_limits_and_timeouts(
    flaky: tuple[str, str, QTestSimulator],
    reference: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    zurl, qurl, qtest = flaky
    project = project_of(qurl)
    path = config(tmp_path, zurl, qurl, project, network={"timeout": 1.0, "retry_delay": 0.5})
    assert run(["migrate", "run", "--config", str(path), "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["status"] == "succeeded"
    assert sum(api["retries"] for api in summary["api"].values()) > 0, "the faults were met and retried"
    assert sum(api["rate_limit_waits"] for api in summary["api"].values()) > 0, "429s were waited out"
    stats = qtest.stats.snapshot()
    assert stats["injected_failures"] > 0
    assert stats["processed_then_failed"] > 0, "some creates happened although the client saw a failure"
    calm(qtest)
    assert snapshot(qurl, project) == reference


def test_an_outage_shorter_than_the_retry_budget_is_waited_out(
    reference: dict[str, Any], tmp_path: Path
) -> None:
    qtest = QTestSimulator.generated(faults=FaultOptions(latency_ms=20))
    with serve_in_thread(ZephyrSimulator(dataset()).app) as zurl, serve_in_thread(qtest.app) as qurl:
        project = project_of(qurl)
        path = config(tmp_path, zurl, qurl, project, network={"retry_delay": 0.5, "retry_budget_seconds": 60})
        outage = threading.Thread(target=_outage_during_load, args=(qtest, qurl, 4.0), daemon=True)
        outage.start()
        assert run(["migrate", "run", "--config", str(path), "--quiet"]) == 0
        outage.join(timeout=30)
        assert qtest.stats.snapshot()["injected_failures"] > 0, "the outage happened during the run"
        assert snapshot(qurl, project) == reference


def test_an_outage_past_the_retry_budget_stops_cleanly_and_resumes(
    reference: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qtest = QTestSimulator.generated(faults=FaultOptions(latency_ms=20))
    with serve_in_thread(ZephyrSimulator(dataset()).app) as zurl, serve_in_thread(qtest.app) as qurl:
        project = project_of(qurl)
        network = {"retry_delay": 0.2, "retry_budget_seconds": 2}
        path = config(tmp_path, zurl, qurl, project, network=network)
        outage = threading.Thread(target=_outage_during_load, args=(qtest, qurl, 3600.0), daemon=True)
        outage.start()
        assert run(["migrate", "run", "--config", str(path), "--quiet"]) == 1
        err = capsys.readouterr().err
        assert "load phase failed" in err
        assert "qTest" in err
        assert "run the same command again to resume" in err
        assert "Traceback" not in err
        httpx.post(f"{qurl}/_sim/outage", params={"seconds": 0})
        assert run(["migrate", "run", "--config", str(path), "--quiet"]) == 0
        assert snapshot(qurl, project) == reference


def test_expired_tokens_are_renewed_with_the_password(reference: dict[str, Any], tmp_path: Path) -> None:
    qtest = QTestSimulator.generated(faults=FaultOptions(latency_ms=10))
    with serve_in_thread(ZephyrSimulator(dataset()).app) as zurl, serve_in_thread(qtest.app) as qurl:
        project = project_of(qurl)
        login = {"bearer_token": None, "username": DEFAULT_QTEST_USER, "password": DEFAULT_QTEST_PASSWORD}
        path = config(tmp_path, zurl, qurl, project, qtest=login)
        revoker = threading.Thread(target=_revoke_during_load, args=(qtest,), daemon=True)
        revoker.start()
        assert run(["migrate", "run", "--config", str(path), "--quiet"]) == 0
        revoker.join(timeout=30)
        assert snapshot(qurl, project) == reference


def test_a_rejected_api_token_stops_with_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qtest = QTestSimulator.generated(faults=FaultOptions(latency_ms=10))
    with serve_in_thread(ZephyrSimulator(dataset()).app) as zurl, serve_in_thread(qtest.app) as qurl:
        project = project_of(qurl)
        path = config(tmp_path, zurl, qurl, project)
        changer = threading.Thread(target=_rotate_api_token_during_load, args=(qtest,), daemon=True)
        changer.start()
        # The token in the config is no longer valid: a configuration problem (exit 2).
        assert run(["migrate", "run", "--config", str(path), "--quiet"]) == 2
        changer.join(timeout=30)
        err = capsys.readouterr().err
        assert "token" in err.lower()
        assert DEFAULT_QTEST_TOKEN not in err, "the token itself is never printed"
        assert "Traceback" not in err


def calm(sim: QTestSimulator) -> None:
    """Switch the simulator's faults off, to read back what the migration left."""
    middleware = sim.app
    assert isinstance(middleware, FaultMiddleware)
    middleware.options = FaultOptions()
    middleware.limiter = SlidingWindowLimiter(0)


def _wait_for_writes(qtest: QTestSimulator, count: int = 5, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while qtest.stats.total(write_only=True) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def _outage_during_load(qtest: QTestSimulator, qurl: str, seconds: float) -> None:
    _wait_for_writes(qtest)
    httpx.post(f"{qurl}/_sim/outage", params={"seconds": seconds})


def _revoke_during_load(qtest: QTestSimulator) -> None:
    _wait_for_writes(qtest)
    qtest.state.revoke_tokens(include_refresh=True)


def _rotate_api_token_during_load(qtest: QTestSimulator) -> None:
    _wait_for_writes(qtest)
    qtest.state.api_token = "a-new-token-the-config-does-not-have"
