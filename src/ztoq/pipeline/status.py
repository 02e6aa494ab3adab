"""Where a migration stands, per entity type, from the store alone (no API calls).

Used by ``ztoq migrate status``, ``ztoq db stats``, the run summary and the reports.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ztoq.entities import ENTITY_TYPES, LOAD_ORDER
from ztoq.pipeline.source_rows import StoreRows, stored_reader
from ztoq.sources.base import RecordReader
from ztoq.sources.records import FolderKind
from ztoq.store import TARGET_STATES, Repository, RunRecord


@dataclass
class TypeStatus:
    """Counts of one planned entity type.

    ``degraded`` counts the entities with a value that changed on the way (a "degraded" problem);
    ``kept_in_text`` those with a value kept whole in text because qTest has no field for it.
    """

    entity_type: str
    source: int = 0
    planned: int = 0
    skipped: int = 0
    loaded: int = 0
    failed: int = 0
    pending: int = 0
    degraded: int = 0
    states: dict[str, int] = field(default_factory=dict)
    kept_in_text: int = 0


def source_counts(
    repo: Repository,
    project_key: str,
    planned: dict[str, dict[str, int]],
    reader: RecordReader | None = None,
) -> dict[str, int]:
    """How many qTest entities of each planned type the source data calls for.

    Folder trees: one per folder of their type plus the root. Test cycles: Zephyr's, plus the
    ad hoc cycle when some execution belongs to no cycle. Runs and logs have no one-to-one Zephyr
    object: one run per (cycle, test case) pair and one log per execution that ran, which is
    exactly what transform planned (planned or skipped with a reason). Nothing extracted: all 0.
    Folders are counted by their kind as ``reader`` (default: the reader of the source that wrote
    the rows) decodes them; a folder of no kind counts as a test case folder.
    """
    stored = repo.source_counts(project_key)
    if not stored.get("project"):
        return {}
    reader = reader or stored_reader(repo, project_key)
    folder_types = Counter(
        (folder.kind or FolderKind.TEST_CASE).value for folder in reader.folders(StoreRows(repo, project_key))
    )
    counts: dict[str, int] = {}
    for registered in ENTITY_TYPES:
        if registered.folder_type is not None:
            counts[registered.name] = 1 + folder_types[registered.folder_type]
        elif registered.counted_from is not None:
            counts[registered.name] = stored.get(registered.counted_from, 0)
        else:
            counts[registered.name] = sum(planned.get(registered.name, {}).values())
    if repo.get_planned(project_key, "test_cycle", "adhoc") is not None:
        counts["test_cycle"] += 1
    return counts


def _entities_with(repo: Repository, project_key: str, severity: str) -> Counter[str]:
    """Per entity type, how many entities have at least one problem of ``severity``."""
    counts: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    for problem in repo.iter_problems(project_key, severity=severity):
        if (problem.entity_type, problem.source_key) not in seen:
            seen.add((problem.entity_type, problem.source_key))
            counts[problem.entity_type] += 1
    return counts


def type_status(repo: Repository, project_key: str, reader: RecordReader | None = None) -> list[TypeStatus]:
    """One row per planned entity type, in load order (``reader`` decodes the stored source rows)."""
    planned = repo.planned_counts(project_key)
    states = repo.state_counts(project_key)
    degraded = _entities_with(repo, project_key, "degraded")
    kept_in_text = _entities_with(repo, project_key, "kept_in_text")
    sources = source_counts(repo, project_key, planned, reader)
    rows: list[TypeStatus] = []
    for entity_type in LOAD_ORDER:
        by_state = states.get(entity_type, {})
        by_status = planned.get(entity_type, {})
        row = TypeStatus(
            entity_type,
            source=sources.get(entity_type, 0),
            planned=by_status.get("planned", 0),
            skipped=by_status.get("skipped", 0) + by_state.get("skipped", 0),
            loaded=sum(n for s, n in by_state.items() if s in TARGET_STATES),
            failed=by_state.get("failed", 0),
            degraded=degraded.get(entity_type, 0),
            states=dict(by_state),
            kept_in_text=kept_in_text.get(entity_type, 0),
        )
        row.pending = max(0, row.planned - row.loaded - row.failed - by_state.get("skipped", 0))
        rows.append(row)
    return rows


@dataclass
class ProjectStatus:
    """Where one project of a store stands: its last run and its totals over every entity type."""

    project_key: str
    last_run: RunRecord
    planned: int = 0
    loaded: int = 0
    failed: int = 0
    degraded: int = 0
    pending: int = 0
    kept_in_text: int = 0


def project_statuses(repo: Repository) -> list[ProjectStatus]:
    """One line per project the store holds (every project with a recorded run), by project key.

    Several ``ztoq migrate run`` processes may share one store, each on its own project; this is
    the portfolio view ``ztoq migrate status`` prints under the configured project's table.
    """
    projects: list[ProjectStatus] = []
    for run in repo.last_run_per_project():
        rows = type_status(repo, run.project_key)
        projects.append(
            ProjectStatus(
                run.project_key,
                run,
                planned=sum(r.planned for r in rows),
                loaded=sum(r.loaded for r in rows),
                failed=sum(r.failed for r in rows),
                degraded=sum(r.degraded for r in rows),
                pending=sum(r.pending for r in rows),
                kept_in_text=sum(r.kept_in_text for r in rows),
            )
        )
    return projects
