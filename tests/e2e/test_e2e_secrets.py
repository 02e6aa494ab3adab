"""No token or password ever appears in logs, the store, reports, messages or --debug output.

A migration runs with distinctive secrets (and fails once with a wrong one, under --debug); then
every output and every file it wrote is searched for them.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
import yaml

from ztoq.rehearsal import simulator_config, write_config
from ztoq.serving import serve_in_thread
from ztoq.simulators.qtest import DEFAULT_QTEST_USER, QTestSimulator
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset

pytestmark = pytest.mark.e2e


def ztoq(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ztoq.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_secrets_appear_nowhere(tmp_path: Path) -> None:
    zephyr_token = f"zsecret-{uuid.uuid4().hex}"
    qtest_token = f"qsecret-{uuid.uuid4().hex}"
    password = f"pwsecret-{uuid.uuid4().hex}"
    wrong = f"wrongsecret-{uuid.uuid4().hex}"
    secrets = [zephyr_token, qtest_token, password, wrong]

    qtest = QTestSimulator.generated(token=qtest_token)
    for user in qtest.state.users.values():
        if user.username == DEFAULT_QTEST_USER:
            user.password = password
    outputs: list[str] = []
    with (
        serve_in_thread(ZephyrSimulator(generate_dataset(8, seed=2), token=zephyr_token).app) as zurl,
        serve_in_thread(qtest.app) as qurl,
    ):
        project = httpx.get(
            f"{qurl}/api/v3/projects", headers={"Authorization": f"Bearer {qtest_token}"}
        ).json()
        data = simulator_config(zurl, qurl, int(project[0]["id"]), tmp_path)
        data["zephyr"]["api_token"] = zephyr_token
        data["qtest"] = {
            **data["qtest"],
            "bearer_token": None,
            "username": DEFAULT_QTEST_USER,
            "password": password,
        }
        data["logging"] = {"level": "DEBUG", "file": str(tmp_path / "ztoq-debug.log")}
        config = write_config(data, tmp_path / "config.yaml")
        runs = [
            ("--debug", "migrate", "run", "--config", str(config)),
            ("--debug", "migrate", "run", "--config", str(config), "--json"),
            ("migrate", "status", "--config", str(config), "--format", "json"),
            (
                "migrate",
                "status",
                "--config",
                str(config),
                "--format",
                "html",
                "--output-file",
                str(tmp_path / "s.html"),
            ),
            ("db", "stats", "--config", str(config)),
        ]
        for fmt in ("html", "json", "markdown"):
            out = str(tmp_path / f"report.{fmt}")
            runs.append(
                (
                    "--debug",
                    "workflow",
                    "validate",
                    "--config",
                    str(config),
                    "--output-format",
                    fmt,
                    "--output-file",
                    out,
                )
            )
        for args in runs:
            done = ztoq(*args)
            assert done.returncode == 0, done.stderr
            outputs += [done.stdout, done.stderr]
        # A wrong password, under --debug: the failure is explained, the secret is not shown.
        bad = yaml.safe_load(config.read_text())
        bad["qtest"]["password"] = wrong
        bad_config = write_config(bad, tmp_path / "bad.yaml")
        done = ztoq("--debug", "workflow", "validate", "--config", str(bad_config))
        assert done.returncode == 2, done.stderr
        assert "qTest" in done.stderr
        outputs += [done.stdout, done.stderr]

    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name not in ("config.yaml", "bad.yaml")]
    assert any(p.suffix == ".db" for p in files), "the store is searched"
    assert any(p.suffix == ".log" for p in files), "the debug log is searched"
    for secret in secrets:
        for text in outputs:
            assert secret not in text, "a secret was printed"
        for path in files:
            assert secret.encode() not in path.read_bytes(), f"a secret is in {path.name}"


def test_database_password_is_never_shown(postgres_schema_url: str) -> None:
    secret = f"dbsecret-{uuid.uuid4().hex}"
    # Trust authentication ignores the password, so the store opens and its description is shown.
    url = postgres_schema_url.replace(
        "postgresql+psycopg://postgres@", f"postgresql+psycopg://postgres:{secret}@"
    )
    done = ztoq("--debug", "db", "init", "--db-url", url)
    assert done.returncode == 0, done.stderr
    assert secret not in done.stdout + done.stderr
    broken = url.replace("127.0.0.1:5432", "127.0.0.1:1")
    done = ztoq("--debug", "db", "init", "--db-url", broken)
    assert done.returncode != 0
    assert secret not in done.stdout + done.stderr
