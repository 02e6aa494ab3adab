"""Hand-built Zephyr Scale Server v1 wire objects (docs/simulators-zephyr-server.md) and a fake site."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any
from urllib.parse import unquote

import httpx

from ztoq.sources.base import RowsInMemory

SITE = "https://jira.example.com"
ATM = "/rest/atm/1.0"

DATA_DRIVEN_CASE: dict[str, Any] = {
    "key": "DC-T12",
    "projectKey": "DC",
    "name": "Engine ignites",
    "status": "Approved",
    "priority": "High",
    "component": "Valves",
    "folder": "/Orbiter/Propulsion",
    "owner": "JIRAUSER10100",
    "objective": f'<p>see <img src="{SITE}/secure/attachment/5/diagram.png"></p>',
    "precondition": '<img src="https://cdn.example.net/x.png">',
    "estimatedTime": 138000,
    "labels": ["Smoke"],
    "issueLinks": ["DC-101"],
    "customFields": {"Automation": "Manual", "Components": "UI, API", "Reviewed": True, "Points": 3},
    "createdOn": "2024-03-01T10:15:00.000Z",
    "createdBy": "JIRAUSER10100",
    "majorVersion": 1,
    "latestVersion": True,
    "parameters": {
        "variables": [
            {"name": "user", "type": "FREE_TEXT"},
            {"name": "country", "type": "DATA_SET", "dataSet": "Countries"},
        ],
        "entries": [{"user": "ada", "country": "UK"}, {"user": "linus", "country": "FI"}],
    },
    "testScript": {
        "id": 301,
        "type": "STEP_BY_STEP",
        "steps": [
            {"id": 902, "index": 1, "testCaseKey": "DC-T3"},
            {
                "id": 901,
                "index": 0,
                "description": '<p>Open {user}</p><img src="/secure/attachment/6/step.png">',
                "testData": "user={user}",
                "expectedResult": "Shown",
                "customFields": {"Risk": "Low"},
            },
        ],
    },
}

PLAIN_CASE: dict[str, Any] = {
    "key": "DC-T3",
    "projectKey": "DC",
    "name": "Log in",
    "status": "Draft",
    "priority": "Normal",
    "folder": "/Orbiter",
    "testScript": {"id": 302, "type": "PLAIN_TEXT", "text": "Log in as admin"},
}

BDD_CASE: dict[str, Any] = {
    "key": "DC-T4",
    "projectKey": "DC",
    "name": "Checkout",
    "status": "Approved",
    "priority": "High",
    "folder": "/Shop//Cart/",
    "testScript": {"id": 303, "type": "BDD", "text": "Given a cart\nWhen I pay\nThen it is paid"},
}

PLAN: dict[str, Any] = {
    "key": "DC-P1",
    "projectKey": "DC",
    "name": "Release 4.2",
    "objective": "<p>ship it</p>",
    "folder": "/2024",
    "status": "Approved",
    "owner": "JIRAUSER10100",
    "labels": ["release"],
    "issueLinks": ["DC-7"],
    "customFields": {},
    "testRuns": [{"key": "DC-C1"}, {"key": "DC-C4"}],
}

RUN: dict[str, Any] = {
    "key": "DC-C1",
    "projectKey": "DC",
    "name": "Regression 4.2",
    "folder": "/Regression",
    "status": "Done",
    "description": "<p>nightly</p>",
    "owner": "JIRAUSER10100",
    "testPlanKey": "DC-P1",
    "issueKey": "DC-55",
    "version": "4.2",
    "iteration": "Sprint 12",
    "plannedStartDate": "2024-03-01T00:00:00.000Z",
    "plannedEndDate": "2024-03-08T00:00:00.000Z",
    "estimatedTime": 540000,
    "customFields": {"Build": "nightly"},
    "items": [
        {"id": 7001, "index": 0, "testCaseKey": "DC-T12", "userKey": "JIRAUSER10101", "status": "Fail"}
    ],
}

RUN_WITHOUT_ITEMS: dict[str, Any] = {
    "key": "DC-C4",
    "projectKey": "DC",
    "name": "Smoke",
    "status": "In Progress",
    "customFields": {"Iteration": "Kept"},
    "iteration": "Sprint 13",
}

RESULT: dict[str, Any] = {
    "id": 5123,
    "projectKey": "DC",
    "testRunKey": "DC-C1",
    "testCaseKey": "DC-T12",
    "testCaseMajorVersion": 1,
    "status": "Fail",
    "environment": "Chrome",
    "comment": f'<p>crashed</p><img src="{SITE}/secure/attachment/7/crash.png">',
    "assignedTo": "JIRAUSER10101",
    "executedBy": "JIRAUSER10101",
    "userKey": "JIRAUSER10102",
    "executionTime": 180000,
    "executionDate": "2024-03-02T10:00:00.000Z",
    "actualStartDate": "2024-03-02T09:57:00.000Z",
    "actualEndDate": "2024-03-02T10:00:00.000Z",
    "automated": False,
    "customFields": {"Build": "4.2.1"},
    "issueLinks": ["DC-900"],
    "scriptResults": [
        {"index": 3, "status": "Fail", "comment": "<p>timeout</p>"},
        {"index": 0, "status": "Pass", "comment": "ok"},
        {"index": 1, "status": "Pass"},
        {"index": 2, "status": "Blocked"},
    ],
}

#: A result that does not name its run (the adapter adds ``testRunKey``).
BARE_RESULT: dict[str, Any] = {
    "id": 5124,
    "testCaseKey": "DC-T3",
    "status": "Not Executed",
    "userKey": "JIRAUSER10102",
    "environment": "Firefox",
}

ENVIRONMENTS = [{"id": 1, "name": "Chrome", "description": "", "index": 0}]
PROJECT = {"id": "10000", "key": "DC", "name": "Data Center demo", "self": f"{SITE}/rest/api/2/project/10000"}


class FakeSite:
    """A Jira site serving a few Zephyr Scale v1 routes from in-memory lists, recording what it is asked."""

    def __init__(self) -> None:
        self.cases = [copy.deepcopy(DATA_DRIVEN_CASE), copy.deepcopy(PLAIN_CASE), copy.deepcopy(BDD_CASE)]
        self.plans = [copy.deepcopy(PLAN)]
        self.runs = [copy.deepcopy(RUN), copy.deepcopy(RUN_WITHOUT_ITEMS)]
        self.results: dict[str, list[dict[str, Any]]] = {
            "DC-C1": [copy.deepcopy(RESULT)],
            "DC-C4": [copy.deepcopy(BARE_RESULT)],
        }
        self.attachments: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, bytes] = {}
        self.requests: list[httpx.Request] = []
        self.delay: dict[str, float] = {}
        self.in_flight = 0
        self.most_in_flight = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def paths(self) -> list[str]:
        return [unquote(r.url.path) for r in self.requests]

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            path = unquote(request.url.path)
            await asyncio.sleep(self.delay.get(path, 0))
            return self.route(path, request.url.params)
        finally:
            self.in_flight -= 1

    def route(self, path: str, params: httpx.QueryParams) -> httpx.Response:
        if path in self.files:
            return httpx.Response(200, content=self.files[path], headers={"content-type": "image/png"})
        if path == "/rest/api/2/project/DC":
            return httpx.Response(200, json=PROJECT)
        if not path.startswith(ATM):
            return _missing(path)
        path = path[len(ATM) :]
        searches = {
            "/testcase/search": self.cases,
            "/testplan/search": self.plans,
            "/testrun/search": self.runs,
        }
        if path in searches:
            return httpx.Response(200, json=page(searches[path], params))
        if path == "/environments":
            return httpx.Response(200, json=ENVIRONMENTS)
        if path.endswith("/attachments"):
            found = self.attachments.get(path)
            return _missing(path) if found is None else httpx.Response(200, json=found)
        parts = path.split("/")
        if parts[1] == "testrun" and len(parts) == 4 and parts[3] == "testresults":
            results = self.results.get(parts[2])
            return _missing(path) if results is None else httpx.Response(200, json=results)
        if parts[1] == "testrun" and len(parts) == 3:
            run = next((r for r in self.runs if r["key"] == parts[2]), None)
            return _missing(path) if run is None else httpx.Response(200, json={**run, "items": []})
        return _missing(path)


def page(rows: list[dict[str, Any]], params: httpx.QueryParams) -> list[dict[str, Any]]:
    """One search page: ``startAt``/``maxResults`` over ``rows``, ``fields`` applied."""
    start = int(params.get("startAt", 0))
    size = int(params.get("maxResults", 200))
    chosen = rows[start : start + size]
    fields = params.get("fields")
    if fields:
        names = fields.split(",")
        chosen = [{k: v for k, v in row.items() if k in names} for row in chosen]
    return chosen


def _missing(path: str) -> httpx.Response:
    return httpx.Response(404, json={"errorMessages": [f"{path} not found"]})


class Rows(RowsInMemory):
    """Stored rows in memory (the :class:`~ztoq.sources.base.StoredRows` protocol), in batches of two."""

    def __init__(self, **rows: list[tuple[str, Any]]) -> None:
        # A stored payload went through JSON: the readers get a copy of what the store would hold.
        stored = {t: [(key, json.loads(json.dumps(payload))) for key, payload in r] for t, r in rows.items()}
        super().__init__(stored, batch_size=2)


def stored() -> Rows:
    """The wire objects above as extract stores them."""
    result = {**RESULT}
    bare = {**BARE_RESULT, "testRunKey": "DC-C4"}
    return Rows(
        environment=[("1", ENVIRONMENTS[0])],
        test_case=[(c["key"], c) for c in (DATA_DRIVEN_CASE, PLAIN_CASE, BDD_CASE)],
        test_plan=[("DC-P1", PLAN)],
        test_cycle=[("DC-C1", RUN), ("DC-C4", RUN_WITHOUT_ITEMS)],
        test_execution=[("5123", result), ("5124", bare)],
    )
