"""Release, test cycle and test suite endpoints of the qTest simulator.

Containers follow the Swagger file: test cycles live under root, a release or a test cycle, and
so do test suites (``parentId`` 0 or ``parentType=root``: the root). Deleting a container deletes
what it contains; a non-empty test cycle needs ``force=true``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from ztoq.simulators.qtest.fields import apply_properties, render_properties
from ztoq.simulators.qtest.render import api, iso, link, parse_datetime, web_url
from ztoq.simulators.qtest.routes_runs import delete_run
from ztoq.simulators.qtest.routing import (
    Container,
    Req,
    container,
    member_ids,
    name_of,
    page_of,
    project_routes,
    respond,
    user_names,
    within,
)
from ztoq.simulators.qtest.state import QTestError, QTestState, Release, TestCycle, TestSuite
from ztoq.simulators.qtest.tables import PROJECT

# -- releases -----------------------------------------------------------------------------------


def render_release(state: QTestState, release: Release, base: str) -> dict[str, Any]:
    """ReleaseWithCustomFieldResource of a release.

    Args:
        state: The simulator state.
        release: The release.
        base: Site URL the client used.

    Returns:
        The ReleaseWithCustomFieldResource dict.
    """
    fields = state.fields_of(release.project_id, "releases")
    return {
        "links": [link("self", api(base, release.project_id, f"releases/{release.id}"))],
        "id": release.id,
        "name": release.name,
        "order": release.order,
        "pid": release.pid,
        "created_date": iso(release.created),
        "last_modified_date": iso(release.modified),
        "properties": render_properties(fields, release.properties, user_names(state)),
        "web_url": web_url(base, release.project_id, "releases", release.id),
        "description": release.description,
        "note": release.note,
        "start_date": iso(release.start_date),
        "end_date": iso(release.end_date),
    }


def _optional_date(body: dict[str, Any], key: str, current: Any) -> Any:
    if key not in body:
        return current
    return parse_datetime(body[key], key) if body[key] else None


def _release(req: Req) -> Release:
    return req.state.get(req.state.releases, req.project_id, int(req.params["releaseId"]), "Release")


def _create_release(req: Req) -> Response:
    req.require("release", "create")
    body = req.json_object()
    project_id = req.project_id
    fields = req.state.fields_of(project_id, "releases")
    now = req.state.now()
    release = Release(
        id=req.state.next_id("releases"),
        project_id=project_id,
        pid=req.state.next_pid(project_id, "releases"),
        name=name_of(body, "Release"),
        order=req.state.releases.count(PROJECT, project_id) + 1,
        properties=apply_properties(fields, body.get("properties"), {}, member_ids(req), creating=True),
        created=now,
        modified=now,
        description=body.get("description"),
        note=body.get("note"),
        start_date=_optional_date(body, "start_date", None),
        end_date=_optional_date(body, "end_date", None),
    )
    req.state.releases[release.id] = release
    return respond(render_release(req.state, release, req.base), 201)


def _is_closed(state: QTestState, release: Release) -> bool:
    for prop in render_release(state, release, "")["properties"]:
        if prop["field_name"] == "Status" and prop.get("field_value_name") == "Closed":
            return True
    return False


def _list_releases(req: Req) -> Response:
    releases = req.state.in_project(req.state.releases, req.project_id)
    if not req.q_bool("includeClosed", False):
        releases = [r for r in releases if not _is_closed(req.state, r)]
    return respond([render_release(req.state, r, req.base) for r in releases])


def _get_release(req: Req) -> Response:
    return respond(render_release(req.state, _release(req), req.base))


def _update_release(req: Req) -> Response:
    req.require("release", "edit")
    release = _release(req)
    body = req.json_object()
    fields = req.state.fields_of(release.project_id, "releases")
    release.properties = apply_properties(
        fields, body.get("properties"), release.properties, member_ids(req), creating=False
    )
    release.name = name_of(body, "Release", release.name)
    release.description = body.get("description", release.description)
    release.note = body.get("note", release.note)
    release.start_date = _optional_date(body, "start_date", release.start_date)
    release.end_date = _optional_date(body, "end_date", release.end_date)
    release.modified = req.state.now()
    return respond(render_release(req.state, release, req.base))


def _drop_container_content(state: QTestState, project_id: int, top: Container) -> None:
    inside = within(state, project_id, top)
    for run in [r for c in inside for r in state.children(state.test_runs, project_id, c)]:
        delete_run(state, run)
    for kind, entity_id in inside:
        if kind == "test-cycle":
            state.test_cycles.pop(entity_id, None)
        elif kind == "test-suite":
            state.test_suites.pop(entity_id, None)


def _delete_release(req: Req) -> Response:
    req.require("release", "delete")
    release = _release(req)
    _drop_container_content(req.state, release.project_id, ("release", release.id))
    req.state.drop_attachments("releases", [release.id])
    del req.state.releases[release.id]
    return respond({})


# -- test cycles and test suites --------------------------------------------------------------------


def render_cycle(
    state: QTestState, cycle: TestCycle, base: str, *, descendants: bool = False
) -> dict[str, Any]:
    """TestCycleResource of a test cycle.

    Args:
        state: The simulator state.
        cycle: The test cycle.
        base: Site URL the client used.
        descendants: Fill ``test-cycles`` and ``test-suites`` recursively (``expand=descendants``).

    Returns:
        The TestCycleResource dict.
    """
    key = ("test-cycle", cycle.id)
    body: dict[str, Any] = {
        "links": [
            link("self", api(base, cycle.project_id, f"test-cycles/{cycle.id}")),
            link(
                "test-suites",
                api(base, cycle.project_id, f"test-suites?parentId={cycle.id}&parentType=test-cycle"),
            ),
            link(
                "test-runs",
                api(base, cycle.project_id, f"test-runs?parentId={cycle.id}&parentType=test-cycle"),
            ),
        ],
        "id": cycle.id,
        "name": cycle.name,
        "order": cycle.order,
        "pid": cycle.pid,
        "created_date": iso(cycle.created),
        "last_modified_date": iso(cycle.modified),
        "web_url": web_url(base, cycle.project_id, "test-cycles", cycle.id),
        "description": cycle.description,
        "target_release_id": cycle.target_release_id,
        "target_build_id": cycle.target_build_id,
        # Real responses carry "test-cycles": [] even without expand=descendants.
        "test-cycles": [],
    }
    if descendants:
        body["test-cycles"] = [
            render_cycle(state, c, base, descendants=True) for c in _cycles_in(state, cycle.project_id, key)
        ]
        body["test-suites"] = [render_suite(state, s, base) for s in _suites_in(state, cycle.project_id, key)]
    return body


def _cycles_in(state: QTestState, project_id: int, parent: Container) -> list[TestCycle]:
    return sorted(state.children(state.test_cycles, project_id, parent), key=lambda c: (c.order, c.id))


def _suites_in(state: QTestState, project_id: int, parent: Container) -> list[TestSuite]:
    return sorted(state.children(state.test_suites, project_id, parent), key=lambda s: (s.order, s.id))


def render_suite(state: QTestState, suite: TestSuite, base: str) -> dict[str, Any]:
    """TestSuiteWithCustomFieldResource of a test suite.

    Args:
        state: The simulator state.
        suite: The test suite.
        base: Site URL the client used.

    Returns:
        The TestSuiteWithCustomFieldResource dict.
    """
    fields = state.fields_of(suite.project_id, "test-suites")
    return {
        "links": [
            link("self", api(base, suite.project_id, f"test-suites/{suite.id}")),
            link(
                "test-runs",
                api(base, suite.project_id, f"test-runs?parentId={suite.id}&parentType=test-suite"),
            ),
        ],
        "id": suite.id,
        "name": suite.name,
        "order": suite.order,
        "pid": suite.pid,
        "created_date": iso(suite.created),
        "last_modified_date": iso(suite.modified),
        "properties": render_properties(fields, suite.properties, user_names(state)),
        "web_url": web_url(base, suite.project_id, "test-suites", suite.id),
        "parentId": suite.parent_id,
        "parentType": suite.parent_type,
        "target_release_id": suite.target_release_id,
        "target_build_id": suite.target_build_id,
    }


def _id_attr(body: dict[str, Any], key: str, current: int | None) -> int | None:
    value = body.get(key, current)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise QTestError(400, f"{key} must be an ID")
    return value


def _cycle(req: Req) -> TestCycle:
    return req.state.get(req.state.test_cycles, req.project_id, int(req.params["testCycleId"]), "Test Cycle")


def _create_cycle(req: Req) -> Response:
    req.require("test_cycle", "create")
    body = req.json_object()
    parent = container(req, ("root", "release", "test-cycle"))
    project_id = req.project_id
    now = req.state.now()
    cycle = TestCycle(
        id=req.state.next_id("test-cycles"),
        project_id=project_id,
        pid=req.state.next_pid(project_id, "test-cycles"),
        name=name_of(body, "Test Cycle"),
        parent_type=parent[0],
        parent_id=parent[1],
        order=req.state.next_order(
            "test-cycles", (project_id, *parent), lambda: len(_cycles_in(req.state, project_id, parent))
        ),
        created=now,
        modified=now,
        description=body.get("description"),
        target_release_id=_id_attr(body, "target_release_id", parent[1] if parent[0] == "release" else None),
        target_build_id=_id_attr(body, "target_build_id", None),
    )
    req.state.test_cycles[cycle.id] = cycle
    return respond(render_cycle(req.state, cycle, req.base), 201)


def _list_cycles(req: Req) -> Response:
    parent = container(req, ("root", "release", "test-cycle"))
    page, size = req.paging(default_size=100)
    expand = req.query.get("expand") == "descendants"
    cycles = page_of(_cycles_in(req.state, req.project_id, parent), page, size)
    return respond([render_cycle(req.state, c, req.base, descendants=expand) for c in cycles])


def _get_cycle(req: Req) -> Response:
    expand = req.query.get("expand") == "descendants"
    return respond(render_cycle(req.state, _cycle(req), req.base, descendants=expand))


def _update_cycle(req: Req) -> Response:
    req.require("test_cycle", "edit")
    cycle = _cycle(req)
    body = req.json_object() if req.body.strip() else {}
    if req.query.get("parentId") is not None:
        parent = container(req, ("root", "release", "test-cycle"))
        if parent in within(req.state, cycle.project_id, ("test-cycle", cycle.id)):
            raise QTestError(400, "A test cycle cannot be moved under itself or its descendants")
        cycle.parent_type, cycle.parent_id = parent
        req.state.test_cycles.reindex(cycle.id)
    cycle.name = name_of(body, "Test Cycle", cycle.name)
    cycle.description = body.get("description", cycle.description)
    cycle.target_release_id = _id_attr(body, "target_release_id", cycle.target_release_id)
    cycle.target_build_id = _id_attr(body, "target_build_id", cycle.target_build_id)
    cycle.modified = req.state.now()
    return respond(render_cycle(req.state, cycle, req.base))


def _delete_cycle(req: Req) -> Response:
    req.require("test_cycle", "delete")
    cycle = _cycle(req)
    key = ("test-cycle", cycle.id)
    inside = within(req.state, cycle.project_id, key)
    has_runs = any(req.state.test_runs.count("parent", (cycle.project_id, *c)) for c in inside)
    if (len(inside) > 1 or has_runs) and not req.q_bool("force", False):
        raise QTestError(
            400, f"Test Cycle {cycle.pid} is not empty; use force=true to delete it with its children"
        )
    _drop_container_content(req.state, cycle.project_id, key)
    return respond({"message": f"Test Cycle {cycle.pid} was deleted"})


def _suite(req: Req) -> TestSuite:
    return req.state.get(req.state.test_suites, req.project_id, int(req.params["testSuiteId"]), "Test Suite")


def _create_suite(req: Req) -> Response:
    req.require("test_suite", "create")
    body = req.json_object()
    parent = container(req, ("root", "release", "test-cycle"))
    project_id = req.project_id
    fields = req.state.fields_of(project_id, "test-suites")
    now = req.state.now()
    suite = TestSuite(
        id=req.state.next_id("test-suites"),
        project_id=project_id,
        pid=req.state.next_pid(project_id, "test-suites"),
        name=name_of(body, "Test Suite"),
        parent_type=parent[0],
        parent_id=parent[1],
        order=req.state.next_order(
            "test-suites", (project_id, *parent), lambda: len(_suites_in(req.state, project_id, parent))
        ),
        properties=apply_properties(fields, body.get("properties"), {}, member_ids(req), creating=True),
        created=now,
        modified=now,
        target_release_id=_id_attr(body, "target_release_id", None),
        target_build_id=_id_attr(body, "target_build_id", None),
    )
    req.state.test_suites[suite.id] = suite
    return respond(render_suite(req.state, suite, req.base))


def _list_suites(req: Req) -> Response:
    parent = container(req, ("root", "release", "test-cycle"))
    return respond(
        [render_suite(req.state, s, req.base) for s in _suites_in(req.state, req.project_id, parent)]
    )


def _get_suite(req: Req) -> Response:
    return respond(render_suite(req.state, _suite(req), req.base))


def _update_suite(req: Req) -> Response:
    req.require("test_suite", "edit")
    suite = _suite(req)
    if req.query.get("parentId") is not None:
        # "If you use the request parameters parentId and parentType, the request body will be ignored."
        suite.parent_type, suite.parent_id = container(req, ("root", "release", "test-cycle"))
        req.state.test_suites.reindex(suite.id)
    else:
        body = req.json_object()
        fields = req.state.fields_of(suite.project_id, "test-suites")
        suite.properties = apply_properties(
            fields, body.get("properties"), suite.properties, member_ids(req), creating=False
        )
        suite.name = name_of(body, "Test Suite", suite.name)
        suite.target_release_id = _id_attr(body, "target_release_id", suite.target_release_id)
        suite.target_build_id = _id_attr(body, "target_build_id", suite.target_build_id)
    suite.modified = req.state.now()
    return respond(render_suite(req.state, suite, req.base))


def _delete_suite(req: Req) -> Response:
    req.require("test_suite", "delete")
    suite = _suite(req)
    _drop_container_content(req.state, suite.project_id, ("test-suite", suite.id))
    return respond({})


def routes(state: QTestState) -> list[Route]:
    """The release, test cycle and test suite routes.

    Args:
        state: The simulator state.

    Returns:
        The routes.
    """
    return project_routes(
        state,
        [
            ("GET", "releases", _list_releases),
            ("POST", "releases", _create_release),
            ("GET", "releases/{releaseId:int}", _get_release),
            ("PUT", "releases/{releaseId:int}", _update_release),
            ("DELETE", "releases/{releaseId:int}", _delete_release),
            ("GET", "test-cycles", _list_cycles),
            ("POST", "test-cycles", _create_cycle),
            ("GET", "test-cycles/{testCycleId:int}", _get_cycle),
            ("PUT", "test-cycles/{testCycleId:int}", _update_cycle),
            ("DELETE", "test-cycles/{testCycleId:int}", _delete_cycle),
            ("GET", "test-suites", _list_suites),
            ("POST", "test-suites", _create_suite),
            ("GET", "test-suites/{testSuiteId:int}", _get_suite),
            ("PUT", "test-suites/{testSuiteId:int}", _update_suite),
            ("DELETE", "test-suites/{testSuiteId:int}", _delete_suite),
        ],
    )
