"""``ztoq bench``: time a migration against simulators in separate processes, and what bounds it."""

from __future__ import annotations

import resource
import tempfile
from pathlib import Path

import httpx
import typer

from ztoq.cli.console import load, out
from ztoq.config import ZtoqConfig
from ztoq.errors import InputError
from ztoq.pipeline.orchestrator import RunSummary, run_migration
from ztoq.pipeline.status import type_status
from ztoq.store import TARGET_STATES, Repository, open_store

MIB = 1024 * 1024


def lower_bound_seconds(
    requests: dict[str, int], latency_ms: float, rate_limit: float, workers: int
) -> float:
    """The least wall time the rate limit and latency allow for these requests.

    Each API is used by its own phases one after the other, so the bounds add up: an API answering
    ``n`` requests needs at least ``n / rate_limit`` seconds under the limit, and at least
    ``n * latency / workers`` seconds with ``workers`` requests in flight.
    """
    total = 0.0
    for n in requests.values():
        by_rate = n / rate_limit if rate_limit > 0 else 0.0
        by_latency = n * latency_ms / 1000.0 / max(1, workers)
        total += max(by_rate, by_latency)
    return total


def report_lines(
    summary: RunSummary,
    migrated: int,
    latency_ms: float,
    rate_limit: float,
    workers: int,
    executions: int = 0,
) -> list[str]:
    """The figures ``ztoq bench`` prints, one ``name: value`` per line."""
    requests = summary.requests
    total = sum(requests.values())
    bound = lower_bound_seconds(requests, latency_ms, rate_limit, workers)
    wall = summary.wall_seconds
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    lines = [
        f"status: {summary.status}",
        f"wall time: {wall:.2f} s",
        f"CPU time: {summary.cpu_seconds:.2f} s",
        f"peak memory: {peak_kib / 1024:.1f} MiB",
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
        f"lower bound on wall time (rate limit {rate_limit:g}/s, latency {latency_ms:g} ms, "
        f"{workers} workers): {bound:.2f} s",
        f"bound/actual: {bound / wall:.2f}" if wall > 0 else "bound/actual: n/a",
    ]
    return lines


def bench(
    cases: int | None = typer.Option(
        None, "--cases", min=1, help="Test cases in the generated project (default 2000; 25 with --chaos)."
    ),
    latency_ms: float = typer.Option(0.0, "--latency-ms", min=0, help="Simulated latency per request."),
    rate_limit: float = typer.Option(0.0, "--rate-limit", min=0, help="Requests/s per token (0 = none)."),
    workers: int = typer.Option(8, "--workers", min=1, help="Concurrent requests (performance.max_workers)."),
    seed: int = typer.Option(7, "--seed", help="Seed of the generated project."),
    executions_per_case: float | None = typer.Option(
        None, "--executions-per-case", min=0.1, help="About this many executions per test case."
    ),
    chaos: bool = typer.Option(False, "--chaos", help="Run the kill harness instead (see --kills)."),
    kills: int = typer.Option(40, "--kills", min=1, help="With --chaos: how many kill points to try."),
    fail_rate: float = typer.Option(
        0.0, "--fail-rate", min=0, max=0.5, help="With --chaos: qTest fault rate."
    ),
    large_attachments: int = typer.Option(
        0, "--large-attachments", min=0, help="Also attach K large files to the generated project."
    ),
    large_attachment_mb: float = typer.Option(
        20.0, "--large-attachment-mb", min=0.001, help="Size of each --large-attachments file, in MiB."
    ),
    source: str = typer.Option(
        "cloud",
        "--source",
        help="The source simulator: cloud (Zephyr Scale Cloud v2) or server (Data Center v1).",
    ),
    lost_store: bool = typer.Option(
        False,
        "--lost-store",
        help="Then run again with the store intact, and again on an empty store (as a fresh CI runner "
        "would): print what each rerun sent, and what the adoption index cost.",
    ),
) -> None:
    """Migrate a generated project between simulators in separate processes and print the figures.

    With --chaos: kill the migration with SIGKILL at --kills points spread over every phase, run it
    again each time, and compare the qTest project with that of one uninterrupted run.
    """
    from ztoq.rehearsal import REHEARSAL_SOURCES, simulators, write_config  # loaded only when used

    if source not in REHEARSAL_SOURCES:
        raise InputError(f"--source must be cloud or server, not {source!r}.")
    if chaos:
        _chaos(cases or 25, kills, seed, fail_rate, source)
        return

    cases = cases or 2000
    with (
        tempfile.TemporaryDirectory(prefix="ztoq-bench-") as tmp,
        simulators(
            cases,
            seed=seed,
            latency_ms=latency_ms,
            rate_limit=rate_limit,
            large_attachments=large_attachments,
            large_attachment_mb=large_attachment_mb,
            attachment_limit_mb=max(50.0, large_attachment_mb + 1),
            source=source,
        ) as sims,
    ):
        workdir = Path(tmp)
        data = sims.config(workdir, max_workers=workers)
        data["logging"] = {"level": "WARNING"}
        # The large files are sent too (a site with a raised limit): what is measured is streaming.
        data["qtest"]["max_attachment_mb"] = max(50.0, large_attachment_mb + 1)
        cfg = load(write_config(data, workdir / "config.yaml"))
        summary = run_migration(cfg, command="bench")
        with open_store(cfg.database) as store, store.session() as repo:
            migrated = sum(row.loaded for row in type_status(repo, cfg.zephyr.project_key))
            executions = repo.source_counts(cfg.zephyr.project_key).get("test_execution", 0)
            files = attachment_lines(repo, cfg.zephyr.project_key, summary.wall_seconds)
        out.print(
            f"ztoq bench: {cases} test cases ({source} source), latency {latency_ms:g} ms, "
            f"rate limit {rate_limit:g}/s, {workers} workers"
        )
        for line in report_lines(summary, migrated, latency_ms, rate_limit, workers, executions) + files:
            out.print(line)
        if summary.status == "succeeded" and lost_store:
            for line in rerun_lines(cfg, Path(cfg.database.path), sims.qtest.url):
                out.print(line)
    if summary.status != "succeeded":
        raise typer.Exit(1)


def attachment_lines(repo: Repository, project_key: str, wall_seconds: float) -> list[str]:
    """Attachment figures: files and MB downloaded to the cache and uploaded, and the MB/s moved."""
    sizes = {f.source_key: f.size or 0 for f in repo.iter_attachments(project_key) if f.state == "cached"}
    sent = [
        sizes.get(m.source_key, 0)
        for m in repo.iter_mappings(project_key, "attachment", states=TARGET_STATES)
    ]
    down, up = sum(sizes.values()), sum(sent)
    moved = (down + up) / MIB
    return [
        f"attachments downloaded: {len(sizes)} files, {down / MIB:.1f} MB",
        f"attachments uploaded: {len(sent)} files, {up / MIB:.1f} MB",
        f"attachment throughput (down + up over the wall time): {moved / wall_seconds:.1f} MB/s"
        if wall_seconds > 0
        else "attachment throughput: n/a",
    ]


def rerun_lines(cfg: ZtoqConfig, database: Path, qtest_url: str) -> list[str]:
    """Run the migration again with the store intact, then on an empty store; what each sent."""
    lines: list[str] = []
    for label in ("store intact", "store lost"):
        if label == "store lost":
            database.unlink()
        before = _qtest_writes(qtest_url)
        rerun = run_migration(cfg, command=f"bench rerun ({label})")
        writes, creates = (now - then for now, then in zip(_qtest_writes(qtest_url), before, strict=True))
        requests = rerun.requests
        lines += [
            f"rerun, {label}: status {rerun.status}, wall {rerun.wall_seconds:.2f} s, "
            f"load phase {next((p.seconds for p in rerun.phases if p.phase == 'load'), 0.0):.2f} s",
            f"rerun, {label}: requests zephyr {requests.get('zephyr', 0)}, qtest {requests.get('qtest', 0)}; "
            f"qTest writes {writes} (creates {creates})",
        ]
    return lines


def _qtest_writes(qtest_url: str) -> tuple[int, int]:
    """(writes, creates) the qTest simulator has answered so far."""
    endpoints = httpx.get(f"{qtest_url}/_sim/stats", timeout=30).json()["endpoints"]
    creating = ("/modules", "/test-cases", "/releases", "/test-cycles", "/test-runs", "/test-logs")
    writes = creates = 0
    for endpoint, by_status in endpoints.items():
        method, _, template = endpoint.partition(" ")
        if method in ("POST", "PUT", "PATCH", "DELETE") and not template.startswith("/oauth"):
            count = sum(by_status.values())
            writes += count
            creates += count if method == "POST" and template.endswith(creating) else 0
    return writes, creates


def _chaos(cases: int, kills: int, seed: int, fail_rate: float, source: str) -> None:
    from ztoq.chaos import run_chaos

    out.print(
        f"ztoq bench --chaos: {cases} test cases ({source} source), {kills} kill points, "
        f"qTest fault rate {fail_rate:g}"
    )
    result = run_chaos(cases, kills, seed, fail_rate, source=source)
    for line in (
        f"chains: {result.chains}",
        f"killed at the point: {result.kills}",
        f"point not reached (ran to the end): {result.not_reached}",
        f"duplicates: {result.duplicates}",
        f"missing: {result.missing}",
        f"changed: {result.changed}",
        f"retries in the resumed runs: {result.retries}",
    ):
        out.print(line)
    for failure in result.failures:
        out.print(f"FAILED {failure}")
    if result.failures:
        raise typer.Exit(1)
