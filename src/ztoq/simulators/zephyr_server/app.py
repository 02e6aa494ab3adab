"""The simulated Zephyr Scale Server / Data Center REST API v1 (and its Jira site) as an ASGI app.

Layers, outermost first::

    RateLimitHeaders  adds Jira Data Center's X-RateLimit-* headers to every 429
    FaultMiddleware   counters, GET /_sim/stats, latency, 429 over a rate, injected 5xx/drops
    JiraAuth          Basic user:password or Bearer <personal access token>, else 401
    Starlette         the routes under {context path}/rest/atm/1.0, /rest/tests/1.0 and
                      /rest/api/2; unknown paths 404, other methods 405, both with Jira's
                      error body {"errorMessages": ["..."]}
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import time
from collections import deque
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ztoq.simulators.faults import (
    ASGIApp,
    FaultMiddleware,
    FaultOptions,
    Message,
    Receive,
    RequestStats,
    Scope,
    Send,
)
from ztoq.simulators.zephyr_server.attachment_routes import AttachmentRoutes
from ztoq.simulators.zephyr_server.protocol import ServerApiError, error_body
from ztoq.simulators.zephyr_server.routes import ServerRoutes, json_response
from ztoq.simulators.zephyr_server.state import ZephyrServerState
from ztoq.simulators.zephyr_server.writes import WriteRoutes

DEFAULT_SERVER_TOKEN = "zephyr-server-sim-token"
DEFAULT_SERVER_USER = "admin"
DEFAULT_SERVER_PASSWORD = "admin"
#: The size of the large generated attachments (over qTest's 50 MB upload limit).
DEFAULT_LARGE_ATTACHMENT_SIZE = 51 * 1024 * 1024

UNAUTHENTICATED_MESSAGE = "You are not authenticated. Authentication required to perform this operation."


def rate_limited_body(retry_after: float) -> dict[str, Any]:
    """The 429 body (the fault middleware adds ``Retry-After`` in whole seconds)."""
    return error_body(f"Rate limit exceeded. Try again in {retry_after:g} second(s).")


def failure_body(status: int) -> dict[str, Any]:
    """The body of an injected 5xx."""
    reasons = {500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable"}
    return error_body(f"{reasons.get(status, 'Server error')} (injected by the simulator).")


class JiraAuth:
    """Refuses every request without Jira's credentials: Basic ``user:password`` or a Bearer token.

    Jira Server takes either on every REST path, the attachment download included. A refusal is
    401 with ``WWW-Authenticate: Basic realm="protected-area"``; wrong credentials (as opposed to
    none) also carry ``X-Seraph-LoginReason: AUTHENTICATED_FAILED``, as Jira's login filter sends.
    """

    def __init__(self, app: ASGIApp, token: str, username: str, password: str) -> None:
        self.app = app
        self.token = token.encode()
        self.basic = f"{username}:{password}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = next((v for k, v in scope.get("headers") or [] if k == b"authorization"), None)
            if header is None or not self._accepts(header.decode("latin-1")):
                headers = {"WWW-Authenticate": 'Basic realm="protected-area"'}
                if header is not None:
                    headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
                await json_response(error_body(UNAUTHENTICATED_MESSAGE), 401, headers)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _accepts(self, header: str) -> bool:
        scheme, _, given = header.partition(" ")
        given = given.strip()
        if scheme.lower() == "bearer":
            return hmac.compare_digest(given.encode(), self.token)
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(given, validate=True)
            except (binascii.Error, ValueError):
                return False
            return hmac.compare_digest(decoded, self.basic)
        return False


class RateLimitHeaders:
    """Adds Jira Data Center's rate-limit headers to every answer while a rate limit is on.

    Jira DC limits with a token bucket and states it on every answer ("After making a request,
    you'll see information about your tokens and limits in the HTTP response headers",
    Atlassian's announcement of rate limiting in Jira DC 8.6; the header table of "Improving
    instance stability with rate limiting"): ``X-RateLimit-Limit`` is the bucket size,
    ``X-RateLimit-FillRate`` the tokens added every ``X-RateLimit-Interval-Seconds``,
    ``X-RateLimit-Remaining`` what is left (``0`` on a refused request, beside ``Retry-After``;
    ``retry-after: 0`` while tokens remain). The simulator's sliding window of ``rate`` requests
    per second reads as a bucket of ``rate`` tokens refilled each second. Without a rate limit
    (``rate`` 0) no header is added, as on a site where rate limiting is off.
    """

    def __init__(self, app: ASGIApp, rate: float) -> None:
        self.app = app
        self.enabled = rate > 0
        self.capacity = max(1, math.floor(rate))
        limit = str(self.capacity).encode()
        self.stated = [
            (b"x-ratelimit-limit", limit),
            (b"x-ratelimit-fillrate", limit),
            (b"x-ratelimit-interval-seconds", b"1"),
        ]
        self.headers = [*self.stated, (b"x-ratelimit-remaining", b"0")]
        self._granted: deque[float] = deque()

    def _granted_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers of a granted answer: the tokens left in the current second."""
        now = time.monotonic()
        while self._granted and now - self._granted[0] >= 1.0:
            self._granted.popleft()
        self._granted.append(now)
        left = max(0, self.capacity - len(self._granted))
        return [*self.stated, (b"x-ratelimit-remaining", str(left).encode()), (b"retry-after", b"0")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if self.enabled and message["type"] == "http.response.start":
                added = self.headers if message["status"] == 429 else self._granted_headers()
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServerApiError)
    return json_response(exc.body(), exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"The resource {request.url.path} does not exist."
    elif exc.status_code == 405:
        message = f"The method {request.method} is not allowed on {request.url.path}."
    else:
        message = str(exc.detail)
    return json_response(error_body(message), exc.status_code, dict(exc.headers or {}))


def normalize_context_path(context_path: str) -> str:
    """``"jira/"`` -> ``"/jira"``; the site root stays ``""``."""
    stripped = context_path.strip().strip("/")
    return f"/{stripped}" if stripped else ""


class ZephyrServerSimulator:
    """The Zephyr Scale Server / Data Center REST API v1 and the Jira calls ztoq makes, in memory.

    Args:
        dataset: A dataset in the ``--data`` format (docs/simulators-zephyr-server.md); None
            starts with no projects at all.
        token: The personal access token accepted as ``Authorization: Bearer <token>``.
        username: The Jira login accepted with ``password`` as HTTP Basic credentials.
        password: The password of ``username``.
        faults: Latency, rate limit and failure injection (all off by default).
        max_results_cap: The largest ``maxResults`` the searches grant.
        context_path: The Jira site's context path (``"/jira"``); ``""`` serves at the root.
    """

    def __init__(
        self,
        dataset: dict[str, Any] | None = None,
        *,
        token: str = DEFAULT_SERVER_TOKEN,
        username: str = DEFAULT_SERVER_USER,
        password: str = DEFAULT_SERVER_PASSWORD,
        faults: FaultOptions | None = None,
        max_results_cap: int = 1000,
        context_path: str = "",
    ) -> None:
        self.state = ZephyrServerState(dataset)
        self.faults = faults or FaultOptions()
        self.max_results_cap = max(1, max_results_cap)
        self.context_path = normalize_context_path(context_path)
        self.stats = RequestStats()
        starlette = Starlette(
            routes=ServerRoutes(self).routes() + AttachmentRoutes(self).routes() + WriteRoutes(self).routes(),
            exception_handlers={ServerApiError: _api_error, HTTPException: _http_error},
        )
        authenticated = JiraAuth(starlette, token, username, password)
        faulty = FaultMiddleware(authenticated, self.faults, self.stats, rate_limited_body, failure_body)
        self.app: ASGIApp = RateLimitHeaders(faulty, self.faults.rate_limit)

    @classmethod
    def generated(
        cls,
        test_cases: int,
        seed: int = 0,
        project_key: str = "DC",
        *,
        attachments: bool = True,
        large_attachments: int = 0,
        large_attachment_size: int = DEFAULT_LARGE_ATTACHMENT_SIZE,
        **constructor_args: Any,
    ) -> ZephyrServerSimulator:
        """A simulator serving ``generate_server_dataset(test_cases, seed=seed, ...)``.

        Args:
            test_cases: About how many test cases the project holds.
            seed: The random seed; the same seed gives the same dataset.
            project_key: The Jira project key.
            attachments: Put small attachments on a share of every entity kind.
            large_attachments: How many large files (generated content) to attach as well.
            large_attachment_size: The size of each large file in bytes.
            **constructor_args: Passed on to the constructor (credentials, faults, cap, context path).
        """
        from ztoq.simulators.zephyr_server.generate import generate_server_dataset

        dataset = generate_server_dataset(
            test_cases,
            seed=seed,
            project_key=project_key,
            attachments=attachments,
            large_attachments=large_attachments,
            large_attachment_size=large_attachment_size,
        )
        return cls(dataset, **constructor_args)
