"""Test execution in the qTest simulator: containers, runs, test logs, attachments, paging."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator
from ztoq.simulators.qtest.state import TestRun


class Api:
    def __init__(self, sim: QTestSimulator) -> None:
        self.sim = sim
        self.project_id = next(iter(sim.state.projects))
        self.p = f"/api/v3/projects/{self.project_id}"

    def __call__(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}", **kw.pop("headers", {})}

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.sim.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://qtest.test") as client:
                return await client.request(method, self.p + path, headers=headers, **kw)

        return asyncio.run(go())

    def json(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        response = self(method, path, **kw)
        assert response.status_code == status, response.text
        return response.json()


def _log(steps: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": {"id": 601},
        "exe_start_date": "2024-05-01T10:00:00+02:00",
        "exe_end_date": "2024-05-01T10:05:00+02:00",
    }
    if steps is not None:
        body["test_step_logs"] = steps
    return {**body, **extra}


@pytest.fixture
def pinned() -> tuple[Api, dict[str, Any], list[int], list[int], int]:
    """A run pinned to version 1.0 of a test case whose latest version is 1.1 (other step IDs)."""
    api = Api(QTestSimulator())
    case = api.json(
        "POST", "/test-cases", json={"name": "T", "test_steps": [{"description": "a"}, {"description": "b"}]}
    )
    api.json("PUT", f"/test-cases/{case['id']}/approve")
    run = api.json("POST", "/test-runs", 201, json={"test_case": {"id": case["id"]}})
    assert run["test_case_version"] == "1.0"
    old = [
        s["id"]
        for s in api.json(
            "GET", f"/test-cases/{case['id']}/versions/{run['test_case_version_id']}/test-steps"
        )
    ]
    latest = api.json("PUT", f"/test-cases/{case['id']}", json={"name": "T2"})
    new = [s["id"] for s in latest["test_steps"]]
    return api, run, old, new, latest["test_case_version_id"]


def test_step_logs_must_be_steps_of_the_logged_version(
    pinned: tuple[Api, dict[str, Any], list[int], list[int], int],
) -> None:
    api, run, old, new, latest_version = pinned
    url = f"/test-runs/{run['id']}/test-logs"
    unknown = api(
        "POST",
        url,
        json=_log(
            [{"test_step_id": new[0], "status": {"id": 601}}],
            test_case_version_id=run["test_case_version_id"],
        ),
    )
    assert unknown.status_code == 400
    assert "is not a step of the test case version" in unknown.json()["message"]
    ok = api.json("POST", url, 201, json=_log([{"test_step_id": s, "status": {"id": 602}} for s in old]))
    assert ok["test_case_version_id"] == run["test_case_version_id"]  # omitted: the latest approved version
    assert [s["order"] for s in ok["test_step_logs"]] == [1, 2]
    assert ok["exe_end_date"] == "2024-05-01T08:05:00+00:00"
    on_latest = api.json(
        "POST",
        url,
        201,
        json=_log([{"test_step_id": new[1], "status": {"id": 601}}], test_case_version_id=latest_version),
    )
    assert on_latest["result_number"] == 2
    assert api("POST", url, json=_log(test_case_version_id=123)).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"exe_start_date": "2024-05-01T10:00:00Z", "exe_end_date": "2024-05-01T10:05:00Z"},
        _log(status={"id": 699}),
        _log(status=601),
        {"status": {"id": 601}, "exe_end_date": "2024-05-01T10:05:00Z"},
        _log(exe_start_date="yesterday"),
        _log(exe_end_date="2024-05-01T07:00:00Z"),
        _log(test_step_logs="nope"),
        _log([{"test_step_id": "x", "status": {"id": 601}}]),
        _log(attachments=[{"name": "a.txt", "content_type": "text/plain", "data": "%%%"}]),
        _log(planned_exe_time=-1),
    ],
)
def test_invalid_test_logs_are_400(
    pinned: tuple[Api, dict[str, Any], list[int], list[int], int], body: Any
) -> None:
    api, run, *_ = pinned
    response = api("POST", f"/test-runs/{run['id']}/test-logs", json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"message"}
    assert api.json("GET", f"/test-runs/{run['id']}/test-logs")["total"] == 0


def test_step_logs_of_a_called_test_case() -> None:
    api = Api(QTestSimulator())
    callee = api.json("POST", "/test-cases", json={"name": "Login", "test_steps": [{"description": "type"}]})
    caller = api.json(
        "POST", "/test-cases", json={"name": "Buy", "test_steps": [{"called_test_case_id": callee["id"]}]}
    )
    run = api.json("POST", "/test-runs", 201, json={"test_case": {"id": caller["id"]}})
    parent_step = caller["test_steps"][0]["id"]
    callee_step = callee["test_steps"][0]["id"]
    step = {"test_step_id": callee_step, "status": {"id": 601}, "called_test_case_id": callee["id"]}
    url = f"/test-runs/{run['id']}/test-logs"
    assert api("POST", url, json=_log([step])).status_code == 400
    log = api.json("POST", url, 201, json=_log([{**step, "parent_test_step_id": parent_step}]))
    assert log["test_step_logs"][0]["parent_test_step_id"] == parent_step


def test_runs_logs_last_run_and_delete() -> None:
    api = Api(QTestSimulator())
    case = api.json("POST", "/test-cases", json={"name": "T"})
    run = api.json(
        "POST", "/test-runs?parentId=0&parentType=root", 201, json={"test_case": {"id": case["id"]}}
    )
    assert run["name"] == "T"
    assert "latest_test_log" not in run
    status = {p["field_name"]: p for p in run["properties"]}["Status"]
    assert status["field_value_name"] == "Unexecuted"
    assert api("GET", f"/test-runs/{run['id']}/test-logs/last-run").status_code == 404
    first = api.json("POST", f"/test-runs/{run['id']}/test-logs", 201, json=_log(status={"id": 604}))
    second = api.json(
        "POST", f"/test-runs/{run['id']}/test-logs", 201, json=_log(status={"id": 603}, note="n")
    )
    last = api.json("GET", f"/test-runs/{run['id']}/test-logs/last-run")
    assert (last["id"], last["note"], last["status"]["name"]) == (second["id"], "n", "Incomplete")
    fresh = api.json("GET", f"/test-runs/{run['id']}")
    assert fresh["latest_test_log"]["status"] == "Incomplete"
    assert {p["field_name"]: p for p in fresh["properties"]}["Status"]["field_value"] == "603"
    assert api("GET", f"/test-runs/{run['id']}/test-logs/{first['id']}").status_code == 200
    assert api("DELETE", f"/test-runs/{run['id']}/test-logs/{first['id']}").status_code == 405
    assert api.json("DELETE", f"/test-runs/{run['id']}")["message"]
    assert not api.sim.state.test_logs


def test_containers_parents_and_forced_delete() -> None:
    api = Api(QTestSimulator())
    case = api.json("POST", "/test-cases", json={"name": "T"})
    release = api.json("POST", "/releases", 201, json={"name": "R"})
    for bad in (
        "?parentId=5&parentType=module",
        f"?parentId={release['id']}",
        "?parentId=424242&parentType=release",
    ):
        assert api("POST", f"/test-cycles{bad}", json={"name": "C"}).status_code == 400
    cycle = api.json(
        "POST", f"/test-cycles?parentId={release['id']}&parentType=release", 201, json={"name": "C"}
    )
    assert cycle["target_release_id"] == release["id"]
    suite = api.json("POST", f"/test-suites?parentId={cycle['id']}&parentType=test-cycle", json={"name": "S"})
    api.json(
        "POST",
        f"/test-runs?parentId={suite['id']}&parentType=test-suite",
        201,
        json={"test_case": {"id": case["id"]}},
    )
    listed = api.json("GET", f"/test-cycles?parentId={release['id']}&parentType=release")
    assert listed[0]["test-cycles"] == []
    assert "test-suites" not in listed[0]
    refused = api("DELETE", f"/test-cycles/{cycle['id']}")
    assert refused.status_code == 400
    assert api.json("DELETE", f"/test-cycles/{cycle['id']}?force=true")["message"]
    assert not api.sim.state.test_suites
    assert not api.sim.state.test_runs
    moved = api.json("POST", "/test-suites", json={"name": "S2"})
    assert (moved["parentType"], moved["parentId"]) == ("root", 0)
    relocated = api.json(
        "PUT", f"/test-suites/{moved['id']}?parentId={release['id']}&parentType=release", json={}
    )
    assert (relocated["parentType"], relocated["parentId"]) == ("release", release["id"])


def test_releases_include_closed() -> None:
    api = Api(QTestSimulator())
    status = {f["label"]: f for f in api.json("GET", "/settings/releases/fields")}["Status"]
    closed = next(v["value"] for v in status["allowed_values"] if v["label"] == "Closed")
    api.json("POST", "/releases", 201, json={"name": "Open"})
    api.json(
        "POST",
        "/releases",
        201,
        json={"name": "Old", "properties": [{"field_id": status["id"], "field_value": str(closed)}]},
    )
    assert [r["name"] for r in api.json("GET", "/releases")] == ["Open"]
    assert [r["name"] for r in api.json("GET", "/releases?includeClosed=true")] == ["Open", "Old"]


def test_attachments_limits_and_errors() -> None:
    api = Api(QTestSimulator())
    case = api.json("POST", "/test-cases", json={"name": "T", "test_steps": [{"description": "s"}]})
    url = f"/test-cases/{case['id']}/blob-handles"
    headers = {"File-Name": "a.bin", "Content-Type": "application/octet-stream"}
    api.sim.state.attachment_limit = 1000
    assert api("POST", url, content=b"x" * 1000, headers=headers).status_code == 201
    too_big = api("POST", url, content=b"x" * 1001, headers=headers)
    assert too_big.status_code == 413
    assert set(too_big.json()) == {"message"}
    assert api("POST", url, content=b"x", headers={"Content-Type": "text/plain"}).status_code == 400
    assert api("POST", "/test-cases/424242/blob-handles", content=b"x", headers=headers).status_code == 404
    assert api("POST", "/test-cycles/1/blob-handles", content=b"x", headers=headers).status_code == 400
    step = case["test_steps"][0]["id"]
    assert api("POST", f"/test-steps/{step}/blob-handles", content=b"x", headers=headers).status_code == 201
    run = api.json("POST", "/test-runs", 201, json={"test_case": {"id": case["id"]}})
    big = base64.b64encode(b"y" * 1001).decode()
    attached = _log(attachments=[{"name": "big.txt", "content_type": "text/plain", "data": big}])
    assert api("POST", f"/test-runs/{run['id']}/test-logs", json=attached).status_code == 413
    listed = api.json("GET", f"/test-cases/{case['id']}/attachments")
    assert api("DELETE", f"/test-cases/{case['id']}/blob-handles/{listed[0]['id']}").status_code == 200
    assert api.json("GET", f"/test-cases/{case['id']}/attachments") == []


@settings(max_examples=30, deadline=None)
@given(count=st.integers(min_value=0, max_value=40), size=st.integers(min_value=1, max_value=30))
def test_test_run_envelope_pages_hold_every_run_once(count: int, size: int) -> None:
    sim = QTestSimulator()
    api = Api(sim)
    case = api.json("POST", "/test-cases", json={"name": "T"})
    state = sim.state
    for i in range(count):
        run_id = state.next_id("test-runs")
        state.test_runs[run_id] = TestRun(
            id=run_id,
            project_id=api.project_id,
            pid=state.next_pid(api.project_id, "test-runs"),
            name=f"R{i}",
            parent_type="root",
            parent_id=0,
            order=i + 1,
            test_case_id=case["id"],
            version_id=case["test_case_version_id"],
            properties={},
            creator_id=state.admin_id,
            created=state.now(),
            modified=state.now(),
        )
    seen: list[int] = []
    page = 1
    while True:
        body = api.json("GET", f"/test-runs?parentId=0&parentType=root&page={page}&pageSize={size}")
        assert (body["page"], body["page_size"], body["total"]) == (page, size, count)
        assert body["links"] == []
        if not body["items"]:
            break
        assert len(body["items"]) <= size
        seen += [r["id"] for r in body["items"]]
        page += 1
    assert sorted(seen) == sorted(state.test_runs)
    assert len(seen) == len(set(seen))
