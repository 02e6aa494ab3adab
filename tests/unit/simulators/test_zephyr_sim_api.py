"""Read behaviour of the Zephyr simulator through its ASGI app: auth, errors, filters, links, faults."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ztoq.errors import InputError
from ztoq.simulators.faults import DroppedConnection, FaultOptions
from ztoq.simulators.zephyr import DEFAULT_ZEPHYR_TOKEN, ZephyrSimulator, generate_dataset

TOKEN = DEFAULT_ZEPHYR_TOKEN


def call(
    sim: ZephyrSimulator,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    json: Any = None,
    token: str | None = TOKEN,
    host: str = "zephyr.test",
) -> httpx.Response:
    """One request through the in-process app (no socket)."""

    async def go() -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}/v2") as client:
            return await client.request(method, path, params=params, json=json, headers=headers)

    return asyncio.run(go())


def ok(sim: ZephyrSimulator, path: str, **params: Any) -> Any:
    response = call(sim, "GET", path, params=params or None)
    assert response.status_code == 200, response.text
    return response.json()


def every(sim: ZephyrSimulator, path: str, **params: Any) -> list[Any]:
    return list(ok(sim, path, maxResults=100, **params)["values"])


@pytest.fixture(scope="module")
def sim() -> ZephyrSimulator:
    return ZephyrSimulator(generate_dataset(40, seed=3))


def test_requests_without_the_right_bearer_token_get_401(sim: ZephyrSimulator) -> None:
    for token in (None, "nope", ""):
        response = call(sim, "GET", "/testcases", token=token)
        assert response.status_code == 401
        assert set(response.json()) == {"error"}  # the current schemas' 401 body
        assert response.json()["error"]
    assert call(sim, "GET", "/healthcheck", token=None).status_code == 401
    assert call(sim, "GET", "/no/such/thing", token=None).status_code == 401
    assert call(sim, "GET", "/healthcheck").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/v3/testcases",
        "/testcases/DEMO-T404",
        "/testcases/not-a-key",
        "/testcases/DEMO-T404/teststeps",
        "/testcases/DEMO-T1/versions/9",
        "/testcycles/DEMO-R404",
        "/testcycles/404404",
        "/testplans/DEMO-P404",
        "/testexecutions/DEMO-E404404",
        "/testexecutions/404404/links",
        "/folders/404404",
        "/priorities/404404",
        "/environments/404404",
        "/projects/ZZZ",
    ],
)
def test_unknown_paths_and_keys_get_404_with_the_error_body(sim: ZephyrSimulator, path: str) -> None:
    response = call(sim, "GET", path)
    assert response.status_code == 404
    assert response.json()["errorCode"] == 404
    assert response.json()["message"]


def test_a_new_simulator_without_data_has_no_projects() -> None:
    empty = ZephyrSimulator(None)
    assert ok(empty, "/projects") == {
        "startAt": 0,
        "maxResults": 10,
        "total": 0,
        "isLast": True,
        "values": [],
    }
    assert call(empty, "GET", "/testcases", params={"projectKey": "DEMO"}).status_code == 400
    assert ok(empty, "/testcases/nextgen") == {"next": None, "nextStartAtId": None, "limit": 10, "values": []}


def test_malformed_datasets_are_refused() -> None:
    for bad in (
        {"testcases": {}},
        {"testcases": [{"key": "A-T1"}]},
        {"links": []},
        {"executionsteps": {"x": []}},
    ):
        with pytest.raises(InputError):
            ZephyrSimulator(bad)


def test_links_into_the_api_use_the_host_of_the_request(sim: ZephyrSimulator) -> None:
    key = next(c["key"] for c in every(sim, "/testcases") if "owner" in c)
    first = call(sim, "GET", f"/testcases/{key}", host="first.test:8080").json()
    second = call(sim, "GET", f"/testcases/{key}", host="second.test").json()
    assert first["project"]["self"] == "http://first.test:8080/v2/projects/10001"
    assert second["project"]["self"] == "http://second.test/v2/projects/10001"
    assert first["owner"] == second["owner"]  # a Jira link, as stored


def test_dataset_objects_are_served_as_given() -> None:
    data = {
        "projects": [{"id": 7, "jiraProjectId": 70, "key": "MIN", "enabled": True}],
        "testcases": [
            {
                "id": 3,
                "key": "MIN-T1",
                "name": "Bare",
                "project": {"id": 7, "self": "https://elsewhere.example/v2/projects/7"},
                "priority": {"id": 1},
                "status": {"id": 2},
                "_note": "simulator metadata is never served",
                "links": {
                    "issues": [
                        {"id": 5, "issueId": 99, "target": "https://x.atlassian.net/rest/api/2/issue/99"}
                    ]
                },
            }
        ],
    }
    sim = ZephyrSimulator(data)
    case = ok(sim, "/testcases/MIN-T1")
    assert set(case) == {"id", "key", "name", "project", "priority", "status", "links"}
    assert case["project"] == {"id": 7, "self": "http://zephyr.test/v2/projects/7"}
    assert case["links"]["issues"] == [
        {
            "id": 5,
            "issueId": 99,
            "target": "https://x.atlassian.net/rest/api/2/issue/99",
            "self": "http://zephyr.test/v2/links/5",
        }
    ]
    assert data["testcases"][0]["links"]["issues"][0] == {  # the given dataset is left alone
        "id": 5,
        "issueId": 99,
        "target": "https://x.atlassian.net/rest/api/2/issue/99",
    }


def test_test_script_links_and_endpoints_follow_the_script_kind(sim: ZephyrSimulator) -> None:
    steps = ok(sim, "/testcases/DEMO-T1")["testScript"]["self"]
    plain = ok(sim, "/testcases/DEMO-T3")["testScript"]["self"]
    assert steps.endswith("/testcases/DEMO-T1/teststeps")
    assert plain.endswith("/testcases/DEMO-T3/testscript")
    assert ok(sim, "/testcases/DEMO-T3/testscript")["type"] == "plain"
    assert ok(sim, "/testcases/DEMO-T4/testscript")["type"] == "bdd"
    assert ok(sim, "/testcases/DEMO-T3/teststeps")["total"] == 0
    assert call(sim, "GET", "/testcases/DEMO-T1/testscript").status_code == 404


def test_call_to_test_steps_carry_the_called_key_and_parameters(sim: ZephyrSimulator) -> None:
    values = every(sim, "/testcases/DEMO-T2/teststeps")
    calls = [v["testCase"] for v in values if "testCase" in v]
    assert calls[0]["testCaseKey"] == "DEMO-T1"
    assert calls[0]["self"] == "http://zephyr.test/v2/testcases/DEMO-T1"
    assert calls[0]["parameters"]
    assert all(set(v) == {"id", "inline"} or set(v) == {"id", "testCase"} for v in values)


def test_versions_are_listed_most_recent_first(sim: ZephyrSimulator) -> None:
    versions = ok(sim, "/testcases/DEMO-T8/versions")["values"]
    assert [v["self"].rsplit("/", 1)[1] for v in versions] == ["3", "2", "1"]
    current = ok(sim, "/testcases/DEMO-T8")
    assert versions[0]["id"] == current["id"]
    oldest = ok(sim, "/testcases/DEMO-T8/versions/1")
    assert oldest["id"] == versions[-1]["id"]
    assert oldest["name"] != current["name"]


def test_executions_point_at_the_version_they_ran(sim: ZephyrSimulator) -> None:
    executions = every(sim, "/testexecutions", testCase="DEMO-T8")
    assert executions
    for execution in executions:
        link = execution["testCase"]
        version = ok(sim, link["self"].replace("http://zephyr.test/v2", ""))
        assert version["id"] == link["id"]
        assert version["key"] == "DEMO-T8"


def test_folder_and_status_filters(sim: ZephyrSimulator) -> None:
    for folder_type in ("TEST_CASE", "TEST_CYCLE", "TEST_PLAN"):
        folders = every(sim, "/folders", projectKey="DEMO", folderType=folder_type)
        assert folders
        assert {f["folderType"] for f in folders} == {folder_type}
    roots = [f for f in every(sim, "/folders") if f["parentId"] is None]
    assert roots
    execution_statuses = [s["name"] for s in every(sim, "/statuses", statusType="TEST_EXECUTION")]
    assert "Retest Needed" in execution_statuses
    assert "Draft" not in execution_statuses
    assert all("_statusType" not in s for s in every(sim, "/statuses"))


def test_test_case_and_cycle_filters(sim: ZephyrSimulator) -> None:
    case = next(c for c in every(sim, "/testcases") if "folder" in c)
    in_folder = every(sim, "/testcases", folderId=case["folder"]["id"])
    assert case["key"] in [c["key"] for c in in_folder]
    assert {c["folder"]["id"] for c in in_folder} == {case["folder"]["id"]}
    cycles = every(sim, "/testcycles")
    versioned = [c for c in cycles if "jiraProjectVersion" in c]
    version_id = versioned[0]["jiraProjectVersion"]["id"]
    matching = every(sim, "/testcycles", jiraProjectVersionId=version_id)
    assert {c["jiraProjectVersion"]["id"] for c in matching} == {version_id}
    assert call(sim, "GET", "/testcycles", params={"folderId": "0"}).status_code == 400


def test_execution_filters(sim: ZephyrSimulator) -> None:
    everything = every(sim, "/testexecutions", projectKey="DEMO")
    cycle = every(sim, "/testcycles")[0]
    by_key = every(sim, "/testexecutions", testCycle=cycle["key"])
    assert by_key == every(sim, "/testexecutions", testCycle=str(cycle["id"]))
    assert {e["testCycle"]["id"] for e in by_key} == {cycle["id"]}
    by_case = every(sim, "/testexecutions", testCase="DEMO-T1")
    assert by_case
    assert all("/testcases/DEMO-T1/" in e["testCase"]["self"] for e in by_case)
    assert every(sim, "/testexecutions", testCase=str(by_case[0]["testCase"]["id"])) == by_case
    assert every(sim, "/testexecutions", testCycle="DEMO-R999") == []
    ended = sorted({e["actualEndDate"] for e in everything if "actualEndDate" in e})
    after = every(sim, "/testexecutions", actualEndDateAfter=ended[0])
    assert all(e["actualEndDate"] > ended[0] for e in after)  # strictly after
    assert len(after) == sum(1 for e in everything if e.get("actualEndDate", "") > ended[0])
    window = every(sim, "/testexecutions", actualEndDateAfter=ended[0], actualEndDateBefore=ended[-1])
    assert all(ended[0] < e["actualEndDate"] < ended[-1] for e in window)
    version = next(e["jiraProjectVersion"]["id"] for e in everything if "jiraProjectVersion" in e)
    assert {
        e["jiraProjectVersion"]["id"] for e in every(sim, "/testexecutions", jiraProjectVersionId=version)
    } == {version}


def test_only_last_executions_keeps_the_newest_of_each_cycle_item_and_all_ad_hoc(
    sim: ZephyrSimulator,
) -> None:
    everything = every(sim, "/testexecutions")
    last = every(sim, "/testexecutions", onlyLastExecutions="true")
    newest: dict[tuple[int, str], int] = {}
    for e in everything:
        if "testCycle" in e:
            item = (e["testCycle"]["id"], e["testCase"]["self"].split("/testcases/")[1].split("/")[0])
            newest[item] = max(newest.get(item, 0), e["id"])
    expected = sorted({*newest.values(), *(e["id"] for e in everything if "testCycle" not in e)})
    assert [e["id"] for e in last] == expected
    assert len(last) < len(everything)
    assert [
        e["id"] for e in ok(sim, "/testexecutions/nextgen", onlyLastExecutions="true", limit=1000)["values"]
    ] == expected


def test_execution_steps_filter_by_test_data_row() -> None:
    data = generate_dataset(10, seed=1)
    execution_id = str(data["testexecutions"][0]["id"])
    data["executionsteps"][execution_id] = [
        {"inline": {"description": "a", "testDataRowNumber": 0}},
        {"inline": {"description": "b", "testDataRowNumber": 1}},
    ]
    sim = ZephyrSimulator(data)
    rows = ok(sim, f"/testexecutions/{execution_id}/teststeps", testDataRowNumber=1)["values"]
    assert [{k: v for k, v in row.items() if k != "id"} for row in rows] == [
        {"inline": {"description": "b", "testDataRowNumber": 1}}
    ]
    assert ok(sim, f"/testexecutions/{execution_id}/teststeps")["total"] == 2


def test_rate_limit_answers_429_with_retry_after_in_whole_seconds() -> None:
    sim = ZephyrSimulator(generate_dataset(3), faults=FaultOptions(rate_limit=2))
    statuses = [call(sim, "GET", "/projects") for _ in range(4)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited
    assert limited[0].json()["errorCode"] == 429
    assert limited[0].headers["retry-after"].isdigit()
    assert int(limited[0].headers["retry-after"]) >= 1
    assert sim.stats.rate_limited == len(limited)


def test_fail_rate_one_fails_every_request_with_5xx_or_a_drop() -> None:
    sim = ZephyrSimulator(generate_dataset(3), faults=FaultOptions(fail_rate=1.0, seed=3))
    outcomes = set()
    for _ in range(20):
        try:
            response = call(sim, "GET", "/testcases")
        except DroppedConnection:
            outcomes.add(0)
            continue
        assert response.json()["errorCode"] == response.status_code
        outcomes.add(response.status_code)
    assert outcomes <= {0, 500, 502, 503}
    assert len(outcomes) >= 2
    assert sim.stats.injected_failures == 20


def test_stats_count_requests_by_endpoint_template_and_status() -> None:
    sim = ZephyrSimulator(generate_dataset(5))
    for key in ("DEMO-T1", "DEMO-T2", "DEMO-T99"):
        call(sim, "GET", f"/testcases/{key}")
    call(sim, "GET", "/testcases/DEMO-T1/versions/1")
    stats = call(sim, "GET", "http://zephyr.test/_sim/stats").json()  # outside /v2
    assert stats["endpoints"]["GET /v2/testcases/{testCaseKey}"] == {"200": 2, "404": 1}
    assert stats["endpoints"]["GET /v2/testcases/{testCaseKey}/versions/{version}"] == {"200": 1}
    assert stats["total"] == 4
