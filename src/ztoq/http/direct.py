"""The session's fast path: JSON requests sent straight through aiohttp, without httpx's models.

A migration's requests are almost all small JSON GETs, POSTs and PUTs, and building httpx's request
and answer objects around each (URL parsing, header objects, the client's send machinery) cost more
CPU than sending it. So when :class:`~ztoq.http.session.ApiSession` goes through its own
:class:`~ztoq.http.transport.AiohttpTransport`, its JSON requests, raw and streamed uploads and
downloads whose path needs no normalising go through :class:`DirectSender` on the same aiohttp
connection pool, and send what httpx would have sent for them:

- the client's headers (``Accept``, ``Accept-Encoding``, ``Connection``, ``User-Agent``) with the
  request's own over them, the ``Authorization`` header, and for a body its ``Content-Length``
  (and ``Content-Type`` for JSON; ``Content-Length: 0`` for a POST or PUT without a body); the
  JSON is encoded as httpx encodes it;
- the query string as ``httpx.QueryParams`` writes it (see :func:`query_string`);
- the cookies of the httpx client's jar, which also keeps the cookies the answers set;
- the same timeouts, proxy and TLS settings (the transport's), and the same httpx exceptions for
  the same failures, so retries (:mod:`ztoq.http.retry`) decide as they do for httpx.

An answer read whole is a :class:`Reply` (a compressed one is decoded by httpx's decoders); a
download's is an ``httpx.Response`` streaming aiohttp's bytes. Forms (the OAuth login), answers
read by :meth:`~ztoq.http.session.ApiSession.request` itself and paths httpx would normalise go
through httpx as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp
import httpx
from yarl import URL

from ztoq.http.transport import AiohttpTransport, answer_stream, client_timeout, httpx_error

#: A request body: none, bytes, or the chunks of a streamed body (its length given in a header).
Body = bytes | AsyncIterator[bytes] | None

#: A path httpx sends as it is: unreserved characters, sub-delimiters, ``:@/[]`` and ``%XX`` escapes.
_PLAIN_PATH = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/\[\]]|%[0-9A-Fa-f]{2})*")
#: Methods httpx sends ``Content-Length: 0`` for when they have no body.
_EMPTY_BODY_LENGTH = frozenset({"POST", "PUT", "PATCH"})


class Reply:
    """An answer read whole by :class:`DirectSender`.

    Attributes:
        status_code: The HTTP status.
        headers: The answer's headers (case-insensitive; the first value of a repeated one).
        content: The body, decoded if it was compressed in transit.
        received: Bytes of the body as they came over the wire.
        method: The request's method.
        url: The request's URL.
        secret: The ``Authorization`` header sent, if any (to scrub from messages, never shown).
    """

    __slots__ = ("content", "headers", "method", "received", "secret", "status_code", "url")

    def __init__(
        self,
        status_code: int,
        headers: Mapping[str, str],
        content: bytes,
        received: int,
        *,
        method: str,
        url: str,
        secret: str | None,
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.received = received
        self.method = method
        self.url = url
        self.secret = secret

    @property
    def is_success(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status_code < 300

    def __repr__(self) -> str:
        return f"<Reply [{self.status_code}]>"


def query_string(query: Mapping[str, Any]) -> str:
    """``str(httpx.QueryParams(query))``, for a fraction of its CPU (lists give repeated names)."""
    items: list[tuple[str, str]] = []
    for key, value in query.items():
        values = value if isinstance(value, list | tuple) else (value,)
        items.extend((str(key), _primitive(item)) for item in values)
    return urlencode(items)


def _primitive(value: Any) -> str:
    """A query value as httpx writes it: JSON-style booleans, "" for None."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def encode_json(value: Any) -> bytes:
    """A JSON body as httpx encodes it (compact, UTF-8, no NaN)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


class DirectSender:
    """Sends JSON requests through an :class:`AiohttpTransport`'s pool as ``client`` would send them."""

    def __init__(self, transport: AiohttpTransport, client: httpx.AsyncClient, base_url: str) -> None:
        """Send through ``transport`` with ``client``'s headers, timeouts and cookie jar.

        ``base_url`` is the session's API root; requests go to paths below it.
        """
        self._transport = transport
        self._cookies = client.cookies
        timeouts = client.timeout.as_dict()
        self._limits = client_timeout(timeouts)
        self._write = timeouts.get("write")
        self._headers = [
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in client.headers.raw
        ]
        self._base = str(httpx.URL(base_url.rstrip("/")))

    def url_for(self, path: str, query: Mapping[str, Any]) -> str | None:
        """The URL httpx would send ``path`` and ``query`` to, or None when httpx would rewrite the
        path (escaping, dot segments) or it carries a query or fragment of its own."""
        path = path.lstrip("/")
        if "/." in f"/{path}" or not _PLAIN_PATH.fullmatch(path):
            return None
        url = f"{self._base}/{path}"
        return f"{url}?{query_string(query)}" if query else url

    async def send(
        self,
        method: str,
        url: str,
        body: Body,
        secret: str | None,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: bool = True,
    ) -> Reply:
        """Send one request and read its answer whole (see :meth:`open`).

        Raises:
            httpx.TransportError: The exception httpx would raise for the same failure.
        """
        response = await self.open(method, url, body, secret, headers=headers, json_body=json_body)
        try:
            raw = await response.content.read()
        except BaseException as exc:
            response.close()
            if isinstance(exc, TimeoutError | aiohttp.ClientError):
                raise httpx_error(exc) or httpx.ReadError(str(exc)) from exc
            raise
        # Back to the pool (or closed if the answer said so), without waiting for the rest of a
        # body the server answered before reading, as httpx's answers are closed.
        response.release()
        answer_headers = response.headers
        content = raw
        encoding = answer_headers.get("Content-Encoding")
        if raw and encoding and encoding.strip().lower() != "identity":
            # Rare (small JSON answers are seldom compressed): httpx's decoders, as before.
            content = httpx.Response(response.status, headers=response.raw_headers, content=raw).content
        return Reply(
            response.status, answer_headers, content, len(raw), method=method, url=url, secret=secret
        )

    async def stream(
        self, method: str, url: str, secret: str | None, *, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """Send a request without a body; its answer is an ``httpx.Response`` streaming the body
        (read or streamed as any httpx answer, decoded by httpx; closing it frees the connection)."""
        response = await self.open(method, url, None, secret, headers=headers, json_body=False)
        return answer_stream(response)

    async def open(
        self,
        method: str,
        url: str,
        body: Body,
        secret: str | None,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: bool = True,
    ) -> aiohttp.ClientResponse:
        """Send one request as httpx would and return aiohttp's answer, its body unread.

        ``body`` is bytes (JSON when ``json_body``) or the chunks of a streamed body whose
        ``Content-Length`` is in ``headers``; ``headers`` replace the client's of the same name.
        """
        sent = self._headers.copy()
        names: set[str] = set()
        if headers:
            names = {name.lower() for name in headers}
            sent = [(name, value) for name, value in sent if name.lower() not in names]
            sent.extend(headers.items())
        if secret:
            sent.append(("Authorization", secret))
        if isinstance(body, bytes):
            if "content-length" not in names:
                sent.append(("Content-Length", str(len(body))))
            if json_body and "content-type" not in names:
                sent.append(("Content-Type", "application/json"))
        elif body is None and method in _EMPTY_BODY_LENGTH and "content-length" not in names:
            sent.append(("Content-Length", "0"))
        if len(self._cookies.jar):
            sent.extend(self._cookie_header(method, url))
        response = await self._transport.open(
            method, URL(url, encoded=True), sent, b"" if body is None else body, self._limits, self._write
        )
        if "Set-Cookie" in response.headers:
            request = httpx.Request(method, url)
            answer = httpx.Response(response.status, headers=response.raw_headers, request=request)
            self._cookies.extract_cookies(answer)
        return response

    def _cookie_header(self, method: str, url: str) -> list[tuple[str, str]]:
        """The ``Cookie`` header httpx would send to ``url`` from the jar (none when no cookie matches)."""
        request = httpx.Request(method, url)
        self._cookies.set_cookie_header(request)
        cookie = request.headers.get("Cookie")
        return [("Cookie", cookie)] if cookie else []
