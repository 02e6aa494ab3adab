"""The figures ``ztoq bench`` prints: pure arithmetic and formatting over a run's summary.

The targets they are judged by (the "large projects" issue), never by timed assertions: client
CPU at most :data:`CPU_TARGET_MS` per request; with a quota on each API, a wall time whose
ratio to the quota bound is at least :data:`RATIO_TARGET`; as many requests as the computed
minimum on a clean run (0 wasted) and 0 writes on a rerun; peak memory flat with project size.

The quota bound: the simulators apply ``--rate-limit`` per token to each API on its own, so API
``a`` sending ``n_a`` requests needs at least ``n_a / rate`` seconds, and, with ``workers``
requests in flight that each take ``latency``, at least ``n_a * latency / workers`` seconds. Its
throughput is the smaller of the two rates, so its time is the larger of the two terms. The APIs
can be used at the same time, so the run can at best take as long as the slower API: the bound
is the largest API time. The sequential bound adds the API times up instead (phases one after
the other: what ``ztoq bench`` called "lower bound on wall time" before).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ztoq.bench_minimum import ApiMinimum
from ztoq.pipeline.orchestrator import RunSummary

#: Client CPU per request the issue asks for, in milliseconds.
CPU_TARGET_MS = 1.0
#: The least quota bound / wall time the issue asks for.
RATIO_TARGET = 0.90


@dataclass(frozen=True)
class ApiTime:
    """The least time one API needs for its requests.

    Attributes:
        api: the API's name ("zephyr", "qtest").
        requests: requests sent to it.
        by_quota: ``requests / rate_limit`` seconds (0 without a rate limit).
        by_latency: ``requests * latency / workers`` seconds.
    """

    api: str
    requests: int
    by_quota: float
    by_latency: float

    @property
    def seconds(self) -> float:
        """The larger of both terms: the API's throughput is the smaller of both rates."""
        return max(self.by_quota, self.by_latency)


def api_times(
    requests: Mapping[str, int], latency_ms: float, rate_limit: float, workers: int
) -> list[ApiTime]:
    """The least time of each API (see the module docstring)."""
    return [
        ApiTime(
            api,
            n,
            n / rate_limit if rate_limit > 0 else 0.0,
            n * latency_ms / 1000.0 / max(1, workers),
        )
        for api, n in requests.items()
    ]


def quota_bound_seconds(times: Sequence[ApiTime]) -> float:
    """The least wall time when the APIs are used at the same time: the slowest API's."""
    return max((t.seconds for t in times), default=0.0)


def sequential_bound_seconds(times: Sequence[ApiTime]) -> float:
    """The least wall time when the APIs are used one after the other: the sum of their times."""
    return sum(t.seconds for t in times)


def cpu_ms_per_request(cpu_seconds: float, requests: int) -> float | None:
    """Process CPU milliseconds per request sent (None without requests)."""
    return cpu_seconds * 1000.0 / requests if requests else None


def _ratio(numerator: float, wall: float) -> str:
    return f"{numerator / wall:.2f}" if wall > 0 else "n/a"


def run_lines(summary: RunSummary, migrated: int, executions: int, peak_kib: int) -> list[str]:
    """Status, times, CPU per request, peak memory, requests and their rates, retries."""
    requests = summary.requests
    total = sum(requests.values())
    wall = summary.wall_seconds
    per_request = cpu_ms_per_request(summary.cpu_seconds, total)
    return [
        f"status: {summary.status}",
        f"wall time: {wall:.2f} s",
        f"CPU time (ztoq process, user+sys; the simulators are other processes): {summary.cpu_seconds:.2f} s",
        f"CPU per request: {per_request:.3f} ms (target <= {CPU_TARGET_MS:.1f} ms)"
        if per_request is not None
        else "CPU per request: n/a",
        f"peak memory (ztoq process RSS): {peak_kib / 1024:.1f} MiB",
        *(f"requests {api}: {n}" for api, n in requests.items()),
        f"requests total: {total}",
        f"migrated entities: {migrated}",
        f"requests per migrated entity: {total / migrated:.2f}"
        if migrated
        else "requests per migrated entity: n/a",
        f"executions: {executions}",
        f"requests per execution: {total / executions:.2f}" if executions else "requests per execution: n/a",
        f"achieved requests/s: {total / wall:.1f}" if wall > 0 else "achieved requests/s: n/a",
        f"retries: {summary.retries}",
        f"rate-limit waits: {summary.rate_limit_waits}",
    ]


def _api_time_line(time: ApiTime, latency_ms: float, rate_limit: float, workers: int) -> str:
    quota = f"{time.requests} / {rate_limit:g}/s = {time.by_quota:.2f} s" if rate_limit > 0 else "no quota"
    latency = f"{time.requests} x {latency_ms:g} ms / {workers} workers = {time.by_latency:.2f} s"
    return f"quota bound {time.api}: {quota}; latency {latency}; the larger: {time.seconds:.2f} s"


def bound_lines(
    requests: Mapping[str, int],
    wall: float,
    latency_ms: float,
    rate_limit: float,
    workers: int,
    minimum: Mapping[str, int] | None = None,
) -> list[str]:
    """Each API's least time, the quota bound and its ratio to the wall time, the sequential bound.

    With ``minimum`` (requests per API), also the bound a run sending only the minimum would have.
    """
    times = api_times(requests, latency_ms, rate_limit, workers)
    bound = quota_bound_seconds(times)
    lines = [_api_time_line(t, latency_ms, rate_limit, workers) for t in times]
    lines += [
        f"quota bound (the slower API; rate limit {rate_limit:g}/s per API, latency {latency_ms:g} ms, "
        f"{workers} workers): {bound:.2f} s",
        f"quota bound/actual: {_ratio(bound, wall)} (target >= {RATIO_TARGET:.2f})",
        f"sequential bound (the APIs one after the other, the sum): "
        f"{sequential_bound_seconds(times):.2f} s, /actual {_ratio(sequential_bound_seconds(times), wall)}",
    ]
    if minimum is not None:
        least = quota_bound_seconds(api_times(minimum, latency_ms, rate_limit, workers))
        lines.append(f"quota bound of the minimum requests: {least:.2f} s, /actual {_ratio(least, wall)}")
    return lines


def minimum_lines(sent: Mapping[str, int], minimums: Sequence[ApiMinimum]) -> list[str]:
    """Per API: the computed minimum with its terms, what was sent, and ``wasted = sent - minimum``."""
    lines: list[str] = []
    wasted_total = 0
    for minimum in minimums:
        n = sent.get(minimum.api, 0)
        wasted = n - minimum.total
        wasted_total += wasted
        lines.append(f"minimum {minimum.api}: {minimum.total} requests")
        lines += [f"  {term}: {count}" for term, count in minimum.terms]
        lines.append(f"wasted {minimum.api} = sent - minimum: {n} - {minimum.total} = {wasted} (target 0)")
    lines.append(f"wasted total: {wasted_total}")
    return lines


def rerun_lines(label: str, summary: RunSummary, writes: int, creates: int) -> list[str]:
    """What a rerun took and sent; the qTest writes it caused (0 is the target with the store intact)."""
    requests = summary.requests
    load = next((p.seconds for p in summary.phases if p.phase == "load"), 0.0)
    return [
        f"rerun, {label}: status {summary.status}, wall {summary.wall_seconds:.2f} s, "
        f"load phase {load:.2f} s",
        f"rerun, {label}: requests zephyr {requests.get('zephyr', 0)}, qtest {requests.get('qtest', 0)}; "
        f"qTest writes {writes} (creates {creates})",
    ]


@dataclass(frozen=True)
class QuotaUse:
    """How one API's quota was used over a run, from the requests its simulator let through per second.

    ``wall = before + work + shortfall + after``: the seconds before its first request, its requests'
    time at the full quota, the seconds of its busy span in which it was sent less than the quota,
    and the seconds after its last request.
    """

    api: str
    before: float
    work: float
    shortfall: float
    after: float
    slow_seconds: int
    lulls: tuple[tuple[int, int], ...]

    def line(self, wall: float) -> str:
        lulls = ", ".join(f"{start} s for {length} s" for start, length in self.lulls) or "none"
        return (
            f"quota use {self.api}: of {wall:.1f} s, {self.work:.1f} s of requests at the quota, "
            f"{self.before:.1f} s before its first request, {self.after:.1f} s after its last, "
            f"{self.shortfall:.1f} s short of the quota in between ({self.slow_seconds} seconds under 90 %); "
            f"longest lulls (under half the quota): {lulls}"
        )


def quota_use(
    api: str, admitted: Mapping[int, int], started: float, wall: float, rate_limit: float
) -> QuotaUse | None:
    """``admitted``: requests let through per wall-clock second (epoch); the run began at ``started``."""
    if rate_limit <= 0:
        return None
    end = started + wall
    seconds = sorted(s for s, n in admitted.items() if n and started - 1 < s < end)
    if not seconds:
        return QuotaUse(api, wall, 0.0, 0.0, 0.0, 0, ())
    first, last = seconds[0], seconds[-1]
    work = sum(admitted[s] for s in seconds) / rate_limit
    before = max(0.0, first - started)
    after = max(0.0, end - (last + 1))
    busy = min(float(last + 1), end) - max(float(first), started)
    lulls: list[tuple[int, int]] = []
    slow = 0
    run_start: int | None = None
    for s in range(first, last + 2):
        n = admitted.get(s, 0) if s <= last else rate_limit
        slow += 1 if n < 0.9 * rate_limit else 0
        if n < 0.5 * rate_limit and run_start is None:
            run_start = s
        elif n >= 0.5 * rate_limit and run_start is not None:
            lulls.append((int(run_start - started), s - run_start))
            run_start = None
    top = tuple(sorted(lulls, key=lambda lull: -lull[1])[:3])
    return QuotaUse(api, before, work, max(0.0, busy - work), after, slow, top)
