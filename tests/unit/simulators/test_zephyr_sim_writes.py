"""Write endpoints of the Zephyr simulator: validation errors, and writes visible to later reads."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset

AUTH = {"Authorization": "Bearer zephyr-sim-token"}


def call(sim: ZephyrSimulator, method: str, path: str, json: Any = None, **params: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://zephyr.test/v2", headers=AUTH
        ) as client:
            return await client.request(method, path, json=json, params=params or None)

    return asyncio.run(go())


def ok(sim: ZephyrSimulator, method: str, path: str, json: Any = None, status: int = 200) -> Any:
    response = call(sim, method, path, json)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def refused(sim: ZephyrSimulator, method: str, path: str, json: Any, status: int = 400) -> str:
    response = call(sim, method, path, json)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errorCode", "message"}
    assert body["errorCode"] == status
    return str(body["message"])


@pytest.fixture
def sim() -> ZephyrSimulator:
    return ZephyrSimulator(generate_dataset(20, seed=2))


def _folder(sim: ZephyrSimulator, folder_type: str) -> int:
    return int(next(f["id"] for f in sim.state.folders.values() if f["folderType"] == folder_type))


# -- test cases -----------------------------------------------------------------------------------------


def test_a_created_test_case_is_served_with_the_project_defaults(sim: ZephyrSimulator) -> None:
    created = ok(sim, "POST", "/testcases", {"projectKey": "DEMO", "name": "Brand new"}, 201)
    assert created == {
        "id": created["id"],
        "self": "http://zephyr.test/v2/testcases/DEMO-T21",
        "key": "DEMO-T21",
    }
    case = ok(sim, "GET", "/testcases/DEMO-T21")
    assert case["name"] == "Brand new"
    assert ok(sim, "GET", case["priority"]["self"])["name"] == "Normal"
    assert ok(sim, "GET", case["status"]["self"])["name"] == "Draft"
    assert case["createdOn"].endswith("Z")
    assert "folder" not in case
    listed = ok(sim, "GET", "/testcases?maxResults=100")["values"]
    assert listed[-1]["key"] == "DEMO-T21"
    nextgen = ok(sim, "GET", f"/testcases/nextgen?startAtId={created['id']}")["values"]
    assert [c["key"] for c in nextgen] == ["DEMO-T21"]


def test_a_test_case_with_every_field(sim: ZephyrSimulator) -> None:
    body = {
        "projectKey": "DEMO",
        "name": "Full — ✓",
        "objective": "<p>o</p>",
        "precondition": "p<br>q",
        "estimatedTime": 60000,
        "componentId": 10301,
        "priorityName": "High",
        "statusName": "Approved",
        "folderId": _folder(sim, "TEST_CASE"),
        "ownerId": "5b10a2844c20165700ede21g",
        "labels": ["a", "b"],
        "customFields": {"Story Points": 3, "Test Areas": ["UI"], "Regression": True},
    }
    key = ok(sim, "POST", "/testcases", body, 201)["key"]
    case = ok(sim, "GET", f"/testcases/{key}")
    assert case["component"] == {
        "id": 10301,
        "self": "https://ztoq-sim.atlassian.net/rest/api/2/component/10301",
    }
    assert case["owner"]["accountId"] == "5b10a2844c20165700ede21g"
    assert case["customFields"] == body["customFields"]
    assert case["labels"] == ["a", "b"]
    assert case["folder"]["id"] == body["folderId"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "x"}, "projectKey must not be null"),
        ({"projectKey": "DEMO"}, "name must not be null"),
        ({"projectKey": "DEMO", "name": "   "}, "cannot be null or empty"),
        ({"projectKey": "NOPE", "name": "x"}, "Cannot access projects 'NOPE'"),
        ({"projectKey": "demo", "name": "x"}, "pattern"),
        ({"projectKey": "DEMO", "name": "x", "priorityName": "Urgent"}, "Priority 'Urgent'"),
        ({"projectKey": "DEMO", "name": "x", "statusName": "Pass"}, "Status 'Pass'"),
        ({"projectKey": "DEMO", "name": "x", "folderId": 999999}, "Folder '999999'"),
        ({"projectKey": "DEMO", "name": "x", "ownerId": "not an id!"}, "ownerId"),
        ({"projectKey": "DEMO", "name": "x", "estimatedTime": -1}, "estimatedTime"),
        ({"projectKey": "DEMO", "name": "x", "estimatedTime": True}, "estimatedTime"),
        ({"projectKey": "DEMO", "name": "x", "labels": "a"}, "labels"),
        ({"projectKey": "DEMO", "name": "x", "customFields": []}, "customFields"),
        (["not", "an", "object"], "JSON object"),
    ],
)
def test_invalid_test_cases_are_refused(sim: ZephyrSimulator, body: Any, fragment: str) -> None:
    assert fragment in refused(sim, "POST", "/testcases", body)
    assert "DEMO-T21" not in sim.state.testcase_versions


def test_a_folder_of_another_type_is_refused(sim: ZephyrSimulator) -> None:
    body = {"projectKey": "DEMO", "name": "x", "folderId": _folder(sim, "TEST_CYCLE")}
    assert "not a TEST_CASE folder" in refused(sim, "POST", "/testcases", body)


def test_invalid_json_is_refused(sim: ZephyrSimulator) -> None:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://zephyr.test/v2", headers=AUTH
        ) as client:
            return await client.post("/testcases", content=b"{nope")

    response = asyncio.run(go())
    assert response.status_code == 400
    assert response.json()["errorCode"] == 400


def _as_update(case: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in case.items() if k not in ("links", "testScript")}


def test_updating_content_creates_a_new_version_and_keeps_the_old_one(sim: ZephyrSimulator) -> None:
    before = ok(sim, "GET", "/testcases/DEMO-T1")
    versions_before = ok(sim, "GET", "/testcases/DEMO-T1/versions")["total"]
    assert ok(sim, "PUT", "/testcases/DEMO-T1", _as_update(before)) is None
    assert ok(sim, "GET", "/testcases/DEMO-T1/versions")["total"] == versions_before  # no change, no version
    changed = {**_as_update(before), "name": "Renamed"}
    changed.pop("objective", None)  # unspecified fields are cleared
    ok(sim, "PUT", "/testcases/DEMO-T1", changed)
    after = ok(sim, "GET", "/testcases/DEMO-T1")
    assert after["name"] == "Renamed"
    assert "objective" not in after
    assert after["id"] != before["id"]
    assert after["createdOn"] == before["createdOn"]
    versions = ok(sim, "GET", "/testcases/DEMO-T1/versions")["values"]
    assert len(versions) == versions_before + 1
    assert versions[0]["id"] == after["id"]
    old = ok(sim, "GET", f"/testcases/DEMO-T1/versions/{versions_before}")
    assert old["name"] == before["name"]
    assert old["id"] == before["id"]
    assert ok(sim, "GET", "/testcases/DEMO-T1/teststeps")["total"] > 0  # the script carries over


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"key": "DEMO-T2"}, "key in the body"),
        ({"id": 1}, "not the id of the current version"),
        ({"project": {"id": 999}}, "Provided project does not match"),
        ({"status": {"id": 999}}, "Status '999'"),
        ({"priority": None}, "priority must not be null"),
        ({"folder": {"id": 999999}}, "Folder '999999'"),
    ],
)
def test_invalid_updates_are_refused(sim: ZephyrSimulator, change: dict[str, Any], fragment: str) -> None:
    body = {**_as_update(ok(sim, "GET", "/testcases/DEMO-T1")), **change}
    assert fragment in refused(sim, "PUT", "/testcases/DEMO-T1", body)
    assert refused(sim, "PUT", "/testcases/DEMO-T404", body, 404)


# -- steps and scripts -------------------------------------------------------------------------------------


def test_steps_append_and_overwrite_and_replace_a_script(sim: ZephyrSimulator) -> None:
    assert ok(sim, "GET", "/testcases/DEMO-T3/testscript")["type"] == "plain"
    first = {"mode": "APPEND", "items": [{"inline": {"description": "one", "testData": "x = 1"}}]}
    created = ok(sim, "POST", "/testcases/DEMO-T3/teststeps", first, 201)
    assert created["self"] == "http://zephyr.test/v2/testcases/DEMO-T3/teststeps"
    assert call(sim, "GET", "/testcases/DEMO-T3/testscript").status_code == 404
    call_step = {
        "testCase": {
            "testCaseKey": "DEMO-T1",
            "parameters": [{"name": "u", "type": "MANUAL_INPUT", "value": ""}],
        }
    }
    ok(sim, "POST", "/testcases/DEMO-T3/teststeps", {"mode": "APPEND", "items": [call_step]}, 201)
    values = ok(sim, "GET", "/testcases/DEMO-T3/teststeps")["values"]
    assert values[0] == {"id": values[0]["id"], "inline": {"description": "one", "testData": "x = 1"}}
    assert values[1]["testCase"]["testCaseKey"] == "DEMO-T1"
    assert ok(sim, "GET", "/testcases/DEMO-T3")["testScript"]["self"].endswith("/teststeps")
    ok(
        sim,
        "POST",
        "/testcases/DEMO-T3/teststeps",
        {"mode": "OVERWRITE", "items": [{"inline": {"description": "z"}}]},
        201,
    )
    overwritten = ok(sim, "GET", "/testcases/DEMO-T3/teststeps")["values"]
    assert overwritten == [{"id": overwritten[0]["id"], "inline": {"description": "z"}}]
    assert overwritten[0]["id"] not in {v["id"] for v in values}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"items": []}, "mode must not be null"),
        ({"mode": "MERGE", "items": []}, "mode must be one of"),
        ({"mode": "APPEND"}, "items must not be null"),
        ({"mode": "APPEND", "items": [{"inline": {}}] * 101}, "maximum of 100"),
        ({"mode": "APPEND", "items": [{}]}, "exactly one of inline or testCase"),
        (
            {"mode": "APPEND", "items": [{"inline": {}, "testCase": {"testCaseKey": "DEMO-T1"}}]},
            "exactly one",
        ),
        (
            {"mode": "APPEND", "items": [{"testCase": {"testCaseKey": "DEMO-T5"}}]},
            "cannot call the test case",
        ),
        ({"mode": "APPEND", "items": [{"testCase": {"testCaseKey": "DEMO-T999"}}]}, "does not exist"),
        (
            {
                "mode": "APPEND",
                "items": [{"testCase": {"testCaseKey": "DEMO-T1", "parameters": [{"type": "X"}]}}],
            },
            "type",
        ),
        ({"mode": "APPEND", "items": [{"inline": {"description": 5}}]}, "description must be a string"),
    ],
)
def test_invalid_steps_are_refused(sim: ZephyrSimulator, body: dict[str, Any], fragment: str) -> None:
    before = ok(sim, "GET", "/testcases/DEMO-T5/teststeps")["total"]
    assert fragment in refused(sim, "POST", "/testcases/DEMO-T5/teststeps", body)
    assert ok(sim, "GET", "/testcases/DEMO-T5/teststeps")["total"] == before


def test_exactly_100_steps_are_accepted(sim: ZephyrSimulator) -> None:
    items = [{"inline": {"description": f"step {i}"}} for i in range(100)]
    ok(sim, "POST", "/testcases/DEMO-T5/teststeps", {"mode": "OVERWRITE", "items": items}, 201)
    page = ok(sim, "GET", "/testcases/DEMO-T5/teststeps?maxResults=1000")
    assert (page["total"], page["maxResults"], len(page["values"]), page["isLast"]) == (100, 100, 100, True)


def test_a_script_replaces_the_steps_and_keeps_its_id(sim: ZephyrSimulator) -> None:
    first = ok(sim, "POST", "/testcases/DEMO-T1/testscript", {"type": "bdd", "text": "Given a"}, 201)
    assert ok(sim, "GET", "/testcases/DEMO-T1/teststeps")["total"] == 0
    second = ok(sim, "POST", "/testcases/DEMO-T1/testscript", {"type": "plain", "text": "b"}, 201)
    assert first["id"] == second["id"]
    assert ok(sim, "GET", "/testcases/DEMO-T1/testscript") == {
        "id": first["id"],
        "type": "plain",
        "text": "b",
    }
    assert "type must be one of" in refused(
        sim, "POST", "/testcases/DEMO-T1/testscript", {"type": "steps", "text": "x"}
    )
    assert "text" in refused(sim, "POST", "/testcases/DEMO-T1/testscript", {"type": "plain", "text": ""})


# -- folders ----------------------------------------------------------------------------------------------


def test_folders_are_created_under_a_parent_and_names_are_unique_among_siblings(sim: ZephyrSimulator) -> None:
    root = ok(
        sim, "POST", "/folders", {"projectKey": "DEMO", "name": "Imported", "folderType": "TEST_CASE"}, 201
    )
    child_body = {"projectKey": "DEMO", "name": "Imported", "folderType": "TEST_CASE", "parentId": root["id"]}
    child = ok(sim, "POST", "/folders", child_body, 201)
    assert ok(sim, "GET", f"/folders/{child['id']}")["parentId"] == root["id"]
    assert ok(sim, "GET", f"/folders/{root['id']}")["parentId"] is None
    assert "already exists" in refused(sim, "POST", "/folders", child_body)
    other_type = {"projectKey": "DEMO", "name": "Imported", "folderType": "TEST_PLAN"}
    ok(sim, "POST", "/folders", other_type, 201)  # another tree, no clash
    assert "folderType" in refused(
        sim, "POST", "/folders", {"projectKey": "DEMO", "name": "x", "folderType": "X"}
    )
    wrong_parent = {"projectKey": "DEMO", "name": "x", "folderType": "TEST_CYCLE", "parentId": root["id"]}
    assert "not a TEST_CYCLE folder" in refused(sim, "POST", "/folders", wrong_parent)
    long_name = {"projectKey": "DEMO", "name": "x" * 256, "folderType": "TEST_CASE"}
    assert "at most 255" in refused(sim, "POST", "/folders", long_name)


# -- cycles, plans, links ------------------------------------------------------------------------------------


def test_cycles_and_plans_are_created_and_linked(sim: ZephyrSimulator) -> None:
    cycle_body = {
        "projectKey": "DEMO",
        "name": "Migration check",
        "plannedStartDate": "2025-01-02T10:00:00Z",
        "plannedEndDate": "2025-01-09T10:00:00+00:00",
        "jiraProjectVersion": 10999,
        "folderId": _folder(sim, "TEST_CYCLE"),
        "customFields": {"Sprint": "S1"},
    }
    cycle = ok(sim, "POST", "/testcycles", cycle_body, 201)
    served = ok(sim, "GET", f"/testcycles/{cycle['key']}")
    assert served["plannedEndDate"] == "2025-01-09T10:00:00Z"
    assert served["jiraProjectVersion"]["self"] == "https://ztoq-sim.atlassian.net/rest/api/2/version/10999"
    assert ok(sim, "GET", served["status"]["self"])["name"] == "Not Executed"
    assert "plannedStartDate" in refused(
        sim, "POST", "/testcycles", {**cycle_body, "plannedStartDate": "2025-01-02"}
    )
    plan = ok(sim, "POST", "/testplans", {"projectKey": "DEMO", "name": "Plan"}, 201)
    link = ok(
        sim, "POST", f"/testplans/{plan['id']}/links/testcycles", {"testCycleIdOrKey": cycle["key"]}, 201
    )
    plan_links = ok(sim, "GET", f"/testplans/{plan['key']}")["links"]["testCycles"]
    assert plan_links[0]["id"] == link["id"]
    assert plan_links[0]["target"] == f"http://zephyr.test/v2/testcycles/{cycle['id']}"
    cycle_links = ok(sim, "GET", f"/testcycles/{cycle['id']}/links")["testPlans"]
    assert cycle_links[0]["testPlanId"] == plan["id"]
    assert "already linked" in refused(
        sim, "POST", f"/testplans/{plan['key']}/links/testcycles", {"testCycleIdOrKey": str(cycle["id"])}
    )
    assert "description" in refused(
        sim, "POST", f"/testplans/{plan['key']}/links/weblinks", {"url": "https://a.b"}
    )
    ok(sim, "DELETE", f"/links/{link['id']}")
    assert ok(sim, "GET", f"/testcycles/{cycle['id']}/links")["testPlans"] == []
    assert ok(sim, "GET", f"/testplans/{plan['key']}")["links"]["testCycles"] == []
    assert refused(sim, "DELETE", f"/links/{link['id']}", None, 404)


def test_updating_a_cycle_keeps_planned_dates_when_left_out(sim: ZephyrSimulator) -> None:
    cycle = ok(sim, "GET", "/testcycles/DEMO-R1")
    body = {
        k: v
        for k, v in cycle.items()
        if k not in ("links", "plannedStartDate", "plannedEndDate", "description")
    }
    ok(sim, "PUT", "/testcycles/DEMO-R1", {**body, "name": "Renamed cycle"})
    after = ok(sim, "GET", "/testcycles/DEMO-R1")
    assert after["name"] == "Renamed cycle"
    assert after["plannedStartDate"] == cycle["plannedStartDate"]
    assert "description" not in after
    assert "id and key" in refused(sim, "PUT", "/testcycles/DEMO-R1", {**body, "key": "DEMO-R2"})


def test_issue_and_web_links_are_added_and_served(sim: ZephyrSimulator) -> None:
    link = ok(sim, "POST", "/testcases/DEMO-T2/links/issues", {"issueId": 31337}, 201)
    assert link["self"] == f"http://zephyr.test/v2/links/{link['id']}"
    issues = ok(sim, "GET", "/testcases/DEMO-T2/links")["issues"]
    assert issues[-1] == {
        "id": link["id"],
        "issueId": 31337,
        "target": "https://ztoq-sim.atlassian.net/rest/api/2/issue/31337",
        "type": "COVERAGE",
        "self": link["self"],
    }
    assert ok(sim, "GET", "/testcases/DEMO-T2")["links"]["issues"][-1]["issueId"] == 31337
    assert "already linked" in refused(sim, "POST", "/testcases/DEMO-T2/links/issues", {"issueId": 31337})
    web = {"url": "https://example.com/x", "description": "x"}
    ok(sim, "POST", "/testcycles/DEMO-R1/links/weblinks", web, 201)
    assert ok(sim, "GET", "/testcycles/DEMO-R1/links")["webLinks"][-1]["url"] == "https://example.com/x"
    assert "absolute URL" in refused(sim, "POST", "/testcases/DEMO-T2/links/weblinks", {"url": "nope"})
    assert refused(sim, "POST", "/testcases/DEMO-T999/links/issues", {"issueId": 1}, 404)


# -- executions -----------------------------------------------------------------------------------


def _step_case(sim: ZephyrSimulator) -> str:
    """A test case with inline steps only and no test data."""
    for key, steps in sim.state.teststeps.items():
        if steps and all("inline" in s and not s["inline"].get("testData") for s in steps):
            return key
    raise AssertionError("no plain step-by-step test case")


def test_a_created_execution_is_the_last_one_and_served_with_its_steps(sim: ZephyrSimulator) -> None:
    key = _step_case(sim)
    steps = ok(sim, "GET", f"/testcases/{key}/teststeps?maxResults=100")["values"]
    body = {
        "projectKey": "DEMO",
        "testCaseKey": key,
        "testCycleKey": "DEMO-R1",
        "statusName": "Fail",
        "testScriptResults": [{"statusName": "Pass", "actualResult": "fine"}, {"statusName": "Fail"}][
            : len(steps)
        ],
        "environmentName": "Firefox ESR",
        "actualEndDate": "2025-02-01T12:00:00Z",
        "executionTime": 1000,
        "executedById": "557058:aa11bb22-cc33-dd44-ee55-ff6677889900",
        "comment": "via API",
        "customFields": {"Browser": "Firefox"},
    }
    last_before = ok(sim, "GET", "/testexecutions/nextgen?limit=1000")["values"][-1]["id"]
    created = call(sim, "POST", "/testexecutions", body)
    assert created.status_code == 201
    assert created.headers["location"] == created.json()["self"]
    execution = ok(sim, "GET", f"/testexecutions/{created.json()['key']}")
    assert execution["testCase"]["self"].startswith(f"http://zephyr.test/v2/testcases/{key}/versions/")
    assert execution["testCycle"]["id"] == ok(sim, "GET", "/testcycles/DEMO-R1")["id"]
    assert execution["actualEndDate"] == "2025-02-01T12:00:00Z"
    run_steps = ok(sim, "GET", f"/testexecutions/{execution['id']}/teststeps?maxResults=100")["values"]
    assert len(run_steps) == len(steps)
    assert run_steps[0]["inline"]["actualResult"] == "fine"
    assert ok(sim, "GET", run_steps[-1]["inline"]["status"]["self"])["name"] in (
        "Fail",
        "Not Executed",
        "Pass",
    )
    newer = ok(sim, "GET", f"/testexecutions/nextgen?startAtId={last_before + 1}")["values"]
    assert [e["id"] for e in newer] == [execution["id"]]
    last = ok(sim, "GET", f"/testexecutions?onlyLastExecutions=true&testCase={key}&testCycle=DEMO-R1")[
        "values"
    ]
    assert [e["id"] for e in last] == [execution["id"]]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"testCycleKey": None}, "testCycleKey must not be null"),
        ({"statusName": "Great"}, "Status 'Great'"),
        ({"testCaseKey": "DEMO-T999"}, "Test case 'DEMO-T999'"),
        ({"testCycleKey": "DEMO-R999"}, "Test cycle 'DEMO-R999'"),
        ({"environmentName": "Netscape"}, "Environment 'Netscape'"),
        ({"actualEndDate": "soon"}, "actualEndDate"),
        ({"executionTime": -5}, "executionTime"),
        ({"testScriptResults": [{"statusName": "Pass"}] * 13}, "results but the test script has"),
        ({"testScriptResults": [{}]}, "statusName must not be null"),
    ],
)
def test_invalid_executions_are_refused(sim: ZephyrSimulator, change: dict[str, Any], fragment: str) -> None:
    body = {
        "projectKey": "DEMO",
        "testCaseKey": _step_case(sim),
        "testCycleKey": "DEMO-R1",
        "statusName": "Pass",
    }
    count = len(sim.state.testexecutions)
    assert fragment in refused(sim, "POST", "/testexecutions", {**body, **change})
    assert len(sim.state.testexecutions) == count


def test_step_results_cannot_be_posted_for_call_to_test_cases(sim: ZephyrSimulator) -> None:
    body = {"projectKey": "DEMO", "testCaseKey": "DEMO-T2", "testCycleKey": "DEMO-R1", "statusName": "Pass"}
    assert "not supported" in refused(
        sim, "POST", "/testexecutions", {**body, "testScriptResults": [{"statusName": "Pass"}]}
    )
    ok(sim, "POST", "/testexecutions", body, 201)  # without step results it is fine


def test_a_project_mismatch_is_refused() -> None:
    data = generate_dataset(5)
    data["projects"].append({"id": 20002, "jiraProjectId": 20200, "key": "OTHER", "enabled": True})
    sim = ZephyrSimulator(data)
    body = {"projectKey": "OTHER", "testCaseKey": "DEMO-T1", "testCycleKey": "DEMO-R1", "statusName": "Pass"}
    assert "does not match" in refused(sim, "POST", "/testexecutions", body)


def test_executions_are_updated_and_only_the_last_one_takes_step_results(sim: ZephyrSimulator) -> None:
    key = _step_case(sim)
    run = {"projectKey": "DEMO", "testCaseKey": key, "testCycleKey": "DEMO-R2", "statusName": "Fail"}
    older = ok(sim, "POST", "/testexecutions", run, 201)
    newer = ok(sim, "POST", "/testexecutions", run, 201)
    ok(
        sim,
        "PUT",
        f"/testexecutions/{newer['key']}",
        {"statusName": "Pass", "comment": "retested", "environmentName": None},
    )
    updated = ok(sim, "GET", f"/testexecutions/{newer['id']}")
    assert ok(sim, "GET", updated["testExecutionStatus"]["self"])["name"] == "Pass"
    assert updated["comment"] == "retested"
    assert "environment" not in updated
    count = ok(sim, "GET", f"/testexecutions/{newer['id']}/teststeps")["total"]
    steps = {"steps": [{"statusName": "Pass", "actualResult": "ok"}] * count}
    assert "immutable" in refused(sim, "PUT", f"/testexecutions/{older['id']}/teststeps", steps, 409)
    assert "not matching" in refused(
        sim, "PUT", f"/testexecutions/{newer['id']}/teststeps", {"steps": []}, 422
    )
    ok(sim, "PUT", f"/testexecutions/{newer['id']}/teststeps", steps)
    served = ok(sim, "GET", f"/testexecutions/{newer['id']}/teststeps")["values"]
    assert {s["inline"]["actualResult"] for s in served} == {"ok"}
    assert refused(sim, "PUT", "/testexecutions/DEMO-E999999/teststeps", steps, 404)


def test_writes_are_visible_to_a_second_crawl_of_a_generated_project(sim: ZephyrSimulator) -> None:
    """The incremental-migration scenario: change data through the API, then read it back."""
    before = ok(sim, "GET", "/testcases/nextgen?limit=1000")["values"]
    case = before[0]
    ok(sim, "PUT", f"/testcases/{case['key']}", {**_as_update(case), "labels": ["changed"]})
    new = ok(sim, "POST", "/testcases", {"projectKey": "DEMO", "name": "Added later"}, 201)
    after = ok(sim, "GET", "/testcases/nextgen?limit=1000")["values"]
    assert len(after) == len(before) + 1
    by_key = {c["key"]: c for c in after}
    assert by_key[case["key"]]["labels"] == ["changed"]
    assert by_key[new["key"]]["name"] == "Added later"
    # Ids grow: the changed test case (a new version) and the new one come last.
    assert [c["key"] for c in after[-2:]] == [case["key"], new["key"]]
