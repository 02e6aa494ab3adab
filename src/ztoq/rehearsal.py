"""Rehearsals against the bundled simulators: ``ztoq demo`` and ``ztoq bench``.

Both start the two simulators as separate processes (exactly as ``ztoq simulate`` does), write a
real config file for them, and run the real migration over HTTP on loopback. The bench also
generates the served datasets again in its own process (:func:`served_source_dataset`: the same
arguments give the same data) to compute the least requests a migration needs, and may keep its
store in a fresh PostgreSQL schema (:func:`rehearsal_store`).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy
import yaml

from ztoq.config import DatabaseConfig
from ztoq.errors import InputError, StoreError, ZtoqError
from ztoq.simulators.catalog import DEMO_CUSTOM_FIELD_MAP, USERS
from ztoq.simulators.process import SimulatorProcess, run_simulator
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN
from ztoq.simulators.zephyr import DEFAULT_JIRA_API_TOKEN, DEFAULT_JIRA_EMAIL, DEFAULT_ZEPHYR_TOKEN
from ztoq.simulators.zephyr_server import DEFAULT_SERVER_TOKEN

DEMO_PROJECT_KEY = "DEMO"

#: The sources a rehearsal can read: Zephyr Scale Cloud (v2) or Server/Data Center (v1).
REHEARSAL_SOURCES: tuple[str, ...] = ("cloud", "server")

#: How long a generating simulator may take to start: this much, plus the next per entity.
GENERATE_BASE_SECONDS = 60.0
GENERATE_SECONDS_PER_ENTITY = 0.002


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
    # Generating a project takes time with its size (seen: over a minute for 100,000 test cases).
    startup = (
        GENERATE_BASE_SECONDS + test_cases * (1 + (executions_per_case or 1.5)) * GENERATE_SECONDS_PER_ENTITY
    )
    with (
        run_simulator(kind, *zephyr_opts, startup_timeout=startup) as zephyr,
        run_simulator("qtest", *qtest_opts) as qtest,
    ):
        yield Simulators(zephyr, qtest, qtest_project_id(qtest.url), source)


def served_source_dataset(
    test_cases: int,
    *,
    seed: int = 7,
    project_key: str = DEMO_PROJECT_KEY,
    executions_per_case: float | None = None,
    large_attachments: int = 0,
    large_attachment_mb: float = 51.0,
    source: str = "cloud",
) -> dict[str, Any]:
    """The dataset the source simulator of :func:`simulators` serves, generated again in this process.

    The simulator generates it from the same arguments (``ztoq simulate ... --generate N --seed S``,
    ``cli/simulate.py``), and generation is deterministic, so this is the same dataset.
    """
    large_size = int(large_attachment_mb * 1024 * 1024)  # as `ztoq simulate` converts the option
    if source == "cloud":
        from ztoq.simulators.zephyr import generate_dataset

        return generate_dataset(
            test_cases,
            seed=seed,
            project_key=project_key,
            executions_per_case=executions_per_case,
            large_attachments=large_attachments,
            large_attachment_size=large_size,
        )
    from ztoq.simulators.zephyr_server.generate import generate_server_dataset

    return generate_server_dataset(
        test_cases,
        seed=seed,
        project_key=project_key,
        large_attachments=large_attachments,
        large_attachment_size=large_size,
    )


def served_requirement_names(seed: int = 7) -> list[str]:
    """The names of the requirements the qTest simulator of :func:`simulators` holds."""
    from ztoq.simulators.qtest import generate_target

    return [str(r["name"]) for r in generate_target(seed=seed, existing_test_cases=0)["requirements"]]


@dataclass
class RehearsalStore:
    """The store of a rehearsal: a SQLite file in its work directory, or a PostgreSQL schema of its own.

    Attributes:
        database: the config's ``database`` section.
        schema: the PostgreSQL schema (None for SQLite).
        engine: a connection to the PostgreSQL database the schema is in (None for SQLite).
    """

    database: dict[str, Any]
    schema: str | None = None
    engine: sqlalchemy.Engine | None = None

    def describe(self) -> str:
        """The store, without a password."""
        where = DatabaseConfig(**self.database).describe()
        return f"{where} (schema {self.schema})" if self.schema else where

    def forget(self) -> None:
        """Empty the store, as a lost store (or a fresh CI runner) has it."""
        if self.engine is None:
            path = Path(self.database["path"])
            for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)
            return
        with self.engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{self.schema}"'))


@contextlib.contextmanager
def rehearsal_store(workdir: Path, db_url: str | None = None) -> Iterator[RehearsalStore]:
    """A store that starts empty: ``workdir/migration.db``, or a new schema in the ``db_url`` database.

    The schema (``ztoq_bench_<random>``) is created here, used through the URL's ``search_path``
    and dropped at the end, so repeated runs never see each other's data.

    Raises:
        InputError: ``db_url`` is not a PostgreSQL URL.
        StoreError: the database cannot be reached.
    """
    if db_url is None:
        yield RehearsalStore({"type": "sqlite", "path": str(workdir / "migration.db")})
        return
    if not db_url.startswith("postgresql"):
        raise InputError(
            "--db-url must be a PostgreSQL URL (postgresql+psycopg://user@host:5432/db), "
            f"not a {db_url.partition(':')[0]} one."
        )
    schema = f"ztoq_bench_{uuid.uuid4().hex[:12]}"
    described = DatabaseConfig(type="postgresql", url=db_url).describe()
    engine = sqlalchemy.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(
            f"Could not create a schema for the bench in {described}: {type(exc).__name__}."
        ) from None
    separator = "&" if "?" in db_url else "?"
    url = f"{db_url}{separator}options=-csearch_path%3D{schema}"
    try:
        yield RehearsalStore({"type": "postgresql", "url": url}, schema, engine)
    finally:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


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
    it) and the token is a Jira personal access token. The ``jira:`` section points at the source
    simulator, which serves Jira's user API as well.
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
        "jira": _jira_section(zephyr_url, source),
        "output_dir": str(workdir),
    }


def _jira_section(zephyr_url: str, source: str) -> dict[str, str]:
    """The ``jira:`` section (``ztoq users plan``): the source simulator plays the Jira site too."""
    if source == "cloud":
        return {"base_url": zephyr_url, "email": DEFAULT_JIRA_EMAIL, "api_token": DEFAULT_JIRA_API_TOKEN}
    return {"base_url": zephyr_url, "pat": DEFAULT_SERVER_TOKEN}


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
