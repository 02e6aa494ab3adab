"""The Zephyr simulator's issue link look-ups (``GET /issuelinks/{issueKey}/...``) and 401 reasons."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest

from ztoq.errors import InputError
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset
from ztoq.simulators.zephyr import app as zephyr_app
from ztoq.simulators.zephyr.issue_links import issue_key

AUTH = {"Authorization": "Bearer zephyr-sim-token"}
API = "http://zephyr.test/v2/"


def call(
    sim: ZephyrSimulator, method: str, path: str, json_body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(transport=transport, base_url=API.rstrip("/")) as client:
            return await client.request(
                method, path, json=json_body, headers=AUTH if headers is None else headers
            )

    return asyncio.run(go())


def ok(sim: ZephyrSimulator, path: str) -> Any:
    response = call(sim, "GET", path)
    assert response.status_code == 200, response.text
    return response.json()


def small_dataset() -> dict[str, Any]:
    """One project, two test cases, a cycle, a plan and an execution, with chosen issue links."""
    data = generate_dataset(4, seed=1)
    data["jiraIssues"] = [{"id": 10500, "key": "DEMO-7"}]
    issue = {"issueId": 10500, "target": "https://ztoq-sim.atlassian.net/rest/api/2/issue/10500"}
    links = data["links"]
    for key in links:
        links[key]["issues"] = []
    links["DEMO-T1"]["issues"] = [{"id": 900001, **issue, "type": "COVERAGE"}]
    links["DEMO-T3"]["issues"] = [
        {"id": 900002, **issue, "type": "COVERAGE"},
        {"id": 900003, "issueId": 20001, "type": "COVERAGE"},
    ]
    links["DEMO-R1"]["issues"] = [{"id": 900004, **issue, "type": "RELATED"}]
    links["DEMO-P1"]["issues"] = [{"id": 900005, "issueId": 20001, "type": "RELATED"}]
    execution = data["testexecutions"][0]
    links[execution["key"]]["issues"] = [{"id": 900006, **issue, "type": "RELATED"}]
    return data


@pytest.fixture
def sim() -> ZephyrSimulator:
    return ZephyrSimulator(small_dataset())


def test_test_cases_linked_to_an_issue_are_keys_and_current_versions(sim: ZephyrSimulator) -> None:
    versions = {key: len(vs) for key, vs in sim.state.testcase_versions.items()}
    assert ok(sim, "/issuelinks/DEMO-7/testcases") == [
        {"key": key, "version": versions[key], "self": f"{API}testcases/{key}/versions/{versions[key]}"}
        for key in ("DEMO-T1", "DEMO-T3")
    ]


def test_cycles_plans_and_executions_linked_to_an_issue_are_ids_with_their_urls(sim: ZephyrSimulator) -> None:
    cycle = sim.state.cycle("DEMO-R1")["id"]
    execution = sim.state.testexecutions[min(sim.state.testexecutions)]["id"]
    assert ok(sim, "/issuelinks/DEMO-7/testcycles") == [{"id": cycle, "self": f"{API}testcycles/{cycle}"}]
    assert ok(sim, "/issuelinks/DEMO-7/testplans") == []
    assert ok(sim, "/issuelinks/DEMO-7/executions") == [
        {"id": execution, "self": f"{API}testexecutions/{execution}"}
    ]


def test_an_unlisted_issue_has_the_key_of_its_project_and_id(sim: ZephyrSimulator) -> None:
    assert issue_key(sim.state, 20001, "DEMO") == "DEMO-20001"
    assert issue_key(sim.state, 10500, "OTHER") == "DEMO-7"  # a listed key wins
    plan = sim.state.plan("DEMO-P1")["id"]
    assert ok(sim, "/issuelinks/DEMO-20001/testplans") == [{"id": plan, "self": f"{API}testplans/{plan}"}]
    assert [c["key"] for c in ok(sim, "/issuelinks/DEMO-20001/testcases")] == ["DEMO-T3"]


def test_links_written_through_the_api_and_new_versions_show_at_once(sim: ZephyrSimulator) -> None:
    assert call(sim, "POST", "/testcycles/DEMO-R2/links/issues", {"issueId": 10500}).status_code == 201
    assert len(ok(sim, "/issuelinks/DEMO-7/testcycles")) == 2
    case = ok(sim, "/testcases/DEMO-T1")
    assert call(sim, "PUT", "/testcases/DEMO-T1", {**case, "name": "Renamed"}).status_code == 200
    assert ok(sim, "/issuelinks/DEMO-7/testcases")[0]["version"] == len(
        sim.state.testcase_versions["DEMO-T1"]
    )
    link_id = ok(sim, "/testcases/DEMO-T1/links")["issues"][0]["id"]
    assert call(sim, "DELETE", f"/links/{link_id}").status_code == 200
    assert [c["key"] for c in ok(sim, "/issuelinks/DEMO-7/testcases")] == ["DEMO-T3"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/issuelinks/DEMO-424242/testcases", 200),  # a known project, an issue nothing links
        ("/issuelinks/NOPE-1/testcycles", 404),  # no such Jira project
        ("/issuelinks/DEMO/testplans", 400),  # not an issue key
        ("/issuelinks/DEMO-x1/executions", 400),
    ],
)
def test_issue_keys_are_checked(sim: ZephyrSimulator, path: str, status: int) -> None:
    response = call(sim, "GET", path)
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json() == []
    else:
        assert response.json()["errorCode"] == status
        assert set(response.json()) == {"errorCode", "message"}
    assert call(sim, "POST", "/issuelinks/DEMO-7/testcases").status_code == 405


@pytest.mark.parametrize(
    "issues", [{"id": 1}, [{"id": 0, "key": "DEMO-1"}], [{"id": 5, "key": "DEMO"}], [{"id": 5, "key": 7}]]
)
def test_malformed_jira_issues_are_refused(issues: Any) -> None:
    with pytest.raises(InputError, match="jiraIssues"):
        ZephyrSimulator({"jiraIssues": issues})


# -- 401 -------------------------------------------------------------------------------------------------


def _part(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, zephyr_app.MISSING_HEADER),
        ("Basic abc", zephyr_app.NOT_BEARER),
        ("Bearer", zephyr_app.NOT_A_JWT),
        ("Bearer not-a-jwt", zephyr_app.NOT_A_JWT),
        ("Bearer a.b", zephyr_app.NOT_A_JWT),
        ("Bearer ab$.cd.ef", zephyr_app.BAD_BASE64),
        (f"Bearer {_part(b'not json')}.{_part({})}.{_part(b'sig')}", zephyr_app.BAD_JSON),
        (
            f"Bearer {_part({'alg': 'HS256'})}.{_part({'sub': 'x'})}.{_part(b'sig')}",
            zephyr_app.BAD_SIGNATURE,
        ),
    ],
)
def test_a_refused_token_answers_401_with_the_error_reason(header: str | None, reason: str) -> None:
    sim = ZephyrSimulator(None)
    response = call(sim, "GET", "/healthcheck", headers={} if header is None else {"Authorization": header})
    assert response.status_code == 401
    assert response.json() == {"error": reason}
    assert response.headers["access-control-allow-origin"] == "*"


def test_the_right_token_passes_whatever_its_shape() -> None:
    jwt = f"{_part({'alg': 'HS256'})}.{_part({'sub': 'x'})}.{_part(b'sig')}"
    assert zephyr_app.refusal(f"Bearer {jwt}".encode(), jwt) is None
    assert zephyr_app.refusal(b"bearer  zephyr-sim-token ", "zephyr-sim-token") is None
    assert zephyr_app.refusal(b"Bearer zephyr-sim-token", "other") == zephyr_app.NOT_A_JWT
