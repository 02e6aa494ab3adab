"""Streamed bodies for :class:`~ztoq.http.session.ApiSession`: uploads read from a source, answers
handed to a consumer, neither ever held whole in memory.

An upload is a :class:`StreamedBody`: its length and a way to *open* its bytes. The session opens
it again for every attempt, so a retried upload starts from the first byte.

A download is a :data:`Consume` coroutine that reads ``response.aiter_bytes()``. When the
connection drops mid-body, the session sends the request again and calls the consumer again
from the start, with a new answer: a consumer must therefore reset its sink (truncate the file,
empty its buffer, restart its hash) at the start of every call, not only the first.

The session's own pieces live here too, free of I/O: :class:`Call` (what each attempt of one
request sends), :func:`outgoing` (the body of one attempt) and the byte counts of an answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ztoq.errors import ApiError, safe_path
from ztoq.http.answers import Answered
from ztoq.http.retry import IDEMPOTENT_METHODS

#: Reads a successful answer opened as a stream (``response.aiter_bytes()``); may be called again.
Consume = Callable[[httpx.Response], Awaitable[None]]


@dataclass(frozen=True)
class StreamedBody:
    """A raw request body streamed from a source that can be re-opened for each attempt.

    Attributes:
        open: Returns a fresh iterator over the body's bytes, from the first one (e.g. a
            generator reading a file in 1 MB chunks); called once per attempt.
        length: The body's size in bytes, sent as ``Content-Length``; the bytes ``open`` gives
            must add up to exactly this.
    """

    open: Callable[[], AsyncIterator[bytes]]
    length: int

    def __post_init__(self) -> None:
        if self.length < 0:
            raise ValueError(f"StreamedBody.length must be >= 0, not {self.length}")


@dataclass(frozen=True)
class Call:
    """What every attempt of one :meth:`ApiSession.request` sends, and who reads its answer."""

    method: str
    path: str
    url: str
    query: Mapping[str, Any]
    json: Any
    data: Mapping[str, str] | None
    content: bytes | StreamedBody | None
    headers: Mapping[str, str] | None
    authenticate: bool
    consume: Consume | None
    may_resend: bool
    max_attempts: int | None


def new_call(
    method: str,
    path: str,
    url: str,
    params: Mapping[str, Any] | None,
    *,
    json: Any = None,
    data: Mapping[str, str] | None = None,
    content: bytes | StreamedBody | None = None,
    headers: Mapping[str, str] | None = None,
    retry_unsafe: bool | None = None,
    authenticate: bool = True,
    consume: Consume | None = None,
    max_attempts: int | None = None,
) -> Call:
    """The :class:`Call` of one request to ``url`` (``params`` without their None values).

    Raises:
        ValueError: When ``max_attempts`` is below 1.
    """
    if max_attempts is not None and max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
    method = method.upper()
    return Call(
        method=method,
        path=path,
        url=url,
        query={k: v for k, v in params.items() if v is not None} if params else {},
        json=json,
        data=data,
        content=content,
        headers=headers,
        authenticate=authenticate,
        consume=consume,
        may_resend=retry_unsafe if retry_unsafe is not None else method in IDEMPOTENT_METHODS,
        max_attempts=max_attempts,
    )


def checked_chunks(body: StreamedBody, api: str, method: str, url: str) -> AsyncIterator[bytes]:
    """Open ``body`` for one attempt, failing clearly when its source gives more or fewer bytes
    than its declared length (a file changed while it was uploaded), instead of leaving the
    HTTP library to report a broken message.

    Raises:
        ApiError: (while iterating) When the source's size is not ``body.length``.
    """

    async def chunks() -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in body.open():
            sent += len(chunk)
            if sent > body.length:
                break
            yield chunk
        if sent != body.length:
            raise ApiError(
                f"The body of {api} {method} {safe_path(url)} was declared as {body.length} bytes "
                f"but its source gave {'more' if sent > body.length else sent}; did the file change?",
                api=api,
                method=method,
                url=url,
            )

    return chunks()


def outgoing(
    content: bytes | StreamedBody | None, headers: dict[str, str], api: str, method: str, url: str
) -> tuple[bytes | AsyncIterator[bytes] | None, int | None]:
    """The body to send for one attempt, and its length when httpx cannot tell it without reading it.

    A :class:`StreamedBody` is opened afresh (see :func:`checked_chunks`) and its ``Content-Length``
    is added to ``headers``, so it is not sent chunked; bytes are sent as they are.
    """
    if isinstance(content, StreamedBody):
        headers["Content-Length"] = str(content.length)
        return checked_chunks(content, api, method, url), content.length
    return content, None


def plain_client(client: httpx.AsyncClient) -> bool:
    """True when ``client`` adds no base URL and no query parameters of its own to a request, so
    :func:`build_request` may build its requests directly."""
    return not client.params and not str(client.base_url)


def build_request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    query: Mapping[str, Any],
    *,
    json: Any,
    data: Mapping[str, str] | None,
    content: bytes | AsyncIterator[bytes] | None,
    headers: Mapping[str, str],
    plain: bool,
) -> httpx.Request:
    """The request ``client.build_request`` builds, for a third of its CPU.

    ``build_request`` parses the URL three times (as given, merged with the client's base URL, and
    again with the query merged in); an absolute URL without a query or fragment of its own, sent by a
    :func:`plain_client`, needs one parse: the query is encoded as httpx encodes it and appended.
    The client's headers, cookies and timeouts are merged as ``build_request`` merges them.
    Anything else goes through ``build_request`` itself.
    """
    if not plain or "?" in url or "#" in url:
        return client.build_request(
            method, url, params=query, json=json, data=data, content=content, headers=headers
        )
    if query:
        url = f"{url}?{httpx.QueryParams(query)}"
    merged = httpx.Headers(client.headers)
    merged.update(headers)
    return httpx.Request(
        method,
        url,
        content=content,
        data=data,
        json=json,
        headers=merged,
        cookies=client.cookies if client.cookies else None,
        extensions={"timeout": client.timeout.as_dict()},
    )


def held_bytes(response: httpx.Response) -> int:
    """The bytes of an answer received so far: read from the wire, or held in memory (mock answers)."""
    try:
        held = len(response.content)
    except httpx.ResponseNotRead:
        held = 0
    return max(response.num_bytes_downloaded, held)


def truncated(method: str, response: Answered, received: int) -> str | None:
    """Why an answer read to its end is shorter than its ``Content-Length`` (None when it is not)."""
    declared = response.headers.get("content-length", "")
    if method != "HEAD" and declared.isdigit() and received < int(declared):
        return f"{received} of {declared} bytes"
    return None


class SizeProbe:
    """A :data:`Consume` learning the size of an answer's body without keeping it.

    The size is the ``Content-Length`` of a large answer not compressed in transit (the body is
    then left unread); otherwise (small files, no length) the bytes streamed are counted. ``size`` is reset
    on every call, so the probe is safe to retry.
    """

    def __init__(self, read_up_to: int = 4 * 1024 * 1024) -> None:
        """Count the bytes of bodies up to ``read_up_to`` (a body cut short is then noticed and
        retried, as for any download); trust a larger body's ``Content-Length``."""
        self.size = 0
        self.read_up_to = read_up_to

    async def __call__(self, response: httpx.Response) -> None:
        """Read the size of ``response``."""
        self.size = 0
        declared = response.headers.get("content-length", "")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if declared.isdigit() and encoding in ("", "identity") and int(declared) > self.read_up_to:
            self.size = int(declared)
            return
        async for chunk in response.aiter_bytes():
            self.size += len(chunk)
