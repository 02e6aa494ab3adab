"""ApiSession: streamed downloads and uploads, 413, the attempt cap, and bounded memory (virtual time)."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import httpx
import pytest

from ztoq.errors import ApiError, NetworkError, NotFound, PayloadTooLarge, ServerError
from ztoq.http import ApiSession, RetryPolicy, StreamedBody

SessionFor = Callable[..., ApiSession]
MB = 1024 * 1024


class Chunks(httpx.AsyncByteStream):
    """An answer body sent chunk by chunk; the connection drops before chunk ``fail_at`` if set."""

    def __init__(self, chunks: Sequence[bytes], fail_at: int | None = None) -> None:
        self.chunks = chunks
        self.fail_at = fail_at

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index, chunk in enumerate(self.chunks):
            if index == self.fail_at:
                raise httpx.ReadError("connection reset mid-body")
            yield chunk


class Sink:
    """A consumer writing each chunk to a list, resetting it at every call as documented."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.calls = 0

    async def __call__(self, response: httpx.Response) -> None:
        self.calls += 1
        self.chunks = []
        async for chunk in response.aiter_bytes():
            self.chunks.append(chunk)


class Source:
    """A re-openable upload source counting how often it was opened."""

    def __init__(self, data: bytes, chunk: int = 4) -> None:
        self.data = data
        self.chunk = chunk
        self.opened = 0

    def body(self) -> StreamedBody:
        return StreamedBody(open=self.open, length=len(self.data))

    async def open(self) -> AsyncIterator[bytes]:
        self.opened += 1
        for start in range(0, len(self.data), self.chunk):
            yield self.data[start : start + self.chunk]


# -- downloads ------------------------------------------------------------------------------------


def test_download_hands_the_answer_chunk_by_chunk(session_for: SessionFor, vclock: Any) -> None:
    parts = [b"abcd", b"efgh", b"ij"]
    session = session_for(lambda request: httpx.Response(200, stream=Chunks(parts)))
    sink = Sink()
    response = vclock.run(session.download("/files/1", sink, {"forceDownload": True}))
    assert sink.chunks == parts
    assert response.status_code == 200
    assert response.is_closed
    snap = session.snapshot()
    assert snap["bytes_received"] == 10
    assert snap["responses_by_class"] == {"2xx": 1}


def test_download_is_retried_after_a_mid_stream_drop_and_the_consumer_restarts(
    session_for: SessionFor, vclock: Any
) -> None:
    parts = [b"abcd", b"efgh", b"ij"]
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, stream=Chunks(parts, fail_at=2 if len(calls) == 1 else None))

    session = session_for(handler)
    sink = Sink()
    vclock.run(session.download("/files/1", sink))
    assert (len(calls), sink.calls) == (2, 2)
    assert b"".join(sink.chunks) == b"abcdefghij"
    assert vclock.sleeps == [1.0]
    snap = session.snapshot()
    assert (snap["network_errors"], snap["retries"]) == (1, 1)
    assert snap["bytes_received"] == 8 + 10  # the bytes of the dropped attempt count too


def test_download_that_keeps_dropping_gives_up_as_a_network_error(
    session_for: SessionFor, vclock: Any
) -> None:
    session = session_for(
        lambda request: httpx.Response(200, stream=Chunks([b"ab", b"cd"], fail_at=1)),
        retry=RetryPolicy(retry_count=2, base_delay=1.0),
    )
    sink = Sink()
    with pytest.raises(NetworkError, match="Gave up after 3 attempts"):
        vclock.run(session.download("/files/1", sink))
    assert sink.calls == 3


@pytest.mark.parametrize(("status", "error"), [(404, NotFound), (500, ServerError)])
def test_download_error_answers_are_mapped_and_never_consumed(
    session_for: SessionFor, vclock: Any, status: int, error: type[ApiError]
) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(status, stream=Chunks([b'{"message": "no such ', b'attachment"}']))

    session = session_for(handler, retry=RetryPolicy(retry_count=1, base_delay=1.0))
    sink = Sink()
    with pytest.raises(error, match="no such attachment"):
        vclock.run(session.download("/files/1", sink))
    assert sink.calls == 0
    assert len(calls) == (1 if status == 404 else 2)


def test_a_consumer_failure_is_not_retried(session_for: SessionFor, vclock: Any) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, stream=Chunks([b"ab"]))

    async def full_disk(response: httpx.Response) -> None:
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space"):
        vclock.run(session_for(handler).download("/files/1", full_disk))
    assert len(calls) == 1


def test_a_consumer_may_stop_early_without_the_answer_counting_as_short(
    session_for: SessionFor, vclock: Any
) -> None:
    answer = httpx.Response(200, headers={"Content-Length": "6"}, stream=Chunks([b"ab", b"cd", b"ef"]))
    session = session_for(lambda request: answer)

    async def first_chunk_only(response: httpx.Response) -> None:
        async for _chunk in response.aiter_bytes():
            break

    vclock.run(session.download("/files/1", first_chunk_only))
    assert session.snapshot()["network_errors"] == 0


def test_a_streamed_answer_short_of_its_content_length_is_retried(
    session_for: SessionFor, vclock: Any
) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        parts = [b"ab"] if len(calls) == 1 else [b"ab", b"cd"]
        return httpx.Response(200, headers={"Content-Length": "4"}, stream=Chunks(parts))

    sink = Sink()
    vclock.run(session_for(handler).download("/files/1", sink))
    assert (len(calls), b"".join(sink.chunks)) == (2, b"abcd")


def test_after_response_hook_sees_no_body_for_a_streamed_answer(session_for: SessionFor, vclock: Any) -> None:
    seen: list[tuple[str, str, int, bytes]] = []
    session = session_for(
        lambda request: httpx.Response(200, stream=Chunks([b"ab"])),
        after_response=lambda *args: seen.append(args),
    )
    vclock.run(session.download("/files/1", Sink()))
    assert seen == [("GET", "/files/1", 200, b"")]


# -- uploads --------------------------------------------------------------------------------------


def test_streamed_upload_sends_the_bytes_with_their_length(session_for: SessionFor, vclock: Any) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": 4})

    source = Source(b"0123456789")
    session = session_for(handler)
    headers = {"File-Name": "a.txt", "Content-Type": "text/plain"}
    assert vclock.run(session.post_stream("/upload", source.body(), headers, {"x": 1})) == {"id": 4}
    request = seen[0]
    assert request.content == b"0123456789"
    assert request.headers["content-length"] == "10"
    assert "transfer-encoding" not in request.headers
    assert (request.headers["file-name"], request.headers["content-type"]) == ("a.txt", "text/plain")
    assert request.url.params["x"] == "1"
    assert request.headers["authorization"].startswith("Bearer ")
    snap = session.snapshot()
    assert (snap["bytes_sent"], snap["requests_by_method"]) == (10, {"POST": 1})


def test_streamed_upload_is_reopened_for_each_attempt(session_for: SessionFor, vclock: Any) -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(503 if len(bodies) == 1 else 201, json={"id": 4})

    source = Source(b"0123456789")
    session = session_for(handler)
    vclock.run(session.post_stream("/upload", source.body(), retry_unsafe=True))
    assert bodies == [b"0123456789", b"0123456789"]
    assert source.opened == 2
    assert session.snapshot()["bytes_sent"] == 20


def test_streamed_create_is_resent_after_429_but_not_after_503(session_for: SessionFor, vclock: Any) -> None:
    statuses = iter([429, 201])
    source = Source(b"abc")
    session = session_for(lambda request: httpx.Response(next(statuses), json={"id": 1}))
    vclock.run(session.post_stream("/upload", source.body()))
    assert source.opened == 2

    source = Source(b"abc")
    session = session_for(lambda request: httpx.Response(503, json={}))
    with pytest.raises(ServerError, match="may have been processed"):
        vclock.run(session.post_stream("/upload", source.body()))
    assert source.opened == 1


def test_413_is_payload_too_large_and_never_retried(session_for: SessionFor, vclock: Any) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(413, json={"message": "The attachment is too large"})

    source = Source(b"x" * 100)
    with pytest.raises(PayloadTooLarge) as info:
        vclock.run(session_for(handler).post_stream("/upload", source.body(), retry_unsafe=True))
    assert len(calls) == 1
    assert info.value.status == 413
    assert info.value.retriable is False
    assert "The attachment is too large" in str(info.value)


def test_a_source_that_changed_size_fails_clearly(session_for: SessionFor, vclock: Any) -> None:
    source = Source(b"abcdef")
    body = StreamedBody(open=source.open, length=10)
    session = session_for(lambda request: httpx.Response(201, json={}))
    with pytest.raises(ApiError, match="declared as 10 bytes but its source gave 6"):
        vclock.run(session.post_stream("/upload", body))
    with pytest.raises(ValueError):
        StreamedBody(open=source.open, length=-1)


# -- the attempt cap ------------------------------------------------------------------------------


def test_max_attempts_one_raises_the_first_retriable_error(session_for: SessionFor, vclock: Any) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503, json={"message": "maintenance"})

    session = session_for(handler)
    with pytest.raises(ServerError, match=r"max_attempts \(1\) reached") as info:
        vclock.run(session.request("GET", "/maybe", max_attempts=1))
    assert (len(calls), info.value.status, vclock.sleeps) == (1, 503, [])
    assert session.snapshot()["gave_up"] == 1

    calls.clear()
    with pytest.raises(ServerError, match="Gave up after 2 attempts"):
        vclock.run(session.request("GET", "/maybe", max_attempts=2))
    assert len(calls) == 2
    with pytest.raises(ValueError):
        vclock.run(session.request("GET", "/maybe", max_attempts=0))


# -- memory ---------------------------------------------------------------------------------------


class DrainingTransport(httpx.AsyncBaseTransport):
    """Reads an upload chunk by chunk without keeping it, and answers with the count of bytes."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        received = 0
        async for chunk in request.stream:
            received += len(chunk)
        return httpx.Response(201, json={"received": received})


class Generated(httpx.AsyncByteStream):
    """A body of ``count`` chunks of 1 MB, made as it is read."""

    def __init__(self, count: int) -> None:
        self.count = count

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            yield bytes(MB)


async def megabytes(count: int) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield bytes(MB)


def test_30_mb_travel_both_ways_in_bounded_memory(vclock: Any) -> None:
    def session_on(transport: httpx.AsyncBaseTransport) -> ApiSession:
        return ApiSession(
            httpx.AsyncClient(transport=transport),
            api_name="qTest",
            base_url="https://example.qtestnet.com",
            clock=vclock.time,
            sleep=vclock.sleep,
            owns_client=True,
        )

    upload = session_on(DrainingTransport())
    download = session_on(httpx.MockTransport(lambda request: httpx.Response(200, stream=Generated(30))))
    counted = 0

    async def count(response: httpx.Response) -> None:
        nonlocal counted
        counted = 0
        async for chunk in response.aiter_bytes():
            counted += len(chunk)

    body = StreamedBody(open=lambda: megabytes(30), length=30 * MB)
    tracemalloc.start()
    try:
        answer = vclock.run(upload.post_stream("/upload", body))
        vclock.run(download.download("/files/1", count))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer == {"received": 30 * MB}
    assert counted == 30 * MB
    assert peak < 8 * MB
    assert upload.snapshot()["bytes_sent"] == 30 * MB
    assert download.snapshot()["bytes_received"] == 30 * MB
