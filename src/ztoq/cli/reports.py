"""Writing the validation and status reports (``--output-format``/``--format`` and ``--output-file``)."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from ztoq.cli.attachment_tables import attachment_summary
from ztoq.cli.console import out, source_line, status_table
from ztoq.config import ZtoqConfig
from ztoq.errors import InputError
from ztoq.pipeline.reporting import report_input
from ztoq.pipeline.source_rows import stored_source_name
from ztoq.pipeline.status import ProjectStatus, project_statuses, type_status
from ztoq.report import build_report, format_for, render, write_report
from ztoq.report.attachments import attachment_overview
from ztoq.store import open_store


def report_format(fmt: str | None, path: Path | None) -> str:
    """The report format from ``--output-format``/``--format`` or the file suffix (html by default)."""
    if fmt is None and path is None:
        return "html"
    try:
        return format_for(path or "report", fmt)
    except ValueError as exc:
        raise InputError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None


def projects_table(projects: list[ProjectStatus], title: str = "Projects in this store") -> Table:
    """One row per project of the store: its last run and its entity counts (in qTest, failed, ...)."""
    table = Table(title=title, title_justify="left")
    for column in (
        "Project",
        "Last run",
        "Status",
        "Started (UTC)",
        "In qTest",
        "Failed",
        "Degraded",
        "Kept in text",
        "Pending",
    ):
        table.add_column(column, justify="left" if column in ("Project", "Status") else "right")
    for project in projects:
        run = project.last_run
        table.add_row(
            project.project_key,
            f"{run.id} ({run.command})",
            run.status,
            f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            str(project.loaded),
            str(project.failed),
            str(project.degraded),
            str(project.kept_in_text),
            str(project.pending),
        )
    return table


def write_validation_report(cfg: ZtoqConfig, fmt: str | None, path: Path | None) -> Path:
    """Build the report from the store and write it (default file: <output_dir>/validation-report.<ext>)."""
    kind = report_format(fmt, path)
    ext = {"markdown": "md"}.get(kind, kind)
    target = path or Path(cfg.output_dir) / f"validation-report.{ext}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open_store(cfg.database, create_if_empty=False) as store:
        report = build_report(report_input(store, cfg, f"Validation report: {cfg.zephyr.project_key}"))
    write_report(report, target, kind)
    out.print(f"Report written to {target}")
    return target


def write_status_report(cfg: ZtoqConfig, fmt: str, path: Path | None, config_file: Path | None) -> None:
    """``ztoq migrate status``: a table on the terminal, or a JSON/HTML/Markdown report."""
    fmt = fmt.lower()
    if fmt == "text" and path is not None:
        # Text to a file: the same tables, as plain text.
        from rich.console import Console

        with (
            open_store(cfg.database, create_if_empty=False, config_file=str(config_file)) as store,
            store.session() as repo,
        ):
            rows = type_status(repo, cfg.zephyr.project_key)
            attachments = attachment_summary(attachment_overview(repo, cfg.zephyr.project_key))
            source = stored_source_name(repo, cfg.zephyr.project_key)
            projects = project_statuses(repo)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            console = Console(file=handle, width=120, no_color=True)
            console.print(status_table(rows, title=f"Migration status: {cfg.zephyr.project_key}"))
            console.print(source_line(source), markup=False)
            if attachments is not None:
                console.print(attachments)
            if projects:
                console.print(projects_table(projects))
        out.print(f"Status written to {path}")
        return
    if fmt == "text":
        with (
            open_store(cfg.database, create_if_empty=False, config_file=str(config_file)) as store,
            store.session() as repo,
        ):
            rows = type_status(repo, cfg.zephyr.project_key)
            attachments = attachment_summary(attachment_overview(repo, cfg.zephyr.project_key))
            last = repo.latest_run(cfg.zephyr.project_key)
            source = stored_source_name(repo, cfg.zephyr.project_key)
            projects = project_statuses(repo)
        out.print(
            status_table(rows, title=f"Migration status: {cfg.zephyr.project_key} ({store.description})")
        )
        out.print(source_line(source), markup=False)
        if attachments is not None:
            out.print(attachments)
        if last is None:
            out.print("No run yet; start one with `ztoq migrate run --config <file>`.")
        else:
            out.print(
                f"Last run {last.id} ({last.command}): {last.status}, "
                f"started {last.started_at:%Y-%m-%d %H:%M:%S} UTC."
            )
            if last.error:
                out.print(last.error)
        if projects:
            out.print(projects_table(projects, title=f"Projects in {store.description}"))
        return
    kind = report_format(fmt, path)
    with open_store(cfg.database, create_if_empty=False, config_file=str(config_file)) as store:
        report = build_report(report_input(store, cfg, f"Migration status: {cfg.zephyr.project_key}"))
    if path is None:
        print(render(report, kind))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_report(report, path, kind)
    out.print(f"Report written to {path}")
