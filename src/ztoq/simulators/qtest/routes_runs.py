"""Test run and manual test log endpoints of the qTest simulator (and attachment storage).

A test log must name one of the project's execution statuses, ISO-8601 ``exe_start_date`` and
``exe_end_date``, and only steps of the test case version it is logged against (``400``
otherwise). Test logs cannot be deleted (the real API has no such endpoint); deleting the test run
removes them.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from ztoq.simulators.qtest.attachments import render_attachment, store_attachment
from ztoq.simulators.qtest.fields import apply_properties, render_properties
from ztoq.simulators.qtest.render import api, iso, link, parse_datetime
from ztoq.simulators.qtest.routes_design import automated, find_test_case, render_step, render_test_case
from ztoq.simulators.qtest.routing import (
    ROOT,
    Req,
    container,
    envelope,
    member_ids,
    name_of,
    page_of,
    project_routes,
    respond,
    user_names,
    within,
)
from ztoq.simulators.qtest.state import QTestError, QTestState, TestLog, TestRun

#: LinkedDefectResource attributes kept from a submitted test log's ``defects``.
_DEFECT_KEYS = (
    "id",
    "external_defect_id",
    "connection_id",
    "external_project_id",
    "summary",
    "status",
    "pid",
    "web_url",
    "description",
)


def _status_field_id(state: QTestState, project_id: int) -> int | None:
    for field in state.fields_of(project_id, "test-runs"):
        if field.get("system_field") and field["label"] == "Status":
            return int(field["id"])
    return None


def latest_log(state: QTestState, run: TestRun) -> TestLog | None:
    """The last test log submitted to a run.

    Args:
        state: The simulator state.
        run: The test run.

    Returns:
        The test log, or None.
    """
    logs = state.logs_of(run.id)
    return logs[-1] if logs else None


def render_run(state: QTestState, run: TestRun, base: str, *, expand: str | None = None) -> dict[str, Any]:
    """TestRunWithCustomFieldResource of a run.

    Args:
        state: The simulator state.
        run: The test run.
        base: Site URL the client used.
        expand: ``testcase`` or ``testcase.teststep`` to include the test case (and its steps).

    Returns:
        The TestRunWithCustomFieldResource dict.
    """
    case = state.test_cases[run.test_case_id]
    version = case.version_by_id(run.version_id) or case.latest
    values = dict(run.properties)
    last = latest_log(state, run)
    status_field = _status_field_id(state, run.project_id)
    if last is not None and status_field is not None:
        values[status_field] = str(last.status_id)
    fields = state.fields_of(run.project_id, "test-runs")
    if expand in ("testcase", "testcase.teststep"):
        test_case = render_test_case(state, case, base, version=version, steps=expand == "testcase.teststep")
    else:
        test_case = {"links": [], "id": case.id}
    body: dict[str, Any] = {
        "parentId": run.parent_id,
        "parentType": run.parent_type,
        "automation": "Yes" if automated(state, case, version) else "No",
        "testCaseId": case.id,
        "links": [
            link("test-case", api(base, run.project_id, f"test-cases/{case.id}?versionId={version.id}")),
            link("self", api(base, run.project_id, f"test-runs/{run.id}")),
        ],
        "id": run.id,
        "name": run.name,
        "order": run.order,
        "pid": run.pid,
        "created_date": iso(run.created),
        "last_modified_date": iso(run.modified),
        "properties": render_properties(fields, values, user_names(state)),
        "test_case": test_case,
        "test_case_version_id": version.id,
        "test_case_version": version.version,
        "creator_id": run.creator_id,
    }
    if last is not None:
        status = state.status(run.project_id, last.status_id) or {"name": str(last.status_id)}
        body["latest_test_log"] = {
            "id": last.id,
            "status": status["name"],
            "exe_start_date": iso(last.exe_start),
            "exe_end_date": iso(last.exe_end),
        }
    return body


def _run(req: Req) -> TestRun:
    return req.state.get(req.state.test_runs, req.project_id, int(req.params["testRunId"]), "Test Run")


def _create_run(req: Req) -> Response:
    req.require("test_run", "create")
    body = req.json_object()
    parent = container(req, ("root", "release", "test-cycle", "test-suite"))
    project_id = req.project_id
    test_case = body.get("test_case")
    if not isinstance(test_case, dict) or not isinstance(test_case.get("id"), int | str):
        raise QTestError(400, "test_case with the id of the associated Test Case is required")
    try:
        case = find_test_case(req, str(test_case["id"]))
    except QTestError:
        raise QTestError(400, f"Test Case with id {test_case['id']} does not exist") from None
    version_id = test_case.get("test_case_version_id") or body.get("test_case_version_id")
    version = case.version_by_id(int(version_id)) if version_id else case.latest
    if version is None:
        raise QTestError(400, f"Version {version_id} does not belong to test case {case.pid}")
    fields = req.state.fields_of(project_id, "test-runs")
    now = req.state.now()
    order = req.state.next_order(
        "test-runs",
        (project_id, *parent),
        lambda: req.state.test_runs.count("parent", (project_id, *parent)),
    )
    run = TestRun(
        id=req.state.next_id("test-runs"),
        project_id=project_id,
        pid=req.state.next_pid(project_id, "test-runs"),
        name=name_of(body, "Test Run", version.name),
        parent_type=parent[0],
        parent_id=parent[1],
        order=order,
        test_case_id=case.id,
        version_id=version.id,
        properties=apply_properties(fields, body.get("properties"), {}, member_ids(req), creating=True),
        creator_id=req.user_id,
        created=now,
        modified=now,
    )
    req.state.test_runs[run.id] = run
    return respond(render_run(req.state, run, req.base), 201)


def _list_runs(req: Req) -> Response:
    page, size = req.paging(default_size=100)
    state, project_id = req.state, req.project_id
    runs = None
    if req.query.get("parentId") is not None or req.query.get("parentType") is not None:
        parent = container(req, ("root", "release", "test-cycle", "test-suite"))
        if req.query.get("expand") != "descendants":
            runs = state.children(state.test_runs, project_id, parent)
            runs.sort(key=lambda r: (r.order, r.id))
        elif parent != ROOT:
            inside = within(state, project_id, parent)
            runs = sorted(
                (r for c in inside for r in state.children(state.test_runs, project_id, c)), key=_id
            )
    if runs is None:
        runs = state.in_project(state.test_runs, project_id)
    items = [render_run(req.state, r, req.base) for r in page_of(runs, page, size)]
    return respond(envelope(items, page, size, len(runs)))


def _id(run: TestRun) -> int:
    return run.id


def _get_run(req: Req) -> Response:
    return respond(render_run(req.state, _run(req), req.base, expand=req.query.get("expand")))


def _update_run(req: Req) -> Response:
    req.require("test_run", "edit")
    run = _run(req)
    if req.query.get("parentId") is not None:
        # "If you use the request parameters, the request body will be ignored."
        run.parent_type, run.parent_id = container(req, ("root", "release", "test-cycle", "test-suite"))
        req.state.test_runs.reindex(run.id)
    else:
        body = req.json_object()
        fields = req.state.fields_of(run.project_id, "test-runs")
        run.properties = apply_properties(
            fields, body.get("properties"), run.properties, member_ids(req), creating=False
        )
        run.name = name_of(body, "Test Run", run.name)
    run.modified = req.state.now()
    return respond(render_run(req.state, run, req.base))


def delete_run(state: QTestState, run: TestRun) -> None:
    """Remove a run with its test logs and their attachments.

    Args:
        state: The simulator state.
        run: The test run.
    """
    logs = state.logs_of(run.id)
    state.drop_attachments("test-logs", [log.id for log in logs])
    state.drop_attachments("test-step-logs", [s["test_step_log_id"] for log in logs for s in log.step_logs])
    for log in logs:
        state.drop_log(log.id)
    del state.test_runs[run.id]


def _delete_run(req: Req) -> Response:
    req.require("test_run", "delete")
    run = _run(req)
    delete_run(req.state, run)
    return respond({"message": f"Test Run {run.pid} was deleted"})


# -- test logs ------------------------------------------------------------------------------------


def _status_ref(req: Req, raw: Any, what: str) -> dict[str, Any]:
    status_id = raw.get("id") if isinstance(raw, dict) else None
    status = req.state.status(req.project_id, status_id) if status_id is not None else None
    if status is None:
        raise QTestError(400, f"{what} status {{id}} must be one of the project's execution statuses")
    return status


def _step_logs(req: Req, run: TestRun, version_steps: list[dict[str, Any]], raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        raise QTestError(400, "test_step_logs must be an array")
    known = {s["id"]: s for s in version_steps}
    out = []
    for position, item in enumerate(raw, start=1):
        step_id = item.get("test_step_id")
        called = item.get("called_test_case_id")
        if called:
            # Steps of a called test case: test_step_id is a step of the called case's latest version.
            parent_step = known.get(item.get("parent_test_step_id"))
            target = req.state.test_cases.get(called) if isinstance(called, int) else None
            if parent_step is None or parent_step.get("called_test_case_id") != called or target is None:
                raise QTestError(
                    400, f"Test step log {position}: called_test_case_id and parent_test_step_id do not match"
                )
            steps = {s["id"]: s for s in target.latest.steps}
        else:
            steps = known
        step = steps.get(step_id) if isinstance(step_id, int) else None
        if step is None:
            raise QTestError(
                400,
                f"Test step log {position}: test_step_id {step_id} is not a step of the test case version"
                " of this run",
            )
        status = _status_ref(req, item.get("status"), f"Test step log {position}:")
        actual = item.get("actual_result") or ""
        if not isinstance(actual, str):
            raise QTestError(400, f"Test step log {position}: actual_result must be a string")
        exe_date = parse_datetime(item["exe_date"], "exe_date") if item.get("exe_date") else None
        out.append(
            {
                "test_step_id": step["id"],
                "test_step_log_id": req.state.next_id("step-logs"),
                "status_id": status["id"],
                "description": step["description"],
                "expected_result": step["expected"],
                "actual_result": actual,
                "order": item.get("order") if isinstance(item.get("order"), int) else position,
                "exe_date": exe_date,
                "called_test_case_id": called,
                "parent_test_step_id": item.get("parent_test_step_id") if called else None,
                "attachments": item.get("attachments") or [],
            }
        )
    return sorted(out, key=lambda s: s["order"])


def _decode(raw: Any, what: str) -> tuple[str, str, bytes]:
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("name"), str)
        or not isinstance(raw.get("data"), str)
    ):
        raise QTestError(400, f"{what}: each attachment needs name, content_type and base64 data")
    try:
        data = base64.b64decode(raw["data"], validate=True)
    except (binascii.Error, ValueError):
        raise QTestError(400, f"{what}: attachment '{raw['name']}' is not valid base64") from None
    return raw["name"], str(raw.get("content_type") or "application/octet-stream"), data


def _int_attr(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise QTestError(400, f"{key} must be a non-negative integer")
    return value


def _submit_log(req: Req) -> Response:
    req.require("test_run", "execute")
    run = _run(req)
    results = req.state.logs_of(run.id)
    log = _build_log(req, run, None, req.json_object())
    log.result_number = len(results) + 1
    req.state.put_log(log)
    run.modified = log.created
    return respond(render_log(req.state, log, req.base), 201)


def _modify_log(req: Req) -> Response:
    # "Modify a Manual Test Log" (PUT .../test-runs/{testRunId}/test-logs/{id}, qTest 2025.1
    # endpoint list): the body replaces the log's content; the log keeps its id, its place among
    # the run's results and, unless the body names another, the test case version it was bound to.
    req.require("test_run", "execute")
    run = _run(req)
    old = req.state.test_logs.get(int(req.params["logId"]))
    if old is None or old.run_id != run.id:
        raise QTestError(404, f"Test Log with id {req.params['logId']} does not exist in test run {run.pid}")
    log = _build_log(req, run, old, req.json_object())
    req.state.put_log(log)
    run.modified = req.state.now()
    return respond(render_log(req.state, log, req.base))


def _build_log(req: Req, run: TestRun, old: TestLog | None, body: dict[str, Any]) -> TestLog:
    """A test log from a submitted (or, with ``old``, modified) body, validated like qTest does."""
    case = req.state.test_cases[run.test_case_id]
    status = _status_ref(req, body.get("status"), "The test log")
    exe_start = parse_datetime(body.get("exe_start_date"), "exe_start_date")
    exe_end = parse_datetime(body.get("exe_end_date"), "exe_end_date")
    if exe_end < exe_start:
        raise QTestError(400, "exe_end_date must not be before exe_start_date")
    version_id = body.get("test_case_version_id")
    if version_id is not None:
        version = case.version_by_id(version_id) if isinstance(version_id, int) else None
        if version is None:
            raise QTestError(
                400, f"test_case_version_id {version_id} is not a version of test case {case.pid}"
            )
    elif old is not None:
        version = case.version_by_id(old.version_id) or case.latest
    else:
        # "If it is omitted, the submitted Test Log will be associated with the Test Case's latest
        # approved version" (the run's version when the test case was never approved).
        version = case.latest_approved() or case.version_by_id(run.version_id) or case.latest
    step_logs = _step_logs(req, run, version.steps, body.get("test_step_logs"))
    files = [_decode(a, "The test log") for a in body.get("attachments") or []]
    step_files = [
        (s, _decode(a, f"Test step log {s['order']}")) for s in step_logs for a in s.pop("attachments")
    ]
    fields = req.state.fields_of(run.project_id, "test-runs")
    properties = apply_properties(fields, body.get("properties"), {}, member_ids(req), creating=False)
    defects = body.get("defects") or []
    if not isinstance(defects, list) or not all(isinstance(d, dict) for d in defects):
        raise QTestError(400, "defects must be an array of defects")
    extra = {
        "note": body.get("note"),
        "name": body.get("name") or run.name,
        "planned_exe_time": _int_attr(body, "planned_exe_time"),
        "actual_exe_time": _int_attr(body, "actual_exe_time"),
        "build_number": body.get("build_number"),
        "build_url": body.get("build_url"),
        "defects": [{k: d.get(k) for k in _DEFECT_KEYS if k in d} for d in defects],
    }
    log = TestLog(
        id=old.id if old is not None else req.state.next_id("test-logs"),
        project_id=run.project_id,
        run_id=run.id,
        version_id=version.id,
        status_id=int(status["id"]),
        exe_start=exe_start,
        exe_end=exe_end,
        submitted_by=req.user_id,
        created=old.created if old is not None else req.state.now(),
        result_number=old.result_number if old is not None else 0,
        step_logs=step_logs,
        properties=properties,
        extra=extra,
    )
    for name, content_type, data in files:
        store_attachment(req, "test-logs", log.id, name, content_type, data)
    for step_log, (name, content_type, data) in step_files:
        store_attachment(req, "test-step-logs", step_log["test_step_log_id"], name, content_type, data)
    return log


def render_log_details(state: QTestState, log: TestLog) -> dict[str, Any]:
    """The fields every answer about a test log carries alike: name, times, build and properties.

    Args:
        state: The simulator state.
        log: The test log.

    Returns:
        ``name``, ``planned_exe_time``, ``actual_exe_time``, ``build_number``, ``build_url`` and
        ``properties``, in that order.
    """
    return {
        "name": log.extra.get("name"),
        "planned_exe_time": log.extra.get("planned_exe_time"),
        "actual_exe_time": log.extra.get("actual_exe_time"),
        "build_number": log.extra.get("build_number"),
        "build_url": log.extra.get("build_url"),
        "properties": render_properties(
            state.fields_of(log.project_id, "test-runs"), log.properties, user_names(state)
        ),
    }


def render_log(state: QTestState, log: TestLog, base: str, *, expand: str | None = None) -> dict[str, Any]:
    """TestLogResource of a test log.

    Args:
        state: The simulator state.
        log: The test log.
        base: Site URL the client used.
        expand: ``testcase`` or ``teststeplog.teststep`` (``GET .../last-run``).

    Returns:
        The TestLogResource dict.
    """
    run = state.test_runs[log.run_id]
    case = state.test_cases[run.test_case_id]
    version = case.version_by_id(log.version_id) or case.latest

    def status(status_id: int) -> dict[str, Any]:
        found = state.status(log.project_id, status_id) or {"id": status_id, "name": str(status_id)}
        return {"links": [], "id": found["id"], "name": found["name"]}

    step_logs = []
    for s in log.step_logs:
        item: dict[str, Any] = {
            "links": [],
            "test_step_id": s["test_step_id"],
            "test_step_log_id": s["test_step_log_id"],
            "user_id": log.submitted_by,
            "status": status(s["status_id"]),
            "description": s["description"],
            "expected_result": s["expected_result"],
            "actual_result": s["actual_result"],
            "order": s["order"],
            "group": 0,
            "defects": [],
            "exe_date": iso(s["exe_date"] or log.exe_end),
        }
        if s.get("called_test_case_id"):
            item["called_test_case_id"] = s["called_test_case_id"]
            item["parent_test_step_id"] = s["parent_test_step_id"]
        if expand == "teststeplog.teststep":
            found = next((x for x in version.steps if x["id"] == s["test_step_id"]), None)
            if found is not None:
                item["test_step"] = render_step(state, case, found, base)
        step_logs.append(item)
    path = f"test-runs/{run.id}/test-logs/{log.id}"
    body: dict[str, Any] = {
        "links": [
            link("self", api(base, log.project_id, path)),
            link("test-case", api(base, log.project_id, f"test-cases/{case.id}?versionId={version.id}")),
            link("attachments", api(base, log.project_id, f"test-logs/{log.id}/attachments")),
        ],
        "id": log.id,
        "test_case_version_id": version.id,
        "exe_start_date": iso(log.exe_start),
        "exe_end_date": iso(log.exe_end),
        "note": log.extra.get("note"),
        **render_log_details(state, log),
        "status": status(log.status_id),
        "result_number": log.result_number,
        "test_step_logs": step_logs,
        "test_run_id": run.id,
        "attachments": [render_attachment(state, a, base) for a in state.attachments_of("test-logs", log.id)],
        "defects": log.extra.get("defects") or [],
    }
    if expand == "testcase":
        body["test_case"] = render_test_case(state, case, base, version=version, steps=True)
    return body


def _list_logs(req: Req) -> Response:
    run = _run(req)
    page, size = req.paging(default_size=100)
    logs = req.state.logs_of(run.id)
    items = [render_log(req.state, log, req.base) for log in page_of(logs, page, size)]
    return respond(envelope(items, page, size, len(logs)))


def _get_log(req: Req) -> Response:
    run = _run(req)
    log = req.state.test_logs.get(int(req.params["logId"]))
    if log is None or log.run_id != run.id:
        raise QTestError(404, f"Test Log with id {req.params['logId']} does not exist in test run {run.pid}")
    return respond(render_log(req.state, log, req.base))


def _last_log(req: Req) -> Response:
    run = _run(req)
    log = latest_log(req.state, run)
    if log is None:
        raise QTestError(404, f"Test Run {run.pid} has no test log")
    return respond(render_log(req.state, log, req.base, expand=req.query.get("expand")))


def routes(state: QTestState) -> list[Route]:
    """The test run and test log routes.

    Args:
        state: The simulator state.

    Returns:
        The routes.
    """
    run = "test-runs/{testRunId:int}"
    return project_routes(
        state,
        [
            ("GET", "test-runs", _list_runs),
            ("POST", "test-runs", _create_run),
            ("GET", run, _get_run),
            ("PUT", run, _update_run),
            ("DELETE", run, _delete_run),
            ("GET", f"{run}/test-logs", _list_logs),
            ("POST", f"{run}/test-logs", _submit_log),
            ("GET", f"{run}/test-logs/last-run", _last_log),
            ("GET", f"{run}/test-logs/{{logId:int}}", _get_log),
            ("PUT", f"{run}/test-logs/{{logId:int}}", _modify_log),
        ],
    )
