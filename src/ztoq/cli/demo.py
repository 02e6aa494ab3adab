"""``ztoq demo``: a complete migration of a generated project between the two simulators."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from ztoq.cli.attachment_tables import attachment_summary
from ztoq.cli.console import QuietOpt, api_line, load, out, reporter, status_table, summary_table
from ztoq.cli.reports import write_validation_report
from ztoq.errors import InputError
from ztoq.pipeline.orchestrator import run_migration
from ztoq.pipeline.status import type_status
from ztoq.report.attachments import attachment_overview
from ztoq.store import open_store


def demo(
    cases: int = typer.Option(300, "--cases", min=1, help="Test cases in the generated Zephyr project."),
    seed: int = typer.Option(7, "--seed", help="Seed of the generated project (reproducible)."),
    output_dir: Path = typer.Option(
        Path("ztoq-demo"), "--output-dir", help="Where each demo run writes its files."
    ),
    workers: int = typer.Option(8, "--workers", min=1, help="Concurrent requests (performance.max_workers)."),
    source: str = typer.Option(
        "cloud",
        "--source",
        help="Which Zephyr Scale to rehearse from: cloud (REST API v2) or server (Server/Data Center, v1).",
    ),
    quiet: bool = QuietOpt,
) -> None:
    """Start both simulators, migrate a generated project into SQLite, print the summary, write the report."""
    # The simulators, the dashboard and the web server load only when the demo runs.
    from ztoq.dashboard import create_dashboard_app, screenshot
    from ztoq.rehearsal import REHEARSAL_SOURCES, simulators, write_config
    from ztoq.serving import serve_in_thread

    if source not in REHEARSAL_SOURCES:
        raise InputError(f"--source must be cloud or server, not {source!r}.")
    workdir = (output_dir / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")).resolve()
    out.print(f"Starting the Zephyr and qTest simulators with a generated project of {cases} test cases...")
    # One file over qTest's 50 MB limit shows how a file that cannot be sent is reported.
    with simulators(cases, seed=seed, large_attachments=1, source=source) as sims:
        kind = "Zephyr Scale Cloud" if source == "cloud" else "Zephyr Scale Server/Data Center"
        out.print(f"{kind} simulator: {sims.zephyr_api_url}   qTest simulator: {sims.qtest.url}")
        config_path = write_config(sims.config(workdir, max_workers=workers), workdir / "config.yaml")
        cfg = load(config_path)
        board = create_dashboard_app(cfg)
        with serve_in_thread(board) as dashboard_url:
            out.print(f"Live dashboard: {dashboard_url}")
            try:
                summary = run_migration(cfg, command="demo", reporter=reporter(quiet, False))
                html = write_validation_report(cfg, "html", workdir / "report.html")
                write_validation_report(cfg, "json", workdir / "report.json")
                shots = [
                    (name, path)
                    for name, url, path in (
                        ("dashboard", dashboard_url, workdir / "dashboard.png"),
                        ("report", html.resolve().as_uri(), workdir / "report.png"),
                    )
                    if screenshot(url, path)
                ]
            finally:
                board.state.status_source.close()
    with open_store(cfg.database) as store, store.session() as repo:
        rows = type_status(repo, cfg.zephyr.project_key)
        attachments = attachment_summary(attachment_overview(repo, cfg.zephyr.project_key))
    out.print(summary_table(summary))
    out.print(status_table(rows, title="Zephyr source vs qTest target"))
    if attachments is not None:
        out.print(attachments)
    out.print(api_line(summary))
    if summary.validation is not None:
        verdict = (
            "every entity arrived"
            if summary.validation.ok
            else (f"{summary.validation.missing} missing, {summary.validation.mismatched} mismatched")
        )
        out.print(f"Validation (read back from qTest): {verdict}.")
    out.print(f"Config:   {config_path}")
    out.print(f"Database: {cfg.database.describe()}")
    out.print(f"Report:   {html}")
    for name, path in shots:
        out.print(f"Screenshot of the {name}: {path}")
    if not shots:
        out.print("No screenshots: headless Chromium was not found (scripts/ensure-chromium.sh installs it).")
    if summary.status != "succeeded":
        raise typer.Exit(1)
