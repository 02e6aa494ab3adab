"""ApiSession: one API's HTTP conversation, with pacing, retries, re-authentication and counters.

Every request goes through :meth:`ApiSession.request`:

1. take a worker slot (at most ``max_workers`` requests in flight);
2. wait while the session is paused after a 429 (for its ``Retry-After``, or the backoff
   delay when it has none), then for a token of the client-side rate limiter;
3. send, with the ``Authorization`` header from the auth provider (a streamed answer is then
   handed to its consumer inside the same attempt, see :mod:`ztoq.http.streaming`); through the
   session's own aiohttp transport, JSON requests, uploads and downloads skip httpx's models
   (:mod:`ztoq.http.direct`);
4. classify the answer with :func:`ztoq.errors.error_for_status` (the only place statuses
   become exceptions) and retry what is retriable, with exponential backoff and full jitter,
   up to ``retry_count`` retries and within the retry budget.

Creates are special. A POST that died with a 500 or a dropped connection may have created its
object, and sending it again could create a duplicate; so unless the caller passes
``retry_unsafe=True``, a POST is resent only when the failure proves nothing was processed
(429, or a connection that never opened). Otherwise the error is raised and the caller
(the load phase) reconciles by looking the object up before creating it again.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx

from ztoq import __version__
from ztoq.config import NetworkConfig
from ztoq.errors import (
    ApiError,
    AuthenticationFailed,
    NetworkError,
    RateLimited,
    RetriableApiError,
    network_error,
    safe_path,
)
from ztoq.http.answers import Answered, IncompleteResponse, decode_body, status_error, unusable
from ztoq.http.direct import DirectSender, Reply, encode_json
from ztoq.http.jsonapi import JsonRequests
from ztoq.http.ratelimit import Clock, PauseGate, QuotaLearner, Sleep, TokenBucket
from ztoq.http.retry import RetryPolicy, exhausted, parse_retry_after, plan_retry
from ztoq.http.stats import EventCallback, EventKind, SessionEvent, SessionStats
from ztoq.http.streaming import (
    Call,
    Consume,
    StreamedBody,
    build_request,
    held_bytes,
    new_call,
    outgoing,
    plain_client,
    truncated,
)
from ztoq.http.transport import AiohttpTransport, transport_for

#: Gives the full ``Authorization`` header value (e.g. ``"Bearer ..."``), plain or async.
AuthProvider = Callable[[], "str | Awaitable[str | None] | None"]
#: Renews credentials after a 401 (e.g. a new OAuth password grant); raises AuthenticationFailed.
Reauthenticate = Callable[[], Awaitable[None]]
#: Test hook run after every complete answer: ``(method, path, status, body)``.
AfterResponse = Callable[[str, str, int, bytes], None]

#: Transport failures that may go away on their own.
_TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
    httpx.DecodingError,
)

_DEFAULT_HEADERS = {"Accept": "application/json", "User-Agent": f"ztoq/{__version__}"}

#: An answer as one attempt returns it: httpx's, or the fast path's :class:`Reply`.
_A = TypeVar("_A", bound=Answered)


class ApiSession(JsonRequests):
    """One API's HTTP session. Create one per event loop; close it with :meth:`aclose`.

    Attributes:
        api_name: "Zephyr" or "qTest", used in messages.
        base_url: The API root; request paths are appended to it.
        auth: Provider of the ``Authorization`` header (never logged, never in messages).
        reauthenticate: Called once when a request answers 401, before resending it.
        retry: The retry policy.
        stats: The session's counters (see :meth:`snapshot`).
        on_event: Optional callback receiving a :class:`SessionEvent` for everything done.
        after_response: Optional test hook called after each complete answer, before the
            caller sees it; an exception it raises propagates unchanged and is not retried.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        api_name: str,
        base_url: str,
        auth: AuthProvider | None = None,
        reauthenticate: Reauthenticate | None = None,
        max_workers: int = 8,
        requests_per_second: float = 0.0,
        retry: RetryPolicy | None = None,
        on_event: EventCallback | None = None,
        after_response: AfterResponse | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Clock = time.time,
        jitter: Callable[[], float] = random.random,
        owns_client: bool = False,
        direct: DirectSender | None = None,
    ) -> None:
        """Wrap ``client`` (tests pass one built on ``httpx.MockTransport``).

        ``clock``/``sleep`` drive backoff, throttling and pauses (tests pass virtual time);
        ``wall_clock`` reads HTTP-date ``Retry-After`` values; ``jitter`` draws in [0, 1].
        ``direct`` sends the JSON requests past httpx (see :mod:`ztoq.http.direct`): it must go
        through ``client``'s own transport.
        """
        self.api_name = api_name
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.reauthenticate = reauthenticate
        self.retry = retry or RetryPolicy()
        self.stats = SessionStats()
        self.on_event = on_event
        self.after_response = after_response
        self._client = client
        self._owns_client = owns_client
        self._direct = direct
        self._plain_client = plain_client(client)
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._jitter = jitter
        self._workers = asyncio.Semaphore(max(1, max_workers))
        self._bucket = TokenBucket(requests_per_second, clock=clock, sleep=sleep)
        self._gate = PauseGate(clock=clock, sleep=sleep)
        self._quota = QuotaLearner(self._bucket, clock=clock)
        self._auth_lock = asyncio.Lock()
        self._auth_generation = 0

    @classmethod
    def create(
        cls,
        *,
        api_name: str,
        base_url: str,
        network: NetworkConfig | None = None,
        retry_count: int | None = None,
        max_workers: int = 8,
        requests_per_second: float = 0.0,
        transport: httpx.AsyncBaseTransport | None = None,
        http2: bool = False,
        auth: AuthProvider | None = None,
        on_event: EventCallback | None = None,
    ) -> ApiSession:
        """Build a session and the httpx client it owns from the ``network`` settings.

        TLS certificates are verified unless ``network.insecure``; ``retry_count`` overrides
        ``network.retry_count`` (an API section may set its own). Without a ``transport``, requests
        go through :class:`~ztoq.http.transport.AiohttpTransport` (one connection per worker, the
        environment's proxy), or httpx's own transport for HTTP/2, a SOCKS proxy or
        ``network.http_transport: httpx``. Through aiohttp, JSON requests skip httpx's models
        (:mod:`ztoq.http.direct`).
        """
        network = network or NetworkConfig()
        verify = not network.insecure
        own: AiohttpTransport | None = None
        if transport is None and network.http_transport == "aiohttp":
            # aiohttp's transport (see ztoq.http.transport), one connection per worker.
            transport = transport_for(base_url, verify=verify, max_connections=max_workers, http2=http2)
            own = transport if isinstance(transport, AiohttpTransport) else None
        client = httpx.AsyncClient(
            transport=transport,
            verify=verify,
            timeout=httpx.Timeout(network.timeout),
            http2=http2 and transport is None,
            headers=_DEFAULT_HEADERS,
            follow_redirects=False,
        )
        policy = RetryPolicy(
            retry_count=network.retry_count if retry_count is None else retry_count,
            base_delay=network.retry_delay,
            budget_seconds=network.retry_budget_seconds,
        )
        return cls(
            client,
            api_name=api_name,
            base_url=base_url,
            auth=auth,
            max_workers=max_workers,
            requests_per_second=requests_per_second,
            retry=policy,
            on_event=on_event,
            owns_client=True,
            direct=None if own is None else DirectSender(own, client, base_url),
        )

    def __repr__(self) -> str:
        return f"ApiSession(api={self.api_name!r}, base_url={safe_path(self.base_url)!r})"

    async def aclose(self) -> None:
        """Close the httpx client if this session created it."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> ApiSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def snapshot(self) -> dict[str, Any]:
        """The session's counters as a JSON-ready dict (requests, statuses, retries, waits, bytes)."""
        paced = self._bucket.rate if not self._bucket.unlimited else None
        return {"api": self.api_name, **self.stats.snapshot(), "paced_requests_per_second": paced}

    # -- the request loop ---------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        content: bytes | StreamedBody | None = None,
        headers: Mapping[str, str] | None = None,
        retry_unsafe: bool | None = None,
        authenticate: bool = True,
        consume: Consume | None = None,
        max_attempts: int | None = None,
    ) -> httpx.Response:
        """Send one request, retrying what is retriable; return the successful (2xx) answer.

        Args:
            method: HTTP method.
            path: Path relative to the base URL, e.g. ``/testcases``.
            params: Query parameters; None values are left out.
            json: JSON body.
            data: Form body.
            content: Raw body: bytes, or a :class:`StreamedBody` re-opened for every attempt
                and sent with its ``Content-Length`` (never held whole in memory).
            headers: Extra headers.
            retry_unsafe: Whether a failure that may have been processed (a 5xx, a dropped
                connection, a read timeout) may be resent. Defaults to True for
                idempotent methods (GET, PUT, DELETE, ...) and False for POST and PATCH:
                a create is then resent only on 429 or a connection that never opened,
                and otherwise the error is raised for the caller to reconcile.
            authenticate: Send the ``Authorization`` header (False for the login request itself).
            consume: Stream the answer instead of reading it: a successful answer is opened as a
                stream and handed to ``consume``, which reads ``response.aiter_bytes()``. When
                the connection drops while it reads, the request is retried like any other and
                ``consume`` is called again from the start (it must reset its sink). The answer
                returned is then closed: its status and headers can be read, not its body.
            max_attempts: At most this many attempts (1: never retry, e.g. to probe an operation
                a server may not have); None leaves the retry policy alone.

        Raises:
            FatalApiError: At once, for a 4xx other than 429 (after one re-authentication
                for a 401 when a ``reauthenticate`` hook is set); ``PayloadTooLarge`` for a 413.
            RetriableApiError: When retries, the retry budget or ``max_attempts`` are
                exhausted; the message says how many attempts were made over how long.
            ApiError: When the request cannot be built or sent at all (e.g. a bad base URL).
        """
        call = new_call(
            method, path, self._url(path), params, json=json, data=data, content=content, headers=headers,
            retry_unsafe=retry_unsafe, authenticate=authenticate, consume=consume, max_attempts=max_attempts,
        )  # fmt: skip
        direct = consume is not None and json is None and data is None and content is None
        url = self._direct.url_for(path, call.query) if direct and self._direct is not None else None
        if url is not None:
            # A download: sent past httpx's request model, its answer streamed as an httpx answer.
            return await self._run(call, functools.partial(self._stream_direct, url=url))
        return await self._run(call, self._send_once)

    async def send_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | StreamedBody | None = None,
        headers: Mapping[str, str] | None = None,
        retry_unsafe: bool | None = None,
        max_attempts: int | None = None,
    ) -> Any:
        """Send one request as :meth:`request` does and return its decoded JSON answer.

        Through the session's own aiohttp transport it skips httpx's models (:mod:`ztoq.http.direct`);
        otherwise, or for a path httpx would rewrite, it goes through :meth:`request`.
        """
        call = new_call(
            method, path, self._url(path), params, json=json, content=content, headers=headers,
            retry_unsafe=retry_unsafe, max_attempts=max_attempts,
        )  # fmt: skip
        url = None if self._direct is None else self._direct.url_for(path, call.query)
        if url is None:
            return self.decode(await self._run(call, self._send_once))
        body = content if isinstance(content, bytes) else None
        if json is not None and content is None:
            try:
                body = encode_json(json)
            except ValueError as exc:  # NaN or infinity, as httpx refuses them
                raise unusable(self.api_name, self.base_url, call.method, call.url, exc) from exc
        reply = await self._run(call, functools.partial(self._send_direct, url=url, body=body))
        return decode_body(self.api_name, self.base_url, reply, reply.method, reply.url, reply.secret)

    async def _run(
        self, call: Call, send: Callable[[Call, int], Awaitable[tuple[_A, str | None, float]]]
    ) -> _A:
        """Send ``call`` with ``send`` until it succeeds, retrying what is retriable (see :meth:`request`)."""
        method, path, authenticate = call.method, call.path, call.authenticate
        started = self._clock()
        attempt = retries = 0
        reauthenticated = False
        while True:
            attempt += 1
            generation = self._auth_generation
            retry_after: float | None = None
            sent_at: float | None = None
            try:
                response, secret, sent_at = await send(call, attempt)
            except NetworkError as exc:
                error: ApiError = exc
            else:
                headers = response.headers
                if "x-ratelimit-fillrate" in headers:  # Jira Data Center states its quota
                    self._quota.advertised(
                        headers.get("x-ratelimit-fillrate"), headers.get("x-ratelimit-interval-seconds")
                    )
                if response.status_code != 429:
                    # Accepted by the quota, whatever the answer: a learner counting only the 2xx
                    # took a listing of mostly 404s (steps without files) for a quota of a tenth.
                    self._quota.success(sent_at=sent_at)
                if response.is_success:
                    return response
                retry_after = parse_retry_after(headers.get("retry-after"), self._wall_clock)
                error = status_error(self.api_name, response, method, call.url, secret, retry_after)
            can_renew = authenticate and self.reauthenticate is not None and not reauthenticated
            if isinstance(error, AuthenticationFailed) and can_renew:
                reauthenticated = True
                await self._renew_credentials(generation, method, path)
                continue
            if not isinstance(error, RetriableApiError):
                raise error
            delay = self._plan_retry(error, call, attempt, retries, started, retry_after)
            retries += 1
            self.stats.add("retries")
            if isinstance(error, RateLimited):
                # The quota is shared by every worker: pause them all, let this request wait at
                # the gate with the others, and pace everyone just under the quota afterwards.
                self._gate.pause_for(delay)
                self._quota.limited(sent_at=sent_at)
                self._emit("rate_limited", method, path, status=429, attempt=attempt, delay=delay)
            else:
                self._emit("retry", method, path, status=error.status, attempt=attempt, delay=delay)
                await self._sleep(delay)

    async def _send_direct(
        self, call: Call, attempt: int, *, url: str, body: bytes | None
    ) -> tuple[Reply, str | None, float]:
        """One attempt on the fast path, its answer read whole; as :meth:`_send_once` otherwise.

        ``body`` is the JSON or raw bytes to send, else the call's :class:`StreamedBody` is opened.
        """
        assert self._direct is not None
        method, path = call.method, call.path
        async with self._workers:
            await self._wait_turn(method, path, attempt)
            secret = await self._authorization() if call.authenticate else None
            headers = call.headers
            payload: bytes | AsyncIterator[bytes] | None = body
            if isinstance(call.content, StreamedBody):
                headers = dict(call.headers or {})
                payload, _ = outgoing(call.content, headers, self.api_name, method, call.url)
                sent = call.content.length
            else:
                sent = 0 if body is None else len(body)
            self.stats.request(method, sent)
            self._emit("request", method, path, attempt=attempt)
            sent_at = self._clock()
            try:
                reply = await self._direct.send(
                    method, url, payload, secret, headers=headers, json_body=call.json is not None
                )
            except _TRANSIENT_ERRORS as exc:
                raise self._network_failure(method, path, call.url, attempt, exc) from exc
            except httpx.HTTPError as exc:
                raise unusable(self.api_name, self.base_url, method, call.url, exc) from exc
        self._answered(call, reply, attempt, complete=True)
        return reply, secret, sent_at

    async def _stream_direct(
        self, call: Call, attempt: int, *, url: str
    ) -> tuple[httpx.Response, str | None, float]:
        """One attempt of a download on the fast path: the answer handed to ``call.consume``."""
        assert self._direct is not None
        method, path = call.method, call.path
        async with self._workers:
            await self._wait_turn(method, path, attempt)
            secret = await self._authorization() if call.authenticate else None
            self.stats.request(method, 0)
            self._emit("request", method, path, attempt=attempt)
            sent_at = self._clock()
            try:
                response = await self._direct.stream(method, url, secret, headers=call.headers)
            except _TRANSIENT_ERRORS as exc:
                raise self._network_failure(method, path, call.url, attempt, exc) from exc
            except httpx.HTTPError as exc:
                raise unusable(self.api_name, self.base_url, method, call.url, exc) from exc
            await self._stream_answer(call, response, attempt)
        return response, secret, sent_at

    async def _send_once(self, call: Call, attempt: int) -> tuple[httpx.Response, str | None, float]:
        """One attempt: slot, pause gate, throttle, send. Returns the answer (read, or consumed and
        closed), the secret sent and when the request left (session clock)."""
        method, path, url = call.method, call.path, call.url
        async with self._workers:
            await self._wait_turn(method, path, attempt)
            request_headers = {**_DEFAULT_HEADERS, **(call.headers or {})}
            secret = await self._authorization() if call.authenticate else None
            if secret:
                request_headers["Authorization"] = secret
            body, length = outgoing(call.content, request_headers, self.api_name, method, url)
            try:
                request = build_request(
                    self._client, method, url, call.query, json=call.json, data=call.data, content=body,
                    headers=request_headers, plain=self._plain_client,
                )  # fmt: skip
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                raise unusable(self.api_name, self.base_url, method, url, exc) from exc
            self.stats.request(method, len(request.content) if length is None else length)
            self._emit("request", method, path, attempt=attempt)
            sent_at = self._clock()
            try:
                response = await self._client.send(request, stream=call.consume is not None)
            except _TRANSIENT_ERRORS as exc:
                raise self._network_failure(method, path, url, attempt, exc) from exc
            except httpx.HTTPError as exc:
                raise unusable(self.api_name, self.base_url, method, url, exc) from exc
            if call.consume is not None:
                await self._stream_answer(call, response, attempt)
                return response, secret, sent_at
        self._answered(call, response, attempt, complete=True)
        return response, secret, sent_at

    async def _stream_answer(self, call: Call, response: httpx.Response, attempt: int) -> None:
        """Hand a successful streamed answer to its consumer (read an error's small body), then close it."""
        try:
            if response.is_success and call.consume is not None:
                await call.consume(response)
            else:
                await response.aread()
            # httpx closes an answer once it has been read to its end: only then can it be short.
            complete = response.is_closed
        except _TRANSIENT_ERRORS as exc:
            self._count(call, response, attempt)  # what was received before the drop
            raise self._network_failure(call.method, call.path, call.url, attempt, exc) from exc
        finally:
            await response.aclose()
        self._answered(call, response, attempt, complete=complete)

    def _answered(
        self, call: Call, response: httpx.Response | Reply, attempt: int, *, complete: bool
    ) -> None:
        """Count an answer, and treat one read to its end but short of its Content-Length as dropped."""
        received = self._count(call, response, attempt)
        shortfall = truncated(call.method, response, received) if complete else None
        if shortfall is not None:
            failure = IncompleteResponse(shortfall)
            raise self._network_failure(call.method, call.path, call.url, attempt, failure)
        if self.after_response is not None:
            streamed = call.consume is not None and response.is_success
            body = b"" if streamed else response.content
            self.after_response(call.method, call.path, response.status_code, body)

    def _count(self, call: Call, response: httpx.Response | Reply, attempt: int) -> int:
        """Count an answer and the bytes received of it; returns those bytes."""
        received = (
            max(response.received, len(response.content))
            if isinstance(response, Reply)
            else held_bytes(response)
        )
        self.stats.response(response.status_code, received)
        self._emit("response", call.method, call.path, status=response.status_code, attempt=attempt)
        return received

    async def _wait_turn(self, method: str, path: str, attempt: int) -> None:
        """Wait out a 429 pause and the client-side throttle, re-checking the pause after both."""
        if self._bucket.unlimited and self._gate.remaining() <= 0:
            return  # neither paced nor paused: no wait to await
        while True:
            paused = await self._gate.wait()
            self.stats.waited("rate_limit", paused)
            throttled = await self._bucket.acquire()
            if throttled > 0:
                self.stats.waited("throttle", throttled)
                self._emit("throttled", method, path, attempt=attempt, delay=throttled)
            if self._gate.remaining() <= 0:
                return

    async def _authorization(self) -> str | None:
        if self.auth is None:
            return None
        value = self.auth()
        if inspect.isawaitable(value):
            result = await value
            return None if result is None else str(result)
        return value

    async def _renew_credentials(self, generation: int, method: str, path: str) -> None:
        # Workers hit by the same expired token queue here; only the first renews, the others
        # see the generation moved on and simply resend with the new credentials.
        async with self._auth_lock:
            if self._auth_generation != generation or self.reauthenticate is None:
                return
            await self.reauthenticate()
            self._auth_generation += 1
        self.stats.add("reauthentications")
        self._emit("reauthenticated", method, path, status=401)

    def _plan_retry(
        self,
        error: RetriableApiError,
        call: Call,
        attempt: int,
        retries: int,
        started: float,
        retry_after: float | None,
    ) -> float:
        """The delay before the next attempt; raises the final error when giving up."""
        elapsed = self._clock() - started
        plan = plan_retry(
            self.retry,
            error,
            retries=retries,
            elapsed=elapsed,
            may_resend=call.may_resend,
            retry_after=retry_after,
            draw=self._jitter(),
            max_attempts=call.max_attempts,
        )
        if isinstance(plan, float | int):
            return float(plan)
        final = exhausted(error, attempt, elapsed, plan)
        self.stats.add("gave_up")
        message = str(final)
        self._emit("gave_up", call.method, call.path, status=error.status, attempt=attempt, message=message)
        raise final from error

    # -- building errors ----------------------------------------------------------------------

    def _network_failure(
        self, method: str, path: str, url: str, attempt: int, exc: BaseException
    ) -> NetworkError:
        self.stats.add("network_errors")
        self._emit("network_error", method, path, attempt=attempt, message=type(exc).__name__)
        error = network_error(self.api_name, method, url, exc)
        error.__cause__ = exc
        return error

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _emit(
        self,
        kind: EventKind,
        method: str,
        path: str,
        *,
        status: int | None = None,
        attempt: int = 1,
        delay: float = 0.0,
        message: str = "",
    ) -> None:
        if self.on_event is not None:
            self.on_event(
                SessionEvent(kind, self.api_name, method, path.split("?")[0], status, attempt, delay, message)
            )
