"""QTestClient attachment calls (and get_test_log) over httpx.MockTransport: paths, methods, headers."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

import httpx
import pytest

from ztoq.errors import PayloadTooLarge, ServerError
from ztoq.http import ApiSession, RetryPolicy
from ztoq.qtest import QTestClient

T = TypeVar("T")
P = "/api/v3/projects/7"
Answer = Callable[[httpx.Request], httpx.Response]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def client_for(answer: Answer, seen: list[httpx.Request], retry_count: int = 0) -> QTestClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    session = ApiSession(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        api_name="qTest",
        base_url="https://acme.qtestnet.com",
        auth=lambda: "Bearer qtest-token",
        retry=RetryPolicy(retry_count=retry_count, base_delay=0.0),
        owns_client=True,
    )
    return QTestClient(session, 7)


class Unread(httpx.AsyncByteStream):
    """An answer body that records whether anyone read it."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks
        self.read = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.read = True
        for chunk in self.chunks:
            yield chunk


def source(data: bytes, opened: list[int] | None = None) -> Callable[[], AsyncIterator[bytes]]:
    async def chunks() -> AsyncIterator[bytes]:
        if opened is not None:
            opened.append(1)
        for start in range(0, len(data), 3):
            yield data[start : start + 3]

    return chunks


def test_list_attachments_reads_the_array() -> None:
    seen: list[httpx.Request] = []
    answer = [{"id": 3, "name": "a.png", "content_type": "image/png"}, {"id": 4, "name": "b.txt"}]
    found = run(
        client_for(lambda r: httpx.Response(200, json=answer), seen).list_attachments("test-cases", 9)
    )
    assert [(a.id, a.name) for a in found] == [(3, "a.png"), (4, "b.txt")]
    assert (seen[0].method, seen[0].url.path) == ("GET", f"{P}/test-cases/9/attachments")


def test_download_attachment_streams_the_file_to_the_consumer() -> None:
    seen: list[httpx.Request] = []
    received: list[bytes] = []

    async def consume(response: httpx.Response) -> None:
        received.clear()
        received.extend([chunk async for chunk in response.aiter_bytes()])

    client = client_for(lambda r: httpx.Response(200, stream=Unread(b"PK", b"\x03\x04")), seen)
    run(client.download_attachment("test-logs", 9, 5, consume))
    run(client.download_attachment("test-logs", 9, 5, consume, force_download=True))
    assert received == [b"PK", b"\x03\x04"]
    assert [(r.method, r.url.path) for r in seen] == [("GET", f"{P}/test-logs/9/attachments/5")] * 2
    assert [dict(r.url.params) for r in seen] == [{}, {"forceDownload": "true"}]


def test_attachment_size_uses_content_length_without_reading_a_large_file() -> None:
    seen: list[httpx.Request] = []
    size = 5 * 1024 * 1024
    body = Unread(b"x" * 10)
    answer = httpx.Response(200, headers={"Content-Length": str(size)}, stream=body)
    assert run(client_for(lambda r: answer, seen).attachment_size("test-cases", 9, 5)) == size
    assert body.read is False
    assert (seen[0].method, seen[0].url.path) == ("GET", f"{P}/test-cases/9/attachments/5")
    assert seen[0].headers["accept-encoding"] == "identity"


def test_attachment_size_counts_the_bytes_of_small_files_and_without_a_usable_content_length() -> None:
    seen: list[httpx.Request] = []
    # A small file is read: a body cut short under a correct-looking length is noticed and retried.
    small = Unread(b"x" * 10)
    answer = httpx.Response(200, headers={"Content-Length": "10"}, stream=small)
    assert run(client_for(lambda r: answer, seen).attachment_size("test-cases", 9, 5)) == 10
    assert small.read is True
    chunked = httpx.Response(200, stream=Unread(b"abc", b"defg"))
    assert run(client_for(lambda r: chunked, seen).attachment_size("test-cases", 9, 5)) == 7

    packed = gzip.compress(b"y" * 1000)
    headers = {"Content-Encoding": "gzip", "Content-Length": str(len(packed))}
    compressed = httpx.Response(200, headers=headers, stream=Unread(packed))
    assert run(client_for(lambda r: compressed, seen).attachment_size("test-cases", 9, 5)) == 1000


def test_upload_attachment_file_streams_the_body_with_its_headers() -> None:
    seen: list[httpx.Request] = []
    client = client_for(lambda r: httpx.Response(201, json={"id": 8, "name": "résumé (1).txt"}), seen)
    attachment = run(
        client.upload_attachment_file("test-logs", 9, "résumé (1).txt", "text/plain", source(b"hello!!"), 7)
    )
    assert (attachment.id, attachment.name) == (8, "résumé (1).txt")
    request = seen[0]
    assert (request.method, request.url.path) == ("POST", f"{P}/test-logs/9/blob-handles")
    assert request.headers["file-name"] == "r%C3%A9sum%C3%A9 (1).txt"
    assert request.headers["content-type"] == "text/plain"
    assert request.headers["content-length"] == "7"
    assert request.content == b"hello!!"


def test_upload_attachment_file_is_a_create_not_resent_after_a_500() -> None:
    seen: list[httpx.Request] = []
    opened: list[int] = []
    client = client_for(lambda r: httpx.Response(500, json={}), seen, retry_count=3)
    with pytest.raises(ServerError):
        run(
            client.upload_attachment_file(
                "test-cases", 1, "a.bin", "application/octet-stream", source(b"ab", opened), 2
            )
        )
    assert (len(seen), len(opened)) == (1, 1)


def test_upload_over_the_limit_is_payload_too_large() -> None:
    seen: list[httpx.Request] = []
    client = client_for(
        lambda r: httpx.Response(413, json={"message": "The attachment is too large"}), seen, 3
    )
    with pytest.raises(PayloadTooLarge, match="too large"):
        run(client.upload_attachment_file("test-cases", 1, "big.bin", "application/zip", source(b"abc"), 3))
    assert len(seen) == 1


def test_delete_attachment_deletes_the_blob_handle() -> None:
    seen: list[httpx.Request] = []
    client = client_for(lambda r: httpx.Response(200, json={"message": "deleted"}), seen)
    assert run(client.delete_attachment("requirements", 4, 12)) is None
    assert (seen[0].method, seen[0].url.path) == ("DELETE", f"{P}/requirements/4/blob-handles/12")


def test_get_test_log() -> None:
    seen: list[httpx.Request] = []
    client = client_for(lambda r: httpx.Response(200, json={"id": 31, "test_run_id": 5, "note": "ok"}), seen)
    log = run(client.get_test_log(5, 31))
    assert (log.id, log.test_run_id, log.note) == (31, 5, "ok")
    assert (seen[0].method, seen[0].url.path) == ("GET", f"{P}/test-runs/5/test-logs/31")
