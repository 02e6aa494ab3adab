"""Step results of test cases with test data: an inline step's ``testData`` text is an ordinary field.

``TestExecutionInput.testCaseKey`` says "Test cases with call to test, parameters and test data are
not supported": test data there is a test data table (a data-driven test case, whose executions
have one group of steps per row, ``testDataRowNumber``), not the optional text of a step. See
docs/simulators-zephyr.md, "Behaviour beyond the spec".
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset
from ztoq.simulators.zephyr.writes_runs import data_driven_cases

AUTH = {"Authorization": "Bearer zephyr-sim-token"}
RUN = {"projectKey": "DEMO", "testCycleKey": "DEMO-R1", "statusName": "Fail"}


def call(sim: ZephyrSimulator, method: str, path: str, body: Any = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://zephyr.test/v2", headers=AUTH
        ) as c:
            return await c.request(method, path, json=body)

    return asyncio.run(go())


def steps_of(sim: ZephyrSimulator, path: str) -> list[Any]:
    response = call(sim, "GET", f"{path}?maxResults=100")
    assert response.status_code == 200, response.text
    return list(response.json()["values"])


@pytest.fixture
def sim() -> ZephyrSimulator:
    data = generate_dataset(20, seed=2)
    data["teststeps"]["DEMO-T1"] = [
        {"inline": {"description": "Log in", "testData": "user = ada", "expectedResult": "In"}},
        {"inline": {"description": "Log out", "expectedResult": "Out"}},
    ]
    data["testscripts"].pop("DEMO-T1", None)
    # DEMO-T4 is data-driven: one of its executions ran two rows of its test data table.
    version_ids = [data["testcases"][3]["id"]]
    execution = next(e for e in data["testexecutions"] if e["testCase"]["id"] in version_ids)
    data["executionsteps"][str(execution["id"])] = [
        {"inline": {"description": "Open <url>", "testDataRowNumber": row, "status": {"id": 1}}}
        for row in (1, 2)
    ]
    return ZephyrSimulator(data)


def test_results_for_a_test_case_whose_steps_have_test_data_text_are_recorded(sim: ZephyrSimulator) -> None:
    results = [{"statusName": "Pass", "actualResult": "in as ada"}, {"statusName": "Fail"}]
    created = call(
        sim, "POST", "/testexecutions", {**RUN, "testCaseKey": "DEMO-T1", "testScriptResults": results}
    )
    assert created.status_code == 201, created.text
    steps = steps_of(sim, f"/testexecutions/{created.json()['key']}/teststeps")
    assert [s["inline"].get("testData") for s in steps] == ["user = ada", None]
    assert steps[0]["inline"]["actualResult"] == "in as ada"
    statuses = {s["id"]: s["name"] for s in sim.state.statuses.values()}
    assert [statuses[s["inline"]["status"]["id"]] for s in steps] == ["Pass", "Fail"]
    assert all(isinstance(s["id"], int) for s in steps)
    # The execution has no test data rows: its step results can be updated too.
    update = {"steps": [{"statusName": "Pass"}, {"statusName": "Pass", "actualResult": "out"}]}
    assert call(sim, "PUT", f"/testexecutions/{created.json()['id']}/teststeps", update).status_code == 200
    assert (
        steps_of(sim, f"/testexecutions/{created.json()['id']}/teststeps")[1]["inline"]["actualResult"]
        == "out"
    )


def test_results_for_a_data_driven_test_case_are_refused(sim: ZephyrSimulator) -> None:
    assert data_driven_cases(sim.state) == {"DEMO-T4"}
    body = {**RUN, "testCaseKey": "DEMO-T4"}
    refused = call(sim, "POST", "/testexecutions", {**body, "testScriptResults": [{"statusName": "Pass"}]})
    assert refused.status_code == 400
    assert refused.json() == {
        "errorCode": 400,
        "message": "Test cases with call to test, parameters and test data are not supported.",
    }
    assert call(sim, "POST", "/testexecutions", body).status_code == 201  # without step results it is fine


def test_step_results_of_an_execution_with_test_data_rows_cannot_be_updated(sim: ZephyrSimulator) -> None:
    rows = [
        i
        for i, steps in sim.state.executionsteps.items()
        if steps and "testDataRowNumber" in steps[0]["inline"]
    ]
    ident = int(rows[0])
    sim.state.testexecutions[ident] = {
        **sim.state.testexecutions[ident],
        "testCycle": None,
    }  # ad hoc: the last
    sim.state.touch()
    response = call(sim, "PUT", f"/testexecutions/{ident}/teststeps", {"steps": [{}, {}]})
    assert response.status_code == 422
    assert response.json()["message"] == "Update of test execution containing test data is not supported"
