"""The simulated Zephyr Scale Cloud v2 API as an ASGI app: auth, errors, faults and the routes.

Layers, outermost first::

    FaultMiddleware   counters, GET /_sim/stats, latency, 429 over a rate, injected 5xx/drops
    BearerAuth        Authorization: Bearer <token> on every path, else 401 with the Error body
    Starlette         the /v2 routes (routes.py); unknown paths 404, other methods 405, both
                      with the spec's Error body ``{"errorCode": N, "message": "..."}``
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ztoq.simulators.faults import ASGIApp, FaultMiddleware, FaultOptions, Receive, RequestStats, Scope, Send
from ztoq.simulators.zephyr.attachment_routes import AttachmentRoutes
from ztoq.simulators.zephyr.generate import generate_dataset
from ztoq.simulators.zephyr.generate_attachments import LARGE_ATTACHMENT_SIZE
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


class BearerAuth:
    """Refuses every request without ``Authorization: Bearer <token>`` (401, Error body).

    The spec's security scheme applies to every operation, the health check included.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            message = self._refusal(scope)
            if message is not None:
                await json_response(error_body(401, message), 401)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> str | None:
        header = next((v for k, v in scope.get("headers") or [] if k == b"authorization"), None)
        if header is None:
            return "Authentication credentials are missing: send 'Authorization: Bearer <token>'."
        scheme, _, given = header.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            return "The access token is invalid or has expired."
        return None


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
    ) -> None:
        self.state = ZephyrState(dataset)
        self.state.attachments_available = attachments_available
        self.token = token
        self.faults = faults or FaultOptions()
        self.max_results_cap = max(1, max_results_cap)
        self.cursor_limit_cap = max(1, cursor_limit_cap)
        self.stats = RequestStats()
        starlette = Starlette(
            routes=ZephyrRoutes(self).routes() + AttachmentRoutes(self).routes(),
            exception_handlers={ZephyrApiError: _api_error, HTTPException: _http_error},
        )
        self.app: ASGIApp = FaultMiddleware(
            BearerAuth(starlette, token), self.faults, self.stats, rate_limited_body, failure_body
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
