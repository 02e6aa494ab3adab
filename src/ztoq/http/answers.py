"""Reading an API's answers: JSON decoding and error explanations, without I/O.

Statuses are classified by :func:`ztoq.errors.error_for_status` alone; this module only
extracts what the API said, and makes sure a credential it might echo never reaches a message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from ztoq.errors import ApiError, FatalApiError, error_for_status, safe_path

_MESSAGE_KEYS = ("message", "errorMessage", "error_description", "error", "detail")


class IncompleteResponse(Exception):
    """An answer shorter than its Content-Length: the connection dropped mid-body."""


class Answered(Protocol):
    """What is read of an answer: an ``httpx.Response``, or a :class:`~ztoq.http.direct.Reply`."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...

    @property
    def is_success(self) -> bool: ...


def decode_json(api: str, base_url: str, response: httpx.Response) -> Any:
    """Decode a JSON answer; an empty body is None.

    Raises:
        FatalApiError: When the body is not JSON, typically because the base URL points at a
            web page (a login page, a proxy's error page) instead of the REST API.
    """
    request = response.request
    return decode_body(
        api, base_url, response, request.method, str(request.url), request.headers.get("authorization")
    )


def decode_body(
    api: str, base_url: str, response: Answered, method: str, url: str, secret: str | None
) -> Any:
    """Decode the JSON answer to ``method url`` (None for an empty body); see :func:`decode_json`."""
    body = response.content
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        snippet = " ".join(body[:80].decode("utf-8", "replace").split())
        snippet = scrub(snippet, secret)
        raise FatalApiError(
            f"{api} answered {method} {safe_path(url)} with non-JSON content ({kind}, starting "
            f"{snippet!r}); check the base URL {safe_path(base_url)}: it must be the {api} REST API, "
            f"not a web page or a login page.",
            api=api,
            status=response.status_code,
            method=method,
            url=url,
        ) from None


def error_detail(response: Answered) -> str:
    """The API's own explanation of an error, from a JSON body or a short plain-text body.

    JSON bodies say it under one of several names: ``{"errorCode", "message"}`` (Zephyr's and
    qTest's errors), ``{"error": "<reason>"}`` (Zephyr Scale Cloud's 401 answers),
    ``{"error", "error_description"}`` (OAuth), or nested as ``{"error": {"message": ...}}``.
    A final period is dropped: the explanation goes inside a sentence.
    """
    text = response.content[:2000].decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError:
        head = text[:200].lower()
        if "<html" in head or "<!doctype" in head:
            return "an HTML page instead of an API answer"
        return _clause(text)
    return _clause(_message(body)) if isinstance(body, dict) else ""


def _message(body: dict[str, Any], nested: bool = False) -> str:
    for key in _MESSAGE_KEYS:
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, dict) and not nested:
            found = _message(value, nested=True)
            if found:
                return found
    return ""


def _clause(text: str) -> str:
    """Text without surrounding space and a single final period (an ellipsis stays)."""
    text = text.strip()
    return text[:-1].rstrip() if text.endswith(".") and not text.endswith("..") else text


def scrub(text: str, secret: str | None) -> str:
    """Remove a credential (the header value and its bare token) from text an API echoed back."""
    if not secret:
        return text
    for value in (secret, secret.split(" ", 1)[-1]):
        if len(value) >= 6:
            text = text.replace(value, "***")
    return text


def status_error(
    api: str, response: Answered, method: str, url: str, secret: str | None, retry_after: float | None
) -> ApiError:
    """The exception for a non-2xx answer, with the API's explanation (or a redirect hint)."""
    status = response.status_code
    if 300 <= status < 400:
        location = safe_path(response.headers.get("location", ""))
        detail = f"redirected to {location or 'another address'}; check the base URL"
    else:
        detail = error_detail(response)
    return error_for_status(api, status, method, url, scrub(detail, secret), retry_after)


def unusable(api: str, base_url: str, method: str, url: str, exc: BaseException) -> ApiError:
    """The error for a request that cannot be built or sent at all (bad scheme, bad URL)."""
    return ApiError(
        f"{api} request {method} {safe_path(url)} could not be sent ({type(exc).__name__}); "
        f"check the base URL {safe_path(base_url)}.",
        api=api,
        method=method,
        url=url,
    )
