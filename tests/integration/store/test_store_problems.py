"""Problems: replaced when an entity is processed again, listed and counted."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ztoq.pipeline.status import type_status
from ztoq.store import ProblemItem, Store, init_store
from ztoq.store.database import alembic_config, migration_engine

P = "PROJ"
DEFAULTED = ProblemItem(
    "degraded", "priority_defaulted", "Priority 'Blocker' has no qTest match; used Medium.", "priority"
)
UNMAPPED = ProblemItem(
    "degraded", "unmapped_user", "Owner abc has no qTest user.", "owner", {"accountId": "abc"}
)


def test_reprocessing_replaces_instead_of_piling_up(store: Store) -> None:
    with store.session() as repo:
        run_id = repo.start_run(P, "migrate", ["transform"])
        for _ in range(3):
            repo.replace_problems(
                P, "transform", "test_case", "PROJ-T1", [DEFAULTED, UNMAPPED], run_id=run_id
            )
        repo.replace_problems(
            P, "validate", "test_case", "PROJ-T1", [ProblemItem("mismatch", "name", "Names differ.")]
        )
        assert len(repo.list_problems(P, phase="transform")) == 2
        repo.replace_problems(P, "transform", "test_case", "PROJ-T1", [UNMAPPED])
        remaining = sorted(repo.list_problems(P, source_key="PROJ-T1"), key=lambda p: p.phase)
        assert [(p.phase, p.code) for p in remaining] == [
            ("transform", "unmapped_user"),
            ("validate", "name"),
        ]
        assert remaining[0].detail == {"accountId": "abc"}
        assert remaining[0].field == "owner"
        assert remaining[0].run_id is None
        assert remaining[1].run_id is None
        repo.replace_problems(P, "transform", "test_case", "PROJ-T1", [])
        assert repo.list_problems(P, phase="transform") == []


def test_bulk_replace_counts_and_iteration(store: Store) -> None:
    with store.session() as repo:
        entries = [("test_case", f"PROJ-T{n}", [DEFAULTED] * (n % 3)) for n in range(600)]
        assert repo.replace_problems_bulk(P, "transform", entries) == 600
        assert repo.replace_problems_bulk(P, "transform", entries) == 600
        repo.replace_problems(
            P,
            "load",
            "test_run",
            "R1",
            [
                ProblemItem("failed", "http_400", "qTest refused it."),
                ProblemItem("failed", "http_400", "again."),
            ],
        )
        assert repo.problem_counts(P) == {
            ("transform", "degraded", "priority_defaulted"): 600,
            ("load", "failed", "http_400"): 2,
        }
        assert repo.problem_counts(P, phase="load") == {("load", "failed", "http_400"): 2}
        streamed = list(repo.iter_problems(P, phase="transform", page_size=64))
        assert len(streamed) == 600
        assert [p.id for p in streamed] == sorted(p.id for p in streamed)
        assert len(repo.list_problems(P, severity="failed", limit=1)) == 1
        assert repo.clear_problems(P, "load") == 2
        assert repo.clear_problems(P, "transform", entity_type="test_case") == 600


def test_unknown_severity_is_rejected(store: Store) -> None:
    with store.session() as repo, pytest.raises(ValueError, match="problem severity must be one of"):
        repo.replace_problems(P, "transform", "x", "y", [ProblemItem("awful", "c", "m")])


KEPT = ProblemItem("kept_in_text", "field_in_description", "No qTest field; kept in text.", "labels")
INSERT_KEPT = text(
    "INSERT INTO problems (project_key, phase, entity_type, source_key, severity, code, message, created_at) "
    "VALUES ('PROJ', 'transform', 'test_case', 'PROJ-T2', 'kept_in_text', 'c', 'm', CURRENT_TIMESTAMP)"
)


def test_kept_in_text_is_stored_and_a_downgrade_makes_it_degraded(db_url: str) -> None:
    """Revision 0005 allows "kept_in_text"; going back to 0004 turns those problems into "degraded"."""
    with init_store(db_url) as store, store.session() as repo:
        repo.replace_problems(P, "transform", "test_case", "PROJ-T1", [KEPT, DEFAULTED])
        assert repo.problem_counts(P) == {
            ("transform", "kept_in_text", "field_in_description"): 1,
            ("transform", "degraded", "priority_defaulted"): 1,
        }
    engine = migration_engine(db_url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0004")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT severity, code FROM problems ORDER BY code")).all()
            assert [tuple(r) for r in rows] == [
                ("degraded", "field_in_description"),
                ("degraded", "priority_defaulted"),
            ]
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(INSERT_KEPT)
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
            conn.execute(INSERT_KEPT)
    finally:
        engine.dispose()


def test_status_counts_entities_with_degraded_and_kept_in_text_values_apart(store: Store) -> None:
    with store.session() as repo:
        repo.replace_problems(P, "transform", "test_case", "PROJ-T1", [KEPT, KEPT, DEFAULTED])
        repo.replace_problems(P, "transform", "test_case", "PROJ-T2", [KEPT])
        rows = {row.entity_type: row for row in type_status(repo, P)}
    assert (rows["test_case"].degraded, rows["test_case"].kept_in_text) == (1, 2)
