"""The HTTP/1.1 transport of :class:`~ztoq.http.session.ApiSession`: httpx's API over aiohttp.

A migration sends hundreds of thousands of small requests, and the client's CPU per request bounds
how fast it can go once the APIs answer quickly. Through httpx's own transport (httpcore and h11,
pure Python) a small JSON request cost the session about 1.7 ms of CPU; through aiohttp, whose HTTP
parser, headers and URLs are compiled, about 0.65 ms (``scripts/bench_http.py``). So the session keeps
httpx's API (requests, answers, errors, ``httpx.MockTransport`` in tests) and hands the wire to
:class:`AiohttpTransport` (whose :meth:`~AiohttpTransport.open` also serves the JSON requests that
:mod:`ztoq.http.direct` sends without httpx's models), which:

- sends the request as httpx built it (headers, body, the timeouts of its ``timeout`` extension)
  and returns an ``httpx.Response`` streaming the answer's raw bytes (httpx decodes them);
- raises the httpx exception httpcore would raise for the same failure, so the retry decisions
  (:mod:`ztoq.http.retry`) are unchanged: only a connection that never opened (refused, DNS,
  connect or pool timeout) is an ``httpx.ConnectError``/``ConnectTimeout`` (a create may then be
  resent); a dropped connection is a ``ReadError`` or ``RemoteProtocolError``;
- times writes out like httpx (``timeout.write`` without progress of a body ending in a
  ``httpx.WriteTimeout``): aiohttp has no write timeout of its own;
- lets an exception raised by a streamed body's source (a file that changed) through unchanged;
- goes through the environment's HTTP(S) proxy, as httpx does (``HTTPS_PROXY``, ``NO_PROXY``...:
  see :func:`environment_proxy`), and verifies certificates with httpx's SSL context;
- leaves cookies to httpx (the session's ``httpx.AsyncClient`` keeps them and sends them back).
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import ssl
import urllib.request
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence

import aiohttp
import httpx
from aiohttp.client_reqrep import ClientRequest
from aiohttp.connector import Connection
from aiohttp.tracing import Trace
from yarl import URL

#: Bodies up to this size go to aiohttp whole; larger ones in chunks, so the write timeout applies.
_WHOLE_BODY = 64 * 1024
#: The longest status line or header of an answer accepted (h11 accepts heads of 16 KiB).
_HEAD_LIMIT = 64 * 1024
#: Keep-alive connections idle this long are closed (httpx's default ``keepalive_expiry``).
_KEEPALIVE_SECONDS = 5.0

#: aiohttp failures and the httpx exception httpcore raises for each, most specific first.
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ClientHttpProxyError, httpx.ProxyError),  # the proxy refused the tunnel
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),  # connecting, or waiting for the pool
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # DNS, refused, TLS: nothing was sent
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (TimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),  # the body was cut short
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # not an HTTP/1.1 answer
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientOSError, httpx.ReadError),  # reset, broken pipe
    (aiohttp.ClientError, httpx.ReadError),
)


def httpx_error(exc: BaseException) -> httpx.TransportError | None:
    """The httpx exception standing for an aiohttp failure (None when ``exc`` is not one)."""
    for raised, error in _ERRORS:
        if isinstance(exc, raised):
            return error(str(exc) or type(exc).__name__)
    return None


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url``, as httpx reads it (``trust_env``).

    ``HTTP_PROXY``/``HTTPS_PROXY`` by the URL's scheme, else ``ALL_PROXY``; none when ``NO_PROXY``
    covers the host (``*``, the host, or a domain it is in). A proxy without a scheme is an
    ``http://`` one, as for httpx.
    """
    target = httpx.URL(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(target.scheme) or proxies.get("all")
    if not proxy:
        return None
    host = target.host.lower()
    for entry in (item.strip().lower() for item in proxies.get("no", "").split(",")):
        if entry == "*":
            return None
        name = entry.split("://", 1)[-1].lstrip(".").rstrip("/")
        if name and (host == name or host.endswith("." + name)):
            return None
    return proxy if "://" in proxy else f"http://{proxy}"


def supported_proxy(proxy: str | None) -> bool:
    """True when aiohttp can go through ``proxy``: none, or an HTTP(S) one (not SOCKS)."""
    return proxy is None or httpx.URL(proxy).scheme in ("http", "https")


def client_timeout(timeouts: Mapping[str, float | None]) -> aiohttp.ClientTimeout:
    """aiohttp's timeouts for httpx's (``connect``, ``read``, ``pool``; ``write`` is kept apart).

    Waiting for a pooled connection and connecting are one timeout in aiohttp: their sum.
    """
    connect, pool = timeouts.get("connect"), timeouts.get("pool")
    return aiohttp.ClientTimeout(
        total=None,
        connect=None if connect is None or pool is None else connect + pool,
        sock_connect=connect,
        sock_read=timeouts.get("read"),
    )


class _Answer(httpx.AsyncByteStream):
    """An aiohttp answer's raw bytes, as httpx reads a stream; closing it frees the connection."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise httpx_error(exc) or httpx.ReadError(str(exc)) from exc

    async def aclose(self) -> None:
        # Back to the pool when read to its end, else the connection is closed.
        self._response.release()


def answer_stream(response: aiohttp.ClientResponse, request: httpx.Request | None = None) -> httpx.Response:
    """An aiohttp answer as an ``httpx.Response`` streaming its raw bytes (httpx decodes them)."""
    return httpx.Response(
        response.status,
        headers=response.raw_headers,
        stream=_Answer(response),
        request=request,
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
    )


class _Upload:
    """A request body handed to aiohttp chunk by chunk, under a write timeout.

    ``deadline`` is moved ``write`` seconds ahead every time aiohttp takes a chunk (so a slow but
    moving upload never times out) and lifted once the body is sent; an exception of the body's
    source is kept in ``failure``, since aiohttp would report it as a lost connection.
    """

    def __init__(self, body: AsyncIterable[bytes] | bytes, deadline: asyncio.Timeout, write: float | None):
        self.body = body
        self.deadline = deadline
        self.write = write
        self.failure: BaseException | None = None
        #: False once the answer came (aiohttp may still be sending the body): nothing left to time.
        self.awaited = True

    def _push(self) -> None:
        if self.write is not None and self.awaited:
            self.deadline.reschedule(asyncio.get_running_loop().time() + self.write)

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            if isinstance(self.body, bytes):
                view = memoryview(self.body)
                for start in range(0, len(view), _WHOLE_BODY):
                    self._push()
                    yield bytes(view[start : start + _WHOLE_BODY])
            else:
                async for chunk in self.body:
                    self._push()
                    yield chunk
        except Exception as exc:
            self.failure = exc
            raise
        if self.awaited:
            self.deadline.reschedule(None)


#: The socket of the request the current task sends (set when aiohttp hands it a connection).
_CONNECTION: contextvars.ContextVar[asyncio.BaseTransport | None] = contextvars.ContextVar(
    "ztoq_http_connection", default=None
)


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connection pool, noting which socket each request goes out on (see ``_CONNECTION``)."""

    async def connect(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> Connection:
        connection = await super().connect(req, traces, timeout)
        _CONNECTION.set(connection.transport)
        return connection


def _abort_connection() -> None:
    """Drop the current request's socket at once, with whatever it still had to send."""
    transport = _CONNECTION.get()
    if transport is not None:
        transport.abort()  # type: ignore[attr-defined]  # a socket transport


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests with aiohttp (HTTP/1.1, keep-alive pool, optional HTTP(S) proxy)."""

    def __init__(self, *, verify: bool = True, max_connections: int = 100, proxy: str | None = None) -> None:
        """Create the transport; its aiohttp session is opened on the first request (event loop).

        Args:
            verify: Verify TLS certificates (httpx's default context: certifi, or ``SSL_CERT_FILE``).
            max_connections: At most this many connections open at once (others wait for one).
            proxy: An ``http://`` or ``https://`` proxy URL, credentials included if any.
        """
        if not supported_proxy(proxy):
            raise ValueError("only HTTP(S) proxies are supported by this transport")
        self._ssl: ssl.SSLContext = httpx.create_ssl_context(verify=verify)
        self._max_connections = max(1, max_connections)
        self._proxy = URL(proxy) if proxy else None
        # Credentials in the proxy's URL go in a Proxy-Authorization header (aiohttp moves an
        # Authorization header of the proxy's there), encoded as httpx encodes them.
        self._proxy_headers: dict[str, str] | None = None
        if self._proxy is not None and self._proxy.user is not None:
            pair = f"{self._proxy.user}:{self._proxy.password or ''}".encode()
            self._proxy_headers = {"Authorization": f"Basic {base64.b64encode(pair).decode('ascii')}"}
            self._proxy = self._proxy.with_user(None)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = _Connector(
                limit=self._max_connections,
                limit_per_host=0,
                keepalive_timeout=_KEEPALIVE_SECONDS,
                ssl=self._ssl,
                resolver=aiohttp.ThreadedResolver(),  # the system's resolver, as httpx (not aiodns)
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
                auto_decompress=False,  # httpx decodes, and counts the bytes received
                trust_env=False,  # the proxy is resolved once, like httpx (environment_proxy)
                skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
                # h11 takes answer heads up to 16 KiB; aiohttp's default stops a header at 8 KiB.
                max_line_size=_HEAD_LIMIT,
                max_field_size=_HEAD_LIMIT,
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; the answer's body is streamed (httpx reads or streams it)."""
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        try:
            content: httpx.AsyncByteStream | bytes = request.content
        except httpx.RequestNotRead:
            content = request.stream  # type: ignore[assignment]  # an async request's stream
        # As httpx wrote them (names' case kept); aiohttp chunks a body of unknown length itself.
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw
            if name.lower() != b"transfer-encoding"
        ]
        response = await self.open(
            request.method,
            URL(str(request.url), encoded=True),
            headers,
            content,
            client_timeout(timeouts),
            timeouts.get("write"),
            server_hostname=request.extensions.get("sni_hostname"),
        )
        return answer_stream(response, request)

    async def open(
        self,
        method: str,
        url: URL,
        headers: Sequence[tuple[str, str]],
        content: AsyncIterable[bytes] | bytes,
        limits: aiohttp.ClientTimeout,
        write: float | None,
        *,
        server_hostname: str | None = None,
    ) -> aiohttp.ClientResponse:
        """Send a request and return aiohttp's answer, its body still unread.

        ``headers`` are sent as given (with no ``Transfer-Encoding``); ``write`` is the write
        timeout of a body sent in chunks. Raises the httpx exception httpcore would raise.
        """
        if isinstance(content, bytes) and len(content) <= _WHOLE_BODY:
            # Sent whole, in one write: no write timeout to keep, nothing of a source to fail.
            try:
                return await self._client().request(
                    method, url, headers=headers, data=content or None, allow_redirects=False,
                    timeout=limits, proxy=self._proxy, proxy_headers=self._proxy_headers,
                    server_hostname=server_hostname,
                )  # fmt: skip
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise httpx_error(exc) or httpx.ReadError(str(exc)) from exc
        deadline = asyncio.timeout(None)
        upload = _Upload(content, deadline, write)
        try:
            async with deadline:
                return await self._client().request(
                    method, url, headers=headers, data=upload.chunks(), allow_redirects=False,
                    timeout=limits, proxy=self._proxy, proxy_headers=self._proxy_headers,
                    server_hostname=server_hostname,
                )  # fmt: skip
        except (TimeoutError, aiohttp.ClientError) as exc:
            if upload.failure is not None:
                raise upload.failure from None
            if deadline.expired():
                # aiohttp closes the connection gracefully, which would wait for the stuck bytes.
                _abort_connection()
                raise httpx.WriteTimeout("the request body could not be sent in time") from exc
            raise httpx_error(exc) or httpx.ReadError(str(exc)) from exc
        finally:
            upload.awaited = False

    async def aclose(self) -> None:
        """Close every connection."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def transport_for(
    base_url: str, *, verify: bool, max_connections: int, http2: bool
) -> httpx.AsyncBaseTransport | None:
    """The transport a session to ``base_url`` sends through: :class:`AiohttpTransport`, or None
    (httpx's own) where aiohttp cannot do what httpx would: HTTP/2, or a SOCKS proxy."""
    proxy = environment_proxy(base_url)
    if http2 or not supported_proxy(proxy):
        return None
    return AiohttpTransport(verify=verify, max_connections=max_connections, proxy=proxy)
