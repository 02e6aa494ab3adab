"""``ztoq bench --chaos``: the kill harness at scale, with its figures.

The simulators run in this process (their state survives the kills); each migration runs as a
child ``ztoq migrate run`` that is killed with SIGKILL at a pipeline point (``ZTOQ_TEST_KILL_AT``,
see :mod:`ztoq.pipeline.faults`), then run again to completion. The qTest project each chain
leaves is compared with the one an uninterrupted run leaves: duplicates, missing and changed
entities are counted.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ztoq.rehearsal import DEMO_PROJECT_KEY, simulator_config, write_config
from ztoq.serving import serve_in_thread
from ztoq.simulators.faults import FaultOptions
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator
from ztoq.simulators.snapshot import qtest_snapshot
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset
from ztoq.simulators.zephyr_server import ZephyrServerSimulator
from ztoq.simulators.zephyr_server.generate import generate_server_dataset

#: Pipeline points and how many arrivals each may have in a small project (to pick the n-th).
POINTS: tuple[tuple[str, int], ...] = (
    ("phase.extract", 1),
    ("extract.batch", 12),
    ("phase.transform", 1),
    ("transform.batch", 12),
    ("phase.load", 1),
    ("load.after_intent", 120),
    ("load.after_create", 120),
    ("load.before_approve", 25),
    ("load.after_record", 120),
    ("phase.validate", 1),
    ("validate.read", 20),
    ("extract.attachment_downloaded", 10),
    ("load.attachment_before_upload", 10),
    ("load.attachment_uploaded", 10),
)


@dataclass
class ChaosResult:
    """What the chaos harness found."""

    chains: int = 0
    kills: int = 0
    not_reached: int = 0
    duplicates: int = 0
    missing: int = 0
    changed: int = 0
    retries: int = 0
    failures: list[str] = field(default_factory=list)


def kill_points(count: int, seed: int) -> list[str]:
    """``count`` kill points spread over every phase (each point at least once when count allows)."""
    rng = random.Random(seed)
    points = [f"{name}:{rng.randint(1, top)}" for name, top in POINTS]
    while len(points) < count:
        name, top = rng.choice(POINTS)
        points.append(f"{name}:{rng.randint(1, top)}")
    return points[:count]


def _migrate(config: Path, kill_at: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ZTOQ_TEST_KILL_AT"}
    if kill_at:
        env["ZTOQ_TEST_KILL_AT"] = kill_at
    command = [
        sys.executable,
        "-m",
        "ztoq.cli",
        "migrate",
        "run",
        "--config",
        str(config),
        "--json",
        "--quiet",
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)


def _chain(
    workdir: Path, zephyr_url: str, kill_at: str | None, fail_rate: float, seed: int, source: str = "cloud"
) -> tuple[Any, int, bool]:
    """One migration (killed at ``kill_at`` first, if given); the qTest snapshot, retries, killed?"""
    qtest = QTestSimulator.generated(faults=FaultOptions(seed=seed))
    with serve_in_thread(qtest.app) as qurl:
        headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
        project = httpx.get(f"{qurl}/api/v3/projects", headers=headers, timeout=30).json()[0]["id"]
        # Faults only for the migrations, not for this set-up or the final read-back.
        qtest.app.options = FaultOptions(fail_rate=fail_rate, seed=seed)  # type: ignore[attr-defined]
        data = simulator_config(
            zephyr_url, qurl, project, workdir, max_workers=4, batch_size=5, source=source
        )
        data["logging"] = {"level": "WARNING"}
        config = write_config(data, workdir / "config.yaml")
        killed = False
        if kill_at:
            first = _migrate(config, kill_at)
            killed = first.returncode == -signal.SIGKILL
            if not killed and first.returncode != 0:
                raise RuntimeError(f"the killed run failed instead: {first.stderr[-500:]}")
        final = _migrate(config, None)
        if final.returncode != 0:
            raise RuntimeError(f"the resumed run failed: {final.stderr[-500:]}")
        summary = json.loads(final.stdout.strip().splitlines()[-1])
        retries = sum(int(api.get("retries", 0)) for api in summary["api"].values())
        qtest.app.options = FaultOptions()  # type: ignore[attr-defined]
        with httpx.Client(base_url=f"{qurl}/api/v3/projects/{project}", headers=headers, timeout=60) as api:
            return qtest_snapshot(api), retries, killed


def _differences(reference: dict[str, Any], got: dict[str, Any]) -> tuple[int, int, list[str]]:
    """(missing, changed) entity counts between two snapshots, and a description of each."""
    missing = changed = 0
    details: list[str] = []
    for part in ("test_cases", "releases", "test_cycles", "test_runs"):
        want, have = reference.get(part, {}), got.get(part, {})
        for key in sorted(set(want) - set(have)):
            missing += 1
            details.append(f"{part} {key} missing")
        for key in sorted(set(have) - set(want)):
            changed += 1
            details.append(f"{part} {key} extra")
        for key in sorted(k for k in set(want) & set(have) if want[k] != have[k]):
            changed += 1
            fields = (
                [f for f in want[key] if want[key].get(f) != have[key].get(f)]
                if isinstance(want[key], dict)
                else [f"{want[key]!r} != {have[key]!r}"[:300]]
            )
            details.append(f"{part} {key} differs: {', '.join(map(str, fields))}")
    for path in sorted(set(reference["modules"]) - set(got["modules"])):
        missing += 1
        details.append(f"module {path} missing")
    return missing, changed, details


def _source_app(cases: int, seed: int, source: str) -> Any:
    """The ASGI app of a generated project of the ``source`` simulator (``cloud`` or ``server``)."""
    if source == "server":
        dataset = generate_server_dataset(cases, seed=seed, project_key=DEMO_PROJECT_KEY)
        return ZephyrServerSimulator(dataset).app
    return ZephyrSimulator(generate_dataset(cases, seed=seed)).app


def run_chaos(
    cases: int, kills: int, seed: int, fail_rate: float = 0.0, *, source: str = "cloud"
) -> ChaosResult:
    """Kill a migration at ``kills`` points, resume each, and compare with one clean run.

    ``source`` is the source simulator: ``cloud`` (Zephyr Scale Cloud v2) or ``server`` (v1).
    """
    result = ChaosResult()
    with tempfile.TemporaryDirectory(prefix="ztoq-chaos-") as tmp:
        root = Path(tmp)
        with serve_in_thread(_source_app(cases, seed, source)) as zephyr_url:
            reference, _, _ = _chain(root / "reference", zephyr_url, None, 0.0, seed, source)
            for n, point in enumerate(kill_points(kills, seed)):
                result.chains += 1
                try:
                    got, retries, killed = _chain(
                        root / f"chain-{n}", zephyr_url, point, fail_rate, seed + n, source
                    )
                except AssertionError as exc:  # the snapshot found a Zephyr key twice
                    result.duplicates += 1
                    result.failures.append(f"{point}: {exc}")
                    continue
                except RuntimeError as exc:
                    result.failures.append(f"{point}: {exc}")
                    continue
                result.kills += int(killed)
                result.not_reached += int(not killed)
                result.retries += retries
                missing, changed, details = _differences(reference, got)
                result.missing += missing
                result.changed += changed
                if missing or changed:
                    result.failures.append(
                        f"{point}: {missing} missing, {changed} changed: " + "; ".join(details[:3])
                    )
    return result
