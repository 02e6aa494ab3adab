"""Behaviour both simulators share: request counters, latency, rate limits and injected failures.

``FaultMiddleware`` is plain ASGI so it wraps either simulator's Starlette app. It keeps the
counters served at ``GET /_sim/stats`` (outside the API namespaces) and injects, on demand,
the faults a real migration meets: latency, 429 with ``Retry-After`` over a per-token request
rate, and a share of requests answered 500/502/503 or dropped mid-response.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

STATS_PATH = "/_sim/stats"
OUTAGE_PATH = "/_sim/outage"


@dataclass
class FaultOptions:
    """Faults on demand; all off by default."""

    latency_ms: float = 0.0
    rate_limit: float = 0.0  # requests per second per token; 0 = unlimited
    fail_rate: float = 0.0  # share of requests answered 500/502/503 or dropped
    #: Share of requests delayed by ``spike_ms`` more (a slow backend: clients may time out).
    spike_rate: float = 0.0
    spike_ms: float = 0.0
    seed: int | None = None
    #: Share of injected failures of writes that strike *after* the server processed the request
    #: (the entity exists, but the client sees a 5xx or a dropped connection), as when a proxy
    #: times out on a slow backend. Clients must look before they resend a create.
    after_processing: float = 0.5
    #: Paths (prefixes) never subject to faults, e.g. the stats endpoint.
    exempt_prefixes: tuple[str, ...] = ("/_sim/",)


@dataclass
class RequestStats:
    """Counters of requests served, by endpoint template and status (thread-safe)."""

    by_endpoint: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    injected_failures: int = 0
    dropped_connections: int = 0
    processed_then_failed: int = 0
    latency_spikes: int = 0
    rate_limited: int = 0
    #: Requests let through the quota, per wall-clock second (``int(time.time())``): when each
    #: API was kept busy (``GET /_sim/stats?timeline=1``; ``ztoq bench`` reads it).
    admitted: Counter[int] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def admit(self, now: float) -> None:
        with self._lock:
            self.admitted[int(now)] += 1

    def record(self, method: str, template: str, status: int) -> None:
        with self._lock:
            self.by_endpoint[(method, template, status)] += 1

    def total(self, *, method: str | None = None, write_only: bool = False) -> int:
        """Requests counted, optionally only one method or only writes (POST/PUT/PATCH/DELETE)."""
        with self._lock:
            return sum(
                n
                for (m, _t, _s), n in self.by_endpoint.items()
                if (method is None or m == method)
                and (not write_only or m in ("POST", "PUT", "PATCH", "DELETE"))
            )

    def snapshot(self, *, timeline: bool = False) -> dict[str, Any]:
        with self._lock:
            endpoints: dict[str, dict[str, int]] = {}
            for (method, template, status), n in sorted(self.by_endpoint.items()):
                endpoints.setdefault(f"{method} {template}", {})[str(status)] = n
            counts: dict[str, Any] = {
                "total": sum(self.by_endpoint.values()),
                "endpoints": endpoints,
                "injected_failures": self.injected_failures,
                "dropped_connections": self.dropped_connections,
                "processed_then_failed": self.processed_then_failed,
                "latency_spikes": self.latency_spikes,
                "rate_limited": self.rate_limited,
            }
            if timeline:
                counts["admitted_per_second"] = {str(k): n for k, n in sorted(self.admitted.items())}
            return counts

    def reset(self) -> None:
        with self._lock:
            self.by_endpoint.clear()
            self.admitted.clear()
            self.injected_failures = self.dropped_connections = self.rate_limited = 0
            self.processed_then_failed = self.latency_spikes = 0


class SlidingWindowLimiter:
    """At most ``rate`` requests in any one-second window per key."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, now: float | None = None) -> float:
        """Record a hit; return 0 when allowed, else the seconds until a slot frees up."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        capacity = max(1, math.floor(self.rate))
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= 1.0:
                hits.popleft()
            if len(hits) >= capacity:
                return max(0.001, 1.0 - (now - hits[0]))
            hits.append(now)
            return 0.0


def endpoint_template(scope: Scope) -> str:
    """The route template of a served request, e.g. ``/v2/testcases/{testCaseKey}``.

    The router stores ``path_params`` in the scope it was given; each value's segment is put
    back as ``{name}`` so counters group by endpoint, not by resource.
    """
    path: str = scope.get("path", "")
    params: dict[str, Any] = scope.get("path_params") or {}
    if not params:
        return path
    segments = path.split("/")
    for name, value in params.items():
        text = str(value)
        for i in range(len(segments) - 1, -1, -1):
            if segments[i] == text:
                segments[i] = "{" + name + "}"
                break
    return "/".join(segments)


def token_key(scope: Scope) -> str:
    """A non-reversible key for the caller's credentials (rate limits are per token)."""
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            return hashlib.sha256(value).hexdigest()[:16]
    client = scope.get("client")
    return f"anon:{client[0] if client else ''}"


class FaultMiddleware:
    """ASGI middleware: counters, ``/_sim/stats``, latency, rate limit and injected failures."""

    def __init__(
        self,
        app: ASGIApp,
        options: FaultOptions,
        stats: RequestStats,
        rate_limited_body: Callable[[float], dict[str, Any]],
        failure_body: Callable[[int], dict[str, Any]],
    ) -> None:
        self.app = app
        self.options = options
        self.stats = stats
        self.limiter = SlidingWindowLimiter(options.rate_limit)
        self._random = random.Random(options.seed)
        self._rate_limited_body = rate_limited_body
        self._failure_body = failure_body
        #: Until this monotonic time every API request answers 503 (``POST /_sim/outage``).
        self.outage_until = 0.0

    def start_outage(self, seconds: float) -> None:
        """Answer 503 to every API request for ``seconds`` from now (the service is down)."""
        self.outage_until = time.monotonic() + max(0.0, seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        if path == STATS_PATH:
            if method == "DELETE":
                self.stats.reset()
            timeline = b"timeline=1" in scope.get("query_string", b"")
            await _send_json(send, 200, self.stats.snapshot(timeline=timeline))
            return
        if path == OUTAGE_PATH:
            if method == "POST":
                query = dict(
                    part.split("=", 1)
                    for part in scope.get("query_string", b"").decode().split("&")
                    if "=" in part
                )
                try:
                    self.start_outage(float(query.get("seconds", "60")))
                except ValueError:
                    await _send_json(send, 400, {"message": "seconds must be a number"})
                    return
            left = max(0.0, self.outage_until - time.monotonic())
            await _send_json(send, 200, {"outage_seconds_left": round(left, 3)})
            return
        if path.startswith(self.options.exempt_prefixes):
            await self.app(scope, receive, send)
            return

        # A quota is counted where a request arrives (the gateway), before it is processed: a
        # simulator whose event loop was busy must not bunch up requests that arrived spread out.
        wait = self.limiter.check(token_key(scope))
        arrived = time.time()
        if self.options.latency_ms > 0:
            await asyncio.sleep(self.options.latency_ms / 1000.0)
        if self.options.spike_rate > 0 and self._random.random() < self.options.spike_rate:
            self.stats.latency_spikes += 1
            await asyncio.sleep(self.options.spike_ms / 1000.0)

        if time.monotonic() < self.outage_until:
            self.stats.injected_failures += 1
            self.stats.record(method, path, 503)
            await _send_json(send, 503, self._failure_body(503))
            return

        if wait > 0:
            self.stats.rate_limited += 1
            retry_after = max(1, math.ceil(wait))
            self.stats.record(method, path, 429)
            await _send_json(
                send, 429, self._rate_limited_body(retry_after), [(b"retry-after", str(retry_after).encode())]
            )
            return
        self.stats.admit(arrived)

        if self.options.fail_rate > 0 and self._random.random() < self.options.fail_rate:
            choice = self._random.choice((500, 502, 503, 0))
            self.stats.injected_failures += 1
            if method != "GET" and self._random.random() < self.options.after_processing:
                # The server does the work, then the answer is lost on the way back.
                await self.app(scope, receive, _discard)
                self.stats.processed_then_failed += 1
            if choice == 0:
                self.stats.dropped_connections += 1
                self.stats.record(method, path, 0)
                await _drop_connection(send)
                return
            self.stats.record(method, path, choice)
            await _send_json(send, choice, self._failure_body(choice))
            return

        started: list[int] = []

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not started:
                # Counted before the answer leaves: a client that reads the counters right after
                # its last response must find that response counted.
                started.append(int(message["status"]))
                self.stats.record(method, endpoint_template(scope), started[0])
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            if not started:
                self.stats.record(method, endpoint_template(scope), 0)


class DroppedConnection(Exception):
    """Raised inside the server to cut a response short (an injected dropped connection)."""


async def _discard(message: Message) -> None:
    """An ASGI ``send`` that throws the answer away (the client never sees it)."""
    return


async def _drop_connection(send: Send) -> None:
    # Announce a body and stop half way: the server closes the socket, and the client sees an
    # incomplete response, as when a proxy or load balancer drops the connection.
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1024")]})
    await send({"type": "http.response.body", "body": b'{"partial":', "more_body": True})
    raise DroppedConnection("injected dropped connection")


async def _send_json(
    send: Send, status: int, body: dict[str, Any], extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra_headers or [])})
    await send({"type": "http.response.body", "body": payload})
