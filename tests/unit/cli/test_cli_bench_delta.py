"""``ztoq bench --delta``: the change it makes in Zephyr, and how it prices what a delta sync sent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from ztoq.cli.bench_delta import change_source, is_listing, is_step_attachment_list
from ztoq.cli.main import run
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


@contextmanager
def _zephyr_api() -> Iterator[httpx.Client]:
    """A client of a small generated Zephyr Scale Cloud simulator's v2 API."""
    sim = ZephyrSimulator.generated(8, seed=3)
    with (
        serve_in_thread(sim.app) as base,
        httpx.Client(
            base_url=f"{base}/v2", headers={"Authorization": f"Bearer {DEFAULT_ZEPHYR_TOKEN}"}
        ) as api,
    ):
        yield api


def test_the_change_renames_test_cases_and_adds_one_execution_each() -> None:
    with _zephyr_api() as api:
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


def test_the_change_can_rename_test_cases_only() -> None:
    with _zephyr_api() as api:
        before = api.get("/testexecutions", params={"projectKey": "DEMO", "maxResults": 1000}).json()["total"]
        assert change_source(api, "DEMO", 3, executions=1)[0] == 4
        assert change_source(api, "DEMO", 2, executions=0) == (2, 0)
        after = api.get("/testexecutions", params={"projectKey": "DEMO", "maxResults": 1000}).json()["total"]
    assert after == before + 1


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--delta", "1", "--delta-executions", "2"], "--delta-executions 2 needs --delta"),
        (["--delta", "1", "--source", "server"], "--delta needs --source cloud"),
    ],
)
def test_delta_options_that_cannot_work_are_refused_before_anything_runs(
    args: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["bench", *args]) == 2
    assert said in capsys.readouterr().err
