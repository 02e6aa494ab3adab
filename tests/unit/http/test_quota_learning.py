"""Quota learning against the simulators' sliding-window quota, on a fake clock (no event loop)."""

from __future__ import annotations

import math

import pytest

from ztoq.http import TokenBucket
from ztoq.http.ratelimit import QuotaLearner
from ztoq.simulators.faults import SlidingWindowLimiter


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _migrate(
    seconds: float, quota: float, *, grows_to: float | None = None, slow_until: float = 0.0
) -> tuple[list[float], int, QuotaLearner]:
    """Send as fast as the pacer lets, against a sliding-window ``quota`` (``grows_to`` it half-way).

    Until ``slow_until`` the work itself allows only 30 requests a second (e.g. the database).

    Returns when each 429 came, how many requests were accepted, and the learner.
    """
    clock = _Clock()
    bucket = TokenBucket(0, clock=clock)
    learner = QuotaLearner(bucket, clock=clock)
    server = SlidingWindowLimiter(quota)
    refusals: list[float] = []
    accepted = 0
    while clock.now < seconds:
        if grows_to is not None and clock.now >= seconds / 2:
            server.rate = grows_to
        wait = bucket.take()
        if wait > 0:
            clock.now += wait + 1e-9  # a sleep ends a little after its time
            continue
        sent = clock.now
        retry_after = server.check("token", sent)
        if retry_after > 0:
            refusals.append(sent)
            learner.limited(sent_at=sent)
            clock.now = sent + max(1, math.ceil(retry_after))  # the session-wide pause
            continue
        accepted += 1
        learner.success(sent_at=sent)
        if 2.0 < clock.now < slow_until:
            clock.now += 1 / 30
        elif bucket.unlimited:
            clock.now += 0.0025  # eight workers, 20 ms each, before the quota is known
    return refusals, accepted, learner


def _learned_at_50() -> tuple[_Clock, TokenBucket, QuotaLearner]:
    """A learner that saw 50 requests accepted in its first second (the 429 not yet answered)."""
    clock = _Clock()
    bucket = TokenBucket(0, clock=clock)
    learner = QuotaLearner(bucket, clock=clock)
    for i in range(50):
        clock.now = i * 0.02
        learner.success()
    return clock, bucket, learner


def test_after_learning_the_quota_a_steady_run_is_hardly_refused() -> None:
    refusals, accepted, learner = _migrate(1000.0, 50)
    assert refusals[0] < 2.0, "the first 429 teaches the quota"
    later = [t for t in refusals if t > 2.0]
    # Only the rare probes for a higher quota are refused: 300 s after learning, then 600 s
    # later (at about 300 and 900 s), each costing one pause.
    assert len(later) == learner.probes == 2
    assert accepted >= 0.96 * 50 * 1000, "paced just under the quota"


def test_a_pace_no_work_reached_is_never_raised_untested() -> None:
    # Raising the pace while the work sends less proves nothing: when the work speeds up, that
    # pace is above the quota and every second of it is refused.
    refusals, _, _ = _migrate(290.0, 50, slow_until=200.0)
    assert [t for t in refusals if t > 2.0] == []


def test_a_quota_that_grew_is_noticed_by_a_probe() -> None:
    refusals, _, learner = _migrate(1300.0, 50, grows_to=80)
    assert learner.quota is not None
    # Refused at about 300 s; after the growth, accepted at 900 s (quota 55) and 1200 s (61).
    assert learner.quota > 60
    assert len([t for t in refusals if t > 2.0]) == 1


def test_a_429_at_the_learned_pace_lowers_it_and_it_is_not_raised_until_a_probe() -> None:
    clock, bucket, learner = _learned_at_50()
    learned = learner.limited()
    assert learned == pytest.approx(50 * QuotaLearner.MARGIN)
    for i in range(2000):  # no creeping up between probes
        clock.now = 2 + i * 1 / learned
        learner.success(sent_at=clock.now)
    assert bucket.rate == pytest.approx(learned)
    learner.limited(sent_at=clock.now)  # jitter at the learned pace: the margin shrinks
    assert bucket.rate == pytest.approx(learned * QuotaLearner.JITTER_STEP)


def test_the_margin_lost_to_jitter_comes_back_after_a_calm_spell_never_above_the_first() -> None:
    clock, bucket, learner = _learned_at_50()
    learned = learner.limited()
    clock.now = 5.0
    learner.limited(sent_at=clock.now)
    learner.limited(sent_at=clock.now)  # two 429s of jitter: two steps lost
    assert bucket.rate == pytest.approx(learned * QuotaLearner.JITTER_STEP**2)
    sent = 0
    while clock.now < 5.0 + 3 * QuotaLearner.RECOVER_AFTER + 1:
        clock.now += 1 / bucket.rate
        learner.success(sent_at=clock.now)
        sent += 1
        if clock.now < 5.0 + QuotaLearner.RECOVER_AFTER:
            assert bucket.rate == pytest.approx(learned * QuotaLearner.JITTER_STEP**2), "not before"
    # One step back after each calm spell, up to the first margin and no further.
    assert bucket.rate == pytest.approx(learned)
    assert learner.margin == QuotaLearner.MARGIN


def test_a_late_sleeper_keeps_its_turn_within_what_the_quota_leaves() -> None:
    # Every sleep ends 4 ms late (the event loop busy with other answers). A bucket of one token
    # loses those 4 ms each turn; one holding what the quota leaves over the pace does not, and
    # never sends more than the quota in any one second.
    clock, bucket, learner = _learned_at_50()
    pace = learner.limited()
    assert bucket.capacity == pytest.approx(50 - pace)
    server = SlidingWindowLimiter(50)
    start = clock.now = 10.0
    sent = 0
    while clock.now < start + 100:
        wait = bucket.take()
        if wait > 0:
            clock.now += wait + 0.004
            continue
        assert server.check("token", clock.now) == 0, f"refused at {clock.now:.3f}"
        sent += 1
    assert sent >= 0.99 * pace * 100


def test_a_429_when_far_fewer_were_accepted_than_the_pace_takes_that_as_the_quota() -> None:
    # Another client shares the token: only 20 a second get through.
    clock, bucket, learner = _learned_at_50()
    learner.limited()
    for i in range(200):
        clock.now = 20 + i * 0.05
        learner.success(sent_at=clock.now)
    learner.limited(sent_at=clock.now)
    assert learner.quota == pytest.approx(21)
    assert bucket.rate == pytest.approx(21 * QuotaLearner.MARGIN)
