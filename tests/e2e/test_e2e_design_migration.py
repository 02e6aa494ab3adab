"""The core migration end to end: the real CLI, both simulators on loopback, SQLite and PostgreSQL.

Everything is proven by reading the qTest simulator's API back, never the local store.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import httpx
import pytest
from e2e_support import Served, serve

from ztoq.cli.main import run
from ztoq.simulators.zephyr import generate_dataset

pytestmark = pytest.mark.e2e


def migrate(served: Served, database: dict[str, Any], **changes: Any) -> int:
    return run(["migrate", "run", "--config", str(served.config(database, **changes)), "--quiet"])


def qtest_modules(api: httpx.Client) -> dict[int, str]:
    """qTest module id -> path, read from the API."""
    paths: dict[int, str] = {}

    def walk(module: dict[str, Any], prefix: str) -> None:
        path = f"{prefix}/{module['name']}" if prefix else module["name"]
        paths[module["id"]] = path
        for child in module.get("children") or []:
            walk(child, path)

    for module in api.get("/modules", params={"expand": "descendants"}).json():
        walk(module, "")
    return paths


def qtest_cases(api: httpx.Client, modules: dict[int, str]) -> dict[str, dict[str, Any]]:
    """Zephyr key -> qTest test case (with steps and properties), read from the API."""
    found: dict[str, dict[str, Any]] = {}
    for module_id in modules:
        page = 1
        while True:
            items = api.get(
                "/test-cases",
                params={
                    "parentId": module_id,
                    "page": page,
                    "size": 100,
                    "expandSteps": "true",
                    "expandProps": "true",
                },
            ).json()
            for case in items:
                props = {p["field_name"]: p for p in case.get("properties") or []}
                key = (props.get("Zephyr Key") or {}).get("field_value")
                assert key, f"test case {case['id']} carries no Zephyr key"
                assert key not in found, f"{key} exists twice in qTest"
                found[key] = case
            if len(items) < 100:
                break
            page += 1
    return found


def folder_path(dataset: dict[str, Any], folder_id: int | None) -> str:
    folders = {f["id"]: f for f in dataset["folders"]}
    names: list[str] = []
    while folder_id is not None and folder_id in folders:
        names.append(folders[folder_id]["name"])
        folder_id = folders[folder_id].get("parentId")
    return "/".join(["DEMO", *reversed(names)])


def writes(served: Served) -> int:
    return served.qtest.stats.total(write_only=True)


def strip_tags(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text or "")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_every_test_case_arrives_exactly_and_a_rerun_creates_nothing(
    served: Served, database: dict[str, Any]
) -> None:
    assert migrate(served, database) == 0
    with served.qtest_api() as api:
        modules = qtest_modules(api)
        cases = qtest_cases(api, modules)
    data = served.dataset
    priorities = {p["id"]: p["name"] for p in data["priorities"]}
    statuses = {s["id"]: s["name"] for s in data["statuses"]}
    priority_map, status_map = {"Normal": "Medium"}, {"Draft": "New", "Deprecated": "Obsolete"}

    assert set(cases) == {tc["key"] for tc in data["testcases"]}, "every test case, none extra"
    for tc in data["testcases"]:
        case = cases[tc["key"]]
        assert case["name"] == tc["name"]
        expected_path = folder_path(data, (tc.get("folder") or {}).get("id"))
        assert modules[case["parent_id"]] == expected_path, tc["key"]
        props = {p["field_name"]: p for p in case["properties"]}
        want_priority = priorities[tc["priority"]["id"]]
        assert props["Priority"]["field_value_name"] == priority_map.get(want_priority, want_priority)
        want_status = statuses[tc["status"]["id"]]
        assert props["Status"]["field_value_name"] == status_map.get(want_status, want_status)
        assert case["version"].endswith(".0"), "approved, so test logs can bind to it"

        steps = sorted(case.get("test_steps") or [], key=lambda s: s["order"])
        source_steps = data["teststeps"].get(tc["key"]) or []
        script = (data.get("testscripts") or {}).get(tc["key"])
        if source_steps:
            assert len(steps) == len(source_steps), tc["key"]
            for got, want in zip(steps, source_steps, strict=True):
                if "inline" in want:
                    inline = want["inline"]
                    assert got["description"].startswith(inline.get("description") or ""), tc["key"]
                    if inline.get("testData"):
                        assert strip_tags(inline["testData"]) in strip_tags(got["description"])
                    assert got["expected"] == (inline.get("expectedResult") or "")
                else:
                    called = want["testCase"]["testCaseKey"]
                    assert got["called_test_case_id"] == cases[called]["id"], (tc["key"], called)
                    for parameter in want["testCase"].get("parameters") or []:
                        assert parameter["name"] in got["description"]
        elif script is not None:
            assert len(steps) == 1
            first_line = script["text"].splitlines()[0]
            assert strip_tags(first_line).strip() in strip_tags(steps[0]["description"])

    before = writes(served)
    assert migrate(served, database) == 0
    assert writes(served) == before, "a second run sends no create or update"
    with served.qtest_api() as api:
        assert set(qtest_cases(api, qtest_modules(api))) == set(cases)


def test_bad_records_are_recorded_and_the_rest_completes(tmp_path: Any) -> None:
    data = generate_dataset(25, seed=11)
    broken = copy.deepcopy(data)
    lost_folder = broken["testcases"][0]
    lost_folder["folder"] = {"id": 987654, "self": "https://example.invalid/folders/987654"}
    for served in serve(tmp_path, broken):
        database = {"type": "sqlite", "path": str(tmp_path / "m.db")}
        # "High" mapped to a label the qTest Priority field does not have.
        code = migrate(served, database, mappings={"priority": {"High": "Critical", "Normal": "Medium"}})
        assert code == 0
        with served.qtest_api() as api:
            modules = qtest_modules(api)
            cases = qtest_cases(api, modules)
        assert set(cases) == {tc["key"] for tc in broken["testcases"]}
        assert modules[cases[lost_folder["key"]]["parent_id"]] == "DEMO"
        status = run(["migrate", "status", "--config", str(tmp_path / "config.yaml"), "--format", "json"])
        assert status == 0
        from ztoq.config import load_config
        from ztoq.store import open_store

        cfg = load_config(tmp_path / "config.yaml")
        with open_store(cfg.database) as store, store.session() as repo:
            codes = {(p.source_key, p.code) for p in repo.iter_problems("DEMO", phase="transform")}
        assert (lost_folder["key"], "missing_folder") in codes
        high = {p["id"] for p in broken["priorities"] if p["name"] == "High"}
        high_cases = [tc["key"] for tc in broken["testcases"] if tc["priority"]["id"] in high]
        assert high_cases
        assert all((key, "mapping_target_missing") in codes for key in high_cases), codes
