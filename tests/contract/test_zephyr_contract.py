"""The Zephyr simulator against SmartBear's Zephyr Scale Cloud v2 contract, over a real socket.

One crawl of a small generated project calls every read endpoint for every entity and walks
every page; each answer is then checked against the vendor schema of its operation (formats
strict, no property the spec does not define). Error answers, write answers, links and faults
are checked the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema
import pytest

from ztoq.serving import serve_in_thread
from ztoq.simulators.faults import FaultOptions
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset

KEY = "DEMO"
AUTH = {"Authorization": "Bearer zephyr-sim-token"}
JIRA = "https://ztoq-sim.atlassian.net/rest/api/2/"
PAGE = 7  # small pages, so every list has several

#: Spec paths the simulator leaves out on purpose (see docs/simulators-zephyr.md): a zip of
#: feature files.
NOT_SERVED = {"/automations/testcases"}
#: The issue link look-ups (``/issuelinks/{issueKey}/<kind>``) and the schema of their answers.
ISSUE_LINK_SCHEMAS = {
    "testcases": "TestCaseKeyAndVersionList",
    "testcycles": "TestCycleIdList",
    "testplans": "TestPlanIdList",
    "executions": "TestExecutionIdList",
}

READ_SCHEMAS = (
    "ProjectList",
    "Project",
    "FolderList",
    "Folder",
    "StatusList",
    "Status",
    "PriorityList",
    "Priority",
    "EnvironmentList",
    "Environment",
    "TestCaseList",
    "CursorPagedTestCaseList",
    "TestCase",
    "TestCaseVersionLinkList",
    "TestStepsList",
    "TestScript",
    "TestCaseLinkList",
    "TestCycleList",
    "TestCycle",
    "TestCycleLinkList",
    "TestPlanList",
    "TestPlan",
    "TestExecutionList",
    "CursorPagedTestExecutionList",
    "TestExecution",
    "TestExecutionTestStepsList",
    "TestExecutionLinkList",
    *ISSUE_LINK_SCHEMAS.values(),
    "Error",
)


@dataclass
class Crawl:
    """Every answer of the crawl, by the schema it must match, and anything unexpected."""

    client: httpx.Client
    by_schema: dict[str, list[tuple[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    unexpected: list[str] = field(default_factory=list)

    def get(
        self, url: str, schema: str | None, params: dict[str, Any] | None = None, status: int = 200
    ) -> Any:
        # httpx replaces the URL's query with ``params`` when given, even an empty dict.
        response = self.client.get(url, params=params or None)
        context = f"GET {response.request.url}"
        if response.status_code != status:
            self.unexpected.append(f"{context}: {response.status_code} {response.text[:200]}")
            return None
        body = response.json() if response.content else None
        if schema is not None:
            self.by_schema[schema].append((context, body))
        return body

    def pages(
        self, url: str, schema: str, params: dict[str, Any] | None = None, size: int | None = PAGE
    ) -> list[Any]:
        """Walk offset pages by the echoed maxResults, following ``next``; check the paging fields."""
        query = {**(params or {}), **({"maxResults": size} if size else {})}
        values: list[Any] = []
        next_url: str | None = url
        while next_url is not None:
            body = self.get(next_url, schema, query)
            if body is None:
                return values
            if body["startAt"] != len(values):
                self.unexpected.append(f"{url}: page starts at {body['startAt']}, expected {len(values)}")
            values += body["values"]
            if body["isLast"] != (len(values) >= body["total"]) or body["isLast"] == ("next" in body):
                self.unexpected.append(f"{url}: isLast/next/total disagree at {body['startAt']}")
            next_url, query = body.get("next"), {}
        return values

    def cursor(
        self, url: str, schema: str, params: dict[str, Any] | None = None, limit: int = 9
    ) -> list[Any]:
        """Walk NextGen pages by ``next`` (null on the last page)."""
        values: list[Any] = []
        next_url: str | None = url
        query: dict[str, Any] = {**(params or {}), "limit": limit}
        while next_url is not None:
            body = self.get(next_url, schema, query)
            if body is None:
                return values
            values += body["values"]
            if (body["next"] is None) != (body["nextStartAtId"] is None):
                self.unexpected.append(f"{url}: next and nextStartAtId disagree")
            next_url, query = body["next"], {}
        return values


def _crawl(sim: ZephyrSimulator, client: httpx.Client) -> Crawl:
    crawl = Crawl(client)
    crawl.get("/healthcheck", None)
    for project in crawl.pages("/projects", "ProjectList"):
        crawl.get(f"/projects/{project['id']}", "Project")
        crawl.get(f"/projects/{project['key']}", "Project")
    for folder_type in (None, "TEST_CASE", "TEST_CYCLE", "TEST_PLAN"):
        for folder in crawl.pages("/folders", "FolderList", {"projectKey": KEY, "folderType": folder_type}):
            crawl.get(f"/folders/{folder['id']}", "Folder")
    for status_type in (None, "TEST_CASE", "TEST_CYCLE", "TEST_PLAN", "TEST_EXECUTION"):
        for status in crawl.pages("/statuses", "StatusList", {"projectKey": KEY, "statusType": status_type}):
            crawl.get(f"/statuses/{status['id']}", "Status")
    for priority in crawl.pages("/priorities", "PriorityList", {"projectKey": KEY}):
        crawl.get(f"/priorities/{priority['id']}", "Priority")
    for environment in crawl.pages("/environments", "EnvironmentList", {"projectKey": KEY}):
        crawl.get(f"/environments/{environment['id']}", "Environment")
    _crawl_cases(sim, crawl)
    cycles = crawl.pages("/testcycles", "TestCycleList", {"projectKey": KEY})
    crawl.pages(
        "/testcycles", "TestCycleList", {"jiraProjectVersionId": 10200, "folderId": cycles[0]["folder"]["id"]}
    )
    for cycle in cycles:
        crawl.get(f"/testcycles/{cycle['id']}", "TestCycle")
        crawl.get(f"/testcycles/{cycle['key']}", "TestCycle")
        crawl.get(f"/testcycles/{cycle['key']}/links", "TestCycleLinkList")
    for plan in crawl.pages("/testplans", "TestPlanList", {"projectKey": KEY}):
        crawl.get(f"/testplans/{plan['id']}", "TestPlan")
        crawl.get(f"/testplans/{plan['key']}", "TestPlan")
    _crawl_executions(crawl, cycles)
    _crawl_issue_links(sim, crawl)
    return crawl


def _crawl_cases(sim: ZephyrSimulator, crawl: Crawl) -> None:
    cases = crawl.pages("/testcases", "TestCaseList", {"projectKey": KEY})
    nextgen = crawl.cursor("/testcases/nextgen", "CursorPagedTestCaseList", {"projectKey": KEY})
    if sorted(c["key"] for c in cases) != sorted(c["key"] for c in nextgen):
        crawl.unexpected.append("/testcases and /testcases/nextgen list different test cases")
    folder_id = next(c["folder"]["id"] for c in cases if "folder" in c)
    crawl.pages("/testcases", "TestCaseList", {"folderId": folder_id})
    crawl.cursor("/testcases/nextgen", "CursorPagedTestCaseList", {"folderId": folder_id}, limit=2)
    for case in cases:
        key = case["key"]
        crawl.get(f"/testcases/{key}", "TestCase")
        versions = crawl.pages(f"/testcases/{key}/versions", "TestCaseVersionLinkList", size=None)
        for number in range(1, len(versions) + 1):
            crawl.get(f"/testcases/{key}/versions/{number}", "TestCase")
        crawl.pages(f"/testcases/{key}/teststeps", "TestStepsList", size=None)
        if key in sim.state.testscripts:
            crawl.get(f"/testcases/{key}/testscript", "TestScript")
        else:
            crawl.get(f"/testcases/{key}/testscript", "Error", status=404)
        crawl.get(f"/testcases/{key}/links", "TestCaseLinkList")


def _crawl_executions(crawl: Crawl, cycles: list[Any]) -> None:
    executions = crawl.pages("/testexecutions", "TestExecutionList", {"projectKey": KEY})
    ended = sorted(e["actualEndDate"] for e in executions if "actualEndDate" in e)
    some_case = executions[0]["testCase"]["self"].split("/testcases/")[1].split("/")[0]
    for params in (
        {"onlyLastExecutions": "true", "includeStepLinks": "true"},
        {"testCycle": cycles[0]["key"]},
        {"testCycle": str(cycles[1]["id"]), "testCase": some_case},
        {"actualEndDateAfter": ended[0], "actualEndDateBefore": ended[-1]},
        {"jiraProjectVersionId": 10200},
    ):
        crawl.pages("/testexecutions", "TestExecutionList", params)
    nextgen = crawl.cursor("/testexecutions/nextgen", "CursorPagedTestExecutionList", {"projectKey": KEY})
    if [e["id"] for e in nextgen] != sorted(e["id"] for e in executions):
        crawl.unexpected.append("/testexecutions/nextgen does not list every execution in id order")
    crawl.cursor("/testexecutions/nextgen", "CursorPagedTestExecutionList", {"onlyLastExecutions": "true"})
    for execution in executions:
        crawl.get(f"/testexecutions/{execution['id']}", "TestExecution")
        crawl.get(f"/testexecutions/{execution['key']}", "TestExecution", {"includeStepLinks": "true"})
        crawl.pages(f"/testexecutions/{execution['id']}/teststeps", "TestExecutionTestStepsList", size=None)
        crawl.get(f"/testexecutions/{execution['key']}/links", "TestExecutionLinkList")


def _crawl_issue_links(sim: ZephyrSimulator, crawl: Crawl) -> None:
    """Every issue linked anywhere, looked up by key; the answers must agree with the links."""
    expected: dict[str, dict[str, set[Any]]] = defaultdict(lambda: defaultdict(set))
    for key in sim.state.testcase_versions:
        for issue in crawl.get(f"/testcases/{key}/links", None)["issues"]:
            expected[f"{KEY}-{issue['issueId']}"]["testcases"].add(key)
    for kind, collection, path in (
        ("testcycles", sim.state.testcycles, "testcycles"),
        ("testplans", sim.state.testplans, "testplans"),
        ("executions", sim.state.testexecutions, "testexecutions"),
    ):
        for ident in collection:
            links = crawl.get(f"/{path}/{ident}", None).get("links") or {}
            for issue in links.get("issues", []):
                expected[f"{KEY}-{issue['issueId']}"][kind].add(ident)
    expected.setdefault(f"{KEY}-1", defaultdict(set))  # an issue nothing links: empty lists
    for issue_key, by_kind in expected.items():
        for kind, schema in ISSUE_LINK_SCHEMAS.items():
            body = crawl.get(f"/issuelinks/{issue_key}/{kind}", schema) or []
            found = {item["key"] if kind == "testcases" else item["id"] for item in body}
            if found != by_kind[kind]:
                crawl.unexpected.append(f"/issuelinks/{issue_key}/{kind}: {sorted(found)} != {by_kind[kind]}")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[ZephyrSimulator, httpx.Client, str]]:
    sim = ZephyrSimulator(generate_dataset(36, seed=11))
    with (
        serve_in_thread(sim.app) as base,
        httpx.Client(base_url=f"{base}/v2", headers=AUTH, timeout=30) as client,
    ):
        yield sim, client, base


@pytest.fixture(scope="module")
def crawl(served: tuple[ZephyrSimulator, httpx.Client, str]) -> Crawl:
    sim, client, _base = served
    return _crawl(sim, client)


def test_the_crawl_meets_no_unexpected_answer(crawl: Crawl) -> None:
    assert not crawl.unexpected, "\n".join(crawl.unexpected[:20])


@pytest.mark.parametrize("schema", READ_SCHEMAS)
def test_answers_match_the_vendor_schema(crawl: Crawl, zephyr_contract: Any, schema: str) -> None:
    answers = crawl.by_schema[schema]
    assert answers, f"the crawl produced no {schema} answer"
    problems = [f"{context}: {p}" for context, body in answers for p in zephyr_contract.errors(schema, body)]
    assert not problems, "\n".join(problems[:20])


def test_every_read_path_of_the_spec_is_served(
    crawl: Crawl, served: tuple[ZephyrSimulator, httpx.Client, str], zephyr_spec_paths: dict[str, Any]
) -> None:
    sim = served[0]
    answered = {
        template.removeprefix("/v2") for (method, template, status) in sim.stats.by_endpoint if status == 200
    }
    spec_reads = {path for path, operations in zephyr_spec_paths.items() if "get" in operations}
    assert spec_reads - NOT_SERVED - answered == set()


def _links(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for name, item in value.items():
            if name in ("self", "target", "next") and isinstance(item, str):
                yield item
            else:
                yield from _links(item)
    elif isinstance(value, list):
        for item in value:
            yield from _links(item)


def test_api_links_use_the_request_base_url_and_can_be_followed(
    crawl: Crawl, served: tuple[ZephyrSimulator, httpx.Client, str]
) -> None:
    _sim, client, base = served
    urls = {url for answers in crawl.by_schema.values() for _c, body in answers for url in _links(body)}
    api = {url for url in urls if url.startswith(f"{base}/v2/")}
    assert urls - api, "no Jira link at all?"
    assert all(url.startswith(JIRA) for url in urls - api), sorted(urls - api)[:5]
    # /links/{id} only has DELETE in the spec; every other API link must answer a GET.
    followable = sorted(url for url in api if f"{base}/v2/links/" not in url)
    failures = [url for url in followable if client.get(url).status_code != 200]
    assert not failures, failures[:10]


ERROR_CASES = [
    ("/no/such/path", {}, AUTH, 404),
    ("/issuelinks/NOPE-1/testcases", {}, AUTH, 404),
    ("/issuelinks/DEMO/testcycles", {}, AUTH, 400),
    ("/testcases/DEMO-T999999", {}, AUTH, 404),
    ("/testcases/DEMO-T1/versions/99", {}, AUTH, 404),
    ("/testcases/DEMO-T1/versions/x", {}, AUTH, 400),
    ("/testcycles/DEMO-R999", {}, AUTH, 404),
    ("/testplans/999999", {}, AUTH, 404),
    ("/testexecutions/DEMO-E999999", {}, AUTH, 404),
    ("/testexecutions/999999/teststeps", {}, AUTH, 404),
    ("/folders/999999", {}, AUTH, 404),
    ("/folders/abc", {}, AUTH, 400),
    ("/statuses/999999", {}, AUTH, 404),
    ("/projects/NOPE", {}, AUTH, 404),
    ("/testcases", {"startAt": "-1"}, AUTH, 400),
    ("/testcases", {"maxResults": "ten"}, AUTH, 400),
    ("/testcases", {"maxResults": "0"}, AUTH, 400),
    ("/testcases/nextgen", {"limit": "0"}, AUTH, 400),
    ("/testcases/nextgen", {"startAtId": "-5"}, AUTH, 400),
    ("/statuses", {"statusType": "TEST_RUN"}, AUTH, 400),
    ("/folders", {"folderType": "TEST_EXECUTION"}, AUTH, 400),
    ("/testexecutions", {"actualEndDateAfter": "yesterday"}, AUTH, 400),
    ("/testexecutions", {"onlyLastExecutions": "maybe"}, AUTH, 400),
    ("/testcases", {"projectKey": "NOPE"}, AUTH, 400),
]


@pytest.mark.parametrize(("path", "params", "headers", "status"), ERROR_CASES)
def test_error_answers_match_the_vendor_schema(
    served: tuple[ZephyrSimulator, httpx.Client, str],
    zephyr_contract: Any,
    path: str,
    params: dict[str, str],
    headers: dict[str, str],
    status: int,
) -> None:
    base = served[2]
    response = httpx.get(f"{base}/v2{path}", params=params, headers=headers)
    body = zephyr_contract.check_response(response, "Error", status)
    assert body["errorCode"] == status


#: The 401 body of SmartBear's current schemas (the spec note zephyr-scale-cloud-v2-attachments.md).
UNAUTHORIZED = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {"error": {"type": "string", "minLength": 1}},
}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer a.b.c"},
    ],
)
@pytest.mark.parametrize(
    "path", ["/testcases", "/healthcheck", "/issuelinks/DEMO-1/testcases", "/no/such/path"]
)
def test_401_answers_carry_the_error_reason_of_the_current_schemas(
    served: tuple[ZephyrSimulator, httpx.Client, str], path: str, headers: dict[str, str]
) -> None:
    response = httpx.get(f"{served[2]}/v2{path}", headers=headers)
    assert response.status_code == 401
    jsonschema.validate(response.json(), UNAUTHORIZED)
    assert response.headers["access-control-allow-origin"] == "*"


def test_write_answers_match_the_vendor_schema(zephyr_contract: Any) -> None:
    sim = ZephyrSimulator(generate_dataset(12, seed=5))
    check = zephyr_contract.check_response
    with serve_in_thread(sim.app) as base, httpx.Client(base_url=f"{base}/v2", headers=AUTH) as api:
        folder = check(
            api.post("/folders", json={"projectKey": KEY, "name": "New", "folderType": "TEST_CASE"}),
            "CreatedResource",
            201,
        )
        case = check(
            api.post("/testcases", json={"projectKey": KEY, "name": "Created", "folderId": folder["id"]}),
            "KeyedCreatedResource",
            201,
        )
        assert case["self"] == f"{base}/v2/testcases/{case['key']}"
        steps = {"mode": "APPEND", "items": [{"inline": {"description": "Do", "expectedResult": "Done"}}]}
        check(api.post(f"/testcases/{case['key']}/teststeps", json=steps), "CreatedResource", 201)
        cycle = check(
            api.post("/testcycles", json={"projectKey": KEY, "name": "Cycle"}), "KeyedCreatedResource", 201
        )
        plan = check(
            api.post("/testplans", json={"projectKey": KEY, "name": "Plan"}), "KeyedCreatedResource", 201
        )
        link = {"testCycleIdOrKey": cycle["key"]}
        check(api.post(f"/testplans/{plan['key']}/links/testcycles", json=link), "CreatedResource", 201)
        run = {
            "projectKey": KEY,
            "testCaseKey": case["key"],
            "testCycleKey": cycle["key"],
            "statusName": "Pass",
        }
        created = api.post("/testexecutions", json=run)
        check(created, "KeyedCreatedResource", 201)
        assert created.headers["location"] == f"{base}/v2/testexecutions/{created.json()['id']}"
        check(
            api.post(f"/testexecutions/{created.json()['id']}/links/issues", json={"issueId": 10001}),
            "CreatedResource",
            201,
        )
        check(
            api.post(f"/testcases/{case['key']}/testscript", json={"type": "bdd", "text": "Given x"}),
            "CreatedResource",
            201,
        )
        check(api.post("/testcases", json={"name": "No project"}), "Error", 400)
        check(
            api.post(f"/testcases/{case['key']}/teststeps", json={"mode": "MERGE", "items": []}), "Error", 400
        )
        check(api.post("/testcases/DEMO-T999/testscript", json={"type": "plain", "text": "x"}), "Error", 404)
        assert api.put("/testcycles/DEMO-R999", json={}).status_code == 404
        check(api.delete("/testcases"), "Error", 405)


def test_written_steps_links_and_executions_with_test_data_text_match_the_vendor_schema(
    zephyr_contract: Any,
) -> None:
    sim = ZephyrSimulator(generate_dataset(6, seed=5))
    check = zephyr_contract.check_response
    with serve_in_thread(sim.app) as base, httpx.Client(base_url=f"{base}/v2", headers=AUTH) as api:
        case = check(
            api.post("/testcases", json={"projectKey": KEY, "name": "Data"}), "KeyedCreatedResource", 201
        )
        inline = {"description": "Log in", "testData": "user = ada", "expectedResult": "In"}
        steps = {"mode": "OVERWRITE", "items": [{"inline": inline}]}
        check(api.post(f"/testcases/{case['key']}/teststeps", json=steps), "CreatedResource", 201)
        listed = check(api.get(f"/testcases/{case['key']}/teststeps"), "TestStepsList")
        assert listed["values"][0]["inline"] == inline
        run = {"projectKey": KEY, "testCaseKey": case["key"], "testCycleKey": "DEMO-R1", "statusName": "Pass"}
        results = [{"statusName": "Pass", "actualResult": "in"}]
        created = check(
            api.post("/testexecutions", json={**run, "testScriptResults": results}),
            "KeyedCreatedResource",
            201,
        )
        ran = check(api.get(f"/testexecutions/{created['key']}/teststeps"), "TestExecutionTestStepsList")
        assert ran["values"][0]["inline"]["testData"] == "user = ada"
        check(
            api.post(f"/testcases/{case['key']}/links/issues", json={"issueId": 4242}), "CreatedResource", 201
        )
        covered = check(api.get("/issuelinks/DEMO-4242/testcases"), "TestCaseKeyAndVersionList")
        assert covered == [
            {"key": case["key"], "version": 1, "self": f"{base}/v2/testcases/{case['key']}/versions/1"}
        ]


def test_injected_failures_answer_5xx_with_the_error_body_or_drop(zephyr_contract: Any) -> None:
    sim = ZephyrSimulator(generate_dataset(3), faults=FaultOptions(fail_rate=1.0, seed=7))
    outcomes = set()
    with serve_in_thread(sim.app) as base, httpx.Client(base_url=f"{base}/v2", headers=AUTH) as api:
        for _ in range(24):
            try:
                response = api.get("/testcases")
            except httpx.TransportError:
                outcomes.add("dropped")
                continue
            zephyr_contract.check_response(response, "Error", response.status_code)
            assert response.status_code in (500, 502, 503)
            outcomes.add(str(response.status_code))
    assert "dropped" in outcomes
    assert outcomes & {"500", "502", "503"}
    assert sim.stats.injected_failures == 24
