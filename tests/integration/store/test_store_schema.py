"""Creating, upgrading and refusing databases: init_store / open_store on both backends."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

import ztoq.store.database as database
from store_queries import get_mapping
from ztoq.config import DatabaseConfig
from ztoq.errors import StoreError, StoreOutdated
from ztoq.store import SchemaState, head_revision, init_store, inspect_schema, open_store
from ztoq.store.database import SQLITE_CACHE_KIB
from ztoq.store.tables import ALL_TABLES, Base

#: The newest revision this ztoq ships (tests must not hard-code it: it moves with each migration).
HEAD = head_revision()

EXTRA_REVISION = '''
"""A later revision, for the upgrade tests."""

import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "HEAD_REVISION"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("upgrade_marker", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("upgrade_marker")
'''


def _execute(url: str, sql: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture
def migrations_with_0002(tmp_path: Path) -> Path:
    """A copy of the packaged migrations plus a revision 9001 after the head (as a later ztoq would ship)."""
    copy = tmp_path / "migrations"
    shutil.copytree(database.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "versions" / "9001_marker.py").write_text(EXTRA_REVISION.replace("HEAD_REVISION", HEAD))
    return copy


def test_init_creates_every_table_at_head(db_url: str) -> None:
    store = init_store(db_url)
    try:
        assert store.revision() == head_revision() == HEAD
        assert {t.name for t in ALL_TABLES} | {"alembic_version"} <= _tables(db_url)
    finally:
        store.close()


def test_init_is_idempotent_and_open_accepts_current(db_url: str) -> None:
    init_store(db_url).close()
    init_store(db_url).close()
    store = open_store(db_url, create_if_empty=False)
    assert store.revision() == head_revision()
    store.close()


def test_empty_database_is_initialised_by_open(db_url: str) -> None:
    store = open_store(db_url)
    try:
        assert store.revision() == head_revision()
    finally:
        store.close()


def test_empty_database_refused_without_create(db_url: str, backend: str) -> None:
    if backend == "sqlite":
        path = make_url(db_url).database
        assert path is not None
        with pytest.raises(StoreError, match=r"There is no migration database at .*ztoq db init"):
            open_store(db_url, create_if_empty=False)
        assert not Path(path).exists()
    else:
        with pytest.raises(StoreError, match=r"has no ztoq schema yet; run `ztoq db init --config c\.yaml`"):
            open_store(db_url, create_if_empty=False, config_file="c.yaml")


def test_schema_matches_the_models(store: object, db_url: str) -> None:
    """The migrations create exactly what tables.py declares (no drift either way)."""
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_older_revision_is_refused_then_upgraded(
    db_url: str, migrations_with_0002: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_store(db_url).close()  # at the head
    monkeypatch.setattr(database, "MIGRATIONS_DIR", migrations_with_0002)  # this ztoq needs 9001

    with pytest.raises(StoreOutdated) as refused:
        open_store(db_url, config_file="config.yaml")
    message = str(refused.value)
    assert f"is at schema revision {HEAD}, but this ztoq needs 9001" in message
    assert "run `ztoq db init --config config.yaml` to upgrade it" in message
    assert refused.value.exit_code == 2

    store = init_store(db_url)
    assert store.revision() == "9001"
    store.close()
    assert "upgrade_marker" in _tables(db_url)
    open_store(db_url).close()


def test_newer_revision_is_refused(db_url: str) -> None:
    init_store(db_url).close()
    _execute(db_url, "UPDATE alembic_version SET version_num = '9999_future'")
    for opener in (open_store, init_store):
        with pytest.raises(StoreOutdated, match="at schema revision 9999_future, made by a newer ztoq"):
            opener(db_url)


def test_foreign_database_is_refused(db_url: str) -> None:
    _execute(db_url, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    for opener in (open_store, init_store):
        with pytest.raises(StoreError, match="is not a ztoq migration database"):
            opener(db_url)
    assert _tables(db_url) == {"customers"}


def test_other_alembic_application_is_foreign(db_url: str) -> None:
    _execute(db_url, "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
    _execute(db_url, "INSERT INTO alembic_version VALUES ('abc123')")
    with pytest.raises(StoreError, match="is not a ztoq migration database"):
        open_store(db_url)


def test_inspect_schema_states(db_url: str) -> None:
    engine = database.create_store_engine(db_url)
    try:
        assert inspect_schema(engine, "x").state is SchemaState.EMPTY
        init_store(db_url).close()
        status = inspect_schema(engine, "x")
        assert (status.state, status.revision, status.head) == (SchemaState.CURRENT, HEAD, HEAD)
    finally:
        engine.dispose()


def test_garbage_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is certainly not a database, just some text\n" * 100)
    with pytest.raises(StoreError, match=r"The file .*garbage\.db is not a SQLite database"):
        open_store(f"sqlite:///{path}")
    assert path.read_bytes().startswith(b"this is certainly")


def test_sqlite_pragmas_and_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "migration.db"
    store = open_store(DatabaseConfig(type="sqlite", path=str(path)))
    try:
        assert store.description == str(path)
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_CACHE_KIB
    finally:
        store.close()


@pytest.mark.postgres
def test_postgres_schema_holds_every_table(postgres_url: str) -> None:
    init_store(postgres_url).close()
    engine = create_engine(postgres_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            for table in ("alembic_version", "runs", "mappings", "locks"):
                found = conn.execute(
                    text("SELECT to_regclass(quote_ident(current_schema()) || '.' || :t) IS NOT NULL"),
                    {"t": table},
                ).scalar()
                assert found, f"{table} is not in the test's own schema"
    finally:
        engine.dispose()


def test_concurrent_init_of_one_sqlite_file(sqlite_url: str) -> None:
    """Two processes initialising a new file at once: one creates, the other finds it done."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        revisions = pool.map(_init_revision, [sqlite_url, sqlite_url])
    assert revisions == [HEAD, HEAD]


def _init_revision(url: str) -> str | None:
    store = init_store(url)
    try:
        return store.revision()
    finally:
        store.close()


def test_a_store_at_revision_0001_keeps_its_data_through_the_upgrade(db_url: str) -> None:
    """The real migration path: a store made by the first ztoq, with a mapping, upgraded by db init."""
    from alembic import command
    from sqlalchemy import text

    from ztoq.store.database import alembic_config, migration_engine

    engine = migration_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
        conn.execute(
            text(
                "INSERT INTO mappings (project_key, entity_type, source_key, target_id, state, attempts,"
                " created_at, updated_at) VALUES ('P', 'test_case', 'P-T1', 42, 'created', 1,"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()
    with pytest.raises(StoreOutdated, match="at schema revision 0001"):
        open_store(db_url)
    store = init_store(db_url)
    try:
        assert store.revision() == HEAD
        with store.session() as repo:
            mapping = get_mapping(repo, "P", "test_case", "P-T1")
            assert mapping is not None
            assert (mapping.target_id, mapping.state, mapping.loaded_source_hash) == (42, "created", None)
            repo.record_created("P", "test_case", "P-T1", 42, "h", source_hash="s")
        with store.session() as repo:
            assert get_mapping(repo, "P", "test_case", "P-T1").loaded_source_hash == "s"  # type: ignore[union-attr]
    finally:
        store.close()


def test_the_written_head_revision_is_the_head_of_the_packaged_migrations() -> None:
    from alembic.script import ScriptDirectory

    from ztoq.store.database import alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD


def test_opening_a_store_does_not_import_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    init_store(f"sqlite:///{tmp_path / 'm.db'}").close()
    url = f"sqlite:///{tmp_path / 'm.db'}"
    code = (
        f"import sys; from ztoq.store import open_store; open_store({url!r}).close(); "
        "print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
