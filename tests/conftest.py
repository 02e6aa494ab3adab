"""Fixtures shared by every test directory."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_base_url() -> str:
    return os.environ.get("ZTOQ_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def postgres_available(url: str) -> str | None:
    """None when the server answers, else why not."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure means "not reachable" for the skip decision
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL test server URL; skips only when unreachable and ZTOQ_REQUIRE_POSTGRES is unset."""
    url = postgres_base_url()
    why = postgres_available(url)
    if why is not None:
        if os.environ.get("ZTOQ_REQUIRE_POSTGRES"):
            pytest.fail(f"ZTOQ_REQUIRE_POSTGRES is set but PostgreSQL at {url} is unreachable: {why}")
        pytest.skip(f"PostgreSQL unreachable ({why})")
    return url


@pytest.fixture
def postgres_schema_url(postgres_server_url: str) -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped after the test."""
    import sqlalchemy

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(postgres_server_url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in postgres_server_url else "?"
    try:
        yield f"{postgres_server_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
