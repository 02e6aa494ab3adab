"""Backends for the store integration tests: every test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``ZTOQ_TEST_POSTGRES_URL`` (default: the local trust-auth server). Each test
gets a fresh schema, selected through ``search_path`` in the URL so that the store's tables and
Alembic's version table all live in it; the schema is dropped afterwards. When the server is
unreachable the PostgreSQL variant is skipped, unless ``ZTOQ_REQUIRE_POSTGRES`` is set: then it fails.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from functools import cache

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from ztoq.store import Store, init_store

POSTGRES_URL = os.environ.get("ZTOQ_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@cache
def _postgres_problem() -> str | None:
    """None when the test server answers, else why not."""
    engine = create_engine(POSTGRES_URL, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()
    return None


def _require_postgres() -> None:
    problem = _postgres_problem()
    if problem is None:
        return
    where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
    if os.environ.get("ZTOQ_REQUIRE_POSTGRES"):
        pytest.fail(
            f"ZTOQ_REQUIRE_POSTGRES is set but the PostgreSQL test server at {where} is unreachable "
            f"({problem}); start it or set ZTOQ_TEST_POSTGRES_URL.",
            pytrace=False,
        )
    pytest.skip(f"PostgreSQL test server at {where} is unreachable ({problem})")


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Callable[[str], None]]:
    """Run one administrative statement (CREATE/DROP SCHEMA) on the test server."""
    engine = create_engine(POSTGRES_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")

    def run(sql: str) -> None:
        with engine.connect() as conn:
            conn.execute(text(sql))

    yield run
    engine.dispose()


@contextlib.contextmanager
def _fresh_postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    _require_postgres()
    admin: Callable[[str], None] = request.getfixturevalue("postgres_admin")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin(f"CREATE SCHEMA {schema}")
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        admin(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'migration.db'}"
        return
    with _fresh_postgres_url(request) as url:
        yield url


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL schema's URL, for the tests that only make sense on PostgreSQL."""
    with _fresh_postgres_url(request) as url:
        yield url


@pytest.fixture
def backend(db_url: str) -> str:
    """``sqlite`` or ``postgresql``."""
    return make_url(db_url).get_backend_name()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An initialised store on each backend."""
    opened = init_store(db_url)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh SQLite file URL, for the tests that only make sense on SQLite."""
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'migration.db'}"
