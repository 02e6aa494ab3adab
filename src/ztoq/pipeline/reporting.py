"""Read the store into the report's input model (the report package itself never touches the store)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ztoq import __version__
from ztoq.config import ZtoqConfig
from ztoq.pipeline.source_rows import stored_source_name
from ztoq.pipeline.status import type_status
from ztoq.report import (
    CountRow,
    EntityLink,
    MismatchRecord,
    PhaseRecord,
    ProblemRecord,
    ReportInput,
    RunRecord,
)
from ztoq.report.attachments import attachment_overview
from ztoq.sources import source_title
from ztoq.store import Store


def _api_totals(stats: dict[str, Any]) -> tuple[dict[str, int], int, int, float]:
    api = stats.get("api") or {}
    requests = {name: int(s.get("requests", 0)) for name, s in api.items()}
    retries = sum(int(s.get("retries", 0)) for s in api.values())
    waits = sum(int(s.get("rate_limit_waits", 0)) for s in api.values())
    seconds = sum(float(s.get("rate_limit_wait_seconds", 0.0)) for s in api.values())
    return requests, retries, waits, seconds


def report_input(store: Store, config: ZtoqConfig, title: str, *, run_limit: int = 50) -> ReportInput:
    """Everything the report shows for the config's project, read from the store."""
    key = config.zephyr.project_key
    with store.session() as repo:
        runs = list(reversed(repo.list_runs(key, limit=run_limit)))
        run_records: list[RunRecord] = []
        phases: list[PhaseRecord] = []
        validation: dict[str, Any] = {}
        for run in runs:
            requests, retries, waits, seconds = _api_totals(run.stats)
            run_records.append(
                RunRecord(
                    run.id,
                    run.command,
                    list(run.phases),
                    run.status,
                    run.started_at,
                    run.finished_at,
                    requests,
                    retries,
                    waits,
                    seconds,
                    run.error,
                )
            )
            for phase in repo.phase_runs(run.id):
                phase_counts = {
                    t: {k: int(v or 0) for k, v in c.items() if k in ("done", "total", "failed", "skipped")}
                    for t, c in (phase.counts or {}).items()
                    if isinstance(c, dict)
                }
                phases.append(
                    PhaseRecord(
                        run.id, phase.phase, phase.status, phase.started_at, phase.finished_at, phase_counts
                    )
                )
            if run.stats.get("validation"):
                validation = run.stats["validation"]
        counts = [
            CountRow(
                row.entity_type,
                row.source,
                row.planned,
                row.loaded,
                (validation.get(row.entity_type) or {}).get("target") if validation else None,
                row.skipped,
                row.failed,
            )
            for row in type_status(repo, key)
        ]
        mappings = {(m.entity_type, m.source_key): m for m in repo.iter_mappings(key)}
        problems: list[ProblemRecord] = []
        mismatches: list[MismatchRecord] = []
        for p in repo.iter_problems(key):
            mapping = mappings.get((p.entity_type, p.source_key))
            detail = p.detail if isinstance(p.detail, dict) else None
            web_url = mapping.web_url if mapping else None
            target_id = mapping.target_id if mapping else None
            problems.append(
                ProblemRecord(
                    p.phase,
                    p.severity,
                    p.code,
                    p.entity_type,
                    p.source_key,
                    p.message,
                    p.field,
                    detail,
                    web_url,
                    target_id,
                )
            )
            if p.severity == "mismatch" and detail is not None:
                mismatches.append(
                    MismatchRecord(
                        p.entity_type,
                        p.source_key,
                        target_id,
                        web_url,
                        p.field or "",
                        str(detail.get("expected", "")),
                        str(detail.get("actual", "")),
                    )
                )
        entities = [
            EntityLink(m.entity_type, m.source_key, m.target_id, m.web_url, m.state)
            for m in mappings.values()
        ]
        attachments = attachment_overview(repo, key)
        source = stored_source_name(repo, key)
    return ReportInput(
        title=title,
        project_key=key,
        qtest_project_id=config.qtest.project_id or None,
        generated_at=datetime.now(UTC),
        ztoq_version=__version__,
        store=store.description,
        runs=run_records,
        phases=phases,
        counts=counts,
        problems=problems,
        mismatches=mismatches,
        entities=entities,
        attachments=attachments,
        source=source_title(source) if source else "",
    )
