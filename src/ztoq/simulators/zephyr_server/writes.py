"""The two writes the simulated Zephyr Scale Server serves, for clients that create test data.

* ``POST /testcase``: a wire test case with ``projectKey`` and ``name`` -> 201 ``{"key": "DC-T7"}``
  (status ``Draft`` and priority ``Normal`` unless given; the next free ``-T`` number);
* ``POST /testrun/{testRunKey}/testresults``: a JSON array of results, each with ``testCaseKey``
  and ``status`` (``environment`` and ``userKey`` query parameters fill them in when absent) ->
  201 ``[{"id": N}, ...]``. The run's item of each test case takes the new status; a test case
  not in the run gets a new item, as on the real server.

Objects are replaced, never changed in place, so the dataset handed to the simulator stays as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ztoq.simulators.zephyr_server.protocol import ServerApiError
from ztoq.simulators.zephyr_server.routes import json_response
from ztoq.vendor import ZEPHYR_SERVER_API_PATH

if TYPE_CHECKING:
    from ztoq.simulators.zephyr_server.app import ZephyrServerSimulator
    from ztoq.simulators.zephyr_server.state import Entity, ZephyrServerState

_CASE_NUMBER_RE = re.compile(r"-T([0-9]+)$")

#: The members a client may give a new test case (docs/simulators-zephyr-server.md); others are
#: refused with 400 rather than stored and served back outside the wire format.
CASE_INPUT = frozenset(
    {
        "projectKey", "name", "status", "priority", "component", "folder", "owner", "objective",
        "precondition", "estimatedTime", "labels", "issueLinks", "customFields", "parameters",
        "testScript",
    }
)  # fmt: skip
#: The members a client may give a new test result.
RESULT_INPUT = frozenset(
    {
        "testCaseKey", "status", "environment", "comment", "assignedTo", "executedBy", "userKey",
        "executionTime", "executionDate", "actualStartDate", "actualEndDate", "customFields",
        "issueLinks", "scriptResults",
    }
)  # fmt: skip


def _refuse_unknown(given: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ServerApiError(400, f"{what}: unknown field(s) {', '.join(unknown)}.")


def now_text() -> str:
    """The current moment as the API writes dates (ISO-8601, milliseconds, ``Z``)."""
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def create_test_case(state: ZephyrServerState, body: Any) -> Entity:
    """Store a new test case from a ``POST /testcase`` body; 400 when it lacks what the server needs."""
    if not isinstance(body, Mapping):
        raise ServerApiError(400, "The request body must be a JSON object.")
    project_key, name = body.get("projectKey"), body.get("name")
    if not isinstance(project_key, str) or project_key not in state.projects:
        raise ServerApiError(400, f"Project {project_key} not found")
    if not isinstance(name, str) or not name.strip():
        raise ServerApiError(400, "The field name is required.")
    _refuse_unknown(body, CASE_INPUT, "Test case")
    with state.lock:
        numbers = [
            int(match.group(1))
            for key in state.testcases
            if key.startswith(f"{project_key}-") and (match := _CASE_NUMBER_RE.search(key))
        ]
        key = f"{project_key}-T{max(numbers, default=0) + 1}"
        stamp = now_text()
        case: Entity = {
            "status": "Draft",
            "priority": "Normal",
            **body,
            "key": key,
            "createdOn": stamp,
            "createdBy": body.get("owner") or "admin",
            "updatedOn": stamp,
            "updatedBy": body.get("owner") or "admin",
            "majorVersion": 1,
            "latestVersion": True,
        }
        state.testcases[key] = case
        state.touch()
    return case


def create_test_results(
    state: ZephyrServerState, run_key: str, body: Any, environment: str | None, user_key: str | None
) -> list[Entity]:
    """Store the results of a ``POST /testrun/{key}/testresults`` body; 400 for an unknown run.

    The spec lists 201, 400 ("Some parameters are invalid or not found") and 401 for this call.
    """
    with state.lock:
        run = state.testruns.get(run_key)
        if run is None:
            raise ServerApiError(400, f"Test Run {run_key} not found")
        if not isinstance(body, list) or not body:
            raise ServerApiError(400, "The request body must be a non-empty JSON array of test results.")
        for position, given in enumerate(body):
            if not isinstance(given, Mapping):
                raise ServerApiError(400, f"Test result {position} must be a JSON object.")
            for field in ("testCaseKey", "status"):
                if not isinstance(given.get(field), str) or not given[field]:
                    raise ServerApiError(400, f"Test result {position}: the field {field} is required.")
            _refuse_unknown(given, RESULT_INPUT, f"Test result {position}")
        items = [dict(item) for item in run.get("items") or []]
        next_result = max(state.testresults, default=0) + 1
        next_item = 1 + max(
            (int(i.get("id", 0)) for r in state.testruns.values() for i in r.get("items") or []), default=0
        )
        created: list[Entity] = []
        for given in body:
            result = _result(given, run, next_result, environment, user_key)
            next_result += 1
            item = next((i for i in items if i.get("testCaseKey") == result["testCaseKey"]), None)
            if item is None:
                item = {"id": next_item, "index": len(items), "testCaseKey": result["testCaseKey"]}
                next_item += 1
                items.append(item)
            item.update({k: result[k] for k in ("status", "environment", "userKey") if k in result})
            state.add_result(result)
            created.append(result)
        state.testruns[run_key] = {**run, "items": items, "testCaseCount": len(items)}
        state.touch()
    return created


def _result(
    given: Mapping[str, Any], run: Entity, ident: int, environment: str | None, user_key: str | None
) -> Entity:
    result: Entity = {**given, "id": ident, "projectKey": run["projectKey"], "testRunKey": run["key"]}
    if environment and "environment" not in result:
        result["environment"] = environment
    if user_key and "userKey" not in result:
        result["userKey"] = user_key
    if result["status"] != "Not Executed":
        result.setdefault("executionDate", now_text())
    result.setdefault("scriptResults", [])
    return result


class WriteRoutes:
    """Builds the write routes over one simulator's state."""

    def __init__(self, sim: ZephyrServerSimulator) -> None:
        self.sim = sim
        self.state = sim.state

    async def _create_case(self, request: Request) -> Response:
        case = create_test_case(self.state, await _read_json(request))
        return json_response({"key": case["key"]}, 201)

    async def _create_results(self, request: Request) -> Response:
        query = request.query_params
        created = create_test_results(
            self.state,
            request.path_params["testRunKey"],
            await _read_json(request),
            query.get("environment"),
            query.get("userKey"),
        )
        return json_response([{"id": result["id"]} for result in created], 201)

    def routes(self) -> list[Route]:
        """``POST /testcase`` and ``POST /testrun/{testRunKey}/testresults``."""
        api = self.sim.context_path + ZEPHYR_SERVER_API_PATH
        return [
            Route(f"{api}/testcase", self._create_case, methods=["POST"]),
            Route(f"{api}/testrun/{{testRunKey}}/testresults", self._create_results, methods=["POST"]),
        ]


async def _read_json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise ServerApiError(400, "The request body is not valid JSON.") from None
