"""Console I/O shared by the commands: options, config loading, progress choice, the run summary."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ztoq.config import ZtoqConfig, load_config
from ztoq.errors import ConfigError
from ztoq.pipeline.orchestrator import RunSummary
from ztoq.pipeline.progress import ProgressReporter, make_reporter
from ztoq.pipeline.status import TypeStatus
from ztoq.sources import source_title

ConfigOpt = typer.Option(None, "--config", "-c", help="The migration config file (config.yaml).")
CustomFieldMapOpt = typer.Option(
    None, "--custom-field-map", help="A custom_fields_map.yaml (Zephyr field -> qTest field, per entity)."
)
QuietOpt = typer.Option(False, "--quiet", "-q", help="Print nothing but errors and the final summary.")
JsonOpt = typer.Option(False, "--json", help="Progress and summary as JSON lines (for automation).")
InsecureOpt = typer.Option(
    False, "--insecure", help="Do not verify TLS certificates (test servers only; never for real data)."
)

# Piped or logged output gets wide tables rather than Rich's 80-column default.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def load(
    config: Path | None,
    custom_field_map: Path | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    required: bool = True,
    insecure: bool = False,
) -> ZtoqConfig:
    """The configuration from ``--config`` (required unless ``required`` is False) and the environment."""
    if config is None and required:
        raise ConfigError("No config file given; pass --config config.yaml (see the user guide).")
    if insecure:
        overrides = {
            **(overrides or {}),
            "network": {**(overrides or {}).get("network", {}), "insecure": True},
        }
        err.print("Warning: TLS certificate checks are off (--insecure).", markup=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfg = load_config(config, overrides=overrides, custom_field_map=custom_field_map)
    for warning in caught:
        err.print(f"Warning: {warning.message}", markup=False)
    _setup_logging(cfg)
    return cfg


def _setup_logging(cfg: ZtoqConfig) -> None:
    logger = logging.getLogger("ztoq")
    logger.setLevel(cfg.logging.level)
    if cfg.logging.file and not any(isinstance(h, logging.FileHandler) for h in logger.handlers):
        handler = logging.FileHandler(cfg.logging.file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


def reporter(quiet: bool, as_json: bool) -> ProgressReporter:
    """Rich bars on a terminal, plain lines otherwise; quiet or JSON when asked."""
    return make_reporter(quiet=quiet, as_json=as_json)


def status_table(rows: list[TypeStatus], title: str = "Migration status") -> Table:
    """Per-type counts: Zephyr source vs planned vs in qTest, with degraded/kept in text/failed/pending.

    "Degraded" and "Kept in text" count entities: with a value that changed on the way, and with a
    value kept whole in text because qTest has no field for it (information, not a degradation).
    """
    table = Table(title=title, title_justify="left")
    columns = (
        "Entity",
        "Zephyr",
        "Planned",
        "In qTest",
        "Degraded",
        "Kept in text",
        "Skipped",
        "Failed",
        "Pending",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "Entity" else "right")
    for row in rows:
        table.add_row(
            row.entity_type.replace("_", " "),
            str(row.source),
            str(row.planned),
            str(row.loaded),
            str(row.degraded),
            str(row.kept_in_text),
            str(row.skipped),
            str(row.failed),
            str(row.pending),
        )
    return table


def source_line(name: str | None) -> str:
    """``Source: Zephyr Scale Cloud (REST API v2)``: what the stored project was extracted from."""
    return f"Source: {source_title(name)}" if name else "Source: none yet (nothing extracted)"


def summary_table(summary: RunSummary) -> Table:
    """Phases with status and time, then requests, retries and rate-limit waits per API."""
    table = Table(title=f"Run {summary.run_id}: {summary.status}", title_justify="left")
    table.add_column("Phase")
    table.add_column("Status")
    table.add_column("Seconds", justify="right")
    table.add_column("Done (failed)", justify="left")
    for phase in summary.phases:
        done = ", ".join(
            f"{c['type']} {c['done']}" + (f" ({c['failed']})" if c["failed"] else "") for c in phase.counts
        )
        table.add_row(phase.phase, phase.status, f"{phase.seconds:.1f}", done)
    return table


def api_line(summary: RunSummary) -> str:
    """One line: requests per API, retries, rate-limit waits, wall and CPU time."""
    parts = [f"{name}: {stats.get('requests', 0)} requests" for name, stats in summary.api.items()]
    waits = sum(float(s.get("rate_limit_wait_seconds", 0)) for s in summary.api.values())
    return (
        f"{'; '.join(parts) or 'no API requests'}; {summary.retries} retries; "
        f"{summary.rate_limit_waits} rate-limit waits ({waits:.1f}s); "
        f"wall {summary.wall_seconds:.1f}s, CPU {summary.cpu_seconds:.1f}s."
    )


def show_plan(document: dict[str, Any], parts: list[Any], *, as_json: bool, output_file: Path | None) -> None:
    """Print a plan (its JSON ``document``, else its table and summary ``parts``) and, when asked,
    also write it to ``output_file`` (JSON for a .json file or with ``--json``, else the table)."""
    if as_json:
        out.print_json(data=document)
    else:
        for part in parts:
            out.print(part)
    if output_file is None:
        return
    output_file.parent.mkdir(parents=True, exist_ok=True)
    if as_json or output_file.suffix.lower() == ".json":
        output_file.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
        return
    with output_file.open("w", encoding="utf-8") as handle:
        writer = Console(file=handle, width=200, highlight=False, soft_wrap=True)
        for part in parts:
            writer.print(part)
