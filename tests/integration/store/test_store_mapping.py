"""Mappings: the intent -> created protocol, crash reconciliation, reference resolution."""

from __future__ import annotations

import multiprocessing
import os
import signal

import pytest

from store_queries import get_mapping, pending_intents
from ztoq.store import MappingState, Store, open_store
from ztoq.store.repo_mapping import TargetRecord, _statement

P = "PROJ"


class Crash(Exception):
    """Stands for the process dying between two statements."""


def test_intent_then_created(store: Store) -> None:
    with store.session() as repo:
        repo.record_intent(P, "test_case", "PROJ-T1", "h1")
    with store.session() as repo:
        pending = pending_intents(repo, P, "test_case")
        assert [(m.source_key, m.state, m.attempts, m.target_id) for m in pending] == [
            ("PROJ-T1", "intent", 1, None)
        ]
        repo.record_created(P, "test_case", "PROJ-T1", 9001, "h1", pid="TC-1", web_url="https://q/tc/1")
    with store.session() as repo:
        mapping = get_mapping(repo, P, "test_case", "PROJ-T1")
        assert pending_intents(repo, P) == []
    assert mapping is not None
    assert (mapping.state, mapping.target_id, mapping.target_pid) == ("created", 9001, "TC-1")
    assert (mapping.intent_hash, mapping.loaded_hash, mapping.web_url) == ("h1", "h1", "https://q/tc/1")
    assert mapping.attempts == 1
    assert mapping.last_error is None
    assert mapping.created_at <= mapping.updated_at


def test_crash_between_intent_and_created_leaves_a_pending_intent(store: Store) -> None:
    with store.session() as repo:
        repo.record_intent(P, "test_case", "PROJ-T1", "h1")  # committed before the request
    with pytest.raises(Crash), store.session() as repo:
        repo.record_created(P, "test_case", "PROJ-T1", 9001, "h1")
        raise Crash  # the answer never made it to disk
    with store.session() as repo:
        pending = pending_intents(repo, P)
        assert [(m.entity_type, m.source_key, m.target_id) for m in pending] == [
            ("test_case", "PROJ-T1", None)
        ]
        # Reconciliation found it in qTest by its source key: adopt it.
        repo.record_created(P, "test_case", "PROJ-T1", 9001, "h1", state=MappingState.ADOPTED)
        assert pending_intents(repo, P) == []
        assert repo.mappings_for(P, "test_case") == {"PROJ-T1": 9001}


def _intent_then_die(url: str) -> None:
    store = open_store(url)
    with store.session() as repo:
        repo.record_intent(P, "test_case", "PROJ-T7", "h7")
    with store.session() as repo:
        repo.record_created(P, "test_case", "PROJ-T7", 7, "h7")
        os.kill(os.getpid(), signal.SIGKILL)  # dies before the unit of work commits


def test_sigkill_after_intent_keeps_the_intent(store: Store, db_url: str) -> None:
    child = multiprocessing.get_context("spawn").Process(target=_intent_then_die, args=(db_url,))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    with store.session() as repo:
        pending = pending_intents(repo, P, "test_case")
    assert [(m.source_key, m.state, m.target_id, m.intent_hash) for m in pending] == [
        ("PROJ-T7", "intent", None, "h7")
    ]


def test_retry_counts_attempts_and_update_keeps_state(store: Store) -> None:
    with store.session() as repo:
        repo.record_intent(P, "module", "m", "h1")
        repo.record_failed(P, "module", "m", "qTest answered 500." * 500)
        failed = get_mapping(repo, P, "module", "m")
        assert failed is not None
        assert failed.state == "failed"
        assert len(failed.last_error or "") == 2000
        repo.record_intent(P, "module", "m", "h1")
        repo.record_created(P, "module", "m", 5, "h1", pid="MD-5")
        repo.record_intent(P, "module", "m", "h2")  # an update of an existing entity
        updating = get_mapping(repo, P, "module", "m")
        assert updating is not None
        assert (updating.state, updating.attempts, updating.intent_hash, updating.target_id) == (
            "created",
            3,
            "h2",
            5,
        )
        assert pending_intents(repo, P) == []
        repo.record_created(P, "module", "m", 5, "h2", state=MappingState.UPDATED)
        updated = get_mapping(repo, P, "module", "m")
    assert updated is not None
    assert (updated.state, updated.loaded_hash, updated.target_pid) == ("updated", "h2", "MD-5")


def test_skipped_deleted_and_recreated(store: Store) -> None:
    with store.session() as repo:
        repo.record_skipped(P, "test_run", "R1", "its test case failed to load")
        repo.record_created(P, "test_run", "R2", 22, "h")
        repo.record_created(P, "test_run", "R3", 33, "h")
        assert repo.mark_deleted(P, "test_run", "R3") is True
        assert repo.mark_deleted(P, "test_run", "nope") is False
        assert repo.mappings_for(P, "test_run") == {"R2": 22}
        skipped = get_mapping(repo, P, "test_run", "R1")
        assert skipped is not None
        assert skipped.last_error == "its test case failed to load"
        assert repo.state_counts(P) == {"test_run": {"skipped": 1, "created": 1, "deleted": 1}}
        # The source comes back: a new create is needed, the old id is gone.
        repo.record_intent(P, "test_run", "R3", "h")
        again = get_mapping(repo, P, "test_run", "R3")
        assert again is not None
        assert (again.state, again.target_id) == ("intent", None)


def test_record_created_rejects_other_states(store: Store) -> None:
    with store.session() as repo, pytest.raises(ValueError, match="created, updated or adopted"):
        repo.record_created(P, "module", "m", 1, "h", state="failed")


def test_iter_mappings_and_bulk_reference_lookup(store: Store) -> None:
    with store.session() as repo:
        for n in range(30):
            repo.record_created(P, "test_case", f"K{n:02d}", 100 + n, "h")
        repo.record_failed(P, "test_case", "K99", "boom")
        refs = repo.mappings_for(P, "test_case")
        assert len(refs) == 30
        assert refs["K07"] == 107
        keys = [m.source_key for m in repo.iter_mappings(P, "test_case", page_size=7)]
        assert keys == sorted(keys)
        assert len(keys) == 31
        failed = list(repo.iter_mappings(P, states=["failed"]))
        assert [m.source_key for m in failed] == ["K99"]


def test_a_batch_is_recorded_with_one_statement_per_kind(store: Store) -> None:
    with store.session() as repo:
        repo.record_created(P, "test_run", "R0", 10, "h0", pid="TR-10", version="1.0")
        repo.record_intents(P, "test_run", [("R0", "h0b"), ("R1", "h1"), ("R2", "h2")])
    with store.session() as repo:
        assert [(m.source_key, m.state, m.attempts) for m in pending_intents(repo, P)] == [
            ("R1", "intent", 1),
            ("R2", "intent", 1),
        ]
        repo.record_results(
            P,
            "test_run",
            [
                TargetRecord("R0", 10, "h0b", MappingState.UPDATED),
                TargetRecord("R1", 11, "h1", pid="TR-11", web_url="https://q/r/11"),
            ],
        )
        repo.record_outcomes(P, "test_run", [("R2", "failed", "qTest answered 400.")])
    with store.session() as repo:
        rows = {m.source_key: m for m in repo.iter_mappings(P, "test_run")}
    # None keeps what was recorded (the pid and version of R0), the id and the state are replaced.
    assert (rows["R0"].state, rows["R0"].target_pid, rows["R0"].target_version) == ("updated", "TR-10", "1.0")
    assert (rows["R0"].loaded_hash, rows["R0"].attempts) == ("h0b", 1)
    assert (rows["R1"].state, rows["R1"].target_id, rows["R1"].web_url) == ("created", 11, "https://q/r/11")
    assert (rows["R2"].state, rows["R2"].target_id, rows["R2"].last_error) == (
        "failed",
        None,
        "qTest answered 400.",
    )
    with store.session() as repo, pytest.raises(ValueError, match="failed or skipped"):
        repo.record_outcomes(P, "test_run", [("R3", "created", "no")])


def test_hot_path_statements_are_built_once_per_dialect(store: Store) -> None:
    dialect = store.dialect
    assert _statement(dialect, "intent") is _statement(dialect, "intent")
    with store.session() as repo:
        repo.record_intent(P, "module", "m", "h")
        built = _statement(dialect, "result")
        repo.record_created(P, "module", "m", 1, "h")
        repo.record_failed(P, "module", "n", "boom")
    assert _statement(dialect, "result") is built


def test_target_ids_reads_only_the_keys_asked_for(store: Store) -> None:
    with store.session() as repo:
        repo.record_created(P, "test_case", "T1", 1, "h")
        repo.record_created(P, "test_case", "T2", 2, "h")
        repo.record_created(P, "test_run", "T1", 31, "h")
        repo.record_created(P, "test_run", "R9", 39, "h")
        repo.mark_deleted(P, "test_run", "R9")
        repo.record_intent(P, "test_case", "T3", "h")
        found = repo.target_ids(
            P, [("test_case", "T1"), ("test_case", "T3"), ("test_run", "T1"), ("test_run", "R9")]
        )
        assert repo.target_ids(P, []) == {}
    assert found == {("test_case", "T1"): 1, ("test_run", "T1"): 31}
