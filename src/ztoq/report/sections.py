"""The report data model: what :func:`ztoq.report.model.build_report` returns.

Every renderer (HTML, JSON, Markdown) reads only these frozen dataclasses, so the three formats say
the same thing. Lists are tuples and hold *everything* (the JSON report writes them in full); the
HTML and Markdown renderers show the ``sample`` of each group and say how many more are in the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ztoq.report.attachment_summary import AttachmentOverview

if TYPE_CHECKING:
    from ztoq.report.people import UnmatchedUser

#: Verdict statuses, best first.
PASSED = "passed"
PASSED_WITH_DEGRADATIONS = "passed with degradations"
FAILED = "failed"
INCOMPLETE = "incomplete"

#: Problem severities, worst first (the order groups are listed in).
SEVERITIES: tuple[str, ...] = ("failed", "missing", "mismatch", "degraded", "skipped")

#: Severities that make the verdict "failed"; unknown severities count as failed too.
BLOCKING_SEVERITIES: frozenset[str] = frozenset({"failed", "missing", "mismatch"})

#: Severities that only degrade the verdict to "passed with degradations".
DEGRADING_SEVERITIES: frozenset[str] = frozenset({"degraded", "skipped"})

#: A value kept whole in text because qTest has no field for it: information, never a problem.
#: The report lists these apart ("Kept in text", a count per field); they leave the verdict alone.
KEPT_IN_TEXT = "kept_in_text"

_RANK = {"failed": 0, "missing": 1, "mismatch": 2, "degraded": 4, "skipped": 5}


def severity_rank(severity: str) -> int:
    """Where a severity sorts: worst first; unknown severities right after the blocking ones.

    Args:
        severity: A problem severity.

    Returns:
        A sort rank (lower is worse).
    """
    return _RANK.get(severity, 3)


#: Entity mapping states in which the entity exists in qTest.
TARGET_STATES: frozenset[str] = frozenset({"created", "updated", "adopted", "validated", "loaded"})

#: Entity mapping states that mean the entity did not make it to qTest.
FAILED_STATES: frozenset[str] = frozenset({"failed", "intent"})


@dataclass(frozen=True)
class Verdict:
    """The one-word outcome and the one sentence saying why.

    Attributes:
        status: "passed", "passed with degradations", "failed" or "incomplete".
        reason: One sentence a reader can act on.
    """

    status: str
    reason: str


@dataclass(frozen=True)
class Notice:
    """A statement shown at the top of the report (rate limiting, an unfinished run, ...).

    Attributes:
        level: "info", "warning" or "error".
        code: Machine-readable name, e.g. "rate_limiting".
        text: The sentence shown.
    """

    level: str
    code: str
    text: str


@dataclass(frozen=True)
class CountLine:
    """Source versus target count of one entity type (or the totals).

    Attributes:
        entity_type: The entity type, or "total".
        source: Entities read from Zephyr Scale.
        planned: Entities transform planned to load.
        loaded: Entities load created, updated or adopted in qTest.
        target: Entities validate counted in qTest; None when not counted.
        skipped: Entities skipped by design.
        failed: Entities that failed to load.
        expected: What qTest should hold: ``source - skipped``.
        difference: ``target - expected``; None when target is unknown.
    """

    entity_type: str
    source: int
    planned: int
    loaded: int
    target: int | None
    skipped: int
    failed: int
    expected: int
    difference: int | None

    @property
    def ok(self) -> bool:
        """True when qTest holds at least what it should and nothing failed."""
        return self.difference is not None and self.difference >= 0 and self.failed == 0


@dataclass(frozen=True)
class StateCount:
    """How many entities of one type are in each mapping state."""

    entity_type: str
    states: tuple[tuple[str, int], ...]
    total: int


@dataclass(frozen=True)
class PhaseLine:
    """One phase of one run."""

    phase: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None
    counts: tuple[tuple[str, dict[str, int]], ...]


@dataclass(frozen=True)
class RunLine:
    """One run of ztoq, with its phases and its API traffic."""

    id: int
    command: str
    status: str
    phases: tuple[str, ...]
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None
    requests_by_api: tuple[tuple[str, int], ...]
    requests_total: int
    retries: int
    rate_limit_waits: int
    rate_limit_wait_seconds: float
    error: str | None
    phase_lines: tuple[PhaseLine, ...]


@dataclass(frozen=True)
class Traffic:
    """API traffic summed over every run."""

    requests_by_api: tuple[tuple[str, int], ...]
    requests_total: int
    retries: int
    rate_limit_waits: int
    rate_limit_wait_seconds: float


@dataclass(frozen=True)
class EntityRef:
    """An entity named by its Zephyr key, with where it is in qTest when known.

    Attributes:
        entity_type: e.g. "test_case".
        source_key: The Zephyr key, e.g. "PROJ-T12".
        target_id: The qTest id, when known.
        web_url: The URL as recorded (may be anything; never render it as a link directly).
        link: ``web_url`` when it is a plain http(s) URL, else None: the only value to link to.
        state: The mapping state, when known.
    """

    entity_type: str
    source_key: str
    target_id: int | None
    web_url: str | None
    link: str | None
    state: str | None = None


@dataclass(frozen=True)
class ProblemItem:
    """One recorded problem, attached to its entity."""

    entity: EntityRef
    phase: str
    severity: str
    code: str
    message: str
    field: str | None
    detail: dict[str, Any] | None


@dataclass(frozen=True)
class ProblemGroup:
    """All problems sharing a severity and a code.

    Attributes:
        severity: The shared severity.
        code: The shared code.
        count: How many problems (``len(items)``).
        entity_types: How many per entity type, most first.
        message: The most frequent message, as a summary of the group.
        items: Every problem of the group, in input order.
        sample: The first ``sample_size`` items, shown in HTML and Markdown.
    """

    severity: str
    code: str
    count: int
    entity_types: tuple[tuple[str, int], ...]
    message: str
    items: tuple[ProblemItem, ...]
    sample: tuple[ProblemItem, ...]

    @property
    def more(self) -> int:
        """How many items are not in the sample."""
        return self.count - len(self.sample)


@dataclass(frozen=True)
class KeptField:
    """Values of one Zephyr field kept whole in text because qTest has no field for them.

    Attributes:
        field: The Zephyr field (as the problems name it), e.g. "labels" or "Environment".
        count: How many values.
        entity_types: How many per entity type, most first.
        codes: The problem codes saying why, most first (e.g. "field_in_description").
    """

    field: str
    count: int
    entity_types: tuple[tuple[str, int], ...]
    codes: tuple[str, ...]


@dataclass(frozen=True)
class KeptInText:
    """Every value kept whole in text: a count per field, and the problems themselves (for the JSON).

    Attributes:
        count: How many values in all.
        fields: One line per field, most values first.
        groups: The same values grouped by code, every item kept (the JSON lists them all).
    """

    count: int = 0
    fields: tuple[KeptField, ...] = ()
    groups: tuple[ProblemGroup, ...] = ()


@dataclass(frozen=True)
class FieldDiff:
    """One field that differs between what was planned and what qTest holds."""

    field: str
    expected: str
    actual: str


@dataclass(frozen=True)
class EntityIssue:
    """A missing, failed or mismatched entity with its reasons or differing fields."""

    entity: EntityRef
    reasons: tuple[str, ...]
    fields: tuple[FieldDiff, ...]


@dataclass(frozen=True)
class IssueGroup:
    """Missing, failed or mismatched entities of one entity type."""

    kind: str  # "missing" | "failed" | "mismatch"
    entity_type: str
    count: int
    items: tuple[EntityIssue, ...]
    sample: tuple[EntityIssue, ...]

    @property
    def more(self) -> int:
        """How many items are not in the sample."""
        return self.count - len(self.sample)


@dataclass(frozen=True)
class Report:
    """The whole report, ready to render in any format.

    Attributes:
        title: Report title.
        project_key: The Zephyr project key.
        qtest_project_id: The qTest project id, when known.
        generated_at: When the input was collected.
        ztoq_version: The ztoq version that built the report.
        store: The store description (never a password).
        sample_size: Items shown per group in HTML and Markdown.
        verdict: The outcome and why.
        notices: Statements for the top of the report, worst first.
        counts: Source versus target per entity type.
        totals: The sum of ``counts``.
        entity_states: Mapping states per entity type.
        runs: Every run, newest first.
        traffic: API traffic over every run.
        issues: Missing, failed and mismatched entities, grouped by kind and entity type.
        mismatch_fields: (entity_type, field, count) of differing fields, most first.
        severity_totals: Problems per severity, worst first (values kept in text are no problems:
            they are in ``kept_in_text``).
        problem_groups: Problems grouped by (severity, code), worst first.
        entities: Every entity link (the item-by-item evidence), in input order.
        attachments: Files and bytes per owner kind, sent and not sent with reasons; None when
            the source's attachments were never listed.
        source: What the project was extracted from ("Zephyr Scale Cloud (REST API v2)");
            "" when unknown.
        kept_in_text: Values kept whole in text because qTest has no field for them.
        unmatched_users: The Jira users no qTest user stood for, once per person.
    """

    title: str
    project_key: str
    qtest_project_id: int | None
    generated_at: datetime
    ztoq_version: str
    store: str
    sample_size: int
    verdict: Verdict
    notices: tuple[Notice, ...]
    counts: tuple[CountLine, ...]
    totals: CountLine
    entity_states: tuple[StateCount, ...]
    runs: tuple[RunLine, ...]
    traffic: Traffic
    issues: tuple[IssueGroup, ...]
    mismatch_fields: tuple[tuple[str, str, int], ...]
    severity_totals: tuple[tuple[str, int], ...]
    problem_groups: tuple[ProblemGroup, ...]
    entities: tuple[EntityRef, ...]
    attachments: AttachmentOverview | None = None
    source: str = ""
    kept_in_text: KeptInText = KeptInText()
    unmatched_users: tuple[UnmatchedUser, ...] = ()

    @property
    def problem_count(self) -> int:
        """How many problems in total."""
        return sum(n for _, n in self.severity_totals)
