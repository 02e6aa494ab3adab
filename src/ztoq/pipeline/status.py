"""Where a migration stands, per entity type, from the store alone (no API calls).

Used by ``ztoq migrate status``, ``ztoq db stats``, the run summary and the reports.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ztoq.pipeline.transform import LOAD_ORDER
from ztoq.store import TARGET_STATES, Repository

#: Which stored Zephyr type each planned type comes from.
SOURCE_OF = {"module": "folder", "test_case": "test_case"}


@dataclass
class TypeStatus:
    """Counts of one planned entity type."""

    entity_type: str
    source: int = 0
    planned: int = 0
    skipped: int = 0
    loaded: int = 0
    failed: int = 0
    pending: int = 0
    degraded: int = 0
    states: dict[str, int] = field(default_factory=dict)


def _source_count(repo: Repository, project_key: str, entity_type: str) -> int:
    if entity_type == "module":
        # One module per TEST_CASE folder, plus the root module.
        folders = repo.iter_source(project_key, "folder")
        return 1 + sum(1 for f in folders if (f.payload or {}).get("folderType", "TEST_CASE") == "TEST_CASE")
    return repo.source_counts(project_key).get(SOURCE_OF.get(entity_type, entity_type), 0)


def type_status(repo: Repository, project_key: str) -> list[TypeStatus]:
    """One row per planned entity type, in load order."""
    planned = repo.planned_counts(project_key)
    states = repo.state_counts(project_key)
    degraded: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    for problem in repo.iter_problems(project_key, severity="degraded"):
        if (problem.entity_type, problem.source_key) not in seen:
            seen.add((problem.entity_type, problem.source_key))
            degraded[problem.entity_type] += 1
    rows: list[TypeStatus] = []
    for entity_type in LOAD_ORDER:
        by_state = states.get(entity_type, {})
        by_status = planned.get(entity_type, {})
        row = TypeStatus(
            entity_type,
            source=_source_count(repo, project_key, entity_type),
            planned=by_status.get("planned", 0),
            skipped=by_status.get("skipped", 0) + by_state.get("skipped", 0),
            loaded=sum(n for s, n in by_state.items() if s in TARGET_STATES),
            failed=by_state.get("failed", 0),
            degraded=degraded.get(entity_type, 0),
            states=dict(by_state),
        )
        row.pending = max(0, row.planned - row.loaded - row.failed - by_state.get("skipped", 0))
        rows.append(row)
    return rows
