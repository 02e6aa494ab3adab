"""Delta syncs: change Zephyr through its write API, run again, and qTest gets exactly the delta."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import Served, qtest_snapshot, serve

from ztoq.cli.main import run
from ztoq.config import load_config
from ztoq.simulators.zephyr import DEFAULT_ZEPHYR_TOKEN, generate_dataset
from ztoq.store import open_store

pytestmark = pytest.mark.e2e


def zephyr_api(served: Served) -> httpx.Client:
    return httpx.Client(
        base_url=f"{served.zephyr_url}/v2",
        headers={"Authorization": f"Bearer {DEFAULT_ZEPHYR_TOKEN}"},
        timeout=30,
    )


def executed_cases(served: Served) -> set[str]:
    """Keys of the test cases that have executions (read through the API, as a client would)."""
    keys: set[str] = set()
    with zephyr_api(served) as api:
        start = 0
        while True:
            page = api.get(
                "/testexecutions", params={"projectKey": "DEMO", "startAt": start, "maxResults": 100}
            )
            body = page.json()
            keys |= {v["testCase"]["self"].split("/testcases/")[1].split("/")[0] for v in body["values"]}
            if body.get("isLast", True):
                return keys
            start += body["maxResults"]


def snapshot(served: Served) -> dict[str, Any]:
    with served.qtest_api() as api:
        return qtest_snapshot(api)


def migrate(config: Path, *extra: str) -> int:
    return run(["migrate", "run", "--config", str(config), "--quiet", *extra])


def test_an_incremental_run_sends_exactly_what_changed(tmp_path: Path) -> None:
    data = generate_dataset(20, seed=31, attachments=False)  # attachments: test_e2e_attachments.py
    for served in serve(tmp_path, data):
        executed = executed_cases(served)
        config = served.config(
            {"type": "sqlite", "path": str(tmp_path / "m.db")}, migration={"incremental": True}
        )
        assert migrate(config) == 0
        first_zephyr = served.zephyr.stats.total()
        before = snapshot(served)
        writes_before = served.qtest.stats.total(write_only=True)

        cases = [tc["key"] for tc in data["testcases"]]
        renamed, extended = cases[0], cases[1]
        removed = next(k for k in reversed(cases) if k not in executed)
        cycle = data["testcycles"][0]["key"]
        with zephyr_api(served) as api:
            case = api.get(f"/testcases/{renamed}").json()
            case["name"] = "Renamed in Zephyr after the first migration"
            assert api.put(f"/testcases/{renamed}", json=case).status_code == 200
            step = {"inline": {"description": "A step added later", "expectedResult": "It is migrated too"}}
            answer = api.post(f"/testcases/{extended}/teststeps", json={"mode": "APPEND", "items": [step]})
            assert answer.status_code == 201
            created = api.post(
                "/testcases", json={"projectKey": "DEMO", "name": "Written after the migration"}
            )
            assert created.status_code == 201
            new_key = created.json()["key"]
            execution = {
                "projectKey": "DEMO",
                "testCaseKey": renamed,
                "testCycleKey": cycle,
                "statusName": "Pass",
                "actualEndDate": "2031-01-01T10:00:00Z",
                "comment": "Run again after the migration",
            }
            assert api.post("/testexecutions", json=execution).status_code == 201
        served.zephyr.state.delete_test_case(removed)
        served.zephyr.stats.reset()

        assert migrate(config, "--incremental", "true") == 0
        after = snapshot(served)
        writes = served.qtest.stats.total(write_only=True) - writes_before
        # Renamed: an update and a re-approval; the new test case: a create and an approval; the
        # new execution: a run (the pair had none) or not, and one log.
        endpoints = served.qtest.stats.snapshot()["endpoints"]
        assert 4 <= writes <= 6, endpoints
        # A delta sync: a page per listing (9 here), then one request per part of what changed
        # (the renamed and the new test case's steps, the new execution's step results).
        zephyr = served.zephyr.stats.snapshot()["endpoints"]
        assert served.zephyr.stats.total(method="GET") <= 9 + 3, zephyr
        assert served.zephyr.stats.total(method="GET") < first_zephyr

        assert after["test_cases"][renamed]["name"] == "Renamed in Zephyr after the first migration"
        # Adding a step leaves the test case Zephyr lists as it was: a delta sync does not see it.
        assert after["test_cases"][extended] == before["test_cases"][extended]
        assert after["test_cases"][new_key]["name"] == "Written after the migration"
        assert removed in after["test_cases"], "deletions are only reported unless asked for"
        untouched = set(before["test_cases"]) - {renamed, extended}
        assert all(after["test_cases"][k] == before["test_cases"][k] for k in untouched)

        # The periodic full sync reads every test case's steps again: the new step arrives, alone.
        writes_before = served.qtest.stats.total(write_only=True)
        served.zephyr.stats.reset()
        assert migrate(config, "--full") == 0
        full = snapshot(served)
        assert served.qtest.stats.total(write_only=True) - writes_before == 2  # an update, an approval
        assert len(full["test_cases"][extended]["steps"]) == len(before["test_cases"][extended]["steps"]) + 1
        assert full["test_cases"][extended]["steps"][-1][1].startswith("A step added later")
        assert {k: v for k, v in full["test_cases"].items() if k != extended} == {
            k: v for k, v in after["test_cases"].items() if k != extended
        }
        assert {k: v for k, v in full.items() if k != "test_cases"} == {
            k: v for k, v in after.items() if k != "test_cases"
        }
        after = full
        run_key = f"{cycle}|{renamed}"
        assert after["test_runs"][run_key][-1][1] == "Passed"
        assert len(after["test_runs"][run_key]) == len(before["test_runs"].get(run_key, [])) + 1
        assert (
            sum(len(v) for v in after["test_runs"].values())
            == sum(len(v) for v in before["test_runs"].values()) + 1
        )

        cfg = load_config(config)
        with open_store(cfg.database) as store, store.session() as repo:
            reported = {(p.source_key, p.code) for p in repo.iter_problems("DEMO", phase="transform")}
        assert (removed, "deleted_in_source") in reported

        # Asked for explicitly, the deletion reaches qTest too, and nothing else changes.
        propagate = served.config(
            {"type": "sqlite", "path": str(tmp_path / "m.db")},
            migration={"incremental": True, "propagate_deletions": True},
        )
        writes_before = served.qtest.stats.total(write_only=True)
        assert migrate(propagate) == 0
        assert served.qtest.stats.total(method="DELETE") == 1
        assert served.qtest.stats.total(write_only=True) - writes_before == 1
        final = snapshot(served)
        assert removed not in final["test_cases"]
        assert {k: v for k, v in final.items() if k != "test_cases"} == {
            k: v for k, v in after.items() if k != "test_cases"
        }
