"""Never a duplicate, even without the database: qTest itself says what already exists.

A migration with its whole history, then the store is lost (deleted, or a fresh CI runner):
running again adopts every entity by the Zephyr key qTest carries, sends no create, and leaves
qTest entity for entity as it was; an edit made in Zephyr afterwards updates the adopted entity
in place. Proven by reading the qTest simulator's API back.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
from e2e_support import Served, qtest_snapshot

from store_queries import get_mapping
from ztoq.cli.main import run
from ztoq.config import load_config
from ztoq.simulators.zephyr import DEFAULT_ZEPHYR_TOKEN, generate_dataset
from ztoq.store import open_store

pytestmark = pytest.mark.e2e


@pytest.fixture
def dataset() -> dict[str, Any]:
    """A smaller generated project than the other end-to-end tests' (every feature, 30 test cases)."""
    return generate_dataset(30, seed=3)


#: The endpoints that create entities (POST): a rerun on a lost store must send none of them.
CREATES = ("/modules", "/test-cases", "/releases", "/test-cycles", "/test-runs", "/test-logs")


def creates(served: Served) -> int:
    """POSTs to create endpoints served so far (search, links and approvals are not creates)."""
    endpoints = served.qtest.stats.snapshot()["endpoints"]
    return sum(
        sum(by_status.values())
        for endpoint, by_status in endpoints.items()
        if endpoint.startswith("POST ") and endpoint.endswith(CREATES)
    )


def ids_by_kind(api: httpx.Client) -> dict[str, set[int]]:
    """The qTest ids of every module, test case, release, cycle, run and log of the project."""
    found: dict[str, set[int]] = {
        k: set() for k in ("modules", "cases", "releases", "cycles", "runs", "logs")
    }

    def walk(module: dict[str, Any]) -> None:
        found["modules"].add(module["id"])
        for case in api.get("/test-cases", params={"parentId": module["id"], "size": 999}).json():
            found["cases"].add(case["id"])
        for child in module.get("children") or []:
            walk(child)

    for module in api.get("/modules", params={"expand": "descendants"}).json():
        walk(module)
    found["releases"] = {r["id"] for r in api.get("/releases").json()}
    cycles = api.get("/test-cycles", params={"expand": "descendants"}).json()
    for release in found["releases"]:
        cycles += api.get("/test-cycles", params={"parentId": release, "parentType": "release"}).json()

    def cycle_ids(cycle: dict[str, Any]) -> None:
        found["cycles"].add(cycle["id"])
        for child in cycle.get("test_cycles") or cycle.get("children") or []:
            cycle_ids(child)

    for cycle in cycles:
        cycle_ids(cycle)
    for cycle in list(found["cycles"]):
        runs = api.get("/test-runs", params={"parentId": cycle, "parentType": "test-cycle", "pageSize": 999})
        for test_run in runs.json().get("items", []):
            found["runs"].add(test_run["id"])
            for test_log in api.get(f"/test-runs/{test_run['id']}/test-logs").json().get("items", []):
                found["logs"].add(test_log["id"])
    return found


def lose(database: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """A brand-new, empty store in place of the one that was lost (a fresh CI runner's)."""
    if database["type"] == "sqlite":
        Path(database["path"]).unlink()
        return database
    engine = sqlalchemy.create_engine(database["url"].replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        tables = conn.execute(
            sqlalchemy.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        )
        for (table,) in list(tables):
            conn.execute(sqlalchemy.text(f'DROP TABLE "{table}" CASCADE'))
    engine.dispose()
    return database


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_a_lost_store_adopts_everything_and_creates_nothing(
    served: Served, database: dict[str, Any], tmp_path: Path
) -> None:
    config = served.config(database)
    assert run(["migrate", "run", "--config", str(config), "--quiet"]) == 0
    with served.qtest_api() as api:
        before, ids_before = qtest_snapshot(api), ids_by_kind(api)
    assert ids_before["logs"], "the project has execution history"

    fresh = served.config(lose(database, tmp_path))
    created_before = creates(served)
    assert run(["migrate", "run", "--config", str(fresh), "--quiet"]) == 0
    assert creates(served) == created_before, "a rerun on a lost store sends no create request"
    with served.qtest_api() as api:
        assert qtest_snapshot(api) == before, "qTest is entity for entity as it was (versions included)"
        assert ids_by_kind(api) == ids_before, "the same qTest entities: 0 created, 0 deleted"

    # The adopted entities are the store's own now: an edit in Zephyr updates them in place.
    key = served.dataset["testcases"][0]["key"]
    with httpx.Client(
        base_url=f"{served.zephyr_url}/v2", headers={"Authorization": f"Bearer {DEFAULT_ZEPHYR_TOKEN}"}
    ) as zephyr:
        case = zephyr.get(f"/testcases/{key}").json()
        case["name"] = "Renamed in Zephyr after the store was lost"
        assert zephyr.put(f"/testcases/{key}", json=case).status_code == 200
    assert run(["migrate", "run", "--config", str(fresh), "--quiet"]) == 0
    assert creates(served) == created_before, "the edit is an update, not a copy"
    with served.qtest_api() as api:
        after = qtest_snapshot(api)
        assert after["test_cases"][key]["name"] == "Renamed in Zephyr after the store was lost"
        assert ids_by_kind(api) == ids_before
    changed = {k for k in before["test_cases"] if before["test_cases"][k] != after["test_cases"][k]}
    assert changed == {key}, "only the edited test case changed"


def test_a_copy_made_by_hand_is_never_adopted_by_name(served: Served, tmp_path: Path) -> None:
    """A qTest test case with a migrated case's name but no Zephyr key stays someone else's."""
    database = {"type": "sqlite", "path": str(tmp_path / "first.db")}
    config = served.config(database)
    assert run(["migrate", "run", "--config", str(config), "--quiet"]) == 0
    with served.qtest_api() as api:
        first = served.dataset["testcases"][0]
        cases = {c["name"]: c for c in api.get("/test-cases", params={"size": 999}).json()}
        original = cases[first["name"]]
        copy = {
            "name": first["name"],
            "parent_id": original["parent_id"],
            "description": "copied by a person",
        }
        copied = api.post("/test-cases", json=copy).json()
        # The migrated case is deleted in qTest: a lost store must create it again, not take the copy.
        assert api.delete(f"/test-cases/{original['id']}").status_code in (200, 204)
    shutil.copy(database["path"], tmp_path / "unused.db")
    Path(database["path"]).unlink()
    assert run(["migrate", "run", "--config", str(config), "--quiet"]) == 0
    with served.qtest_api() as api:
        same_name = [
            c for c in api.get("/test-cases", params={"size": 999}).json() if c["name"] == first["name"]
        ]
        assert len(same_name) == 2, "the copy stays, and the migrated case is back beside it"
        assert api.get(f"/test-cases/{copied['id']}").json()["description"] == "copied by a person"


def ztoq(config: Path, *command: str, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI in a child process (optionally killed with SIGKILL at a fault point)."""
    env = {k: v for k, v in os.environ.items() if k != "ZTOQ_TEST_KILL_AT"}
    if kill_at:
        env["ZTOQ_TEST_KILL_AT"] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "ztoq.cli", *command, "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_db_reconcile_rebuilds_the_mappings_from_qtest_alone(
    served: Served, database: dict[str, Any], tmp_path: Path
) -> None:
    config = served.config(database)
    assert run(["migrate", "run", "--config", str(config), "--quiet"]) == 0
    with served.qtest_api() as api:
        before, ids_before = qtest_snapshot(api), ids_by_kind(api)
    fresh = served.config(lose(database, tmp_path))
    writes_before = served.qtest.stats.total(write_only=True)

    # Killed twice in the middle of adopting (among test cases, then among test logs), then run
    # again: it goes on where it stopped.
    for point in ("reconcile.after_adopt:30", "reconcile.after_adopt:90"):
        killed = ztoq(fresh, "db", "reconcile", "--quiet", kill_at=point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
    done = ztoq(fresh, "db", "reconcile")
    assert done.returncode == 0, done.stderr
    assert "Reconciled with qTest" in done.stdout
    assert "not in qTest 0, duplicated 0" in done.stdout, done.stdout
    assert served.qtest.stats.total(write_only=True) == writes_before, "reconcile writes nothing to qTest"

    created_before = creates(served)
    assert run(["migrate", "run", "--config", str(fresh), "--quiet"]) == 0
    assert creates(served) == created_before, "after reconcile, a migration creates nothing"
    assert served.qtest.stats.total(write_only=True) == writes_before, "nor updates anything"
    with served.qtest_api() as api:
        assert qtest_snapshot(api) == before
        assert ids_by_kind(api) == ids_before


def test_db_reconcile_names_what_qtest_holds_twice(served: Served, tmp_path: Path) -> None:
    config = served.config({"type": "sqlite", "path": str(tmp_path / "a.db")})
    assert run(["migrate", "run", "--config", str(config), "--quiet"]) == 0
    first = served.dataset["testcases"][0]["key"]
    with open_store(load_config(config).database) as store, store.session() as repo:
        mapping = get_mapping(repo, load_config(config).zephyr.project_key, "test_case", first)
    assert mapping is not None
    with served.qtest_api() as api:
        original = api.get(f"/test-cases/{mapping.target_id}").json()
        twin = {k: original[k] for k in ("name", "description", "parent_id")}
        # The Zephyr key travels in the "Zephyr Key" field too: a copy with all its properties.
        twin["properties"] = [
            {"field_id": p["field_id"], "field_value": p["field_value"]}
            for p in original["properties"]
            if p.get("field_value") not in (None, "")
        ]
        copied = api.post("/test-cases", json=twin).json()
    (tmp_path / "a.db").unlink()
    done = ztoq(config, "db", "reconcile")
    assert done.returncode == 0, done.stderr
    assert f"duplicated: test_case {first} is carried by qTest ids" in done.stdout, done.stdout
    assert str(copied["id"]) in done.stdout
    assert str(original["id"]) in done.stdout
    # Validation sees the whole qTest project: the duplicate fails the run, both ids side by side.
    assert run(["migrate", "run", "--config", str(config), "--quiet"]) == 1
    with open_store(load_config(config).database) as store, store.session() as repo:
        problems = [
            p
            for p in repo.iter_problems(load_config(config).zephyr.project_key, phase="validate")
            if p.code == "duplicate_in_qtest"
        ]
    assert [(p.source_key, p.detail["actual"]) for p in problems] == [
        (first, ", ".join(str(i) for i in sorted((original["id"], copied["id"]))))
    ]
