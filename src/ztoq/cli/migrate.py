"""``ztoq migrate run|status``: the whole migration in one command, and where it stands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ztoq.cli.common import (
    ConfigOpt,
    CustomFieldMapOpt,
    InsecureOpt,
    JsonOpt,
    QuietOpt,
    api_line,
    load,
    out,
    reporter,
    status_table,
    summary_table,
)
from ztoq.config import PHASES, ZtoqConfig
from ztoq.pipeline.orchestrator import RunSummary, run_migration
from ztoq.pipeline.status import type_status
from ztoq.store import open_store

app = typer.Typer(help="Run the whole migration, or see where it stands.", no_args_is_help=True)


def parse_bool(value: str | None, option: str) -> bool | None:
    """``--incremental true|false`` as the seed guide writes it."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise typer.BadParameter(f"{option} takes true or false, not {value!r}")


def finish(summary: RunSummary, cfg: ZtoqConfig, as_json: bool) -> None:
    """Print the outcome; exit 1 when the run failed (validation found missing entities)."""
    with open_store(cfg.database) as store, store.session() as repo:
        rows = type_status(repo, cfg.zephyr.project_key)
    if as_json:
        print(json.dumps(summary_json(summary, rows)))
    else:
        out.print(summary_table(summary))
        out.print(status_table(rows))
        out.print(api_line(summary))
        if summary.validation is not None and not summary.validation.ok:
            out.print(
                f"Validation found {summary.validation.missing} missing and "
                f"{summary.validation.mismatched} mismatched entities; see `ztoq migrate status` "
                "or `ztoq workflow validate --output-format html --output-file report.html`."
            )
    if summary.status != "succeeded":
        raise typer.Exit(1)


def summary_json(summary: RunSummary, rows: list[Any]) -> dict[str, Any]:
    return {
        "run_id": summary.run_id,
        "status": summary.status,
        "wall_seconds": round(summary.wall_seconds, 3),
        "cpu_seconds": round(summary.cpu_seconds, 3),
        "phases": [
            {
                "phase": p.phase,
                "status": p.status,
                "seconds": round(p.seconds, 3),
                "counts": p.counts,
                "error": p.error,
            }
            for p in summary.phases
        ],
        "api": summary.api,
        "types": [vars(r) for r in rows],
        "validation": None
        if summary.validation is None
        else {"missing": summary.validation.missing, "mismatched": summary.validation.mismatched},
    }


@app.command("run")
def run(
    config: Path | None = ConfigOpt,
    phases: str | None = typer.Option(
        None, "--phases", help=f"Comma-separated phases to run (default: the config's; {','.join(PHASES)})."
    ),
    incremental: str | None = typer.Option(None, "--incremental", help="true: send only what changed."),
    custom_field_map: Path | None = CustomFieldMapOpt,
    quiet: bool = QuietOpt,
    as_json: bool = JsonOpt,
    insecure: bool = InsecureOpt,
) -> None:
    """Run the migration (extract, transform, load, validate); run it again to resume or sync."""
    overrides: dict[str, Any] = {"migration": {}}
    if phases is not None:
        overrides["migration"]["phases"] = phases
    flag = parse_bool(incremental, "--incremental")
    if flag is not None:
        overrides["migration"]["incremental"] = flag
    cfg = load(config, custom_field_map, overrides, insecure=insecure)
    summary = run_migration(cfg, command="migrate run", reporter=reporter(quiet, as_json))
    finish(summary, cfg, as_json)


@app.command("status")
def status(
    config: Path | None = ConfigOpt,
    output_format: str = typer.Option("text", "--format", help="text, json, html or markdown."),
    output_file: Path | None = typer.Option(None, "--output-file", help="Write the report to this file."),
) -> None:
    """Where the migration stands: counts per type and state, problems, last runs."""
    from ztoq.cli.reports import write_status_report

    cfg = load(config)
    write_status_report(cfg, output_format, output_file, config)
