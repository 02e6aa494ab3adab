"""``ztoq migrate status`` and the dry run print the attachments: per owner, sent, not sent and why."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from ztoq.cli import console
from ztoq.cli.main import app
from ztoq.cli.migrate import print_attachment_preview
from ztoq.pipeline.preflight import AttachmentPreview
from ztoq.report.attachments import (
    AttachmentExample,
    AttachmentGroup,
    AttachmentOverview,
    OwnerFiles,
    unavailable_sentence,
)
from ztoq.store import ListedAttachment, ProblemItem, SourceItem, init_store

P = "PROJ"
MB = 1024 * 1024


def write_config(tmp_path: Path) -> Path:
    """A config naming a SQLite store in ``tmp_path``."""
    path = tmp_path / "config.yaml"
    database = tmp_path / "store.db"
    path.write_text(
        f"zephyr:\n  project_key: {P}\ndatabase:\n  url: sqlite:///{database}\n", encoding="utf-8"
    )
    return path


def fill_store(tmp_path: Path, *, available: bool = True) -> None:
    """Two files on a test case (one sent) and one too large on an execution."""
    store = init_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with store.session() as repo:
            payload = {"available": available, "reason": None if available else "HTTP 503", "owners": 2}
            repo.upsert_source(P, [SourceItem("attachment_api", "status", payload)])
            if not available:
                return
            repo.upsert_attachments(
                P,
                [
                    ListedAttachment(
                        "test_case/PROJ-T1/1", "test_case", "PROJ-T1", None, "1", "a.png", 2048, None, "u1"
                    ),
                    ListedAttachment(
                        "test_case/PROJ-T1/2", "test_case", "PROJ-T1", None, "2", "b.txt", 10, None, "u2"
                    ),
                    ListedAttachment(
                        "test_execution/PROJ-E1/3",
                        "test_execution",
                        "PROJ-E1",
                        None,
                        "3",
                        "big.zip",
                        80 * MB,
                        None,
                        "u3",
                    ),
                ],
                run_id=None,
            )
            repo.record_created(P, "attachment", "test_case/PROJ-T1/1", 11, "h")
            repo.replace_problems(
                P,
                "transform",
                "attachment",
                "test_execution/PROJ-E1/3",
                [
                    ProblemItem(
                        "degraded",
                        "attachment_too_large",
                        "too large",
                        detail={"size": 80 * MB, "cache_path": "/cache/ab/abcd"},
                    )
                ],
            )
    finally:
        store.close()


@pytest.fixture
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich output wide enough that no table cell wraps."""
    monkeypatch.setattr(console.out, "_width", 200)


def test_status_prints_the_attachments(tmp_path: Path, wide_console: None) -> None:
    config = write_config(tmp_path)
    fill_store(tmp_path)
    result = CliRunner().invoke(app, ["migrate", "status", "--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.replace("│", " ").split()) for line in result.output.splitlines()]
    assert "test case 2 2.0 KB 0 0 1 2.0 KB" in lines, result.output
    assert "execution 1 80.0 MB 0 0 0 0 B" in lines, result.output
    assert "total 3 80.0 MB 0 0 1 2.0 KB" in lines, result.output
    assert "Attachments not sent: 1 file (80.0 MB)" in lines, result.output
    assert any(
        line.startswith("1 file (80.0 MB) larger than qtest.max_attachment_mb")
        and "[attachment_too_large]" in line
        and "cache: /cache/ab/abcd" in line
        for line in lines
    ), result.output


def test_status_says_when_the_tenant_has_no_attachment_operations(tmp_path: Path, wide_console: None) -> None:
    config = write_config(tmp_path)
    fill_store(tmp_path, available=False)
    result = CliRunner().invoke(app, ["migrate", "status", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert unavailable_sentence("HTTP 503") in " ".join(result.output.split())
    assert "Size in qTest" not in result.output


def test_status_text_file_has_the_attachments(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    fill_store(tmp_path)
    target = tmp_path / "status.txt"
    result = CliRunner().invoke(
        app, ["migrate", "status", "--config", str(config), "--output-file", str(target)]
    )
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8")
    assert "Attachments" in text
    assert "80.0 MB" in text
    assert "attachment_too_large" in text


def test_status_without_attachments_prints_no_attachment_table(tmp_path: Path, wide_console: None) -> None:
    config = write_config(tmp_path)
    init_store(f"sqlite:///{tmp_path / 'store.db'}").close()
    result = CliRunner().invoke(app, ["migrate", "status", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "Attachments" not in result.output


def test_dry_run_prints_what_would_be_sent_and_why_not(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Console(record=True, width=200)
    monkeypatch.setattr("ztoq.cli.migrate.out", recorder)
    example = AttachmentExample(
        "test_execution/PROJ-E1/3", "too large", "big.zip", size=80 * MB, cache_path="/c/ab"
    )
    overview = AttachmentOverview(
        True,
        False,
        "HTTP 503",
        (OwnerFiles("test_case", 4, 4 * MB, 4, 4 * MB, 0, 0, 0),),
        OwnerFiles("total", 4, 4 * MB, 4, 4 * MB, 0, 0, 0),
        (
            AttachmentGroup(
                "attachment_too_large", "degraded", "larger than the limit", 1, 80 * MB, (example,)
            ),
        ),
    )
    print_attachment_preview(AttachmentPreview(3, 3 * MB, 2, 5000, overview))
    text = recorder.export_text()
    assert unavailable_sentence("HTTP 503") in text
    assert "Attachments: a load would upload 3 files (3.0 MB)." in text
    assert "2 listed in Zephyr are not downloaded yet, 4.9 KB known" in text
    assert "Attachments a load would not send: 1 file (80.0 MB)" in text
    assert "test_execution/PROJ-E1/3 big.zip (80.0 MB, cache: /c/ab)" in text
    assert "Attachments per owner" in text
