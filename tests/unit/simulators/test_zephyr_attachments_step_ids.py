"""Numeric step ids (they address step attachments): present, unique, stable, new for new steps."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import httpx
import pytest

from ztoq.errors import InputError
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset

AUTH = {"Authorization": "Bearer zephyr-sim-token"}


def call(sim: ZephyrSimulator, method: str, path: str, json: Any = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://zephyr.test/v2", headers=AUTH
        ) as client:
            return await client.request(method, path, json=json)

    return asyncio.run(go())


def steps(sim: ZephyrSimulator, parent: str, key: str) -> list[dict[str, Any]]:
    response = call(sim, "GET", f"/{parent}/{key}/teststeps?maxResults=100")
    assert response.status_code == 200, response.text
    return list(response.json()["values"])


def every_step_id(sim: ZephyrSimulator) -> list[int]:
    ids = [s["id"] for key in sim.state.testcase_versions for s in steps(sim, "testcases", key)]
    return ids + [s["id"] for e in sim.state.testexecutions for s in steps(sim, "testexecutions", str(e))]


def plain_step_case(sim: ZephyrSimulator) -> str:
    """A test case of inline steps without test data (the write API records step results for it)."""
    return next(
        key
        for key, listed in sim.state.teststeps.items()
        if listed and all("inline" in s and not s["inline"].get("testData") for s in listed)
    )


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return generate_dataset(20, seed=4)


def test_every_step_has_a_unique_integer_id_stable_across_requests_and_loads(data: dict[str, Any]) -> None:
    first = ZephyrSimulator(data)
    ids = every_step_id(first)
    assert ids
    assert all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids)
    assert len(set(ids)) == len(ids)
    assert every_step_id(first) == ids
    assert every_step_id(ZephyrSimulator(copy.deepcopy(data))) == ids
    assert "id" not in data["teststeps"]["DEMO-T1"][0], "the dataset handed over is not modified"


def test_ids_do_not_move_when_the_dataset_gains_entities(data: dict[str, Any]) -> None:
    before = ZephyrSimulator(data)
    grown = copy.deepcopy(data)
    grown["testcases"].insert(0, {**grown["testcases"][0], "id": 99, "key": "DEMO-T500"})
    grown["teststeps"] = {"DEMO-T500": [{"inline": {"description": "first"}}], **grown["teststeps"]}
    after = ZephyrSimulator(grown)
    assert steps(after, "testcases", "DEMO-T1") == steps(before, "testcases", "DEMO-T1")
    assert steps(after, "testexecutions", "DEMO-E1") == steps(before, "testexecutions", "DEMO-E1")
    assert steps(after, "testcases", "DEMO-T500")[0]["id"] not in every_step_id(before)


def test_written_steps_get_new_ids_and_updates_keep_them(data: dict[str, Any]) -> None:
    sim = ZephyrSimulator(data)
    old = [s["id"] for s in steps(sim, "testcases", "DEMO-T5")]
    new_step = {"inline": {"description": "added"}}
    assert (
        call(sim, "POST", "/testcases/DEMO-T5/teststeps", {"mode": "APPEND", "items": [new_step]}).status_code
        == 201
    )
    appended = [s["id"] for s in steps(sim, "testcases", "DEMO-T5")]
    assert appended[:-1] == old
    assert appended[-1] not in every_step_id(ZephyrSimulator(data))
    overwrite = {"mode": "OVERWRITE", "items": [new_step, new_step]}
    assert call(sim, "POST", "/testcases/DEMO-T5/teststeps", overwrite).status_code == 201
    overwritten = [s["id"] for s in steps(sim, "testcases", "DEMO-T5")]
    assert len(set(overwritten)) == 2
    assert not set(overwritten) & set(appended), "an overwritten step never comes back with its id"

    case = plain_step_case(sim)
    run = {"projectKey": "DEMO", "testCaseKey": case, "testCycleKey": "DEMO-R1", "statusName": "Pass"}
    created = call(sim, "POST", "/testexecutions", run)
    assert created.status_code == 201
    run_steps = steps(sim, "testexecutions", created.json()["key"])
    assert run_steps
    assert all(isinstance(s["id"], int) for s in run_steps)
    assert not {s["id"] for s in run_steps} & set(every_step_id(ZephyrSimulator(data)))
    results = {"steps": [{"statusName": "Fail", "actualResult": "no"}] * len(run_steps)}
    assert call(sim, "PUT", f"/testexecutions/{created.json()['key']}/teststeps", results).status_code == 200
    assert [s["id"] for s in steps(sim, "testexecutions", created.json()["key"])] == [
        s["id"] for s in run_steps
    ]


def test_ids_given_in_the_dataset_are_kept_and_checked(data: dict[str, Any]) -> None:
    given = copy.deepcopy(data)
    given["teststeps"]["DEMO-T1"][0] = {"id": 4242, **given["teststeps"]["DEMO-T1"][0]}
    assert steps(ZephyrSimulator(given), "testcases", "DEMO-T1")[0]["id"] == 4242
    given["teststeps"]["DEMO-T1"][0]["id"] = "first"
    with pytest.raises(InputError, match="step id"):
        ZephyrSimulator(given)
    given["teststeps"]["DEMO-T1"] = {"not": "a list"}
    with pytest.raises(InputError, match="list of step objects"):
        ZephyrSimulator(given)
