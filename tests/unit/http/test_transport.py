"""The aiohttp transport under ApiSession, on real sockets: what is sent, streamed, timed out and retried.

An API served by uvicorn answers the well-behaved requests; a raw socket server plays the broken
ones (an answer cut short, a dropped connection, a server that never reads) and a forward proxy.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ztoq import __version__
from ztoq.config import NetworkConfig
from ztoq.errors import ApiError, NetworkError, PayloadTooLarge
from ztoq.http import ApiSession, StreamedBody
from ztoq.http.streaming import build_request, plain_client
from ztoq.http.transport import AiohttpTransport, environment_proxy, httpx_error, transport_for
from ztoq.serving import serve_in_thread

MB = 1024 * 1024
TOKEN = "tok-SECRET-5e4d3c2b1a"


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": dict(request.headers),
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
    )


async def blob(request: Request) -> Response:
    return Response(bytes(range(256)) * (8 * 1024), media_type="application/octet-stream")


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    app = Starlette(
        routes=[Route("/api/blob", blob), Route("/api/{rest:path}", echo, methods=["GET", "POST"])]
    )
    with serve_in_thread(app) as url:
        yield f"{url}/api"


def session_on(base_url: str, *, retries: int = 0, timeout: float = 10.0) -> ApiSession:
    network = NetworkConfig(timeout=timeout, retry_count=retries, retry_delay=0.0)
    return ApiSession.create(
        api_name="qTest", base_url=base_url, network=network, max_workers=4, auth=lambda: f"Bearer {TOKEN}"
    )


def run(session: ApiSession, call: Callable[[ApiSession], Any]) -> Any:
    async def main() -> Any:
        async with session:
            return await call(session)

    return asyncio.run(main())


def test_json_requests_travel_as_httpx_builds_them(api: str) -> None:
    session = session_on(api)
    assert isinstance(session._client._transport, AiohttpTransport)

    async def calls(session: ApiSession) -> tuple[Any, Any]:
        found = await session.get_json("/items/7", {"q": "a b&c", "page": 2, "none": None})
        created = await session.post_json("/items", {"name": "café", "n": 1})
        return found, created

    found, created = run(session, calls)
    assert (found["method"], found["path"], found["query"]) == ("GET", "/api/items/7", "q=a+b%26c&page=2")
    headers = found["headers"]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["user-agent"] == f"ztoq/{__version__}"
    assert headers["accept"] == "application/json"
    body = json.dumps({"name": "café", "n": 1}, ensure_ascii=False, separators=(",", ":")).encode()
    assert created["headers"]["content-type"] == "application/json"
    assert (created["length"], created["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())


def test_streamed_uploads_keep_their_length_and_downloads_their_bytes(api: str) -> None:
    data = bytes(range(256)) * (12 * 1024)  # 3 MB

    async def source() -> AsyncIterator[bytes]:
        for start in range(0, len(data), MB):
            yield data[start : start + MB]

    received = bytearray()

    async def sink(response: httpx.Response) -> None:
        received.clear()
        async for chunk in response.aiter_bytes():
            received.extend(chunk)

    async def calls(session: ApiSession) -> tuple[Any, Any]:
        await session.download("/blob", sink)
        whole = await session.post_bytes("/upload", data[:200_000], {"Content-Type": "image/png"})
        return whole, await session.post_stream("/upload", StreamedBody(open=source, length=len(data)))

    whole, answer = run(session_on(api), calls)
    assert (whole["length"], whole["headers"]["content-type"]) == (200_000, "image/png")
    assert whole["sha256"] == hashlib.sha256(data[:200_000]).hexdigest()
    assert answer["length"] == len(data)
    assert answer["sha256"] == hashlib.sha256(data).hexdigest()
    assert answer["headers"]["content-length"] == str(len(data))
    assert "transfer-encoding" not in answer["headers"]
    assert bytes(received) == bytes(range(256)) * (8 * 1024)


def test_a_source_that_changed_size_fails_with_its_own_error(api: str) -> None:
    async def short() -> AsyncIterator[bytes]:
        yield b"abcdef"

    with pytest.raises(ApiError, match="declared as 100000 bytes but its source gave 6") as info:
        run(
            session_on(api, retries=3),
            lambda s: s.post_stream("/up", StreamedBody(open=short, length=100_000)),
        )
    assert not isinstance(info.value, NetworkError)


# -- broken servers ---------------------------------------------------------------------------------


def transport_error(error: BaseException) -> BaseException | None:
    """The httpx exception at the root of a session's error (given up: the last attempt's)."""
    cause = error.__cause__
    while cause is not None and not isinstance(cause, httpx.HTTPError):
        cause = cause.__cause__
    return cause


class RawServer:
    """Accepts connections on a port and hands each to ``behave(connection)`` in a thread."""

    def __init__(self, behave: Callable[[socket.socket], None]) -> None:
        self.behave = behave
        self.accepted = 0
        self.heads: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._closed = threading.Event()
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(None)
            self.accepted += 1
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            self.behave(connection)

    def head(self, connection: socket.socket) -> bytes:
        """Read a request's head (up to the blank line) and keep it."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
        self.heads.append(data.split(b"\r\n\r\n")[0])
        return data

    def close(self) -> None:
        self._closed.set()
        self._accepting.join(timeout=5)
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)


@pytest.fixture
def raw() -> Iterator[Callable[[Callable[[RawServer, socket.socket], None]], RawServer]]:
    servers: list[RawServer] = []

    def start(behave: Callable[[RawServer, socket.socket], None]) -> RawServer:
        server = RawServer(lambda connection: behave(server, connection))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def test_an_answer_cut_short_is_retried_for_a_read(raw: Any) -> None:
    def cut(server: RawServer, connection: socket.socket) -> None:
        server.head(connection)
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )

    server = raw(cut)
    with pytest.raises(NetworkError, match="Gave up after 3 attempts") as info:
        run(session_on(f"{server.url}/api", retries=2), lambda s: s.get_json("/items"))
    assert isinstance(transport_error(info.value), httpx.RemoteProtocolError)
    assert server.accepted == 3


def test_a_create_whose_connection_dropped_is_not_sent_again(raw: Any) -> None:
    def drop(server: RawServer, connection: socket.socket) -> None:
        server.head(connection)

    server = raw(drop)
    with pytest.raises(NetworkError, match="may have been processed") as info:
        run(session_on(f"{server.url}/api", retries=3), lambda s: s.post_json("/items", {"a": 1}))
    assert isinstance(transport_error(info.value), httpx.RemoteProtocolError)
    assert server.accepted == 1


def test_a_create_that_could_not_connect_is_sent_again() -> None:
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    with pytest.raises(NetworkError, match="Gave up after 3 attempts") as info:
        run(session_on(f"http://127.0.0.1:{port}", retries=2), lambda s: s.post_json("/items", {"a": 1}))
    cause = transport_error(info.value)
    assert isinstance(cause, httpx.ConnectError)
    assert isinstance(cause.__cause__, aiohttp.ClientConnectorError)


def test_a_silent_server_times_out_reading_and_one_that_never_reads_writing(raw: Any) -> None:
    released = threading.Event()

    def silent(server: RawServer, connection: socket.socket) -> None:
        released.wait(10)

    server = raw(silent)

    async def large() -> AsyncIterator[bytes]:
        for _ in range(256):  # far more than the socket buffers hold
            yield bytes(MB)

    try:
        with pytest.raises(NetworkError) as read:
            run(session_on(server.url, timeout=0.3), lambda s: s.get_json("/items"))
        with pytest.raises(NetworkError) as write:
            body = StreamedBody(open=large, length=256 * MB)
            run(session_on(server.url, timeout=0.3), lambda s: s.post_stream("/up", body))
    finally:
        released.set()
    assert isinstance(transport_error(read.value), httpx.ReadTimeout)
    assert isinstance(transport_error(write.value), httpx.WriteTimeout)


def test_an_answer_sent_before_the_upload_ended_is_the_answer(raw: Any) -> None:
    def refuse(server: RawServer, connection: socket.socket) -> None:
        server.head(connection)
        body = b'{"message": "The attachment is too large"}'
        head = f"HTTP/1.1 413 Payload Too Large\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        connection.sendall(head.encode() + body)
        while connection.recv(MB):  # a lingering close, as servers do: the answer is not reset away
            pass

    async def large() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield bytes(MB)

    server = raw(refuse)
    body = StreamedBody(open=large, length=64 * MB)
    with pytest.raises(PayloadTooLarge, match="The attachment is too large"):
        run(session_on(server.url, retries=2), lambda s: s.post_stream("/up", body, retry_unsafe=True))
    assert server.accepted == 1


def test_requests_go_through_the_environment_proxy(raw: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def proxy(server: RawServer, connection: socket.socket) -> None:
        server.head(connection)
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        )

    server = raw(proxy)
    address = server.url.removeprefix("http://")
    monkeypatch.setenv("HTTP_PROXY", f"http://user:pa%40ss@{address}")
    monkeypatch.setenv("NO_PROXY", "localhost")
    assert run(session_on("http://api.example.test/api"), lambda s: s.get_json("/items", {"a": 1})) == {}
    lines = server.heads[0].decode().split("\r\n")
    assert lines[0] == "GET http://api.example.test/api/items?a=1 HTTP/1.1"
    credentials = base64.b64encode(b"user:pa@ss").decode()
    assert f"Proxy-Authorization: Basic {credentials}" in lines


# -- pure decisions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError("cut"), httpx.RemoteProtocolError),
        (aiohttp.ConnectionTimeoutError("connect"), httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout),
        (aiohttp.ClientOSError(104, "reset"), httpx.ReadError),
        (aiohttp.InvalidURL("ftp://x"), httpx.UnsupportedProtocol),
    ],
)
def test_aiohttp_failures_become_the_httpx_errors_httpcore_raises(
    failure: BaseException, expected: type[Exception]
) -> None:
    assert type(httpx_error(failure)) is expected
    assert httpx_error(ValueError("not a transport failure")) is None


@pytest.mark.parametrize(
    ("environment", "url", "proxy"),
    [
        ({}, "https://x.qtestnet.com", None),
        ({"HTTPS_PROXY": "proxy.corp:3128"}, "https://x.qtestnet.com", "http://proxy.corp:3128"),
        ({"HTTPS_PROXY": "http://p:1"}, "http://x.qtestnet.com", None),
        ({"ALL_PROXY": "http://p:1"}, "http://x.qtestnet.com", "http://p:1"),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "qtestnet.com"}, "https://x.qtestnet.com", None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".qtestnet.com"}, "https://qtestnet.com", None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "testnet.com"}, "https://x.qtestnet.com", "http://p:1"),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, "https://x.qtestnet.com", None),
    ],
)
def test_the_environment_proxy(
    environment: dict[str, str], url: str, proxy: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert environment_proxy(url) == proxy


def test_httpx_keeps_what_aiohttp_cannot_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "socks5://p:1080")
    assert transport_for("https://x.qtestnet.com", verify=True, max_connections=8, http2=False) is None
    monkeypatch.delenv("HTTPS_PROXY")
    assert transport_for("https://x.qtestnet.com", verify=True, max_connections=8, http2=True) is None
    assert isinstance(
        transport_for("https://x.qtestnet.com", verify=False, max_connections=8, http2=False),
        AiohttpTransport,
    )


@pytest.mark.parametrize(
    ("method", "url", "query", "body"),
    [
        (
            "GET",
            "https://x.test/api/v3/projects/1/test-cases",
            {"page": 2, "size": 100, "expand": "teststep"},
            {},
        ),
        (
            "GET",
            "https://x.test/rest/atm/1.0/testcase/search",
            {"query": 'projectKey = "É Q"', "f": [1, 2]},
            {},
        ),
        ("GET", "https://x.test/api/items/7", {}, {}),
        ("POST", "https://x.test/api/items", {}, {"json": {"name": "café", "values": [1.5, None, True]}}),
        ("POST", "https://x.test/oauth/token", {"a": "b"}, {"data": {"grant_type": "password", "u": "a@b"}}),
        ("POST", "https://x.test/blob", {}, {"content": b"\x00\x01raw"}),
        ("GET", "https://x.test/api/items?fields=a", {"page": 1}, {}),
        ("GET", "https://x.test/api/items#top", {"page": 1}, {}),
    ],
)
def test_requests_are_built_as_httpx_builds_them(
    method: str, url: str, query: dict[str, Any], body: dict[str, Any]
) -> None:
    client = httpx.AsyncClient(headers={"Accept": "application/json"}, timeout=httpx.Timeout(7.0))
    client.cookies.set("JSESSIONID", "abc", domain="x.test")
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Extra": "1"}
    expected = client.build_request(method, url, params=query, headers=headers, **body)
    arguments = {"json": None, "data": None, "content": None, **body}
    built = build_request(
        client, method, url, query, headers=headers, plain=plain_client(client), **arguments
    )
    assert (built.method, built.url, built.content) == (expected.method, expected.url, expected.content)
    assert built.headers.raw == expected.headers.raw
    assert built.extensions == expected.extensions


def test_a_client_with_a_base_url_or_query_of_its_own_builds_through_httpx() -> None:
    assert plain_client(httpx.AsyncClient(headers={"Accept": "application/json"}))
    assert not plain_client(httpx.AsyncClient(base_url="https://x.test/api"))
    assert not plain_client(httpx.AsyncClient(params={"key": "1"}))


def test_network_http_transport_httpx_keeps_httpx_own_transport() -> None:
    chosen = {}
    for name in ("aiohttp", "httpx"):
        session = ApiSession.create(
            api_name="qTest", base_url="http://127.0.0.1:9", network=NetworkConfig(http_transport=name)
        )
        chosen[name] = isinstance(session._client._transport, AiohttpTransport)
        asyncio.run(session.aclose())
    assert chosen == {"aiohttp": True, "httpx": False}
