"""The read endpoints of the simulated Zephyr Scale Server API and of its Jira site.

Under ``{context path}/rest/atm/1.0``: the searches and GETs of test cases, plans and runs, a run's
results, a test case's latest result, the environments and the test cases linked to an issue.
Under ``{context path}/rest/api/2``: Jira's project and user calls ztoq makes with the same
credentials. Errors raise ``ServerApiError``, which the app turns into Jira's error body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ztoq.simulators.zephyr_server.protocol import (
    ServerApiError,
    page_of,
    page_request,
    parse_fields,
    select_fields,
)
from ztoq.simulators.zephyr_server.tql import (
    TEST_CASE_FIELDS,
    TEST_PLAN_FIELDS,
    TEST_RUN_FIELDS,
    TqlError,
    parse_query,
)
from ztoq.vendor import JIRA_SERVER_API_PATH, ZEPHYR_SERVER_API_PATH

if TYPE_CHECKING:
    from ztoq.simulators.zephyr_server.app import ZephyrServerSimulator
    from ztoq.simulators.zephyr_server.state import Entity

Handler = Callable[[Request], Awaitable[Response]]

#: Per searchable kind: the fields its query accepts and its name in messages.
_SEARCHES = {
    "testcase": (TEST_CASE_FIELDS, "test cases"),
    "testplan": (TEST_PLAN_FIELDS, "test plans"),
    "testrun": (TEST_RUN_FIELDS, "test runs"),
}
#: The Jira user fields served (the dataset may hold more).
_USER_FIELDS = ("key", "name", "displayName", "emailAddress", "active", "timeZone")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON answer."""
    return JSONResponse(body, status_code=status, headers=headers)


def site_url(request: Request, context_path: str) -> str:
    """The Jira site's base URL as this request reached it (scheme, host, context path; no slash)."""
    return str(request.base_url).rstrip("/") + context_path


class ServerRoutes:
    """Builds the read routes over one simulator's state, caps and context path."""

    def __init__(self, sim: ZephyrServerSimulator) -> None:
        self.sim = sim
        self.state = sim.state

    # -- helpers ----------------------------------------------------------------------------------

    def _fields(self, request: Request) -> frozenset[str] | None:
        return parse_fields(request.query_params.get("fields"))

    def _one(self, request: Request, entity: Entity) -> Response:
        return json_response(select_fields(entity, self._fields(request)))

    def _many(self, request: Request, entities: Sequence[Entity]) -> Response:
        fields = self._fields(request)
        return json_response([select_fields(entity, fields) for entity in entities])

    def search_endpoint(self, kind: str) -> Handler:
        """``GET /{kind}/search``: the entities matching ``query``, one page as a JSON array."""
        accepted, plural = _SEARCHES[kind]

        async def handler(request: Request) -> Response:
            page = page_request(request.query_params, self.sim.max_results_cap)
            try:
                clauses = parse_query(request.query_params.get("query"), accepted, plural)
            except TqlError as exc:
                raise ServerApiError(400, str(exc)) from None
            found = self.state.search(kind, clauses)
            return self._many(request, page_of(found, page))

        return handler

    # -- Zephyr endpoints ---------------------------------------------------------------------------

    async def _get_case(self, request: Request) -> Response:
        return self._one(request, self.state.test_case(request.path_params["testCaseKey"]))

    async def _get_plan(self, request: Request) -> Response:
        return self._one(request, self.state.test_plan(request.path_params["testPlanKey"]))

    async def _get_run(self, request: Request) -> Response:
        return self._one(request, self.state.test_run(request.path_params["testRunKey"]))

    async def _run_results(self, request: Request) -> Response:
        return json_response(self.state.results_of_run(request.path_params["testRunKey"]))

    async def _latest_result(self, request: Request) -> Response:
        return json_response(self.state.latest_result_of_case(request.path_params["testCaseKey"]))

    async def _environments(self, request: Request) -> Response:
        found = self.state.environments_of(request.query_params.get("projectKey"))
        return json_response(
            [{name: e[name] for name in ("id", "name", "description", "index") if name in e} for e in found]
        )

    async def _issue_cases(self, request: Request) -> Response:
        return self._many(request, self.state.cases_linked_to(request.path_params["issueKey"]))

    # -- Jira endpoints -------------------------------------------------------------------------------

    async def _jira_project(self, request: Request) -> Response:
        project = self.state.project(request.path_params["projectIdOrKey"])
        site = site_url(request, self.sim.context_path)
        return json_response(
            {
                "self": f"{site}{JIRA_SERVER_API_PATH}/project/{project['id']}",
                "id": str(project["id"]),
                "key": project["key"],
                "name": project.get("name", project["key"]),
            }
        )

    async def _jira_user(self, request: Request) -> Response:
        key, username = request.query_params.get("key"), request.query_params.get("username")
        if not key and not username:
            raise ServerApiError(400, "The 'username' or the 'key' query parameter is required.", jira=True)
        user = self.state.user(key or None, username if not key else None)
        site = site_url(request, self.sim.context_path)
        body = {"self": f"{site}{JIRA_SERVER_API_PATH}/user?key={user['key']}", "active": True}
        body.update({name: user[name] for name in _USER_FIELDS if name in user})
        return json_response(body)

    # -- the route table --------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """Every read route, the search paths before the ``{key}`` paths they would otherwise match."""
        api = self.sim.context_path + ZEPHYR_SERVER_API_PATH
        jira = self.sim.context_path + JIRA_SERVER_API_PATH
        table: list[tuple[str, Handler]] = [
            (f"{api}/testcase/search", self.search_endpoint("testcase")),
            (f"{api}/testcase/{{testCaseKey}}", self._get_case),
            (f"{api}/testcase/{{testCaseKey}}/testresult/latest", self._latest_result),
            (f"{api}/testplan/search", self.search_endpoint("testplan")),
            (f"{api}/testplan/{{testPlanKey}}", self._get_plan),
            (f"{api}/testrun/search", self.search_endpoint("testrun")),
            (f"{api}/testrun/{{testRunKey}}", self._get_run),
            (f"{api}/testrun/{{testRunKey}}/testresults", self._run_results),
            (f"{api}/environments", self._environments),
            (f"{api}/issuelink/{{issueKey}}/testcases", self._issue_cases),
            (f"{jira}/project/{{projectIdOrKey}}", self._jira_project),
            (f"{jira}/user", self._jira_user),
        ]
        return [Route(path, self._locked(handler), methods=["GET"]) for path, handler in table]

    def _locked(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            # Handlers do not suspend, so the lock is never held across an await.
            with self.state.lock:
                return await handler(request)

        return endpoint
