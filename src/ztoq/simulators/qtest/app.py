"""The qTest Manager v3 simulator's ASGI app: authentication, login, projects and users.

Field settings live in ``routes_fields``; artifact endpoints in ``routes_modules``,
``routes_design`` (test cases), ``routes_requirements`` (requirements, links),
``routes_execution`` (releases, test cycles, test suites), ``routes_runs`` (test runs, test
logs), ``routes_automation`` (automation test logs, the batch queue, the test run sub hierarchy,
the admin profile) and ``routes_attachments_search`` (attachments, search). Unknown paths
answer 404 ``{"message": ...}``; everything under ``/api/`` needs a bearer token.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ztoq.simulators.faults import ASGIApp, FaultMiddleware, FaultOptions, Receive, RequestStats, Scope, Send
from ztoq.simulators.qtest import (
    routes_attachments_search,
    routes_automation,
    routes_design,
    routes_execution,
    routes_fields,
    routes_modules,
    routes_requirements,
    routes_runs,
)
from ztoq.simulators.qtest.routing import PERMISSION_AREAS, Req, endpoint, envelope, error, page_of, respond
from ztoq.simulators.qtest.state import TOKEN_SCOPE, QTestError, QTestState, Token, User


def build_app(state: QTestState, faults: FaultOptions, stats: RequestStats) -> ASGIApp:
    """The complete simulator: routes, bearer authentication and the fault middleware.

    Args:
        state: What the simulator serves.
        faults: Latency, rate limit and failure injection.
        stats: Request counters served at ``GET /_sim/stats``.

    Returns:
        The ASGI app.
    """
    routes: list[BaseRoute] = [
        Route("/oauth/token", _oauth_token(state), methods=["POST"]),
        Route("/oauth/status", _oauth_status(state), methods=["GET"]),
        Route("/oauth/revoke", _oauth_revoke(state), methods=["POST"]),
        *_core_routes(state),
        *routes_fields.routes(state),
        *routes_modules.routes(state),
        *routes_design.routes(state),
        *routes_requirements.routes(state),
        *routes_execution.routes(state),
        *routes_automation.routes(state),
        *routes_runs.routes(state),
        *routes_attachments_search.routes(state),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, QTestError: _qtest_error},
    )
    return FaultMiddleware(
        BearerAuth(app, state),
        faults,
        stats,
        rate_limited_body=lambda retry: {"message": f"API rate limit exceeded; retry after {retry} seconds"},
        failure_body=lambda status: {"message": f"Simulated server error ({status})"},
    )


class BearerAuth:
    """Requires a valid ``Authorization: bearer <token>`` on everything under ``/api/``."""

    def __init__(self, app: ASGIApp, state: QTestState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/api/"):
            user_id = self._user(scope)
            if user_id is None:
                response = JSONResponse(
                    {"message": "Full authentication is required to access this resource"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="qTest", error="invalid_token"'},
                )
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})["user_id"] = user_id
        await self.app(scope, receive, send)

    def _user(self, scope: Scope) -> int | None:
        token = bearer_token(dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1"))
        if token is None:
            return None
        with self.state.lock:
            return self.state.bearer_user(token)


def bearer_token(header: str) -> str | None:
    """The token of an ``Authorization: bearer <token>`` header (scheme case-insensitive).

    Args:
        header: The header value.

    Returns:
        The token, or None when the header is not a bearer one.
    """
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    messages = {404: "Resource not found", 405: "Request method not supported"}
    return error(status, messages.get(status, str(getattr(exc, "detail", "Error"))))


async def _qtest_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, QTestError)
    return error(exc.status, exc.message)


# -- login ------------------------------------------------------------------------------------


def _oauth_error(status: int, code: str, description: str) -> Response:
    # The token endpoint answers in the OAuth 2 error shape (RFC 6749 section 5.2) of the Spring
    # Security OAuth server qTest's /oauth endpoints are built on; the Swagger file documents the
    # statuses only (400 "Invalid refresh token or grant type", 401 "Missing or invalid
    # Authorization header value").
    return JSONResponse({"error": code, "error_description": description}, status_code=status)


def _token_body(token: Token, state: QTestState, agent: str) -> dict[str, Any]:
    remaining = int((token.expires - state.now()).total_seconds()) if token.expires else 0
    return {
        "access_token": token.access_token,
        "token_type": "bearer",
        "refresh_token": token.refresh_token,
        "scope": TOKEN_SCOPE,
        "expires_in": remaining,
        "agent": agent,
    }


def _oauth_token(state: QTestState) -> Callable[[Request], Any]:
    async def token(request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        grant = form.get("grant_type", "password")
        agent = request.headers.get("user-agent", "")
        with state.lock:
            if grant == "password":
                if not _basic_site(request.headers.get("authorization", "")):
                    return _oauth_error(401, "unauthorized", "Missing or invalid Authorization header value")
                user = state.authenticate(form.get("username", ""), form.get("password", ""))
                if user is None:
                    return _oauth_error(401, "invalid_grant", "Bad credentials")
                return respond(_token_body(state.issue_token(user.id), state, agent))
            if grant == "refresh_token":
                refresh = form.get("refresh_token", "")
                user_id = state.refresh_tokens.get(refresh)
                if user_id is None and refresh and refresh == state.api_token:
                    user_id = state.admin_id
                if user_id is None:
                    return _oauth_error(400, "invalid_grant", "Invalid refresh token")
                return respond(_token_body(state.issue_token(user_id), state, agent))
            return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")

    return token


def _basic_site(header: str) -> bool:
    """True for ``Basic base64("<site name>:")`` (the password part must be empty)."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    site, colon, password = decoded.partition(":")
    return bool(site) and bool(colon) and not password


def _oauth_status(state: QTestState) -> Callable[[Request], Any]:
    async def status(request: Request) -> Response:
        token = bearer_token(request.headers.get("authorization", ""))
        with state.lock:
            if token is None or state.bearer_user(token) is None:
                return _oauth_error(401, "invalid_token", "Invalid access token")
            issued = state.tokens.get(token)
            if issued is None or issued.expires is None:
                # API tokens never expire: qTest reports 0 for both values.
                return respond({"expiration": 0, "validityInMilliseconds": 0})
            remaining = int((issued.expires - state.now()).total_seconds() * 1000)
            return respond(
                {
                    "expiration": int(issued.expires.timestamp() * 1000),
                    "validityInMilliseconds": max(remaining, 0),
                }
            )

    return status


def _oauth_revoke(state: QTestState) -> Callable[[Request], Any]:
    async def revoke(request: Request) -> Response:
        token = bearer_token(request.headers.get("authorization", ""))
        with state.lock:
            if token is None or token not in state.tokens:
                return _oauth_error(401, "invalid_token", "Invalid access token")
            del state.tokens[token]
        return Response(status_code=200)

    return revoke


# -- projects, users, fields ----------------------------------------------------------------------


def render_user(user: User, base: str) -> dict[str, Any]:
    """UserResource of a user (the password is never returned).

    Args:
        user: The user.
        base: Site URL the client used.

    Returns:
        The UserResource dict.
    """
    return {
        "links": [{"rel": "self", "href": f"{base}/api/v3/users/{user.id}"}],
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "status": user.status,
        "avatar": f"{base}/api/v3/users/{user.id}/avatar",
        "ldap_username": None,
        "user_group_ids": [],
        "external_auth_config_id": None,
        "external_user_name": None,
    }


def render_user_extension(user: User, base: str) -> dict[str, Any]:
    """UserResourceExtension of a user (the item of ``GET /api/v3/users/search``).

    Args:
        user: The user.
        base: Site URL the client used.

    Returns:
        The UserResourceExtension dict.
    """
    return {
        "links": [{"rel": "self", "href": f"{base}/api/v3/users/{user.id}"}],
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "status": user.status,
        "avatar": f"{base}/api/v3/users/{user.id}/avatar",
        "authentication_system": "INTERNAL",
        "external_username": None,
    }


def user_profile(state: QTestState, project_id: int, user_id: int) -> dict[str, Any]:
    """UserProfile of a user in a project: every permission granted unless the dataset says otherwise.

    Args:
        state: The simulator state.
        project_id: The project.
        user_id: The user.

    Returns:
        The UserProfile dict.
    """
    custom = state.project(project_id).profiles.get(user_id, {})
    full: dict[str, dict[str, bool]] = {
        "release": {"create": True, "edit": True, "delete": True, "view": True},
        "build": {"create": True, "edit": True, "delete": True, "view": True},
        "module": {"create": True, "edit": True, "delete": True, "view": True},
        "requirement": dict.fromkeys(
            ("create", "edit", "delete", "view", "edit_assignment", "export", "import"), True
        ),
        "test_case": dict.fromkeys(
            ("create", "edit", "delete", "view", "edit_assignment", "export", "import", "approve"), True
        ),
        "test_cycle": {"create": True, "edit": True, "delete": True, "view": True},
        "test_suite": {"create": True, "edit": True, "delete": True, "view": True},
        "test_run": dict.fromkeys(
            (
                "create",
                "edit",
                "delete",
                "view",
                "execute",
                "export",
                "edit_assignment",
                "modify_test_logs_by_self",
                "modify_test_logs_by_others",
            ),
            True,
        ),
        "defect": {"create": True, "edit": True, "delete": True, "view": True, "export": True},
        "session": {"create": True, "edit": True, "delete": True, "view": True},
        "schedule": {"create": True, "edit": True, "delete": True, "view": True},
    }
    profile: dict[str, Any] = {"user_id": user_id, "project_id": project_id}
    for area in PERMISSION_AREAS:
        profile[area] = {**full[area], **(custom.get(area) or {})}
    profile["project_setting"] = {"manage": True, **(custom.get("project_setting") or {})}
    profile["project"] = {"admin": user_id == state.admin_id, **(custom.get("project") or {})}
    # The Swagger file's UserProfile also has the test configuration areas (no "reportPermission").
    for area, actions in _CONFIGURATION_AREAS.items():
        profile[area] = {**dict.fromkeys(actions, True), **(custom.get(area) or {})}
    return profile


_CONFIGURATION_AREAS = {
    "test_configuration": ("create", "edit", "delete", "view", "link_unlink"),
    "test_configuration_variables": ("create", "edit", "delete", "view"),
}


def _render_project(req: Req, project_id: int, expand: str | None) -> dict[str, Any]:
    project = req.state.project(project_id)
    base = f"{req.base}/api/v3/projects/{project_id}"
    body = {
        "links": [
            {"rel": "self", "href": base},
            {"rel": "releases", "href": f"{base}/releases"},
            {"rel": "test-cycles", "href": f"{base}/test-cycles"},
            {"rel": "test-runs", "href": f"{base}/test-runs"},
            {"rel": "test-cases", "href": f"{base}/test-cases"},
        ],
        **{k: v for k, v in project.data.items() if k not in ("links", "user_profile")},
        "admins": [req.state.users[req.state.admin_id].username]
        if req.state.admin_id in req.state.users
        else [],
        "admin_ids": [req.state.admin_id] if req.state.admin_id else [],
    }
    if expand == "userprofile":
        body["user_profile"] = user_profile(req.state, project_id, req.user_id)
    return body


def _list_projects(req: Req) -> Response:
    page, size = req.paging(default_size=100)
    caller = req.state.users.get(req.user_id)
    assigned = req.q_bool("assigned", True)
    visible = [
        p for p in sorted(req.state.projects) if caller is None or not assigned or p in caller.projects
    ]
    return respond([_render_project(req, p, req.query.get("expand")) for p in page_of(visible, page, size)])


def _get_project(req: Req) -> Response:
    return respond(_render_project(req, req.project_id, req.query.get("expand")))


def _project_users(req: Req) -> Response:
    users = req.state.members(req.project_id)
    if not req.q_bool("inactive", False):
        users = [u for u in users if u.status == 1]
    return respond([render_user(u, req.base) for u in users])


def _current_profile(req: Req) -> Response:
    return respond(user_profile(req.state, req.project_id, req.user_id))


def _get_user(req: Req) -> Response:
    return respond(render_user(req.state.user(int(req.params["userId"])), req.base))


def _search_users(req: Req) -> Response:
    text = (req.query.get("username") or "").lower()
    include_inactive = req.q_bool("includeInactiveUsers", False)
    found = [
        u
        for _, u in sorted(req.state.users.items())
        if text in u.username.lower() and (include_inactive or u.status == 1)
    ]
    if not req.q_bool("pagination", True):
        page, size = 1, max(len(found), 1)
    else:
        page, size = req.paging(default_size=100, maximum=100)
    items = [render_user_extension(u, req.base) for u in page_of(found, page, size)]
    return respond(envelope(items, page, size, len(found)))


def _execution_statuses(req: Req) -> Response:
    statuses = req.state.project(req.project_id).statuses
    return respond([{"links": [], **s} for s in statuses])


def _core_routes(state: QTestState) -> list[BaseRoute]:
    def r(path: str, handler: Callable[[Req], Response], method: str = "GET") -> Route:
        return Route(path, endpoint(state, handler), methods=[method])

    p = "/api/v3/projects/{projectId:int}"
    return [
        r("/api/v3/projects", _list_projects),
        r(p, _get_project),
        r(f"{p}/users", _project_users),
        r(f"{p}/user-profiles/current", _current_profile),
        r("/api/v3/users/search", _search_users),
        r("/api/v3/users/{userId:int}", _get_user),
        r(f"{p}/test-runs/execution-statuses", _execution_statuses),
    ]
