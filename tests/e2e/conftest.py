"""End-to-end fixtures: both simulators served on loopback, and a config written for them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import Served, serve

from ztoq.simulators.zephyr import generate_dataset


@pytest.fixture
def dataset() -> dict[str, Any]:
    """A generated Zephyr project of 60 test cases (every feature of the generator)."""
    return generate_dataset(60, seed=3)


@pytest.fixture
def served(tmp_path: Path, dataset: dict[str, Any]) -> Iterator[Served]:
    yield from serve(tmp_path, dataset)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The store: a SQLite file, or a fresh schema on the PostgreSQL test server."""
    if request.param == "sqlite":
        return {"type": "sqlite", "path": str(tmp_path / "migration.db")}
    url = request.getfixturevalue("postgres_schema_url")
    return {"type": "postgresql", "url": url}
