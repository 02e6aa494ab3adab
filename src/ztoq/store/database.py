"""Opening the store: engines, SQLite pragmas, PostgreSQL, the schema revision check.

``init_store`` creates or upgrades the schema; ``open_store`` refuses a database at another
revision (or not made by ztoq) and creates the schema only in an empty one. Migrations run from
the package's own ``migrations`` directory, so this works from an installed wheel and any working
directory. Messages name the database by its description, never by a URL carrying a password.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from ztoq.config import DatabaseConfig
from ztoq.errors import StoreError, StoreOutdated, StoreUnusable
from ztoq.store.core import Store
from ztoq.store.repo_base import error_reason

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30
POSTGRES_CONNECT_TIMEOUT_S = 10
#: The page cache of each SQLite connection, in KiB (see ``_sqlite_pragmas``).
SQLITE_CACHE_KIB = 512
#: Room for the load phase's worker threads (each uses its own session) plus the lock heartbeat.
POOL: dict[str, Any] = {"pool_size": 10, "max_overflow": 60, "pool_timeout": 60}
#: Serialises concurrent `init` of one PostgreSQL database (pg_advisory_xact_lock key).
_PG_MIGRATION_LOCK_KEY = 0x5A746F51
#: Tables only a ztoq store has; used to tell a newer ztoq store from another application's database.
_SIGNATURE_TABLES = frozenset({"source_entities", "planned_entities", "mappings"})


def describe_url(url: str) -> str:
    """A printable name of the database at ``url``: its file path, or scheme://host:port/db (no password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<an unparsable database URL>"
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return DatabaseConfig(url=url).describe().replace("postgresql+psycopg://", "postgresql://")


def _target(target: str | DatabaseConfig) -> tuple[str, str]:
    if isinstance(target, DatabaseConfig):
        return target.sqlalchemy_url(), target.describe()
    return target, describe_url(target)


def _is_memory(url: str) -> bool:
    database = make_url(url).database
    return not database or database == ":memory:" or "mode=memory" in database


def _missing_sqlite_file(url: str) -> bool:
    if make_url(url).get_backend_name() != "sqlite" or _is_memory(url):
        return False
    return not Path(make_url(url).database or "").expanduser().exists()


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
        # WAL: readers never block the writer, and a commit is one append (crash-safe with NORMAL).
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Each pooled connection keeps its own page cache (and sorts within it): SQLite's default
        # of 2 MiB each made a 3,000-test-case bench peak at 243 MiB, 182 MiB with 512 KiB (the
        # file's pages stay in the OS's cache; the bench's CPU per request moved by under 7%).
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    finally:
        cursor.close()


def create_store_engine(url: str, *, description: str | None = None) -> Engine:
    """Create the SQLAlchemy engine of a store (SQLite tuned for WAL, or PostgreSQL via psycopg 3).

    SQLite keeps the driver's default transaction handling: a transaction starts at the first write,
    so reads never pin a snapshot that a later write would have to upgrade (which fails at once
    with "database is locked" when another connection, e.g. the lock heartbeat, wrote meanwhile).

    Args:
        url: A SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://...``).
        description: How to name the database in messages (default: derived from the URL).

    Returns:
        The engine; nothing is connected yet.

    Raises:
        StoreError: The URL is invalid, of an unsupported backend, or its directory cannot be made.
    """
    description = description or describe_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreUnusable("The database URL is not valid; check database.url in the config.") from exc
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            return _sqlite_engine(url, description)
        if backend == "postgresql":
            if parsed.get_driver_name() != "psycopg":
                parsed = parsed.set(drivername="postgresql+psycopg")
            connect_args: dict[str, Any] = {
                # psycopg prepares a statement on its 6th run, and PostgreSQL may then keep a generic
                # plan made while the table was still small (a scan per batch, quadratic over a big
                # extract). Plan every statement with its real parameters and fresh statistics
                # (see AutoAnalyze) instead.
                "prepare_threshold": None,
            }
            if "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
            return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args, **POOL)
    except NoSuchModuleError as exc:
        raise StoreError(f"The database driver for {description} is not installed.") from exc
    raise StoreError(
        f"The migration database {description} is of an unsupported type ({backend}); "
        f"use SQLite or PostgreSQL."
    )


def _sqlite_engine(url: str, description: str) -> Engine:
    if _is_memory(url):
        # One shared connection, or every checkout would see its own empty database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        path = Path(make_url(url).database or "").expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the directory of the migration database {description} ({exc.strerror}); "
                f"check database.path."
            ) from exc
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}, **POOL
        )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def migration_engine(url: str) -> Engine:
    """An engine for running migrations: like ``create_store_engine``, with real transactions on SQLite.

    On SQLite the driver would run DDL outside any transaction; here every transaction is an explicit
    ``BEGIN IMMEDIATE``, so a schema upgrade is all-or-nothing even if the process is killed, and a
    second process initialising the same file waits for the first instead of failing.
    """
    engine = create_store_engine(url)
    if engine.dialect.name == "sqlite" and not _is_memory(url):

        @event.listens_for(engine, "connect")
        def _no_driver_transactions(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migrations (no ini file needed)."""
    from alembic.config import Config  # Alembic is imported only to migrate (it costs 0.5 s)

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    cfg.attributes["connection"] = connection
    cfg.attributes["configure_logging"] = False
    return cfg


_REVISION_LINE = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(None|['\"]([^'\"]+)['\"])", re.MULTILINE)


def _revision_chain(versions: Path) -> tuple[set[str], set[str]]:
    """(revisions, revisions something revises) of the migration files in ``versions``."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in versions.glob("*.py"):
        for name, _, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            if value:
                (revisions if name == "revision" else revised).add(value)
    return revisions, revised


def head_revision() -> str:
    """The schema revision this ztoq needs: the packaged migration no other one revises.

    Read from the migration files' ``revision``/``down_revision`` lines rather than through
    Alembic, so that opening a store does not import Alembic (0.5 s per command); a test checks
    it against Alembic's own answer.
    """
    revisions, revised = _revision_chain(MIGRATIONS_DIR / "versions")
    heads = sorted(revisions - revised)
    assert len(heads) == 1, f"the packaged migrations must have one head, not {heads}"
    return heads[0]


def current_revision(conn: Connection, tables: set[str] | None = None) -> str | None:
    """The schema revision a database is at (None: not a ztoq store, or an empty one)."""
    if tables is None:
        tables = set(inspect(conn).get_table_names())
    if "alembic_version" not in tables:
        return None
    found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return str(found[0]) if len(found) == 1 else None


def _known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of the packaged migrations (an older store this ztoq can upgrade)."""
    from alembic.script import ScriptDirectory
    from alembic.script.revision import RevisionError

    try:
        ScriptDirectory.from_config(alembic_config()).revision_map.get_revision(revision)
    except RevisionError:
        return False
    return True


class SchemaState(StrEnum):
    """What ``inspect_schema`` found in a database."""

    EMPTY = "empty"
    CURRENT = "current"
    OLDER = "older"
    NEWER = "newer"
    FOREIGN = "foreign"


@dataclass(frozen=True)
class SchemaStatus:
    """The state of a database's schema, its revision and the revision this ztoq needs."""

    state: SchemaState
    revision: str | None
    head: str


def inspect_schema(engine: Engine, description: str) -> SchemaStatus:
    """Tell whether a database is empty, at this ztoq's revision, older, newer, or not a ztoq store.

    Raises:
        StoreError: The database cannot be reached, or is not a database at all.
    """
    head = head_revision()
    with _translated(description, engine.url.password), engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        revision = current_revision(conn, tables)
    if revision is None:
        state = SchemaState.EMPTY if tables <= {"alembic_version"} else SchemaState.FOREIGN
    elif revision == head:
        state = SchemaState.CURRENT
    elif _known_revision(revision):
        state = SchemaState.OLDER
    else:
        state = SchemaState.NEWER if tables >= _SIGNATURE_TABLES else SchemaState.FOREIGN
    return SchemaStatus(state, revision, head)


@contextlib.contextmanager
def _translated(description: str, secret: str | None = None) -> Iterator[None]:
    """Turn driver errors on opening a database into one-sentence StoreErrors (``secret`` masked)."""

    def reason(exc: BaseException) -> str:
        text = error_reason(exc)
        return text.replace(secret, "***") if secret else text

    try:
        yield
    except OperationalError as exc:
        raise StoreError(
            f"Cannot open the migration database at {description} ({reason(exc)}); "
            f"check that it exists and is reachable, and the database settings in the config."
        ) from exc
    except DBAPIError as exc:
        if "not a database" in str(exc.orig) or "malformed" in str(exc.orig):
            raise StoreUnusable(
                f"The file {description} is not a SQLite database (or it is corrupted); "
                f"point database.path at another file or move this one away."
            ) from exc
        raise StoreError(f"The migration database at {description} cannot be used ({reason(exc)}).") from exc


def _foreign(description: str) -> StoreError:
    return StoreUnusable(
        f"The database at {description} is not a ztoq migration database (it has tables but no ztoq "
        f"schema revision); point the database settings at a new or ztoq-made database."
    )


def _newer(description: str, status: SchemaStatus) -> StoreOutdated:
    return StoreOutdated(
        f"The migration database at {description} is at schema revision {status.revision}, made by a "
        f"newer ztoq (this one knows up to {status.head}); upgrade ztoq or use another database."
    )


def _upgrade(engine: Engine, url: str, description: str) -> None:
    """Bring the schema to head in one transaction."""
    migrator = engine if _is_memory(url) else migration_engine(url)
    try:
        with _translated(description, engine.url.password), migrator.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY})
            from alembic import command

            command.upgrade(alembic_config(conn), "head")
    finally:
        if migrator is not engine:
            migrator.dispose()
            # Pooled SQLite connections keep the schema they read before the upgrade, and PRAGMAs
            # (used by reflection) do not notice the change: start over with fresh connections.
            engine.dispose()


def init_store(target: str | DatabaseConfig) -> Store:
    """Create the schema of a new store, or upgrade an older one; then open it.

    Args:
        target: A SQLAlchemy URL or the ``database`` section of the config.

    Returns:
        The open store.

    Raises:
        StoreError: Unreachable, not a database, or another application's database.
        StoreOutdated: Made by a newer ztoq.
    """
    url, description = _target(target)
    engine = create_store_engine(url, description=description)
    try:
        status = inspect_schema(engine, description)
        if status.state is SchemaState.FOREIGN:
            raise _foreign(description)
        if status.state is SchemaState.NEWER:
            raise _newer(description, status)
        if status.state is not SchemaState.CURRENT:
            _upgrade(engine, url, description)
        return Store(engine, description)
    except BaseException:
        engine.dispose()
        raise


def open_store(
    target: str | DatabaseConfig, *, create_if_empty: bool = True, config_file: str | None = None
) -> Store:
    """Open a store at this ztoq's schema revision; an empty database is initialised first.

    Args:
        target: A SQLAlchemy URL or the ``database`` section of the config.
        create_if_empty: Create the schema in an empty database (or a new SQLite file).
        config_file: The config file path, to name it in the "run ztoq db init" advice.

    Returns:
        The open store.

    Raises:
        StoreOutdated: At an older revision (run ``ztoq db init``) or made by a newer ztoq.
        StoreError: Unreachable, not a database, not a ztoq database, or empty and not to be created.
    """
    url, description = _target(target)
    init_hint = f"ztoq db init --config {config_file or '<file>'}"
    if not create_if_empty and _missing_sqlite_file(url):
        raise StoreError(f"There is no migration database at {description}; run `{init_hint}` to create it.")
    engine = create_store_engine(url, description=description)
    try:
        status = inspect_schema(engine, description)
        if status.state is SchemaState.EMPTY:
            if not create_if_empty:
                raise StoreError(
                    f"The migration database at {description} has no ztoq schema yet; run `{init_hint}`."
                )
            _upgrade(engine, url, description)
            status = inspect_schema(engine, description)
        if status.state is SchemaState.OLDER:
            raise StoreOutdated(
                f"The migration database at {description} is at schema revision {status.revision}, but this "
                f"ztoq needs {status.head}; run `{init_hint}` to upgrade it."
            )
        if status.state is SchemaState.NEWER:
            raise _newer(description, status)
        if status.state is SchemaState.FOREIGN:
            raise _foreign(description)
        return Store(engine, description)
    except BaseException:
        engine.dispose()
        raise
