"""``ztoq db init|stats|index|reconcile``: create or upgrade the migration database, look inside it,
and rebuild its mappings from qTest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ztoq.cli.console import ConfigOpt, InsecureOpt, JsonOpt, QuietOpt, load, out, reporter, status_table
from ztoq.config import DatabaseConfig
from ztoq.entities import noun
from ztoq.errors import ConfigError
from ztoq.pipeline.reconcile import ReconcileResult
from ztoq.pipeline.status import type_status
from ztoq.store import init_store, open_store

app = typer.Typer(help="Create, upgrade and inspect the migration database.", no_args_is_help=True)
index_app = typer.Typer(help="Analyse and create the store's recommended indexes.", no_args_is_help=True)
app.add_typer(index_app, name="index")


def database_config(
    config: Path | None,
    db_type: str | None,
    db_path: str | None,
    db_url: str | None,
    db_host: str | None,
    db_port: int | None,
    db_username: str | None,
    db_password: str | None,
    db_name: str | None,
) -> DatabaseConfig:
    """The database section: from --config, overridden by any --db-* option given."""
    overrides: dict[str, Any] = {
        key: value
        for key, value in {
            "type": db_type,
            "path": db_path,
            "url": db_url,
            "host": db_host,
            "port": db_port,
            "username": db_username,
            "password": db_password,
            "database": db_name,
        }.items()
        if value is not None
    }
    if db_type not in (None, "sqlite", "postgresql"):
        raise ConfigError(f"--db-type must be sqlite or postgresql, not {db_type!r}.")
    cfg = load(config, overrides={"database": overrides} if overrides else None, required=False)
    return cfg.database


@app.command("init")
def init(
    config: Path | None = ConfigOpt,
    db_type: str | None = typer.Option(None, "--db-type", help="sqlite (default) or postgresql."),
    db_path: str | None = typer.Option(None, "--db-path", help="SQLite file (default ./migration.db)."),
    db_url: str | None = typer.Option(None, "--db-url", help="A full SQLAlchemy URL instead of the parts."),
    db_host: str | None = typer.Option(None, "--db-host", help="PostgreSQL host."),
    db_port: int | None = typer.Option(None, "--db-port", help="PostgreSQL port."),
    db_username: str | None = typer.Option(None, "--db-username", help="PostgreSQL user."),
    db_password: str | None = typer.Option(
        None, "--db-password", help="PostgreSQL password (or ZTOQ_DATABASE_PASSWORD)."
    ),
    db_name: str | None = typer.Option(None, "--db-name", help="PostgreSQL database name."),
) -> None:
    """Create the migration database, or upgrade it to this ztoq's schema."""
    database = database_config(
        config, db_type, db_path, db_url, db_host, db_port, db_username, db_password, db_name
    )
    with init_store(database) as store:
        out.print(f"Migration database ready at {store.description} (schema {store.revision()}).")


@app.command("stats")
def stats(
    config: Path | None = ConfigOpt,
    project_key: str | None = typer.Option(
        None, "--project-key", help="Zephyr project key (default: config)."
    ),
) -> None:
    """Rows per table, and per entity type and state, for one project."""
    cfg = load(config)
    key = project_key or cfg.zephyr.project_key
    with (
        open_store(cfg.database, create_if_empty=False, config_file=str(config)) as store,
        store.session() as repo,
    ):
        tables = Table(title=f"Rows per table ({key})", title_justify="left")
        tables.add_column("Table")
        tables.add_column("Rows", justify="right")
        for name, count in repo.table_counts(key).items():
            tables.add_row(name, str(count))
        out.print(tables)
        out.print(status_table(type_status(repo, key), title=f"Entities per type and state ({key})"))
        states = repo.state_counts(key)
        if states:
            table = Table(title="Mappings per state", title_justify="left")
            table.add_column("Entity")
            table.add_column("States")
            for entity_type, by_state in sorted(states.items()):
                table.add_row(entity_type, ", ".join(f"{s} {n}" for s, n in sorted(by_state.items())))
            out.print(table)


@index_app.command("analyze")
def index_analyze(config: Path | None = ConfigOpt) -> None:
    """List the store's indexes and any recommended index that is missing."""
    cfg = load(config)
    with (
        open_store(cfg.database, create_if_empty=False, config_file=str(config)) as store,
        store.session() as repo,
    ):
        table = Table(title="Indexes", title_justify="left")
        for column in ("Table", "Index", "Columns", "Exists", "Recommended"):
            table.add_column(column)
        missing = 0
        for info in repo.index_report():
            missing += int(info.recommended and not info.exists)
            table.add_row(
                info.table,
                info.name,
                ", ".join(info.columns),
                "yes" if info.exists else "no",
                "yes" if info.recommended else "",
            )
        out.print(table)
        out.print(
            f"{missing} recommended index(es) missing; run `ztoq db index create`."
            if missing
            else "Every recommended index exists."
        )


@index_app.command("create")
def index_create(config: Path | None = ConfigOpt) -> None:
    """Create the recommended indexes that are missing (safe to run again)."""
    cfg = load(config)
    with (
        open_store(cfg.database, create_if_empty=False, config_file=str(config)) as store,
        store.session() as repo,
    ):
        created = repo.create_recommended_indexes()
    out.print(
        f"Created {len(created)} index(es): {', '.join(created)}." if created else "No index was missing."
    )


@app.command("reconcile")
def reconcile(
    config: Path | None = ConfigOpt,
    quiet: bool = QuietOpt,
    as_json: bool = JsonOpt,
    insecure: bool = InsecureOpt,
) -> None:
    """Rebuild the store's mappings from qTest alone (after a lost store, or to take over a project).

    Extracts and transforms as usual, then adopts every planned entity that qTest already holds
    (found by its Zephyr key), and prints what it adopted, what it could not match and what looks
    duplicated. Nothing is created, updated or deleted in qTest; run `ztoq migrate run` next.
    """
    from ztoq.pipeline.orchestrator import run_migration

    cfg = load(config, insecure=insecure)
    summary = run_migration(
        cfg, ["extract", "transform", "reconcile"], command="db reconcile", reporter=reporter(quiet, as_json)
    )
    found = summary.reconcile
    if as_json:
        out.print_json(
            data={"status": summary.status, "reconcile": None if found is None else found.to_json()}
        )
    elif found is not None:
        out.print(reconcile_table(found))
        for entity_type, seen in found.types.items():
            for key, ids in seen.duplicated.items():
                out.print(
                    f"duplicated: {entity_type} {key} is carried by qTest ids {', '.join(map(str, ids))}"
                )
            if seen.unmatched_examples:
                more = seen.unmatched - len(seen.unmatched_examples)
                examples = ", ".join(seen.unmatched_examples) + (f" and {more} more" if more else "")
                out.print(f"not in qTest ({entity_type}): {examples}")
        out.print(
            f"Adopted {found.adopted}, not in qTest {found.unmatched}, duplicated {found.duplicated} "
            f"({found.listings} qTest listings). Run `ztoq migrate run` to send what is missing or different."
        )
    if summary.status != "succeeded":
        raise typer.Exit(1)


def reconcile_table(found: ReconcileResult) -> Table:
    """Per entity type: adopted (and how many differ from the plan), not in qTest, duplicated."""
    table = Table(title="Reconciled with qTest")
    for column in ("Entity", "Adopted", "Differ (updated next load)", "Not in qTest", "Duplicated"):
        table.add_column(column, justify="left" if column == "Entity" else "right")
    for entity_type, seen in found.types.items():
        table.add_row(
            noun(entity_type, 2).split(" ", 1)[1],
            str(seen.adopted),
            str(seen.differ),
            str(seen.unmatched),
            str(len(seen.duplicated)),
        )
    return table
