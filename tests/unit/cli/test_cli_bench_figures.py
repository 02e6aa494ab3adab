"""The bench's bound arithmetic and the figures it prints (pure functions, no timing)."""

from __future__ import annotations

import pytest

from ztoq.bench_minimum import ApiMinimum
from ztoq.cli.bench_figures import (
    api_times,
    bound_lines,
    cpu_ms_per_request,
    minimum_lines,
    quota_bound_seconds,
    quota_use,
    run_lines,
    sequential_bound_seconds,
)
from ztoq.pipeline.orchestrator import RunSummary


def test_each_api_takes_the_larger_of_its_quota_and_latency_terms() -> None:
    # 500 Zephyr requests at 50/s: 10 s; 1000 qTest requests: 20 s. 20 ms each, 8 in flight: 1.25 s, 2.5 s.
    zephyr, qtest = api_times({"zephyr": 500, "qtest": 1000}, 20, 50, 8)
    assert (zephyr.by_quota, zephyr.by_latency, zephyr.seconds) == pytest.approx((10.0, 1.25, 10.0))
    assert (qtest.by_quota, qtest.by_latency, qtest.seconds) == pytest.approx((20.0, 2.5, 20.0))


def test_the_quota_bound_is_the_slower_api_and_the_sequential_bound_the_sum() -> None:
    times = api_times({"zephyr": 500, "qtest": 1000}, 0, 50, 8)
    assert quota_bound_seconds(times) == pytest.approx(20.0)
    assert sequential_bound_seconds(times) == pytest.approx(30.0)


def test_without_a_rate_limit_latency_bounds_alone() -> None:
    # 800 requests, 20 ms each, 8 in flight: 2 s; 1 worker: 16 s.
    assert quota_bound_seconds(api_times({"qtest": 800}, 20, 0, 8)) == pytest.approx(2.0)
    assert quota_bound_seconds(api_times({"qtest": 800}, 20, 0, 1)) == pytest.approx(16.0)
    assert quota_bound_seconds(api_times({"qtest": 100}, 0, 0, 8)) == 0.0
    assert quota_bound_seconds([]) == 0.0


def test_cpu_per_request_in_milliseconds() -> None:
    assert cpu_ms_per_request(1.5, 3000) == pytest.approx(0.5)
    assert cpu_ms_per_request(1.5, 0) is None


def _summary(wall: float = 40.0, cpu: float = 12.0) -> RunSummary:
    return RunSummary(
        run_id=1,
        project_key="DEMO",
        status="succeeded",
        phases=[],
        wall_seconds=wall,
        cpu_seconds=cpu,
        api={"zephyr": {"requests": 500, "retries": 2}, "qtest": {"requests": 1000, "rate_limit_waits": 3}},
    )


def test_run_lines() -> None:
    text = "\n".join(run_lines(_summary(), migrated=300, executions=150, peak_kib=2048))
    assert "CPU per request: 8.000 ms (target <= 1.0 ms)" in text
    assert "peak memory (ztoq process RSS): 2.0 MiB" in text
    assert "requests total: 1500" in text
    assert "requests per migrated entity: 5.00" in text
    assert "requests per execution: 10.00" in text
    assert "achieved requests/s: 37.5" in text
    assert "retries: 2" in text
    assert "rate-limit waits: 3" in text


def test_bound_lines_give_each_api_the_bound_and_its_ratio() -> None:
    lines = bound_lines({"zephyr": 500, "qtest": 1000}, 25.0, 0, 50, 8, minimum={"zephyr": 400, "qtest": 500})
    text = "\n".join(lines)
    assert "quota bound zephyr: 500 / 50/s = 10.00 s;" in text
    assert "quota bound qtest: 1000 / 50/s = 20.00 s;" in text
    assert "per API, latency 0 ms, 8 workers): 20.00 s" in text
    assert "quota bound/actual: 0.80 (target >= 0.90)" in text
    assert "sequential bound (the APIs one after the other, the sum): 30.00 s, /actual 1.20" in text
    assert "quota bound of the minimum requests: 10.00 s, /actual 0.40" in text


def test_minimum_lines_print_wasted_per_api() -> None:
    minimums = [
        ApiMinimum("zephyr", (("project", 1), ("pages", 399))),
        ApiMinimum("qtest", (("creates", 900),)),
    ]
    text = "\n".join(minimum_lines({"zephyr": 500, "qtest": 900}, minimums))
    assert "minimum zephyr: 400 requests" in text
    assert "  pages: 399" in text
    assert "wasted zephyr = sent - minimum: 500 - 400 = 100 (target 0)" in text
    assert "wasted qtest = sent - minimum: 900 - 900 = 0 (target 0)" in text
    assert "wasted total: 100" in text


def test_quota_use_splits_the_wall_time_into_work_lulls_and_idle_ends() -> None:
    # Quota 10/s, run from t=100.5 for 10 s: first request in second 102, last in second 107, a
    # lull (2/s) in 104 and 105; the rest at the quota.
    admitted = {99: 10, 102: 10, 103: 10, 104: 2, 105: 2, 106: 10, 107: 10}
    use = quota_use("zephyr", admitted, 100.5, 10.0, 10.0)
    assert use is not None
    assert use.work == pytest.approx(4.4)  # 44 requests at 10/s; second 99 is before the run
    assert (use.before, use.after) == pytest.approx((1.5, 2.5))
    assert use.shortfall == pytest.approx(6.0 - 4.4)
    assert use.before + use.work + use.shortfall + use.after == pytest.approx(10.0)
    assert use.slow_seconds == 2
    assert use.lulls == ((3, 2),)  # 104 - 100.5 -> 3 s into the run, 2 s long
    assert "longest lulls (under half the quota): 3 s for 2 s" in use.line(10.0)


def test_quota_use_without_a_quota_or_requests() -> None:
    assert quota_use("qtest", {5: 3}, 0.0, 10.0, 0.0) is None
    idle = quota_use("qtest", {}, 0.0, 10.0, 5.0)
    assert idle is not None
    assert (idle.before, idle.work) == (10.0, 0.0)
