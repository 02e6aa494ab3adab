"""Zephyr models accept every payload shaped like the real API: required-only, maximal, with nulls.

Payloads are written by hand from zephyr-scale-cloud-v2-openapi.yml (components/schemas, using
the spec's own example values) and the NextGen addendum.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from ztoq.errors import ApiError
from ztoq.zephyr import models as zm
from ztoq.zephyr import parse, parse_version_url

API = "https://api.zephyrscale.smartbear.com/v2"
JIRA = "https://example.atlassian.net/rest/api/2"
ACCOUNT = "5b10a2844c20165700ede21g"


def link(path: str, id_: int) -> dict[str, Any]:
    return {"id": id_, "self": f"{API}/{path}/{id_}"}


MIN_TEST_CASE: dict[str, Any] = {
    "id": 1,
    "key": "SA-T10",
    "name": "Check axial pump",
    "project": {"id": 10005},
    "priority": {"id": 10002},
    "status": {"id": 10000},
}

MAX_TEST_CASE: dict[str, Any] = {
    **MIN_TEST_CASE,
    "project": link("projects", 10005),
    "priority": link("priorities", 10002),
    "status": link("statuses", 10000),
    "createdOn": "2018-05-15T13:15:13Z",
    "objective": "To ensure the axial pump can be enabled",
    "precondition": "Latest version of the axial pump available",
    "estimatedTime": 138000,
    "labels": ["Regression", "Performance", "Automated"],
    "component": {"id": 10001, "self": f"{JIRA}/component/10001"},
    "folder": link("folders", 100006),
    "owner": {"self": f"{JIRA}/user?accountId={ACCOUNT}", "accountId": ACCOUNT},
    "testScript": {"self": f"{API}/testcases/SA-T10/testscript"},
    "customFields": {
        "Build Number": 20,
        "Release Date": "2020-01-01",
        "Pre-Condition(s)": "User should have logged in. <br> User should have navigated",
        "Implemented": False,
        "Category": ["Performance", "Regression"],
        "Tester": "fa2e582e-5e15-521e-92e3-47e6ca2e7256",
    },
    "links": {
        "self": f"{API}/testcases/SA-T10/links",
        "issues": [
            {
                "self": f"{API}/links/1",
                "issueId": 10100,
                "id": 1,
                "target": f"{JIRA}/issue/10000",
                "type": "COVERAGE",
            }
        ],
        "webLinks": [
            {
                "self": f"{API}/links/2",
                "description": "A link to atlassian.com",
                "url": "https://atlassian.com",
                "id": 2,
                "type": "COVERAGE",
            }
        ],
    },
}

# What the live API sends for a bare test case: unset links and values are null.
NULLS_TEST_CASE: dict[str, Any] = {
    **MIN_TEST_CASE,
    "createdOn": None,
    "objective": None,
    "precondition": None,
    "estimatedTime": None,
    "labels": [],
    "component": None,
    "folder": None,
    "owner": None,
    "testScript": None,
    "customFields": {},
    "links": {"self": f"{API}/testcases/SA-T10/links", "issues": [], "webLinks": []},
}

MIN_TEST_CYCLE: dict[str, Any] = {
    "id": 1,
    "key": "SA-R40",
    "name": "Sprint 1 Regression Test Cycle",
    "project": {"id": 10005},
    "status": {"id": 10000},
}

MAX_TEST_CYCLE: dict[str, Any] = {
    **MIN_TEST_CYCLE,
    "project": link("projects", 10005),
    "status": link("statuses", 10000),
    "jiraProjectVersion": {"id": 10000, "self": f"{JIRA}/version/10000"},
    "folder": link("folders", 10006),
    "description": "Regression test cycle 1 to ensure no breaking changes",
    "plannedStartDate": "2018-05-19T13:15:13Z",
    "plannedEndDate": "2018-05-20T13:15:13Z",
    "owner": {"self": f"{JIRA}/user?accountId={ACCOUNT}", "accountId": ACCOUNT},
    "customFields": {"Sprint": "12"},
    "links": {
        "self": f"{API}/testcycles/1/links",
        "issues": [{"issueId": 10100, "id": 3, "self": f"{API}/links/3", "type": "RELATED"}],
        "webLinks": [{"url": "https://atlassian.com", "id": 4}],
        "testPlans": [
            {
                "id": 1,
                "self": f"{API}/links/1",
                "type": "RELATED",
                "testPlanId": 2,
                "target": f"{JIRA}/testplan/123",
            }
        ],
    },
}

MIN_TEST_PLAN: dict[str, Any] = {
    "id": 1,
    "key": "SA-P10",
    "name": "Release plan",
    "project": {"id": 10005},
    "status": {"id": 10000},
}

MAX_TEST_PLAN: dict[str, Any] = {
    **MIN_TEST_PLAN,
    "objective": "Cover the release",
    "folder": link("folders", 3),
    "owner": {"accountId": ACCOUNT},
    "customFields": {"Release Train": "R1"},
    "labels": ["release"],
    "links": {
        "webLinks": [{"url": "https://atlassian.com", "description": "docs"}],
        "issues": [{"issueId": 10100}],
        "testCycles": [
            {
                "id": 1,
                "self": f"{API}/links/1",
                "type": "RELATED",
                "testCycleId": 2,
                "target": f"{API}/testcycles/2",
            }
        ],
    },
}

MIN_TEST_EXECUTION: dict[str, Any] = {
    "id": 1,
    "project": {"id": 10005},
    "testCase": {"self": f"{API}/testcases/PROJ-T1/versions/1", "id": 10002},
    "testExecutionStatus": {"id": 10000},
}

MAX_TEST_EXECUTION: dict[str, Any] = {
    **MIN_TEST_EXECUTION,
    "key": "SA-E10",
    "project": link("projects", 10005),
    "testExecutionStatus": link("statuses", 10000),
    "environment": {"id": 10005, "self": "https://example.com/rest/api/v2/environment/10005"},
    "jiraProjectVersion": {"id": 10000, "self": f"{JIRA}/version/10000"},
    "actualEndDate": "2018-05-20T13:15:13Z",
    "estimatedTime": 138000,
    "executionTime": 120000,
    "executedById": ACCOUNT,
    "assignedToId": ACCOUNT,
    "comment": "Test failed user could not login",
    "automated": False,
    "testCycle": {"id": 10010, "self": f"{API}/testcycles/10010"},
    "customFields": {"Browser": "Chrome"},
    "links": {"self": f"{API}/testexecutions/1/links", "issues": [{"issueId": 10100, "id": 5}]},
}

MIN_FOLDER: dict[str, Any] = {
    "id": 1,
    "parentId": None,
    "name": "Root",
    "index": 0,
    "folderType": "TEST_CASE",
}
MAX_FOLDER: dict[str, Any] = {**MIN_FOLDER, "parentId": 7, "project": link("projects", 10005)}

STEP_INLINE: dict[str, Any] = {
    "inline": {
        "description": "Attempt to login to the application",
        "testData": "Username = SmartBear Password = weLoveAtlassian",
        "expectedResult": "Login succeeds, web-app redirects to the dashboard view",
        "customFields": {"Notes": "x"},
        "reflectRef": "Not available yet",
    },
    "testCase": None,
}
STEP_CALL: dict[str, Any] = {
    "inline": None,
    "testCase": {
        "self": f"{API}/testcases/PROJ-T123",
        "testCaseKey": "PROJ-T123",
        "parameters": [
            {"name": "username", "type": "DEFAULT_VALUE", "value": "admin"},
            {"name": "password", "type": "MANUAL_INPUT", "value": ""},
        ],
    },
}
EXECUTION_STEP: dict[str, Any] = {
    "inline": {
        "description": "Attempt to login to the application",
        "testData": "Username = SmartBear",
        "expectedResult": "Login succeeds",
        "actualResult": "Login succeeded",
        "testDataRowNumber": 1,
        "reflectRef": "Not available yet",
        "status": link("statuses", 10001),
    }
}
PRIORITY: dict[str, Any] = {
    "id": 1,
    "project": link("projects", 10005),
    "name": "Critical",
    "description": "Top level priority",
    "index": 1,
    "color": "#FFF",
    "default": False,
}


CASES: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (zm.TestCase, MIN_TEST_CASE),
    (zm.TestCase, MAX_TEST_CASE),
    (zm.TestCase, NULLS_TEST_CASE),
    (zm.TestCycle, MIN_TEST_CYCLE),
    (zm.TestCycle, MAX_TEST_CYCLE),
    (zm.TestPlan, MIN_TEST_PLAN),
    (zm.TestPlan, MAX_TEST_PLAN),
    (zm.TestExecution, MIN_TEST_EXECUTION),
    (zm.TestExecution, MAX_TEST_EXECUTION),
    (zm.Folder, MIN_FOLDER),
    (zm.Folder, MAX_FOLDER),
    (zm.TestStep, STEP_INLINE),
    (zm.TestStep, STEP_CALL),
    (zm.TestStep, {"inline": {}}),
    (zm.TestExecutionStep, EXECUTION_STEP),
    (zm.TestExecutionStep, {"inline": {"status": {"id": 1}}}),
    (zm.TestScript, {"type": "plain", "text": "e.g. Attempt to login to the application"}),
    (zm.TestScript, {"id": 1, "type": "bdd", "text": "Given a user"}),
    (zm.Priority, PRIORITY),
    (zm.Priority, {"id": 1, "index": 0, "name": "Normal", "project": {"id": 1}}),
    (zm.Status, {**PRIORITY, "name": "Pass", "color": "#00ff00", "archived": False}),
    (zm.Environment, {"id": 1, "index": 0, "name": "Chrome", "project": {"id": 1}, "archived": True}),
    (zm.Project, {"id": 10000, "jiraProjectId": 10001, "key": "PROJ", "enabled": True}),
    (zm.JiraUserLink, {"accountId": ACCOUNT}),
    (zm.IssueLink, {"issueId": 10100}),
    (zm.WebLink, {"url": "https://atlassian.com"}),
    (zm.TestCaseLinks, MAX_TEST_CASE["links"]),
    (zm.TestCycleLinks, MAX_TEST_CYCLE["links"]),
    (zm.TestExecutionLinks, MAX_TEST_EXECUTION["links"]),
    (zm.CreatedResource, {"id": 1, "self": f"{API}/testcases/PROJ-T1", "key": "PROJ-T1"}),
]


@pytest.mark.parametrize(("model", "payload"), CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_model_accepts_spec_shaped_payload_and_round_trips(
    model: type[BaseModel], payload: dict[str, Any]
) -> None:
    parsed = model.model_validate(payload)
    again = model.model_validate(parsed.model_dump(by_alias=True, mode="json"))
    assert again == parsed


@pytest.mark.parametrize(("model", "payload"), CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_unknown_fields_are_kept(model: type[BaseModel], payload: dict[str, Any]) -> None:
    parsed = model.model_validate({**payload, "brandNewField": {"x": 1}})
    assert parsed.model_dump(by_alias=True)["brandNewField"] == {"x": 1}


@pytest.mark.parametrize(
    ("model", "payload", "field"),
    [
        (zm.TestCase, MIN_TEST_CASE, "priority"),
        (zm.TestCase, MIN_TEST_CASE, "key"),
        (zm.TestCycle, MIN_TEST_CYCLE, "status"),
        (zm.TestPlan, MIN_TEST_PLAN, "project"),
        (zm.TestExecution, MIN_TEST_EXECUTION, "testCase"),
        (zm.TestExecution, MIN_TEST_EXECUTION, "testExecutionStatus"),
        (zm.Folder, MIN_FOLDER, "folderType"),
    ],
)
def test_spec_required_fields_are_required(
    model: type[BaseModel], payload: dict[str, Any], field: str
) -> None:
    broken = copy.deepcopy(payload)
    del broken[field]
    with pytest.raises(ValidationError):
        model.model_validate(broken)


def test_fields_read_as_python_names() -> None:
    case = zm.TestCase.model_validate(MAX_TEST_CASE)
    assert case.owner is not None
    assert case.owner.account_id == ACCOUNT
    assert case.folder is not None
    assert case.folder.id == 100006
    assert case.links is not None
    assert case.links.web_links is not None
    assert case.links.web_links[0].url == "https://atlassian.com"
    assert case.custom_fields is not None
    assert case.custom_fields["Category"] == ["Performance", "Regression"]
    assert case.created_on is not None
    assert case.created_on.year == 2018
    step = zm.TestStep.model_validate(STEP_CALL)
    assert step.is_call
    assert step.test_case is not None
    assert step.test_case.parameters is not None
    assert step.test_case.parameters[0].value == "admin"
    assert not zm.TestStep.model_validate(STEP_INLINE).is_call


def test_folder_without_parent_is_a_root_folder() -> None:
    assert (
        zm.Folder.model_validate({k: v for k, v in MIN_FOLDER.items() if k != "parentId"}).parent_id is None
    )


def test_pages_parse_their_values() -> None:
    page = zm.OffsetPage[zm.TestCase].model_validate(
        {"startAt": 0, "maxResults": 100, "total": 1, "isLast": True, "values": [MAX_TEST_CASE]}
    )
    assert page.values[0].key == "SA-T10"
    cursor = zm.CursorPage[zm.TestExecution].model_validate(
        {"limit": 10, "nextStartAtId": None, "next": None, "values": [MIN_TEST_EXECUTION]}
    )
    assert cursor.next_start_at_id is None
    assert cursor.values[0].test_case_version() == ("PROJ-T1", 1)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{API}/testcases/PROJ-T1/versions/1", ("PROJ-T1", 1)),
        (f"{API}/testcases/PROJ-T1/versions/12/", ("PROJ-T1", 12)),
        ("http://127.0.0.1:8765/v2/testcases/AB_C-T99/versions/3", ("AB_C-T99", 3)),
        ("https://eu.api.zephyrscale.smartbear.com/v2/testCases/X-T5/versions/2?x=1", ("X-T5", 2)),
        ("/testcases/Q-T7/versions/4", ("Q-T7", 4)),
        ("https://h/v2/testcases/P%2DT8/versions/1", ("P-T8", 1)),
    ],
)
def test_parse_version_url(url: str, expected: tuple[str, int]) -> None:
    assert parse_version_url(url) == expected


@pytest.mark.parametrize(
    "url", ["", f"{API}/testcases/PROJ-T1", f"{API}/testcases/PROJ-T1/versions/x", f"{API}/testcycles/1"]
)
def test_parse_version_url_rejects_other_urls(url: str) -> None:
    with pytest.raises(ValueError):
        parse_version_url(url)


def test_execution_without_a_readable_version_url() -> None:
    execution = zm.TestExecution.model_validate({**MIN_TEST_EXECUTION, "testCase": {"id": 3}})
    assert execution.test_case_version() is None


def test_parse_names_the_entity_and_field() -> None:
    with pytest.raises(ApiError) as info:
        parse(zm.TestCase, {**MIN_TEST_CASE, "status": None})
    assert str(info.value) == "Zephyr returned a TestCase (SA-T10) ztoq cannot read: field 'status': " + (
        "Input should be a valid dictionary or instance of ResourceLink."
    )
    assert parse(zm.Folder, MIN_FOLDER).name == "Root"
