"""The bench's lower bound on wall time and the figures it prints."""

from __future__ import annotations

import pytest

from ztoq.cli.bench import lower_bound_seconds, report_lines
from ztoq.pipeline.orchestrator import RunSummary


def test_rate_limit_bound_per_api_adds_up() -> None:
    # 500 Zephyr and 1000 qTest requests at 50/s each: 10 s + 20 s, phases one after the other.
    assert lower_bound_seconds({"zephyr": 500, "qtest": 1000}, 0, 50, 8) == pytest.approx(30.0)


def test_latency_bound_with_workers() -> None:
    # 800 requests, 20 ms each, 8 in flight: 2 s; no rate limit.
    assert lower_bound_seconds({"qtest": 800}, 20, 0, 8) == pytest.approx(2.0)


def test_the_larger_of_both_bounds_counts() -> None:
    assert lower_bound_seconds({"qtest": 100}, 1000, 50, 1) == pytest.approx(100.0)
    assert lower_bound_seconds({"qtest": 100}, 0, 0, 8) == 0.0


def test_report_lines() -> None:
    summary = RunSummary(
        run_id=1,
        project_key="DEMO",
        status="succeeded",
        phases=[],
        wall_seconds=40.0,
        cpu_seconds=12.5,
        api={"zephyr": {"requests": 500, "retries": 2}, "qtest": {"requests": 1000, "rate_limit_waits": 3}},
    )
    lines = report_lines(summary, migrated=300, latency_ms=0, rate_limit=50, workers=8, executions=150)
    text = "\n".join(lines)
    assert "requests total: 1500" in text
    assert "requests per migrated entity: 5.00" in text
    assert "requests per execution: 10.00" in text
    assert "achieved requests/s: 37.5" in text
    assert "retries: 2" in text
    assert "rate-limit waits: 3" in text
    assert "): 30.00 s" in text
    assert "bound/actual: 0.75" in text
