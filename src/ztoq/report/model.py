"""Report input, and the pure builder that turns it into a :class:`~ztoq.report.sections.Report`.

The pipeline fills a :class:`ReportInput` from the store; :func:`build_report` decides the verdict,
compares source and target counts, groups problems and collects missing and mismatched entities.
It does no I/O, so every rule is unit-tested on plain values. Rendering is in ``render_*.py``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ztoq.report.attachment_summary import AttachmentOverview
from ztoq.report.formatting import entity_sort_key, seconds_between
from ztoq.report.issues import RefMaker, issue_groups
from ztoq.report.people import unmatched_users
from ztoq.report.sections import (
    KEPT_IN_TEXT,
    PASSED,
    PASSED_WITH_DEGRADATIONS,
    CountLine,
    KeptField,
    KeptInText,
    Notice,
    PhaseLine,
    ProblemGroup,
    ProblemItem,
    Report,
    RunLine,
    StateCount,
    Traffic,
    Verdict,
    severity_rank,
)
from ztoq.report.verdict import decide, make_notices


@dataclass(frozen=True)
class RunRecord:
    """One run of ztoq (status: running, succeeded, failed or interrupted)."""

    id: int
    command: str
    phases: list[str]
    status: str
    started_at: datetime
    finished_at: datetime | None
    requests_by_api: dict[str, int]
    retries: int
    rate_limit_waits: int
    rate_limit_wait_seconds: float
    error: str | None = None


@dataclass(frozen=True)
class PhaseRecord:
    """One phase of a run; counts maps entity_type to {"done", "total", "failed", "skipped"}."""

    run_id: int
    phase: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, dict[str, int]]


@dataclass(frozen=True)
class CountRow:
    """Counts of one entity type at each step; target is None when validate did not count it."""

    entity_type: str
    source: int
    planned: int
    loaded: int
    target: int | None
    skipped: int
    failed: int


@dataclass(frozen=True)
class ProblemRecord:
    """A recorded problem (severity: kept_in_text, skipped, degraded, failed, missing or mismatch)."""

    phase: str
    severity: str
    code: str
    entity_type: str
    source_key: str
    message: str
    field: str | None = None
    detail: dict[str, Any] | None = None
    web_url: str | None = None
    target_id: int | None = None


@dataclass(frozen=True)
class MismatchRecord:
    """A field validate found different in qTest from what was planned."""

    entity_type: str
    source_key: str
    target_id: int | None
    web_url: str | None
    field: str
    expected: str
    actual: str


@dataclass(frozen=True)
class EntityLink:
    """Where one Zephyr entity is in qTest (state: created, updated, adopted, failed, skipped, ...)."""

    entity_type: str
    source_key: str
    target_id: int | None
    web_url: str | None
    state: str


@dataclass(frozen=True)
class ReportInput:
    """Everything the report needs, read from the store by the pipeline."""

    title: str
    project_key: str
    qtest_project_id: int | None
    generated_at: datetime
    ztoq_version: str
    store: str  # a description without password
    runs: list[RunRecord]
    phases: list[PhaseRecord]
    counts: list[CountRow]
    problems: list[ProblemRecord]
    mismatches: list[MismatchRecord]
    entities: list[EntityLink]
    #: The attachments' summary; None when the input was not read from a store that has one.
    attachments: AttachmentOverview | None = None
    #: What the project was extracted from ("Zephyr Scale Cloud (REST API v2)"); "" when unknown.
    source: str = ""


_Key = tuple[str, str]


def build_report(data: ReportInput, *, sample_size: int = 50) -> Report:
    """Build the report model from the input: pure, deterministic, no I/O.

    Args:
        data: Everything read from the store.
        sample_size: How many examples per group HTML and Markdown show (JSON has all).

    Returns:
        The report, ready for any renderer.

    Raises:
        ValueError: When sample_size is negative.
    """
    if sample_size < 0:
        raise ValueError("sample_size must be >= 0")
    refs = RefMaker(data.entities)
    counts = tuple(_count_line(row) for row in sorted(data.counts, key=_row_order))
    totals = _totals(counts)
    runs = _run_lines(data.runs, data.phases)
    traffic = _traffic(data.runs)
    items = [refs.problem(p) for p in data.problems]
    problem_items = [i for i in items if i.severity != KEPT_IN_TEXT]
    kept_in_text = _kept_in_text([i for i in items if i.severity == KEPT_IN_TEXT], sample_size)
    groups = _problem_groups(problem_items, sample_size)
    issues = issue_groups(data, problem_items, refs, sample_size)
    severity_totals = _severity_totals(problem_items)
    verdict = decide(data, counts, totals, issues, severity_totals, kept_in_text=kept_in_text.count)
    notices = make_notices(data, counts, traffic)
    unavailable = data.attachments.unavailable_text if data.attachments is not None else None
    if unavailable is not None:
        verdict, notices = _without_attachments(verdict, notices, unavailable)
    field_counts = Counter(
        (issue.entity.entity_type, diff.field)
        for group in issues
        if group.kind == "mismatch"
        for issue in group.items
        for diff in issue.fields
    )
    return Report(
        title=data.title,
        project_key=data.project_key,
        qtest_project_id=data.qtest_project_id,
        generated_at=data.generated_at,
        ztoq_version=data.ztoq_version,
        store=data.store,
        sample_size=sample_size,
        verdict=verdict,
        notices=notices,
        counts=counts,
        totals=totals,
        entity_states=_entity_states(data.entities),
        runs=runs,
        traffic=traffic,
        issues=issues,
        mismatch_fields=tuple(
            (etype, name, n)
            for (etype, name), n in sorted(field_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        severity_totals=severity_totals,
        problem_groups=groups,
        entities=tuple(refs.entity(e) for e in data.entities),
        attachments=data.attachments if data.attachments is not None and data.attachments.listed else None,
        source=data.source,
        kept_in_text=kept_in_text,
        unmatched_users=unmatched_users(problem_items),
    )


def _without_attachments(
    verdict: Verdict, notices: tuple[Notice, ...], sentence: str
) -> tuple[Verdict, tuple[Notice, ...]]:
    """The tenant has no attachment operations: say so on top, and never call that a clean pass."""
    if verdict.status == PASSED:
        verdict = Verdict(PASSED_WITH_DEGRADATIONS, f"{verdict.reason} {sentence}")
    return verdict, (*notices, Notice("warning", "attachments_unavailable", sentence))


def _row_order(row: CountRow) -> tuple[int, str]:
    return entity_sort_key(row.entity_type)


def _count_line(row: CountRow) -> CountLine:
    expected = max(row.source - row.skipped, 0)
    difference = None if row.target is None else row.target - expected
    return CountLine(
        row.entity_type,
        row.source,
        row.planned,
        row.loaded,
        row.target,
        row.skipped,
        row.failed,
        expected,
        difference,
    )


def _totals(lines: Iterable[CountLine]) -> CountLine:
    lines = list(lines)
    known = bool(lines) and all(line.target is not None for line in lines)
    target = sum(line.target or 0 for line in lines) if known else None
    expected = sum(line.expected for line in lines)
    return CountLine(
        "total",
        sum(line.source for line in lines),
        sum(line.planned for line in lines),
        sum(line.loaded for line in lines),
        target,
        sum(line.skipped for line in lines),
        sum(line.failed for line in lines),
        expected,
        None if target is None else target - expected,
    )


def _entity_states(entities: Iterable[EntityLink]) -> tuple[StateCount, ...]:
    by_type: dict[str, Counter[str]] = defaultdict(Counter)
    for e in entities:
        by_type[e.entity_type][e.state] += 1
    return tuple(
        StateCount(etype, tuple(sorted(states.items())), sum(states.values()))
        for etype, states in sorted(by_type.items(), key=lambda kv: entity_sort_key(kv[0]))
    )


def _phase_line(p: PhaseRecord) -> PhaseLine:
    counts = tuple(
        (etype, dict(p.counts[etype])) for etype in sorted(p.counts, key=entity_sort_key) if p.counts[etype]
    )
    return PhaseLine(
        p.phase, p.status, p.started_at, p.finished_at, seconds_between(p.started_at, p.finished_at), counts
    )


def _run_lines(runs: Iterable[RunRecord], phases: Iterable[PhaseRecord]) -> tuple[RunLine, ...]:
    by_run: dict[int, list[PhaseRecord]] = defaultdict(list)
    for p in phases:
        by_run[p.run_id].append(p)
    lines = []
    for run in sorted(runs, key=lambda r: r.id, reverse=True):
        requests = tuple(sorted(run.requests_by_api.items()))
        lines.append(
            RunLine(
                id=run.id,
                command=run.command,
                status=run.status,
                phases=tuple(run.phases),
                started_at=run.started_at,
                finished_at=run.finished_at,
                duration_seconds=seconds_between(run.started_at, run.finished_at),
                requests_by_api=requests,
                requests_total=sum(n for _, n in requests),
                retries=run.retries,
                rate_limit_waits=run.rate_limit_waits,
                rate_limit_wait_seconds=run.rate_limit_wait_seconds,
                error=run.error,
                phase_lines=tuple(_phase_line(p) for p in by_run.get(run.id, [])),
            )
        )
    return tuple(lines)


def _traffic(runs: Iterable[RunRecord]) -> Traffic:
    requests: Counter[str] = Counter()
    retries = waits = 0
    wait_seconds = 0.0
    for run in runs:
        requests.update(run.requests_by_api)
        retries += run.retries
        waits += run.rate_limit_waits
        wait_seconds += run.rate_limit_wait_seconds
    by_api = tuple(sorted(requests.items()))
    return Traffic(by_api, sum(n for _, n in by_api), retries, waits, round(wait_seconds, 3))


def _problem_groups(items: list[ProblemItem], sample_size: int) -> tuple[ProblemGroup, ...]:
    grouped: dict[_Key, list[ProblemItem]] = defaultdict(list)
    for item in items:
        grouped[(item.severity, item.code)].append(item)
    groups = []
    for (severity, code), members in grouped.items():
        types = Counter(i.entity.entity_type for i in members)
        message = Counter(i.message for i in members).most_common(1)[0][0]
        groups.append(
            ProblemGroup(
                severity=severity,
                code=code,
                count=len(members),
                entity_types=tuple(sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))),
                message=message,
                items=tuple(members),
                sample=tuple(members[:sample_size]),
            )
        )
    groups.sort(key=lambda g: (severity_rank(g.severity), g.severity, -g.count, g.code))
    return tuple(groups)


def _kept_in_text(items: list[ProblemItem], sample_size: int) -> KeptInText:
    """Values kept whole in text, counted per field (the problem's field, else its code)."""
    by_field: dict[str, list[ProblemItem]] = defaultdict(list)
    for item in items:
        by_field[item.field or item.code].append(item)
    fields = [
        KeptField(
            name,
            len(members),
            _most_first(Counter(i.entity.entity_type for i in members)),
            tuple(code for code, _ in _most_first(Counter(i.code for i in members))),
        )
        for name, members in by_field.items()
    ]
    fields.sort(key=lambda f: (-f.count, f.field))
    return KeptInText(len(items), tuple(fields), _problem_groups(items, sample_size))


def _most_first(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _severity_totals(items: list[ProblemItem]) -> tuple[tuple[str, int], ...]:
    totals = Counter(i.severity for i in items)
    return tuple(sorted(totals.items(), key=lambda kv: (severity_rank(kv[0]), kv[0])))
