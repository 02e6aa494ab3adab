"""Runs, phases, statistics, phase rollback and index maintenance."""

from __future__ import annotations

import pytest

from store_queries import get_run
from ztoq import __version__
from ztoq.store import PlannedItem, ProblemItem, SourceItem, Store

P = "PROJ"


def test_run_and_phase_lifecycle(store: Store) -> None:
    with store.session() as repo:
        run_id = repo.start_run(P, "migrate", ["extract", "transform"])
        phase_id = repo.start_phase(run_id, "extract")
        repo.update_phase_counts(phase_id, {"test_case": {"done": 5, "total": 10, "failed": 0}})
        repo.update_run_stats(run_id, {"requests": {"zephyr": 12}, "retries": 1})
    with store.session() as repo:
        run = get_run(repo, run_id)
        assert run is not None
        assert (run.status, run.phases, run.ztoq_version, run.finished_at) == (
            "running",
            ["extract", "transform"],
            __version__,
            None,
        )
        assert run.stats == {"requests": {"zephyr": 12}, "retries": 1}
        repo.finish_phase(phase_id, "succeeded", counts={"test_case": {"done": 10, "total": 10}})
        repo.finish_run(run_id, "failed", error="The load phase failed: boom.", stats={"requests": {}})
    with store.session() as repo:
        run = get_run(repo, run_id)
        phases = repo.phase_runs(run_id)
        assert run is not None
        assert run.status == "failed"
        assert run.error == "The load phase failed: boom."
        assert run.finished_at is not None
        assert run.finished_at >= run.started_at
        assert [(p.phase, p.status, p.counts) for p in phases] == [
            ("extract", "succeeded", {"test_case": {"done": 10, "total": 10}})
        ]
        with pytest.raises(ValueError, match="finishes as one of"):
            repo.finish_run(run_id, "running")


def test_run_ids_grow_and_latest(store: Store) -> None:
    with store.session() as repo:
        ids = [repo.start_run(P, cmd, []) for cmd in ("extract", "load", "extract")]
        repo.start_run("OTHER", "extract", [])
        assert ids == sorted(ids)
        assert len(set(ids)) == 3
        latest = repo.latest_run(P)
        assert latest is not None
        assert latest.id == ids[2]
        latest_load = repo.latest_run(P, command="load")
        assert latest_load is not None
        assert latest_load.id == ids[1]
        assert [r.id for r in repo.list_runs(P, limit=2)] == [ids[2], ids[1]]
        assert len(repo.list_runs()) == 4


def test_abandoned_runs_are_closed(store: Store) -> None:
    with store.session() as repo:
        killed = repo.start_run(P, "migrate", ["load"])
        repo.start_phase(killed, "load")
        assert repo.interrupt_abandoned_runs(P) == 1
        run = get_run(repo, killed)
        assert run is not None
        assert run.status == "interrupted"
        assert run.finished_at is not None
        assert [p.status for p in repo.phase_runs(killed)] == ["interrupted"]
        assert repo.interrupt_abandoned_runs(P) == 0


def _fill(store: Store) -> None:
    with store.session() as repo:
        run_id = repo.start_run(P, "migrate", [])
        repo.start_phase(run_id, "extract")
        repo.upsert_source(
            P, [SourceItem("test_case", "T1", {}), SourceItem("test_case", "T2", {})], run_id=run_id
        )
        repo.upsert_source("OTHER", [SourceItem("test_case", "T1", {})])
        repo.upsert_planned(P, [PlannedItem("test_case", "T1", {})])
        repo.record_created(P, "test_case", "T1", 1, "h")
        repo.replace_problems(P, "transform", "test_case", "T1", [ProblemItem("skipped", "c", "m")])
        repo.replace_problems(P, "extract", "test_case", "T1", [ProblemItem("missing", "c", "m")])


def test_table_and_state_counts(store: Store) -> None:
    _fill(store)
    with store.session() as repo:
        assert repo.table_counts(P) == {
            "runs": 1,
            "phase_runs": 1,
            "source_entities": 2,
            "planned_entities": 1,
            "mappings": 1,
            "problems": 2,
            "attachments": 0,
            "validate_seen": 0,
            "validate_latest_logs": 0,
            "validate_attachment_reads": 0,
            "locks": 0,
        }
        assert repo.table_counts()["source_entities"] == 3
        assert repo.state_counts(P) == {"test_case": {"created": 1}}
        assert repo.state_counts() == {"test_case": {"created": 1}}


def test_clear_phase_rolls_back_a_phase_but_never_mappings(store: Store) -> None:
    _fill(store)
    with store.session() as repo:
        assert repo.clear_phase(P, "transform") == {"planned_entities": 1, "problems": 1}
        assert repo.clear_phase(P, "extract") == {"source_entities": 2, "attachments": 0, "problems": 1}
        assert repo.clear_phase(P, "load") == {"problems": 0}
        assert repo.source_counts("OTHER") == {"test_case": 1}
        assert repo.mappings_for(P, "test_case") == {"T1": 1}
        with pytest.raises(ValueError, match="phase must be one of"):
            repo.clear_phase(P, "everything")


def test_index_analyze_and_create_are_idempotent(store: Store) -> None:
    with store.session() as repo:
        before = {i.name: i for i in repo.index_report()}
        assert before["ix_mappings_state"].exists
        assert before["ix_mappings_state"].in_schema
        assert before["ix_source_entities_parent"].columns == ("project_key", "entity_type", "parent_key")
        missing = sorted(name for name, info in before.items() if not info.exists)
        assert missing == ["ix_problems_code", "ix_source_entities_seen"]
        assert before["ix_mappings_target"].exists
        assert before["ix_mappings_target"].in_schema
        assert sorted(repo.create_recommended_indexes()) == missing
    with store.session() as repo:
        assert repo.create_recommended_indexes() == []
        after = repo.index_report()
        assert all(info.exists for info in after)
        assert {i.name for i in after} == set(before)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_custom ON runs (command)")
        conn.exec_driver_sql("DROP INDEX ix_problems_severity")
    with store.session() as repo:
        report = {i.name: i for i in repo.index_report()}
        assert (report["ix_custom"].exists, report["ix_custom"].recommended) == (True, False)
        assert not report["ix_problems_severity"].exists
        assert repo.create_recommended_indexes() == ["ix_problems_severity"]
