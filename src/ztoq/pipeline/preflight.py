"""Preflight: what a load would send to qTest, and everything that would stop it, without writing.

``run_preflight(config)`` reads the store (what transform planned, what is already loaded) and
asks qTest only GET requests (:mod:`ztoq.pipeline.preflight_facts`): the project, the field
settings of every object type, the execution statuses, the project's users and the token user's
permissions. It then runs the checks, in this order:

* **plan**: entities transform could not plan (a ``failed`` transform problem) cannot be sent;
* **fields** and **required**: each entity a load would send, against today's fields, values,
  users and statuses (:mod:`ztoq.pipeline.preflight_checks`);
* **permissions** and **mappings**: the token's user and the configuration
  (:mod:`ztoq.pipeline.preflight_config_checks`).

It also says what ``ztoq fields apply`` would create or extend (the fields plan of
:mod:`ztoq.pipeline.fields_plan`, against today's fields), and what happens to attachments
(:class:`AttachmentPreview`): how many files a load would upload and their bytes, the files it
would not send grouped by reason, and, when the Zephyr tenant has no attachment operations, the
one sentence saying so.

What a load would do with each entity is the load's own decision
(:func:`~ztoq.pipeline.load_decision.decide_load`), so the counts are what load sends.

A *blocking* finding means entities would fail (qTest would refuse them, or transform could not
plan them); a *warning* means values would be defaulted or kept in text but nothing fails.
Findings are returned, not stored: the ``problems`` table would accept the phase name, but its
findings would then count as failed entities in ``ztoq migrate status`` and the report's verdict,
and no later phase would clear them once fixed.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from ztoq.config import ZtoqConfig
from ztoq.entities import LOAD_ORDER
from ztoq.errors import ConfigError, safe_path
from ztoq.mapping.lookups import TargetFields
from ztoq.pipeline.fields_plan import FieldsPlan, read_fields_plan
from ztoq.pipeline.preflight_checks import (
    BLOCKING,
    EXAMPLES,
    Finding,
    Grouper,
    Names,
    TypeCounts,
    check_entity,
    required_issues,
    sent_work,
)
from ztoq.pipeline.preflight_config_checks import (
    check_fields_permission,
    check_mappings,
    check_permissions,
    needed_permissions,
)
from ztoq.pipeline.preflight_facts import gather_qtest_facts
from ztoq.pipeline.source_rows import stored_source_name
from ztoq.plan import decode_planned
from ztoq.report.attachments import AttachmentOverview, attachment_overview, overview_to_dict
from ztoq.sources import source_name, source_title
from ztoq.store import Repository, Store, open_store

#: The checks, in the order they are reported, with what each one proves when it passes.
CHECKS: dict[str, str] = {
    "plan": "every Zephyr entity could be planned",
    "fields": "every planned field and value exists in qTest",
    "required": "every required qTest field gets a value",
    "permissions": "the token may create what would be sent",
    "mappings": "the configuration names real qTest values",
}


@dataclass(frozen=True)
class ProblemGroup:
    """Transform problems of one severity and code on one entity type."""

    severity: str
    code: str
    entity_type: str
    count: int
    message: str
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttachmentPreview:
    """The attachments of a dry run: what a load would upload, and what it would not, and why.

    Attributes:
        send: Files a load would upload (create or update).
        send_bytes: Their sizes, as downloaded into the cache.
        to_download: Files listed in Zephyr but not in the cache yet (a download failed, or the
            dry run only checked the stored plan); a load does not send them.
        to_download_bytes: The sizes Zephyr declared for them (0 where it declares none).
        overview: Files per owner kind, and the files not sent grouped by reason.
    """

    send: int
    send_bytes: int
    to_download: int
    to_download_bytes: int
    overview: AttachmentOverview

    def to_json(self) -> dict[str, Any]:
        """The preview as JSON-ready data."""
        return {
            "send": self.send,
            "send_bytes": self.send_bytes,
            "to_download": self.to_download,
            "to_download_bytes": self.to_download_bytes,
            **overview_to_dict(self.overview),
        }


@dataclass
class PreflightReport:
    """Everything the preflight found; ``ok`` is False when anything is blocking."""

    project_key: str
    qtest_project_id: int
    qtest_project_name: str
    counts: list[TypeCounts]
    findings: list[Finding]
    transform: list[ProblemGroup] = field(default_factory=list)
    #: qTest requests the preflight made, by method (only GET; a password login adds a POST).
    qtest_requests: dict[str, int] = field(default_factory=dict)
    #: The attachments; None when the source's attachments were never listed.
    attachments: AttachmentPreview | None = None
    #: What the plan was read from ("Zephyr Scale Cloud (REST API v2)"), and its base URL
    #: without credentials or query; "" when unknown.
    source: str = ""
    source_url: str = ""
    #: The Zephyr fields with values and where they land; what ``ztoq fields apply`` would do.
    fields: FieldsPlan | None = None

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.blocking]

    @property
    def ok(self) -> bool:
        return not self.blocking

    def status_of(self, check: str) -> str:
        """``passed``, ``warning`` or ``failed`` for one of :data:`CHECKS`."""
        found = self.findings_of(check)
        if any(f.blocking for f in found):
            return "failed"
        return "warning" if found else "passed"

    def findings_of(self, check: str) -> list[Finding]:
        """The findings of one of :data:`CHECKS`, in the order they were found."""
        return [f for f in self.findings if f.check == check]

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (``ztoq migrate run --dry-run --json``)."""
        return {
            "project_key": self.project_key,
            "source": {"title": self.source or None, "base_url": self.source_url or None},
            "qtest_project": {"id": self.qtest_project_id, "name": self.qtest_project_name},
            "ok": self.ok,
            "counts": [{**asdict(c), "send": c.send} for c in self.counts],
            "checks": {name: self.status_of(name) for name in CHECKS},
            "findings": [
                {**asdict(f), "examples": list(f.examples), "text": f.text()} for f in self.findings
            ],
            "transform_problems": [{**asdict(g), "examples": list(g.examples)} for g in self.transform],
            "qtest_requests": self.qtest_requests,
            "attachments": None if self.attachments is None else self.attachments.to_json(),
            "fields_apply": None if self.fields is None else fields_apply_json(self.fields),
        }


def fields_apply_json(plan: FieldsPlan) -> dict[str, Any]:
    """What ``ztoq fields apply`` would create and extend, as the dry run's JSON says it."""
    found = plan.to_json()
    return {"to_create": found["to_create"], "to_extend": found["to_extend"]}


# -- the store ---------------------------------------------------------------------------------------------


def _planned_failures(repo: Repository, project_key: str) -> tuple[list[Finding], list[ProblemGroup]]:
    """Transform problems grouped by severity, code and type; failed ones as blocking findings."""
    # (severity, code, type) -> (first message, keys of the entities concerned, in recorded order)
    groups: dict[tuple[str, str, str], tuple[str, dict[str, None]]] = {}
    for problem in repo.iter_problems(project_key, phase="transform"):
        key = (problem.severity, problem.code, problem.entity_type)
        groups.setdefault(key, (problem.message, {}))[1][problem.source_key] = None
    summary = [
        ProblemGroup(severity, code, entity_type, len(keys), message, tuple(list(keys)[:EXAMPLES]))
        for (severity, code, entity_type), (message, keys) in groups.items()
    ]
    order = {t: i for i, t in enumerate(LOAD_ORDER)}
    rank = {"failed": 0, "skipped": 1, "degraded": 2, "kept_in_text": 4}
    summary.sort(key=lambda g: (rank.get(g.severity, 3), order.get(g.entity_type, 99), -g.count, g.code))
    findings = [
        Finding(
            "plan",
            BLOCKING,
            g.code,
            f"Transform could not plan these; they cannot be sent. First reason: {g.message.rstrip('.')}",
            g.entity_type,
            g.count,
            g.examples,
        )
        for g in summary
        if g.severity == "failed"
    ]
    return findings, summary


def scan_plan(
    repo: Repository, project_key: str, target: TargetFields, names: Names
) -> tuple[list[TypeCounts], list[Finding], int]:
    """What a load would send: counts per type, the findings of what it sends, and attachment bytes.

    Returns:
        The counts per type, the field and required-field findings, and the bytes of the
        attachments a load would upload (their sizes as downloaded).
    """
    planned = repo.planned_counts(project_key)
    grouper = Grouper()
    counts: list[TypeCounts] = []
    attachment_bytes = 0
    for entity_type in LOAD_ORDER:
        by_status = planned.get(entity_type, {})
        row = TypeCounts(
            entity_type, planned=by_status.get("planned", 0), not_planned=by_status.get("skipped", 0)
        )
        for work in sent_work(row, repo.iter_load_work(project_key, entity_type)):
            key = work.planned.source_key
            body = decode_planned(entity_type, key, work.planned.payload).body or {}
            if entity_type == "attachment":
                attachment_bytes += _size(body.get("size"))
            grouper.add(
                entity_type,
                key,
                [
                    *check_entity(entity_type, body, target, names),
                    *required_issues(entity_type, body, target, names),
                ],
            )
        counts.append(row)
    return counts, grouper.findings(), attachment_bytes


def _size(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def attachment_preview(
    repo: Repository, project_key: str, send: int, send_bytes: int
) -> AttachmentPreview | None:
    """The dry run's attachments, or None when the source's attachments were never listed.

    Args:
        repo: An open session of the store.
        project_key: The Zephyr project key.
        send: Attachments a load would upload (from :func:`scan_plan`'s counts).
        send_bytes: Their bytes (from :func:`scan_plan`).
    """
    overview = attachment_overview(repo, project_key)
    if not overview.listed:
        return None
    to_download, to_download_bytes = repo.attachment_bytes_pending(project_key)
    return AttachmentPreview(send, send_bytes, to_download, to_download_bytes, overview)


def plan_source(repo: Repository, config: ZtoqConfig) -> tuple[str, str]:
    """The title of the source the stored project came from (else the configured one) and its base URL.

    The URL is shown without user info or query string, so no credential reaches the report.
    """
    name = stored_source_name(repo, config.zephyr.project_key) or source_name(config)
    return source_title(name), safe_path(config.zephyr.base_url)


def stored_settings(repo: Repository, project_key: str) -> dict[str, Any]:
    """The qTest field settings extract stored (object type -> FieldResource list)."""
    return {r.source_key: r.payload for r in repo.iter_source(project_key, "qtest_fields")}


def run_preflight(
    config: ZtoqConfig,
    *,
    store: Store | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> PreflightReport:
    """Check, with GET requests only, what a load of the current plan would meet in qTest.

    Raises:
        ConfigError: qTest settings are missing or wrong, or nothing is planned yet (exit 2).
    """
    config.require_target()
    key = config.zephyr.project_key
    own_store = store is None
    store = store or open_store(config.database)
    try:
        with store.session() as repo:
            if not repo.planned_counts(key):
                raise ConfigError(
                    f"Nothing is planned for Zephyr project {key!r} in {store.description}; run extract and "
                    "transform first (ztoq migrate run --dry-run does both)."
                )
            settings = stored_settings(repo, key)
            source, source_url = plan_source(repo, config)
        facts = asyncio.run(gather_qtest_facts(config, stored_settings=settings, transport=transport))
        with store.session() as repo:
            counts, entity_findings, attachment_bytes = scan_plan(repo, key, facts.target, facts.names)
            plan_findings, summary = _planned_failures(repo, key)
            sending = sum(c.send for c in counts if c.entity_type == "attachment")
            attachments = attachment_preview(repo, key, sending, attachment_bytes)
            fields = read_fields_plan(repo, config, facts.target)
    finally:
        if own_store:
            store.close()
    approve = config.qtest.approve_test_cases
    findings = [
        *plan_findings,
        *entity_findings,
        *check_permissions(
            facts.profile,
            needed_permissions(counts, approve=approve),
            profile_error=facts.profile_error,
            approve=approve,
        ),
        *check_mappings(config, facts.target),
        *check_fields_permission(
            facts.profile,
            facts.project_id,
            to_create=len(fields.to_create()),
            to_extend=len(fields.to_extend()),
        ),
    ]
    return PreflightReport(
        project_key=key,
        qtest_project_id=facts.project_id,
        qtest_project_name=facts.project_name,
        counts=counts,
        findings=findings,
        transform=summary,
        qtest_requests=facts.requests,
        attachments=attachments,
        source=source,
        source_url=source_url,
        fields=fields,
    )
