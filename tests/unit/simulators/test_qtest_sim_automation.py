"""Automation in the qTest simulator: auto-test-logs, the batch queue, the sub hierarchy, admin
profiles and the site-level (negative) system field IDs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator
from ztoq.simulators.qtest.generate import SITE_FIELD_IDS


class Api:
    def __init__(self, sim: QTestSimulator, token: str = DEFAULT_QTEST_TOKEN) -> None:
        self.sim = sim
        self.token = token
        self.project_id = next(iter(sim.state.projects))
        self.p = f"/api/v3/projects/{self.project_id}"

    def __call__(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        url = path if path.startswith("/api/") else self.p + path

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.sim.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://qtest.test") as client:
                return await client.request(method, url, headers=headers, **kw)

        return asyncio.run(go())

    def json(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        response = self(method, path, **kw)
        assert response.status_code == status, response.text
        return response.json()


def _log(name: str = "Login works", content: str = "acme.Login#works", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "automation_content": content,
        "status": "PASSED",
        "exe_start_date": "2024-05-01T10:00:00Z",
        "exe_end_date": "2024-05-01T10:01:00Z",
        **extra,
    }


def _steps(*rows: tuple[str, str, int | None]) -> list[dict[str, Any]]:
    out = []
    for description, status, order in rows:
        step = {"description": description, "expected_result": f"{description} ok", "actual_result": "ok"}
        step["status"] = status
        if order is not None:
            step["order"] = order
        out.append(step)
    return out


@pytest.fixture
def api() -> Api:
    return Api(QTestSimulator())


def test_a_new_automation_result_creates_the_test_case_run_and_log(api: Api) -> None:
    steps = _steps(("Open", "PASSED", 0), ("Type", "FAILED", 1))
    body = api.json(
        "POST", "/test-runs/0/auto-test-logs", 201, json=_log(status="FAILED", test_step_logs=steps)
    )
    assert (body["status"], [s["status"] for s in body["test_step_logs"]]) == ("FAILED", ["PASSED", "FAILED"])
    case = api.json("GET", "/test-cases?expandSteps=true")[0]
    labels = {p["field_name"]: p.get("field_value_name") or p["field_value"] for p in case["properties"]}
    assert (labels["Type"], labels["Automation"], labels["Automation Content"]) == (
        "Automation",
        "Yes",
        "acme.Login#works",
    )
    assert [s["description"] for s in case["test_steps"]] == ["Open", "Type"]
    modules = api.json("GET", "/modules")
    assert [m["name"] for m in modules] == ["Automation"]
    assert case["parent_id"] == modules[0]["id"]
    run = api.json("GET", "/test-runs")["items"][0]
    assert (run["automation"], run["parentType"]) == ("Yes", "test-suite")
    assert api.json("GET", f"/test-suites/{run['parentId']}")["name"] == "Automation Test Suite"
    log = api.json("GET", f"/test-runs/{run['id']}/test-logs")["items"][0]
    assert log["status"]["name"] == "Failed"
    step_ids = [s["id"] for s in case["test_steps"]]
    assert [s["test_step_id"] for s in log["test_step_logs"]] == step_ids


def test_the_same_automation_content_reuses_the_case_and_run(api: Api) -> None:
    api.json("POST", "/test-runs/0/auto-test-logs", 201, json=_log())
    api.json("POST", "/test-runs/0/auto-test-logs", 201, json=_log(name="Renamed"))
    runs = api.json("GET", "/test-runs")["items"]
    assert [r["name"] for r in runs] == ["Login works"]  # names are never updated
    assert api.json("GET", f"/test-runs/{runs[0]['id']}/test-logs")["total"] == 2
    assert len(api.json("GET", "/test-cases")) == 1


def test_new_steps_save_a_new_version(api: Api) -> None:
    api.json(
        "POST", "/test-runs/0/auto-test-logs", 201, json=_log(test_step_logs=_steps(("A", "PASSED", None)))
    )
    unordered = _steps(("Zoom", "PASSED", None), ("Boot", "PASSED", None))
    body = api.json("POST", "/test-runs/0/auto-test-logs", 201, json=_log(test_step_logs=unordered))
    case = api.json("GET", "/test-cases?expandSteps=true")[0]
    assert case["version"] == "1.1"
    assert body["test_case_version_id"] == case["test_case_version_id"]
    # Without order, steps are sorted alphabetically.
    assert [s["description"] for s in case["test_steps"]] == ["Boot", "Zoom"]


def test_logging_to_an_existing_run(api: Api) -> None:
    case = api.json("POST", "/test-cases", json={"name": "Manual", "test_steps": [{"description": "a"}]})
    run = api.json("POST", "/test-runs", 201, json={"test_case": {"id": case["id"]}})
    body = api.json(
        "POST", f"/test-runs/{run['id']}/auto-test-logs", 201, json=_log(name=None, automation_content=None)
    )
    assert body["status"] == "PASSED"
    assert api.json("GET", f"/test-runs/{run['id']}")["latest_test_log"]["status"] == "Passed"
    assert api("POST", "/test-runs/99/auto-test-logs", json=_log()).status_code == 404


def test_suite_per_day(api: Api) -> None:
    api.json("POST", "/test-runs/0/auto-test-logs?suitePerDay=true&suiteDate=20241209", 201, json=_log())
    suites = api.json("GET", "/test-suites")
    assert [s["name"] for s in suites] == ["Automation 2024-12-09"]
    assert api("POST", "/test-runs/0/auto-test-logs?suitePerDay=true", json=_log()).status_code == 400


@pytest.mark.parametrize(
    "change",
    [
        {"status": "EXPLODED"},
        {"automation_content": ""},
        {"exe_end_date": "2024-04-01T00:00:00Z"},
        {"test_step_logs": _steps(("a", "PASSED", 1), ("b", "PASSED", 2))},  # orders start at 0
        {"test_step_logs": [{"description": "a", "status": "PASSED"}]},  # no expected_result
        {"properties": [{"field_id": 0, "field_value": "x"}], "attachments": [{"name": "a", "data": "%%%"}]},
    ],
)
def test_a_refused_result_changes_nothing(api: Api, change: dict[str, Any]) -> None:
    assert api("POST", "/test-runs/0/auto-test-logs", json=_log(**change)).status_code == 400
    assert api.json("GET", "/test-cases") == []
    assert api.json("GET", "/modules") == []


def test_unknown_run_fields_are_ignored_and_bad_values_refused(api: Api) -> None:
    fields = {f["label"]: f for f in api.json("GET", "/settings/test-runs/fields")}
    env = fields["Environment"]
    good = [
        {"field_id": 999999, "field_value": "x"},
        {"field_id": env["id"], "field_value": str(env["allowed_values"][0]["value"])},
    ]
    body = api.json("POST", "/test-runs/0/auto-test-logs", 201, json=_log(properties=good))
    shown = {p["field_name"]: p["field_value"] for p in body["properties"]}
    assert shown["Environment"] == str(env["allowed_values"][0]["value"])
    bad = [{"field_id": env["id"], "field_value": "123456789"}]
    assert (
        api("POST", "/test-runs/0/auto-test-logs", json=_log(content="other", properties=bad)).status_code
        == 400
    )


def test_the_batch_is_queued_then_processed(api: Api) -> None:
    api.sim.state.hold_queue = True
    job = api.json(
        "POST",
        "/api/v3.1/projects/1/test-runs/0/auto-test-logs?type=automation",
        201,
        json={"test_logs": [_log()]},
    )
    assert (job["state"], job["type"], job["content"]) == ("IN_WAITING", "AUTOMATION_TEST_LOG", None)
    assert api.json("GET", f"/api/v3/projects/queue-processing/{job['id']}")["state"] == "IN_WAITING"
    assert api.json("GET", "/test-runs")["total"] == 0
    api.sim.state.hold_queue = False
    done = api.json("GET", f"/api/v3/projects/queue-processing/{job['id']}")
    assert done["state"] == "SUCCESS"
    content = json.loads(done["content"])
    assert (content["testSuiteName"], content["totalTestCases"], content["totalTestLogs"]) == (
        "Automation Test Suite",
        1,
        1,
    )
    assert api.json("GET", "/test-runs")["total"] == 1


def test_the_batch_honours_suite_and_parent_module(api: Api) -> None:
    parent = api.json("POST", "/modules", 201, json={"name": "CI"})
    suite = api.json("POST", "/test-suites", json={"name": "Jenkins"})
    request = {
        "test_suite": suite["pid"],
        "parent_module": parent["pid"],
        "test_logs": [_log(), _log("B", "b")],
    }
    job = api.json(
        "POST", "/api/v3.1/projects/1/test-runs/0/auto-test-logs?type=automation", 201, json=request
    )
    assert json.loads(api.json("GET", f"/api/v3/projects/queue-processing/{job['id']}")["content"]) == {
        "testSuiteId": suite["id"],
        "testSuiteName": "Jenkins",
        "totalTestCases": 2,
        "totalTestLogs": 2,
    }
    automation = api.json("GET", f"/modules?parentId={parent['id']}")
    assert [m["name"] for m in automation] == ["Automation"]
    skip = {**request, "skipCreatingAutomationModule": True, "test_logs": [_log("C", "c")]}
    api.json("POST", "/api/v3.1/projects/1/test-runs/0/auto-test-logs?type=automation", 201, json=skip)
    assert [c["name"] for c in api.json("GET", f"/test-cases?parentId={parent['id']}")] == ["C"]


def test_a_failed_batch_creates_nothing(api: Api) -> None:
    request = {"test_suite": "TS-404", "test_logs": [_log()]}
    job = api.json(
        "POST", "/api/v3.1/projects/1/test-runs/0/auto-test-logs?type=automation", 201, json=request
    )
    failed = api.json("GET", f"/api/v3/projects/queue-processing/{job['id']}")
    assert failed["state"] == "FAILED"
    assert "TS-404" in json.loads(failed["content"])["message"]
    assert api.json("GET", "/test-cases") == []


def test_the_tree_submission_builds_modules_and_cycles(api: Api) -> None:
    cycle = api.json("POST", "/test-cycles", 201, json={"name": "Nightly"})
    logs = [_log(module_names=["Web", "Login"]), _log("Search", "acme.Search", module_names=["Web"])]
    for _ in range(2):  # the second submission reuses every folder, test case and run
        job = api.json(
            "POST",
            "/auto-test-logs?type=automation",
            201,
            json={"test_cycle": cycle["id"], "test_logs": logs},
        )
        assert api.json("GET", f"/api/v3/projects/queue-processing/{job['id']}")["state"] == "SUCCESS"
    web = api.json("GET", "/modules?expand=descendants")[0]
    assert (web["name"], [c["name"] for c in web["children"]]) == ("Web", ["Login"])
    tree = api.json("GET", f"/test-runs/subhierarchy?parentType=test-cycle&parentId={cycle['id']}")
    web_cycle = tree["children"][0]
    assert (web_cycle["name"], web_cycle["artifactType"]) == ("Web", "TEST_CYCLE")
    assert [(c["artifactType"], c["name"]) for c in web_cycle["children"]] == [
        ("TEST_CYCLE", "Login"),
        ("TEST_CASE_RUN", "Search"),
    ]
    assert api.json("GET", "/test-runs")["total"] == 2
    missing = {"test_cycle": cycle["pid"], "test_logs": [_log()]}
    job = api.json("POST", "/auto-test-logs?type=automation", 201, json=missing)
    assert api.json("GET", f"/api/v3/projects/queue-processing/{job['id']}")["state"] == "FAILED"


@pytest.mark.parametrize(
    ("path", "query", "body"),
    [
        ("/api/v3.1/projects/1/test-runs/3/auto-test-logs", "type=automation", {"test_logs": [_log()]}),
        ("/api/v3.1/projects/77/test-runs/0/auto-test-logs", "type=automation", {"test_logs": [_log()]}),
        ("/api/v3.1/projects/1/test-runs/0/auto-test-logs", "type=junit", {"test_logs": [_log()]}),
        ("/api/v3.1/projects/1/test-runs/0/auto-test-logs", "type=automation", {"test_logs": []}),
        ("/api/v3/projects/1/auto-test-logs", "type=automation", {}),
    ],
)
def test_batch_requests_refused_at_once(api: Api, path: str, query: str, body: dict[str, Any]) -> None:
    assert api("POST", f"{path}?{query}", json=body).status_code == 400
    assert api.sim.state.jobs == {}


def test_the_sub_hierarchy_of_a_release(api: Api) -> None:
    release = api.json("POST", "/releases", 201, json={"name": "R1"})
    cycle = api.json(
        "POST", f"/test-cycles?parentId={release['id']}&parentType=release", 201, json={"name": "C"}
    )
    api.json("POST", f"/test-suites?parentId={cycle['id']}&parentType=test-cycle", json={"name": "S"})
    tree = api.json("GET", f"/test-runs/subhierarchy?parentType=release&parentId={release['id']}")
    assert (tree["artifactType"], tree["targetReleaseId"]) == ("RELEASE", release["id"])
    assert tree["children"][0]["children"][0]["artifactType"] == "TEST_SUITE"
    sub = api.json("GET", f"/test-runs/subhierarchy?parentType=test-cycle&parentId={cycle['id']}")
    assert sub["parent"]["id"] == release["id"]
    root = api.json("GET", "/test-runs/subhierarchy")
    assert [c["type"] for c in root["children"]] == ["release"]
    assert api("GET", "/test-runs/subhierarchy?parentType=test-suite&parentId=1").status_code == 400
    assert api("GET", "/test-runs/subhierarchy?parentType=release&parentId=4").status_code == 400


def test_admin_profiles(api: Api) -> None:
    admin = api.json("GET", "/api/v3/admin-profiles/current")
    assert admin["user_id"] == api.sim.state.admin_id
    assert all(v is True for k, v in admin.items() if k != "user_id")
    user = next(u for u in api.sim.state.users.values() if u.id != api.sim.state.admin_id)
    token = api.sim.state.issue_token(user.id).access_token
    other = Api(api.sim, token).json("GET", "/api/v3/admin-profiles/current")
    assert other["user_id"] == user.id
    assert not any(v for k, v in other.items() if k != "user_id")


def test_site_level_system_fields_have_negative_ids(api: Api) -> None:
    suites = api.json("GET", "/settings/test-suites/fields")
    assert {f["label"]: f["id"] for f in suites} == SITE_FIELD_IDS
    assert api.json("GET", "/settings/test-suites/fields/-184")["label"] == "Description"
    assert api("GET", "/settings/test-suites/fields/-999").status_code == 404
    assert api("GET", "/settings/test-suites/fields/abc").status_code == 404
    suite = api.json(
        "POST", "/test-suites", json={"name": "S", "properties": [{"field_id": -184, "field_value": "x"}]}
    )
    assert next(p["field_value"] for p in suite["properties"] if p["field_id"] == -184) == "x"
    # The same IDs in every project of the site; project fields stay positive.
    other = QTestSimulator.generated(seed=4)
    project = next(iter(other.state.projects.values()))
    assert {f["label"]: f["id"] for f in project.fields["test-suites"] if f["system_field"]} == SITE_FIELD_IDS
    run_ids = {f["label"]: f["id"] for f in project.fields["test-runs"]}
    assert run_ids.pop("Test Data Source") == -183
    assert all(i > 0 for i in run_ids.values())
