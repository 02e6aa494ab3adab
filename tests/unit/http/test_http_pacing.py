"""Pacing: the token bucket, the session-wide 429 pause, Retry-After parsing and backoff maths."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import itertools
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ztoq.errors import NetworkError, NotFound, RateLimited, ServerError
from ztoq.http import ApiSession, RetryPolicy, SessionEvent, TokenBucket, parse_retry_after, safe_to_resend
from ztoq.http.ratelimit import QuotaLearner
from ztoq.http.retry import exhausted, plan_retry

SessionFor = Callable[..., ApiSession]
NOW = 1_700_000_000.0


def recording(vclock: Any, times: list[tuple[str, float]]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        times.append((request.url.path, vclock.now))
        return httpx.Response(200, json={})

    return handler


def test_token_bucket_paces_sequential_requests(session_for: SessionFor, vclock: Any) -> None:
    times: list[tuple[str, float]] = []
    session = session_for(recording(vclock, times), requests_per_second=2)

    async def main() -> None:
        for i in range(6):
            await session.get_json(f"/r{i}")

    vclock.run(main())
    # No burst (a sliding-window quota would refuse it): one every half second.
    assert [t for _, t in times] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    snap = session.snapshot()
    assert snap["throttle_waits"] == 5
    assert snap["throttle_wait_seconds"] == pytest.approx(5 * 0.5)


def test_token_bucket_paces_concurrent_workers(session_for: SessionFor, vclock: Any) -> None:
    times: list[tuple[str, float]] = []
    session = session_for(recording(vclock, times), requests_per_second=1, max_workers=5)

    async def main() -> None:
        await asyncio.gather(*(session.get_json(f"/r{i}") for i in range(5)))

    vclock.run(main())
    assert sorted(t for _, t in times) == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_fractional_rate_has_a_burst_of_one(vclock: Any) -> None:
    bucket = TokenBucket(0.5, clock=vclock.time, sleep=vclock.sleep)
    assert bucket.capacity == 1
    assert [bucket.take() for _ in range(3)] == [0.0, 2.0, 2.0], "a token is never owed"


def test_callers_that_slept_too_long_resume_one_per_interval(vclock: Any) -> None:
    # The event loop was busy for 3 s while four callers waited: they must not all send at once.
    bucket = TokenBucket(2, clock=vclock.time, sleep=vclock.sleep)
    sent: list[float] = []

    async def caller() -> None:
        await bucket.acquire()
        sent.append(vclock.now)

    async def main() -> None:
        await bucket.acquire()
        vclock.now += 3.0  # a stall: nobody ran meanwhile
        await asyncio.gather(*(caller() for _ in range(4)))

    vclock.run(main())
    assert sent[0] == pytest.approx(3.0)
    assert [b - a for a, b in itertools.pairwise(sent)] == pytest.approx([0.5, 0.5, 0.5])


def test_unlimited_rate_never_waits(session_for: SessionFor, vclock: Any) -> None:
    times: list[tuple[str, float]] = []
    session = session_for(recording(vclock, times), requests_per_second=0)

    async def main() -> None:
        await asyncio.gather(*(session.get_json(f"/r{i}") for i in range(20)))

    vclock.run(main())
    assert {t for _, t in times} == {0.0}


@pytest.mark.parametrize("retry_after", ["5", email.utils.formatdate(NOW + 5, usegmt=True)])
def test_retry_after_pauses_every_worker(session_for: SessionFor, vclock: Any, retry_after: str) -> None:
    times: list[tuple[str, float]] = []
    spawned: list[asyncio.Task[Any]] = []
    limited = {"done": False}

    def handler(request: httpx.Request) -> httpx.Response:
        times.append((request.url.path, vclock.now))
        if request.url.path == "/a" and not limited["done"]:
            limited["done"] = True
            return httpx.Response(429, headers={"Retry-After": retry_after}, json={"message": "slow down"})
        return httpx.Response(200, json={})

    def on_event(event: SessionEvent) -> None:
        # Other workers start right after the 429: they must wait for the pause too.
        if event.kind == "rate_limited":
            spawned.extend(asyncio.ensure_future(session.get_json(p)) for p in ("/b", "/c"))

    session = session_for(handler, on_event=on_event, max_workers=3, wall_clock=lambda: NOW)

    async def main() -> None:
        await session.get_json("/a")
        await asyncio.gather(*spawned)

    vclock.run(main())
    assert times[0] == ("/a", 0.0)
    assert sorted(times[1:]) == [("/a", 5.0), ("/b", 5.0), ("/c", 5.0)]
    snap = session.snapshot()
    assert snap["rate_limit_waits"] == 3
    assert snap["rate_limit_wait_seconds"] == pytest.approx(15.0)
    assert snap["responses_by_class"] == {"2xx": 3, "4xx": 1}


def test_429_without_retry_after_backs_off(session_for: SessionFor, vclock: Any) -> None:
    times: list[tuple[str, float]] = []
    answers = iter([429, 429, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        times.append((request.url.path, vclock.now))
        return httpx.Response(next(answers), json={})

    session = session_for(handler)
    vclock.run(session.get_json("/x"))
    assert [t for _, t in times] == [0.0, 1.0, 3.0]


def test_retry_after_beyond_the_budget_gives_up_at_once(session_for: SessionFor, vclock: Any) -> None:
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(vclock.now)
        return httpx.Response(429, headers={"Retry-After": "3600"}, json={})

    session = session_for(handler, retry=RetryPolicy(retry_count=8, budget_seconds=300))
    with pytest.raises(RateLimited) as info:
        vclock.run(session.get_json("/x"))
    assert calls == [0.0]
    assert info.value.retry_after == 3600
    assert "retry budget of 300 s" in str(info.value)


def test_retry_after_on_503_is_a_minimum_delay(session_for: SessionFor, vclock: Any) -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": "7"}), httpx.Response(200, json={})])
    session = session_for(lambda request: next(answers))
    vclock.run(session.get_json("/x"))
    assert vclock.sleeps == [7.0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("5", 5.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-3", 0.0),
        ("soon", None),
        ("inf", None),
        ("nan", None),
        (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),
        (email.utils.formatdate(NOW - 30, usegmt=True), 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, lambda: NOW) == expected


@settings(database=None)
@given(
    retry_number=st.integers(min_value=1, max_value=10_000),
    draw=st.floats(min_value=0, max_value=1),
    base=st.floats(min_value=0, max_value=60),
    cap=st.floats(min_value=0, max_value=600),
)
def test_backoff_stays_under_the_exponential_ceiling_and_the_cap(
    retry_number: int, draw: float, base: float, cap: float
) -> None:
    policy = RetryPolicy(base_delay=base, max_delay=cap)
    delay = policy.backoff(retry_number, draw)
    assert 0 <= delay <= min(cap, base * 2.0 ** min(retry_number - 1, 1000))
    assert policy.backoff(retry_number, 1.0) >= policy.backoff(max(1, retry_number - 1), 1.0)


def test_safe_to_resend() -> None:
    def caused(exc: BaseException) -> NetworkError:
        error = NetworkError("x")
        error.__cause__ = exc
        return error

    assert safe_to_resend(RateLimited("x", status=429))
    # A gateway may answer 503 after the backend processed a create: not proof enough.
    assert not safe_to_resend(ServerError("x", status=503))
    assert not safe_to_resend(ServerError("x", status=500))
    assert not safe_to_resend(ServerError("x", status=502))
    assert safe_to_resend(caused(httpx.ConnectError("refused")))
    assert safe_to_resend(caused(httpx.PoolTimeout("busy")))
    assert not safe_to_resend(caused(httpx.ReadTimeout("slow")))
    assert not safe_to_resend(caused(httpx.RemoteProtocolError("closed")))


def test_plan_retry_is_a_pure_decision() -> None:
    policy = RetryPolicy(retry_count=3, base_delay=2.0, max_delay=30.0, budget_seconds=60.0)
    server = ServerError("boom", status=500)
    unavailable = ServerError("down", status=503)
    limited = RateLimited("slow", status=429, retry_after=10.0)

    def plan(
        error: ServerError | RateLimited,
        retries: int = 0,
        elapsed: float = 0.0,
        may_resend: bool = True,
        retry_after: float | None = None,
    ) -> float | str:
        return plan_retry(
            policy,
            error,
            retries=retries,
            elapsed=elapsed,
            may_resend=may_resend,
            retry_after=retry_after,
            draw=1.0,
        )

    assert plan(server) == 2.0
    assert plan(server, retries=2) == 8.0
    assert plan(server, retries=3) == "retry_count (3) reached"
    assert plan(limited, retry_after=10.0) == 10.0
    assert plan(unavailable, retry_after=0.5) == 2.0
    assert "retry budget of 60 s" in str(plan(server, elapsed=59.0))
    assert "may have been processed" in str(plan(server, may_resend=False))
    assert "may have been processed" in str(plan(unavailable, may_resend=False))
    assert plan(limited, may_resend=False, retry_after=10.0) == 10.0


def test_exhausted_keeps_the_error_class_and_fields() -> None:
    limited = RateLimited(
        "qTest answered 429.", status=429, retry_after=3.0, api="qTest", method="GET", url="https://h/p?q=s"
    )
    final = exhausted(limited, 5, 12.34, "retry_count (4) reached")
    assert isinstance(final, RateLimited)
    assert (final.retry_after, final.status, final.api, final.method, final.path) == (
        3.0,
        429,
        "qTest",
        "GET",
        "https://h/p",
    )
    assert str(final) == "qTest answered 429. Gave up after 5 attempts over 12.3 s: retry_count (4) reached."


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_quota_learner_paces_just_under_what_the_api_accepted() -> None:
    clock = _Clock()
    bucket = TokenBucket(0, clock=clock)
    learner = QuotaLearner(bucket, clock=clock)
    for i in range(40):  # 40 accepted within the last second, then a 429
        clock.now = i * 0.02
        learner.success()
    assert learner.limited() == pytest.approx(40 * QuotaLearner.MARGIN)
    assert bucket.rate == pytest.approx(40 * QuotaLearner.MARGIN)
    # No burst beyond what the quota leaves over the pace: any one second stays under 40.
    assert bucket.capacity == pytest.approx(40 - bucket.rate)


def test_quota_learner_needs_evidence_and_respects_the_configured_ceiling() -> None:
    clock = _Clock()
    unlimited = TokenBucket(0, clock=clock)
    learner = QuotaLearner(unlimited, clock=clock)
    learner.success()
    learner.limited()
    assert unlimited.unlimited, "one success says nothing about the quota"
    capped = TokenBucket(10, clock=clock)
    learner = QuotaLearner(capped, clock=clock)
    for i in range(30):
        clock.now = 5 + i * 0.01
        learner.success()
    learner.limited()
    assert capped.rate == 10, "never above the configured rate"


def test_quota_learner_measures_the_busiest_second_not_the_last_one() -> None:
    clock = _Clock()
    bucket = TokenBucket(0, clock=clock)
    learner = QuotaLearner(bucket, clock=clock)
    for i in range(50):  # a full second at the quota...
        clock.now = i * 0.02
        learner.success()
    for i in range(10):  # ...then a second mostly spent paused after an earlier 429
        clock.now = 1.9 + i * 0.01
        learner.success()
    assert learner.busiest_second() == 50
    assert learner.limited() == pytest.approx(50 * QuotaLearner.MARGIN)


def test_quota_learner_paces_under_a_quota_the_api_states() -> None:
    """Jira Data Center states its token bucket on every answer: pace under it before any 429."""
    clock = _Clock()
    bucket = TokenBucket(0, clock=clock)
    learner = QuotaLearner(bucket, clock=clock)
    learner.advertised("10", "1")
    assert bucket.rate == pytest.approx(10 * QuotaLearner.MARGIN)
    for i in range(5000):  # past many a probe's time
        clock.now = i * 0.2
        learner.success()
    assert bucket.rate == pytest.approx(10 * QuotaLearner.MARGIN), "never probes above a stated quota"
    learner.advertised("x", "1")
    learner.advertised("5", "0")
    assert bucket.rate == pytest.approx(10 * QuotaLearner.MARGIN), "nonsense headers change nothing"
    capped = TokenBucket(2, clock=clock)
    QuotaLearner(capped, clock=clock).advertised("60", "1")
    assert capped.rate == 2, "never above the configured rate"


def test_the_session_reads_the_stated_quota_from_answers(session_for: SessionFor, vclock: Any) -> None:
    times: list[tuple[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        times.append((request.url.path, vclock.now))
        headers = {
            "X-RateLimit-FillRate": "4",
            "X-RateLimit-Interval-Seconds": "2",
            "X-RateLimit-Limit": "20",
        }
        return httpx.Response(200, json={}, headers=headers)

    session = session_for(handler)

    async def main() -> None:
        for i in range(4):
            await session.get_json(f"/r{i}")

    vclock.run(main())
    assert session.snapshot()["paced_requests_per_second"] == pytest.approx(2 * QuotaLearner.MARGIN)
    gaps = [b - a for (_, a), (_, b) in itertools.pairwise(times[1:])]
    assert all(gap == pytest.approx(1 / (2 * QuotaLearner.MARGIN)) for gap in gaps)


def test_429s_to_requests_sent_before_the_pace_changed_change_nothing() -> None:
    # Eight workers in flight in the first burst each get a 429: one lesson, not eight.
    clock = _Clock()
    bucket = TokenBucket(0, clock=clock)
    learner = QuotaLearner(bucket, clock=clock)
    for i in range(50):
        clock.now = i * 0.002
        learner.success()
    clock.now = 0.11
    learned = learner.limited(sent_at=0.10)
    for _ in range(7):
        clock.now += 0.001
        assert learner.limited(sent_at=0.10) == learned
    assert bucket.rate == pytest.approx(50 * QuotaLearner.MARGIN)
    clock.now = 20.0
    learner.limited(sent_at=19.9)  # sent at the new pace: it is too high, 2% lower
    assert bucket.rate == pytest.approx(learned * QuotaLearner.JITTER_STEP)


def test_answers_other_than_2xx_count_as_accepted_by_the_quota(session_for: SessionFor, vclock: Any) -> None:
    # A listing of steps' files: nine of ten answer 404 (no files). The quota counts them all, so
    # the 429 that ends the burst teaches the whole rate, not the share answered 2xx.
    served = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        served["n"] += 1
        if served["n"] == 41:
            return httpx.Response(429, headers={"Retry-After": "1"}, json={"message": "slow down"})
        return httpx.Response(200 if served["n"] % 10 == 0 else 404, json={})

    session = session_for(handler, wall_clock=lambda: NOW)

    async def one(i: int) -> None:
        with contextlib.suppress(NotFound):
            await session.get_json(f"/steps/{i}/attachments")

    async def main() -> None:
        for i in range(40):
            vclock.now = i * 0.02
            await one(i)
        await one(40)

    vclock.run(main())
    assert session.snapshot()["paced_requests_per_second"] == pytest.approx(40 * QuotaLearner.MARGIN)
