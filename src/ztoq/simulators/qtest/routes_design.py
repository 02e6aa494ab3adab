"""Test case endpoints of the qTest simulator: test cases, their versions and steps.

Versioning follows Tricentis' "Test Case Versioning and Approval" page: a new test case is 0.1,
every saved change adds 0.1, approving moves to the next whole number (4.2 -> 5.0). Each version
keeps its own copy of the steps, with new step IDs (a guess: the docs do not say whether step
IDs survive a new version; new IDs make clients that cache step IDs across versions fail here
rather than in production).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from ztoq.simulators.qtest.fields import apply_properties, render_properties
from ztoq.simulators.qtest.render import api, iso, link, web_url
from ztoq.simulators.qtest.routes_modules import children_of, module_of, new_module, parent_module
from ztoq.simulators.qtest.routing import (
    Req,
    member_ids,
    name_of,
    page_of,
    project_routes,
    respond,
    text_attr,
    user_names,
)
from ztoq.simulators.qtest.state import QTestError, QTestState, Requirement, TestCase, Version

#: Module that receives test cases created without ``parent_id`` (per the Swagger file).
CREATED_VIA_API = "Created via API"

_TAG = re.compile(r"<[^>]+>")


# -- test cases ---------------------------------------------------------------------------------


def render_step(state: QTestState, case: TestCase, step: dict[str, Any], base: str) -> dict[str, Any]:
    """TestStepResource of a stored step.

    Args:
        state: The simulator state.
        case: The test case the step belongs to.
        step: The stored step.
        base: Site URL the client used.

    Returns:
        The TestStepResource dict.
    """
    href = api(base, case.project_id, f"test-cases/{case.id}/test-steps/{step['id']}")
    body: dict[str, Any] = {
        "links": [link("self", href)],
        "id": step["id"],
        "description": step["description"],
        "expected": step["expected"],
        "order": step["order"],
        "group": 0,
        "parameter_values": [],
        "plain_value_text": _TAG.sub("", step["description"]),
    }
    called = step.get("called_test_case_id")
    if called:
        target = state.test_cases.get(called)
        body["called_test_case_id"] = called
        body["called_test_case_name"] = target.latest.name if target else None
        body["root_called_test_case_id"] = called
    if step.get("parent_test_step_id"):
        body["parent_test_step_id"] = step["parent_test_step_id"]
    return body


def render_test_case(
    state: QTestState,
    case: TestCase,
    base: str,
    *,
    version: Version | None = None,
    steps: bool = False,
    props: bool = True,
) -> dict[str, Any]:
    """TestCaseWithCustomFieldResource of a test case.

    Args:
        state: The simulator state.
        case: The test case.
        base: Site URL the client used.
        version: The version to show (default: the latest).
        steps: Include ``test_steps``.
        props: Include ``properties``.

    Returns:
        The TestCaseWithCustomFieldResource dict.
    """
    shown = version or case.latest
    path = f"test-cases/{case.id}"
    body: dict[str, Any] = {
        "links": [
            link("self", api(base, case.project_id, f"{path}?versionId={shown.id}")),
            link("test-steps", api(base, case.project_id, f"{path}/versions/{shown.id}/test-steps")),
            link("attachments", api(base, case.project_id, f"{path}/attachments")),
        ],
        "id": case.id,
        "name": shown.name,
        "order": case.order,
        "pid": case.pid,
        "created_date": iso(case.created),
        "last_modified_date": iso(shown.created if version else case.modified),
        "web_url": web_url(base, case.project_id, "test-cases", case.id),
        "parent_id": case.parent_id,
        "test_case_version_id": shown.id,
        "version": shown.version,
        "description": shown.description,
        "precondition": shown.precondition,
        "creator_id": case.creator_id,
        "agent_ids": [],
    }
    if props:
        fields = state.fields_of(case.project_id, "test-cases")
        body["properties"] = render_properties(fields, shown.properties, user_names(state))
    if steps:
        body["test_steps"] = [render_step(state, case, s, base) for s in shown.steps]
    return body


def automation_field(state: QTestState, project_id: int, label: str) -> int | None:
    """ID of the test case system field ``label`` ("Automation", "Automation Content", "Type").

    Args:
        state: The simulator state.
        project_id: The project.
        label: The field label.

    Returns:
        The field ID, or None when the project has no such system field.
    """
    for found in state.fields_of(project_id, "test-cases"):
        if found.get("system_field") and found["label"] == label:
            return int(found["id"])
    return None


def automated(state: QTestState, case: TestCase, version: Version | None = None) -> bool:
    """True when the test case's "Automation" field says Yes (an automation test case).

    Args:
        state: The simulator state.
        case: The test case.
        version: The version to read (default: the latest).

    Returns:
        Whether the test case is automated.
    """
    field_id = automation_field(state, case.project_id, "Automation")
    value = (version or case.latest).properties.get(field_id) if field_id is not None else None
    for found in state.fields_of(case.project_id, "test-cases"):
        if found["id"] == field_id:
            return any(str(v["value"]) == value and v["label"] == "Yes" for v in found["allowed_values"])
    return False


def find_test_case(req: Req, key: str) -> TestCase:
    """A test case of the request's project by ID or PID (``TC-12``).

    Args:
        req: The request.
        key: ID or PID.

    Returns:
        The test case.

    Raises:
        QTestError: 404 when there is no such test case.
    """
    project_id = req.project_id
    if key.isdigit():
        return req.state.get(req.state.test_cases, project_id, int(key), "Test Case")
    for case in req.state.test_cases.iter_by("pid", (project_id, key.lower())):
        return case
    raise QTestError(404, f"Test Case {key} does not exist in project {project_id}.")


def _steps(req: Req, raw: Any, self_id: int | None) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        raise QTestError(400, "test_steps must be an array of test steps")
    steps = []
    indexed = sorted(
        enumerate(raw),
        key=lambda p: (p[1].get("order") if isinstance(p[1].get("order"), int) else p[0] + 1, p[0]),
    )
    for position, (_, step) in enumerate(indexed, start=1):
        called = step.get("called_test_case_id")
        if called is not None:
            if not isinstance(called, int) or isinstance(called, bool):
                raise QTestError(400, "called_test_case_id must be a test case ID")
            target = req.state.test_cases.get(called)
            if target is None or target.project_id != req.project_id:
                raise QTestError(400, f"Called test case with id {called} does not exist")
            if called == self_id:
                raise QTestError(400, "A test case cannot call itself")
        description = step.get("description")
        if description is None and called is not None:
            description = ""
        if not isinstance(description, str):
            raise QTestError(400, f"Test step {position}: description is required")
        expected = step.get("expected") or ""
        if not isinstance(expected, str):
            raise QTestError(400, f"Test step {position}: expected must be a string")
        steps.append(
            {
                "id": req.state.next_id("steps"),
                "description": description,
                "expected": expected,
                "order": position,
                "called_test_case_id": called,
                "parent_test_step_id": None,
            }
        )
    return steps


def copy_steps(state: QTestState, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps of a new version: same content, new IDs.

    Args:
        state: The simulator state.
        steps: Steps of the previous version.

    Returns:
        The copies.
    """
    return [{**s, "id": state.next_id("steps")} for s in steps]


def _created_via_api(req: Req) -> int:
    for module in children_of(req.state, None, req.project_id):
        if module.name == CREATED_VIA_API:
            return module.id
    return new_module(req, CREATED_VIA_API, None).id


def _create_test_case(req: Req) -> Response:
    req.require("test_case", "create")
    body = req.json_object()
    project_id = req.project_id
    name = name_of(body, "Test Case")
    parent = body.get("parent_id")
    parent_id = parent_module(req, parent) if parent not in (None, 0) else None
    if parent_id is None:
        parent_id = _created_via_api(req)
    fields = req.state.fields_of(project_id, "test-cases")
    properties = apply_properties(fields, body.get("properties"), {}, member_ids(req), creating=True)
    steps = _steps(req, body.get("test_steps"), None)
    now = req.state.now()
    order = req.state.next_order(
        "test-cases",
        parent_id,
        lambda: req.state.test_cases.count("parent", (project_id, parent_id)),
    )
    case = TestCase(
        id=req.state.next_id("test-cases"),
        project_id=project_id,
        pid=req.state.next_pid(project_id, "test-cases"),
        parent_id=parent_id,
        order=order,
        creator_id=req.user_id,
        created=now,
        modified=now,
    )
    case.versions.append(
        Version(
            id=req.state.next_id("versions"),
            version="0.1",
            name=name,
            description=text_attr(body, "description", "") or "",
            precondition=text_attr(body, "precondition", "") or "",
            properties=properties,
            steps=steps,
            created=now,
        )
    )
    req.state.test_cases[case.id] = case
    return respond(render_test_case(req.state, case, req.base, steps=True))


def _list_test_cases(req: Req) -> Response:
    page, size = req.paging(size_name="size", default_size=20)
    parent_id = req.q_int("parentId")
    if parent_id:
        module_of(req, parent_id)
        cases = req.state.children(req.state.test_cases, req.project_id, parent_id)
        cases.sort(key=lambda c: (c.order, c.id))
    else:
        cases = req.state.in_project(req.state.test_cases, req.project_id)
    props, steps = req.q_bool("expandProps", True), req.q_bool("expandSteps", False)
    return respond(
        [
            render_test_case(req.state, c, req.base, props=props, steps=steps)
            for c in page_of(cases, page, size)
        ]
    )


def _get_test_case(req: Req) -> Response:
    case = find_test_case(req, str(req.params["testCaseId"]))
    version_id = req.q_int("versionId")
    version = case.version_by_id(version_id) if version_id else None
    if version_id and version is None:
        raise QTestError(404, f"Version with id {version_id} does not exist for test case {case.pid}")
    steps = req.query.get("expand") == "teststep"
    return respond(render_test_case(req.state, case, req.base, version=version, steps=steps))


def next_version(version: str, *, major: bool) -> str:
    """The version after ``version``: ``1.2`` -> ``1.3`` (a saved change) or ``2.0`` (approval).

    Args:
        version: Current version, ``major.minor``.
        major: True for an approval.

    Returns:
        The next version.
    """
    whole, _, minor = version.partition(".")
    return f"{int(whole) + 1}.0" if major else f"{int(whole)}.{int(minor or 0) + 1}"


def add_version(
    state: QTestState,
    case: TestCase,
    properties: dict[int, str],
    steps: list[dict[str, Any]],
    *,
    major: bool,
) -> None:
    """Save a new version of ``case``: its latest version's name and texts, new properties and steps.

    Args:
        state: The simulator state.
        case: The test case (its ``modified`` becomes now).
        properties: Properties of the new version.
        steps: Steps of the new version.
        major: True for an approval (``1.3`` -> ``2.0``), else a saved change (``1.3`` -> ``1.4``).
    """
    latest = case.latest
    now = state.now()
    case.versions.append(
        Version(
            id=state.next_id("versions"),
            version=next_version(latest.version, major=major),
            name=latest.name,
            description=latest.description,
            precondition=latest.precondition,
            properties=properties,
            steps=steps,
            created=now,
        )
    )
    case.modified = now
    state.test_cases.reindex(case.id)


def _update_test_case(req: Req) -> Response:
    req.require("test_case", "edit")
    case = find_test_case(req, str(req.params["testCaseId"]))
    body = req.json_object()
    latest = case.latest
    fields = req.state.fields_of(case.project_id, "test-cases")
    properties = apply_properties(
        fields, body.get("properties"), latest.properties, member_ids(req), creating=False
    )
    steps = (
        _steps(req, body["test_steps"], case.id)
        if "test_steps" in body
        else copy_steps(req.state, latest.steps)
    )
    if body.get("parent_id") not in (None, 0, case.parent_id):
        moved = parent_module(req, body["parent_id"])
        if moved is not None:
            case.parent_id = moved
    now = req.state.now()
    case.versions.append(
        Version(
            id=req.state.next_id("versions"),
            version=next_version(latest.version, major=False),
            name=name_of(body, "Test Case", latest.name),
            description=text_attr(body, "description", latest.description) or "",
            precondition=text_attr(body, "precondition", latest.precondition) or "",
            properties=properties,
            steps=steps,
            created=now,
        )
    )
    case.modified = now
    req.state.test_cases.reindex(case.id)
    return respond(render_test_case(req.state, case, req.base, steps=True))


def _approve_test_case(req: Req) -> Response:
    req.require("test_case", "approve")
    case = find_test_case(req, str(req.params["testCaseId"]))
    latest = case.latest
    if not latest.version.endswith(".0"):
        add_version(req.state, case, dict(latest.properties), copy_steps(req.state, latest.steps), major=True)
    return respond(render_test_case(req.state, case, req.base))


def drop_requirement(state: QTestState, requirement: Requirement) -> None:
    """Remove a requirement with its links and attachments.

    Args:
        state: The simulator state.
        requirement: The requirement.
    """
    state.links.pop(requirement.id, None)
    state.drop_attachments("requirements", [requirement.id])
    del state.requirements[requirement.id]


def delete_test_case(state: QTestState, case: TestCase) -> None:
    """Remove a test case, its test runs (with their logs), links and attachments.

    Args:
        state: The simulator state.
        case: The test case.
    """
    from ztoq.simulators.qtest.routes_runs import delete_run  # routes_runs imports this module

    for run in state.test_runs.by("case", case.id):
        delete_run(state, run)
    for linked in state.links.values():
        if case.id in linked:
            linked.remove(case.id)
    state.drop_attachments("test-cases", [case.id])
    state.drop_attachments("test-steps", [s["id"] for v in case.versions for s in v.steps])
    del state.test_cases[case.id]


def _delete_test_case(req: Req) -> Response:
    req.require("test_case", "delete")
    delete_test_case(req.state, find_test_case(req, str(req.params["testCaseId"])))
    return Response(status_code=200)


def _versions(req: Req) -> Response:
    case = find_test_case(req, str(req.params["testCaseId"]))
    # "returns all approved major test case versions and the last unapproved minor version"
    shown = [v for v in case.versions if v.version.endswith(".0")]
    if not case.latest.version.endswith(".0"):
        shown.append(case.latest)
    return respond([render_test_case(req.state, case, req.base, version=v) for v in shown])


def _version(req: Req) -> Version:
    case = find_test_case(req, str(req.params["testCaseId"]))
    version = case.version_by_id(int(req.params["versionId"]))
    if version is None:
        raise QTestError(
            404, f"Version with id {req.params['versionId']} does not exist for test case {case.pid}"
        )
    return version


def _get_version(req: Req) -> Response:
    case = find_test_case(req, str(req.params["testCaseId"]))
    return respond(render_test_case(req.state, case, req.base, version=_version(req), steps=True))


def _version_steps(req: Req) -> Response:
    case = find_test_case(req, str(req.params["testCaseId"]))
    return respond([render_step(req.state, case, s, req.base) for s in _version(req).steps])


def _test_steps(req: Req) -> Response:
    case = find_test_case(req, str(req.params["testCaseId"]))
    return respond([render_step(req.state, case, s, req.base) for s in case.latest.steps])


def _add_test_step(req: Req) -> Response:
    # "To add a Test Step to a Test Case's latest version": the step is added to that version in
    # place (a guess: the docs do not say whether this saves a new version).
    req.require("test_case", "edit")
    case = find_test_case(req, str(req.params["testCaseId"]))
    body = req.json_object()
    steps = case.latest.steps
    [step] = _steps(req, [{k: v for k, v in body.items() if k != "order"}], case.id)
    order = body.get("order")
    position = order - 1 if isinstance(order, int) and 1 <= order <= len(steps) else len(steps)
    steps.insert(position, step)
    for number, item in enumerate(steps, start=1):
        item["order"] = number
    case.modified = req.state.now()
    req.state.test_cases.reindex(case.id)
    return respond(render_step(req.state, case, step, req.base))


def _test_step(req: Req) -> Response:
    case = find_test_case(req, str(req.params["testCaseId"]))
    step_id = int(req.params["stepId"])
    for step in case.latest.steps:
        if step["id"] == step_id:
            return respond(render_step(req.state, case, step, req.base))
    raise QTestError(404, f"Test step with id {step_id} does not exist in test case {case.pid}")


def routes(state: QTestState) -> list[Route]:
    """The test case routes.

    Args:
        state: The simulator state.

    Returns:
        The routes.
    """
    tc = "test-cases/{testCaseId}"
    return project_routes(
        state,
        [
            ("GET", "test-cases", _list_test_cases),
            ("POST", "test-cases", _create_test_case),
            ("GET", tc, _get_test_case),
            ("PUT", tc, _update_test_case),
            ("DELETE", tc, _delete_test_case),
            ("PUT", f"{tc}/approve", _approve_test_case),
            ("GET", f"{tc}/versions", _versions),
            ("GET", f"{tc}/versions/{{versionId:int}}", _get_version),
            ("GET", f"{tc}/versions/{{versionId:int}}/test-steps", _version_steps),
            ("GET", f"{tc}/test-steps", _test_steps),
            ("POST", f"{tc}/test-steps", _add_test_step),
            ("GET", f"{tc}/test-steps/{{stepId:int}}", _test_step),
        ],
    )
