"""The CLI as a user meets it: help on every command, exit codes, the simulate commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer

from ztoq import __version__
from ztoq.cli.main import app, run
from ztoq.simulators.process import run_simulator


def all_commands() -> list[list[str]]:
    """Every command path of the CLI, e.g. ["db", "index", "create"]."""
    paths: list[list[str]] = []

    def walk(command: Any, prefix: list[str]) -> None:
        paths.append(prefix)
        # Typer vendors its own click: test for a group by shape, not by class.
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


EXPECTED = {
    ("db", "init"),
    ("db", "stats"),
    ("db", "index", "analyze"),
    ("db", "index", "create"),
    ("migrate", "run"),
    ("migrate", "status"),
    ("workflow", "extract"),
    ("workflow", "transform"),
    ("workflow", "load"),
    ("workflow", "validate"),
    ("simulate", "zephyr"),
    ("simulate", "qtest"),
    ("demo",),
    ("bench",),
}


def test_the_seed_guide_commands_exist() -> None:
    assert {tuple(p) for p in all_commands()} >= EXPECTED


@pytest.mark.parametrize("path", all_commands(), ids=lambda p: " ".join(p) or "ztoq")
def test_every_command_has_help(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run([*path, "--help"]) == 0
    text = capsys.readouterr().out
    assert "Usage:" in text
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    assert (command.help or "").strip(), f"'ztoq {' '.join(path)}' has no help text"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ztoq {__version__}"


def test_usage_errors_exit_2() -> None:
    assert run(["no-such-command"]) == 2
    assert run(["simulate", "zephyr", "--port", "not-a-number"]) == 2


@pytest.mark.parametrize(
    ("config_text", "needle"),
    [
        ("zephyr: [unclosed\n", "not valid YAML"),
        ("zephyr:\n  project_kee: X\n", "Unknown config key 'zephyr.project_kee'"),
        ("performance:\n  max_workers: lots\n", "performance.max_workers"),
    ],
)
def test_bad_config_is_one_sentence_and_exit_2(
    tmp_path: Path, config_text: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(config_text)
    assert run(["migrate", "run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert "Traceback" not in err


def test_missing_config_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["migrate", "run", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_db_init_sqlite_as_the_seed_guide_shows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "migration.db"
    assert run(["db", "init", "--db-type", "sqlite", "--db-path", str(db)]) == 0
    assert db.exists()
    assert "Migration database ready" in capsys.readouterr().out
    assert run(["db", "init", "--db-type", "sqlite", "--db-path", str(db)]) == 0, "init is idempotent"


def test_db_init_postgresql_with_parts(postgres_schema_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["db", "init", "--db-type", "postgresql", "--db-url", postgres_schema_url]) == 0
    out = capsys.readouterr().out
    assert "Migration database ready" in out
    assert "postgresql" in out


def test_foreign_database_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "migration.db"
    bogus.write_bytes(b"this is not a database at all" * 100)
    assert run(["db", "init", "--db-type", "sqlite", "--db-path", str(bogus)]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert str(bogus) in err


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("zephyr", "/v2/projects"),
        ("zephyr-server", "/rest/atm/1.0/testcase/search"),
        ("qtest", "/api/v3/projects"),
    ],
)
def test_simulate_prints_listening_and_serves(kind: str, path: str) -> None:
    with run_simulator(kind, "--generate", "5") as sim:
        assert sim.url.startswith("http://127.0.0.1:")
        assert any("listening on" in line for line in sim.output)
        stats = httpx.get(f"{sim.url}/_sim/stats", timeout=10)
        assert stats.status_code == 200
        unauthorised = httpx.get(f"{sim.url}{path}")
        assert unauthorised.status_code == 401


def test_simulate_refuses_a_busy_port() -> None:
    with run_simulator("zephyr") as sim:
        port = sim.url.rsplit(":", 1)[1]
        proc = subprocess.run(
            [sys.executable, "-m", "ztoq.cli", "simulate", "zephyr", "--port", port],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1
    assert "choose another --port" in proc.stderr
