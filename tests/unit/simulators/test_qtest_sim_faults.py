"""Faults and counters through the qTest simulator's app, in process and on a real socket."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from ztoq.serving import serve_in_thread
from ztoq.simulators.faults import DroppedConnection, FaultOptions
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator

AUTH = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}


def burst(
    sim: QTestSimulator, requests: list[tuple[str, str]], **kw: Any
) -> list[httpx.Response | Exception]:
    """Send requests one after the other within one event loop; keep exceptions as results."""

    async def go() -> list[httpx.Response | Exception]:
        out: list[httpx.Response | Exception] = []
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://qtest.test") as client:
            for method, path in requests:
                try:
                    out.append(await client.request(method, path, headers=AUTH, **kw))
                except DroppedConnection as exc:
                    out.append(exc)
        return out

    return asyncio.run(go())


def test_rate_limit_answers_429_with_retry_after_and_message() -> None:
    sim = QTestSimulator(faults=FaultOptions(rate_limit=2))
    results = burst(sim, [("GET", "/api/v3/projects")] * 4)
    statuses = [r.status_code for r in results if isinstance(r, httpx.Response)]
    assert statuses[:2] == [200, 200]
    limited = [r for r in results if isinstance(r, httpx.Response) and r.status_code == 429]
    assert limited
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert set(limited[0].json()) == {"message"}
    assert sim.stats.rate_limited == len(limited)


def test_injected_failures_are_5xx_with_message_or_dropped_connections() -> None:
    sim = QTestSimulator(faults=FaultOptions(fail_rate=1.0, seed=11))
    results = burst(sim, [("GET", "/api/v3/projects/1")] * 12)
    answered = [r for r in results if isinstance(r, httpx.Response)]
    assert all(r.status_code in (500, 502, 503) for r in answered)
    assert all(set(r.json()) == {"message"} for r in answered)
    dropped = [r for r in results if isinstance(r, Exception)]
    assert sim.stats.injected_failures == 12
    assert sim.stats.dropped_connections == len(dropped)


def test_latency_and_stats_by_endpoint_template() -> None:
    sim = QTestSimulator(faults=FaultOptions(latency_ms=30))
    started = time.monotonic()
    burst(sim, [("GET", "/api/v3/projects/1/test-cases"), ("GET", "/api/v3/projects/1/test-cases/77")])
    assert time.monotonic() - started >= 0.06
    stats = burst(sim, [("GET", "/_sim/stats")])[0]
    assert isinstance(stats, httpx.Response)
    endpoints = stats.json()["endpoints"]
    assert endpoints["GET /api/v3/projects/{projectId}/test-cases"] == {"200": 1}
    assert endpoints["GET /api/v3/projects/{projectId}/test-cases/{testCaseId}"] == {"404": 1}
    assert sim.stats.total(method="GET") == 2


def test_served_on_a_real_socket() -> None:
    sim = QTestSimulator.generated(seed=2)
    with serve_in_thread(sim.app) as base_url:
        projects = httpx.get(f"{base_url}/api/v3/projects", headers=AUTH, timeout=10)
        assert projects.status_code == 200
        project = projects.json()[0]["id"]
        module = httpx.post(
            f"{base_url}/api/v3/projects/{project}/modules", json={"name": "M"}, headers=AUTH, timeout=10
        )
        assert module.status_code == 201
        assert module.json()["links"][0]["href"].startswith(base_url)
        assert httpx.get(f"{base_url}/api/v3/projects", timeout=10).status_code == 401
