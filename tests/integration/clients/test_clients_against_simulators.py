"""ZephyrClient and QTestClient against the in-package simulators, in process (ASGI transport).

Injected faults (20 % of requests answered 500/502/503 or dropped mid-body) must not change
what the clients read: retries deliver full results.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest

from ztoq.errors import AuthenticationFailed
from ztoq.http import ApiSession, RetryPolicy
from ztoq.qtest import QTestAuth, QTestClient
from ztoq.qtest import models as qm
from ztoq.simulators.faults import FaultOptions
from ztoq.simulators.qtest import DEFAULT_QTEST_PASSWORD, DEFAULT_QTEST_USER, QTestSimulator
from ztoq.simulators.zephyr import DEFAULT_ZEPHYR_TOKEN, ZephyrSimulator
from ztoq.sources.records import FolderKind
from ztoq.sources.zephyr_cloud import ZephyrClient, decode

T = TypeVar("T")
RETRY = RetryPolicy(retry_count=40, base_delay=0.0, max_delay=0.0, budget_seconds=0)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def session_on(app: Any, base_url: str, api_name: str, **kwargs: Any) -> ApiSession:
    # raise_app_exceptions=False: an injected dropped connection then reaches the client as a
    # body shorter than its Content-Length, which is how a real socket would show it.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return ApiSession(
        httpx.AsyncClient(transport=transport),
        api_name=api_name,
        base_url=base_url,
        retry=kwargs.pop("retry", RETRY),
        owns_client=True,
        **kwargs,
    )


def zephyr_client(
    sim: ZephyrSimulator, page_size: int = 100, token: str = DEFAULT_ZEPHYR_TOKEN
) -> ZephyrClient:
    session = session_on(sim.app, "http://zephyr.sim/v2", "Zephyr", auth=lambda: f"Bearer {token}")
    return ZephyrClient(session, page_size=page_size)


async def extract(client: ZephyrClient) -> dict[str, Any]:
    """Everything extract reads, as raw JSON."""
    projects = [p async for p in client.projects()]
    key = projects[0]["key"]
    data: dict[str, Any] = {
        "projects": projects,
        "folders": [f async for f in client.folders(key)],
        "statuses": [s async for s in client.statuses(key)],
        "priorities": [p async for p in client.priorities(key)],
        "environments": [e async for e in client.environments(key)],
        "cases": [c async for c in client.test_cases(key)],
        "cycles": [c async for c in client.test_cycles(key)],
        "plans": [p async for p in client.test_plans(key)],
        "executions": [e async for e in client.test_executions(key)],
    }
    # Offset and NextGen endpoints may order items differently: compare as sorted lists.
    for name, items in data.items():
        data[name] = sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    data["cases"].sort(key=lambda case: case["id"])
    data["executions"].sort(key=lambda execution: execution["id"])
    data["steps"] = {c["key"]: await client.test_steps(c["key"]) for c in data["cases"]}
    data["scripts"] = {c["key"]: await client.test_script(c["key"]) for c in data["cases"]}
    data["versions"] = {c["key"]: await client.test_case_versions(c["key"]) for c in data["cases"]}
    data["links"] = {c["key"]: await client.test_case_links(c["key"]) for c in data["cases"][:10]}
    data["execution_steps"] = {
        e["id"]: await client.execution_steps(e["id"]) for e in data["executions"][:25]
    }
    await client.aclose()
    return data


@pytest.fixture(scope="module")
def clean_extract() -> dict[str, Any]:
    return run(extract(zephyr_client(ZephyrSimulator.generated(40, seed=1))))


def test_zephyr_generated_project_reads_whole_and_parses(clean_extract: dict[str, Any]) -> None:
    data = clean_extract
    assert len(data["cases"]) == 40
    assert data["executions"]
    assert len({c["key"] for c in data["cases"]}) == 40
    # Everything read decodes into canonical records with what mapping needs.
    for case in data["cases"]:
        record = decode.case(case, data["steps"][case["key"]], data["scripts"][case["key"]])
        assert record.key == case["key"]
        assert record.priority is not None
        assert record.status is not None
        assert record.steps or record.script is not None or data["scripts"][case["key"]] is None
    for execution in data["executions"]:
        assert decode.execution(execution).test_case_version is not None
    for raw in data["cycles"]:
        assert decode.cycle(raw).key == raw["key"]
    for raw in data["plans"]:
        assert decode.plan(raw).key == raw["key"]
    for raw in data["folders"]:
        folder = decode.folder(raw)
        assert folder is not None
        assert folder.kind in (FolderKind.TEST_CASE, FolderKind.TEST_PLAN, FolderKind.TEST_CYCLE)
    for key in ("statuses", "priorities", "environments"):
        for raw in data[key]:
            option = decode.option(raw)
            assert option is not None
            assert option.id is not None
            assert option.name
    assert all(isinstance(p["key"], str) and p["key"] for p in data["projects"])
    for steps in data["steps"].values():
        for step in steps:
            record = decode.step(step)
            assert record.called_test_case is not None or record.description is not None
    for steps in data["execution_steps"].values():
        for index, step in enumerate(steps):
            assert decode.step_result(index, step).index == index
    for script in data["scripts"].values():
        if script is not None:
            assert decode.text_script(script) is not None


def test_zephyr_faults_do_not_change_what_is_read(clean_extract: dict[str, Any]) -> None:
    sim = ZephyrSimulator.generated(40, seed=1, faults=FaultOptions(fail_rate=0.2, seed=1))
    client = zephyr_client(sim)
    faulty = run(extract(client))
    assert faulty == clean_extract
    stats = sim.stats.snapshot()
    assert stats["injected_failures"] > 10
    assert stats["dropped_connections"] > 0
    assert client.session.snapshot()["retries"] >= stats["injected_failures"]


def test_zephyr_small_server_caps_and_offset_fallback_agree(clean_extract: dict[str, Any]) -> None:
    sim = ZephyrSimulator.generated(40, seed=1, max_results_cap=7, cursor_limit_cap=3)
    client = zephyr_client(sim, page_size=1000)
    client.nextgen_supported = {"testcases": False, "testexecutions": False}
    capped = run(extract(client))
    assert capped == clean_extract


def test_zephyr_rejects_a_wrong_token() -> None:
    client = zephyr_client(ZephyrSimulator.generated(1, seed=1), token="wrong")
    with pytest.raises(AuthenticationFailed):
        run(client.project("DEMO"))


def test_zephyr_writes_are_read_back() -> None:
    sim = ZephyrSimulator.generated(3, seed=2)
    client = zephyr_client(sim)

    async def main() -> tuple[Any, ...]:
        folder = await client.create_folder("DEMO", "Written", "TEST_CASE")
        created = await client.create_test_case(
            {"projectKey": "DEMO", "name": "Written", "folderId": folder["id"]}
        )
        key = created["key"]
        await client.create_test_steps(key, [{"inline": {"description": f"s{i}"}} for i in range(120)])
        case = await client.test_case(key)
        await client.update_test_case(key, {**case, "name": "Renamed"})
        cycle = await client.create_test_cycle({"projectKey": "DEMO", "name": "Cycle"})
        await client.create_test_execution(
            {"projectKey": "DEMO", "testCaseKey": key, "testCycleKey": cycle["key"], "statusName": "Pass"}
        )
        executions = [e async for e in client.test_executions("DEMO", test_case=key)]
        return key, await client.test_case(key), await client.test_steps(key), executions

    key, case, steps, executions = run(main())
    assert case["name"] == "Renamed"
    assert len(steps) == 120
    versions = [decode.executed_test_case(e) for e in executions]
    assert len(versions) == 1
    assert versions[0] is not None
    assert versions[0][0] == key


def qtest_client(sim: QTestSimulator, retry: RetryPolicy = RETRY) -> QTestClient:
    session = session_on(sim.app, "http://acme.qtest.sim", "qTest", retry=retry)
    auth = QTestAuth(session, username=DEFAULT_QTEST_USER, password=DEFAULT_QTEST_PASSWORD)
    auth.install()
    return QTestClient(session, 0, auth=auth)


async def first_project(client: QTestClient) -> QTestClient:
    projects = await client.projects()
    return QTestClient(client.session, int(projects[0].id or 0), auth=client.auth)


def test_qtest_design_and_execution_round_trip_under_faults() -> None:
    faults = FaultOptions(seed=1)
    sim = QTestSimulator.generated(test_cases=3, seed=1, faults=faults)

    async def main() -> None:
        client = await first_project(qtest_client(sim))
        root = await client.create_module("DEMO")
        module = await client.create_module("Login", root.id, "from Zephyr")
        cases = []
        for i in range(12):
            body = qm.TestCase(
                name=f"Case {i}", parent_id=module.id, test_steps=[qm.TestStep(description="do")]
            )
            case = await client.create_test_case(body)
            cases.append(await client.approve_test_case(int(case.id or 0)))
        release = await client.create_release(qm.Release(name="R1"))
        cycle = await client.create_test_cycle(qm.TestCycle(name="C1"), release.id, "release")
        passed = next(s for s in await client.execution_statuses() if s.name == "Passed")
        for case in cases:
            run_ = await client.create_test_run(
                qm.TestRun(name=case.name, test_case=qm.TestCase(id=case.id)), cycle.id, "test-cycle"
            )
            log = qm.ManualTestLog(
                status=qm.Status(id=passed.id),
                exe_start_date=datetime(2024, 1, 1, 10, tzinfo=UTC),
                exe_end_date=datetime(2024, 1, 1, 11, tzinfo=UTC),
            )
            await client.create_test_log(int(run_.id or 0), log)

        faults.fail_rate = 0.2  # from here on, reads only: retries must deliver everything
        listed = [c async for c in client.iter_test_cases(module.id, size=5)]
        assert sorted(c.name or "" for c in listed) == sorted(f"Case {i}" for i in range(12))
        runs = await client.list_test_runs(cycle.id, "test-cycle", page_size=5)
        assert len(runs) == 12
        for run_ in runs:
            logs = await client.list_test_logs(int(run_.id or 0), page_size=1)
            assert [log.status.name if log.status else None for log in logs] == ["Passed"]
        found = [item async for item in client.search("test-runs", "'name' ~ 'Case'", page_size=5)]
        assert len(found) == 12
        tree = await client.get_module(int(root.id or 0), expand_descendants=True)
        assert [child.name for child in tree.children or []] == ["Login"]
        assert sim.stats.snapshot()["injected_failures"] > 0
        await client.aclose()

    run(main())


def test_qtest_expired_login_is_renewed() -> None:
    now = [datetime(2024, 1, 1, tzinfo=UTC)]
    sim = QTestSimulator.generated(seed=3, clock=lambda: now[0], token_ttl=60)

    async def main() -> dict[str, Any]:
        client = await first_project(qtest_client(sim))
        await client.project()
        now[0] += timedelta(hours=2)
        await client.project()
        snapshot = client.session.snapshot()
        await client.aclose()
        return snapshot

    assert run(main())["reauthentications"] == 1
