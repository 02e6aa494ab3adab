"""The dashboard web app: one page and one JSON endpoint over the migration store (read-only).

``GET /`` is the page (:mod:`ztoq.dashboard.page`); ``GET /api/status`` is what it polls every
second (:meth:`StatusSource.read`). The store is only read, in one short session per poll, so the
dashboard can watch a migration that another process is running on the same store.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ztoq.config import ZtoqConfig
from ztoq.dashboard.data import StatusSource
from ztoq.dashboard.page import content_security_policy, new_nonce, render_page

#: Host names a loopback dashboard answers to. Anything else (a DNS-rebinding page pointing its own
#: name at 127.0.0.1) gets 400, so no web site can read the dashboard through the visitor's browser.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")

_COMMON_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address to listen on) is reachable from this machine only."""
    return host in ("localhost", "::1", "[::1]") or host.startswith("127.")


def create_dashboard_app(
    config: ZtoqConfig,
    *,
    allowed_hosts: Sequence[str] | None = LOOPBACK_HOSTS,
    config_file: str | None = None,
) -> Starlette:
    """The dashboard of ``config``'s project, as a Starlette app (serve it with uvicorn).

    Args:
        config: The migration config: its ``database`` is read, for its ``zephyr.project_key``.
        allowed_hosts: Host names (``Host`` header) answered; None answers any (when listening on
            a non-loopback address, the names it is reached by are not known in advance).
        config_file: The config file's path, named in "run ztoq db init" advice.

    Returns:
        The app. ``app.state.status_source.close()`` closes the store's connections (also done at
        lifespan shutdown when the server runs the lifespan).

    Raises:
        ConfigError: ``zephyr.project_key`` is not set.
    """
    source = StatusSource(config, config_file=config_file)

    async def page(request: Request) -> Response:
        nonce = new_nonce()
        headers = {**_COMMON_HEADERS, "Content-Security-Policy": content_security_policy(nonce)}
        return HTMLResponse(render_page(nonce), headers=headers)

    async def status(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(source.read), headers=_COMMON_HEADERS)

    async def favicon(request: Request) -> Response:
        return Response(status_code=204, headers=_COMMON_HEADERS)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            source.close()

    middleware = []
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    app = Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Route("/api/status", status, methods=["GET"]),
            Route("/favicon.ico", favicon, methods=["GET"]),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.status_source = source
    return app
