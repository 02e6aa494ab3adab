"""One request's outcome, classified for a person: DNS, refused, timeout, TLS, a web page, a 404...

``ztoq verify-tokens`` sends each request once and has to say precisely why it failed, which the
:class:`~ztoq.errors.ApiError` tree alone does not: a transport failure may be a typo in the host
(DNS), a closed port, a slow server or an untrusted certificate; a 200 may be a login page.
:func:`probe` sends one GET and returns an :class:`Answer`; :func:`answer_for` classifies an
error that a client call raised. Neither raises an :class:`~ztoq.errors.ApiError`.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ztoq.errors import (
    ApiError,
    AuthenticationFailed,
    NetworkError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
)
from ztoq.http.session import ApiSession

#: Seconds a probe may take, for messages (the session's own timeout applies).
TIMEOUT = 20.0


@dataclass(frozen=True)
class Answer:
    """What one GET produced: ``kind`` is "ok" or the kind of failure, ``detail`` says more.

    Kinds of failure: "unauthorized", "forbidden", "not_found", "rate_limited", "server",
    "redirect", "failed" (another status), "html", "not_json", and the transport failures
    "dns", "refused", "timeout", "tls", "unreachable".
    """

    kind: str
    status: int | None = None
    body: Any = None
    detail: str = ""


_DNS_HINTS = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo",
    "name resolution",
    "no address associated",
    "name does not resolve",
    "no such host",
)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception it was raised from or while handling, outermost first."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in found):
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def classify_network(exc: BaseException, url: str, timeout: float) -> Answer:
    """A transport failure as DNS, refused, timeout, TLS or unreachable, naming the host."""
    parts = urlsplit(url)
    host = parts.hostname or url
    where = f"{host}:{parts.port}" if parts.port else host
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, httpx.TimeoutException | TimeoutError) for e in chain):
        return Answer("timeout", detail=f"{where} did not answer within {timeout:g} s")
    if any(isinstance(e, socket.gaierror) for e in chain) or any(hint in text for hint in _DNS_HINTS):
        return Answer(
            "dns", detail=f"the host {host} cannot be resolved (DNS): check the spelling of the URL"
        )
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
        return Answer("refused", detail=f"{where} refused the connection: nothing listens there")
    if any(isinstance(e, ssl.SSLError) for e in chain) or "certificate" in text or "ssl" in text:
        return Answer(
            "tls",
            detail=f"the TLS handshake with {where} failed (certificate not trusted?); fix the CA bundle, "
            "or use --insecure for a test server",
        )
    transport = next((e for e in chain if isinstance(e, httpx.HTTPError | OSError)), exc)
    return Answer("unreachable", detail=f"{where} cannot be reached ({type(transport).__name__})")


def answer_for(exc: ApiError, url: str, timeout: float = TIMEOUT) -> Answer:
    """The :class:`Answer` an error raised by a request to ``url`` stands for."""
    if isinstance(exc, AuthenticationFailed):
        if exc.status in (None, 400, 401):
            return Answer("unauthorized", exc.status, detail=str(exc))
        # A password login that met something other than qTest's token endpoint.
        return Answer("not_found" if exc.status == 404 else "not_json", exc.status, detail=str(exc))
    kinds: tuple[tuple[type[ApiError], str], ...] = (
        (PermissionDenied, "forbidden"),
        (NotFound, "not_found"),
        (RateLimited, "rate_limited"),
        (ServerError, "server"),
    )
    for error, kind in kinds:
        if isinstance(exc, error):
            return Answer(kind, exc.status, detail=str(exc))
    if isinstance(exc, NetworkError) or exc.status is None:
        return classify_network(exc, url, timeout)
    if 300 <= exc.status < 400:
        return Answer("redirect", exc.status, detail=str(exc))
    return Answer("failed", exc.status, detail=str(exc))


def _looks_html(content_type: str, body: bytes) -> bool:
    head = body.lstrip()[:200].lower()
    return "html" in content_type.lower() or head.startswith((b"<!doctype", b"<html")) or b"<html" in head


async def probe(
    session: ApiSession, path: str, params: Mapping[str, Any] | None = None, *, timeout: float = TIMEOUT
) -> Answer:
    """GET ``path`` once and classify the outcome (never raises an :class:`ApiError`).

    ``timeout`` is the session's, for the message of a request that timed out.
    """
    url = f"{session.base_url}/{path.lstrip('/')}"
    try:
        response = await session.request("GET", path, params=params)
    except ApiError as exc:
        return answer_for(exc, url, timeout)
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    raw = response.content
    if not raw.strip():
        return Answer("ok", response.status_code, None)
    try:
        return Answer("ok", response.status_code, json.loads(raw))
    except (ValueError, UnicodeDecodeError):
        kind = "html" if _looks_html(content_type, raw) else "not_json"
        return Answer(kind, response.status_code, detail=content_type or "no content type")
