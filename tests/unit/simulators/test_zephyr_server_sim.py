"""The Zephyr Scale Server simulator through its ASGI app: reads, paging, TQL, auth, faults, attachments."""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
from typing import Any

import httpx
import pytest

from ztoq.errors import InputError
from ztoq.simulators.faults import DroppedConnection, FaultOptions
from ztoq.simulators.zephyr.attachment_content import generated_content_sha256
from ztoq.simulators.zephyr_server import (
    DEFAULT_SERVER_PASSWORD,
    DEFAULT_SERVER_TOKEN,
    DEFAULT_SERVER_USER,
    ZephyrServerSimulator,
)

API = "/rest/atm/1.0"
BEARER = {"Authorization": f"Bearer {DEFAULT_SERVER_TOKEN}"}
PNG = b"\x89PNG\r\n\x1a\n fake"
BIG = {"size": 300_000, "seed": 7}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def call(
    sim: ZephyrServerSimulator,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = BEARER,
    method: str = "GET",
    json: Any = None,
) -> httpx.Response:
    """One request through the in-process app (no socket); ``path`` is below the site root."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://jira.test") as client:
            return await client.request(method, path, params=params, headers=headers, json=json)

    return asyncio.run(go())


def ok(sim: ZephyrServerSimulator, path: str, **params: Any) -> Any:
    response = call(sim, API + path, params or None)
    assert response.status_code == 200, response.text
    return response.json()


def refused(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) <= {"errorMessages", "errors"}
    assert len(body["errorMessages"]) == 1
    return str(body["errorMessages"][0])


def dataset() -> dict[str, Any]:
    steps = [
        {"id": 901, "index": 0, "description": "Open", "testData": "", "expectedResult": "Shown"},
        {"id": 902, "index": 1, "testCaseKey": "DC-T2"},
    ]
    return {
        "projects": [{"id": "10000", "key": "DC", "name": "Data Center demo"}, {"id": "10001", "key": "QA"}],
        "users": [{"key": "JIRAUSER10100", "name": "ada", "displayName": "Ada", "emailAddress": "ada@x.org"}],
        "environments": [
            {"id": 2, "projectKey": "DC", "name": "Firefox", "description": "", "index": 1},
            {"id": 1, "projectKey": "DC", "name": "Chrome", "description": "", "index": 0},
            {"id": 3, "projectKey": "QA", "name": "Edge", "index": 0},
        ],
        "testCases": [
            {
                "key": "DC-T1",
                "projectKey": "DC",
                "name": "Engine ignites",
                "status": "Draft",
                "folder": "/Orbiter",
                "labels": ["Smoke"],
                "issueLinks": ["DC-101"],
                "testScript": {"id": 301, "type": "STEP_BY_STEP", "steps": steps},
            },
            {"key": "DC-T2", "projectKey": "DC", "name": "Hatch opens", "status": "Approved"},
            {"key": "DC-T3", "projectKey": "DC", "name": "Bay", "status": "Draft", "folder": "/Orbiter/Bay"},
            {"key": "QA-T1", "projectKey": "QA", "name": "QA", "status": "Draft", "issueLinks": ["DC-101"]},
        ],
        "testPlans": [{"key": "DC-P1", "projectKey": "DC", "name": "Plan", "testRuns": [{"key": "DC-C1"}]}],
        "testRuns": [
            {
                "key": "DC-C1",
                "projectKey": "DC",
                "name": "Regression",
                "folder": "/Regression",
                "items": [{"id": 7001, "index": 0, "testCaseKey": "DC-T1", "status": "Fail"}],
            },
            {"key": "QA-C1", "projectKey": "QA", "name": "Smoke", "items": []},
        ],
        "testResults": [
            {"id": 503, "testRunKey": "DC-C1", "testCaseKey": "DC-T1", "status": "Fail", "scriptResults": []},
            {
                "id": 501,
                "testRunKey": "DC-C1",
                "testCaseKey": "DC-T1",
                "status": "Pass",
                "scriptResults": [{"index": 0, "status": "Pass"}, {"index": 1, "status": "Pass"}],
            },
            {"id": 502, "testRunKey": "DC-C1", "testCaseKey": "DC-T9", "status": "Not Executed"},
        ],
        "attachments": [
            _attachment(88, "testcase", "DC-T1", None, "big.bin", None),
            _attachment(89, "testcaseStep", "DC-T1", 1, "step.png", PNG),
            _attachment(90, "testplan", "DC-P1", None, "plan.png", PNG),
            _attachment(91, "testrun", "DC-C1", None, "run.png", PNG),
            _attachment(92, "testresult", "501", None, "result.png", PNG),
            _attachment(93, "testresultStep", "501", 1, "résumé 1.png", PNG),
        ],
    }


def _attachment(ident: int, owner: str, key: str, step: int | None, name: str, content: bytes | None) -> Any:
    return {
        "id": ident,
        "ownerType": owner,
        "ownerKey": key,
        "stepIndex": step,
        "fileName": name,
        "contentType": "image/png" if content else "application/octet-stream",
        "fileSize": len(content) if content else BIG["size"],
        "content": base64.b64encode(content).decode() if content else None,
        "seed": BIG["seed"],
    }


@pytest.fixture(scope="module")
def sim() -> ZephyrServerSimulator:
    return ZephyrServerSimulator(dataset())


@pytest.fixture(scope="module")
def many() -> ZephyrServerSimulator:
    cases = [{"key": f"DC-T{n}", "projectKey": "DC", "name": f"Case {n}"} for n in range(1, 1251)]
    return ZephyrServerSimulator({"projects": [{"id": "10000", "key": "DC"}], "testCases": cases})


# -- reads, fields, 404s ------------------------------------------------------------------------------


def test_gets_serve_the_wire_objects_and_fields_selects_top_level_fields(sim: ZephyrServerSimulator) -> None:
    assert ok(sim, "/testcase/DC-T1") == dataset()["testCases"][0]
    assert ok(sim, "/testcase/DC-T1", fields="key,name, status,nope") == {
        "key": "DC-T1",
        "name": "Engine ignites",
        "status": "Draft",
    }
    assert ok(sim, "/testplan/DC-P1")["testRuns"] == [{"key": "DC-C1"}]
    assert ok(sim, "/testrun/DC-C1")["items"][0]["id"] == 7001
    assert "items" not in ok(sim, "/testrun/DC-C1", fields="key,name")
    assert ok(sim, "/testrun/search", query='projectKey = "DC"')[0]["items"][0]["testCaseKey"] == "DC-T1"
    assert ok(sim, "/testcase/search", query='key = "DC-T2"', fields="key") == [{"key": "DC-T2"}]


def test_results_environments_issue_links_and_latest_result(sim: ZephyrServerSimulator) -> None:
    assert [r["id"] for r in ok(sim, "/testrun/DC-C1/testresults")] == [501, 502, 503]
    assert ok(sim, "/testrun/QA-C1/testresults") == []
    assert ok(sim, "/testcase/DC-T1/testresult/latest")["id"] == 503
    assert ok(sim, "/environments", projectKey="DC") == [
        {"id": 1, "name": "Chrome", "description": "", "index": 0},
        {"id": 2, "name": "Firefox", "description": "", "index": 1},
    ]
    assert [c["key"] for c in ok(sim, "/issuelink/DC-101/testcases")] == ["DC-T1", "QA-T1"]
    assert ok(sim, "/issuelink/DC-102/testcases", fields="key") == []


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/testcase/DC-T999", "Test Case DC-T999 not found"),
        ("/testplan/DC-P9", "Test Plan DC-P9 not found"),
        ("/testrun/DC-C9", "Test Run DC-C9 not found"),
        ("/testrun/DC-C9/testresults", "Test Run DC-C9 not found"),
        ("/testcase/DC-T2/testresult/latest", "Test Case DC-T2 has no test results"),
        ("/testresult/999/attachments", "Test Result 999 not found"),
        ("/testcase/DC-T1/step/5/attachments", "Test Case DC-T1 has no step with index 5"),
        ("/testcase/DC-T2/step/0/attachments", "Test Case DC-T2 has no step with index 0"),
        ("/issuelink/NOPE-1/testcases", "Issue NOPE-1 not found"),
        ("/no/such/path", "does not exist"),
    ],
)
def test_unknown_entities_answer_404_with_error_messages(
    sim: ZephyrServerSimulator, path: str, message: str
) -> None:
    assert message in refused(call(sim, API + path), 404)


def test_environments_need_a_known_project(sim: ZephyrServerSimulator) -> None:
    assert "projectKey" in refused(call(sim, API + "/environments"), 400)
    assert "NOPE" in refused(call(sim, API + "/environments", {"projectKey": "NOPE"}), 400)


def test_jira_project_and_user(sim: ZephyrServerSimulator) -> None:
    for ident in ("DC", "10000"):
        project = call(sim, f"/rest/api/2/project/{ident}").json()
        assert project == {
            "self": "http://jira.test/rest/api/2/project/10000",
            "id": "10000",
            "key": "DC",
            "name": "Data Center demo",
        }
    response = call(sim, "/rest/api/2/project/NOPE")
    assert response.json() == {"errorMessages": ["No project could be found with key 'NOPE'."], "errors": {}}
    assert response.status_code == 404
    user = call(sim, "/rest/api/2/user", {"username": "ada"}).json()
    assert user["key"] == "JIRAUSER10100"
    assert user["emailAddress"] == "ada@x.org"
    assert call(sim, "/rest/api/2/user", {"key": "JIRAUSER1"}).status_code == 404


# -- paging and TQL -------------------------------------------------------------------------------------


def test_paging_defaults_to_200_and_caps_max_results(many: ZephyrServerSimulator) -> None:
    first = ok(many, "/testcase/search", query='projectKey = "DC"', fields="key")
    assert len(first) == 200
    assert first[0] == {"key": "DC-T1"}
    page = ok(many, "/testcase/search", startAt=1200, maxResults=100, fields="key")
    assert [c["key"] for c in page] == [f"DC-T{n}" for n in range(1201, 1251)]
    assert len(ok(many, "/testcase/search", maxResults=5000, fields="key")) == 1000  # the cap
    assert ok(many, "/testcase/search", maxResults=0) == []


@pytest.mark.parametrize("params", [{"startAt": "-1"}, {"maxResults": "-5"}, {"maxResults": "ten"}])
def test_bad_paging_parameters_answer_400(many: ZephyrServerSimulator, params: dict[str, str]) -> None:
    assert "must be" in refused(call(many, API + "/testcase/search", params), 400)


def test_a_lower_cap_is_applied_silently() -> None:
    cases = [{"key": f"DC-T{n}", "projectKey": "DC", "name": "x"} for n in range(1, 31)]
    sim = ZephyrServerSimulator(
        {"projects": [{"id": "1", "key": "DC"}], "testCases": cases}, max_results_cap=10
    )
    assert len(ok(sim, "/testcase/search", maxResults=25)) == 10


@pytest.mark.parametrize(
    ("kind", "query", "keys"),
    [
        ("testcase", 'projectKey = "DC"', ["DC-T1", "DC-T2", "DC-T3"]),
        ("testcase", 'projectKey IN ("DC", "QA")', ["DC-T1", "DC-T2", "DC-T3", "QA-T1"]),
        ("testcase", 'key IN ("DC-T3", "QA-T1")', ["DC-T3", "QA-T1"]),
        ("testcase", 'key = "DC-T2"', ["DC-T2"]),
        ("testcase", 'projectKey = "DC" AND folder = "/"', ["DC-T2"]),
        ("testcase", 'folder = "/Orbiter"', ["DC-T1"]),
        ("testcase", 'folder IN ("/Orbiter", "/Orbiter/Bay")', ["DC-T1", "DC-T3"]),
        ("testcase", 'projectKey = "DC" AND status = "Draft"', ["DC-T1", "DC-T3"]),
        ("testcase", 'name = "Hatch opens"', ["DC-T2"]),
        ("testcase", 'projectKey = "NOPE"', []),
        ("testplan", 'projectKey = "DC"', ["DC-P1"]),
        ("testrun", 'projectKey IN ("DC", "QA")', ["DC-C1", "QA-C1"]),
        ("testrun", 'projectKey = "DC" AND folder = "/Regression"', ["DC-C1"]),
    ],
)
def test_each_tql_form_filters_the_search(
    sim: ZephyrServerSimulator, kind: str, query: str, keys: list[str]
) -> None:
    assert [e["key"] for e in ok(sim, f"/{kind}/search", query=query)] == keys


@pytest.mark.parametrize(
    ("kind", "query"),
    [
        ("testcase", 'projectKey = "DC" OR projectKey = "QA"'),
        ("testcase", "projectKey = DC"),
        ("testcase", 'projectKey="DC"'),
        ("testrun", 'status = "Done"'),
        ("testplan", 'priority = "High"'),
    ],
)
def test_queries_the_server_would_not_understand_answer_400(
    sim: ZephyrServerSimulator, kind: str, query: str
) -> None:
    assert "The query is not valid" in refused(call(sim, f"{API}/{kind}/search", {"query": query}), 400)


# -- auth and faults --------------------------------------------------------------------------------------


def test_basic_and_bearer_credentials_are_accepted(sim: ZephyrServerSimulator) -> None:
    path = API + "/testcase/DC-T2"
    assert call(sim, path, headers=basic(DEFAULT_SERVER_USER, DEFAULT_SERVER_PASSWORD)).status_code == 200
    assert call(sim, path, headers=BEARER).status_code == 200
    custom = ZephyrServerSimulator(None, token="pat", username="ada", password="s3cret:x")
    assert call(custom, "/rest/api/2/project/DC", headers=basic("ada", "s3cret:x")).status_code == 404
    assert call(custom, "/rest/api/2/project/DC", headers={"Authorization": "Bearer pat"}).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {"Authorization": "Bearer wrong"},
        basic(DEFAULT_SERVER_USER, "wrong"),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": f"Token {DEFAULT_SERVER_TOKEN}"},
    ],
)
def test_missing_or_wrong_credentials_answer_401(
    sim: ZephyrServerSimulator, headers: dict[str, str] | None
) -> None:
    for path in (API + "/testcase/DC-T1", "/rest/tests/1.0/attachment/89", "/rest/api/2/project/DC"):
        response = call(sim, path, headers=headers)
        assert refused(response, 401) == (
            "You are not authenticated. Authentication required to perform this operation."
        )
        assert response.headers["WWW-Authenticate"] == 'Basic realm="protected-area"'


def test_over_the_rate_limit_answers_429_with_jira_rate_limit_headers() -> None:
    sim = ZephyrServerSimulator(dataset(), faults=FaultOptions(rate_limit=2))
    statuses = [call(sim, API + "/testcase/DC-T1").status_code for _ in range(2)]
    response = call(sim, API + "/testcase/DC-T1")
    assert statuses == [200, 200]
    assert "Rate limit exceeded" in refused(response, 429)
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["X-RateLimit-Limit"] == "2"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["X-RateLimit-FillRate"] == "2"
    assert response.headers["X-RateLimit-Interval-Seconds"] == "1"
    assert sim.stats.rate_limited == 1
    assert "X-RateLimit-Limit" not in call(ZephyrServerSimulator(None), "/rest/api/2/project/X").headers


def test_injected_failures_use_the_error_body() -> None:
    sim = ZephyrServerSimulator(dataset(), faults=FaultOptions(fail_rate=1.0, seed=1, after_processing=0))
    statuses = set()
    for _ in range(12):
        try:
            response = call(sim, API + "/testcase/DC-T1")
        except DroppedConnection:
            statuses.add(0)
            continue
        statuses.add(response.status_code)
        assert "injected" in refused(response, response.status_code)
    assert statuses <= {0, 500, 502, 503}
    assert sim.stats.injected_failures == 12


# -- attachments -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "ident"),
    [
        ("/testcase/DC-T1/attachments", 88),
        ("/testcase/DC-T1/step/1/attachments", 89),
        ("/testplan/DC-P1/attachments", 90),
        ("/testrun/DC-C1/attachments", 91),
        ("/testresult/501/attachments", 92),
        ("/testresult/501/step/1/attachments", 93),
    ],
)
def test_each_owner_lists_its_attachments_with_absolute_urls(
    sim: ZephyrServerSimulator, path: str, ident: int
) -> None:
    [listed] = ok(sim, path)
    assert listed["id"] == ident
    assert listed["url"] == f"http://jira.test/rest/tests/1.0/attachment/{ident}"
    assert set(listed) == {"id", "fileName", "fileSize", "contentType", "url"}


def test_owners_without_attachments_list_an_empty_array(sim: ZephyrServerSimulator) -> None:
    assert ok(sim, "/testcase/DC-T2/attachments") == []
    assert ok(sim, "/testcase/DC-T1/step/0/attachments") == []
    assert ok(sim, "/testresult/503/attachments") == []


def test_downloads_serve_inline_and_generated_bytes(sim: ZephyrServerSimulator) -> None:
    small = call(sim, "/rest/tests/1.0/attachment/93")
    assert small.content == PNG
    assert small.headers["content-type"] == "image/png"
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%201.png" in small.headers["content-disposition"]
    big = call(sim, "/rest/tests/1.0/attachment/88")
    assert big.status_code == 200
    assert int(big.headers["content-length"]) == BIG["size"]
    assert hashlib.sha256(big.content).hexdigest() == generated_content_sha256(BIG["size"], BIG["seed"])
    assert "Attachment 404 not found" in refused(call(sim, "/rest/tests/1.0/attachment/404"), 404)


def test_a_context_path_moves_every_endpoint_and_url() -> None:
    sim = ZephyrServerSimulator(dataset(), context_path="jira/")
    assert call(sim, API + "/testcase/DC-T1").status_code == 404
    assert call(sim, "/jira" + API + "/testcase/DC-T1").json()["key"] == "DC-T1"
    [listed] = call(sim, "/jira" + API + "/testrun/DC-C1/attachments").json()
    assert listed["url"] == "http://jira.test/jira/rest/tests/1.0/attachment/91"
    assert call(sim, listed["url"]).content == PNG
    assert call(sim, "/jira/rest/api/2/project/DC").json()["self"].startswith("http://jira.test/jira/rest/")


# -- writes -------------------------------------------------------------------------------------------------


def test_creating_a_test_case_and_results() -> None:
    data = dataset()
    sim = ZephyrServerSimulator(data)
    created = call(sim, API + "/testcase", method="POST", json={"projectKey": "DC", "name": "New"})
    assert created.status_code == 201
    assert created.json() == {"key": "DC-T4"}
    assert ok(sim, "/testcase/search", query='key = "DC-T4"')[0]["status"] == "Draft"
    posted = call(
        sim,
        API + "/testrun/DC-C1/testresults",
        {"environment": "Chrome"},
        method="POST",
        json=[{"testCaseKey": "DC-T1", "status": "Pass"}, {"testCaseKey": "DC-T4", "status": "Fail"}],
    )
    assert posted.json() == [{"id": 504}, {"id": 505}]
    assert [r["id"] for r in ok(sim, "/testrun/DC-C1/testresults")][-2:] == [504, 505]
    items = ok(sim, "/testrun/DC-C1")["items"]
    assert [(i["testCaseKey"], i["status"], i["environment"]) for i in items] == [
        ("DC-T1", "Pass", "Chrome"),
        ("DC-T4", "Fail", "Chrome"),
    ]
    assert data == dataset()  # the dataset handed over is never changed
    assert "name" in refused(call(sim, API + "/testcase", method="POST", json={"projectKey": "DC"}), 400)
    refused(call(sim, API + "/testrun/DC-C9/testresults", method="POST", json=[]), 400)
    bogus = [{"testCaseKey": "DC-T1", "status": "Pass", "bogus": 1}]
    assert "bogus" in refused(call(sim, API + "/testrun/DC-C1/testresults", method="POST", json=bogus), 400)


# -- the dataset ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["testCases"].append({"key": "DC-T1", "projectKey": "DC"}), "testCases[4] (DC-T1)"),
        (lambda d: d["testRuns"][0].update(projectKey="XX"), "testRuns[0] (DC-C1): 'projectKey' XX"),
        (lambda d: d["testResults"][0].update(testRunKey="DC-C9"), "testResults[0] (503)"),
        (lambda d: d["attachments"][1].update(stepIndex=7), "attachments[1] (89): its owner"),
        (lambda d: d["attachments"][0].update(ownerType="cycle"), "'ownerType' must be one of"),
        (lambda d: d["attachments"][2].update(content="@@"), "not valid base64"),
        (lambda d: d["attachments"][2].update(fileSize=1), "'fileSize' is 1"),
        (lambda d: d.update(testcases=[]), "Zephyr Cloud simulator's format"),
        (lambda d: d.update(users={}), "'users' must be a list"),
    ],
)
def test_a_malformed_dataset_is_refused_naming_the_entry(change: Any, message: str) -> None:
    data = copy.deepcopy(dataset())
    change(data)
    with pytest.raises(InputError) as caught:
        ZephyrServerSimulator(data)
    assert message in str(caught.value)
