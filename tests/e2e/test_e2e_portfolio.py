"""A portfolio on one PostgreSQL store: two ``ztoq migrate run`` processes, two projects, at the same time.

Each project has its own pair of simulators (a Zephyr simulator serves one project). Both
processes start together on a fresh, empty database (so they also race to create the schema);
both must finish, their runs must overlap in time (the lock is per project, not per store), and
``ztoq migrate status`` must list both projects.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from ztoq.rehearsal import simulator_config, write_config
from ztoq.serving import serve_in_thread
from ztoq.simulators.faults import FaultOptions
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset
from ztoq.store import open_store

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PROJECTS = {"ALPHA": 3, "BETA": 5}  # project key -> dataset seed
CLI = [sys.executable, "-m", "ztoq.cli"]
ENV = {**os.environ, "COLUMNS": "200"}


@pytest.fixture
def configs(tmp_path: Path, postgres_schema_url: str) -> Iterator[dict[str, Path]]:
    """One config per project, each pointing at its own simulator pair, all sharing one store."""
    written: dict[str, Path] = {}
    with ExitStack() as stack:
        for key, seed in PROJECTS.items():
            # A little latency, so each run lasts long enough for the two to overlap.
            zephyr = ZephyrSimulator(generate_dataset(8, seed=seed, project_key=key), faults=FaultOptions(50))
            zurl = stack.enter_context(serve_in_thread(zephyr.app))
            qurl = stack.enter_context(serve_in_thread(QTestSimulator.generated(seed=seed).app))
            project = httpx.get(
                f"{qurl}/api/v3/projects", headers={"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
            ).json()[0]["id"]
            workdir = tmp_path / key
            workdir.mkdir()
            data = simulator_config(zurl, qurl, int(project), workdir, max_workers=4)
            data["zephyr"]["project_key"] = key
            data["database"] = {"type": "postgresql", "url": postgres_schema_url}
            data["migration"] = {"include_attachments": False}
            written[key] = write_config(data, workdir / "config.yaml")
        yield written


def test_two_projects_migrate_at_once_on_one_postgresql_store(
    configs: dict[str, Path], postgres_schema_url: str
) -> None:
    runs = {
        key: subprocess.Popen(
            [*CLI, "migrate", "run", "--config", str(config), "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for key, config in configs.items()
    }
    outputs = {key: process.communicate(timeout=120) for key, process in runs.items()}
    for key, process in runs.items():
        assert process.returncode == 0, f"{key}: {outputs[key]}"

    with open_store(postgres_schema_url, create_if_empty=False) as store, store.session() as repo:
        last = {run.project_key: run for run in repo.last_run_per_project()}
    assert set(last) == set(PROJECTS)
    assert {run.status for run in last.values()} == {"succeeded"}
    alpha, beta = last["ALPHA"], last["BETA"]
    assert alpha.finished_at is not None
    assert beta.finished_at is not None
    # Both held their project's lock at the same time.
    assert max(alpha.started_at, beta.started_at) < min(alpha.finished_at, beta.finished_at)

    status = subprocess.run(
        [*CLI, "migrate", "status", "--config", str(configs["BETA"])],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )
    assert status.returncode == 0, status.stdout + status.stderr
    assert "Migration status: BETA" in status.stdout
    listing = status.stdout.split("Projects in ")[1]
    rows = {line.split("│")[1].strip(): line for line in listing.splitlines() if line.startswith("│ ")}
    assert set(rows) >= set(PROJECTS)
    for key in PROJECTS:
        assert f"{last[key].id} (migrate run)" in rows[key]
        assert "succeeded" in rows[key]
