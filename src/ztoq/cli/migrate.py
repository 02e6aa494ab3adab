"""``ztoq migrate run|status``: the whole migration in one command, and where it stands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ztoq.cli.console import (
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

if TYPE_CHECKING:
    from ztoq.pipeline.preflight import AttachmentPreview

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
    full: bool = typer.Option(
        False,
        "--full",
        help="Extract is a full sync: list everything, mark deletions, read every test case's steps "
        "again (a delta sync's periodic reconciliation).",
    ),
    custom_field_map: Path | None = CustomFieldMapOpt,
    quiet: bool = QuietOpt,
    as_json: bool = JsonOpt,
    insecure: bool = InsecureOpt,
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Extract and transform, then check qTest with GET requests only: print what would be "
        "created and every problem found; write nothing to qTest (exit 1 when something blocks).",
    ),
) -> None:
    """Run the migration (extract, transform, load, validate); run it again to resume or sync."""
    overrides: dict[str, Any] = {"migration": {}}
    if phases is not None:
        overrides["migration"]["phases"] = phases
    flag = parse_bool(incremental, "--incremental")
    if flag is not None:
        overrides["migration"]["incremental"] = flag
    if full:
        overrides["migration"]["full_sync"] = True
    cfg = load(config, custom_field_map, overrides, insecure=insecure)
    if dry_run:
        raise typer.Exit(run_dry(cfg, cfg.migration.phases if phases is not None else None, quiet, as_json))
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


# -- ``migrate run --dry-run`` -----------------------------------------------------------------------

#: The phases a dry run may run: neither writes to qTest.
DRY_RUN_PHASES = ("extract", "transform")


def run_dry(cfg: ZtoqConfig, phases: list[str] | None, quiet: bool, as_json: bool) -> int:
    """Extract and transform (or the requested ones of them), then the preflight; the exit code.

    ``phases`` None runs both; ``--phases`` keeps only extract/transform (``--phases load`` checks
    the stored plan against qTest without reading Zephyr again).
    """
    from ztoq.pipeline.preflight import run_preflight

    cfg.require_target()
    wanted = [p for p in (phases or DRY_RUN_PHASES) if p in DRY_RUN_PHASES]
    summary = None
    if wanted:
        summary = run_migration(
            cfg, wanted, command="migrate run --dry-run", reporter=reporter(quiet, as_json)
        )
    report = run_preflight(cfg)
    if as_json:
        run_part = None if summary is None else summary_json(summary, [])
        print(json.dumps({"dry_run": True, "run": run_part, "preflight": report.to_json()}))
    else:
        if summary is not None and not quiet:
            out.print(summary_table(summary))
        print_preflight(report, quiet=quiet)
    return 0 if report.ok else 1


def print_attachment_preview(preview: AttachmentPreview, *, quiet: bool = False) -> None:
    """The dry run's attachments: what a load would upload, what it would not and why, per owner kind."""
    from rich.text import Text

    from ztoq.cli.attachment_tables import attachment_table, group_lines
    from ztoq.report.attachments import fmt_bytes

    overview = preview.overview
    if overview.unavailable_text is not None:
        out.print(Text(overview.unavailable_text, style="yellow"))
    files = "file" if preview.send == 1 else "files"
    out.print(
        Text(f"Attachments: a load would upload {preview.send} {files} ({fmt_bytes(preview.send_bytes)}).")
    )
    if preview.to_download:
        known = f", {fmt_bytes(preview.to_download_bytes)} known" if preview.to_download_bytes else ""
        out.print(
            Text(
                f"  {preview.to_download} listed in Zephyr are not downloaded yet{known}; "
                "a load does not send them until a run downloads them."
            )
        )
    if overview.not_sent:
        for line in group_lines("Attachments a load would not send", overview.not_sent):
            out.print(line)
    if overview.changed and not quiet:
        for line in group_lines("Attachments sent with a change", overview.changed):
            out.print(line)
    if overview.owners and not quiet:
        out.print(attachment_table(overview, "Attachments per owner"))


def print_preflight(report: Any, *, quiet: bool = False) -> None:
    """The preflight report: what would be sent per type, the transform problems, each check."""
    from rich.table import Table
    from rich.text import Text

    from ztoq.cli.verify import mark
    from ztoq.entities import BY_NAME, noun
    from ztoq.pipeline.preflight import CHECKS

    gets = report.qtest_requests.get("GET", 0)
    out.print(
        Text(
            f"Dry run: nothing was written to qTest project {report.qtest_project_id} "
            f"{report.qtest_project_name!r} (the preflight sent {gets} GET requests)."
        )
    )
    if report.source:
        out.print(Text(f"Source: {report.source} at {report.source_url}, project {report.project_key}."))
    table = Table(title="What a load would send to qTest", title_justify="left")
    for column in ("Entity", "Planned", "Create", "Update", "Unchanged", "Not planned"):
        table.add_column(column, justify="left" if column == "Entity" else "right")
    for row in report.counts:
        registered = BY_NAME.get(row.entity_type)
        table.add_row(
            row.entity_type if registered is None else registered.singular,
            str(row.planned),
            str(row.create),
            str(row.update),
            str(row.unchanged),
            str(row.not_planned),
        )
    out.print(table)
    if report.attachments is not None:
        print_attachment_preview(report.attachments, quiet=quiet)
    if report.fields is not None:
        from ztoq.cli.fields import print_apply_preview

        print_apply_preview(report.fields, quiet=quiet)
    if report.transform and not quiet:
        out.print(
            Text("Problems transform recorded in the plan (each entity: `ztoq migrate status`)", style="bold")
        )
        for group in report.transform:
            what = noun(group.entity_type, group.count)
            severity = group.severity.replace("_", " ")
            out.print(Text(f"  {severity:<12} {group.code} ({what}), e.g.: {group.message}"))
    out.print(Text("Preflight checks", style="bold"))
    status_marks = {"passed": "pass", "warning": "warn", "failed": "fail"}
    for check, proves in CHECKS.items():
        status = report.status_of(check)
        out.print(Text.assemble(mark(status_marks[status]), f" {check}: {proves}"))
        for finding in report.findings_of(check):
            out.print(
                Text.assemble("       ", mark("fail" if finding.blocking else "warn"), " ", finding.text())
            )
    blocking, warnings = len(report.blocking), len(report.warnings)
    plural = "s" if warnings != 1 else ""
    if blocking:
        out.print(
            Text(
                f"Preflight: {blocking} blocking problem{'s' if blocking != 1 else ''} and {warnings} "
                f"warning{plural}; fix the blocking ones (entities would fail), then run the dry run again."
            )
        )
    else:
        sending = sum(row.send for row in report.counts)
        out.print(
            Text(
                f"Preflight passed with {warnings} warning{plural}: `ztoq migrate run` would send {sending} "
                "entities to qTest."
            )
        )
