"""``ztoq bench``: time a migration against simulators in separate processes, and what bounds it.

It prints the figures of :mod:`ztoq.cli.bench_figures` (CPU per request, the quota bound per API
and its ratio to the wall time), the least requests the migration needs per API
(:mod:`ztoq.bench_minimum`) against what it sent, and what a rerun with the store intact wrote
to qTest (0 is the target); with ``--delta``, what a delta sync sent (:mod:`ztoq.cli.bench_delta`).
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import typer

from ztoq.bench_minimum import cloud_minimum, qtest_minimum, server_minimum, target_plan
from ztoq.cli.bench_delta import delta_lines
from ztoq.cli.bench_figures import bound_lines, minimum_lines, quota_use, rerun_lines, run_lines
from ztoq.cli.console import load, out
from ztoq.config import ZtoqConfig
from ztoq.errors import InputError
from ztoq.pipeline.orchestrator import run_migration
from ztoq.pipeline.status import type_status
from ztoq.store import TARGET_STATES, Repository, open_store

if TYPE_CHECKING:
    from ztoq.rehearsal import RehearsalStore

MIB = 1024 * 1024


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
        help="After the rerun with the store intact, run again on an empty store (as a fresh CI runner "
        "would): print what it sent, and what the adoption index cost.",
    ),
    rerun: bool = typer.Option(
        True,
        "--rerun/--no-rerun",
        help="Run again with the store intact and print its qTest writes (0 is the target).",
    ),
    delta: int = typer.Option(
        0,
        "--delta",
        min=0,
        help="After the first run, rename K test cases and add K executions in Zephyr, run a delta sync "
        "(migration.incremental) and print what it sent against the target (cloud source).",
    ),
    delta_executions: int | None = typer.Option(
        None,
        "--delta-executions",
        min=0,
        help="With --delta: add this many executions instead of K (0: the test cases are only renamed).",
    ),
    db_url: str | None = typer.Option(
        None,
        "--db-url",
        help="Keep the bench's store in this PostgreSQL database (postgresql+psycopg://user@host:5432/db), "
        "in a schema of its own that is dropped at the end; default: a temporary SQLite file.",
    ),
) -> None:
    """Migrate a generated project between simulators in separate processes and print the figures.

    The figures: CPU per request, the quota bound per API and its ratio to the wall time, the least
    requests per API against those sent (wasted = sent - minimum), and the qTest writes of a rerun.
    With --chaos: kill the migration with SIGKILL at --kills points spread over every phase, run it
    again each time, and compare the qTest project with that of one uninterrupted run.
    """
    from ztoq.rehearsal import (  # loaded only when used
        REHEARSAL_SOURCES,
        rehearsal_store,
        served_requirement_names,
        served_source_dataset,
        simulators,
        write_config,
    )

    if source not in REHEARSAL_SOURCES:
        raise InputError(f"--source must be cloud or server, not {source!r}.")
    if delta and source != "cloud":
        raise InputError(
            "--delta needs --source cloud: Zephyr Server/Data Center v1 has no updatedAfter, so its "
            "delta syncs list everything."
        )
    if delta_executions is not None and delta_executions > delta:
        raise InputError(
            f"--delta-executions {delta_executions} needs --delta of at least as many: each execution "
            "is added on a renamed test case."
        )
    if chaos:
        _chaos(cases or 25, kills, seed, fail_rate, source)
        return

    cases = cases or 2000
    with (
        tempfile.TemporaryDirectory(prefix="ztoq-bench-") as tmp,
        rehearsal_store(Path(tmp), db_url) as bench_store,
        simulators(
            cases,
            latency_ms=latency_ms,
            rate_limit=rate_limit,
            attachment_limit_mb=max(50.0, large_attachment_mb + 1),
            seed=seed,
            executions_per_case=executions_per_case,
            large_attachments=large_attachments,
            large_attachment_mb=large_attachment_mb,
            source=source,
        ) as sims,
    ):
        workdir = Path(tmp)
        data = sims.config(workdir, max_workers=workers)
        data["database"] = bench_store.database
        data["logging"] = {"level": "WARNING"}
        if delta:
            data.setdefault("migration", {})["incremental"] = True
        # The large files are sent too (a site with a raised limit): what is measured is streaming.
        data["qtest"]["max_attachment_mb"] = max(50.0, large_attachment_mb + 1)
        cfg = load(write_config(data, workdir / "config.yaml"))
        started = time.time()
        summary = run_migration(cfg, command="bench")
        # Read first: generating the dataset again below grows this process.
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        key = cfg.zephyr.project_key
        with open_store(cfg.database) as store, store.session() as repo:
            migrated = sum(row.loaded for row in type_status(repo, key))
            executions = repo.source_counts(key).get("test_execution", 0)
            files = attachment_lines(repo, key, summary.wall_seconds)
            plan = target_plan(repo, key)
        # The source simulator generated its dataset from these arguments: so is it again here.
        dataset = served_source_dataset(
            cases,
            seed=seed,
            executions_per_case=executions_per_case,
            large_attachments=large_attachments,
            large_attachment_mb=large_attachment_mb,
            source=source,
        )
        source_minimum = cloud_minimum(dataset) if source == "cloud" else server_minimum(dataset)
        del dataset
        minimums = [source_minimum, qtest_minimum(plan, served_requirement_names(seed))]
        out.print(
            f"ztoq bench: {cases} test cases ({source} source), latency {latency_ms:g} ms, "
            f"rate limit {rate_limit:g}/s, {workers} workers"
        )
        for line in (
            f"store: {bench_store.describe()}",
            *run_lines(summary, migrated, executions, peak_kib),
            *bound_lines(
                summary.requests,
                summary.wall_seconds,
                latency_ms,
                rate_limit,
                workers,
                {m.api: m.total for m in minimums},
            ),
            *minimum_lines(summary.requests, minimums),
            *quota_use_lines(
                {"zephyr": sims.zephyr.url, "qtest": sims.qtest.url},
                started,
                summary.wall_seconds,
                rate_limit,
            ),
            *files,
        ):
            out.print(line)
        if summary.status == "succeeded" and (rerun or lost_store):
            for line in reruns(cfg, bench_store, sims.qtest.url, lost_store=lost_store):
                out.print(line)
        if summary.status == "succeeded" and delta:
            token = cfg.zephyr.api_token.get_secret_value() if cfg.zephyr.api_token else ""
            for line in delta_lines(cfg, sims.zephyr.url, sims.qtest.url, token, delta, delta_executions):
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


def quota_use_lines(urls: dict[str, str], started: float, wall: float, rate_limit: float) -> list[str]:
    """Per API, where the run's wall time went against its quota (none without ``--rate-limit``)."""
    lines: list[str] = []
    if rate_limit <= 0:
        return lines
    for api, url in urls.items():
        stats = httpx.get(f"{url}/_sim/stats", params={"timeline": "1"}, timeout=30).json()
        admitted = {int(second): n for second, n in stats.get("admitted_per_second", {}).items()}
        use = quota_use(api, admitted, started, wall, rate_limit)
        if use is not None:
            lines.append(use.line(wall))
    return lines


def reruns(cfg: ZtoqConfig, store: RehearsalStore, qtest_url: str, *, lost_store: bool) -> list[str]:
    """Run the migration again with the store intact (and then on an empty store); what each sent."""
    lines: list[str] = []
    for label in ("store intact", "store lost") if lost_store else ("store intact",):
        if label == "store lost":
            store.forget()
        before = _qtest_writes(qtest_url)
        rerun = run_migration(cfg, command=f"bench rerun ({label})")
        writes, creates = (now - then for now, then in zip(_qtest_writes(qtest_url), before, strict=True))
        lines += rerun_lines(label, rerun, writes, creates)
        if label == "store intact":
            lines.append(f"writes for a rerun (store intact): {writes} (target 0)")
    return lines


def _qtest_writes(qtest_url: str) -> tuple[int, int]:
    """(writes, creates) the qTest simulator has answered so far (a search is a read, sent as a POST)."""
    endpoints = httpx.get(f"{qtest_url}/_sim/stats", timeout=30).json()["endpoints"]
    creating = ("/modules", "/test-cases", "/releases", "/test-cycles", "/test-runs", "/test-logs")
    writes = creates = 0
    for endpoint, by_status in endpoints.items():
        method, _, template = endpoint.partition(" ")
        if (
            method in ("POST", "PUT", "PATCH", "DELETE")
            and not template.startswith("/oauth")
            and not template.endswith("/search")
        ):
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
