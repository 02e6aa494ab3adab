"""``ztoq workflow extract|transform|load|validate``: one phase at a time (the seed guide's phased runs)."""

from __future__ import annotations

from pathlib import Path

import typer

from ztoq.cli.common import ConfigOpt, CustomFieldMapOpt, JsonOpt, QuietOpt, load, reporter
from ztoq.cli.migrate import finish
from ztoq.pipeline.orchestrator import run_migration

app = typer.Typer(help="Run one phase of the migration at a time.", no_args_is_help=True)


def _phase(
    phase: str, config: Path | None, custom_field_map: Path | None, quiet: bool, as_json: bool
) -> None:
    cfg = load(config, custom_field_map)
    summary = run_migration(cfg, [phase], command=f"workflow {phase}", reporter=reporter(quiet, as_json))
    finish(summary, cfg, as_json)


@app.command("extract")
def extract(
    config: Path | None = ConfigOpt,
    custom_field_map: Path | None = CustomFieldMapOpt,
    quiet: bool = QuietOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Read the Zephyr project (and the qTest project's settings) into the migration database."""
    _phase("extract", config, custom_field_map, quiet, as_json)


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
) -> None:
    """Send the planned payloads to qTest in dependency order (resumable, never duplicates)."""
    _phase("load", config, custom_field_map, quiet, as_json)


@app.command("validate")
def validate(
    config: Path | None = ConfigOpt,
    custom_field_map: Path | None = CustomFieldMapOpt,
    output_format: str | None = typer.Option(None, "--output-format", help="html, json or markdown."),
    output_file: Path | None = typer.Option(None, "--output-file", help="Write the validation report here."),
    quiet: bool = QuietOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Read qTest back and compare it with Zephyr; exit 1 when anything is missing or different."""
    from ztoq.cli.reports import report_format, write_validation_report

    if output_file is not None or output_format is not None:
        report_format(output_format, output_file)  # a bad format fails now, not after validating
    cfg = load(config, custom_field_map)
    summary = run_migration(cfg, ["validate"], command="workflow validate", reporter=reporter(quiet, as_json))
    if output_file is not None or output_format is not None:
        write_validation_report(cfg, output_format, output_file)
    finish(summary, cfg, as_json)
