"""The Zephyr Scale Server / Data Center simulator against the v1 contract, over a real socket.

One crawl of a small generated project (attachments on) calls every read endpoint the simulator
serves for every entity, walks every search in small pages and downloads every attachment by its
listed ``url``. Every exchange is then checked in two layers (see zephyr_server_schemas.py): against
SmartBear's v1 OpenAPI document (operation, parameters, status, JSON content) and against JSON
Schemas of the wire format of docs/simulators-zephyr-server.md. Error answers (400, 401, 404, 429,
injected 5xx) and the two served writes are checked the same way.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema
import pytest
from zephyr_server_schemas import (
    API_PATH,
    SCHEMAS,
    ServerSpec,
    partial,
    spec_path,
    wire_problems,
)

from ztoq.serving import serve_in_thread
from ztoq.simulators.faults import FaultOptions
from ztoq.simulators.zephyr_server import (
    DEFAULT_SERVER_PASSWORD,
    DEFAULT_SERVER_TOKEN,
    DEFAULT_SERVER_USER,
    ZephyrServerSimulator,
)
from ztoq.simulators.zephyr_server.generate import generate_server_dataset

KEY = "DC"
BASIC = (DEFAULT_SERVER_USER, DEFAULT_SERVER_PASSWORD)
BEARER = {"Authorization": f"Bearer {DEFAULT_SERVER_TOKEN}"}
PAGE = 5  # small pages, so the test case search has several
ALL_CASES = f'projectKey = "{KEY}"'
FAULTS = frozenset({429, 500, 502, 503})

#: Spec operations the simulator leaves out on purpose (ztoq reads Zephyr Server and never writes it).
NOT_SERVED = {
    ("PUT", "/testcase/{testCaseKey}"): "test cases are read and created, never updated",
    ("DELETE", "/testcase/{testCaseKey}"): "ztoq never deletes in the source",
    ("POST", "/testcase/{testCaseKey}/attachments"): "attachments are only read and downloaded",
    ("POST", "/testcase/{testCaseKey}/step/{stepIndex}/attachments"): "attachments are only read",
    ("POST", "/testplan"): "test plans are only read",
    ("PUT", "/testplan/{testPlanKey}"): "test plans are only read",
    ("DELETE", "/testplan/{testPlanKey}"): "ztoq never deletes in the source",
    ("POST", "/testplan/{testPlanKey}/attachments"): "attachments are only read",
    ("POST", "/testrun"): "test runs are only read (results are written into existing runs)",
    ("DELETE", "/testrun/{testRunKey}"): "ztoq never deletes in the source",
    ("POST", "/testrun/{testRunKey}/attachments"): "attachments are only read",
    (
        "POST",
        "/testrun/{testRunKey}/testcase/{testCaseKey}/testresult",
    ): "the bulk POST .../testresults is served",
    ("PUT", "/testrun/{testRunKey}/testcase/{testCaseKey}/testresult"): "results are added, never updated",
    ("POST", "/testresult"): "results outside a run are not migrated",
    ("POST", "/testresult/{testResultId}/attachments"): "attachments are only read",
    ("POST", "/testresult/{testResultId}/step/{stepIndex}/attachments"): "attachments are only read",
    ("POST", "/folder"): "folders are paths on the entities; none are created",
    ("PUT", "/folder/{folderId}"): "folders are paths on the entities; none are renamed",
    ("DELETE", "/attachments/{id}"): "ztoq never deletes in the source",
    ("POST", "/environments"): "environments are only read",
    ("POST", "/automation/execution/{projectKey}"): "automation uploads (zip of results) are out of scope",
    ("POST", "/automation/execution/cucumber/{projectKey}"): "automation uploads are out of scope",
    ("GET", "/automation/testcases"): "a zip of feature files, not data ztoq migrates",
    ("POST", "/project"): "projects are Jira's, read with /rest/api/2/project",
    ("POST", "/customfield"): "custom fields are read from the entities, never defined",
    ("POST", "/customfield/{customFieldId}/option"): "custom fields are never defined",
    ("POST", "/delete/executiondeletion"): "bulk deletion of executions is an admin job",
    ("GET", "/delete/executiondeletion/status"): "the status of that admin job",
}
SERVED_WRITES = {("POST", "/testcase"), ("POST", "/testrun/{testRunKey}/testresults")}
PATH_VALUES = {
    "testCaseKey": "DC-T1",
    "testPlanKey": "DC-P1",
    "testRunKey": "DC-C1",
    "testResultId": "10001",
    "stepIndex": "0",
}


@pytest.fixture(scope="module")
def spec() -> ServerSpec:
    path = spec_path()
    if path is None:
        pytest.skip("the Zephyr Scale Server v1 OpenAPI document is not available (set ZTOQ_SPECS_DIR)")
    return ServerSpec(path)


@dataclass
class Crawl:
    """Every answer of the crawl, by wire schema, and anything unexpected along the way."""

    client: httpx.Client
    exchanges: list[httpx.Response] = field(default_factory=list)
    by_schema: dict[str, list[tuple[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    unexpected: list[str] = field(default_factory=list)

    def get(self, url: str, schema: str, params: dict[str, Any] | None = None, status: int = 200) -> Any:
        response = self.client.get(url, params=params)
        self.exchanges.append(response)
        context = f"GET {response.request.url}"
        if response.status_code != status:
            self.unexpected.append(f"{context}: {response.status_code} {response.text[:200]}")
            return None
        self.by_schema[schema].append((context, response.json()))
        return response.json()

    def pages(self, url: str, schema: str, size: int) -> list[Any]:
        """Walk ``startAt`` pages of ``size`` until a short one (the spec's paging: a bare array)."""
        values: list[Any] = []
        while True:
            page = self.get(url, schema, {"query": ALL_CASES, "startAt": len(values), "maxResults": size})
            if not isinstance(page, list) or len(page) > size:
                self.unexpected.append(f"{url}: page at {len(values)} is not an array of at most {size}")
                return values
            values += page
            if len(page) < size:
                return values

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            self.unexpected.append(message)


def _crawl(client: httpx.Client, dataset: dict[str, Any]) -> Crawl:
    crawl = Crawl(client)
    site = str(client.base_url).removesuffix(API_PATH + "/")
    for ident in (KEY, "10000"):
        crawl.get(f"{site}/rest/api/2/project/{ident}", "jira_project")
    environments = crawl.get("/environments", "environment_list", {"projectKey": KEY})
    crawl.check([e["index"] for e in environments] == sorted(e["index"] for e in environments), "env order")

    cases = crawl.pages("/testcase/search", "test_case_list", PAGE)
    every = crawl.get("/testcase/search", "test_case_list", {"query": ALL_CASES})  # default maxResults
    crawl.check(cases == every == dataset["testCases"], "paged search != one default page != dataset")
    attachments: dict[str, list[Any]] = {}
    for case in cases:
        key = case["key"]
        crawl.check(crawl.get(f"/testcase/{key}", "test_case") == case, f"{key}: GET != search item")
        attachments[f"testcase {key}"] = crawl.get(f"/testcase/{key}/attachments", "attachment_list")
        script = case.get("testScript") or {}
        for position, step in enumerate(script.get("steps") or []):
            crawl.check(step["index"] == position, f"{key}: step {position} has index {step['index']}")
            url = f"/testcase/{key}/step/{position}/attachments"
            attachments[f"testcaseStep {key} {position}"] = crawl.get(url, "attachment_list")

    for plan in crawl.pages("/testplan/search", "test_plan_list", 1):
        crawl.check(crawl.get(f"/testplan/{plan['key']}", "test_plan") == plan, f"{plan['key']}: GET != item")
        attachments[f"testplan {plan['key']}"] = crawl.get(
            f"/testplan/{plan['key']}/attachments", "attachment_list"
        )

    latest: dict[str, Any] = {}
    for run in crawl.pages("/testrun/search", "test_run_list", 2):
        key = run["key"]
        crawl.check(crawl.get(f"/testrun/{key}", "test_run") == run, f"{key}: GET != search item")
        attachments[f"testrun {key}"] = crawl.get(f"/testrun/{key}/attachments", "attachment_list")
        results = crawl.get(f"/testrun/{key}/testresults", "test_result_list")
        ids = [r["id"] for r in results]
        crawl.check(ids == sorted(ids), f"{key}: results not oldest first")
        crawl.check({i["testCaseKey"] for i in run["items"]} <= {r["testCaseKey"] for r in results}, key)
        for result in results:
            ident = result["id"]
            attachments[f"testresult {ident}"] = crawl.get(
                f"/testresult/{ident}/attachments", "attachment_list"
            )
            for step in result["scriptResults"]:
                url = f"/testresult/{ident}/step/{step['index']}/attachments"
                attachments[f"testresultStep {ident} {step['index']}"] = crawl.get(url, "attachment_list")
            if result["id"] > latest.get(result["testCaseKey"], {"id": 0})["id"]:
                latest[result["testCaseKey"]] = result
    existing = {c["key"] for c in cases}
    for key in sorted(existing | set(latest)):
        url = f"/testcase/{key}/testresult/latest"
        if key in latest and key in existing:
            crawl.check(crawl.get(url, "test_result") == latest[key], f"{key}: latest is not the highest id")
        else:  # never run, or deleted after it ran
            crawl.get(url, "error", status=404)

    for issue in sorted({i for c in cases for i in c["issueLinks"]} | {f"{KEY}-99999"}):
        linked = crawl.get(f"/issuelink/{issue}/testcases", "test_case_list")
        expected = [c for c in cases if issue in c["issueLinks"]]
        crawl.check(linked == expected, f"{issue}: linked test cases differ")

    _download_every_attachment(crawl, dataset, attachments, site)
    return crawl


def _download_every_attachment(
    crawl: Crawl, dataset: dict[str, Any], lists: dict[str, list[Any]], site: str
) -> None:
    expected: dict[str, set[int]] = defaultdict(set)
    by_id = {a["id"]: a for a in dataset["attachments"]}
    for a in dataset["attachments"]:
        step = "" if a["stepIndex"] is None else f" {a['stepIndex']}"
        expected[f"{a['ownerType']} {a['ownerKey']}{step}"].add(a["id"])
    listed = {owner: {a["id"] for a in items} for owner, items in lists.items() if items}
    crawl.check(listed == expected, f"attachment lists differ from the dataset: {listed} != {dict(expected)}")
    crawl.check(
        {o.split()[0] for o in listed}
        == {"testcase", "testcaseStep", "testplan", "testrun", "testresult", "testresultStep"},
        "not every owner kind has attachments",
    )
    for item in (a for items in lists.values() for a in items):
        crawl.check(item["url"] == f"{site}/rest/tests/1.0/attachment/{item['id']}", f"url {item['url']}")
        response = crawl.client.get(item["url"])
        crawl.exchanges.append(response)
        entry = by_id[item["id"]]
        crawl.check(
            response.status_code == 200
            and response.content == base64.b64decode(entry["content"])
            and len(response.content) == item["fileSize"] == int(response.headers["content-length"])
            and response.headers["content-type"] == item["contentType"]
            and "content-disposition" in response.headers,
            f"download {item['url']}: {response.status_code} {dict(response.headers)}",
        )


@pytest.fixture(scope="module")
def dataset() -> dict[str, Any]:
    return generate_server_dataset(24, seed=0, project_key=KEY)


@pytest.fixture(scope="module")
def served(dataset: dict[str, Any]) -> Iterator[tuple[ZephyrServerSimulator, str]]:
    sim = ZephyrServerSimulator(dataset)
    with serve_in_thread(sim.app) as site:
        yield sim, site


@pytest.fixture(scope="module")
def api(served: tuple[ZephyrServerSimulator, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[1] + API_PATH, auth=BASIC, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def crawl(api: httpx.Client, dataset: dict[str, Any]) -> Crawl:
    return _crawl(api, dataset)


def test_the_crawl_meets_no_unexpected_answer(crawl: Crawl) -> None:
    assert not crawl.unexpected, "\n".join(crawl.unexpected[:20])


def test_every_exchange_of_the_crawl_is_an_operation_of_the_spec(crawl: Crawl, spec: ServerSpec) -> None:
    problems = [p for response in crawl.exchanges for p in spec.problems(response)]
    assert not problems, "\n".join(problems[:20])


def test_the_wire_schemas_are_valid_json_schemas() -> None:
    for schema in SCHEMAS.values():
        jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(
    "schema",
    [
        "jira_project",
        "environment_list",
        "test_case_list",
        "test_case",
        "attachment_list",
        "test_plan_list",
        "test_plan",
        "test_run_list",
        "test_run",
        "test_result_list",
        "test_result",
        "error",
    ],
)
def test_answers_match_the_wire_schema(crawl: Crawl, schema: str) -> None:
    answers = crawl.by_schema[schema]
    assert answers, f"the crawl produced no {schema} answer"
    problems = [f"{context}: {p}" for context, body in answers for p in wire_problems(schema, body)]
    assert not problems, "\n".join(problems[:20])


def test_the_crawl_covers_every_spec_operation_not_listed_as_not_served(
    crawl: Crawl, spec: ServerSpec
) -> None:
    assert set(NOT_SERVED) <= set(spec.operations), "NOT_SERVED names an operation the spec does not have"
    answered = set()
    for response in crawl.exchanges:
        path = response.request.url.path
        operation = spec.find("GET", path.removeprefix(API_PATH)) if path.startswith(API_PATH) else None
        if operation is not None and response.status_code == 200:
            answered.add(operation.template)
    reads = {t for t in spec.templates("GET") if ("GET", t) not in NOT_SERVED}
    assert reads - answered == set()
    assert set(spec.operations) - set(NOT_SERVED) - {("GET", t) for t in reads} == SERVED_WRITES


def test_operations_listed_as_not_served_answer_404_or_405(served: tuple[ZephyrServerSimulator, str]) -> None:
    with httpx.Client(base_url=served[1] + API_PATH, auth=BASIC) as client:
        for method, template in NOT_SERVED:
            path = template.format(
                **{**PATH_VALUES, "folderId": 1, "id": 1, "projectKey": KEY, "customFieldId": 1}
            )
            response = client.request(method, path, params={"tql": "x"} if "automation" in path else None)
            assert response.status_code in (404, 405), f"{method} {path}: {response.status_code}"
            assert wire_problems("error", response.json()) == []


def test_paging_follows_the_spec(spec: ServerSpec) -> None:
    minimal = {"projectKey": KEY, "status": "Draft", "priority": "Normal", "majorVersion": 1}
    stamp = {"createdOn": "2024-01-01T00:00:00.000Z", "latestVersion": True}
    cases = [{"key": f"DC-T{n}", "name": f"Case {n}", **minimal, **stamp} for n in range(1, 202)]
    sim = ZephyrServerSimulator({"projects": [{"id": "10000", "key": KEY}], "testCases": cases})
    with serve_in_thread(sim.app) as site, httpx.Client(base_url=site + API_PATH, auth=BASIC) as api:
        answers = [
            api.get("/testcase/search"),  # the default maxResults is 200
            api.get("/testcase/search", params={"startAt": 200}),
            api.get("/testcase/search", params={"startAt": 199, "maxResults": 50}),
            api.get("/testcase/search", params={"startAt": 500}),
            api.get("/testcase/search", params={"query": 'projectKey = "NOBODY"'}),
        ]
        for response in answers:
            assert spec.problems(response) == []
            assert wire_problems("test_case_list", response.json()) == []
        assert [len(r.json()) for r in answers] == [200, 1, 2, 0, 0]
        assert [c["key"] for c in answers[0].json() + answers[1].json()] == [c["key"] for c in cases]


def test_fields_select_top_level_members(api: httpx.Client, spec: ServerSpec) -> None:
    for url, fields, schema in (
        ("/testcase/search", "key, name", "test_case_list"),
        ("/testcase/DC-T1", "key,testScript,nonsense", "test_case"),
        ("/testplan/search", "key", "test_plan_list"),
        ("/testrun/search", "key,status", "test_run_list"),
        ("/testrun/DC-C1", "name", "test_run"),
        ("/issuelink/DC-4/testcases", "key", "test_case_list"),
    ):
        response = api.get(url, params={"fields": fields})
        assert spec.problems(response) == []
        body = response.json()
        assert body, url
        wanted = {name.strip() for name in fields.split(",")}
        assert all(set(item) <= wanted for item in (body if isinstance(body, list) else [body])), url
        assert wire_problems(partial(SCHEMAS[schema]), body) == [], url


ERROR_CASES = [
    ("/testcase/search", {"query": 'projectKey = "DC" OR key = "DC-T1"'}, 400),
    ("/testcase/search", {"query": "projectKey = DC"}, 400),
    ("/testcase/search", {"query": 'projectKey="DC"'}, 400),
    ("/testcase/search", {"query": "projectKey = 'DC'"}, 400),
    ("/testcase/search", {"query": 'projectKey = "DC" and name = "x"'}, 400),
    ("/testplan/search", {"query": 'priority = "High"'}, 400),
    ("/testrun/search", {"query": 'status = "Done"'}, 400),
    ("/testcase/search", {"startAt": "-1"}, 400),
    ("/testcase/search", {"startAt": "1.5"}, 400),
    ("/testplan/search", {"maxResults": "-1"}, 400),
    ("/testrun/search", {"maxResults": "ten"}, 400),
    ("/environments", {}, 400),
    ("/environments", {"projectKey": "NOPE"}, 400),
    ("/testcase/DC-T999", {}, 404),
    ("/testplan/DC-P999", {}, 404),
    ("/testrun/DC-C999", {}, 404),
    ("/testrun/DC-C999/testresults", {}, 404),
    ("/testcase/DC-T999/testresult/latest", {}, 404),
    ("/testcase/DC-T999/attachments", {}, 404),
    ("/testcase/DC-T1/step/99/attachments", {}, 404),
    ("/testplan/DC-P999/attachments", {}, 404),
    ("/testrun/DC-C999/attachments", {}, 404),
    ("/testresult/999999/attachments", {}, 404),
    ("/testresult/10001/step/999/attachments", {}, 404),
    ("/issuelink/XX-1/testcases", {}, 404),
]


@pytest.mark.parametrize(("path", "params", "status"), ERROR_CASES)
def test_error_answers_follow_the_spec_and_the_wire_format(
    api: httpx.Client, spec: ServerSpec, path: str, params: dict[str, str], status: int
) -> None:
    response = api.get(path, params=params)
    assert response.status_code == status, response.text
    problems = spec.problems(response, required=False) + wire_problems("error", response.json())
    assert not problems, "\n".join(problems)


def test_errors_outside_the_spec_have_their_wire_format(served: tuple[ZephyrServerSimulator, str]) -> None:
    with httpx.Client(base_url=served[1], auth=BASIC) as client:
        for path, status, schema in (
            ("/rest/api/2/project/NOPE", 404, "jira_error"),
            ("/rest/tests/1.0/attachment/999999", 404, "error"),
            (f"{API_PATH}/no/such/path", 404, "error"),
        ):
            response = client.get(path)
            assert response.status_code == status, path
            assert wire_problems(schema, response.json()) == [], path


WRONG = [
    ({}, False),
    ({"Authorization": "Bearer wrong-token"}, True),
    ({"Authorization": "Basic " + base64.b64encode(b"admin:wrong").decode()}, True),
    ({"Authorization": "Basic !!not-base64"}, True),
]


@pytest.mark.parametrize(("headers", "given"), WRONG)
def test_401_without_or_with_wrong_credentials(
    served: tuple[ZephyrServerSimulator, str], spec: ServerSpec, headers: dict[str, str], given: bool
) -> None:
    site = served[1]
    for url in (f"{API_PATH}/testcase/search", "/rest/tests/1.0/attachment/501", "/rest/api/2/project/DC"):
        response = httpx.get(site + url, headers=headers)
        assert response.status_code == 401, url
        assert response.headers["www-authenticate"] == 'Basic realm="protected-area"'
        assert response.headers.get("x-seraph-loginreason") == ("AUTHENTICATED_FAILED" if given else None)
        assert wire_problems("error", response.json()) == []
        assert spec.problems(response, basic=False) == []


def test_a_personal_access_token_and_basic_credentials_are_both_accepted(
    served: tuple[ZephyrServerSimulator, str],
) -> None:
    url = f"{served[1]}{API_PATH}/testcase/DC-T1"
    assert httpx.get(url, headers=BEARER).json() == httpx.get(url, auth=BASIC).json()


def test_429_over_the_rate_limit_with_jira_headers(dataset: dict[str, Any], spec: ServerSpec) -> None:
    sim = ZephyrServerSimulator(dataset, faults=FaultOptions(rate_limit=3))
    with serve_in_thread(sim.app) as site, httpx.Client(base_url=site + API_PATH, auth=BASIC) as api:
        answers = [api.get("/environments", params={"projectKey": KEY}) for _ in range(5)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    for response in answers:
        assert spec.problems(response, extra_statuses=FAULTS) == []
    refused = answers[-1]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-limit"] == refused.headers["x-ratelimit-fillrate"] == "3"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["x-ratelimit-interval-seconds"] == "1"
    assert wire_problems("error", refused.json()) == []
    assert refused.json()["errorMessages"][0].startswith("Rate limit exceeded.")


def test_granted_answers_state_no_tokens_or_the_tokens_left(dataset: dict[str, Any]) -> None:
    sim = ZephyrServerSimulator(dataset, faults=FaultOptions(rate_limit=3))
    with serve_in_thread(sim.app) as site, httpx.Client(base_url=site + API_PATH, auth=BASIC) as api:
        answers = [api.get("/environments", params={"projectKey": KEY}) for _ in range(3)]
    left = [r.headers.get("x-ratelimit-remaining") for r in answers]
    assert left in ([None] * 3, ["2", "1", "0"])


def test_injected_failures_are_5xx_with_the_error_body_or_dropped(
    dataset: dict[str, Any], spec: ServerSpec
) -> None:
    sim = ZephyrServerSimulator(dataset, faults=FaultOptions(fail_rate=1.0, seed=7))
    outcomes = set()
    with serve_in_thread(sim.app) as site, httpx.Client(base_url=site + API_PATH, auth=BASIC) as api:
        for _ in range(12):
            try:
                response = api.get("/testcase/DC-T1")
            except httpx.TransportError:
                outcomes.add("dropped")
                continue
            assert spec.problems(response, extra_statuses=FAULTS) == []
            assert wire_problems("error", response.json()) == []
            assert "injected" in response.json()["errorMessages"][0]
            outcomes.add(str(response.status_code))
    assert "dropped" in outcomes
    assert outcomes - {"dropped"} <= {"500", "502", "503"}


def test_the_two_served_writes_follow_the_spec_and_the_wire_format(
    dataset: dict[str, Any], spec: ServerSpec
) -> None:
    sim = ZephyrServerSimulator(dataset)
    user = dataset["users"][0]["key"]
    environment = dataset["environments"][0]["name"]
    with serve_in_thread(sim.app) as site, httpx.Client(base_url=site + API_PATH, auth=BASIC) as api:
        created = api.post("/testcase", json={"projectKey": KEY, "name": "Created", "folder": "/New"})
        refused = api.post("/testcase", json={"projectKey": KEY})
        results = api.post(
            "/testrun/DC-C1/testresults",
            params={"environment": environment, "userKey": user},
            json=[
                {"testCaseKey": created.json()["key"], "status": "Pass"},
                {"testCaseKey": "DC-T1", "status": "Fail"},
            ],
        )
        empty = api.post(
            "/testrun/DC-C1/testresults", params={"environment": environment, "userKey": user}, json=[]
        )
        case = api.get(f"/testcase/{created.json()['key']}")
        served_results = api.get("/testrun/DC-C1/testresults")
        run = api.get("/testrun/DC-C1")
    for response, status, schema in (
        (created, 201, "created_test_case"),
        (refused, 400, "error"),
        (results, 201, "created_results"),
        (empty, 400, "error"),
        (case, 200, "test_case"),
        (served_results, 200, "test_result_list"),
        (run, 200, "test_run"),
    ):
        assert response.status_code == status, f"{response.request.url}: {response.text}"
        assert spec.problems(response) + wire_problems(schema, response.json()) == []
    ids = [r["id"] for r in results.json()]
    assert [r["id"] for r in served_results.json()][-2:] == ids
    items = {i["testCaseKey"]: i for i in run.json()["items"]}
    assert items[created.json()["key"]]["status"] == "Pass"
    assert (items["DC-T1"]["status"], items["DC-T1"]["environment"], items["DC-T1"]["userKey"]) == (
        "Fail",
        environment,
        user,
    )


@pytest.mark.parametrize("index", ["x", "-1"])
def test_a_step_index_that_is_no_step_answers_404(api: httpx.Client, spec: ServerSpec, index: str) -> None:
    for owner in ("/testcase/DC-T1", "/testresult/10001"):
        response = api.get(f"{owner}/step/{index}/attachments")
        assert response.status_code == 404
        assert spec.problems(response) == []


def test_results_for_an_unknown_run_answer_a_declared_status(
    dataset: dict[str, Any], spec: ServerSpec
) -> None:
    sim = ZephyrServerSimulator(dataset)
    with serve_in_thread(sim.app) as site, httpx.Client(base_url=site + API_PATH, auth=BASIC) as api:
        response = api.post(
            "/testrun/DC-C999/testresults",
            params={"environment": "Chrome Latest", "userKey": "JIRAUSER10100"},
            json=[{"testCaseKey": "DC-T1", "status": "Pass"}],
        )
    assert spec.problems(response) == []
