"""How much of qTest a validation reads again: all of it, or on a delta sync what is in question.

A full validation reads back every entity ztoq migrated. Most of it costs a request per page of
999 (test cases, test runs, the attachment search) or one per tree (modules, releases, test
cycles), but two parts cost a request per entity: the logs of each run with logs (one list per
run) and the files (one size read per attachment, one list per test step log with files). At
100,000 test cases that is hundreds of thousands of requests, every night of a delta sync.

So a ``migrate run`` whose extract is a **delta** sync validates those two types for what is in
question only (:func:`ztoq.store.repo_delta.in_question`): what changed since the last validation
of the type began reading (its mapping written at or after that moment, kept in the store by
:func:`record_validated` when a validation of the type completes), and what a validation found a
problem with (a problem is looked at again by every run until it is gone, so a run never
succeeds past one). For test logs the unit is the run (one request reads all its logs): the runs
with a log in question, or whose latest log was found wrong. Everything else is still read a page
or a tree at a time and compared in full; a delta validation replaces only the problems of what it
compares. A log or file changed or deleted by hand in qTest since it was last validated is found by
the next full sync's validation (``--full``, or every ``migration.full_sync_every_days``) and by
``workflow validate``, which always validate in full.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.extract_sync import DELTA, sync_mode
from ztoq.store import Repository, SourceItem

#: The types a delta validation reads for what is in question only (the others are read in full).
DELTA_TYPES = frozenset({"test_log", "attachment"})

#: The bookkeeping rows (among the source rows, like the extract's syncs): per type, when the last
#: validation of it that completed began reading ``{"started_at": ...}``.
VALIDATED = "validated"


@dataclass(frozen=True)
class ValidationScope:
    """What a validation reads again.

    Attributes:
        since: per type of :data:`DELTA_TYPES` read for what is in question only, the moment the
            last validation of it began reading (empty: a full validation).
        why: a sentence saying why, for the run's log.
    """

    since: Mapping[str, datetime] = field(default_factory=dict)
    why: str = "full validation"

    @property
    def delta(self) -> bool:
        return bool(self.since)

    def limits(self, entity_type: str) -> datetime | None:
        """From when ``entity_type`` is in question (None: all of it is read)."""
        return self.since.get(entity_type)


FULL_SCOPE = ValidationScope()


def decide_scope(*, mode: str | None, validated: Mapping[str, datetime]) -> ValidationScope:
    """The scope of a validation that follows an extract of sync ``mode`` (pure).

    Args:
        mode: the sync mode of the run's extract (``full``, ``delta``; None: no extract).
        validated: per type, when the last validation of it that completed began reading.
    """
    if mode != DELTA:
        return FULL_SCOPE
    since = {
        entity_type: validated[entity_type] for entity_type in sorted(DELTA_TYPES) if entity_type in validated
    }
    if not since:
        return ValidationScope({}, "full validation (no earlier validation completed)")
    moment = min(since.values()).strftime("%Y-%m-%d %H:%M:%S UTC")
    names = " and ".join(t.replace("_", " ") + "s" for t in since)
    return ValidationScope(
        since, f"delta validation: {names} changed since {moment} or found wrong are read again"
    )


def _validated(repo: Repository, project_key: str) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for entity_type in DELTA_TYPES:
        row = repo.get_source(project_key, VALIDATED, entity_type)
        payload = row.payload if row is not None and row.deleted_at is None else None
        if isinstance(payload, Mapping) and isinstance(payload.get("started_at"), str):
            found[entity_type] = datetime.fromisoformat(payload["started_at"])
    return found


def read_scope(ctx: PhaseContext) -> ValidationScope:
    """The scope of the validation of a run that extracted (its sync's mode, read from the store)."""
    with ctx.session() as repo:
        return decide_scope(
            mode=sync_mode(repo, ctx.project_key), validated=_validated(repo, ctx.project_key)
        )


def record_validated(ctx: PhaseContext, entity_type: str, started_at: datetime) -> None:
    """Keep that a validation of ``entity_type`` that began reading at ``started_at`` completed."""
    if entity_type in DELTA_TYPES:
        with ctx.session() as repo:
            item = SourceItem(VALIDATED, entity_type, {"started_at": started_at.isoformat()})
            repo.upsert_source(ctx.project_key, [item], run_id=ctx.run_id)
