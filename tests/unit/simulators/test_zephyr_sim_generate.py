"""The Zephyr dataset generator: deterministic, and every feature a migration meets is there."""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from typing import Any

import pytest

from ztoq.errors import InputError
from ztoq.simulators import catalog
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset

JIRA = "https://ztoq-sim.atlassian.net/rest/api/2/"
UNMAPPED = next(u.account_id for u in catalog.USERS if u.qtest_login is None)


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return generate_dataset(60, seed=0)


def _status_names(data: dict[str, Any], status_type: str) -> dict[int, str]:
    return {s["id"]: s["name"] for s in data["statuses"] if s["_statusType"] == status_type}


def _depth(folders: dict[int, dict[str, Any]], folder: dict[str, Any]) -> int:
    depth = 1
    while folder["parentId"] is not None:
        folder = folders[folder["parentId"]]
        depth += 1
    return depth


def test_same_seed_gives_identical_json_and_another_seed_differs() -> None:
    first = json.dumps(generate_dataset(80, seed=4), sort_keys=False)
    assert first == json.dumps(generate_dataset(80, seed=4), sort_keys=False)
    assert first != json.dumps(generate_dataset(80, seed=5), sort_keys=False)
    assert json.dumps(generate_dataset(5, seed=1, project_key="ABC_2")).count('"ABC_2-T') >= 5


def test_arguments_are_validated() -> None:
    with pytest.raises(InputError):
        generate_dataset(-1)
    with pytest.raises(InputError):
        generate_dataset(3, project_key="demo")
    empty = generate_dataset(0)
    assert empty["testcases"] == []
    assert empty["testexecutions"] == []
    assert len(empty["projects"]) == 1


def test_about_n_test_cases_and_a_proportionate_history() -> None:
    data = generate_dataset(2000, seed=2)
    assert len(data["testcases"]) == 2000
    assert 1.0 <= len(data["testexecutions"]) / 2000 <= 2.5
    assert len(data["testcycles"]) == 80
    assert len(data["executionsteps"]) == len(data["testexecutions"])


def test_twenty_thousand_test_cases_generate_quickly() -> None:
    started = time.perf_counter()
    data = generate_dataset(20000, seed=9)
    # A few seconds on a laptop; the bound only catches an accidental quadratic step.
    assert time.perf_counter() - started < 30
    assert len(data["testcases"]) == 20000


def test_identifiers_and_keys_are_unique(data: dict[str, Any]) -> None:
    for name in (
        "folders",
        "statuses",
        "priorities",
        "environments",
        "testcycles",
        "testplans",
        "testexecutions",
    ):
        ids = [e["id"] for e in data[name]]
        assert len(ids) == len(set(ids)), name
    version_ids = [c["id"] for c in data["testcases"]]
    version_ids += [v["id"] for vs in data["testcaseversions"].values() for v in vs]
    assert len(version_ids) == len(set(version_ids))
    keys = [
        e["key"] for name in ("testcases", "testcycles", "testplans", "testexecutions") for e in data[name]
    ]
    assert len(keys) == len(set(keys))
    link_ids = [i["id"] for links in data["links"].values() for items in links.values() for i in items]
    # A plan-cycle link is one link seen from both ends; every other link id is unique.
    assert all(n in (1, 2) for n in Counter(link_ids).values())


def test_configuration_comes_from_the_catalog(data: dict[str, Any]) -> None:
    assert data["projects"] == [{"id": 10001, "jiraProjectId": 10100, "key": "DEMO", "enabled": True}]
    for status_type in ("TEST_CASE", "TEST_CYCLE", "TEST_PLAN", "TEST_EXECUTION"):
        statuses = [s for s in data["statuses"] if s["_statusType"] == status_type]
        assert statuses
        assert sum(s["default"] for s in statuses) == 1
    assert set(_status_names(data, "TEST_EXECUTION").values()) == set(catalog.EXECUTION_STATUSES)
    assert "Retest Needed" in _status_names(data, "TEST_EXECUTION").values()
    assert set(_status_names(data, "TEST_CASE").values()) == set(catalog.TEST_CASE_STATUSES)
    assert [p["name"] for p in data["priorities"]] == list(catalog.PRIORITIES)
    assert [e["name"] for e in data["environments"]] == list(catalog.ENVIRONMENTS)


def test_folders_are_several_levels_deep_for_every_type(data: dict[str, Any]) -> None:
    folders = {f["id"]: f for f in data["folders"]}
    depths = {f["id"]: _depth(folders, f) for f in data["folders"]}
    case_depths = {depths[f["id"]] for f in data["folders"] if f["folderType"] == "TEST_CASE"}
    assert max(case_depths) == 4
    assert {f["folderType"] for f in data["folders"]} == {"TEST_CASE", "TEST_CYCLE", "TEST_PLAN"}
    for folder in data["folders"]:
        if folder["parentId"] is not None:
            assert folders[folder["parentId"]]["folderType"] == folder["folderType"]
    siblings = Counter((f["folderType"], f["parentId"], f["name"]) for f in data["folders"])
    assert max(siblings.values()) == 1


def test_test_cases_cover_every_script_kind_and_field(data: dict[str, Any]) -> None:
    cases = data["testcases"]
    keys = {c["key"] for c in cases}
    steps = data["teststeps"]
    assert any("folder" not in c for c in cases)
    assert any("folder" in c for c in cases)
    inline_only = [items for items in steps.values() if all("inline" in i for i in items)]
    assert all(1 <= len(items) <= 12 for items in inline_only)
    assert any("testData" in i["inline"] for items in inline_only for i in items)
    calls = [(k, i["testCase"]) for k, items in steps.items() for i in items if "testCase" in i]
    assert calls
    assert all(call["testCaseKey"] in keys and call["testCaseKey"] != key for key, call in calls)
    assert any(call["parameters"] for _k, call in calls)
    assert {p["type"] for _k, call in calls for p in call["parameters"]} == {"MANUAL_INPUT", "DEFAULT_VALUE"}
    assert {s["type"] for s in data["testscripts"].values()} == {"plain", "bdd"}
    assert not set(steps) & set(data["testscripts"])
    assert any(c["key"] not in steps and c["key"] not in data["testscripts"] for c in cases)
    assert any("<br>" in c.get("objective", "") and "<" in c.get("objective", "") for c in cases)
    assert any("<br>" in c.get("precondition", "") for c in cases)
    names = [c["name"] for c in cases]
    assert any("🚀" in n for n in names)
    assert any(any("\u0590" <= ch <= "\u06ff" for ch in n) for n in names)  # Hebrew or Arabic
    assert any("<script>" in n for n in names)
    assert any(c["labels"] for c in cases)
    assert any(c.get("component", {}).get("self", "").startswith(JIRA + "component/") for c in cases)
    assert all(c["owner"]["self"].startswith(JIRA + "user?accountId=") for c in cases if "owner" in c)
    assert any("estimatedTime" in c for c in cases)
    assert all(c["testScript"] == {} for c in cases)


def test_custom_fields_of_every_type_have_the_zephyr_value_types(data: dict[str, Any]) -> None:
    expected = {
        "SINGLE_LINE_TEXT": str,
        "MULTI_LINE_TEXT": str,
        "SINGLE_CHOICE": str,
        "MULTI_CHOICE": list,
        "NUMBER": int,
        "DATE": str,
        "CHECKBOX": bool,
        "USER_PICKER": str,
    }
    seen: dict[str, set[type]] = defaultdict(set)
    for case in data["testcases"]:
        assert set(case["customFields"]) == {f.zephyr_name for f in catalog.TEST_CASE_FIELDS}
        for spec in catalog.TEST_CASE_FIELDS:
            value = case["customFields"][spec.zephyr_name]
            if value is not None:
                seen[spec.zephyr_type].add(type(value))
                if spec.zephyr_type == "DATE":
                    assert len(value) == 10
                    assert value[4] == "-"
                if spec.zephyr_type in ("SINGLE_CHOICE", "MULTI_CHOICE"):
                    assert set(value if isinstance(value, list) else [value]) <= set(spec.options)
    assert dict(seen) == {kind: {t} for kind, t in expected.items()}
    assert any("<br>" in (c["customFields"]["Notes"] or "") for c in data["testcases"])
    for cycle in data["testcycles"]:
        assert set(cycle["customFields"]) == {f.zephyr_name for f in catalog.TEST_CYCLE_FIELDS}
    for execution in data["testexecutions"]:
        assert set(execution["customFields"]) == {f.zephyr_name for f in catalog.TEST_EXECUTION_FIELDS}
    for plan in data["testplans"]:
        assert set(plan["customFields"]) == {f.zephyr_name for f in catalog.TEST_PLAN_FIELDS}


def test_some_test_cases_have_several_versions(data: dict[str, Any]) -> None:
    older = data["testcaseversions"]
    assert older
    assert any(len(versions) >= 2 for versions in older.values())
    current = {c["key"]: c for c in data["testcases"]}
    for key, versions in older.items():
        assert all(v["key"] == key for v in versions)
        assert all(v["id"] < current[key]["id"] for v in versions)


def test_cycles_and_plans_link_both_ways(data: dict[str, Any]) -> None:
    links = data["links"]
    cycle_folders = {f["id"] for f in data["folders"] if f["folderType"] == "TEST_CYCLE"}
    plan_counts = Counter(len(links[c["key"]]["testPlans"]) for c in data["testcycles"])
    assert set(plan_counts) == {0, 1, 2}
    for cycle in data["testcycles"]:
        assert cycle["plannedStartDate"] < cycle["plannedEndDate"]
        assert cycle.get("folder", {"id": next(iter(cycle_folders))})["id"] in cycle_folders
    assert any("owner" in c and "jiraProjectVersion" in c and "folder" in c for c in data["testcycles"])
    plan_side = {
        (i["id"], p["id"], i["testCycleId"]) for p in data["testplans"] for i in links[p["key"]]["testCycles"]
    }
    cycle_side = {
        (i["id"], i["testPlanId"], c["id"]) for c in data["testcycles"] for i in links[c["key"]]["testPlans"]
    }
    assert plan_side == cycle_side
    assert all(
        i["target"].startswith(JIRA + "testplan/")
        for c in data["testcycles"]
        for i in links[c["key"]]["testPlans"]
    )


def test_executions_cover_the_history_a_migration_meets(data: dict[str, Any]) -> None:
    names = _status_names(data, "TEST_EXECUTION")
    executions = data["testexecutions"]
    versions = {c["id"]: c["key"] for c in data["testcases"]}
    old_versions = {v["id"]: key for key, vs in data["testcaseversions"].items() for v in vs}
    case_of = {**versions, **old_versions}
    runs: dict[tuple[int, str], list[str]] = defaultdict(list)
    for e in executions:
        if "testCycle" in e and "actualEndDate" in e:
            runs[(e["testCycle"]["id"], case_of[e["testCase"]["id"]])].append(e["actualEndDate"])
    assert any(len(dates) > 1 and len(set(dates)) == len(dates) for dates in runs.values())
    never_run = [e for e in executions if names[e["testExecutionStatus"]["id"]] == "Not Executed"]
    assert never_run
    assert all("actualEndDate" not in e for e in never_run)
    assert any("testCycle" not in e for e in executions)
    assert any(e.get("executedById") == UNMAPPED for e in executions)
    assert any(names[e["testExecutionStatus"]["id"]] == "Retest Needed" for e in executions)
    assert any("environment" in e for e in executions)
    assert any("comment" in e for e in executions)
    defects = [i for e in executions for i in data["links"][e["key"]]["issues"]]
    assert defects
    assert all(i["target"] == f"{JIRA}issue/{i['issueId']}" for i in defects)
    assert any(data["links"][c["key"]]["issues"] for c in data["testcases"])
    assert any(data["links"][c["key"]]["webLinks"] for c in data["testcases"])


def test_an_execution_ran_an_older_version_with_another_step_count(data: dict[str, Any]) -> None:
    sim = ZephyrSimulator(data)
    older = {v["id"] for vs in data["testcaseversions"].values() for v in vs}
    found = False
    for execution in data["testexecutions"]:
        version_id = execution["testCase"]["id"]
        if version_id in older:
            key = sim.state.version_index[version_id][0]
            current_steps = _flat_count(data, key)
            if len(data["executionsteps"][str(execution["id"])]) != current_steps:
                found = True
    assert found


def _flat_count(data: dict[str, Any], key: str) -> int:
    count = 0
    for item in data["teststeps"].get(key, []):
        count += 1 if "inline" in item else _flat_count(data, item["testCase"]["testCaseKey"])
    return count


def test_step_results_agree_with_the_execution_status(data: dict[str, Any]) -> None:
    names = _status_names(data, "TEST_EXECUTION")
    for execution in data["testexecutions"]:
        steps = data["executionsteps"][str(execution["id"])]
        results = [names[s["inline"]["status"]["id"]] for s in steps]
        status = names[execution["testExecutionStatus"]["id"]]
        if status == "Pass":
            assert set(results) <= {"Pass"}
        elif status == "Not Executed":
            assert set(results) <= {"Not Executed"}
        elif status == "Fail" and results:
            assert "Fail" in results
    assert any("actualResult" in s["inline"] for steps in data["executionsteps"].values() for s in steps)
