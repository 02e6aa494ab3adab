"""Contract test of the qTest Manager simulator against Tricentis' Swagger file.

A realistic migration-like sequence, and the automation endpoints (``auto-test-logs``, the batch
queue, the test run sub hierarchy, the admin profile), are driven through
``httpx.ASGITransport``; every answer is checked against ``qtest-manager-v3-swagger.yaml``
(``qtest_swagger.QTestSwagger``): the schema the Swagger declares for the operation and status
when it declares one, and the model the test names, with required fields, types, enums, formats,
and no property the Swagger does not define. Error bodies must be ``{message}``.

The Swagger file is read from ZTOQ_SPECS_DIR, ``docs/specs``, ``specs`` or ``/work/shared/specs``;
the test is skipped when none holds it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from qtest_swagger import SWAGGER_NAME, QTestSwagger

from ztoq.simulators.qtest import DEFAULT_QTEST_PASSWORD, DEFAULT_QTEST_USER, QTestSimulator


def _spec_dir() -> Path | None:
    candidates = [os.environ.get("ZTOQ_SPECS_DIR", "")]
    root = Path(__file__).resolve().parents[2]
    candidates += [str(root / "docs" / "specs"), str(root / "specs"), "/work/shared/specs"]
    for candidate in candidates:
        if candidate and (Path(candidate) / SWAGGER_NAME).is_file():
            return Path(candidate)
    return None


SPEC_DIR = _spec_dir()
pytestmark = pytest.mark.skipif(SPEC_DIR is None, reason="the qTest Swagger file is not available")
SWAGGER: QTestSwagger | None = QTestSwagger(SPEC_DIR) if SPEC_DIR else None


def check(value: Any, model: str, path: str) -> None:
    """Assert that a JSON value matches a Swagger definition (``X``, ``List<X>`` or ``Object``)."""
    assert SWAGGER is not None
    SWAGGER.check(model, value, path)


def test_checker_rejects_what_it_should() -> None:
    check({"id": 1, "name": "x"}, "ModuleResource", "$")
    for bad in (
        {"id": "1"},
        {"nope": 1},
        {"created_date": "2024-01-01T00:00:00"},
        {"children": [{"id": True}]},
    ):
        with pytest.raises(AssertionError):
            check(bad, "ModuleResource", "$")
    # Required fields: a test case without properties, a status-less test run.
    with pytest.raises(AssertionError):
        check({"id": 1, "name": "x"}, "TestCaseWithCustomFieldResource", "$")
    with pytest.raises(AssertionError):
        check({"id": 1, "properties": []}, "TestRunWithCustomFieldResource", "$")
    # The short nested test case of real sites is accepted only inside a test run.
    check(
        {"id": 1, "properties": [], "test_case": {"links": [], "id": 2}},
        "TestRunWithCustomFieldResource",
        "$",
    )
    with pytest.raises(AssertionError):
        check(
            {"id": 1, "properties": [], "test_case": {"id": 2, "x": 1}}, "TestRunWithCustomFieldResource", "$"
        )


# -- the client -----------------------------------------------------------------------------------


class Api:
    """A synchronous facade over ``httpx.AsyncClient(transport=ASGITransport(app))``."""

    def __init__(self, sim: QTestSimulator, token: str | None) -> None:
        self.sim = sim
        self.token = token

    def __call__(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.sim.app)
            async with httpx.AsyncClient(transport=transport, base_url="https://acme.qtestnet.com") as client:
                return await client.request(method, path, headers=headers, **kw)

        return asyncio.run(go())

    def ok(self, method: str, path: str, model: str | None, status: int = 200, **kw: Any) -> Any:
        """Call, assert the status, check the body against the Swagger's answer and ``model``."""
        response = self(method, path, **kw)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
        if model is None:
            return response
        assert SWAGGER is not None
        body = response.json()
        declared = SWAGGER.response_schema(method, path, status)
        if declared is not None:
            SWAGGER.check(declared, body, f"{method} {path} (declared answer)")
        check(body, model, f"{method} {path}")
        return body

    def page(self, method: str, path: str, item_model: str, **kw: Any) -> Any:
        """Call a search endpoint: a PagedResource envelope whose items are ``item_model`` objects."""
        body = self.ok(method, path, "Object", **kw)
        check({k: v for k, v in body.items() if k != "items"}, "PagedResource", f"{method} {path}")
        check(body["items"], f"List<{item_model}>", f"{method} {path} items")
        return body

    def fails(self, method: str, path: str, status: int, **kw: Any) -> str:
        """Call, assert the error status and the ``{message}`` body; return the message."""
        response = self(method, path, **kw)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
        body = response.json()
        check(body, "ErrorMessage", f"{method} {path}")
        assert set(body) == {"message"}
        assert body["message"]
        return str(body["message"])


# -- the sequence ---------------------------------------------------------------------------------


def test_migration_sequence_matches_the_models() -> None:
    sim = QTestSimulator.generated(seed=3, test_cases=2)
    anonymous = Api(sim, None)
    basic = "Basic " + base64.b64encode(b"acme:").decode()
    login = anonymous.ok(
        "POST",
        "/oauth/token",
        "OAuthResponse",
        data={"grant_type": "password", "username": DEFAULT_QTEST_USER, "password": DEFAULT_QTEST_PASSWORD},
        headers={"Authorization": basic},
    )
    api = Api(sim, login["access_token"])
    api.ok("GET", "/oauth/status", "OAuthTokenStatusVM")

    projects = api.ok("GET", "/api/v3/projects", "List<ProjectResource>")
    pid = projects[0]["id"]
    p = f"/api/v3/projects/{pid}"
    api.ok("GET", f"{p}?expand=userprofile", "ProjectResource")
    users = api.ok("GET", f"{p}/users", "List<UserResource>")
    api.ok("GET", f"/api/v3/users/{users[1]['id']}", "UserResource")
    found = api.ok("GET", "/api/v3/users/search?username=example", "SearchUserResourceExtensionResponse")
    assert found["total"] == len(users)
    profile = api.ok("GET", f"{p}/user-profiles/current", "UserProfile")
    assert profile["test_case"]["create"] is True

    fields: dict[str, list[dict[str, Any]]] = {}
    for object_type in ("test-cases", "test-runs", "test-suites", "releases", "requirements", "test-steps"):
        fields[object_type] = api.ok(
            "GET", f"{p}/settings/{object_type}/fields?includeInactive=true", "List<FieldResource>"
        )
    api.fails("GET", f"{p}/settings/test-cycles/fields", 400)
    created_field = api.ok(
        "POST",
        f"{p}/settings/test-cases/fields",
        "FieldResource",
        201,
        json={"label": "Component", "data_type": 3, "allowed_values": [{"label": "UI"}, {"label": "API"}]},
    )
    api.ok("GET", f"{p}/settings/test-cases/fields/{created_field['id']}", "FieldResource")
    statuses = api.ok("GET", f"{p}/test-runs/execution-statuses", "List<StatusResource>")
    assert [s["id"] for s in statuses] == [601, 602, 603, 604, 605]

    root = api.ok("POST", f"{p}/modules", "ModuleResource", 201, json={"name": "Migrated"})
    child = api.ok(
        "POST", f"{p}/modules?parentId={root['id']}", "ModuleResource", 201, json={"name": "Login"}
    )
    api.ok("POST", f"{p}/modules", "ModuleResource", 201, json={"name": "Deep", "parent_id": child["id"]})
    tree = api.ok("GET", f"{p}/modules/{root['id']}?expand=descendants", "ModuleResource")
    assert tree["children"][0]["children"][0]["name"] == "Deep"
    api.ok("GET", f"{p}/modules?expand=descendants", "List<ModuleResource>")
    api.ok("PUT", f"{p}/modules/{child['id']}", "ModuleResource", json={"name": "Login (renamed)"})

    tc_fields = {f["label"]: f for f in fields["test-cases"]}
    priority = next(v["value"] for v in tc_fields["Priority"]["allowed_values"] if v["label"] == "High")
    callee = api.ok(
        "POST",
        f"{p}/test-cases",
        "TestCaseWithCustomFieldResource",
        json={
            "name": "Log in",
            "parent_id": child["id"],
            "description": "<p>Logs in</p>",
            "test_steps": [{"description": "Open", "expected": "Opened", "order": 1}],
        },
    )
    caller = api.ok(
        "POST",
        f"{p}/test-cases",
        "TestCaseWithCustomFieldResource",
        json={
            "name": "Checkout",
            "parent_id": child["id"],
            "precondition": "Logged out",
            "properties": [
                {"field_id": tc_fields["Priority"]["id"], "field_value": str(priority)},
                {"field_id": tc_fields["Zephyr Key"]["id"], "field_value": "DEMO-T1"},
                {"field_id": tc_fields["Test Areas"]["id"], "field_value": "[]"},
            ],
            "test_steps": [
                {"description": "", "expected": "", "order": 1, "called_test_case_id": callee["id"]},
                {"description": "Pay", "expected": "Paid", "order": 2},
            ],
        },
    )
    assert caller["version"] == "0.1"
    assert caller["test_steps"][0]["called_test_case_id"] == callee["id"]
    approved = api.ok("PUT", f"{p}/test-cases/{caller['id']}/approve", "TestCaseWithCustomFieldResource")
    assert approved["version"] == "1.0"
    api.ok("PUT", f"{p}/test-cases/{callee['id']}/approve", "TestCaseWithCustomFieldResource")
    updated = api.ok(
        "PUT",
        f"{p}/test-cases/{caller['id']}",
        "TestCaseWithCustomFieldResource",
        json={"name": "Checkout v2"},
    )
    assert updated["version"] == "1.1"
    api.ok(
        "GET",
        f"{p}/test-cases?parentId={child['id']}&expandSteps=true",
        "List<TestCaseWithCustomFieldResource>",
    )
    full = api.ok("GET", f"{p}/test-cases/{caller['pid']}?expand=teststep", "TestCaseWithCustomFieldResource")
    versions = api.ok(
        "GET", f"{p}/test-cases/{caller['id']}/versions", "List<TestCaseWithCustomFieldResource>"
    )
    assert [v["version"] for v in versions] == ["1.0", "1.1"]
    api.ok(
        "GET",
        f"{p}/test-cases/{caller['id']}/versions/{versions[0]['test_case_version_id']}",
        "TestCaseWithCustomFieldResource",
    )
    api.ok(
        "POST",
        f"{p}/test-cases/{callee['id']}/test-steps",
        "TestStepResource",
        json={"description": "Type", "expected": "Typed"},
    )
    api.ok("GET", f"{p}/test-cases/{caller['id']}/test-steps", "List<TestStepResource>")
    api.ok(
        "GET", f"{p}/test-cases/{caller['id']}/test-steps/{full['test_steps'][1]['id']}", "TestStepResource"
    )

    release = api.ok(
        "POST",
        f"{p}/releases",
        "ReleaseWithCustomFieldResource",
        201,
        json={
            "name": "Plan 1",
            "start_date": "2024-05-01T00:00:00Z",
            "end_date": "2024-06-01T00:00:00+02:00",
        },
    )
    api.ok("GET", f"{p}/releases", "List<ReleaseWithCustomFieldResource>")
    api.ok("PUT", f"{p}/releases/{release['id']}", "ReleaseWithCustomFieldResource", json={"note": "noted"})
    cycle = api.ok(
        "POST",
        f"{p}/test-cycles?parentId={release['id']}&parentType=release",
        "TestCycleResource",
        201,
        json={"name": "Cycle", "description": "Zephyr cycle DEMO-R1"},
    )
    sub = api.ok(
        "POST",
        f"{p}/test-cycles?parentId={cycle['id']}&parentType=test-cycle",
        "TestCycleResource",
        201,
        json={"name": "Sub"},
    )
    suite = api.ok(
        "POST",
        f"{p}/test-suites?parentId={sub['id']}&parentType=test-cycle",
        "TestSuiteWithCustomFieldResource",
        json={"name": "Suite"},
    )
    expanded = api.ok("GET", f"{p}/test-cycles/{cycle['id']}?expand=descendants", "TestCycleResource")
    assert expanded["test-cycles"][0]["test-suites"][0]["id"] == suite["id"]
    api.ok(
        "GET",
        f"{p}/test-cycles?parentId={release['id']}&parentType=release&expand=descendants",
        "List<TestCycleResource>",
    )
    api.ok(
        "GET",
        f"{p}/test-suites?parentId={sub['id']}&parentType=test-cycle",
        "List<TestSuiteWithCustomFieldResource>",
    )

    run_fields = {f["label"]: f for f in fields["test-runs"]}
    env = run_fields["Environment"]["allowed_values"][0]["value"]
    run = api.ok(
        "POST",
        f"{p}/test-runs?parentId={suite['id']}&parentType=test-suite",
        "TestRunWithCustomFieldResource",
        201,
        json={
            "name": "Checkout run",
            "test_case": {"id": caller["id"], "test_case_version_id": versions[0]["test_case_version_id"]},
            "properties": [
                {"field_id": run_fields["Environment"]["id"], "field_value": str(env)},
                {"field_id": run_fields["Zephyr Key"]["id"], "field_value": "DEMO-E1"},
            ],
        },
    )
    listed = api.ok(
        "GET",
        f"{p}/test-runs?parentId={release['id']}&parentType=release&expand=descendants",
        "TestRunListResource",
    )
    assert [r["id"] for r in listed["items"]] == [run["id"]]
    api.ok("GET", f"{p}/test-runs/{run['id']}?expand=testcase.teststep", "TestRunWithCustomFieldResource")
    api.ok(
        "PUT", f"{p}/test-runs/{run['id']}", "TestRunWithCustomFieldResource", json={"name": "Checkout run 2"}
    )

    pinned = api.ok(
        "GET",
        f"{p}/test-cases/{caller['id']}/versions/{run['test_case_version_id']}/test-steps",
        "List<TestStepResource>",
    )
    log = api.ok(
        "POST",
        f"{p}/test-runs/{run['id']}/test-logs",
        "TestLogResource",
        201,
        json={
            "status": {"id": 602},
            "exe_start_date": "2024-05-02T10:00:00Z",
            "exe_end_date": "2024-05-02T10:07:00Z",
            "note": "Failed at payment",
            "test_case_version_id": run["test_case_version_id"],
            "test_step_logs": [
                {"test_step_id": pinned[0]["id"], "status": {"id": 601}, "actual_result": "ok", "order": 1},
                {
                    "test_step_id": pinned[1]["id"],
                    "status": {"id": 602},
                    "actual_result": "declined",
                    "order": 2,
                },
            ],
            "attachments": [
                {"name": "trace.txt", "content_type": "text/plain", "data": base64.b64encode(b"x").decode()}
            ],
            "defects": [{"external_defect_id": "DEMO-900", "summary": "Payment declined"}],
        },
    )
    assert log["status"]["name"] == "Failed"
    assert len(log["attachments"]) == 1
    api.ok("GET", f"{p}/test-runs/{run['id']}/test-logs", "TestLogListResource")
    api.ok("GET", f"{p}/test-runs/{run['id']}/test-logs/{log['id']}", "TestLogResource")
    api.ok(
        "GET", f"{p}/test-runs/{run['id']}/test-logs/last-run?expand=teststeplog.teststep", "TestLogResource"
    )
    refreshed = api.ok("GET", f"{p}/test-runs/{run['id']}", "TestRunWithCustomFieldResource")
    assert refreshed["latest_test_log"]["status"] == "Failed"

    upload = api.ok(
        "POST",
        f"{p}/test-cases/{caller['id']}/blob-handles",
        "AttachmentResource",
        201,
        content=b"%PDF-1.4 spec",
        headers={"File-Name": "spec.pdf", "Content-Type": "application/pdf"},
    )
    api.ok("GET", f"{p}/test-cases/{caller['id']}/attachments", "List<AttachmentResource>")
    file = api.ok("GET", f"{p}/test-cases/{caller['id']}/attachments/{upload['id']}", None)
    assert file.content == b"%PDF-1.4 spec"
    assert file.headers["content-type"] == "application/pdf"
    api.ok("GET", f"{p}/attachments?type=test-logs&ids={log['id']}", "PagedResourceAttachmentResource")
    # Every object type ztoq uploads to, a percent-encoded unicode name, the delete, 413, and the
    # object types qTest has no attachments for.
    step_log = api.ok("GET", f"{p}/test-runs/{run['id']}/test-logs/{log['id']}", "TestLogResource")
    targets = {
        "test-steps": full["test_steps"][0]["id"],
        "test-logs": log["id"],
        "test-step-logs": step_log["test_step_logs"][0]["test_step_log_id"],
        "releases": release["id"],
    }
    for object_type, object_id in targets.items():
        sent = api.ok(
            "POST",
            f"{p}/{object_type}/{object_id}/blob-handles",
            "AttachmentResource",
            201,
            content=b"\x89PNG",
            headers={"File-Name": "r%C3%A9sum%C3%A9%20%E2%9C%93.png", "Content-Type": "image/png"},
        )
        assert sent["name"] == "résumé ✓.png"
        listed = api.ok("GET", f"{p}/{object_type}/{object_id}/attachments", "List<AttachmentResource>")
        assert [a["id"] for a in listed][-1] == sent["id"]
        api.ok("DELETE", f"{p}/{object_type}/{object_id}/blob-handles/{sent['id']}", "Message")
    for object_type in ("test-runs", "test-cycles"):
        refused = api(
            "POST",
            f"{p}/{object_type}/{run['id']}/blob-handles",
            content=b"x",
            headers={"File-Name": "a", "Content-Type": "text/plain"},
        )
        assert refused.status_code == 400, object_type

    searches = {
        "test-cases": ("'Zephyr Key' = 'DEMO-T1'", "TestCaseWithCustomFieldResource"),
        "test-runs": ("'Zephyr Key' = 'DEMO-E1' and Status = 'Failed'", "TestRunWithCustomFieldResource"),
        "test-cycles": ("Name ~ 'cyc'", "TestCycleResource"),
        "test-suites": (f"pid = '{suite['pid']}'", "TestSuiteWithCustomFieldResource"),
        "releases": ("'Name' = 'Plan 1'", "ReleaseWithCustomFieldResource"),
        "requirements": ("Name ~ 'DEMO-101'", "RequirementResource"),
        "modules": ("Name = 'Migrated'", "ModuleResource"),
    }
    for object_type, (query, model) in searches.items():
        page = api.page(
            "POST",
            f"{p}/search?pageSize=10&page=1",
            model,
            json={"object_type": object_type, "fields": ["*"], "query": query},
        )
        assert page["total"] == 1, (object_type, page)
    # Narrowed to some attributes, the items are partial resources (no required "properties").
    narrow = api.page(
        "POST",
        f"{p}/search",
        "RepresentationModel",
        json={"object_type": "test-cases", "fields": ["name", "pid"]},
    )
    assert all(set(i) <= {"id", "links", "name", "pid"} for i in narrow["items"])

    requirement = api.ok(
        "POST",
        f"{p}/requirements?parentId={root['id']}",
        "RequirementResource",
        json={"name": "DEMO-200 Pay"},
    )
    api.ok("GET", f"{p}/requirements?parentId={root['id']}", "List<RequirementResource>")
    api.ok("GET", f"{p}/requirements/{requirement['id']}", "RequirementResource")
    links = api.ok(
        "POST",
        f"{p}/requirements/{requirement['id']}/link?type=test-cases",
        "List<LinkedArtifactContainer>",
        json=[caller["id"], 999999999],
    )
    assert [o["id"] for o in links[0]["objects"]] == [caller["id"]]
    api.ok(
        "GET",
        f"{p}/linked-artifacts?type=requirements&ids={requirement['id']}",
        "List<LinkedArtifactContainer>",
    )
    api.ok("GET", f"{p}/linked-artifacts?type=test-cases&ids={caller['id']}", "List<LinkedArtifactContainer>")

    api.fails("GET", f"{p}/test-cases/999999", 404)
    api.fails("GET", "/api/v3/projects/424242", 404)
    api.fails("GET", f"{p}/no-such-thing", 404)
    api.fails("POST", f"{p}/test-cases", 400, json={"parent_id": root["id"]})
    anonymous.fails("GET", p, 401)

    api.ok("DELETE", f"{p}/test-runs/{run['id']}", "Message")
    api.fails("GET", f"{p}/test-runs/{run['id']}/test-logs", 404)
    api.ok("DELETE", f"{p}/test-suites/{suite['id']}", "Object")
    api.ok("DELETE", f"{p}/test-cycles/{cycle['id']}?force=true", "Message")
    api.ok("DELETE", f"{p}/releases/{release['id']}", "Object")
    api.ok("DELETE", f"{p}/requirements/{requirement['id']}", "Object")
    api.ok("DELETE", f"{p}/test-cases/{callee['id']}", None)
    api.ok("DELETE", f"{p}/modules/{root['id']}?force=true", "Message")
    assert api("GET", f"{p}/test-cases/{caller['id']}").status_code == 404


def test_automation_endpoints_match_the_swagger() -> None:
    sim = QTestSimulator.generated(seed=5)
    api = Api(sim, sim.state.api_token)
    pid = api.ok("GET", "/api/v3/projects", "List<ProjectResource>")[0]["id"]
    p = f"/api/v3/projects/{pid}"
    admin = api.ok("GET", "/api/v3/admin-profiles/current", "AdminProfile")
    assert admin["site_level_field"] is True

    log = {
        "name": "Login works",
        "automation_content": "com.acme.LoginTest#works",
        "status": "PASSED",
        "exe_start_date": "2024-05-01T10:00:00Z",
        "exe_end_date": "2024-05-01T10:01:00Z",
        "note": "CI build 7",
        "build_number": "7",
        "test_step_logs": [
            {
                "description": "Open",
                "expected_result": "Opened",
                "actual_result": "ok",
                "status": "PASSED",
                "order": 0,
            },
            {
                "description": "Type",
                "expected_result": "Typed",
                "actual_result": "ok",
                "status": "PASSED",
                "order": 1,
            },
        ],
        "attachments": [
            {"name": "log.txt", "content_type": "text/plain", "data": base64.b64encode(b"ok").decode()}
        ],
    }
    single = api.ok(
        "POST", f"{p}/test-runs/0/auto-test-logs", "AutomationTestLogResourceResponse", 201, json=log
    )
    assert single["status"] == "PASSED"
    assert [s["order"] for s in single["test_step_logs"]] == [0, 1]
    runs = api.ok("GET", f"{p}/test-runs", "TestRunListResource")
    run = runs["items"][0]
    assert run["automation"] == "Yes"
    assert set(run["test_case"]) == {"links", "id"}
    again = api.ok(
        "POST",
        f"{p}/test-runs/{run['id']}/auto-test-logs",
        "AutomationTestLogResourceResponse",
        201,
        json={**log, "status": "FAILED"},
    )
    assert again["test_case_version_id"] == single["test_case_version_id"]
    api.ok("GET", f"{p}/test-runs/{run['id']}?expand=testcase.teststep", "TestRunWithCustomFieldResource")
    logs = api.ok("GET", f"{p}/test-runs/{run['id']}/test-logs", "TestLogListResource")
    assert [entry["status"]["name"] for entry in logs["items"]] == ["Passed", "Failed"]

    cycle = api.ok("POST", f"{p}/test-cycles", "TestCycleResource", 201, json={"name": "Nightly"})
    tree_logs = [
        {**log, "module_names": ["Web", "Login"]},
        {**log, "name": "Logout", "automation_content": "com.acme.LogoutTest#works", "module_names": ["Web"]},
    ]
    queued = api.ok(
        "POST",
        f"{p}/auto-test-logs?type=automation",
        "QueueProcessingResponse",
        201,
        json={"test_cycle": cycle["pid"], "test_logs": tree_logs},
    )
    assert queued["state"] == "IN_WAITING"
    done = api.ok("GET", f"/api/v3/projects/queue-processing/{queued['id']}", "QueueProcessingResponse")
    assert done["state"] == "SUCCESS", done
    assert json.loads(done["content"])["totalTestLogs"] == 2
    tree = api.ok(
        "GET",
        f"{p}/test-runs/subhierarchy?parentType=test-cycle&parentId={cycle['id']}",
        "AutomationObjectTree",
    )
    web = tree["children"][0]
    assert (web["name"], web["artifactType"]) == ("Web", "TEST_CYCLE")
    assert {c["name"] for c in web["children"]} == {"Login", "Logout"}
    api.ok("GET", f"{p}/test-runs/subhierarchy", "AutomationObjectTree")

    batch = api.ok(
        "POST",
        f"/api/v3.1/projects/{pid}/test-runs/0/auto-test-logs?type=automation",
        "QueueProcessingResponse",
        201,
        json={"test_logs": [log], "execution_date": "2024-05-01T00:00:00Z"},
    )
    done = api.ok("GET", f"/api/v3/projects/queue-processing/{batch['id']}", "QueueProcessingResponse")
    assert json.loads(done["content"])["testSuiteName"] == "Automation Test Suite"
    refused = api.ok(
        "POST",
        f"/api/v3.1/projects/{pid}/test-runs/0/auto-test-logs?type=automation",
        "QueueProcessingResponse",
        201,
        json={"test_suite": "TS-999", "test_logs": [log]},
    )
    failed = api.ok("GET", f"/api/v3/projects/queue-processing/{refused['id']}", "QueueProcessingResponse")
    assert failed["state"] == "FAILED"
    assert "TS-999" in json.loads(failed["content"])["message"]

    api.fails(
        "POST",
        f"/api/v3.1/projects/{pid}/test-runs/5/auto-test-logs?type=automation",
        400,
        json={"test_logs": [log]},
    )
    api.fails(
        "POST",
        f"/api/v3.1/projects/{pid}/test-runs/0/auto-test-logs?type=manual",
        400,
        json={"test_logs": [log]},
    )
    api.fails("POST", f"{p}/auto-test-logs?type=automation", 400, json={"test_logs": []})
    api.fails("POST", f"{p}/test-runs/0/auto-test-logs", 400, json={**log, "status": "Exploded"})
    api.fails("POST", f"{p}/test-runs/0/auto-test-logs", 400, json={**log, "automation_content": ""})
    api.fails("GET", "/api/v3/projects/queue-processing/1", 404)
    api.fails("GET", f"{p}/test-runs/subhierarchy?parentType=test-suite&parentId=1", 400)
