"""``ztoq bench --delta``: the change it makes in Zephyr, and how it prices what a delta sync sent."""

from __future__ import annotations

import httpx

from ztoq.cli.bench_delta import change_source, is_listing, is_step_attachment_list
from ztoq.serving import serve_in_thread
from ztoq.simulators.zephyr import DEFAULT_ZEPHYR_TOKEN, ZephyrSimulator


def test_listings_and_step_attachment_lists_are_told_apart() -> None:
    assert is_listing("GET /v2/testcases")
    assert is_listing("GET /v2/testexecutions")
    assert not is_listing("GET /v2/testcases/{testCaseKey}/teststeps")
    assert not is_listing("POST /v2/testcases")
    step_list = "GET /v2/testexecutions/{testExecutionIdOrKey}/teststeps/{testExecutionStepId}/attachments"
    assert is_step_attachment_list(step_list)
    assert is_step_attachment_list("GET /v2/testcases/{testCaseIdOrKey}/teststeps/{testStepId}/attachments")
    assert not is_step_attachment_list("GET /v2/testcases/{testCaseIdOrKey}/attachments")


def test_the_change_renames_test_cases_and_adds_one_execution_each() -> None:
    sim = ZephyrSimulator.generated(8, seed=3)
    with (
        serve_in_thread(sim.app) as base,
        httpx.Client(
            base_url=f"{base}/v2", headers={"Authorization": f"Bearer {DEFAULT_ZEPHYR_TOKEN}"}
        ) as api,
    ):
        listed = api.get("/testexecutions", params={"projectKey": "DEMO", "maxResults": 1000}).json()
        before, old = listed["total"], {e["key"] for e in listed["values"]}
        changed, step_results = change_source(api, "DEMO", 3)
        cases = api.get("/testcases", params={"projectKey": "DEMO", "maxResults": 3}).json()["values"]
        listed = api.get("/testexecutions", params={"projectKey": "DEMO", "maxResults": 1000}).json()
        after, new = listed["total"], [e["key"] for e in listed["values"] if e["key"] not in old]
        results = [len(api.get(f"/testexecutions/{key}/teststeps").json()["values"]) for key in new]
    assert changed == 6
    assert step_results == sum(results) > 0, "the step results of the executions added"
    assert all(c["name"].endswith("(changed for the delta bench)") for c in cases)
    assert after == before + 3
