"""ZephyrClient over httpx.MockTransport: paths, parameters, paging, NextGen fallback and writes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import SecretStr

from ztoq.config import NetworkConfig, PerformanceConfig, ZephyrConfig
from ztoq.errors import PermissionDenied
from ztoq.http import ApiSession, RetryPolicy
from ztoq.sources.zephyr_cloud import ZephyrClient
from ztoq.sources.zephyr_cloud.client import MAX_PAGE_SIZE

T = TypeVar("T")
BASE = "https://api.zephyrscale.smartbear.com/v2"
Route = Callable[[httpx.Request], httpx.Response]


class FakeZephyr:
    """Routes by ``(method, path)``; unknown routes answer 404 like the real API."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get((request.method, request.url.path))
        if route is None:
            return httpx.Response(404, json={"errorCode": 404, "message": "not found"})
        return route(request)

    def json(self, method: str, path: str, body: Any, status: int = 200) -> None:
        self.routes[(method, "/v2" + path)] = lambda request: httpx.Response(status, json=body)

    def offset(self, path: str, items: list[dict[str, Any]], cap: int = 100) -> None:
        def route(request: httpx.Request) -> httpx.Response:
            start = int(request.url.params.get("startAt", 0))
            size = min(int(request.url.params.get("maxResults", 10)), cap)
            values = items[start : start + size]
            last = start + size >= len(items)
            body = {
                "startAt": start,
                "maxResults": size,
                "total": len(items),
                "isLast": last,
                "values": values,
            }
            return httpx.Response(200, json=body)

        self.routes[("GET", "/v2" + path)] = route

    def cursor(self, path: str, items: list[dict[str, Any]], cap: int = 100) -> None:
        def route(request: httpx.Request) -> httpx.Response:
            start = int(request.url.params.get("startAtId", 0))
            size = min(int(request.url.params.get("limit", 10)), cap)
            matching = [item for item in items if item["id"] >= start]
            values = matching[:size]
            following = values[-1]["id"] + 1 if len(matching) > size else None
            return httpx.Response(200, json={"limit": size, "nextStartAtId": following, "values": values})

        self.routes[("GET", "/v2" + path)] = route

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]

    def params(self, index: int = -1) -> dict[str, str]:
        return dict(self.requests[index].url.params)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def client_for(fake: FakeZephyr, page_size: int = 100) -> ZephyrClient:
    session = ApiSession(
        httpx.AsyncClient(transport=httpx.MockTransport(fake)),
        api_name="Zephyr",
        base_url=BASE,
        auth=lambda: "Bearer zephyr-token",
        retry=RetryPolicy(retry_count=0),
        owns_client=True,
    )
    return ZephyrClient(session, page_size=page_size)


async def collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


CASES = [{"id": i, "key": f"PROJ-T{i}"} for i in range(1, 8)]


def test_test_cases_prefer_the_nextgen_cursor_endpoint() -> None:
    fake = FakeZephyr()
    fake.cursor("/testcases/nextgen", CASES, cap=3)
    client = client_for(fake)
    assert run(collect(client.test_cases("PROJ"))) == CASES
    assert fake.paths() == ["GET /v2/testcases/nextgen"] * 3
    assert [fake.params(i) for i in range(3)] == [
        {"projectKey": "PROJ", "limit": "100", "startAtId": str(start)} for start in (0, 4, 7)
    ]
    assert client.nextgen_supported == {"testcases": True}
    assert fake.requests[0].headers["authorization"] == "Bearer zephyr-token"


@pytest.mark.parametrize("status", [400, 404, 405])
def test_nextgen_missing_falls_back_to_offset_and_is_remembered(status: int) -> None:
    fake = FakeZephyr()
    fake.json("GET", "/testcases/nextgen", {"errorCode": status, "message": "no"}, status=status)
    fake.offset("/testcases", CASES, cap=5)
    client = client_for(fake)

    async def twice() -> tuple[list[Any], list[Any]]:
        return await collect(client.test_cases("PROJ", folder_id=9)), await collect(client.test_cases("PROJ"))

    first, second = run(twice())
    assert first == CASES
    assert second == CASES
    assert fake.paths().count("GET /v2/testcases/nextgen") == 1
    assert fake.params(1) == {"projectKey": "PROJ", "folderId": "9", "startAt": "0", "maxResults": "100"}
    assert client.nextgen_supported == {"testcases": False}


def test_nextgen_answer_without_cursor_fields_is_not_trusted() -> None:
    fake = FakeZephyr()
    fake.json("GET", "/testcases/nextgen", {"startAt": 0, "maxResults": 2, "values": CASES[:2]})
    fake.offset("/testcases", CASES)
    client = client_for(fake)
    assert run(collect(client.test_cases("PROJ"))) == CASES
    assert client.nextgen_supported == {"testcases": False}


def test_nextgen_permission_error_is_not_a_fallback() -> None:
    fake = FakeZephyr()
    fake.json("GET", "/testcases/nextgen", {"message": "no access"}, status=403)
    with pytest.raises(PermissionDenied):
        run(collect(client_for(fake).test_cases("PROJ")))


def test_echoed_max_results_is_trusted_when_the_server_caps_pages() -> None:
    fake = FakeZephyr()
    items = [{"id": i} for i in range(250)]
    fake.offset("/testcycles", items, cap=100)
    client = client_for(fake, page_size=1000)
    assert run(collect(client.test_cycles("PROJ"))) == items
    assert [fake.params(i)["startAt"] for i in range(3)] == ["0", "100", "200"]
    assert {fake.params(i)["maxResults"] for i in range(3)} == {"1000"}


def test_test_executions_ask_for_all_executions() -> None:
    fake = FakeZephyr()
    executions = [{"id": i} for i in range(1, 4)]
    fake.cursor("/testexecutions/nextgen", executions)
    client = client_for(fake)
    after = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    found = run(
        collect(
            client.test_executions(
                "PROJ", test_cycle="PROJ-R1", test_case="PROJ-T1", actual_end_date_after=after
            )
        )
    )
    assert found == executions
    assert fake.params(0) == {
        "projectKey": "PROJ",
        "testCycle": "PROJ-R1",
        "testCase": "PROJ-T1",
        "actualEndDateAfter": "2024-05-01T10:00:00Z",
        "onlyLastExecutions": "false",
        "limit": "100",
        "startAtId": "0",
    }


def test_test_executions_fall_back_independently_of_test_cases() -> None:
    fake = FakeZephyr()
    fake.cursor("/testcases/nextgen", CASES)
    fake.offset("/testexecutions", [{"id": 1}])
    client = client_for(fake)

    async def both() -> tuple[list[Any], list[Any]]:
        naive = datetime(2024, 1, 2, 3, 4, 5)
        executions = await collect(client.test_executions("PROJ", actual_end_date_after=naive))
        return await collect(client.test_cases("PROJ")), executions

    cases, executions = run(both())
    assert (cases, executions) == (CASES, [{"id": 1}])
    assert client.nextgen_supported == {"testcases": True, "testexecutions": False}
    offset_call = next(r for r in fake.requests if r.url.path == "/v2/testexecutions")
    assert offset_call.url.params["actualEndDateAfter"] == "2024-01-02T03:04:05Z"
    assert offset_call.url.params["onlyLastExecutions"] == "false"


def test_steps_are_read_across_all_pages() -> None:
    fake = FakeZephyr()
    steps = [{"inline": {"description": f"step {i}"}} for i in range(23)]
    fake.offset("/testcases/PROJ-T1/teststeps", steps, cap=10)
    fake.offset("/testexecutions/PROJ-E1/teststeps", steps[:12], cap=5)
    client = client_for(fake)
    assert run(client.test_steps("PROJ-T1")) == steps
    assert run(client.execution_steps("PROJ-E1")) == steps[:12]


def test_missing_test_script_is_none() -> None:
    fake = FakeZephyr()
    fake.json("GET", "/testcases/PROJ-T2/testscript", {"id": 1, "type": "plain", "text": "do it"})
    client = client_for(fake)
    assert run(client.test_script("PROJ-T1")) is None
    assert run(client.test_script("PROJ-T2")) == {"id": 1, "type": "plain", "text": "do it"}


@pytest.mark.parametrize(
    ("call", "path"),
    [
        (lambda c: c.project("PROJ"), "/v2/projects/PROJ"),
        (lambda c: c.test_case("PROJ-T1"), "/v2/testcases/PROJ-T1"),
        (lambda c: c.test_case_version("PROJ-T1", 3), "/v2/testcases/PROJ-T1/versions/3"),
        (lambda c: c.test_case_links("PROJ-T1"), "/v2/testcases/PROJ-T1/links"),
        (lambda c: c.test_cycle("PROJ-R1"), "/v2/testcycles/PROJ-R1"),
        (lambda c: c.test_cycle_links(12), "/v2/testcycles/12/links"),
        (lambda c: c.test_plan("PROJ-P1"), "/v2/testplans/PROJ-P1"),
        (lambda c: c.test_execution("PROJ-E1"), "/v2/testexecutions/PROJ-E1"),
        (lambda c: c.test_execution_links(5), "/v2/testexecutions/5/links"),
        (lambda c: c.test_case("a/b?c"), "/v2/testcases/a%2Fb%3Fc"),
    ],
)
def test_single_reads(call: Callable[[ZephyrClient], Any], path: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": 1})

    fake = FakeZephyr()
    fake.routes = {}
    client = client_for(fake)
    client.session = ApiSession(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)), api_name="Zephyr", base_url=BASE
    )
    assert run(call(client)) == {"id": 1}
    assert seen[0].method == "GET"
    assert seen[0].url.raw_path.decode().split("?")[0] == path


@pytest.mark.parametrize(
    ("call", "path", "params"),
    [
        (lambda c: c.projects(), "/v2/projects", {}),
        (
            lambda c: c.folders("PROJ", "TEST_CASE"),
            "/v2/folders",
            {"projectKey": "PROJ", "folderType": "TEST_CASE"},
        ),
        (lambda c: c.folders("PROJ"), "/v2/folders", {"projectKey": "PROJ"}),
        (
            lambda c: c.statuses("PROJ", "TEST_EXECUTION"),
            "/v2/statuses",
            {"projectKey": "PROJ", "statusType": "TEST_EXECUTION"},
        ),
        (lambda c: c.priorities("PROJ"), "/v2/priorities", {"projectKey": "PROJ"}),
        (lambda c: c.environments("PROJ"), "/v2/environments", {"projectKey": "PROJ"}),
        (lambda c: c.test_cycles("PROJ"), "/v2/testcycles", {"projectKey": "PROJ"}),
        (lambda c: c.test_plans("PROJ"), "/v2/testplans", {"projectKey": "PROJ"}),
    ],
)
def test_list_reads(call: Callable[[ZephyrClient], Any], path: str, params: dict[str, str]) -> None:
    fake = FakeZephyr()
    fake.offset(path.removeprefix("/v2"), [{"id": 1}, {"id": 2}])
    assert run(collect(call(client_for(fake)))) == [{"id": 1}, {"id": 2}]
    assert fake.params(0) == {**params, "startAt": "0", "maxResults": "100"}


def test_versions_are_listed_across_pages() -> None:
    fake = FakeZephyr()
    versions = [{"id": i, "self": f"{BASE}/testcases/PROJ-T1/versions/{i}"} for i in range(1, 5)]
    fake.offset("/testcases/PROJ-T1/versions", versions, cap=3)
    assert run(client_for(fake).test_case_versions("PROJ-T1")) == versions


def test_writes() -> None:
    fake = FakeZephyr()
    created = {"id": 1, "key": "PROJ-T1", "self": f"{BASE}/testcases/PROJ-T1"}
    for path in ("/testcases", "/testcycles", "/testplans", "/testexecutions", "/folders"):
        fake.json("POST", path, created, status=201)
    for path in ("/testcases/PROJ-T1/teststeps", "/testcases/PROJ-T1/testscript"):
        fake.json("POST", path, {"id": 9}, status=201)
    fake.json("POST", "/testcases/PROJ-T1/links/issues", {"id": 3}, status=201)
    fake.json("POST", "/testcycles/PROJ-R1/links/weblinks", {"id": 4}, status=201)
    fake.json("PUT", "/testcases/PROJ-T1", None)
    fake.json("PUT", "/testexecutions/7", None)
    client = client_for(fake)

    async def main() -> None:
        assert await client.create_test_case({"projectKey": "PROJ", "name": "A"}) == created
        steps = [{"inline": {"description": f"s{i}"}} for i in range(250)]
        assert len(await client.create_test_steps("PROJ-T1", steps, mode="OVERWRITE")) == 3
        await client.create_test_script("PROJ-T1", "Given x", script_type="bdd")
        await client.create_test_cycle({"projectKey": "PROJ", "name": "C"})
        await client.create_test_plan({"projectKey": "PROJ", "name": "P"})
        await client.create_test_execution({"projectKey": "PROJ", "testCaseKey": "PROJ-T1"})
        await client.create_folder("PROJ", "F", "TEST_CASE")
        await client.add_issue_link("testcases", "PROJ-T1", 10100)
        await client.add_web_link("testcycles", "PROJ-R1", "https://x.example", "docs")
        await client.update_test_case("PROJ-T1", {"name": "B"})
        await client.update_test_execution(7, {"statusName": "Pass"})

    run(main())
    bodies = [(r.method, r.url.path, json.loads(r.content) if r.content else None) for r in fake.requests]
    step_posts = [b for m, p, b in bodies if p.endswith("/teststeps") and b is not None]
    assert [(b["mode"], len(b["items"])) for b in step_posts] == [
        ("OVERWRITE", 100),
        ("APPEND", 100),
        ("APPEND", 50),
    ]
    assert ("POST", "/v2/testcases/PROJ-T1/testscript", {"type": "bdd", "text": "Given x"}) in bodies
    folder = {"projectKey": "PROJ", "name": "F", "folderType": "TEST_CASE", "parentId": None}
    assert ("POST", "/v2/folders", folder) in bodies
    assert ("POST", "/v2/testcases/PROJ-T1/links/issues", {"issueId": 10100}) in bodies
    assert (
        "POST",
        "/v2/testcycles/PROJ-R1/links/weblinks",
        {"url": "https://x.example", "description": "docs"},
    ) in bodies
    assert ("PUT", "/v2/testcases/PROJ-T1", {"name": "B"}) in bodies
    assert ("PUT", "/v2/testexecutions/7", {"statusName": "Pass"}) in bodies


def test_from_config() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": 1, "key": "PROJ"})

    config = ZephyrConfig(
        base_url="https://eu.api.zephyrscale.smartbear.com/v2",
        api_token=SecretStr("zephyr-SECRET-abc123"),
        project_key="PROJ",
        rate_limit_delay=0.5,
        auto_retry=False,
        page_size=250,
    )
    client = ZephyrClient.from_config(
        config,
        network=NetworkConfig(retry_count=3),
        performance=PerformanceConfig(max_workers=4),
        transport=httpx.MockTransport(handler),
    )
    assert client.page_size == 250
    assert client.session.retry.retry_count == 0
    assert "SECRET" not in repr(client)

    async def main() -> Any:
        async with client.session:
            return await client.project("PROJ")

    assert run(main()) == {"id": 1, "key": "PROJ"}
    assert str(seen[0].url) == "https://eu.api.zephyrscale.smartbear.com/v2/projects/PROJ"
    assert seen[0].headers["authorization"] == "Bearer zephyr-SECRET-abc123"


def test_from_config_retry_count_precedence() -> None:
    network = NetworkConfig(retry_count=3)
    explicit = ZephyrClient.from_config(ZephyrConfig(retry_count=5), network=network)
    inherited = ZephyrClient.from_config(ZephyrConfig(), network=network)
    assert (explicit.session.retry.retry_count, inherited.session.retry.retry_count) == (5, 3)
    run(explicit.aclose())
    run(inherited.aclose())


def test_naive_and_aware_dates_are_sent_in_utc() -> None:
    from ztoq.sources.zephyr_cloud.client import _zephyr_datetime

    assert _zephyr_datetime(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01T00:00:00Z"
    assert _zephyr_datetime("2024-01-01T00:00:00Z") == "2024-01-01T00:00:00Z"


def test_listings_come_page_by_page_with_where_to_resume() -> None:
    fake = FakeZephyr()
    fake.cursor("/testcases/nextgen", CASES, cap=3)
    client = client_for(fake)
    pages = run(collect(client.test_case_pages("PROJ")))
    assert pages == [
        (CASES[:3], {"startAtId": 4, "exact": True}),
        (CASES[3:6], {"startAtId": 7, "exact": True}),
        (CASES[6:], None),
    ]
    fake.requests.clear()
    assert run(collect(client.test_case_pages("PROJ", {"startAtId": 7, "exact": True}))) == [
        (CASES[6:], None)
    ]
    assert fake.params(0)["startAtId"] == "7"


def test_an_offset_position_resumes_on_the_offset_endpoint_without_probing() -> None:
    fake = FakeZephyr()
    fake.offset("/testexecutions", [{"id": i} for i in range(1, 8)], cap=3)
    client = client_for(fake)
    pages = run(collect(client.test_execution_pages("PROJ", resume={"startAt": 3})))
    assert pages == [([{"id": 4}, {"id": 5}, {"id": 6}], {"startAt": 6}), ([{"id": 7}], None)]
    assert fake.paths() == ["GET /v2/testexecutions"] * 2
    assert fake.params(0)["startAt"] == "3"


def test_listings_ask_for_the_largest_page_unless_a_page_size_is_set() -> None:
    config = ZephyrConfig(base_url=BASE, project_key="PROJ")
    assert ZephyrClient.from_config(config).page_size == MAX_PAGE_SIZE == 1000
    sized = ZephyrConfig(base_url=BASE, project_key="PROJ", page_size=50)
    assert ZephyrClient.from_config(sized).page_size == 50
