"""Test-only reads of the store, written with the repository's public queries.

The product never needs to fetch one mapping or one run by key; tests do, to assert state.
"""

from __future__ import annotations

from ztoq.store import MappingRecord, Repository
from ztoq.store.records import RunRecord


def get_mapping(
    repo: Repository, project_key: str, entity_type: str, source_key: str
) -> MappingRecord | None:
    """The mapping of one entity, or None."""
    return next((m for m in repo.iter_mappings(project_key, entity_type) if m.source_key == source_key), None)


def pending_intents(
    repo: Repository, project_key: str, entity_type: str | None = None
) -> list[MappingRecord]:
    """Intents without a qTest id, ordered by (entity_type, source_key)."""
    return [
        m for m in repo.iter_mappings(project_key, entity_type, states=("intent",)) if m.target_id is None
    ]


def get_run(repo: Repository, run_id: int) -> RunRecord | None:
    """One run, or None."""
    return next((r for r in repo.list_runs(limit=10_000) if r.id == run_id), None)
