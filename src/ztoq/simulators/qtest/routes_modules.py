"""Module endpoints of the qTest simulator: the test design tree shared by test cases and
requirements (a qTest Module is "the container to store Requirement and TestCase objects").

``PUT`` with ``parentId`` moves a module and ignores the body; deleting a module that holds
sub-modules, test cases or requirements needs ``force=true`` (both documented).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from ztoq.simulators.qtest.render import api, iso, link
from ztoq.simulators.qtest.routing import Req, name_of, project_routes, respond, text_attr
from ztoq.simulators.qtest.state import Module, QTestError, QTestState


def render_module(
    state: QTestState, module: Module, base: str, *, descendants: bool = False
) -> dict[str, Any]:
    """ModuleResource of a module.

    Args:
        state: The simulator state.
        module: The module.
        base: Site URL the client used.
        descendants: Include ``children``, recursively (``expand=descendants``).

    Returns:
        The ModuleResource dict.
    """
    body: dict[str, Any] = {
        "links": [link("self", api(base, module.project_id, f"modules/{module.id}"))],
        "id": module.id,
        "name": module.name,
        "order": module.order,
        "pid": module.pid,
        "created_date": iso(module.created),
        "last_modified_date": iso(module.modified),
        "parent_id": module.parent_id,
        "description": module.description,
        "shared": module.shared,
        "projects_shared_to": [],
    }
    if descendants:
        body["children"] = [
            render_module(state, c, base, descendants=True) for c in children_of(state, module)
        ]
    return body


def children_of(state: QTestState, module: Module | None, project_id: int | None = None) -> list[Module]:
    """The direct sub-modules of a module (or the root modules of a project), in display order.

    Args:
        state: The simulator state.
        module: The parent module, or None for the root.
        project_id: The project, when ``module`` is None.

    Returns:
        The modules.
    """
    parent = module.id if module else None
    project = module.project_id if module else project_id
    return sorted(state.children(state.modules, project, parent), key=lambda m: (m.order, m.id))


def module_of(req: Req, module_id: int) -> Module:
    """A module of the request's project.

    Args:
        req: The request.
        module_id: Module ID.

    Returns:
        The module.

    Raises:
        QTestError: 404 when the project has no such module.
    """
    return req.state.get(req.state.modules, req.project_id, module_id, "Module")


def parent_module(req: Req, parent_id: Any) -> int | None:
    """Validate a parent module reference (query parameter or ``parent_id``).

    Args:
        req: The request.
        parent_id: The reference; None, 0 or "" mean the root.

    Returns:
        The module ID, or None for the root.

    Raises:
        QTestError: 400 when the module does not exist.
    """
    if parent_id in (None, 0, "0", ""):
        return None
    try:
        return module_of(req, int(parent_id)).id
    except (TypeError, ValueError):
        raise QTestError(400, f"parent_id '{parent_id}' is not a module ID") from None
    except QTestError:
        raise QTestError(400, f"Parent module with id {parent_id} does not exist") from None


def new_module(req: Req, name: str, parent_id: int | None, description: str | None = None) -> Module:
    """Create a module.

    Args:
        req: The request.
        name: Module name.
        parent_id: Parent module, None for the root.
        description: Module description.

    Returns:
        The new module.
    """
    project_id = req.project_id
    now = req.state.now()
    order = req.state.next_order(
        "modules",
        (project_id, parent_id),
        lambda: req.state.modules.count("parent", (project_id, parent_id)),
    )
    module = Module(
        id=req.state.next_id("modules"),
        project_id=project_id,
        pid=req.state.next_pid(project_id, "modules"),
        name=name,
        parent_id=parent_id,
        order=order,
        created=now,
        modified=now,
        description=description,
    )
    req.state.modules[module.id] = module
    return module


def _list_modules(req: Req) -> Response:
    parent_id = req.q_int("parentId")
    parent = module_of(req, parent_id) if parent_id else None
    found = children_of(req.state, parent, req.project_id)
    text = (req.query.get("search") or "").lower()
    if text:
        found = [m for m in found if text in m.name.lower()]
    expand = req.query.get("expand") == "descendants"
    return respond([render_module(req.state, m, req.base, descendants=expand) for m in found])


def _create_module(req: Req) -> Response:
    req.require("module", "create")
    body = req.json_object()
    parent = req.query.get("parentId") or body.get("parent_id")
    module = new_module(
        req, name_of(body, "Module"), parent_module(req, parent), text_attr(body, "description", None)
    )
    return respond(render_module(req.state, module, req.base), 201)


def _get_module(req: Req) -> Response:
    module = module_of(req, int(req.params["moduleId"]))
    return respond(
        render_module(req.state, module, req.base, descendants=req.query.get("expand") == "descendants")
    )


def _update_module(req: Req) -> Response:
    req.require("module", "edit")
    module = module_of(req, int(req.params["moduleId"]))
    if req.query.get("parentId") is not None:
        # "If you use this parameter, the request body will be ignored."
        target = parent_module(req, req.query.get("parentId"))
        walk = target
        while walk is not None:
            if walk == module.id:
                raise QTestError(400, "A module cannot be moved under itself or its descendants")
            walk = req.state.modules[walk].parent_id
        module.parent_id = target
        req.state.modules.reindex(module.id)
    else:
        body = req.json_object()
        module.name = name_of(body, "Module", module.name)
        module.description = text_attr(body, "description", module.description)
    module.modified = req.state.now()
    return respond(render_module(req.state, module, req.base))


def _subtree(state: QTestState, module: Module) -> list[Module]:
    out = [module]
    for child in children_of(state, module):
        out.extend(_subtree(state, child))
    return out


def _delete_module(req: Req) -> Response:
    req.require("module", "delete")
    module = module_of(req, int(req.params["moduleId"]))
    modules = _subtree(req.state, module)
    state = req.state
    cases = [c for m in modules for c in state.children(state.test_cases, m.project_id, m.id)]
    reqs = [r for m in modules for r in state.children(state.requirements, m.project_id, m.id)]
    if (len(modules) > 1 or cases or reqs) and not req.q_bool("force", False):
        raise QTestError(
            400,
            f"Module {module.pid} is not empty; delete its content first or use force=true to delete it all",
        )
    # routes_design imports this module, hence the late import.
    from ztoq.simulators.qtest.routes_design import delete_test_case, drop_requirement

    for case in cases:
        delete_test_case(req.state, case)
    for requirement in reqs:
        drop_requirement(req.state, requirement)
    for m in modules:
        del req.state.modules[m.id]
    return respond({"message": f"Module {module.pid} was deleted"})


def routes(state: QTestState) -> list[Route]:
    """The module routes.

    Args:
        state: The simulator state.

    Returns:
        The routes.
    """
    return project_routes(
        state,
        [
            ("GET", "modules", _list_modules),
            ("POST", "modules", _create_module),
            ("GET", "modules/{moduleId:int}", _get_module),
            ("PUT", "modules/{moduleId:int}", _update_module),
            ("DELETE", "modules/{moduleId:int}", _delete_module),
        ],
    )
