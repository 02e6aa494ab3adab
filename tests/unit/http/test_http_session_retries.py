"""ApiSession: retries, backoff, the retry budget, fatal errors and unsafe creates (virtual time)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ztoq.errors import (
    AuthenticationFailed,
    BadRequest,
    Conflict,
    FatalApiError,
    NetworkError,
    NotFound,
    PermissionDenied,
    RetriableApiError,
    ServerError,
)
from ztoq.http import ApiSession, RetryPolicy, SessionEvent

SessionFor = Callable[..., ApiSession]


def scripted(*answers: int | Exception | httpx.Response, calls: list[httpx.Request]) -> Any:
    """A MockTransport handler answering from a script; the last entry repeats forever."""

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        answer = answers[min(len(calls), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(answer, json={"ok": answer < 400, "n": len(calls)})

    return handler


def test_server_errors_are_retried_with_exponential_backoff(session_for: SessionFor, vclock: Any) -> None:
    calls: list[httpx.Request] = []
    session = session_for(scripted(500, 502, 503, 200, calls=calls))
    assert vclock.run(session.get_json("/api/v3/projects")) == {"ok": True, "n": 4}
    assert vclock.sleeps == [1.0, 2.0, 4.0]
    snap = session.snapshot()
    assert snap["retries"] == 3
    assert snap["responses_by_class"] == {"2xx": 1, "5xx": 3}
    assert snap["requests_by_method"] == {"GET": 4}


def test_full_jitter_draws_below_the_exponential_ceiling(session_for: SessionFor, vclock: Any) -> None:
    calls: list[httpx.Request] = []
    session = session_for(scripted(500, 500, 200, calls=calls), jitter=lambda: 0.25)
    vclock.run(session.get_json("/x"))
    assert vclock.sleeps == [0.25, 0.5]


@pytest.mark.parametrize(
    "failure",
    [
        httpx.RemoteProtocolError("peer closed connection"),
        httpx.ReadError("reset"),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow connect"),
        httpx.WriteError("broken pipe"),
    ],
)
def test_network_errors_are_retried(session_for: SessionFor, vclock: Any, failure: Exception) -> None:
    calls: list[httpx.Request] = []
    session = session_for(scripted(failure, 200, calls=calls))
    assert vclock.run(session.get_json("/x"))["ok"] is True
    assert len(calls) == 2
    assert session.snapshot()["network_errors"] == 1


def test_incomplete_body_counts_as_a_dropped_connection(session_for: SessionFor, vclock: Any) -> None:
    truncated = httpx.Response(
        200, headers={"content-length": "1024"}, stream=httpx.ByteStream(b'{"partial":')
    )
    calls: list[httpx.Request] = []
    session = session_for(scripted(truncated, 200, calls=calls))
    assert vclock.run(session.get_json("/x"))["ok"] is True
    assert len(calls) == 2


def test_gives_up_after_retry_count_saying_how_long_it_tried(session_for: SessionFor, vclock: Any) -> None:
    calls: list[httpx.Request] = []
    session = session_for(scripted(503, calls=calls), retry=RetryPolicy(retry_count=3, base_delay=1.0))
    with pytest.raises(ServerError) as info:
        vclock.run(session.get_json("/api/v3/projects/1"))
    assert len(calls) == 4
    message = str(info.value)
    assert "qTest answered 503 to GET https://example.qtestnet.com/api/v3/projects/1" in message
    assert "Gave up after 4 attempts over 7.0 s" in message
    assert "retry_count (3) reached" in message
    assert info.value.status == 503
    assert session.snapshot()["gave_up"] == 1


def test_retry_budget_stops_cleanly(session_for: SessionFor, vclock: Any) -> None:
    calls: list[httpx.Request] = []
    policy = RetryPolicy(retry_count=50, base_delay=1.0, max_delay=30.0, budget_seconds=10.0)
    session = session_for(scripted(500, calls=calls), retry=policy)
    with pytest.raises(ServerError) as info:
        vclock.run(session.get_json("/x"))
    # Slept 1 + 2 + 4 = 7 s; the next 8 s would end at 15 s, past the 10 s budget.
    assert vclock.sleeps == [1.0, 2.0, 4.0]
    assert len(calls) == 4
    assert "Gave up after 4 attempts over 7.0 s" in str(info.value)
    assert "retry budget of 10 s" in str(info.value)


def test_two_minutes_of_unavailability_is_waited_out(session_for: SessionFor, vclock: Any) -> None:
    """The seed scenario: qTest down for two minutes; ztoq waits and continues by itself."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503 if vclock.now < 120 else 200, json={})

    session = session_for(handler, retry=RetryPolicy(retry_count=100, budget_seconds=300.0))
    assert vclock.run(session.get_json("/x")) == {}
    assert vclock.now >= 120


def test_backoff_is_capped(session_for: SessionFor, vclock: Any) -> None:
    calls: list[httpx.Request] = []
    policy = RetryPolicy(retry_count=8, base_delay=1.0, max_delay=5.0, budget_seconds=0)
    session = session_for(scripted(500, calls=calls), retry=policy)
    with pytest.raises(ServerError):
        vclock.run(session.get_json("/x"))
    assert vclock.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequest),
        (401, AuthenticationFailed),
        (403, PermissionDenied),
        (404, NotFound),
        (409, Conflict),
        (422, BadRequest),
        (418, FatalApiError),
    ],
)
def test_fatal_errors_are_raised_at_once(
    session_for: SessionFor, vclock: Any, status: int, error: type[FatalApiError]
) -> None:
    calls: list[httpx.Request] = []
    session = session_for(scripted(status, calls=calls))
    with pytest.raises(error):
        vclock.run(session.get_json("/x"))
    assert len(calls) == 1
    assert vclock.sleeps == []


def test_error_message_carries_the_api_explanation(session_for: SessionFor, vclock: Any) -> None:
    answer = httpx.Response(400, json={"errorCode": 400, "message": "projectKey must not be null"})
    session = session_for(lambda request: answer, api_name="Zephyr", base_url="https://z.example/v2")
    with pytest.raises(BadRequest) as info:
        vclock.run(session.get_json("/testcases", {"projectKey": "PROJ", "maxResults": 10}))
    assert str(info.value) == (
        "Zephyr answered 400 to GET https://z.example/v2/testcases: projectKey must not be null."
    )


def test_redirect_is_fatal_and_points_at_the_base_url(session_for: SessionFor, vclock: Any) -> None:
    answer = httpx.Response(302, headers={"location": "https://sso.example/login?next=%2F&t=abc"})
    session = session_for(lambda request: answer)
    with pytest.raises(FatalApiError) as info:
        vclock.run(session.get_json("/x"))
    assert "redirected to https://sso.example/login" in str(info.value)
    assert "t=abc" not in str(info.value)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_unsafe_create_is_not_resent_after_a_5xx(session_for: SessionFor, vclock: Any, status: int) -> None:
    # A gateway may answer even a 503 after the backend processed the create.
    calls: list[httpx.Request] = []
    session = session_for(scripted(status, 201, calls=calls))
    with pytest.raises(ServerError) as info:
        vclock.run(session.post_json("/api/v3/projects/1/test-cases", {"name": "a"}))
    assert len(calls) == 1
    assert "may have been processed" in str(info.value)


@pytest.mark.parametrize("failure", [httpx.ReadError("reset"), httpx.RemoteProtocolError("closed")])
def test_unsafe_create_is_not_resent_after_a_dropped_connection(
    session_for: SessionFor, vclock: Any, failure: Exception
) -> None:
    calls: list[httpx.Request] = []
    session = session_for(scripted(failure, 201, calls=calls))
    with pytest.raises(NetworkError):
        vclock.run(session.post_json("/api/v3/projects/1/test-cases", {"name": "a"}))
    assert len(calls) == 1


@pytest.mark.parametrize("first", [429, httpx.ConnectError("refused"), httpx.ConnectTimeout("x")])
def test_create_is_resent_when_it_was_not_processed(
    session_for: SessionFor, vclock: Any, first: int | Exception
) -> None:
    calls: list[httpx.Request] = []
    session = session_for(scripted(first, 201, calls=calls))
    assert vclock.run(session.post_json("/api/v3/projects/1/test-cases", {"name": "a"}))["n"] == 2
    assert [c.method for c in calls] == ["POST", "POST"]
    assert calls[1].content == b'{"name":"a"}'


def test_retry_unsafe_lets_a_read_like_post_be_resent(session_for: SessionFor, vclock: Any) -> None:
    calls: list[httpx.Request] = []
    session = session_for(scripted(500, httpx.ReadError("x"), 200, calls=calls))
    result = vclock.run(session.post_json("/api/v3/projects/1/search", {"q": 1}, retry_unsafe=True))
    assert result["n"] == 3


def test_put_and_delete_are_retried_by_default(session_for: SessionFor, vclock: Any) -> None:
    calls: list[httpx.Request] = []
    session = session_for(scripted(500, 200, 500, 200, calls=calls))
    vclock.run(session.put_json("/x", {"a": 1}))
    vclock.run(session.delete("/x"))
    assert [c.method for c in calls] == ["PUT", "PUT", "DELETE", "DELETE"]


def test_no_retries_when_retry_count_is_zero(session_for: SessionFor, vclock: Any) -> None:
    calls: list[httpx.Request] = []
    session = session_for(scripted(502, calls=calls), retry=RetryPolicy(retry_count=0))
    with pytest.raises(RetriableApiError) as info:
        vclock.run(session.get_json("/x"))
    assert len(calls) == 1
    assert "Gave up after 1 attempt over 0.0 s" in str(info.value)


def test_events_describe_the_retries(session_for: SessionFor, vclock: Any) -> None:
    events: list[SessionEvent] = []
    calls: list[httpx.Request] = []
    session = session_for(scripted(500, 200, calls=calls), on_event=events.append)
    vclock.run(session.get_json("/x", {"secret": "s3"}))
    assert [e.kind for e in events] == ["request", "response", "retry", "request", "response"]
    assert events[2].delay == 1.0
    assert events[2].status == 500
    assert all(e.path == "/x" for e in events)
