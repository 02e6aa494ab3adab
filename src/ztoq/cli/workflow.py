"""``ztoq workflow extract|transform|load|validate``: one phase at a time (the seed guide's phased runs)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from ztoq.cli.console import ConfigOpt, CustomFieldMapOpt, InsecureOpt, JsonOpt, QuietOpt, load, reporter
from ztoq.cli.migrate import finish
from ztoq.pipeline.orchestrator import run_migration

app = typer.Typer(help="Run one phase of the migration at a time.", no_args_is_help=True)


def _phase(
    phase: str,
    config: Path | None,
    custom_field_map: Path | None,
    quiet: bool,
    as_json: bool,
    insecure: bool = False,
    overrides: dict[str, Any] | None = None,
) -> None:
    cfg = load(config, custom_field_map, overrides, insecure=insecure)
    summary = run_migration(cfg, [phase], command=f"workflow {phase}", reporter=reporter(quiet, as_json))
    finish(summary, cfg, as_json)


@app.command("extract")
def extract(
    config: Path | None = ConfigOpt,
    custom_field_map: Path | None = CustomFieldMapOpt,
    full: bool = typer.Option(
        False, "--full", help="A full sync: list everything, mark deletions, read every test case's steps."
    ),
    quiet: bool = QuietOpt,
    as_json: bool = JsonOpt,
    insecure: bool = InsecureOpt,
) -> None:
    """Read the Zephyr project (and the qTest project's settings) into the migration database."""
    overrides = {"migration": {"full_sync": True}} if full else None
    _phase("extract", config, custom_field_map, quiet, as_json, insecure, overrides)


@app.command("transform")
def transform(
    config: Path | None = ConfigOpt,
    custom_field_map: Path | None = CustomFieldMapOpt,
    quiet: bool = QuietOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Map what was extracted into planned qTest payloads (no API calls)."""
    _phase("transform", config, custom_field_map, quiet, as_json)


@app.command("load")
def load_phase(
    config: Path | None = ConfigOpt,
    custom_field_map: Path | None = CustomFieldMapOpt,
    quiet: bool = QuietOpt,
    as_json: bool = JsonOpt,
    insecure: bool = InsecureOpt,
) -> None:
    """Send the planned payloads to qTest in dependency order (resumable, never duplicates)."""
    _phase("load", config, custom_field_map, quiet, as_json, insecure)


@app.command("validate")
def validate(
    config: Path | None = ConfigOpt,
    custom_field_map: Path | None = CustomFieldMapOpt,
    output_format: str | None = typer.Option(None, "--output-format", help="html, json or markdown."),
    output_file: Path | None = typer.Option(None, "--output-file", help="Write the validation report here."),
    deep: bool = typer.Option(
        False, "--deep", help="Download every migrated attachment back and compare its SHA-256."
    ),
    quiet: bool = QuietOpt,
    as_json: bool = JsonOpt,
    insecure: bool = InsecureOpt,
) -> None:
    """Read qTest back and compare it with Zephyr; exit 1 when anything is missing or different."""
    from ztoq.cli.reports import report_format, write_validation_report

    if output_file is not None or output_format is not None:
        report_format(output_format, output_file)  # a bad format fails now, not after validating
    overrides = {"migration": {"verify_attachment_content": True}} if deep else None
    cfg = load(config, custom_field_map, overrides, insecure=insecure)
    summary = run_migration(cfg, ["validate"], command="workflow validate", reporter=reporter(quiet, as_json))
    if output_file is not None or output_format is not None:
        write_validation_report(cfg, output_format, output_file)
    finish(summary, cfg, as_json)


@app.command("rollback")
def rollback(
    config: Path | None = ConfigOpt,
    project_key: str | None = typer.Option(
        None, "--project-key", help="Zephyr project key (default: config)."
    ),
    phases: str = typer.Option(
        "load,transform,extract",
        "--phases",
        help="What to undo: load (qTest), transform, extract (the store).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be deleted; change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    quiet: bool = QuietOpt,
    insecure: bool = InsecureOpt,
) -> None:
    """Undo a migration: delete from qTest exactly what ztoq created, then forget the stored data."""
    from rich.table import Table

    from ztoq.cli.console import err, out
    from ztoq.errors import InputError
    from ztoq.pipeline.rollback import RollbackPlan, run_rollback

    overrides = {"zephyr": {"project_key": project_key}} if project_key else None
    cfg = load(config, None, overrides, insecure=insecure)
    wanted = [p.strip() for p in phases.split(",") if p.strip()]

    def show(plan: RollbackPlan) -> None:
        table = Table(
            title=f"Rollback of {cfg.zephyr.project_key}: what ztoq created in qTest", title_justify="left"
        )
        table.add_column("Entity")
        table.add_column("To delete", justify="right")
        table.add_column("Examples (Zephyr key -> qTest id)")
        for entity_type, targets in plan.targets.items():
            sample = ", ".join(f"{m.source_key}->{m.target_id}" for m in targets[:5])
            table.add_row(
                entity_type.replace("_", " "),
                str(len(targets)),
                sample + (" ..." if len(targets) > 5 else ""),
            )
        out.print(table)
        if plan.logs:
            out.print(
                f"{plan.logs} test logs go with their test runs: "
                "qTest has no API to delete a test log on its own."
            )
        added = plan.fields
        if added.fields:
            labels = ", ".join(f"{f.object_type} {f.label!r}" for f in added.fields)
            out.print(f"qTest fields `ztoq fields apply` created, removed unless data uses them: {labels}")
        for values in added.values:
            out.print(
                f"Values `ztoq fields apply` added to {values.object_type} field {values.label!r}, removed "
                f"unless data uses them: {', '.join(values.choices)}"
            )

    def confirm(plan: RollbackPlan) -> bool:
        if "load" in wanted:
            show(plan)
        if yes:
            return True
        if not sys.stdin.isatty():
            raise InputError(
                "Rollback deletes data; pass --yes to confirm it (or --dry-run to see what it would do)."
            )
        return typer.confirm(f"Roll back {', '.join(wanted)} for {cfg.zephyr.project_key}?", default=False)

    plan, result = run_rollback(
        cfg, wanted, dry_run=dry_run, confirm=confirm, reporter=reporter(quiet, False)
    )
    if dry_run:
        show(plan)
        out.print(f"Dry run: {plan.total} qTest entities would be deleted; nothing was changed.")
        return
    if result is None:
        err.print("Rollback cancelled; nothing was changed.")
        raise typer.Exit(1)
    deleted = sum(result.deleted.values())
    out.print(
        f"Deleted {deleted} qTest entities ("
        + (", ".join(f"{n} {t}" for t, n in result.deleted.items()) or "none")
        + f"); {result.logs} test logs went with their runs."
    )
    for entity_type, key, reason in result.kept:
        out.print(f"Kept {entity_type} {key}: {reason}")
    for made in result.fields.fields:
        out.print(f"Removed {made.object_type} field {made.label!r} (id {made.field_id}): ztoq created it")
    for values, choice in result.fields.values:
        out.print(f"Removed value {choice!r} of {values.object_type} field {values.label!r}: ztoq added it")
    for what, reason in result.fields.kept:
        out.print(f"Kept {what}: {reason}")
    for phase, counts in result.cleared.items():
        out.print(f"Forgot the {phase} data: " + ", ".join(f"{n} {t}" for t, n in counts.items() if n))
    if result.kept or result.fields.kept:
        raise typer.Exit(1)
