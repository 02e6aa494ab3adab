"""The session's fast path (ztoq.http.direct), on real sockets: the same wire, errors, retries,
429 pauses, cookies and counters as the requests httpx builds."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ztoq.config import NetworkConfig
from ztoq.errors import FatalApiError, NetworkError, NotFound, RateLimited, ServerError
from ztoq.http import ApiSession, SessionEvent
from ztoq.http.direct import DirectSender, query_string
from ztoq.serving import serve_in_thread

TOKEN = "tok-SECRET-1a2b3c4d5e"
ECHOED = ("accept", "accept-encoding", "authorization", "connection", "content-length", "content-type")


class Script:
    """Answers the server gives on ``/scripted``, in turn (then 200 ``{"ok": true}``)."""

    def __init__(self) -> None:
        self.answers: list[Response] = []
        self.seen = 0


SCRIPT = Script()


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    headers = {name: ", ".join(request.headers.getlist(name)) for name in ECHOED if name in request.headers}
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": headers,
            "cookie": request.headers.get("cookie"),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
    )


async def scripted(request: Request) -> Response:
    SCRIPT.seen += 1
    return SCRIPT.answers.pop(0) if SCRIPT.answers else JSONResponse({"ok": True})


async def biscuit(request: Request) -> Response:
    response = JSONResponse({"set": True})
    response.set_cookie("sticky", "node-7", path="/")
    return response


async def packed(request: Request) -> Response:
    body = gzip.compress(json.dumps({"items": list(range(500))}).encode())
    return Response(body, media_type="application/json", headers={"Content-Encoding": "gzip"})


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/api/scripted", scripted, methods=["GET", "POST"]),
            Route("/api/cookie", biscuit),
            Route("/api/packed", packed),
            Route("/api/{rest:path}", echo, methods=["GET", "POST", "PUT", "DELETE"]),
        ]
    )
    with serve_in_thread(app) as url:
        yield f"{url}/api"


@pytest.fixture
def script() -> Iterator[Script]:
    SCRIPT.answers, SCRIPT.seen = [], 0
    yield SCRIPT
    SCRIPT.answers, SCRIPT.seen = [], 0


def session_on(base_url: str, *, wire: str = "aiohttp", retries: int = 2, **kwargs: Any) -> ApiSession:
    network = NetworkConfig(timeout=10.0, retry_count=retries, retry_delay=0.0, http_transport=wire)  # type: ignore[arg-type]
    return ApiSession.create(
        api_name="qTest", base_url=base_url, network=network, auth=lambda: f"Bearer {TOKEN}", **kwargs
    )


def run(session: ApiSession, call: Callable[[ApiSession], Any]) -> Any:
    async def main() -> Any:
        async with session:
            return await call(session)

    return asyncio.run(main())


def no_httpx_send(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make httpx's client fail if it is asked to send: the fast path must not need it."""

    async def refuse(*args: Any, **kwargs: Any) -> httpx.Response:
        raise AssertionError("httpx.AsyncClient.send was called")

    monkeypatch.setattr(httpx.AsyncClient, "send", refuse)


async def every_kind(session: ApiSession) -> list[Any]:
    return [
        await session.get_json(
            "/items/7", {"q": "a b&c/é", "page": 2, "flag": True, "ids": [1, 2], "none": None}
        ),
        await session.post_json("/items", {"name": "café", "n": 1.5, "tags": ["x"]}),
        await session.post_json("/items/empty"),
        await session.put_json("/items/7", {"name": "b"}, {"parentId": 3}),
        await session.delete("/items/7"),
    ]


def test_json_requests_skip_httpx_and_send_what_httpx_sends(
    api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = session_on(api)
    models._direct = None  # httpx's request and answer models over the same aiohttp transport
    through_httpx = run(models, every_kind)
    no_httpx_send(monkeypatch)
    session = session_on(api)
    assert session._direct is not None
    assert run(session, every_kind) == through_httpx
    assert through_httpx[2]["headers"]["content-length"] == "0"  # a POST without a body
    assert through_httpx[0]["query"] == "q=a+b%26c%2F%C3%A9&page=2&flag=true&ids=1&ids=2"


def test_paths_httpx_would_rewrite_go_through_httpx(api: str) -> None:
    session = session_on(api)
    assert session._direct is not None
    for path in ("/a b/é", "/x/../items", "/items?a=1", "/items#frag", "/bad%zz"):
        assert session._direct.url_for(path, {}) is None
    assert session._direct.url_for("/items/PROJ-T1%2F2/[x]", {"a": 1}) == f"{api}/items/PROJ-T1%2F2/[x]?a=1"
    answer = run(session, lambda s: s.get_json("/a b/é"))
    assert answer["path"] == "/api/a b/é"


@pytest.mark.parametrize(
    "query",
    [{"a": 1, "b": "x y"}, {"flag": False, "n": None, "many": (1, "two")}, {"ünï": "ç&=+/?", "e": ""}],
)
def test_query_strings_are_written_as_httpx_writes_them(query: dict[str, Any]) -> None:
    assert query_string(query) == str(httpx.QueryParams(query))


def test_the_httpx_setting_and_given_transports_keep_httpx(api: str) -> None:
    assert session_on(api, wire="httpx")._direct is None
    mocked = httpx.MockTransport(lambda request: httpx.Response(200))
    assert session_on(api, transport=mocked)._direct is None


def test_errors_are_mapped_and_never_show_the_token(api: str, script: Script) -> None:
    body = {"message": f"No such item for Bearer {TOKEN}."}
    script.answers = [JSONResponse(body, status_code=404)]
    with pytest.raises(NotFound, match="No such item") as missing:
        run(session_on(api), lambda s: s.get_json("/scripted"))
    script.answers = [Response(f"<html>login {TOKEN}</html>", media_type="text/html")]
    with pytest.raises(FatalApiError, match="non-JSON content") as page:
        run(session_on(api), lambda s: s.get_json("/scripted"))
    for error in (missing.value, page.value):
        assert TOKEN not in str(error)
        assert "***" in str(error)


def test_reads_are_retried_and_a_create_that_met_a_500_is_not(api: str, script: Script) -> None:
    script.answers = [JSONResponse({"message": "busy"}, status_code=503)] * 2
    session = session_on(api)
    assert run(session, lambda s: s.get_json("/scripted")) == {"ok": True}
    snapshot = session.snapshot()
    assert (snapshot["retries"], snapshot["responses_by_class"]) == (2, {"2xx": 1, "5xx": 2})

    script.answers, script.seen = [JSONResponse({"message": "oops"}, status_code=500)], 0
    with pytest.raises(ServerError, match="may have been processed"):
        run(session_on(api), lambda s: s.post_json("/scripted", {"a": 1}))
    assert script.seen == 1


def test_a_429_pauses_then_resends_even_a_create(api: str, script: Script) -> None:
    script.answers = [
        JSONResponse({"message": "slow down"}, status_code=429, headers={"Retry-After": "0.05"})
    ]
    events: list[SessionEvent] = []
    session = session_on(api, on_event=events.append)
    assert run(session, lambda s: s.post_json("/scripted", {"a": 1})) == {"ok": True}
    assert script.seen == 2
    limited = [event for event in events if event.kind == "rate_limited"]
    assert [(event.status, event.delay) for event in limited] == [(429, 0.05)]
    snapshot = session.snapshot()
    assert (snapshot["retries"], snapshot["rate_limit_waits"]) == (1, 1)

    script.answers = [JSONResponse({}, status_code=429, headers={"Retry-After": "0"})] * 3
    with pytest.raises(RateLimited, match="Gave up after 3 attempts"):
        run(session_on(api), lambda s: s.get_json("/scripted"))


def test_counters_count_what_httpx_counted(api: str) -> None:
    body = {"name": "café"}

    async def calls(session: ApiSession) -> Any:
        await session.post_json("/items", body)
        return await session.get_json("/packed")  # gzip: counted as the larger of packed/unpacked

    snapshots = []
    for wire in ("httpx", "aiohttp"):
        session = session_on(api, wire=wire)
        assert run(session, calls) == {"items": list(range(500))}
        snapshots.append(session.snapshot())
    assert snapshots[0] == snapshots[1]
    assert snapshots[1]["requests_by_method"] == {"GET": 1, "POST": 1}
    assert snapshots[1]["bytes_sent"] == len(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    )


def test_cookies_an_answer_sets_are_sent_back(api: str) -> None:
    async def calls(session: ApiSession) -> Any:
        await session.get_json("/cookie")
        return await session.get_json("/items")

    assert run(session_on(api), calls)["cookie"] == "sticky=node-7"


def test_a_dropped_connection_is_a_network_error_with_the_httpx_cause() -> None:
    sender_session = session_on("http://127.0.0.1:9")  # discard port: nothing listens
    assert isinstance(sender_session._direct, DirectSender)
    with pytest.raises(NetworkError) as info:
        run(sender_session, lambda s: s.get_json("/items"))
    causes = []
    cause = info.value.__cause__
    while cause is not None:
        causes.append(cause)
        cause = cause.__cause__
    assert any(isinstance(cause, httpx.ConnectError) for cause in causes)
    assert info.value.status is None


def test_downloads_and_uploads_skip_httpx_with_their_own_headers(
    api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_httpx_send(monkeypatch)
    received = bytearray()

    async def sink(response: httpx.Response) -> None:
        received.clear()
        async for chunk in response.aiter_bytes():
            received.extend(chunk)

    async def calls(session: ApiSession) -> Any:
        await session.download("/files/1", sink, headers={"accept-encoding": "identity"})
        return await session.post_bytes("/files", b"\x89PNG", {"Content-Type": "image/png"})

    session = session_on(api)
    uploaded = run(session, calls)
    downloaded = json.loads(received)
    assert (downloaded["method"], downloaded["headers"]["accept-encoding"]) == ("GET", "identity")
    assert uploaded["headers"]["content-type"] == "image/png"
    assert uploaded["sha256"] == hashlib.sha256(b"\x89PNG").hexdigest()
    assert session.snapshot()["bytes_sent"] == 4
