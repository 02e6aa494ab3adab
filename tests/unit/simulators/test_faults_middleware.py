"""The fault middleware both simulators share: counters, rate limit, injected failures, latency."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ztoq.serving import serve_in_thread
from ztoq.simulators.faults import (
    FaultMiddleware,
    FaultOptions,
    RequestStats,
    SlidingWindowLimiter,
    endpoint_template,
)


async def item(request: Request) -> JSONResponse:
    return JSONResponse({"key": request.path_params["key"]})


def make_app(options: FaultOptions) -> tuple[Any, RequestStats]:
    stats = RequestStats()
    inner = Starlette(routes=[Route("/v2/items/{key}", item)])
    app = FaultMiddleware(
        inner,
        options,
        stats,
        rate_limited_body=lambda s: {"errorCode": 429, "message": f"retry in {s}s"},
        failure_body=lambda code: {"errorCode": code, "message": "injected"},
    )
    return app, stats


def call(app: Any, paths: list[str], headers: dict[str, str] | None = None) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return [await client.get(p, headers=headers or {}) for p in paths]

    return asyncio.run(go())


def test_counts_by_endpoint_template_and_status() -> None:
    app, stats = make_app(FaultOptions())
    responses = call(app, ["/v2/items/A-1", "/v2/items/B-2", "/v2/nothing"])
    assert [r.status_code for r in responses] == [200, 200, 404]
    snap = call(app, ["/_sim/stats"])[0].json()
    assert snap["endpoints"]["GET /v2/items/{key}"] == {"200": 2}
    assert snap["endpoints"]["GET /v2/nothing"] == {"404": 1}
    assert snap["total"] == 3
    assert stats.total(method="GET") == 3


def test_rate_limit_answers_429_with_retry_after_per_token() -> None:
    app, stats = make_app(FaultOptions(rate_limit=2))
    responses = call(app, ["/v2/items/A"] * 4, {"Authorization": "Bearer one"})
    codes = [r.status_code for r in responses]
    assert codes[:2] == [200, 200]
    assert 429 in codes[2:]
    limited = next(r for r in responses if r.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["errorCode"] == 429
    other = call(app, ["/v2/items/A"], {"Authorization": "Bearer two"})[0]
    assert other.status_code == 200, "the limit is per token"
    assert stats.rate_limited >= 1


def test_the_timeline_counts_only_the_requests_the_quota_let_through() -> None:
    app, _stats = make_app(FaultOptions(rate_limit=2))
    before = int(time.time())
    call(app, ["/v2/items/A"] * 5, {"Authorization": "Bearer one"})
    plain, timed = call(app, ["/_sim/stats", "/_sim/stats?timeline=1"])
    assert "admitted_per_second" not in plain.json(), "only asked for"
    admitted = {int(second): n for second, n in timed.json()["admitted_per_second"].items()}
    assert sum(admitted.values()) == 5 - timed.json()["rate_limited"] >= 2
    assert all(before <= second <= time.time() for second in admitted)


def test_fail_rate_one_fails_everything_reproducibly() -> None:
    app, stats = make_app(FaultOptions(fail_rate=1.0, seed=3))
    responses = call(app, ["/v2/items/A"] * 30)
    assert all(r.status_code in (500, 502, 503) or r.status_code == 200 for r in responses)
    assert stats.injected_failures == 30
    assert stats.dropped_connections > 0
    assert {r.status_code for r in responses} & {500, 502, 503}


def test_dropped_connection_is_a_protocol_error_on_a_real_socket() -> None:
    app, _ = make_app(FaultOptions(fail_rate=1.0, seed=0))
    seen: set[str] = set()
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as client:
        for _ in range(20):
            try:
                seen.add(str(client.get("/v2/items/A").status_code))
            except httpx.TransportError as exc:
                seen.add(type(exc).__name__)
    assert seen - {"500", "502", "503"}, f"expected some dropped connections, saw {seen}"


def test_latency_is_applied() -> None:
    app, _ = make_app(FaultOptions(latency_ms=60))
    start = time.monotonic()
    call(app, ["/v2/items/A"])
    assert time.monotonic() - start >= 0.05


def test_stats_reset_with_delete() -> None:
    app, stats = make_app(FaultOptions())
    call(app, ["/v2/items/A"])

    async def delete() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.delete("/_sim/stats")

    assert asyncio.run(delete()).json()["total"] == 0
    assert stats.total() == 0


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        ("/v2/testcases/P-T1", {"testCaseKey": "P-T1"}, "/v2/testcases/{testCaseKey}"),
        (
            "/v2/testcases/P-T1/versions/1",
            {"testCaseKey": "P-T1", "version": 1},
            "/v2/testcases/{testCaseKey}/versions/{version}",
        ),
        ("/v2/projects", {}, "/v2/projects"),
    ],
)
def test_endpoint_template(path: str, params: dict[str, Any], expected: str) -> None:
    assert endpoint_template({"path": path, "path_params": params}) == expected


def test_sliding_window_limiter() -> None:
    limiter = SlidingWindowLimiter(3)
    assert [limiter.check("k", now=t) for t in (0.0, 0.1, 0.2)] == [0.0, 0.0, 0.0]
    wait = limiter.check("k", now=0.3)
    assert 0.6 < wait <= 0.7 + 1e-9
    assert limiter.check("k", now=1.05) == 0.0
