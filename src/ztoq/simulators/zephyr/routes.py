"""The endpoints of the simulated Zephyr Scale Cloud v2 API, under ``/v2``.

Every handler answers with the spec's shapes: list endpoints page with ``PagedList`` (offset) or
the NextGen ``CursorPagedList``; errors raise ``ZephyrApiError``, which the app turns into the
spec's ``Error`` body. Handlers hold the state lock while they read or write, since tests change
the state from another thread while a served simulator answers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ztoq.simulators.zephyr import writes, writes_runs
from ztoq.simulators.zephyr.pagination import (
    ZephyrApiError,
    cursor_body,
    cursor_page,
    cursor_request,
    format_datetime,
    offset_body,
    offset_page,
    offset_request,
    parse_bool,
    parse_datetime,
    parse_int,
)
from ztoq.simulators.zephyr.present import Presenter
from ztoq.simulators.zephyr.state import FOLDER_TYPES, STATUS_TYPES, Entity, ExecutionFilter

if TYPE_CHECKING:
    from ztoq.simulators.zephyr.app import ZephyrSimulator

Handler = Callable[[Request], Awaitable[Response]]

#: Headers the spec lists on every answer.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Content-Type,Authorization",
    "Access-Control-Allow-Methods": "GET,POST,PUT,DELETE,OPTIONS",
}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON answer with the spec's CORS headers."""
    return JSONResponse(body, status_code=status, headers={**CORS_HEADERS, **(headers or {})})


def empty_response(status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """An answer without a body (the spec gives PUTs and the health check no content)."""
    return Response(status_code=status, headers={**CORS_HEADERS, **(headers or {})})


async def read_json(request: Request) -> Any:
    """The JSON body of a write request; 400 when it is not JSON."""
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise ZephyrApiError(400, "The request body is not valid JSON.") from exc


class ZephyrRoutes:
    """Builds the Starlette routes over one simulator's state and paging caps."""

    def __init__(self, sim: ZephyrSimulator) -> None:
        self.sim = sim
        self.state = sim.state

    def presenter(self, request: Request) -> Presenter:
        """Renders for the base URL this request came in on (``http://host:port/v2/``)."""
        return Presenter(self.state, str(request.base_url) + "v2/")

    # -- paging -----------------------------------------------------------------------------------

    def offset(
        self, request: Request, items: Sequence[Entity], render: Callable[[Entity], Entity]
    ) -> Response:
        """An offset page (``PagedList``) of ``items``; ``next`` repeats the query with the next startAt."""
        asked = offset_request(request.query_params, self.sim.max_results_cap)
        page = offset_page(items, asked.start_at, asked.max_results)
        next_url = None
        if page.next_start_at is not None:
            next_url = str(
                request.url.include_query_params(startAt=page.next_start_at, maxResults=page.max_results)
            )
        return json_response(offset_body(page, [render(v) for v in page.values], next_url))

    def cursor(
        self, request: Request, items: Sequence[Entity], render: Callable[[Entity], Entity]
    ) -> Response:
        """A NextGen cursor page of ``items`` (ordered by id)."""
        asked = cursor_request(request.query_params, self.sim.cursor_limit_cap)
        page = cursor_page(items, lambda e: int(e["id"]), asked.start_at_id, asked.limit)
        next_url = None
        if page.next_start_at_id is not None:
            next_url = str(
                request.url.include_query_params(startAtId=page.next_start_at_id, limit=page.limit)
            )
        return json_response(cursor_body(page, [render(v) for v in page.values], next_url))

    # -- query helpers ----------------------------------------------------------------------------

    def _project_id(self, request: Request) -> int | None:
        return self.state.project_filter(request.query_params.get("projectKey"))

    @staticmethod
    def _query_int(request: Request, name: str) -> int | None:
        return parse_int(request.query_params.get(name), name, default=None, minimum=1)

    @staticmethod
    def _path_int(request: Request, name: str, minimum: int = 1) -> int:
        value = parse_int(str(request.path_params[name]), name, default=None, minimum=minimum)
        assert value is not None
        return value

    @staticmethod
    def _choice(request: Request, name: str, choices: tuple[str, ...]) -> str | None:
        value = request.query_params.get(name) or None
        if value is not None and value not in choices:
            raise ZephyrApiError(400, f"{name} must be one of {', '.join(choices)}; got '{value}'.")
        return value

    def _execution_filter(self, request: Request) -> ExecutionFilter:
        query = request.query_params
        parse_bool(query.get("includeStepLinks"), "includeStepLinks")  # validated; see docs
        return ExecutionFilter(
            project_id=self._project_id(request),
            cycle_id=self.state.resolve_cycle_filter(query.get("testCycle")),
            case_key=self.state.resolve_case_filter(query.get("testCase")),
            ended_after=parse_datetime(query.get("actualEndDateAfter"), "actualEndDateAfter"),
            ended_before=parse_datetime(query.get("actualEndDateBefore"), "actualEndDateBefore"),
            jira_version_id=self._query_int(request, "jiraProjectVersionId"),
            only_last=parse_bool(query.get("onlyLastExecutions"), "onlyLastExecutions"),
        )

    # -- read endpoints (one private handler per operation; routes() maps them) ----------------------

    async def _healthcheck(self, request: Request) -> Response:
        return empty_response()

    async def _list_projects(self, request: Request) -> Response:
        p = self.presenter(request)
        return self.offset(request, self.state.list_projects(), p.project)

    async def _get_project(self, request: Request) -> Response:
        return json_response(
            self.presenter(request).project(self.state.project(request.path_params["projectIdOrKey"]))
        )

    async def _list_folders(self, request: Request) -> Response:
        folder_type = self._choice(request, "folderType", FOLDER_TYPES)
        items = self.state.list_folders(self._project_id(request), folder_type)
        return self.offset(request, items, self.presenter(request).option)

    async def _get_folder(self, request: Request) -> Response:
        folder = self.state.one(self.state.folders, self._path_int(request, "folderId"), "Folder")
        return json_response(self.presenter(request).option(folder))

    async def _list_statuses(self, request: Request) -> Response:
        status_type = self._choice(request, "statusType", STATUS_TYPES)
        items = self.state.list_statuses(self._project_id(request), status_type)
        return self.offset(request, items, self.presenter(request).option)

    async def _get_status(self, request: Request) -> Response:
        status = self.state.one(self.state.statuses, self._path_int(request, "statusId"), "Status")
        return json_response(self.presenter(request).option(status))

    async def _list_priorities(self, request: Request) -> Response:
        items = self.state.list_options(self.state.priorities, self._project_id(request))
        return self.offset(request, items, self.presenter(request).option)

    async def _get_priority(self, request: Request) -> Response:
        priority = self.state.one(self.state.priorities, self._path_int(request, "priorityId"), "Priority")
        return json_response(self.presenter(request).option(priority))

    async def _list_environments(self, request: Request) -> Response:
        items = self.state.list_options(self.state.environments, self._project_id(request))
        return self.offset(request, items, self.presenter(request).option)

    async def _get_environment(self, request: Request) -> Response:
        env = self.state.one(self.state.environments, self._path_int(request, "environmentId"), "Environment")
        return json_response(self.presenter(request).option(env))

    async def _list_cases(self, request: Request) -> Response:
        items = self.state.list_cases(self._project_id(request), self._query_int(request, "folderId"))
        p = self.presenter(request)
        return self.offset(request, items, lambda c: p.testcase(c, c["key"]))

    async def _list_cases_nextgen(self, request: Request) -> Response:
        items = self.state.list_cases(
            self._project_id(request), self._query_int(request, "folderId"), by_id=True
        )
        p = self.presenter(request)
        return self.cursor(request, items, lambda c: p.testcase(c, c["key"]))

    async def _get_case(self, request: Request) -> Response:
        key = request.path_params["testCaseKey"]
        return json_response(self.presenter(request).testcase(self.state.current_case(key), key))

    async def _list_case_versions(self, request: Request) -> Response:
        key = request.path_params["testCaseKey"]
        self.state.current_case(key)
        # "Response is ordered by most recent first."
        versions = list(reversed(self.state.testcase_versions[key]))
        p = self.presenter(request)
        return self.offset(request, versions, lambda v: p.version_link(int(v["id"])))

    async def _get_case_version(self, request: Request) -> Response:
        key = request.path_params["testCaseKey"]
        number = self._path_int(request, "version", minimum=0)
        return json_response(self.presenter(request).testcase(self.state.case_version(key, number), key))

    async def _list_case_steps(self, request: Request) -> Response:
        key = request.path_params["testCaseKey"]
        self.state.current_case(key)
        steps = self.state.teststeps.get(key, [])
        return self.offset(request, steps, self.presenter(request).test_step)

    async def _get_case_script(self, request: Request) -> Response:
        key = request.path_params["testCaseKey"]
        self.state.current_case(key)
        script = self.state.testscripts.get(key)
        if script is None:
            raise ZephyrApiError(404, f"Test case '{key}' has no plain text or BDD test script.")
        return json_response(self.presenter(request).test_script(script))

    async def _get_case_links(self, request: Request) -> Response:
        key = request.path_params["testCaseKey"]
        self.state.current_case(key)
        p = self.presenter(request)
        links = p.case_links(key) or {"self": p.url(f"testcases/{key}/links"), "issues": [], "webLinks": []}
        return json_response(links)

    async def _list_cycles(self, request: Request) -> Response:
        items = self.state.list_cycles(
            self._project_id(request),
            self._query_int(request, "folderId"),
            self._query_int(request, "jiraProjectVersionId"),
        )
        return self.offset(request, items, self.presenter(request).cycle)

    async def _get_cycle(self, request: Request) -> Response:
        cycle = self.state.cycle(request.path_params["testCycleIdOrKey"])
        return json_response(self.presenter(request).cycle(cycle))

    async def _get_cycle_links(self, request: Request) -> Response:
        cycle = self.state.cycle(request.path_params["testCycleIdOrKey"])
        p = self.presenter(request)
        empty = {
            "self": p.url(f"testcycles/{cycle['id']}/links"),
            "issues": [],
            "webLinks": [],
            "testPlans": [],
        }
        return json_response(p.cycle_links(cycle) or empty)

    async def _list_plans(self, request: Request) -> Response:
        return self.offset(
            request, self.state.list_plans(self._project_id(request)), self.presenter(request).plan
        )

    async def _get_plan(self, request: Request) -> Response:
        plan = self.state.plan(request.path_params["testPlanIdOrKey"])
        return json_response(self.presenter(request).plan(plan))

    async def _list_executions(self, request: Request) -> Response:
        items = self.state.list_executions(self._execution_filter(request))
        return self.offset(request, items, self.presenter(request).execution)

    async def _list_executions_nextgen(self, request: Request) -> Response:
        items = self.state.list_executions(self._execution_filter(request))
        return self.cursor(request, items, self.presenter(request).execution)

    async def _get_execution(self, request: Request) -> Response:
        parse_bool(request.query_params.get("includeStepLinks"), "includeStepLinks")
        execution = self.state.execution(request.path_params["testExecutionIdOrKey"])
        return json_response(self.presenter(request).execution(execution))

    async def _list_execution_steps(self, request: Request) -> Response:
        execution = self.state.execution(request.path_params["testExecutionIdOrKey"])
        row = parse_int(
            request.query_params.get("testDataRowNumber"), "testDataRowNumber", default=None, minimum=0
        )
        steps = self.state.executionsteps.get(int(execution["id"]), [])
        if row is not None:
            steps = [s for s in steps if (s.get("inline") or {}).get("testDataRowNumber") == row]
        return self.offset(request, steps, self.presenter(request).execution_step)

    async def _get_execution_links(self, request: Request) -> Response:
        execution = self.state.execution(request.path_params["testExecutionIdOrKey"])
        p = self.presenter(request)
        empty = {"self": p.url(f"testexecutions/{execution['id']}/links"), "issues": []}
        return json_response(p.execution_links(execution) or empty)

    # -- write endpoints ------------------------------------------------------------------------------

    def _created(self, request: Request, path: str, entity: Entity, *, keyed: bool = False) -> Response:
        """201 with a (Keyed)CreatedResource: ``{id, self[, key]}``."""
        url = self.presenter(request).url(path)
        body: Entity = {"id": entity["id"], "self": url}
        if keyed:
            body["key"] = entity["key"]
        return json_response(body, 201)

    async def _create_folder(self, request: Request) -> Response:
        folder = writes.create_folder(self.state, _body(request))
        return self._created(request, f"folders/{folder['id']}", folder)

    async def _create_case(self, request: Request) -> Response:
        case = writes.create_test_case(self.state, _body(request), _now())
        return self._created(request, f"testcases/{case['key']}", case, keyed=True)

    async def _update_case(self, request: Request) -> Response:
        writes.update_test_case(self.state, request.path_params["testCaseKey"], _body(request))
        return empty_response()

    async def _add_case_steps(self, request: Request) -> Response:
        key = request.path_params["testCaseKey"]
        case = writes.add_test_steps(self.state, key, _body(request))
        return self._created(request, f"testcases/{key}/teststeps", case)

    async def _set_case_script(self, request: Request) -> Response:
        key = request.path_params["testCaseKey"]
        script = writes.set_test_script(self.state, key, _body(request))
        return self._created(request, f"testcases/{key}/testscript", script)

    async def _create_cycle(self, request: Request) -> Response:
        cycle = writes_runs.create_test_cycle(self.state, _body(request))
        return self._created(request, f"testcycles/{cycle['id']}", cycle, keyed=True)

    async def _update_cycle(self, request: Request) -> Response:
        writes_runs.update_test_cycle(self.state, request.path_params["testCycleIdOrKey"], _body(request))
        return empty_response()

    async def _create_plan(self, request: Request) -> Response:
        plan = writes_runs.create_test_plan(self.state, _body(request))
        return self._created(request, f"testplans/{plan['id']}", plan, keyed=True)

    async def _create_execution(self, request: Request) -> Response:
        execution = writes_runs.create_test_execution(self.state, _body(request))
        response = self._created(request, f"testexecutions/{execution['id']}", execution, keyed=True)
        response.headers["location"] = self.presenter(request).url(f"testexecutions/{execution['id']}")
        return response

    async def _update_execution(self, request: Request) -> Response:
        ident = request.path_params["testExecutionIdOrKey"]
        execution = writes_runs.update_test_execution(self.state, ident, _body(request))
        return empty_response(
            headers={"location": self.presenter(request).url(f"testexecutions/{execution['id']}")}
        )

    async def _update_execution_steps(self, request: Request) -> Response:
        ident = request.path_params["testExecutionIdOrKey"]
        writes_runs.update_execution_steps(self.state, ident, _body(request))
        return empty_response()

    def link_endpoint(self, kind: str, param: str, what: str) -> Handler:
        """A handler for ``POST /<entity>/{id}/links/<what>`` (issues, weblinks or testcycles)."""

        async def handler(request: Request) -> Response:
            ident = request.path_params[param]
            data = _body(request)
            if what == "issues":
                item = writes_runs.add_issue_link(self.state, kind, ident, data)
            elif what == "weblinks":
                item = writes_runs.add_web_link(
                    self.state, kind, ident, data, need_description=kind == "testplan"
                )
            else:
                item = writes_runs.add_plan_cycle_link(self.state, ident, data)
            return self._created(request, f"links/{item['id']}", item)

        return handler

    async def _delete_link(self, request: Request) -> Response:
        writes_runs.delete_link(self.state, self._path_int(request, "linkId"))
        return empty_response()

    # -- the route table ----------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """Every route, NextGen paths before the ``{key}`` paths they would otherwise match."""
        tc, cy, pl, ex = "{testCaseKey}", "{testCycleIdOrKey}", "{testPlanIdOrKey}", "{testExecutionIdOrKey}"
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/healthcheck", self._healthcheck),
            ("GET", "/projects", self._list_projects),
            ("GET", "/projects/{projectIdOrKey}", self._get_project),
            ("GET", "/folders", self._list_folders),
            ("POST", "/folders", self._create_folder),
            ("GET", "/folders/{folderId}", self._get_folder),
            ("GET", "/statuses", self._list_statuses),
            ("GET", "/statuses/{statusId}", self._get_status),
            ("GET", "/priorities", self._list_priorities),
            ("GET", "/priorities/{priorityId}", self._get_priority),
            ("GET", "/environments", self._list_environments),
            ("GET", "/environments/{environmentId}", self._get_environment),
            ("GET", "/testcases", self._list_cases),
            ("POST", "/testcases", self._create_case),
            ("GET", "/testcases/nextgen", self._list_cases_nextgen),
            ("GET", f"/testcases/{tc}", self._get_case),
            ("PUT", f"/testcases/{tc}", self._update_case),
            ("GET", f"/testcases/{tc}/links", self._get_case_links),
            (
                "POST",
                f"/testcases/{tc}/links/issues",
                self.link_endpoint("testcase", "testCaseKey", "issues"),
            ),
            (
                "POST",
                f"/testcases/{tc}/links/weblinks",
                self.link_endpoint("testcase", "testCaseKey", "weblinks"),
            ),
            ("GET", f"/testcases/{tc}/versions", self._list_case_versions),
            ("GET", f"/testcases/{tc}/versions/{{version}}", self._get_case_version),
            ("GET", f"/testcases/{tc}/testscript", self._get_case_script),
            ("POST", f"/testcases/{tc}/testscript", self._set_case_script),
            ("GET", f"/testcases/{tc}/teststeps", self._list_case_steps),
            ("POST", f"/testcases/{tc}/teststeps", self._add_case_steps),
            ("GET", "/testcycles", self._list_cycles),
            ("POST", "/testcycles", self._create_cycle),
            ("GET", f"/testcycles/{cy}", self._get_cycle),
            ("PUT", f"/testcycles/{cy}", self._update_cycle),
            ("GET", f"/testcycles/{cy}/links", self._get_cycle_links),
            (
                "POST",
                f"/testcycles/{cy}/links/issues",
                self.link_endpoint("testcycle", "testCycleIdOrKey", "issues"),
            ),
            (
                "POST",
                f"/testcycles/{cy}/links/weblinks",
                self.link_endpoint("testcycle", "testCycleIdOrKey", "weblinks"),
            ),
            ("GET", "/testplans", self._list_plans),
            ("POST", "/testplans", self._create_plan),
            ("GET", f"/testplans/{pl}", self._get_plan),
            (
                "POST",
                f"/testplans/{pl}/links/weblinks",
                self.link_endpoint("testplan", "testPlanIdOrKey", "weblinks"),
            ),
            (
                "POST",
                f"/testplans/{pl}/links/issues",
                self.link_endpoint("testplan", "testPlanIdOrKey", "issues"),
            ),
            (
                "POST",
                f"/testplans/{pl}/links/testcycles",
                self.link_endpoint("testplan", "testPlanIdOrKey", "cycles"),
            ),
            ("GET", "/testexecutions", self._list_executions),
            ("POST", "/testexecutions", self._create_execution),
            ("GET", "/testexecutions/nextgen", self._list_executions_nextgen),
            ("GET", f"/testexecutions/{ex}", self._get_execution),
            ("PUT", f"/testexecutions/{ex}", self._update_execution),
            ("GET", f"/testexecutions/{ex}/teststeps", self._list_execution_steps),
            ("PUT", f"/testexecutions/{ex}/teststeps", self._update_execution_steps),
            ("GET", f"/testexecutions/{ex}/links", self._get_execution_links),
            (
                "POST",
                f"/testexecutions/{ex}/links/issues",
                self.link_endpoint("testexecution", "testExecutionIdOrKey", "issues"),
            ),
            ("DELETE", "/links/{linkId}", self._delete_link),
        ]
        by_path: dict[str, dict[str, Handler]] = {}
        for method, path, handler in table:
            by_path.setdefault("/v2" + path, {})[method] = handler
        return [
            Route(path, self._dispatch(methods), methods=list(methods)) for path, methods in by_path.items()
        ]

    def _dispatch(self, methods: dict[str, Handler]) -> Handler:
        async def endpoint(request: Request) -> Response:
            handler = methods.get(request.method) or methods["GET"]  # Starlette adds HEAD to GET routes
            if request.method in ("POST", "PUT"):
                # Read the body before taking the lock: reading may wait on the socket.
                request.state.json_body = await read_json(request)
            # Handlers do not suspend, so the lock is never held across an await.
            with self.state.lock:
                return await handler(request)

        return endpoint


def _body(request: Request) -> Any:
    return request.state.json_body


def _now() -> str:
    return format_datetime(datetime.now(UTC))
