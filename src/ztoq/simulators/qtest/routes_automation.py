"""Automation endpoints of the qTest simulator: ``auto-test-logs``, the batch queue, the sub
hierarchy of the test execution tree and the current user's admin profile.

* ``POST /api/v3/projects/{projectId}/test-runs/{testRunId}/auto-test-logs`` (``submitAutomationLog``)
  logs one automation result, to run ``testRunId`` or, with 0, to a run of the test case found or
  created from ``automation_content``, in a suite "Automation Test Suite" (or "Automation
  yyyy-mm-dd" with ``suitePerDay``). 201 AutomationTestLogResourceResponse.
* ``POST /api/v3.1/projects/{projectId}/test-runs/0/auto-test-logs?type=automation`` and
  ``POST /api/v3/projects/{projectId}/auto-test-logs?type=automation`` queue a batch: 201
  QueueProcessingResponse ``IN_WAITING``; ``GET /api/v3/projects/queue-processing/{id}`` reports
  ``SUCCESS`` (or ``FAILED``, with the reason in ``content``) once processed. The simulator
  processes a queued batch before it answers the next request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from ztoq.simulators.qtest import automation as auto
from ztoq.simulators.qtest.automation_input import LogEntry, prepare
from ztoq.simulators.qtest.routes_automation_render import (
    admin_profile,
    render_automation_log,
    subhierarchy,
)
from ztoq.simulators.qtest.routing import ROOT, Container, Req, container, endpoint, project_routes, respond
from ztoq.simulators.qtest.state import QTestError, QTestState, TestCycle, TestSuite
from ztoq.simulators.qtest.tables import Table

#: ``type`` of the queue-processing jobs of batch submissions (the Swagger file's example).
JOB_TYPE = "AUTOMATION_TEST_LOG"


def _ref(req: Req, table: Table[Any], raw: Any, what: str) -> Any:
    """An artifact of the request's project by ID or PID (``TS-3``, ``CL-2``, ``MD-1``)."""
    text = str(raw).strip()
    for item in req.state.in_project(table, req.project_id):
        if str(item.id) == text or item.pid.lower() == text.lower():
            return item
    raise QTestError(400, f"{what} '{raw}' does not exist in project {req.project_id}")


def _single(req: Req) -> Response:
    req.require("test_run", "execute")
    run_id = int(req.params["testRunId"])
    body = req.json_object()
    if run_id > 0:
        run = req.state.get(req.state.test_runs, req.project_id, run_id, "Test Run")
        entry = prepare(req, body, "The test log", identity=False)
        case = req.state.test_cases[run.test_case_id]
        auto.sync_steps(req, case, entry)
        if req.q_bool("forceUpdateVersion", False):
            run.version_id = case.latest.id
    elif run_id == 0:
        entry = prepare(req, body, "The test log")
        suite_name = auto.AUTOMATION_SUITE
        if (req.query.get("suitePerDay") or "").lower() == "true":
            day = req.query.get("suiteDate") or ""
            if len(day) != 8 or not day.isdigit():
                raise QTestError(400, "suiteDate (yyyymmdd) is required when suitePerDay is true")
            suite_name = f"Automation {day[:4]}-{day[4:6]}-{day[6:]}"
        case = auto.ensure_case(req, entry, auto.automation_module(req, None, skip=False))
        suite = auto.suite_in(req, ROOT, suite_name)
        run = auto.ensure_run(req, case, ("test-suite", suite.id), entry.name)
    else:
        raise QTestError(400, "testRunId must be 0 or the ID of a Test Run")
    log = auto.add_log(req, run, entry)
    return respond(render_automation_log(req.state, log, entry, req.base), 201)


def _job_body(job: dict[str, Any]) -> dict[str, Any]:
    return {key: job[key] for key in ("id", "type", "state", "contentType", "content")}


def _queue(req: Req, work: Callable[[Req, dict[str, Any]], dict[str, Any]]) -> Response:
    """Check the batch request, queue ``work`` and answer 201 ``IN_WAITING``."""
    if req.query.get("type") != "automation":
        raise QTestError(400, "Parameter type must be 'automation'")
    body = req.json_object()
    logs = body.get("test_logs")
    if not isinstance(logs, list) or not logs:
        raise QTestError(400, "test_logs is required and must not be empty")
    job: dict[str, Any] = {
        "id": req.state.next_id("jobs"),
        "type": JOB_TYPE,
        "state": "IN_WAITING",
        "contentType": "application/json",
        "content": None,
        "project_id": req.project_id,
    }
    req.state.jobs[job["id"]] = job

    def process() -> None:
        job["state"] = "IN_PROCESSING"
        try:
            outcome = work(req, body)
        except QTestError as exc:
            job["state"], job["content"] = "FAILED", json.dumps({"message": exc.message})
        else:
            job["state"], job["content"] = "SUCCESS", json.dumps(outcome)

    req.state.queued.append(process)
    return respond(_job_body(job), 201)


def _entries(req: Req, body: dict[str, Any]) -> list[LogEntry]:
    return [prepare(req, raw, f"test_logs[{i}]") for i, raw in enumerate(body["test_logs"])]


def _batch(req: Req, body: dict[str, Any]) -> dict[str, Any]:
    """``submitAutomationTestLogs``: every log to a run in one test suite."""
    entries = _entries(req, body)
    parent = (
        _ref(req, req.state.modules, body["parent_module"], "Module") if body.get("parent_module") else None
    )
    given_suite = body.get("test_suite")
    suite: TestSuite = (
        _ref(req, req.state.test_suites, given_suite, "Test Suite")
        if given_suite not in (None, "", 0)
        else auto.suite_in(req, ROOT, auto.AUTOMATION_SUITE)
    )
    module_id = auto.automation_module(
        req, parent.id if parent else None, skip=bool(body.get("skipCreatingAutomationModule"))
    )
    cases = set()
    for entry in entries:
        case = auto.ensure_case(req, entry, module_id)
        cases.add(case.id)
        auto.add_log(req, auto.ensure_run(req, case, ("test-suite", suite.id), entry.name), entry)
    # The counts and suite Tricentis' own Jenkins plugin reads from ``content``
    # (AutomationTestResponse: testSuiteId, testSuiteName, totalTestCases, totalTestLogs).
    return {
        "testSuiteId": suite.id,
        "testSuiteName": suite.name,
        "totalTestCases": len(cases),
        "totalTestLogs": len(entries),
    }


def _cycle_path(req: Req, names: list[str], top: Container) -> Container:
    """The test cycle at ``names`` below ``top``, creating the missing ones."""
    state, project_id, current = req.state, req.project_id, top
    for name in names:
        found = next(
            (c for c in state.children(state.test_cycles, project_id, current) if c.name == name),
            None,
        )
        if found is None:
            found = _new_cycle(req, name, current)
        current = ("test-cycle", found.id)
    return current


def _new_cycle(req: Req, name: str, parent: Container) -> TestCycle:
    state = req.state
    now = state.now()
    cycle = TestCycle(
        **auto.placement(req, "test-cycles", state.test_cycles, name, parent),
        created=now,
        modified=now,
        target_release_id=parent[1] if parent[0] == "release" else None,
    )
    state.test_cycles[cycle.id] = cycle
    return cycle


def _tree(req: Req, body: dict[str, Any]) -> dict[str, Any]:
    """``submitAutomationTestLogsWithTreeStructure``: modules and cycles from ``module_names``."""
    if body.get("test_cycle") in (None, ""):
        raise QTestError(400, "test_cycle is required")
    top = _ref(req, req.state.test_cycles, body["test_cycle"], "Test Cycle")
    entries = _entries(req, body)
    paths = []
    for i, entry in enumerate(entries):
        names = entry.raw.get("module_names")
        if (
            not isinstance(names, list)
            or not names
            or not all(isinstance(n, str) and n.strip() for n in names)
        ):
            raise QTestError(400, f"test_logs[{i}]: module_names is required (folder names)")
        version_id = entry.raw.get("test_case_version_id")
        if version_id is not None:
            # "In case the Test Run has not existed, this field should not be included or it
            # will cause an error."
            case = auto.find_case(req, entry.content)
            if case is None or case.version_by_id(version_id) is None:
                raise QTestError(
                    400,
                    f"test_logs[{i}]: test_case_version_id {version_id} is not a version of an"
                    " existing test case",
                )
        paths.append([n.strip() for n in names])
    cases = set()
    for entry, names in zip(entries, paths, strict=True):
        module_id = auto.module_path(req, names, None)
        assert module_id is not None
        case = auto.ensure_case(req, entry, module_id)
        cases.add(case.id)
        run = auto.ensure_run(req, case, _cycle_path(req, names, ("test-cycle", top.id)), entry.name)
        auto.add_log(req, run, entry)
    return {"testCycleId": top.id, "totalTestCases": len(cases), "totalTestLogs": len(entries)}


def _track(req: Req) -> Response:
    job = req.state.jobs.get(int(req.params["jobId"]))
    if job is None:
        raise QTestError(404, f"Queue processing job with id {req.params['jobId']} does not exist")
    return respond(_job_body(job))


def _subhierarchy(req: Req) -> Response:
    parent_type = req.query.get("parentType") or "root"
    if parent_type not in ("root", "release", "test-cycle"):
        raise QTestError(400, "parentType must be one of root, release, test-cycle")
    top = container(req, ("root", "release", "test-cycle")) if parent_type != "root" else ROOT
    return respond(subhierarchy(req.state, req.project_id, top))


def _admin_profile(req: Req) -> Response:
    return respond(admin_profile(req.state, req.user_id))


def routes(state: QTestState) -> list[Route]:
    """The automation routes.

    Args:
        state: The simulator state.

    Returns:
        The routes.
    """
    return [
        *project_routes(
            state,
            [
                ("POST", "test-runs/{testRunId:int}/auto-test-logs", _single),
                ("POST", "auto-test-logs", lambda req: _queue(req, _tree)),
                ("GET", "test-runs/subhierarchy", _subhierarchy),
            ],
        ),
        Route(
            "/api/v3.1/projects/{projectId:int}/test-runs/{testRunId:int}/auto-test-logs",
            endpoint(state, _batch_v31),
            methods=["POST"],
        ),
        Route("/api/v3/projects/queue-processing/{jobId:int}", endpoint(state, _track), methods=["GET"]),
        Route("/api/v3/admin-profiles/current", endpoint(state, _admin_profile), methods=["GET"]),
    ]


def _batch_v31(req: Req) -> Response:
    # The Swagger's 400 reasons: "i) invalid project ID; ii) testRunId is not 0 (zero) iii) the
    # value of parameter type is not Automation".
    if int(req.params["projectId"]) not in req.state.projects:
        raise QTestError(400, f"Project with id {req.params['projectId']} does not exist.")
    if int(req.params["testRunId"]) != 0:
        raise QTestError(400, "testRunId must be 0 (zero)")
    return _queue(req, _batch)
