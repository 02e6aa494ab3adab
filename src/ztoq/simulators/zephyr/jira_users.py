"""The Jira Cloud user API of the simulated site: who the accounts the Zephyr project names are.

Zephyr Scale Cloud names people by Atlassian account id only; their names and e-mails live in
Jira, whose REST API v3 serves them (``ztoq users plan`` asks it when ``jira:`` is configured):

* ``GET /rest/api/3/user?accountId=...``: one user, 404 when Jira does not know the account;
* ``GET /rest/api/3/user/bulk?accountId=..&accountId=..``: the known ones of several accounts, as
  a ``PageBeanUser`` page (``startAt``, ``maxResults`` (default 10), ``total``, ``isLast``,
  ``values``; ``nextPage`` unless it is the last page); unknown accounts are left out.

A user is ``{self, accountId, accountType, emailAddress, displayName, active, timeZone, locale}``;
``emailAddress`` is omitted when the person's profile hides it, as Jira Cloud does. Requests
authenticate as Jira Cloud's REST API expects: Basic ``email:api_token``; anything else is 401
with Jira's ``ErrorCollection`` body. The users are those of the dataset's ``jiraUsers`` list,
else every account the dataset references, named from ``catalog.USERS`` (unknown accounts get a
deterministic name and address).
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ztoq.simulators import catalog
from ztoq.simulators.faults import ASGIApp, Receive, Scope, Send

DEFAULT_JIRA_EMAIL = "migration@example.com"
DEFAULT_JIRA_API_TOKEN = "jira-sim-api-token"
#: Where Jira Cloud's REST API v3 lives below the site URL.
JIRA_CLOUD_API_PATH = "/rest/api/3"
#: ``maxResults`` of ``GET /user/bulk`` when the request gives none (Jira's documented default).
DEFAULT_BULK_MAX_RESULTS = 10

Entity = dict[str, Any]

_ACCOUNT_MEMBERS = ("accountId", "executedById", "assignedToId")


def _error(status: int, message: str) -> JSONResponse:
    """Jira's ``ErrorCollection`` body."""
    return JSONResponse({"errorMessages": [message], "errors": {}}, status_code=status)


def referenced_accounts(dataset: Mapping[str, Any]) -> list[str]:
    """Every account id the dataset names (user links, executors, assignees, user-picker values)."""
    known = {u.account_id for u in catalog.USERS}
    found: dict[str, None] = {}

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for name, member in value.items():
                if name in _ACCOUNT_MEMBERS and isinstance(member, str) and member:
                    found[member] = None
                else:
                    walk(member)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and value in known:
            found[value] = None  # a user-picker custom field's value

    walk(dataset)
    return list(found)


def jira_user_records(dataset: Mapping[str, Any] | None) -> list[Entity]:
    """The users the simulated Jira knows: ``dataset["jiraUsers"]``, else the referenced accounts."""
    if dataset is None:
        return []
    given = dataset.get("jiraUsers")
    if isinstance(given, list):
        return [dict(user) for user in given if isinstance(user, Mapping) and user.get("accountId")]
    specs = {u.account_id: u for u in catalog.USERS}
    users: list[Entity] = []
    for number, account in enumerate(referenced_accounts(dataset), start=1):
        spec = specs.get(account)
        if spec is None:
            users.append(_user(account, f"Jira User {number}", f"jira.user{number}@example.com", True))
        else:
            users.append(_user(account, spec.display_name, spec.jira_email, spec.qtest_login is not None))
    return users


def _user(account: str, name: str, email: str | None, active: bool) -> Entity:
    user: Entity = {
        "accountId": account,
        "accountType": "atlassian",
        "displayName": name,
        "active": active,
        "timeZone": "Europe/London",
        "locale": "en_GB",
    }
    if email is not None:
        user["emailAddress"] = email
    return user


class JiraCloudAuth:
    """Refuses every request without Basic ``email:api_token`` (401, Jira's error body)."""

    def __init__(self, app: ASGIApp, email: str, api_token: str) -> None:
        self.app = app
        self.expected = "Basic " + base64.b64encode(f"{email}:{api_token}".encode()).decode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = next((v for k, v in scope.get("headers") or [] if k == b"authorization"), b"")
            if not hmac.compare_digest(header.decode("latin-1").strip(), self.expected):
                message = "You are not authenticated. Authentication required to perform this operation."
                await _error(401, message)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class JiraUserRoutes:
    """``GET /rest/api/3/user`` and ``GET /rest/api/3/user/bulk`` over a fixed list of users."""

    def __init__(self, users: list[Entity]) -> None:
        self.by_account = {str(user["accountId"]): user for user in users}

    def _shown(self, request: Request, user: Entity) -> Entity:
        site = str(request.base_url).rstrip("/")
        return {"self": f"{site}{JIRA_CLOUD_API_PATH}/user?accountId={user['accountId']}", **user}

    async def user(self, request: Request) -> Response:
        account = request.query_params.get("accountId")
        if not account:
            return _error(400, "The accountId query parameter needs to be provided.")
        user = self.by_account.get(account)
        if user is None:
            return _error(
                404, f"Specified user does not exist or you do not have required permissions: {account}"
            )
        return JSONResponse(self._shown(request, user))

    async def bulk(self, request: Request) -> Response:
        accounts = list(dict.fromkeys(a for a in request.query_params.getlist("accountId") if a))
        if not accounts:
            return _error(400, "At least one accountId query parameter needs to be provided.")
        try:
            start = int(request.query_params.get("startAt") or 0)
            size = int(request.query_params.get("maxResults") or DEFAULT_BULK_MAX_RESULTS)
        except ValueError:
            return _error(400, "startAt and maxResults must be integers.")
        if start < 0 or size < 1:
            return _error(400, "startAt must be 0 or more and maxResults 1 or more.")
        found = [self.by_account[a] for a in accounts if a in self.by_account]
        page = found[start : start + size]
        last = start + size >= len(found)
        site = str(request.base_url).rstrip("/")
        query = [("accountId", a) for a in accounts]
        body: Entity = {
            "self": f"{site}{JIRA_CLOUD_API_PATH}/user/bulk?{urlencode(query)}",
            "maxResults": size,
            "startAt": start,
            "total": len(found),
            "isLast": last,
            "values": [self._shown(request, user) for user in page],
        }
        if not last:
            more = [("startAt", start + size), ("maxResults", size), *query]
            body["nextPage"] = f"{site}{JIRA_CLOUD_API_PATH}/user/bulk?{urlencode(more)}"
        return JSONResponse(body)

    def routes(self) -> list[Route]:
        return [
            Route(f"{JIRA_CLOUD_API_PATH}/user", self.user, methods=["GET"]),
            Route(f"{JIRA_CLOUD_API_PATH}/user/bulk", self.bulk, methods=["GET"]),
        ]


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, f"No resource found at {request.url.path} for {request.method}.")


def jira_cloud_app(users: list[Entity], email: str, api_token: str) -> ASGIApp:
    """The Jira user API over ``users``, behind Jira Cloud's basic authentication."""
    starlette = Starlette(
        routes=JiraUserRoutes(users).routes(), exception_handlers={HTTPException: _not_found}
    )
    return JiraCloudAuth(starlette, email, api_token)


class JiraSiteSplit:
    """Sends ``/rest/api/3/...`` to the Jira app and everything else to the Zephyr app."""

    def __init__(self, zephyr: ASGIApp, jira: ASGIApp) -> None:
        self.zephyr = zephyr
        self.jira = jira

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        is_jira = scope["type"] == "http" and path.startswith(JIRA_CLOUD_API_PATH + "/")
        await (self.jira if is_jira else self.zephyr)(scope, receive, send)
