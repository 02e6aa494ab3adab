"""The simulated Zephyr Scale Cloud v2 API as an ASGI app: auth, errors, faults and the routes.

Layers, outermost first::

    FaultMiddleware   counters, GET /_sim/stats, latency, 429 over a rate, injected 5xx/drops
    JiraSiteSplit     /rest/api/3/...: the Jira site's user API behind Basic email:api_token
                      (jira_users.py); every other path goes on to BearerAuth
    BearerAuth        Authorization: Bearer <token> on every path, else 401 ``{"error": reason}``
                      (the current schemas' 401 body)
    Starlette         the /v2 routes (routes.py); unknown paths 404, other methods 405, both
                      with the spec's Error body ``{"errorCode": N, "message": "..."}``
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ztoq.simulators.faults import ASGIApp, FaultMiddleware, FaultOptions, Receive, RequestStats, Scope, Send
from ztoq.simulators.zephyr.attachment_routes import AttachmentRoutes
from ztoq.simulators.zephyr.generate import generate_dataset
from ztoq.simulators.zephyr.generate_attachments import LARGE_ATTACHMENT_SIZE
from ztoq.simulators.zephyr.issue_links import IssueLinkRoutes
from ztoq.simulators.zephyr.jira_users import (
    DEFAULT_JIRA_API_TOKEN,
    DEFAULT_JIRA_EMAIL,
    JiraSiteSplit,
    jira_cloud_app,
    jira_user_records,
)
from ztoq.simulators.zephyr.pagination import ZephyrApiError
from ztoq.simulators.zephyr.routes import ZephyrRoutes, json_response
from ztoq.simulators.zephyr.state import ZephyrState

DEFAULT_ZEPHYR_TOKEN = "zephyr-sim-token"


def error_body(status: int, message: str) -> dict[str, Any]:
    """The spec's ``Error`` schema."""
    return {"errorCode": status, "message": message}


def rate_limited_body(retry_after: float) -> dict[str, Any]:
    """The 429 body (the fault middleware adds ``Retry-After`` in whole seconds)."""
    return error_body(429, f"Rate limit exceeded. Try again in {retry_after:g} second(s).")


def failure_body(status: int) -> dict[str, Any]:
    """The body of an injected 5xx."""
    reasons = {500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable"}
    return error_body(status, f"{reasons.get(status, 'Server error')} (injected by the simulator).")


# -- authentication ---------------------------------------------------------------------------------
#
# SmartBear's current schemas (``zephyr-scale-cloud-v2-attachments.md`` in the shared specs) give
# 401 answers the body ``{"error": "<reason>"}``, unlike the ``{"errorCode", "message"}`` body of
# every other error, and name the reasons: a missing header, a token that is not a three-part JWT,
# bad base64, bad JSON, a bad signature. Real tokens are JWTs; the simulator's token is any string
# the test chose, so a refused token is explained by the first of those checks it fails, and a
# well-formed JWT that is not the simulator's token has "a bad signature".

MISSING_HEADER = "Authorization header is missing: send 'Authorization: Bearer <token>'."
NOT_BEARER = "Authorization header must use the Bearer scheme."
NOT_A_JWT = "Invalid token: a token has three parts separated by dots."
BAD_BASE64 = "Invalid token: a part of the token is not base64url."
BAD_JSON = "Invalid token: the token's header or payload is not JSON."
BAD_SIGNATURE = "Invalid token: the signature does not match."


def unauthorized_body(reason: str) -> dict[str, str]:
    """The 401 body of the current schemas: ``{"error": "<reason>"}``."""
    return {"error": reason}


def refusal(header: bytes | None, token: str) -> str | None:
    """Why an ``Authorization`` header value is refused for ``token``; None when it is accepted."""
    if header is None or not header.strip():
        return MISSING_HEADER
    scheme, _, given = header.decode("latin-1").strip().partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer":
        return NOT_BEARER
    if hmac.compare_digest(given.encode("latin-1"), token.encode("latin-1", "replace")):
        return None
    return token_problem(given)


def token_problem(given: str) -> str:
    """Why a token that is not the simulator's is refused, as SmartBear's reasons go."""
    parts = given.split(".")
    if len(parts) != 3 or not all(parts):
        return NOT_A_JWT
    decoded: list[bytes] = []
    for part in parts:
        try:
            decoded.append(base64.b64decode(part + "=" * (-len(part) % 4), altchars=b"-_", validate=True))
        except (binascii.Error, ValueError):
            return BAD_BASE64
    for raw in decoded[:2]:
        try:
            if not isinstance(json.loads(raw), dict):
                return BAD_JSON
        except ValueError:
            return BAD_JSON
    return BAD_SIGNATURE


class BearerAuth:
    """Refuses every request without ``Authorization: Bearer <token>`` (401, ``{"error": ...}``).

    The spec's security scheme applies to every operation, the health check included.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = next((v for k, v in scope.get("headers") or [] if k == b"authorization"), None)
            reason = refusal(header, self.token)
            if reason is not None:
                await json_response(unauthorized_body(reason), 401)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ZephyrApiError)
    return json_response(exc.body(), exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"The resource '{request.url.path}' does not exist."
    elif exc.status_code == 405:
        message = f"The method {request.method} is not allowed on '{request.url.path}'."
    else:
        message = str(exc.detail)
    return json_response(error_body(exc.status_code, message), exc.status_code, dict(exc.headers or {}))


class ZephyrSimulator:
    """The Zephyr Scale Cloud REST API v2, in memory, following SmartBear's published contract.

    Args:
        dataset: A dataset in the ``--data`` format (see docs/simulators-zephyr.md); None starts
            with no projects at all.
        token: The bearer token every request must carry.
        faults: Latency, rate limit and failure injection (all off by default).
        max_results_cap: The largest ``maxResults`` the server grants on offset pages.
        cursor_limit_cap: The largest ``limit`` the server grants on NextGen cursor pages.
        attachments_available: False stands for a tenant that lacks the attachment operations:
            they all answer 503 (``state.attachments_available`` changes it later).
        jira_email: The Jira Cloud account the site's user API accepts with ``jira_api_token``.
        jira_api_token: The Atlassian API token of ``jira_email``.
    """

    def __init__(
        self,
        dataset: dict[str, Any] | None = None,
        *,
        token: str = DEFAULT_ZEPHYR_TOKEN,
        faults: FaultOptions | None = None,
        max_results_cap: int = 100,
        cursor_limit_cap: int = 1000,
        attachments_available: bool = True,
        jira_email: str = DEFAULT_JIRA_EMAIL,
        jira_api_token: str = DEFAULT_JIRA_API_TOKEN,
    ) -> None:
        self.state = ZephyrState(dataset)
        self.state.attachments_available = attachments_available
        self.token = token
        self.faults = faults or FaultOptions()
        self.max_results_cap = max(1, max_results_cap)
        self.cursor_limit_cap = max(1, cursor_limit_cap)
        self.stats = RequestStats()
        starlette = Starlette(
            routes=ZephyrRoutes(self).routes()
            + AttachmentRoutes(self).routes()
            + IssueLinkRoutes(self).routes(),
            exception_handlers={ZephyrApiError: _api_error, HTTPException: _http_error},
        )
        jira = jira_cloud_app(jira_user_records(dataset), jira_email, jira_api_token)
        self.app: ASGIApp = FaultMiddleware(
            JiraSiteSplit(BearerAuth(starlette, token), jira),
            self.faults,
            self.stats,
            rate_limited_body,
            failure_body,
        )

    @classmethod
    def generated(
        cls,
        test_cases: int,
        seed: int = 0,
        project_key: str = "DEMO",
        *,
        attachments: bool = True,
        large_attachments: int = 0,
        large_attachment_size: int = LARGE_ATTACHMENT_SIZE,
        **kw: Any,
    ) -> ZephyrSimulator:
        """A simulator serving ``generate_dataset(test_cases, seed, project_key, ...)``.

        Args:
            test_cases: About how many test cases the project holds.
            seed: The random seed; the same seed gives the same dataset.
            project_key: The Jira project key.
            attachments: Put small attachments on a share of every entity kind.
            large_attachments: How many large files (generated content) to attach as well.
            large_attachment_size: The size of each large file in bytes (over qTest's 50 MB).
            **kw: Passed on to the constructor (token, faults, caps, attachments_available).
        """
        dataset = generate_dataset(
            test_cases,
            seed=seed,
            project_key=project_key,
            attachments=attachments,
            large_attachments=large_attachments,
            large_attachment_size=large_attachment_size,
        )
        return cls(dataset, **kw)
