"""Planner statistics kept in step with bulk writes on PostgreSQL (autovacuum may be off or late).

A store filled within minutes has no statistics for its tables unless ztoq gathers them: the
planner then takes a freshly filled table for an empty one and joins the load's work page to the
mappings by scanning every mapping of the type for each planned entity, so a 100,000-test-case
load turns quadratic. Every table written in bulk is analyzed as its rows written double.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from ztoq.store import init_store

P = "PROJ"

pytestmark = pytest.mark.postgres


def _analyzed(repo: object, table: str) -> int:
    session = repo.session  # type: ignore[attr-defined]
    session.commit()
    row = session.execute(
        text(
            "SELECT analyze_count FROM pg_stat_user_tables "
            "WHERE relname = :t AND schemaname = current_schema()"
        ),
        {"t": table},
    ).one_or_none()
    return 0 if row is None else int(row[0])


def test_bulk_written_tables_are_analyzed(postgres_url: str) -> None:
    store = init_store(postgres_url)
    try:
        with store.session() as repo:
            before = {table: _analyzed(repo, table) for table in ("mappings", "validate_seen")}
            repo.record_intents(P, "test_case", [(f"PROJ-T{i}", "h") for i in range(1500)])
            repo.add_seen(P, "test-case", [(i, f"PROJ-T{i}") for i in range(1500)])
            repo.commit()
            after = {table: _analyzed(repo, table) for table in before}
        # pg_stat counters reach the view within the statistics collector's delay: poll briefly.
        for table in before:
            assert after[table] > before[table] or _poll_analyzed(store, table, before[table]), table
    finally:
        store.close()


def _poll_analyzed(store: object, table: str, before: int) -> bool:
    for _ in range(50):
        with store.session() as repo:  # type: ignore[attr-defined]
            if _analyzed(repo, table) > before:
                return True
        time.sleep(0.1)
    return False


def test_a_small_write_does_not_analyze(postgres_url: str) -> None:
    store = init_store(postgres_url)
    try:
        with store.session() as repo:
            repo.record_intents(P, "test_case", [(f"PROJ-T{i}", "h") for i in range(10)])
            repo.commit()
            rows = repo.session.execute(
                text(
                    "SELECT last_analyze FROM pg_stat_user_tables "
                    "WHERE relname = 'mappings' AND schemaname = current_schema()"
                )
            ).one()
        assert rows[0] is None
    finally:
        store.close()


def test_a_type_written_after_the_last_analyze_gets_its_own(postgres_url: str) -> None:
    """Attachments are planned last in an overlapped run: the table had been analyzed without
    them, and the planner took 22,309 attachment rows for one (166 s for one page of 500)."""
    store = init_store(postgres_url)
    try:
        with store.session() as repo:
            repo.record_intents(P, "test_case", [(f"PROJ-T{i}", "h") for i in range(3000)])
            repo.commit()
            before = _analyzed(repo, "mappings")
            if not _poll_analyzed(store, "mappings", before - 1):
                pytest.fail("mappings were not analyzed after 3,000 rows")
            before = max(before, _analyzed(repo, "mappings"))
            # 1,200 rows of a new type: far from doubling the table's 3,000, but the first of the type.
            repo.record_intents(P, "attachment", [(f"PROJ-A{i}", "h") for i in range(1200)])
            repo.commit()
        assert _poll_analyzed(store, "mappings", before), "the new type's rows were analyzed"
    finally:
        store.close()
