"""Requirement endpoints of the qTest simulator, and links between requirements and test cases.

Requirements live in the same module tree as test cases (a qTest Module is "the container to
store Requirement and TestCase objects"). Links are made from a requirement
(``POST .../requirements/{id}/link?type=test-cases`` with a list of test case IDs); IDs that cannot
be linked are ignored, as the Swagger file says.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from ztoq.simulators.qtest.fields import apply_properties, render_properties
from ztoq.simulators.qtest.render import api, iso, link, web_url
from ztoq.simulators.qtest.routes_design import drop_requirement, find_test_case
from ztoq.simulators.qtest.routes_modules import module_of, parent_module
from ztoq.simulators.qtest.routing import (
    Req,
    member_ids,
    name_of,
    page_of,
    project_routes,
    respond,
    user_names,
)
from ztoq.simulators.qtest.state import QTestError, QTestState, Requirement


def render_requirement(state: QTestState, requirement: Requirement, base: str) -> dict[str, Any]:
    """RequirementResource of a requirement.

    Args:
        state: The simulator state.
        requirement: The requirement.
        base: Site URL the client used.

    Returns:
        The RequirementResource dict.
    """
    fields = state.fields_of(requirement.project_id, "requirements")
    return {
        "links": [link("self", api(base, requirement.project_id, f"requirements/{requirement.id}"))],
        "id": requirement.id,
        "name": requirement.name,
        "order": requirement.order,
        "pid": requirement.pid,
        "created_date": iso(requirement.created),
        "last_modified_date": iso(requirement.modified),
        "properties": render_properties(fields, requirement.properties, user_names(state)),
        "web_url": web_url(base, requirement.project_id, "requirements", requirement.id),
        "parent_id": requirement.parent_id,
    }


def _requirement(req: Req, requirement_id: int) -> Requirement:
    return req.state.get(req.state.requirements, req.project_id, requirement_id, "Requirement")


def _create_requirement(req: Req) -> Response:
    req.require("requirement", "create")
    body = req.json_object()
    project_id = req.project_id
    parent_id = parent_module(req, req.query.get("parentId") or body.get("parent_id"))
    fields = req.state.fields_of(project_id, "requirements")
    properties = apply_properties(fields, body.get("properties"), {}, member_ids(req), creating=True)
    now = req.state.now()
    order = req.state.next_order(
        "requirements",
        (project_id, parent_id),
        lambda: req.state.requirements.count("parent", (project_id, parent_id)),
    )
    requirement = Requirement(
        id=req.state.next_id("requirements"),
        project_id=project_id,
        pid=req.state.next_pid(project_id, "requirements"),
        name=name_of(body, "Requirement"),
        parent_id=parent_id,
        order=order,
        properties=properties,
        created=now,
        modified=now,
    )
    req.state.requirements[requirement.id] = requirement
    return respond(render_requirement(req.state, requirement, req.base))


def _list_requirements(req: Req) -> Response:
    page, size = req.paging(size_name="size", default_size=20)
    parent_id = req.q_int("parentId")
    if parent_id:
        module_of(req, parent_id)
        found = req.state.children(req.state.requirements, req.project_id, parent_id)
    else:
        found = req.state.in_project(req.state.requirements, req.project_id)
    return respond([render_requirement(req.state, r, req.base) for r in page_of(found, page, size)])


def _get_requirement(req: Req) -> Response:
    return respond(
        render_requirement(req.state, _requirement(req, int(req.params["requirementId"])), req.base)
    )


def _update_requirement(req: Req) -> Response:
    req.require("requirement", "edit")
    requirement = _requirement(req, int(req.params["requirementId"]))
    body = req.json_object()
    fields = req.state.fields_of(requirement.project_id, "requirements")
    requirement.properties = apply_properties(
        fields, body.get("properties"), requirement.properties, member_ids(req), creating=False
    )
    requirement.name = name_of(body, "Requirement", requirement.name)
    if req.query.get("parentId"):
        requirement.parent_id = parent_module(req, req.query.get("parentId"))
        req.state.requirements.reindex(requirement.id)
    requirement.modified = req.state.now()
    return respond(render_requirement(req.state, requirement, req.base))


def _delete_requirement(req: Req) -> Response:
    req.require("requirement", "delete")
    drop_requirement(req.state, _requirement(req, int(req.params["requirementId"])))
    return respond({})


def _links_of(req: Req, requirement: Requirement) -> dict[str, Any]:
    objects = []
    for case_id in req.state.links.get(requirement.id, []):
        case = req.state.test_cases[case_id]
        objects.append(
            {
                "id": case.id,
                "pid": case.pid,
                "link_type": "is_covered_by",
                "self": web_url(req.base, case.project_id, "test-cases", case.id),
            }
        )
    return {"id": requirement.id, "pid": requirement.pid, "objects": objects}


def _link_source(req: Req) -> Requirement:
    object_type, link_type = req.params["objectType"], req.query.get("type")
    if object_type != "requirements" or link_type != "test-cases":
        raise QTestError(
            400,
            f"Linking {link_type} to {object_type} is not supported (the simulator links test-cases"
            " to requirements)",
        )
    return _requirement(req, int(req.params["objectId"]))


def _ids_body(req: Req) -> list[int]:
    body = req.json()
    if not isinstance(body, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in body):
        raise QTestError(400, "The request body must be an array of object IDs")
    return body


def _link(req: Req) -> Response:
    requirement = _link_source(req)
    linked = req.state.links.setdefault(requirement.id, [])
    for case_id in _ids_body(req):
        case = req.state.test_cases.get(case_id)
        # "System will ignore those objects that cannot be linked"
        if case is not None and case.project_id == requirement.project_id and case_id not in linked:
            linked.append(case_id)
    return respond([_links_of(req, requirement)])


def _unlink(req: Req) -> Response:
    requirement = _link_source(req)
    drop = set(_ids_body(req))
    req.state.links[requirement.id] = [i for i in req.state.links.get(requirement.id, []) if i not in drop]
    return respond({})


def _linked_artifacts(req: Req) -> Response:
    object_type = req.query.get("type")
    ids = req.q_ids("ids")
    if object_type == "requirements":
        return respond([_links_of(req, _requirement(req, i)) for i in ids])
    if object_type == "test-cases":
        out = []
        for case_id in ids:
            case = find_test_case(req, str(case_id))
            objects = [
                {
                    "id": r.id,
                    "pid": r.pid,
                    "link_type": "covers",
                    "self": web_url(req.base, r.project_id, "requirements", r.id),
                }
                for r in req.state.in_project(req.state.requirements, case.project_id)
                if case.id in req.state.links.get(r.id, [])
            ]
            out.append({"id": case.id, "pid": case.pid, "objects": objects})
        return respond(out)
    raise QTestError(400, f"type '{object_type}' is not supported (use requirements or test-cases)")


def routes(state: QTestState) -> list[Route]:
    """The requirement and link routes.

    Args:
        state: The simulator state.

    Returns:
        The routes.
    """
    return project_routes(
        state,
        [
            ("GET", "requirements", _list_requirements),
            ("POST", "requirements", _create_requirement),
            ("GET", "requirements/{requirementId:int}", _get_requirement),
            ("PUT", "requirements/{requirementId:int}", _update_requirement),
            ("DELETE", "requirements/{requirementId:int}", _delete_requirement),
            ("POST", "{objectType}/{objectId:int}/link", _link),
            ("DELETE", "{objectType}/{objectId:int}/link", _unlink),
            ("GET", "linked-artifacts", _linked_artifacts),
        ],
    )
