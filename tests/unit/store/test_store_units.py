"""Store pieces that need no real database server: descriptions, owners, types, in-memory stores."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from ztoq.config import DatabaseConfig
from ztoq.errors import StoreError
from ztoq.store import (
    LockOwner,
    MappingState,
    PlannedItem,
    SourceItem,
    UpsertResult,
    describe_url,
    open_store,
)
from ztoq.store.lock import pid_alive
from ztoq.store.repo_base import check_value, chunks
from ztoq.store.tables import UTCDateTime


def test_describe_url_hides_passwords() -> None:
    assert describe_url("sqlite:////var/lib/ztoq/migration.db") == "/var/lib/ztoq/migration.db"
    assert describe_url("sqlite:///rel/m.db") == "rel/m.db"
    assert describe_url("sqlite://") == ":memory:"
    described = describe_url("postgresql+psycopg://ztoq:s3cr%40t@db.example.com:5433/ztoq?sslmode=require")
    assert described == "postgresql://db.example.com:5433/ztoq"
    assert "s3cr" not in describe_url("not a url://user:s3cret@x")


def test_unreachable_postgres_names_the_host_not_the_password() -> None:
    config = DatabaseConfig(
        type="postgresql", host="127.0.0.1", port=1, username="ztoq", password="s3cret-pw", database="db"
    )
    with pytest.raises(StoreError) as failed:
        open_store(config)
    message = str(failed.value)
    assert "postgresql://127.0.0.1:1/db" in message
    assert message.startswith("Cannot open the migration database at ")
    assert "s3cret" not in message
    assert "s3cret" not in repr(failed.value.args)


def test_unsupported_backend() -> None:
    with pytest.raises(StoreError, match=r"unsupported type \(mysql\)"):
        open_store("mysql://u:p@h/db")


def test_in_memory_store_works() -> None:
    store = open_store("sqlite://")
    with store.session() as repo:
        assert repo.dialect == "sqlite"
        result = repo.upsert_source("P", [SourceItem("status", "1", {"name": "Done"})])
        repo.upsert_planned("P", [PlannedItem("module", "m", {"name": "m"})])
        assert result.new == [("status", "1")]
    with store.session() as repo:
        assert repo.source_counts("P") == {"status": 1}
    assert store.dialect == "sqlite"
    store.close()


def test_session_rolls_back_on_error() -> None:
    store = open_store("sqlite://")
    with pytest.raises(RuntimeError), store.session() as repo:
        repo.upsert_source("P", [SourceItem("status", "1", {})])
        raise RuntimeError("boom")
    with store.session() as repo:
        assert repo.source_counts("P") == {}
    store.close()


def test_lock_owner_round_trip() -> None:
    owner = LockOwner.current()
    assert owner.pid == os.getpid()
    assert LockOwner.parse(str(owner)) == owner
    assert LockOwner.parse("fe80::1:123:tok") == LockOwner("fe80::1", 123, "tok")
    assert LockOwner.parse("garbage") is None
    assert LockOwner.parse("host:notapid:tok") is None


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(0)
    assert not pid_alive(2**22 + 12345)


def test_utc_datetime_type() -> None:
    column_type = UTCDateTime()
    sqlite_dialect, pg_dialect = sqlite.dialect(), postgresql.dialect()
    paris = timezone(timedelta(hours=2))
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=paris)
    stored = column_type.process_bind_param(moment, sqlite_dialect)
    assert stored == datetime(2024, 5, 1, 10, 0)
    assert column_type.process_bind_param(moment, pg_dialect) == moment
    loaded = column_type.process_result_value(stored, sqlite_dialect)
    assert loaded == moment
    assert loaded is not None
    assert loaded.utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="timezone-aware"):
        column_type.process_bind_param(datetime(2024, 5, 1), sqlite_dialect)
    assert column_type.process_bind_param(None, sqlite_dialect) is None


def test_small_helpers() -> None:
    assert [list(c) for c in chunks([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
    assert check_value("created", MappingState, "state") == "created"
    with pytest.raises(ValueError, match="state must be one of"):
        check_value("made", MappingState, "state")
    result = UpsertResult(new=[("a", "1")], changed=[("a", "2")])
    result.merge(UpsertResult(unchanged=[("a", "3")], new=[("a", "4")]))
    assert result.written == [("a", "1"), ("a", "4"), ("a", "2")]
    assert result.unchanged == [("a", "3")]
