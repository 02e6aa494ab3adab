"""JSON conveniences on top of :meth:`ApiSession.request`, one per kind of call the clients make."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ztoq.http.answers import decode_json
from ztoq.http.streaming import Consume, StreamedBody


class JsonRequests:
    """Mixin giving ``get_json``/``post_json``/... to a class with ``request``, ``api_name``, ``base_url``."""

    api_name: str
    base_url: str

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
        raise NotImplementedError

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
        """Send a request and return its decoded JSON answer (a session may do it faster)."""
        response = await self.request(
            method, path, params=params, json=json, content=content, headers=headers,
            retry_unsafe=retry_unsafe, max_attempts=max_attempts,
        )  # fmt: skip
        return self.decode(response)

    def decode(self, response: httpx.Response) -> Any:
        """Decode a JSON answer (None for an empty body); non-JSON raises a clear FatalApiError."""
        return decode_json(self.api_name, self.base_url, response)

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` and return its decoded JSON (None for an empty body)."""
        return await self.send_json("GET", path, params=params)

    async def post_json(
        self,
        path: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        *,
        retry_unsafe: bool = False,
    ) -> Any:
        """POST a JSON body. Pass ``retry_unsafe=True`` when the POST is a read (e.g. a search)."""
        return await self.send_json("POST", path, params=params, json=json, retry_unsafe=retry_unsafe)

    async def put_json(self, path: str, json: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        """PUT a JSON body (PUT is idempotent, so every retriable failure is retried)."""
        return await self.send_json("PUT", path, params=params, json=json)

    async def delete(self, path: str, params: Mapping[str, Any] | None = None, *, json: Any = None) -> Any:
        """DELETE ``path``; returns the decoded JSON answer, if any."""
        return await self.send_json("DELETE", path, params=params, json=json)

    async def post_form(
        self,
        path: str,
        data: Mapping[str, str],
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        authenticate: bool = True,
        retry_unsafe: bool = False,
    ) -> Any:
        """POST an ``application/x-www-form-urlencoded`` body (e.g. an OAuth token request)."""
        response = await self.request(
            "POST",
            path,
            params=params,
            data=data,
            headers=headers,
            authenticate=authenticate,
            retry_unsafe=retry_unsafe,
        )
        return self.decode(response)

    async def post_bytes(
        self,
        path: str,
        content: bytes,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        retry_unsafe: bool = False,
    ) -> Any:
        """POST a raw body (e.g. an attachment upload) with the given headers."""
        return await self.send_json(
            "POST", path, params=params, content=content, headers=headers, retry_unsafe=retry_unsafe
        )

    async def post_stream(
        self,
        path: str,
        body: StreamedBody,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        retry_unsafe: bool = False,
    ) -> Any:
        """POST a raw body streamed from its source (re-opened for each attempt); returns the JSON answer."""
        return await self.send_json(
            "POST", path, params=params, content=body, headers=headers, retry_unsafe=retry_unsafe
        )

    async def download(
        self,
        path: str,
        consume: Consume,
        params: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """GET ``path`` and hand its answer, as a stream, to ``consume``.

        ``consume`` reads ``response.aiter_bytes()``; it is called again from the start when the
        connection drops mid-body, so it must reset its sink on every call. Returns the closed
        answer (status and headers only).
        """
        return await self.request("GET", path, params=params, headers=headers, consume=consume)
