"""The Zephyr Server dataset generator: deterministic, consistent, and in the documented wire format."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter, defaultdict
from typing import Any

import pytest

from ztoq.errors import InputError
from ztoq.simulators.zephyr_server.generate import (
    TEST_CASE_FIELDS,
    dataset_summary,
    generate_server_dataset,
)

DATE_MEMBERS = ("createdOn", "updatedOn", "plannedStartDate", "plannedEndDate", "executionDate")
DATE_MEMBERS += ("actualStartDate", "actualEndDate")
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
#: Members each wire object has in docs/simulators-zephyr-server.md: (always present, sometimes).
MEMBERS: dict[str, tuple[set[str], set[str]]] = {
    "testCases": (
        {"key", "projectKey", "name", "status", "priority", "labels", "issueLinks", "customFields"}
        | {"createdOn", "createdBy", "updatedOn", "updatedBy", "majorVersion", "latestVersion"},
        {"component", "folder", "owner", "objective", "precondition", "estimatedTime"}
        | {"lastTestResultStatus", "parameters", "testScript"},
    ),
    "steps": (
        {"id", "index"},
        {"description", "testData", "expectedResult", "testCaseKey", "customFields"},
    ),
    "testPlans": (
        {"key", "projectKey", "name", "status", "labels", "issueLinks", "customFields", "testRuns"}
        | {"createdOn", "createdBy", "updatedOn", "updatedBy"},
        {"objective", "folder", "owner"},
    ),
    "testRuns": (
        {"key", "projectKey", "name", "status", "plannedStartDate", "plannedEndDate", "estimatedTime"}
        | {"executionTime", "testCaseCount", "customFields", "createdOn", "createdBy", "updatedOn", "items"},
        {"folder", "description", "owner", "testPlanKey", "issueKey", "version", "iteration"},
    ),
    "items": (
        {"id", "index", "testCaseKey", "status"},
        {"userKey", "environment", "executionDate", "executedBy"},
    ),
    "testResults": (
        {"id", "projectKey", "testRunKey", "testCaseKey", "testCaseMajorVersion", "status", "automated"}
        | {"customFields", "issueLinks", "scriptResults"},
        {"environment", "comment", "assignedTo", "executedBy", "userKey", "executionTime", "executionDate"}
        | {"actualStartDate", "actualEndDate"},
    ),
    "scriptResults": ({"index", "status"}, {"comment"}),
    "environments": ({"id", "projectKey", "name", "description", "index"}, set()),
    "attachments": (
        {
            "id",
            "ownerType",
            "ownerKey",
            "stepIndex",
            "fileName",
            "contentType",
            "fileSize",
            "content",
            "seed",
        },
        set(),
    ),
}


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return generate_server_dataset(60, seed=0)


def _objects(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    if kind == "steps":
        return [s for c in data["testCases"] for s in c.get("testScript", {}).get("steps", [])]
    if kind == "items":
        return [i for r in data["testRuns"] for i in r["items"]]
    if kind == "scriptResults":
        return [s for r in data["testResults"] for s in r["scriptResults"]]
    return list(data[kind])


def _by_item(data: dict[str, Any]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    results = defaultdict(list)
    for result in data["testResults"]:
        results[(result["testRunKey"], result["testCaseKey"])].append(result)
    return results


def test_same_seed_gives_identical_json_and_attachments_change_nothing_else(data: dict[str, Any]) -> None:
    text = json.dumps(data, allow_nan=False)
    assert text == json.dumps(generate_server_dataset(60, seed=0))
    assert text != json.dumps(generate_server_dataset(60, seed=1))
    assert json.loads(text) == data  # plain JSON: nothing lost in a round trip
    bare = generate_server_dataset(60, seed=0, attachments=False)
    assert bare["attachments"] == []
    assert {k: v for k, v in bare.items() if k != "attachments"} == {
        k: v for k, v in data.items() if k != "attachments"
    }
    other = generate_server_dataset(12, seed=0, project_key="ABC_2")
    assert all(c["key"].startswith("ABC_2-T") and c["projectKey"] == "ABC_2" for c in other["testCases"])


def test_arguments_are_validated() -> None:
    for bad in (
        {"test_cases": -1},
        {"test_cases": 3, "project_key": "dc"},
        {"test_cases": 3, "large_attachments": -1},
    ):
        with pytest.raises(InputError):
            generate_server_dataset(**bad)
    empty = generate_server_dataset(0)
    assert len(empty["projects"]) == 1
    assert empty["testCases"] == empty["testRuns"] == empty["testResults"] == empty["attachments"] == []


def test_wire_objects_have_the_documented_members(data: dict[str, Any]) -> None:
    for kind, (always, sometimes) in MEMBERS.items():
        objects = _objects(data, kind)
        assert objects, kind
        seen = set().union(*(set(o) for o in objects))
        assert seen == always | sometimes, kind
        assert all(always <= set(o) for o in objects), kind
    dates = [
        o[name]
        for kind in ("testCases", "testPlans", "testRuns", "testResults", "items")
        for o in _objects(data, kind)
        for name in DATE_MEMBERS
        if name in o
    ]
    assert dates
    assert all(DATE_RE.match(d) for d in dates)


def test_ids_and_keys_are_unique_and_well_formed(data: dict[str, Any]) -> None:
    key = "DC"
    scripts = [c["testScript"] for c in data["testCases"] if "testScript" in c]
    for ids in (
        [e["id"] for e in data["environments"]],
        [s["id"] for s in scripts],
        [s["id"] for s in _objects(data, "steps")],
        [i["id"] for i in _objects(data, "items")],
        [r["id"] for r in data["testResults"]],
        [a["id"] for a in data["attachments"]],
        [u["key"] for u in data["users"]],
    ):
        assert len(ids) == len(set(ids))
    for section, letter in (("testCases", "T"), ("testPlans", "P"), ("testRuns", "C")):
        keys = [e["key"] for e in data[section]]
        assert len(keys) == len(set(keys))
        assert all(re.fullmatch(rf"{key}-{letter}\d+", k) for k in keys)
    for script in scripts:
        if script["type"] == "STEP_BY_STEP":
            assert [s["index"] for s in script["steps"]] == list(range(len(script["steps"])))


def test_every_reference_resolves_except_the_deleted_test_cases(data: dict[str, Any]) -> None:
    cases = {c["key"]: c for c in data["testCases"]}
    runs = {r["key"]: r for r in data["testRuns"]}
    plans = {p["key"]: p for p in data["testPlans"]}
    users = {u["key"] for u in data["users"]}
    environments = {e["name"] for e in data["environments"]}
    for plan in plans.values():
        assert all(runs[link["key"]].get("testPlanKey") == plan["key"] for link in plan["testRuns"])
    for run in runs.values():
        if "testPlanKey" in run:
            assert {"key": run["key"]} in plans[run["testPlanKey"]]["testRuns"]
    for item in _objects(data, "items"):
        assert item.get("environment", "Chrome Latest") in environments
    people = [
        o[name]
        for kind in ("testCases", "testPlans", "testRuns", "items", "testResults")
        for o in _objects(data, kind)
        for name in ("owner", "createdBy", "updatedBy", "userKey", "executedBy", "assignedTo")
        if name in o
    ]
    people += [c["customFields"]["Reviewer"] for c in cases.values() if "Reviewer" in c["customFields"]]
    assert set(people) <= users
    assert {
        o["projectKey"] for k in ("testCases", "testPlans", "testRuns", "testResults") for o in data[k]
    } == {"DC"}
    # The intended gap: a few test cases were deleted after they ran; only items and results name them.
    missing = {i["testCaseKey"] for i in _objects(data, "items")} - set(cases)
    assert missing
    assert {r["testCaseKey"] for r in data["testResults"]} - set(cases) == missing
    assert all(int(k.split("-T")[1]) <= len(cases) + len(missing) for k in missing)
    assert all(r["testRunKey"] in runs for r in data["testResults"])


def test_every_item_has_its_results_oldest_first(data: dict[str, Any]) -> None:
    by_item = _by_item(data)
    items = {(r["key"], i["testCaseKey"]): i for r in data["testRuns"] for i in r["items"]}
    assert set(by_item) == set(items)
    for pair, results in by_item.items():
        item = items[pair]
        ids = [r["id"] for r in results]
        assert ids == sorted(ids)
        dated = [r["executionDate"] for r in results if "executionDate" in r]
        assert dated == sorted(dated)
        assert item["status"] == results[-1]["status"]
        for result in results:
            never_run = result["status"] == "Not Executed"
            assert never_run == ("executionDate" not in result) == ("actualStartDate" not in result)
            assert result.get("environment") == item.get("environment")
    assert any(len(r) >= 2 for r in by_item.values())
    assert any(len(r) == 3 for r in by_item.values())
    assert {r["status"] for r in data["testResults"]} == {
        "Pass",
        "Fail",
        "Blocked",
        "In Progress",
        "Not Executed",
    }
    assert any(r["issueLinks"] for r in data["testResults"] if r["status"] == "Fail")
    assert any(r["automated"] for r in data["testResults"])
    assert all(r["testCaseCount"] == len(r["items"]) for r in data["testRuns"])
    assert any(not r["items"] and r["status"] == "Not Executed" for r in data["testRuns"])
    latest = {r["testCaseKey"]: r["status"] for r in sorted(data["testResults"], key=lambda r: r["id"])}
    assert all(c.get("lastTestResultStatus") == latest.get(c["key"]) for c in data["testCases"])


def test_script_results_follow_the_steps_and_data_rows(data: dict[str, Any]) -> None:
    cases = {c["key"]: c for c in data["testCases"]}
    data_driven = 0
    for result in data["testResults"]:
        case = cases.get(result["testCaseKey"])
        if case is None:
            continue
        script = case.get("testScript", {})
        indexes = [s["index"] for s in result["scriptResults"]]
        if script.get("type") != "STEP_BY_STEP":
            assert indexes == []
            continue
        steps = len(script["steps"])
        rows = len(case["parameters"]["entries"]) if "parameters" in case else 1
        data_driven += rows > 1
        # Row r, step s of an n-step script is index r * n + s.
        assert indexes == [r * steps + s for r in range(rows) for s in range(steps)]
        statuses = [s["status"] for s in result["scriptResults"]]
        if result["status"] in ("Fail", "Blocked"):
            assert statuses.count(result["status"]) == 1
        if result["status"] in ("Pass", "Not Executed"):
            assert set(statuses) == {result["status"]}
    assert data_driven


def test_test_cases_cover_every_script_kind_and_field(data: dict[str, Any]) -> None:
    cases = data["testCases"]
    summary = dataset_summary(data)
    assert summary["test_cases"] == 60
    for kind in (
        "plain",
        "bdd",
        "no_script",
        "data_driven",
        "call_steps",
        "steps_with_custom_fields",
        "at_root",
    ):
        assert summary[kind] > 0, kind
    assert {c["status"] for c in cases} == {"Draft", "Approved", "Deprecated", "Needs Update"}
    assert {c["priority"] for c in cases} == {"High", "Normal", "Low"}
    assert {c["majorVersion"] for c in cases} == {1, 2, 3}
    folders = {c["folder"] for c in cases if "folder" in c}
    assert max(f.count("/") for f in folders) == 4
    assert any("🌍" in f for f in folders)
    assert any(" " in f for f in folders)
    assert any("<br>" in c.get("objective", "") + c.get("precondition", "") for c in cases)
    for case in cases:
        if "parameters" in case:
            parameters = case["parameters"]
            assert {v["type"] for v in parameters["variables"]} == {"FREE_TEXT", "DATA_SET"}
            assert 2 <= len(parameters["entries"]) <= 4
            names = {v["name"] for v in parameters["variables"]}
            assert all(set(entry) == names for entry in parameters["entries"])
        steps = case.get("testScript", {}).get("steps", [])
        assert len([s for s in steps if "testCaseKey" not in s]) <= 8


def test_custom_fields_have_the_server_value_types(data: dict[str, Any]) -> None:
    expected = {
        "SINGLE_LINE_TEXT": str,
        "MULTI_LINE_TEXT": str,
        "SINGLE_CHOICE": str,
        "MULTI_CHOICE": str,
        "NUMBER": int,
        "DECIMAL": float,
        "DATE": str,
        "CHECKBOX": bool,
        "USER_PICKER": str,
    }
    seen: dict[str, set[type]] = defaultdict(set)
    for case in data["testCases"]:
        for spec in TEST_CASE_FIELDS:
            if spec.zephyr_name not in case["customFields"]:
                continue
            value = case["customFields"][spec.zephyr_name]
            seen[spec.zephyr_type].add(type(value))
            if spec.zephyr_type == "MULTI_CHOICE":
                assert set(value.split(", ")) <= set(spec.options)
            if spec.zephyr_type == "DATE":
                assert re.fullmatch(r"\d{4}-\d\d-\d\d", value)
    assert dict(seen) == {kind: {t} for kind, t in expected.items()}


def test_call_to_test_steps_call_earlier_existing_step_by_step_cases(data: dict[str, Any]) -> None:
    cases = {c["key"]: c for c in data["testCases"]}
    calls = [
        (key, step["testCaseKey"])
        for key, case in cases.items()
        for step in case.get("testScript", {}).get("steps", [])
        if "testCaseKey" in step
    ]
    assert calls
    for caller, target in calls:
        assert target in cases
        assert cases[target]["testScript"]["type"] == "STEP_BY_STEP"
        assert "parameters" not in cases[target]
        assert int(target.split("-T")[1]) < int(caller.split("-T")[1])  # so never a cycle
        step = next(s for s in cases[caller]["testScript"]["steps"] if s.get("testCaseKey") == target)
        assert set(step) == {"id", "index", "testCaseKey"}


def test_attachments_have_existing_owners_and_the_edge_cases(data: dict[str, Any]) -> None:
    cases = {c["key"]: c for c in data["testCases"]}
    results = {str(r["id"]): r for r in data["testResults"]}
    keys = {
        "testplan": {p["key"] for p in data["testPlans"]},
        "testrun": {r["key"] for r in data["testRuns"]},
    }
    for entry in data["attachments"]:
        owner, key, step = entry["ownerType"], entry["ownerKey"], entry["stepIndex"]
        if owner in ("testcase", "testcaseStep"):
            steps = cases[key].get("testScript", {}).get("steps", [])
            assert (step is None) == (owner == "testcase")
            assert step is None or "description" in steps[step]
        elif owner in ("testresult", "testresultStep"):
            assert (step is None) == (owner == "testresult")
            assert step is None or step in {s["index"] for s in results[key]["scriptResults"]}
        else:
            assert key in keys[owner]
            assert step is None
        assert len(base64.b64decode(entry["content"], validate=True)) == entry["fileSize"]
    assert {a["ownerType"] for a in data["attachments"]} == {
        "testcase",
        "testcaseStep",
        "testplan",
        "testrun",
        "testresult",
        "testresultStep",
    }
    names = [a["fileName"] for a in data["attachments"]]
    assert any(" " in n for n in names)
    assert any(not n.isascii() for n in names)
    assert any(a["fileSize"] == 0 for a in data["attachments"])
    assert max(Counter((a["ownerKey"], a["fileName"]) for a in data["attachments"]).values()) >= 2
    assert {a["contentType"] for a in data["attachments"]} >= {
        "image/png",
        "application/pdf",
        "text/plain",
        "application/zip",
    }


def test_large_attachments_have_generated_content_spread_over_owners() -> None:
    data = generate_server_dataset(
        20, seed=3, attachments=False, large_attachments=6, large_attachment_size=1000
    )
    large = data["attachments"]
    assert len(large) == 6
    assert all(a["content"] is None and a["fileSize"] == 1000 and isinstance(a["seed"], int) for a in large)
    assert {a["ownerType"] for a in large} == {"testcase", "testrun", "testresult", "testplan"}
    assert dataset_summary(data)["large_attachments"] == 6
