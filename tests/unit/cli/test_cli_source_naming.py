"""``migrate status``, the dry run and ``verify-tokens`` name the source kind the project comes from."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from ztoq.cli.main import app
from ztoq.cli.migrate import print_preflight
from ztoq.pipeline.preflight import PreflightReport
from ztoq.sources.base import SOURCE_KIND
from ztoq.store import SourceItem, init_store
from ztoq.verify import PASS, Check

SERVER = "Zephyr Scale Server/Data Center (REST API v1)"


def status_output(tmp_path: Path, source: str | None, *extra: str) -> str:
    database = tmp_path / "store.db"
    config = tmp_path / "config.yaml"
    config.write_text(
        f"zephyr:\n  project_key: DC\ndatabase:\n  url: sqlite:///{database}\n", encoding="utf-8"
    )
    store = init_store(f"sqlite:///{database}")
    try:
        if source is not None:
            with store.session() as repo:
                repo.upsert_source("DC", [SourceItem(*SOURCE_KIND, {"name": source})])
    finally:
        store.close()
    result = CliRunner().invoke(app, ["migrate", "status", "--config", str(config), *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_status_names_the_stored_source(tmp_path: Path) -> None:
    assert f"Source: {SERVER}\n" in status_output(tmp_path, "zephyr_server")


def test_status_before_any_extract_says_so(tmp_path: Path) -> None:
    assert "Source: none yet (nothing extracted)\n" in status_output(tmp_path, None)


def test_status_text_file_names_the_source(tmp_path: Path) -> None:
    target = tmp_path / "status.txt"
    status_output(tmp_path, "zephyr_server", "--output-file", str(target))
    assert f"Source: {SERVER}" in target.read_text(encoding="utf-8")


def test_the_dry_run_names_the_source_and_its_url(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Console(record=True, width=200)
    monkeypatch.setattr("ztoq.cli.migrate.out", recorder)
    report = PreflightReport("DC", 9, "Target", [], [], source=SERVER, source_url="https://jira.example.com")
    print_preflight(report, quiet=True)
    assert f"Source: {SERVER} at https://jira.example.com, project DC." in recorder.export_text()


def test_verify_tokens_heads_the_zephyr_checks_with_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ztoq.cli.verify.run_checks", lambda cfg: [Check("Zephyr", "base URL", PASS, "ok.")])
    result = CliRunner().invoke(
        app, ["verify-tokens", "--zephyr-url", "https://jira.example.com", "--zephyr-username", "ana"]
    )
    assert result.exit_code == 0, result.output
    assert f"{SERVER}  https://jira.example.com\n" in result.output


def test_verify_tokens_refuses_a_url_of_neither_form_in_one_line() -> None:
    url = "https://acme.atlassian.net/rest/zephyr/1.0"
    result = CliRunner().invoke(app, ["verify-tokens", "--zephyr-url", url])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if "Zephyr" in line and "[" in line]
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"[FAIL] Zephyr base URL: zephyr.base_url {url} is neither"), result.output


def test_verify_tokens_takes_no_password_option() -> None:
    result = CliRunner().invoke(app, ["verify-tokens", "--zephyr-password", "secret"])
    assert result.exit_code == 2
    assert "No such option" in result.output
