"""Validation a batch at a time finds exactly what it finds in one batch.

A small project is migrated, then spoiled in qTest through its API: a test case renamed, the test
runs deleted with their logs, a copy of a test case and a stray key of this project
added. Validating it in batches of one and in one batch per type must give the same counts and the
same problems (as a multiset: the order of entities follows the batches).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from e2e_support import Served

from ztoq.cli.main import run
from ztoq.config import load_config
from ztoq.mapping.text import with_source_key
from ztoq.pipeline.orchestrator import run_migration
from ztoq.simulators.zephyr import generate_dataset
from ztoq.store import open_store

pytestmark = pytest.mark.e2e


@pytest.fixture
def dataset() -> dict[str, Any]:
    """A small generated project (every feature, 12 test cases)."""
    return generate_dataset(12, seed=3)


def _validate(served: Served, database: dict[str, Any], batch_size: int) -> tuple[Any, Counter[Any]]:
    """Run the validate phase alone; its counts and its problems, as a multiset."""
    config = load_config(served.config(database, performance={"batch_size": batch_size}))
    summary = run_migration(config, ["validate"])
    assert summary.validation is not None
    with open_store(config.database) as store, store.session() as repo:
        problems = repo.list_problems(config.zephyr.project_key, phase="validate")
    found = Counter(
        (p.entity_type, p.source_key, p.severity, p.code, p.field, repr(p.detail), p.message)
        for p in problems
    )
    return summary.validation.counts, found


def _spoil(served: Served, database: dict[str, Any]) -> None:
    """Rename a test case, delete every test run (their logs go too), add a copy of a test case and a
    stray key."""
    config = load_config(served.config(database))
    project = config.zephyr.project_key
    with open_store(config.database) as store, store.session() as repo:
        cases = repo.mappings_for(project, "test_case")
        cycles = repo.mappings_for(project, "test_cycle")
        root = repo.mappings_for(project, "module")["root"]
    first, second = sorted(cases)[:2]
    with served.qtest_api() as api:
        assert api.put(f"/test-cases/{cases[first]}", json={"name": "Renamed in qTest"}).is_success
        for cycle_id in sorted(cycles.values()):
            listed = api.get("/test-runs", params={"parentId": cycle_id, "parentType": "test-cycle"})
            for run_id in [r["id"] for r in listed.json()["items"]]:
                assert api.delete(f"/test-runs/{run_id}").is_success
        for name, key in (("Copy", second), ("Stray", f"{project}-T9999")):
            body = {"name": name, "parent_id": root, "description": with_source_key("Added by hand", key)}
            assert api.post("/test-cases", json=body).is_success


def test_small_batches_find_what_one_batch_finds(served: Served, tmp_path: Path) -> None:
    database = {"type": "sqlite", "path": str(tmp_path / "migration.db")}
    assert run(["migrate", "run", "--config", str(served.config(database)), "--quiet"]) == 0
    _spoil(served, database)

    whole_counts, whole = _validate(served, database, batch_size=10_000)
    small_counts, small = _validate(served, database, batch_size=1)

    assert small_counts == whole_counts
    assert small == whole
    codes = {(t, code) for t, _, _, code, *_ in whole}
    assert {
        ("test_case", "name_differs"),
        ("test_case", "duplicate_in_qtest"),
        ("test_case", "unknown_zephyr_key"),
        ("test_run", "not_in_qtest"),
        ("test_log", "not_in_qtest"),
    } <= codes, codes
    assert whole_counts["test_log"].missing > 1, "the deleted runs' logs span several batches of one"
