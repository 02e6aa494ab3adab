"""What load learned about one batch, recorded together: one executemany per kind, one commit.

The problems load finds (a refused entity, a requirement qTest lacks) go to the store's problems
with the batch, each replacing what load recorded for its entity before, so a rerun never piles
them up and ``migrate status`` and the report list them after the run.

Load sends a batch, then records what qTest answered for all of it at once. A create answered
but not yet recorded when the process dies is still an ``intent`` in the store (recorded before
the batch was sent), so the next run looks it up in qTest and adopts it: recording late never
creates anything twice, it only costs that look-up. ``load.after_record`` is reached once per
created entity, after the commit that records it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.load_attachments import parse_placement
from ztoq.pipeline.load_types import Loaded
from ztoq.pipeline.target import remember_refused_attachment
from ztoq.plan import PlannedEntity
from ztoq.store import LoadWork, PlannedItem, ProblemItem
from ztoq.store.repo_mapping import TargetRecord
from ztoq.store.repo_problems import ProblemEntry

PHASE = "load"


@dataclass(frozen=True, slots=True)
class _Outcome:
    work: LoadWork
    severity: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Kept:
    """Results taken from :class:`LoadResults` to be recorded."""

    loaded: list[tuple[LoadWork, Loaded, str, bool]]
    outcomes: list[_Outcome]


class LoadResults:
    """The results of the batch being loaded, until they are taken (:meth:`take`) and recorded
    (:meth:`record`)."""

    def __init__(self, ctx: PhaseContext) -> None:
        self.ctx = ctx
        self._loaded: list[tuple[LoadWork, Loaded, str, bool]] = []
        self._outcomes: list[_Outcome] = []

    def loaded(self, work: LoadWork, result: Loaded, state: str, *, sent: bool = True) -> None:
        """qTest holds the entity: ``created``, ``updated``, ``adopted`` (or kept as it was).

        Args:
            work: the entity.
            result: what qTest answered; its ``problems`` (a requirement qTest lacks, ...) replace
                the ones load recorded for the entity before.
            state: the mapping state to record.
            sent: False when nothing was sent (kept as it was): its load problems stay as they are.
        """
        self._loaded.append((work, result, state, sent))

    def problem(self, work: LoadWork, severity: str, code: str, message: str) -> None:
        """The entity was not loaded: ``failed`` (qTest refused it) or ``skipped`` (and why)."""
        self._outcomes.append(_Outcome(work, severity, code, message))

    def too_large(self, work: LoadWork, entity: PlannedEntity) -> None:
        """A 413, recorded at once and never retried. The file is planned as not sent (as transform
        plans a file over ``qtest.max_attachment_mb``), and no file as large is sent again while
        that setting stays."""
        planned, ctx = work.planned, self.ctx
        size = int((entity.body or {}).get("size") or 0)
        message = (
            f"qTest refused the attachment {(entity.body or {}).get('name')!r} ({size / 1048576:,.1f} MB) "
            "as too large (413): the site accepts less than qtest.max_attachment_mb says. It was not sent "
            "and stays in the attachment cache."
        )
        skipped = PlannedItem(
            planned.entity_type,
            planned.source_key,
            {"body": None, "extra": {}},
            level=planned.level,
            sort_key=planned.sort_key,
            status="skipped",
        )
        with ctx.session() as repo:
            remember_refused_attachment(
                repo, ctx.project_key, size, ctx.config.qtest.max_attachment_mb, ctx.run_id
            )
            repo.upsert_planned(ctx.project_key, [skipped])
            repo.record_skipped(ctx.project_key, planned.entity_type, planned.source_key, message)
            problem = ProblemItem("degraded", "attachment_too_large", message, detail={"size": size})
            # Filed as transform's finding: the next transform plans it the same way and replaces it.
            repo.replace_problems(
                ctx.project_key,
                "transform",
                planned.entity_type,
                planned.source_key,
                [problem],
                run_id=ctx.run_id,
            )

    def take(self) -> Kept:
        """The results kept so far, no longer kept (take them on the event loop, where they are
        added; :meth:`record` them anywhere)."""
        kept = Kept(self._loaded, self._outcomes)
        self._loaded, self._outcomes = [], []
        return kept

    def record(self, kept: Kept) -> None:
        """Record ``kept`` (:meth:`take`) in one unit of work; may run in a worker thread."""
        loaded, outcomes = kept.loaded, kept.outcomes
        if not loaded and not outcomes:
            return
        ctx, project_key = self.ctx, self.ctx.project_key
        results: dict[str, list[TargetRecord]] = {}
        failed: dict[str, list[tuple[str, str, str]]] = {}
        problems: list[ProblemEntry] = []
        with ctx.session() as repo:
            for work, result, state, sent in loaded:
                planned = work.planned
                results.setdefault(planned.entity_type, []).append(
                    TargetRecord(
                        planned.source_key,
                        result.target_id,
                        planned.content_hash,
                        state,
                        result.pid,
                        result.web_url,
                        result.version,
                        planned.source_hash,
                    )
                )
                if sent or (work.mapping is not None and work.mapping.state in ("failed", "skipped")):
                    problems.append((planned.entity_type, planned.source_key, result.problems))
                where = parse_placement(result.pid) if planned.entity_type == "attachment" else None
                if where is not None:
                    repo.record_attachment_target(
                        project_key,
                        planned.source_key,
                        object_type=where[0],
                        object_id=where[1],
                        target_id=result.target_id,
                    )
            for outcome in outcomes:
                planned = outcome.work.planned
                failed.setdefault(planned.entity_type, []).append(
                    (
                        planned.source_key,
                        "failed" if outcome.severity == "failed" else "skipped",
                        outcome.message,
                    )
                )
                problem = ProblemItem(outcome.severity, outcome.code, outcome.message)
                problems.append((planned.entity_type, planned.source_key, [problem]))
            for entity_type, records in results.items():
                repo.record_results(project_key, entity_type, records)
            for entity_type, rows in failed.items():
                repo.record_outcomes(project_key, entity_type, rows)
            if problems:
                repo.replace_problems_bulk(project_key, PHASE, problems, run_id=ctx.run_id)
        for _work, _result, state, _sent in loaded:
            if state == "created":
                fault_point("load.after_record")
