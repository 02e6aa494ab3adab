"""Rehearsals against the bundled simulators: ``ztoq demo`` and ``ztoq bench``.

Both start the two simulators as separate processes (exactly as ``ztoq simulate`` does), write a
real config file for them, and run the real migration over HTTP on loopback.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from ztoq.errors import ZtoqError
from ztoq.simulators.catalog import DEMO_CUSTOM_FIELD_MAP, USERS
from ztoq.simulators.process import SimulatorProcess, run_simulator
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN
from ztoq.simulators.zephyr import DEFAULT_ZEPHYR_TOKEN
from ztoq.simulators.zephyr_server import DEFAULT_SERVER_TOKEN

DEMO_PROJECT_KEY = "DEMO"

#: The sources a rehearsal can read: Zephyr Scale Cloud (v2) or Server/Data Center (v1).
REHEARSAL_SOURCES: tuple[str, ...] = ("cloud", "server")


@dataclass
class Simulators:
    """Both simulators, running."""

    zephyr: SimulatorProcess
    qtest: SimulatorProcess
    qtest_project_id: int
    source: str = "cloud"

    @property
    def zephyr_api_url(self) -> str:
        """The ``zephyr.base_url`` of the running source simulator."""
        return zephyr_base_url(self.zephyr.url, self.source)

    def config(self, workdir: Path, **options: Any) -> dict[str, Any]:
        """A config for these simulators (see :func:`simulator_config`)."""
        return simulator_config(
            self.zephyr.url, self.qtest.url, self.qtest_project_id, workdir, source=self.source, **options
        )


def zephyr_base_url(simulator_url: str, source: str) -> str:
    """The ``zephyr.base_url`` of a source simulator: Cloud's API root, or the Jira site for Server."""
    return f"{simulator_url}/v2" if source == "cloud" else simulator_url


def qtest_project_id(base_url: str, token: str = DEFAULT_QTEST_TOKEN) -> int:
    """The id of the (first) project the qTest simulator serves."""
    response = httpx.get(
        f"{base_url}/api/v3/projects", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    response.raise_for_status()
    projects = response.json()
    if not projects:
        raise ZtoqError("The qTest simulator serves no project.")
    return int(projects[0]["id"])


@contextlib.contextmanager
def simulators(
    test_cases: int,
    *,
    seed: int = 7,
    latency_ms: float = 0,
    rate_limit: float = 0,
    fail_rate: float = 0,
    project_key: str = DEMO_PROJECT_KEY,
    executions_per_case: float | None = None,
    large_attachments: int = 0,
    large_attachment_mb: float = 51.0,
    attachment_limit_mb: float = 50.0,
    source: str = "cloud",
) -> Iterator[Simulators]:
    """Start a generated Zephyr project and a qTest project ready to receive it.

    ``source`` is ``cloud`` (the Zephyr Scale Cloud v2 simulator) or ``server`` (the Server/Data
    Center v1 simulator). ``large_attachments`` files of ``large_attachment_mb`` MiB each are
    attached on top of the generated small ones; the qTest simulator accepts uploads up to
    ``attachment_limit_mb``.
    """
    faults = ["--latency-ms", str(latency_ms), "--rate-limit", str(rate_limit), "--fail-rate", str(fail_rate)]
    zephyr_opts = ["--generate", str(test_cases), "--seed", str(seed), "--project-key", project_key, *faults]
    if executions_per_case is not None and source == "cloud":
        zephyr_opts += ["--executions-per-case", str(executions_per_case)]
    if large_attachments:
        zephyr_opts += ["--large-attachments", str(large_attachments)]
        zephyr_opts += ["--large-attachment-mb", str(large_attachment_mb)]
    qtest_opts = [
        "--generate",
        "0",
        "--seed",
        str(seed),
        "--attachment-limit-mb",
        str(attachment_limit_mb),
        *faults,
    ]
    kind = "zephyr" if source == "cloud" else "zephyr-server"
    with run_simulator(kind, *zephyr_opts) as zephyr, run_simulator("qtest", *qtest_opts) as qtest:
        yield Simulators(zephyr, qtest, qtest_project_id(qtest.url), source)


def simulator_config(
    zephyr_url: str,
    qtest_url: str,
    qtest_project: int,
    workdir: Path,
    *,
    max_workers: int = 8,
    batch_size: int = 100,
    source: str = "cloud",
) -> dict[str, Any]:
    """A config for the simulators, with the mappings a real team would write for this project.

    For the Server/Data Center source the base URL is the Jira site (ztoq detects the API from
    it) and the token is a Jira personal access token.
    """
    return {
        "zephyr": {
            "base_url": zephyr_base_url(zephyr_url, source),
            "api_token": DEFAULT_ZEPHYR_TOKEN if source == "cloud" else DEFAULT_SERVER_TOKEN,
            "project_key": DEMO_PROJECT_KEY,
        },
        "qtest": {
            "base_url": qtest_url,
            "bearer_token": DEFAULT_QTEST_TOKEN,
            "project_id": qtest_project,
        },
        "database": {"type": "sqlite", "path": str(workdir / "migration.db")},
        "performance": {"batch_size": batch_size, "max_workers": max_workers},
        "logging": {"level": "INFO", "file": str(workdir / "ztoq-migration.log")},
        "mappings": {
            "priority": {"Normal": "Medium"},
            "status": {"Draft": "New", "Deprecated": "Obsolete"},
            "users": _user_map(source),
            "default_user": "admin@example.com",
            "test_case_fields": {"owner": "Assigned To"},
        },
        "custom_fields": DEMO_CUSTOM_FIELD_MAP,
        "output_dir": str(workdir),
    }


def _user_map(source: str) -> dict[str, str | int]:
    """The ``mappings.users`` a team would write: each source user with a qTest account -> its login.

    Cloud names people by Atlassian account id, Server/Data Center by Jira user key.
    """
    if source == "cloud":
        return {u.account_id: u.qtest_login for u in USERS if u.qtest_login}
    from ztoq.simulators.zephyr_server.generate import server_users

    logins = {u.display_name: u.qtest_login for u in USERS if u.qtest_login}
    return {u["key"]: logins[u["displayName"]] for u in server_users() if u["displayName"] in logins}


def write_config(data: dict[str, Any], path: Path) -> Path:
    """Write a config file readable only by its owner (it holds tokens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    os.chmod(path, 0o600)
    return path
