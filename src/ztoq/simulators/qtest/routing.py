"""Request plumbing shared by the qTest simulator's route modules.

Every endpoint is a plain function of a :class:`Req` (body already read, caller resolved) run
under the state lock, so handlers never interleave and tests may poke the state from another
thread while the simulator serves.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ztoq.simulators.qtest.state import QTestError, QTestState
from ztoq.vendor import QTEST_PERMISSION_AREAS

T = TypeVar("T")

#: Permission areas of a UserProfile (the keys holding a *Permission object).
PERMISSION_AREAS = QTEST_PERMISSION_AREAS


@dataclass
class Req:
    """What a handler needs from an HTTP request."""

    state: QTestState
    params: dict[str, Any]
    query: QueryParams
    headers: Headers
    body: bytes
    user_id: int
    base: str

    @property
    def project_id(self) -> int:
        """The ``{projectId}`` path parameter (404 when the project does not exist)."""
        project_id = int(self.params["projectId"])
        self.state.project(project_id)
        return project_id

    def json(self) -> Any:
        """The JSON request body (400 when missing or malformed)."""
        if not self.body.strip():
            raise QTestError(400, "Request body is required")
        try:
            return json.loads(self.body)
        except ValueError:
            raise QTestError(400, "Request body is not valid JSON") from None

    def json_object(self) -> dict[str, Any]:
        """The JSON request body, which must be an object."""
        data = self.json()
        if not isinstance(data, dict):
            raise QTestError(400, "Request body must be a JSON object")
        return data

    def q_int(self, name: str, default: int | None = None) -> int | None:
        """An integer query parameter (400 when not an integer)."""
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise QTestError(400, f"Parameter {name} must be an integer, not '{raw}'") from None

    def q_bool(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter (``true``/``false``, case-insensitive)."""
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise QTestError(400, f"Parameter {name} must be true or false, not '{raw}'")

    def q_ids(self, name: str) -> list[int]:
        """A list of IDs given as repeated parameters (``ids=1&ids=2``) or comma-separated."""
        ids: list[int] = []
        for raw in self.query.getlist(name):
            for part in raw.split(","):
                if part.strip():
                    try:
                        ids.append(int(part))
                    except ValueError:
                        raise QTestError(400, f"Parameter {name} must hold IDs, not '{part}'") from None
        return ids

    def paging(
        self, size_name: str = "pageSize", default_size: int = 100, maximum: int = 999
    ) -> tuple[int, int]:
        """``page`` (1-based, default 1) and page size (default ``default_size``, at most ``maximum``)."""
        page = self.q_int("page", 1) or 1
        size = self.q_int(size_name, default_size)
        if page < 1:
            raise QTestError(400, "Parameter page must be 1 or more")
        if size is None or size < 1:
            raise QTestError(400, f"Parameter {size_name} must be 1 or more")
        return page, min(size, maximum)

    def require(self, area: str, action: str) -> None:
        """403 unless the caller's profile in the project grants ``area.action``."""
        profile = self.state.project(self.project_id).profiles.get(self.user_id)
        if profile is not None and not (profile.get(area) or {}).get(action, True):
            raise QTestError(403, f"User does not have permission to {action} {area.replace('_', ' ')}")


def page_of(items: Sequence[T], page: int, size: int) -> list[T]:
    """The items of a 1-based page.

    Args:
        items: Every item, in order.
        page: Page number, from 1.
        size: Page size.

    Returns:
        The items of that page (empty past the end).
    """
    start = (page - 1) * size
    return list(items[start : start + size])


def envelope(items: list[Any], page: int, size: int, total: int) -> dict[str, Any]:
    """qTest's paged envelope ``{links, page, page_size, total, items}``.

    Args:
        items: The items of the page.
        page: Page number.
        size: Page size.
        total: Number of items over all pages.

    Returns:
        The envelope.
    """
    return {"links": [], "page": page, "page_size": size, "total": total, "items": items}


def respond(data: Any, status: int = 200) -> Response:
    """A JSON response.

    Args:
        data: The body.
        status: HTTP status.

    Returns:
        The response.
    """
    return JSONResponse(data, status_code=status)


def error(status: int, message: str) -> Response:
    """An error response with qTest's ``{"message": ...}`` body.

    Args:
        status: HTTP status.
        message: The message.

    Returns:
        The response.
    """
    return JSONResponse({"message": message}, status_code=status)


Handler = Callable[[Req], Response]


def endpoint(state: QTestState, handler: Handler, *, raw_upload: bool = False) -> Callable[[Request], Any]:
    """Wrap a handler: read the body (413 when too large), build the :class:`Req`, run it locked.

    Args:
        state: The simulator state.
        handler: The endpoint logic.
        raw_upload: The body is an attachment: at most ``state.attachment_limit`` bytes. Other
            bodies may be 1.4 times that (room for base64-encoded attachments in a test log).

    Returns:
        A Starlette endpoint.
    """

    async def run(request: Request) -> Response:
        limit = state.attachment_limit if raw_upload else int(state.attachment_limit * 1.4) + 1_000_000
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return error(413, "The attachment is too large")
            chunks.append(chunk)
        req = Req(
            state=state,
            params=dict(request.path_params),
            query=request.query_params,
            headers=request.headers,
            body=b"".join(chunks),
            user_id=int(request.scope.get("state", {}).get("user_id", state.admin_id)),
            base=f"{request.url.scheme}://{request.url.netloc}",
        )
        try:
            with state.lock:
                # A batch submission is processed once answered, before anything else is served.
                state.run_queued()
                return handler(req)
        except QTestError as exc:
            return error(exc.status, exc.message)

    return run


def user_names(state: QTestState) -> dict[int, str]:
    """User ID -> full name, for rendering user-list fields.

    Args:
        state: The simulator state.

    Returns:
        The mapping.
    """
    return {u.id: u.full_name for u in state.users.values()}


Container = tuple[str, int]
ROOT: Container = ("root", 0)


def member_ids(req: Req) -> list[int]:
    """IDs of the users assigned to the request's project.

    Args:
        req: The request.

    Returns:
        The user IDs.
    """
    return [u.id for u in req.state.members(req.project_id)]


def name_of(body: dict[str, Any], what: str, default: str | None = None) -> str:
    """The ``name`` of a request body: required, 1 to 500 characters.

    Args:
        body: The request body.
        what: Artifact kind, for the error message.
        default: Value when the body has no ``name`` (updates).

    Returns:
        The name.

    Raises:
        QTestError: 400 when the name is missing, empty or too long.
    """
    name = body.get("name", default)
    if not isinstance(name, str) or not name.strip():
        raise QTestError(400, f"{what} name is required")
    if len(name) > 500:
        raise QTestError(400, f"{what} name must be at most 500 characters")
    return name


def text_attr(body: dict[str, Any], key: str, default: str | None) -> str | None:
    """An optional string attribute of a request body.

    Args:
        body: The request body.
        key: The attribute.
        default: Value when absent.

    Returns:
        The value.

    Raises:
        QTestError: 400 when the value is not a string.
    """
    value = body.get(key, default)
    if value is not None and not isinstance(value, str):
        raise QTestError(400, f"{key} must be a string")
    return value


def project_routes(state: QTestState, table: Sequence[tuple[str, str, Handler]]) -> list[Route]:
    """Routes below ``/api/v3/projects/{projectId}/`` from ``(method, path, handler)`` rows.

    Args:
        state: The simulator state.
        table: The rows.

    Returns:
        The Starlette routes.
    """
    prefix = "/api/v3/projects/{projectId:int}/"
    return [
        Route(prefix + path, endpoint(state, handler), methods=[method]) for method, path, handler in table
    ]


def container(req: Req, allowed: tuple[str, ...]) -> Container:
    """The ``parentId``/``parentType`` container of a request (root when both are absent).

    Args:
        req: The request.
        allowed: Parent types accepted by the endpoint (``root``, ``release``...).

    Returns:
        ``(parent type, parent ID)``; ``("root", 0)`` for the root.

    Raises:
        QTestError: 400 on an invalid parent type or a parent that does not exist.
    """
    parent_id = req.q_int("parentId")
    parent_type = req.query.get("parentType")
    if parent_type is None:
        if not parent_id:
            return ROOT
        raise QTestError(400, "parentType is required with parentId")
    if parent_type not in allowed:
        raise QTestError(400, f"parentType must be one of {', '.join(allowed)}")
    if parent_type == "root" or not parent_id:
        return ROOT
    tables: dict[str, dict[int, Any]] = {
        "release": req.state.releases,
        "test-cycle": req.state.test_cycles,
        "test-suite": req.state.test_suites,
    }
    found = tables[parent_type].get(parent_id)
    if found is None or found.project_id != req.project_id:
        raise QTestError(400, f"Parent {parent_type} with id {parent_id} does not exist")
    return (parent_type, parent_id)


def within(state: QTestState, project_id: int, top: Container) -> set[Container]:
    """``top`` and every test cycle and test suite below it.

    Args:
        state: The simulator state.
        project_id: The project.
        top: The container to start from.

    Returns:
        The containers.
    """
    found = {top}
    frontier = [top]
    while frontier:
        current = frontier.pop()
        for cycle in state.children(state.test_cycles, project_id, current):
            key = ("test-cycle", cycle.id)
            if key not in found:
                found.add(key)
                frontier.append(key)
        for suite in state.children(state.test_suites, project_id, current):
            found.add(("test-suite", suite.id))
    return found
