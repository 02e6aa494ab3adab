"""zephyr-python-api, the most used public Zephyr Scale Cloud client, against the served simulator.

A user rehearsing with the simulator drives it with the client their team already uses. This
session does what such a user (and a migration) does, over a real socket: page through every
listing, read every part of every test case, cycle, plan and execution, look up what covers a
Jira issue, then create a folder, a test case with its steps, a cycle, a plan, an execution and
links, and read them back. What the client exercised is listed in docs/simulators-zephyr.md.

A call that fails because the client itself contradicts the spec is in ``CLIENT_CONTRADICTIONS``
with the spec line that shows it; the test asserts it still fails, so a fixed client is noticed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from requests import HTTPError
from zephyr import ZephyrScale

from ztoq.serving import serve_in_thread
from ztoq.simulators.zephyr import DEFAULT_ZEPHYR_TOKEN, ZephyrSimulator, generate_dataset

KEY = "DEMO"


@dataclass
class Served:
    sim: ZephyrSimulator
    api: Any  # zephyr.scale.cloud.cloud_api.CloudApiWrapper
    base: str


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    sim = ZephyrSimulator(generate_dataset(30, seed=7))
    with serve_in_thread(sim.app) as base:
        yield Served(sim, ZephyrScale(base_url=f"{base}/v2/", token=DEFAULT_ZEPHYR_TOKEN).api, base)


def pages_of(served: Served, template: str) -> int:
    """How many pages of a listing the client asked for (the simulator's request counters)."""
    return sum(n for (method, path, status), n in served.sim.stats.by_endpoint.items() if path == template)


def status_of(call: Callable[[], Any]) -> int:
    """The HTTP status the client's HTTPError reports (it says ``Error <status>. Response: ...``)."""
    with pytest.raises(HTTPError) as caught:
        call()
    return int(str(caught.value).split()[1].rstrip("."))


def test_the_client_pages_through_every_listing(served: Served) -> None:
    api, state = served.api, served.sim.state
    assert api.healthcheck.get_health() == ""
    assert [p["key"] for p in api.projects.get_projects()] == [KEY]
    assert api.projects.get_project(KEY)["key"] == KEY
    cases = list(api.test_cases.get_test_cases(projectKey=KEY, maxResults=7))
    assert sorted(c["key"] for c in cases) == sorted(state.testcase_versions)
    assert pages_of(served, "/v2/testcases") == -(-len(cases) // 7)
    assert [c["id"] for c in api.test_cycles.get_test_cycles(projectKey=KEY, maxResults=2)] == sorted(
        state.testcycles
    )
    assert [p["id"] for p in api.test_plans.get_test_plans(projectKey=KEY, maxResults=1)] == sorted(
        state.testplans
    )
    executions = list(api.test_executions.get_test_executions(projectKey=KEY, maxResults=10))
    assert [e["id"] for e in executions] == sorted(state.testexecutions)
    last = list(api.test_executions.get_test_executions(projectKey=KEY, onlyLastExecutions="true"))
    assert 0 < len(last) < len(executions)
    folders = list(api.folders.get_folders(projectKey=KEY, maxResults=5))
    assert [f["id"] for f in folders] == sorted(state.folders)
    assert {f["folderType"] for f in api.folders.get_folders(folderType="TEST_PLAN")} == {"TEST_PLAN"}
    for listing, collection in (
        (api.statuses.get_statuses(projectKey=KEY, maxResults=4), state.statuses),
        (api.priorities.get_priorities(projectKey=KEY), state.priorities),
        (api.environments.get_environments(projectKey=KEY), state.environments),
    ):
        assert [item["id"] for item in listing] == sorted(collection)
    assert api.folders.get_folder(folders[0]["id"])["name"] == folders[0]["name"]
    assert api.statuses.get_status(min(state.statuses))["id"] == min(state.statuses)
    assert api.priorities.get_priority(min(state.priorities))["id"] == min(state.priorities)
    assert api.environments.get_environment(min(state.environments))["id"] == min(state.environments)


def test_the_client_reads_every_part_of_every_test_case(served: Served) -> None:
    api, state = served.api, served.sim.state
    for key, versions in state.testcase_versions.items():
        case = api.test_cases.get_test_case(key)
        assert case["key"] == key
        links = list(api.test_cases.get_versions(key))
        assert len(links) == len(versions)
        assert api.test_cases.get_version(key, len(versions))["id"] == case["id"]
        steps = list(api.test_cases.get_test_steps(key, maxResults=3))
        assert len(steps) == len(state.teststeps.get(key, []))
        assert all(isinstance(step["id"], int) for step in steps)
        if key in state.testscripts:
            assert api.test_cases.get_test_script(key)["text"] == state.testscripts[key]["text"]
        else:  # the spec's answer for a step-by-step test case: 404, not a client failure
            assert status_of(lambda key=key: api.test_cases.get_test_script(key)) == 404
        assert set(api.test_cases.get_links(key)) == {"self", "issues", "webLinks"}


def test_the_client_reads_cycles_plans_executions_and_their_links(served: Served) -> None:
    api, state = served.api, served.sim.state
    for ident, cycle in state.testcycles.items():
        assert api.test_cycles.get_test_cycle(ident)["key"] == cycle["key"]
        assert api.test_cycles.get_test_cycle(cycle["key"])["id"] == ident
        assert "testPlans" in api.test_cycles.get_links(cycle["key"])
    for ident, plan in state.testplans.items():
        assert api.test_plans.get_test_plan(plan["key"])["id"] == ident
    for ident, execution in state.testexecutions.items():
        assert (
            api.test_executions.get_test_execution(ident, includeStepLinks="true")["key"] == execution["key"]
        )
        steps = list(api.test_executions.get_test_steps(execution["key"], maxResults=4))
        assert len(steps) == len(state.executionsteps.get(ident, []))
        assert all(isinstance(step["id"], int) for step in steps)
        assert "issues" in api.test_executions.get_links(ident)


def test_the_client_finds_what_covers_a_jira_issue(served: Served) -> None:
    api, state = served.api, served.sim.state
    covered: dict[str, set[str]] = {}
    for key in state.testcase_versions:
        for issue in api.test_cases.get_links(key)["issues"]:
            covered.setdefault(f"{KEY}-{issue['issueId']}", set()).add(key)
    assert covered
    for issue_key, keys in covered.items():
        found = api.issue_links.get_test_cases(issue_key)
        assert {item["key"] for item in found} == keys
        assert all(item["self"].endswith(f"/versions/{item['version']}") for item in found)
        for listing in (
            api.issue_links.get_test_cycles(issue_key),
            api.issue_links.get_test_plans(issue_key),
            api.issue_links.get_test_executions(issue_key),
        ):
            assert all(set(item) == {"id", "self"} for item in listing)
    assert api.issue_links.get_test_cases(f"{KEY}-1") == []


def test_the_client_creates_what_a_migration_creates_and_reads_it_back(served: Served) -> None:
    api = served.api
    folder = api.folders.create_folder("Rehearsal", KEY, "TEST_CASE")
    assert api.folders.get_folder(folder["id"])["name"] == "Rehearsal"
    case = api.test_cases.create_test_case(KEY, "Log in", folderId=folder["id"], labels=["smoke"])
    steps = [
        {"inline": {"description": "Open the page", "testData": "url = /login", "expectedResult": "Shown"}},
        {"inline": {"description": "Sign in", "expectedResult": "Signed in"}},
    ]
    api.test_cases.post_test_steps(case["key"], "OVERWRITE", steps)
    assert [s["inline"] for s in api.test_cases.get_test_steps(case["key"])] == [s["inline"] for s in steps]
    read = api.test_cases.get_test_case(case["key"])
    assert (read["name"], read["folder"]["id"], read["labels"]) == ("Log in", folder["id"], ["smoke"])
    api.test_cases.update_test_case(
        case["key"],
        read["id"],
        "Log in again",
        read["project"]["id"],
        read["priority"]["id"],
        read["status"]["id"],
    )
    assert api.test_cases.get_test_case(case["key"])["name"] == "Log in again"
    scripted = api.test_cases.create_test_case(KEY, "Plain")
    api.test_cases.create_test_script(scripted["key"], "plain", "Do it")
    assert api.test_cases.get_test_script(scripted["key"])["text"] == "Do it"

    cycle = api.test_cycles.create_test_cycle(KEY, "Sprint 1", description="rehearsal")
    read_cycle = api.test_cycles.get_test_cycle(cycle["key"])
    api.test_cycles.update_test_cycle(
        cycle["key"], cycle["id"], "Sprint 1b", read_cycle["project"]["id"], read_cycle["status"]["id"]
    )
    assert api.test_cycles.get_test_cycle(cycle["id"])["name"] == "Sprint 1b"
    plan = api.test_plans.create_test_plan(KEY, "Release 1")
    api.test_plans.create_test_cycle_link(plan["key"], cycle["key"])  # the key: see CLIENT_CONTRADICTIONS
    api.test_plans.create_web_links(plan["key"], "https://example.com/plan", "Plan page")
    assert [c["testCycleId"] for c in api.test_plans.get_test_plan(plan["id"])["links"]["testCycles"]] == [
        cycle["id"]
    ]

    results = [{"statusName": "Pass", "actualResult": "shown"}, {"statusName": "Fail", "actualResult": "no"}]
    execution = api.test_executions.create_test_execution(
        KEY, case["key"], cycle["key"], "Fail", testScriptResults=results, comment="rehearsal"
    )
    read_execution = api.test_executions.get_test_execution(execution["key"])
    assert read_execution["testCycle"]["id"] == cycle["id"]
    ran = list(api.test_executions.get_test_steps(execution["id"]))
    assert [s["inline"]["actualResult"] for s in ran] == ["shown", "no"]
    assert ran[0]["inline"]["testData"] == "url = /login"
    api.test_executions.update_test_execution(execution["id"], statusName="Pass", comment="re-run")
    assert api.test_executions.get_test_execution(execution["id"])["comment"] == "re-run"

    api.test_cases.create_issue_links(case["key"], 777)
    api.test_cases.create_web_links(case["key"], "https://example.com/spec", description="Spec")
    api.test_cycles.create_issue_links(cycle["key"], 777)
    api.test_cycles.create_web_links(cycle["key"], "https://example.com/board")
    api.test_plans.create_issue_link(plan["key"], 777)
    api.test_executions.create_issue_links(execution["id"], 777)
    assert [c["key"] for c in api.issue_links.get_test_cases(f"{KEY}-777")] == [case["key"]]
    assert [c["id"] for c in api.issue_links.get_test_cycles(f"{KEY}-777")] == [cycle["id"]]
    assert [p["id"] for p in api.issue_links.get_test_plans(f"{KEY}-777")] == [plan["id"]]
    assert [e["id"] for e in api.issue_links.get_test_executions(f"{KEY}-777")] == [execution["id"]]
    link = api.test_cases.get_links(case["key"])["issues"][0]["id"]
    assert api.links.delete_link(link) == ""
    assert api.issue_links.get_test_cases(f"{KEY}-777") == []


def test_a_wrong_token_is_refused_with_the_error_reason(served: Served) -> None:
    api = ZephyrScale(base_url=f"{served.base}/v2/", token="not-the-token").api
    with pytest.raises(HTTPError, match=r'Error 401\. Response: b\'\{"error":"Invalid token'):
        list(api.projects.get_projects())


@dataclass(frozen=True)
class Contradiction:
    """A client call that fails because the client contradicts the spec, and the spec line showing it."""

    call: str
    why: str
    spec: str
    status: int


#: Every call of the session above that fails because of the client itself.
CLIENT_CONTRADICTIONS = [
    Contradiction(
        call="test_plans.create_test_cycle_link(plan_key, test_cycle_id: int)",
        why="its signature asks for the cycle's integer id and sends it as a JSON number; the session "
        "above passes the cycle key, a string, instead",
        spec="zephyr-scale-cloud-v2-openapi.yml:4706-4708, TestPlanTestCycleLinkInput.testCycleIdOrKey: "
        'type: string, pattern "([0-9]+)|(.+-R[0-9]+)"',
        status=400,
    ),
]


@pytest.mark.parametrize("contradiction", CLIENT_CONTRADICTIONS, ids=lambda c: c.call.split("(")[0])
def test_calls_where_the_client_contradicts_the_spec_fail_as_listed(
    served: Served, contradiction: Contradiction
) -> None:
    api = served.api
    plan = api.test_plans.create_test_plan(KEY, "Contradiction")
    cycle = api.test_cycles.create_test_cycle(KEY, "Contradiction")
    calls: dict[str, Callable[[], Any]] = {
        "test_plans.create_test_cycle_link": lambda: api.test_plans.create_test_cycle_link(
            plan["key"], cycle["id"]
        ),
    }
    assert status_of(calls[contradiction.call.split("(")[0]]) == contradiction.status, contradiction.spec
