"""ApiSession: 401 re-authentication, secrets never leaking, JSON decoding, hooks and counters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ztoq.config import NetworkConfig
from ztoq.errors import ApiError, AuthenticationFailed, FatalApiError
from ztoq.http import ApiSession, RetryPolicy, SessionEvent

SessionFor = Callable[..., ApiSession]
TOKEN = "tok-SECRET-9f8e7d6c5b4a"
NEW_TOKEN = "tok-RENEWED-1a2b3c4d5e6f"


class Credentials:
    """An auth provider and reauthenticate hook pair that counts renewals."""

    def __init__(self, *, yield_while_renewing: bool = False) -> None:
        self.token = TOKEN
        self.renewals = 0
        self._yield = yield_while_renewing

    def header(self) -> str:
        return f"Bearer {self.token}"

    async def renew(self) -> None:
        self.renewals += 1
        if self._yield:  # let other workers hit the 401 meanwhile
            for _ in range(5):
                await asyncio.sleep(0)
        self.token = NEW_TOKEN


def accepts_only(token: str, calls: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if request.headers.get("authorization") != f"Bearer {token}":
            return httpx.Response(401, json={"error": "invalid_token", "error_description": "expired"})
        return httpx.Response(200, json={"ok": True})

    return handler


def test_401_renews_credentials_once_and_resends(session_for: SessionFor, vclock: Any) -> None:
    creds = Credentials()
    calls: list[httpx.Request] = []
    session = session_for(accepts_only(NEW_TOKEN, calls), auth=creds.header, reauthenticate=creds.renew)
    assert vclock.run(session.get_json("/x")) == {"ok": True}
    assert creds.renewals == 1
    assert [c.headers["authorization"] for c in calls] == [f"Bearer {TOKEN}", f"Bearer {NEW_TOKEN}"]
    assert session.snapshot()["reauthentications"] == 1


def test_second_401_raises_authentication_failed(session_for: SessionFor, vclock: Any) -> None:
    creds = Credentials()
    calls: list[httpx.Request] = []
    session = session_for(accepts_only("nobody", calls), auth=creds.header, reauthenticate=creds.renew)
    with pytest.raises(AuthenticationFailed):
        vclock.run(session.get_json("/x"))
    assert creds.renewals == 1
    assert len(calls) == 2


def test_401_without_a_hook_fails_at_once(session_for: SessionFor, vclock: Any) -> None:
    calls: list[httpx.Request] = []
    session = session_for(accepts_only("nobody", calls))
    with pytest.raises(AuthenticationFailed) as info:
        vclock.run(session.get_json("/x"))
    assert len(calls) == 1
    assert "check the token" in str(info.value)


def test_concurrent_401s_renew_only_once(session_for: SessionFor, vclock: Any) -> None:
    creds = Credentials(yield_while_renewing=True)
    calls: list[httpx.Request] = []
    session = session_for(
        accepts_only(NEW_TOKEN, calls), auth=creds.header, reauthenticate=creds.renew, max_workers=4
    )

    async def main() -> list[Any]:
        return await asyncio.gather(*(session.get_json(f"/x/{i}") for i in range(4)))

    assert vclock.run(main()) == [{"ok": True}] * 4
    assert creds.renewals == 1


def test_async_auth_provider(session_for: SessionFor, vclock: Any) -> None:
    async def provider() -> str:
        return "Bearer async-token"

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(204)

    session = session_for(handler, auth=provider)
    assert vclock.run(session.delete("/x")) is None
    assert seen == ["Bearer async-token"]


def test_unauthenticated_request_sends_no_header(session_for: SessionFor, vclock: Any) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": "x"})

    session = session_for(handler)
    form = {"grant_type": "password", "username": "u"}
    basic = {"Authorization": "Basic c2l0ZTo="}
    vclock.run(session.post_form("/oauth/token", form, headers=basic, authenticate=False))
    assert seen[0].headers["authorization"] == "Basic c2l0ZTo="
    assert seen[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen[0].content == b"grant_type=password&username=u"


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(401, json={"message": f"token Bearer {TOKEN} is invalid"}),
        httpx.Response(403, text=f"forbidden for {TOKEN}"),
        httpx.Response(500, json={"error": f"boom {TOKEN}"}),
        httpx.Response(200, text=f"<html>login {TOKEN}</html>"),
        httpx.ReadError(f"connection reset {TOKEN}"),
    ],
)
def test_no_token_in_any_message_or_repr(
    session_for: SessionFor, vclock: Any, answer: httpx.Response | Exception
) -> None:
    events: list[SessionEvent] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        return answer

    session = session_for(handler, on_event=events.append, retry=RetryPolicy(retry_count=1))
    with pytest.raises(ApiError) as info:
        vclock.run(session.get_json("/x", {"projectKey": "P"}))
    texts = [str(info.value), repr(info.value), repr(session), str(session.snapshot()), repr(events)]
    texts += [str(info.value.__dict__)]
    assert not any(TOKEN in text for text in texts)


def test_non_json_answer_is_a_clear_error(session_for: SessionFor, vclock: Any) -> None:
    page = httpx.Response(
        200, headers={"content-type": "text/html"}, text="<!DOCTYPE html><html>Log in</html>"
    )
    session = session_for(lambda request: page, api_name="Zephyr", base_url="https://jira.example.com")
    with pytest.raises(FatalApiError) as info:
        vclock.run(session.get_json("/testcases"))
    message = str(info.value)
    assert (
        "Zephyr answered GET https://jira.example.com/testcases with non-JSON content (text/html" in message
    )
    assert "check the base URL https://jira.example.com" in message
    assert info.value.retriable is False


def test_empty_body_decodes_to_none(session_for: SessionFor, vclock: Any) -> None:
    session = session_for(lambda request: httpx.Response(200, content=b"  "))
    assert vclock.run(session.get_json("/x")) is None


def test_after_response_hook_sees_the_create_and_can_crash_the_run(
    session_for: SessionFor, vclock: Any
) -> None:
    seen: list[tuple[str, str, int, bytes]] = []
    calls: list[httpx.Request] = []

    def hook(method: str, path: str, status: int, body: bytes) -> None:
        seen.append((method, path, status, body))
        if method == "POST":
            raise KeyboardInterrupt  # what a kill between the answer and its recording looks like

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(201, json={"id": 7})

    session = session_for(handler, after_response=hook)
    with pytest.raises(KeyboardInterrupt):
        vclock.run(session.post_json("/api/v3/projects/1/test-cases", {"name": "a"}))
    assert seen == [("POST", "/api/v3/projects/1/test-cases", 201, b'{"id":7}')]
    assert len(calls) == 1


def test_params_drop_none_and_lowercase_booleans(session_for: SessionFor, vclock: Any) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    session = session_for(handler, base_url="https://z.example/v2/")
    vclock.run(session.get_json("testcases", {"a": None, "b": False, "c": 1, "d": "x y"}))
    assert str(seen[0].url) == "https://z.example/v2/testcases?b=false&c=1&d=x+y"
    assert seen[0].headers["accept"] == "application/json"
    assert seen[0].headers["user-agent"].startswith("ztoq/")


def test_counters(session_for: SessionFor, vclock: Any) -> None:
    session = session_for(lambda request: httpx.Response(200, json={"a": 1}))
    vclock.run(session.post_bytes("/upload", b"12345", {"Content-Type": "image/png"}, retry_unsafe=True))
    vclock.run(session.get_json("/x"))
    snap = session.snapshot()
    assert snap["api"] == "qTest"
    assert snap["requests"] == 2
    assert snap["requests_by_method"] == {"GET": 1, "POST": 1}
    assert snap["responses_by_class"] == {"2xx": 2}
    assert snap["bytes_sent"] == 5
    assert snap["bytes_received"] == 2 * len(b'{"a":1}')


def test_create_builds_an_owned_client_from_network_settings() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"url": str(request.url)})

    async def main() -> Any:
        network = NetworkConfig(timeout=5, retry_count=2, retry_delay=0.5, retry_budget_seconds=9)
        async with ApiSession.create(
            api_name="Zephyr",
            base_url="https://z.example/v2",
            network=network,
            transport=httpx.MockTransport(handler),
        ) as session:
            assert session.retry == RetryPolicy(retry_count=2, base_delay=0.5, budget_seconds=9)
            return await session.get_json("/projects")

    assert asyncio.run(main()) == {"url": "https://z.example/v2/projects"}


def test_unusable_base_url_is_a_clear_error(vclock: Any) -> None:
    session = ApiSession(httpx.AsyncClient(), api_name="qTest", base_url="ftp://example.com")
    with pytest.raises(ApiError) as info:
        vclock.run(session.get_json("/x"))
    assert "could not be sent (UnsupportedProtocol); check the base URL" in str(info.value)
