"""QTestClient over httpx.MockTransport: exact paths, query parameters, bodies and paging."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx
import pytest

from ztoq.errors import FatalApiError, ServerError
from ztoq.http import ApiSession, RetryPolicy
from ztoq.qtest import QTestClient
from ztoq.qtest import models as qm

T = TypeVar("T")
BASE = "https://acme.qtestnet.com"
P = "/api/v3/projects/7"


class Recorder:
    """Answers every request with ``answer(request)`` (default ``{"id": 1}``) and records it."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer or (lambda request: httpx.Response(200, json={"id": 1}))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    def calls(self) -> list[tuple[str, str, dict[str, str], Any]]:
        return [
            (r.method, r.url.path, dict(r.url.params), json.loads(r.content) if r.content else None)
            for r in self.requests
        ]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def client_for(recorder: Recorder, retry: RetryPolicy | None = None) -> QTestClient:
    session = ApiSession(
        httpx.AsyncClient(transport=httpx.MockTransport(recorder)),
        api_name="qTest",
        base_url=BASE,
        auth=lambda: "Bearer qtest-token",
        retry=retry or RetryPolicy(retry_count=0),
        owns_client=True,
    )
    return QTestClient(session, 7)


def one(obj: dict[str, Any]) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, json=obj)


LIST = lambda request: httpx.Response(200, json=[{"id": 1}])  # noqa: E731

CALLS: list[tuple[str, Callable[[QTestClient], Any], str, str, dict[str, str], Any]] = [
    ("project", lambda c: c.project(), "GET", P, {}, None),
    ("projects", lambda c: c.projects(), "GET", "/api/v3/projects", {}, None),
    ("users", lambda c: c.users(), "GET", f"{P}/users", {}, None),
    ("users inactive", lambda c: c.users(inactive=True), "GET", f"{P}/users", {"inactive": "true"}, None),
    ("permissions", lambda c: c.current_permissions(), "GET", f"{P}/user-profiles/current", {}, None),
    ("fields", lambda c: c.fields("test-runs"), "GET", f"{P}/settings/test-runs/fields", {}, None),
    (
        "fields inactive",
        lambda c: c.fields("requirements", include_inactive=True),
        "GET",
        f"{P}/settings/requirements/fields",
        {"includeInactive": "true"},
        None,
    ),
    ("statuses", lambda c: c.execution_statuses(), "GET", f"{P}/test-runs/execution-statuses", {}, None),
    (
        "create module",
        lambda c: c.create_module("Login", 5, "d"),
        "POST",
        f"{P}/modules",
        {"parentId": "5"},
        {"name": "Login", "description": "d"},
    ),
    ("create root module", lambda c: c.create_module("PROJ"), "POST", f"{P}/modules", {}, {"name": "PROJ"}),
    (
        "get module",
        lambda c: c.get_module(3, expand_descendants=True),
        "GET",
        f"{P}/modules/3",
        {"expand": "descendants"},
        None,
    ),
    ("list modules", lambda c: c.list_modules(), "GET", f"{P}/modules", {}, None),
    (
        "list sub-modules",
        lambda c: c.list_modules(4, expand_descendants=True, search="Lo"),
        "GET",
        f"{P}/modules",
        {"parentId": "4", "search": "Lo", "expand": "descendants"},
        None,
    ),
    (
        "update module",
        lambda c: c.update_module(3, qm.Module(name="N"), parent_id=9),
        "PUT",
        f"{P}/modules/3",
        {"parentId": "9"},
        {"name": "N"},
    ),
    (
        "delete module",
        lambda c: c.delete_module(3, force=True),
        "DELETE",
        f"{P}/modules/3",
        {"force": "true"},
        None,
    ),
    (
        "create test case",
        lambda c: c.create_test_case(
            qm.TestCase(name="T", parent_id=3, properties=[qm.Property(field_id=1)])
        ),
        "POST",
        f"{P}/test-cases",
        {},
        {"name": "T", "parent_id": 3, "properties": [{"field_id": 1}]},
    ),
    (
        "get test case",
        lambda c: c.get_test_case(11, expand_steps=True),
        "GET",
        f"{P}/test-cases/11",
        {"expand": "teststep"},
        None,
    ),
    ("get test case by pid", lambda c: c.get_test_case("TC-4"), "GET", f"{P}/test-cases/TC-4", {}, None),
    (
        "list test cases",
        lambda c: c.list_test_cases(3, page=2, size=50, expand_steps=True, expand_props=True),
        "GET",
        f"{P}/test-cases",
        {"parentId": "3", "page": "2", "size": "50", "expandSteps": "true", "expandProps": "true"},
        None,
    ),
    (
        "update test case",
        lambda c: c.update_test_case(11, {"name": "U"}),
        "PUT",
        f"{P}/test-cases/11",
        {},
        {"name": "U"},
    ),
    ("approve", lambda c: c.approve_test_case(11), "PUT", f"{P}/test-cases/11/approve", {}, None),
    ("delete test case", lambda c: c.delete_test_case(11), "DELETE", f"{P}/test-cases/11", {}, None),
    ("test steps", lambda c: c.test_steps(11), "GET", f"{P}/test-cases/11/test-steps", {}, None),
    (
        "add test step",
        lambda c: c.add_test_step(11, qm.TestStep(description="d", expected="e", order=1)),
        "POST",
        f"{P}/test-cases/11/test-steps",
        {},
        {"description": "d", "expected": "e", "order": 1},
    ),
    ("versions", lambda c: c.versions(11), "GET", f"{P}/test-cases/11/versions", {}, None),
    (
        "create release",
        lambda c: c.create_release(qm.Release(name="R1", start_date="2024-01-01T00:00:00Z")),
        "POST",
        f"{P}/releases",
        {},
        {"name": "R1", "start_date": "2024-01-01T00:00:00Z"},
    ),
    ("get release", lambda c: c.get_release(2), "GET", f"{P}/releases/2", {}, None),
    (
        "list releases",
        lambda c: c.list_releases(include_closed=True),
        "GET",
        f"{P}/releases",
        {"includeClosed": "true"},
        None,
    ),
    ("delete release", lambda c: c.delete_release(2), "DELETE", f"{P}/releases/2", {}, None),
    (
        "create test cycle",
        lambda c: c.create_test_cycle(qm.TestCycle(name="C"), 2, "release"),
        "POST",
        f"{P}/test-cycles",
        {"parentId": "2", "parentType": "release"},
        {"name": "C"},
    ),
    (
        "get test cycle",
        lambda c: c.get_test_cycle(5, expand="descendants"),
        "GET",
        f"{P}/test-cycles/5",
        {"expand": "descendants"},
        None,
    ),
    (
        "list test cycles",
        lambda c: c.list_test_cycles(5, "test-cycle", expand="descendants"),
        "GET",
        f"{P}/test-cycles",
        {"parentId": "5", "parentType": "test-cycle", "expand": "descendants"},
        None,
    ),
    (
        "update test cycle",
        lambda c: c.update_test_cycle(5, {"name": "C2"}),
        "PUT",
        f"{P}/test-cycles/5",
        {},
        {"name": "C2"},
    ),
    (
        "delete test cycle",
        lambda c: c.delete_test_cycle(5, force=True),
        "DELETE",
        f"{P}/test-cycles/5",
        {"force": "true"},
        None,
    ),
    (
        "create test suite",
        lambda c: c.create_test_suite(qm.TestSuite(name="S"), 5, "test-cycle"),
        "POST",
        f"{P}/test-suites",
        {"parentId": "5", "parentType": "test-cycle"},
        {"name": "S"},
    ),
    ("get test suite", lambda c: c.get_test_suite(6), "GET", f"{P}/test-suites/6", {}, None),
    (
        "list test suites",
        lambda c: c.list_test_suites(5, "test-cycle"),
        "GET",
        f"{P}/test-suites",
        {"parentId": "5", "parentType": "test-cycle"},
        None,
    ),
    ("delete test suite", lambda c: c.delete_test_suite(6), "DELETE", f"{P}/test-suites/6", {}, None),
    (
        "create test run",
        lambda c: c.create_test_run(qm.TestRun(name="R", test_case=qm.TestCase(id=11)), 5, "test-cycle"),
        "POST",
        f"{P}/test-runs",
        {"parentId": "5", "parentType": "test-cycle"},
        {"name": "R", "test_case": {"id": 11}},
    ),
    ("get test run", lambda c: c.get_test_run(8), "GET", f"{P}/test-runs/8", {}, None),
    (
        "update test run",
        lambda c: c.update_test_run(8, {"name": "R2"}, 6, "test-suite"),
        "PUT",
        f"{P}/test-runs/8",
        {"parentId": "6", "parentType": "test-suite"},
        {"name": "R2"},
    ),
    ("delete test run", lambda c: c.delete_test_run(8), "DELETE", f"{P}/test-runs/8", {}, None),
    (
        "create test log",
        lambda c: c.create_test_log(
            8,
            qm.ManualTestLog(
                status=qm.Status(id=601),
                exe_start_date="2024-05-01T10:00:00Z",
                exe_end_date="2024-05-01T10:05:00Z",
                note="ok",
                test_step_logs=[
                    qm.TestStepLog(test_step_id=3, status=qm.Status(id=601), actual_result="fine")
                ],
            ),
        ),
        "POST",
        f"{P}/test-runs/8/test-logs",
        {},
        {
            "status": {"id": 601},
            "exe_start_date": "2024-05-01T10:00:00Z",
            "exe_end_date": "2024-05-01T10:05:00Z",
            "note": "ok",
            "test_step_logs": [{"test_step_id": 3, "status": {"id": 601}, "actual_result": "fine"}],
        },
    ),
    (
        "last test log",
        lambda c: c.last_test_log(8),
        "GET",
        f"{P}/test-runs/8/test-logs/last-run",
        {},
        None,
    ),
    (
        "link requirement",
        lambda c: c.link_requirement_to_test_cases(4, [11, 12]),
        "POST",
        f"{P}/requirements/4/link",
        {"type": "test-cases"},
        [11, 12],
    ),
]


@pytest.mark.parametrize(
    ("name", "call", "method", "path", "params", "body"), CALLS, ids=[c[0] for c in CALLS]
)
def test_request_shape(
    name: str, call: Callable[[QTestClient], Any], method: str, path: str, params: dict[str, str], body: Any
) -> None:
    plural = any(
        word in name for word in ("projects", "users", "fields", "statuses", "list", "steps", "versions")
    )
    recorder = Recorder(LIST if plural else None)
    run(call(client_for(recorder)))
    assert recorder.calls() == [(method, path, params, body)]
    assert recorder.requests[0].headers["authorization"] == "Bearer qtest-token"


def test_answers_are_models_with_unknown_fields_kept() -> None:
    answer = {
        "id": 11,
        "pid": "TC-11",
        "name": "T",
        "properties": [{"field_id": 2, "field_value": 5}],
        "new": 1,
    }
    client = client_for(Recorder(one(answer)))
    case = run(client.get_test_case(11))
    assert isinstance(case, qm.TestCase)
    assert case.pid == "TC-11"
    assert case.properties is not None
    assert case.properties[0].field_value == "5"
    assert case.model_extra == {"new": 1}


def test_iter_test_cases_walks_pages_until_a_short_one() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        ids = {1: [1, 2], 2: [3, 4], 3: [5]}[page]
        return httpx.Response(200, json=[{"id": i} for i in ids])

    recorder = Recorder(answer)

    async def main() -> list[int | None]:
        return [case.id async for case in client_for(recorder).iter_test_cases(3, size=2)]

    assert run(main()) == [1, 2, 3, 4, 5]
    assert [r.url.params["page"] for r in recorder.requests] == ["1", "2", "3"]
    assert {r.url.params["parentId"] for r in recorder.requests} == {"3"}


def test_iter_test_cases_refuses_a_server_ignoring_page() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, json=[{"id": 1}, {"id": 2}]))

    async def main() -> None:
        async for _ in client_for(recorder).iter_test_cases(size=2):
            pass

    with pytest.raises(FatalApiError):
        run(main())


def envelope(items: list[int], total: int, page_size: int) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        chunk = items[(page - 1) * page_size : page * page_size]
        body = {
            "links": [],
            "page": page,
            "page_size": page_size,
            "total": total,
            "items": [{"id": i} for i in chunk],
        }
        return httpx.Response(200, json=body)

    return answer


def test_list_test_runs_reads_every_page_of_the_envelope() -> None:
    recorder = Recorder(envelope(list(range(1, 8)), 7, 3))
    runs = run(client_for(recorder).list_test_runs(5, "test-cycle", page_size=3))
    assert [r.id for r in runs] == [1, 2, 3, 4, 5, 6, 7]
    assert recorder.calls()[0] == (
        "GET",
        f"{P}/test-runs",
        {"parentId": "5", "parentType": "test-cycle", "page": "1", "pageSize": "3"},
        None,
    )
    assert len(recorder.requests) == 3


def test_envelope_trusts_the_echoed_page_size() -> None:
    # Asked for 100, the server caps at 2 and says so: keep paging.
    recorder = Recorder(envelope(list(range(1, 6)), 5, 2))
    logs = run(client_for(recorder).list_test_logs(8))
    assert [log.id for log in logs] == [1, 2, 3, 4, 5]
    assert recorder.requests[0].url.params["pageSize"] == "100"
    assert recorder.requests[0].url.path == f"{P}/test-runs/8/test-logs"


def test_search_posts_the_query_and_reads_all_pages() -> None:
    recorder = Recorder(envelope([10, 11, 12], 3, 2))

    async def main() -> list[Any]:
        client = client_for(recorder)
        return [item async for item in client.search("test-cases", "'name' = 'Login'", page_size=2)]

    assert run(main()) == [{"id": 10}, {"id": 11}, {"id": 12}]
    assert recorder.calls() == [
        (
            "POST",
            f"{P}/search",
            {"page": str(page), "pageSize": "2"},
            {"object_type": "test-cases", "fields": ["*"], "query": "'name' = 'Login'"},
        )
        for page in (1, 2)
    ]


def test_search_is_retried_as_a_read() -> None:
    answers = iter([httpx.Response(500), httpx.Response(200, json={"items": [{"id": 1}], "total": 1})])
    recorder = Recorder(lambda request: next(answers))
    client = client_for(recorder, RetryPolicy(retry_count=2, base_delay=0))

    async def main() -> list[Any]:
        return [item async for item in client.search("test-runs", "'id' > 0")]

    assert run(main()) == [{"id": 1}]


def test_creates_are_not_resent_after_a_500() -> None:
    recorder = Recorder(lambda request: httpx.Response(500))
    client = client_for(recorder, RetryPolicy(retry_count=3, base_delay=0))
    with pytest.raises(ServerError):
        run(client.create_test_run({"name": "R", "test_case": {"id": 1}}, 5, "test-cycle"))
    assert len(recorder.requests) == 1


def test_list_requirements_reads_all_pages() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return httpx.Response(200, json=[{"id": i} for i in ([1, 2] if page == 1 else [3])])

    recorder = Recorder(answer)
    assert [r.id for r in run(client_for(recorder).list_requirements(9, size=2))] == [1, 2, 3]
    assert recorder.calls()[0] == (
        "GET",
        f"{P}/requirements",
        {"parentId": "9", "page": "1", "size": "2"},
        None,
    )


def test_upload_attachment_sends_raw_bytes_with_headers() -> None:
    recorder = Recorder(one({"id": 4, "name": "shot.png", "content_type": "image/png"}))
    attachment = run(
        client_for(recorder).upload_attachment("test-logs", 9, "shot.png", "image/png", b"\x89PNG")
    )
    assert attachment.name == "shot.png"
    request = recorder.requests[0]
    assert (request.method, request.url.path) == ("POST", f"{P}/test-logs/9/blob-handles")
    assert request.headers["file-name"] == "shot.png"
    assert request.headers["content-type"] == "image/png"
    assert request.content == b"\x89PNG"


def test_non_ascii_file_names_are_percent_encoded() -> None:
    recorder = Recorder(one({"id": 4}))
    run(client_for(recorder).upload_attachment("test-cases", 1, "résumé (1).txt", "text/plain", b"x"))
    assert recorder.requests[0].headers["file-name"] == "r%C3%A9sum%C3%A9 (1).txt"


def test_last_test_log_is_none_without_logs() -> None:
    recorder = Recorder(lambda request: httpx.Response(404, json={"message": "no log"}))
    assert run(client_for(recorder).last_test_log(8)) is None


def test_fields_rejects_unknown_object_types() -> None:
    with pytest.raises(ValueError):
        run(client_for(Recorder()).fields("testcases"))


def test_unexpected_answer_shape_is_a_clear_error() -> None:
    from ztoq.errors import ApiError

    recorder = Recorder(one({"not": "a list"}))
    with pytest.raises(ApiError) as info:
        run(client_for(recorder).list_modules())
    assert "where a list of Module was expected" in str(info.value)
