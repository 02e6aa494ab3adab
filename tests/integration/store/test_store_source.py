"""Raw source entities: change detection by content hash, deletions, ordered streaming."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from ztoq.store import SourceItem, Store, content_hash

P = "PROJ"


def _case(n: int, **payload: object) -> SourceItem:
    return SourceItem("test_case", f"PROJ-T{n}", {"key": f"PROJ-T{n}", **payload}, source_id=1000 + n)


def test_upsert_tells_new_changed_unchanged(store: Store) -> None:
    with store.session() as repo:
        run1 = repo.start_run(P, "extract", ["extract"])
        first = repo.upsert_source(P, [_case(1, name="a"), _case(2, name="b")], run_id=run1)
    assert first.new == [("test_case", "PROJ-T1"), ("test_case", "PROJ-T2")]
    assert first.changed == first.unchanged == []

    with store.session() as repo:
        run2 = repo.start_run(P, "extract", ["extract"])
        second = repo.upsert_source(P, [_case(1, name="a"), _case(2, name="B"), _case(3)], run_id=run2)
        assert second.new == [("test_case", "PROJ-T3")]
        assert second.changed == [("test_case", "PROJ-T2")]
        assert second.unchanged == [("test_case", "PROJ-T1")]
        assert second.written == [("test_case", "PROJ-T3"), ("test_case", "PROJ-T2")]

        one = repo.get_source(P, "test_case", "PROJ-T1")
        two = repo.get_source(P, "test_case", "PROJ-T2")
    assert one is not None
    assert two is not None
    assert (one.first_seen_run_id, one.last_seen_run_id) == (run1, run2)
    assert two.payload == {"key": "PROJ-T2", "name": "B"}
    assert two.content_hash == content_hash({"name": "B", "key": "PROJ-T2"})
    assert two.source_id == 1002
    assert two.extracted_at.tzinfo is UTC
    assert abs((datetime.now(UTC) - two.extracted_at).total_seconds()) < 60


def test_key_order_does_not_count_as_change(store: Store) -> None:
    with store.session() as repo:
        repo.upsert_source(P, [SourceItem("status", "1", {"a": 1, "b": {"c": 2, "d": [1, "é"]}})])
        again = repo.upsert_source(P, [SourceItem("status", "1", {"b": {"d": [1, "é"], "c": 2}, "a": 1})])
    assert again.unchanged == [("status", "1")]


def test_repeated_key_in_a_batch_keeps_the_last(store: Store) -> None:
    with store.session() as repo:
        result = repo.upsert_source(P, [_case(1, v=1), _case(1, v=2)])
        stored = repo.get_source(P, "test_case", "PROJ-T1")
    assert result.new == [("test_case", "PROJ-T1")]
    assert stored is not None
    assert stored.payload["v"] == 2


def test_projects_are_separate(store: Store) -> None:
    with store.session() as repo:
        repo.upsert_source("A", [_case(1)])
        other = repo.upsert_source("B", [_case(1)])
        assert other.new == [("test_case", "PROJ-T1")]
        assert repo.source_counts("A") == {"test_case": 1}
        assert repo.get_source("C", "test_case", "PROJ-T1") is None


def test_unseen_are_marked_deleted_and_come_back(store: Store) -> None:
    with store.session() as repo:
        run1 = repo.start_run(P, "extract", ["extract"])
        repo.upsert_source(P, [_case(n) for n in range(1, 5)], run_id=run1)
        assert repo.mark_unseen_deleted(P, "test_case", since_run_id=run1) == []
    with store.session() as repo:
        run2 = repo.start_run(P, "extract", ["extract"])
        repo.upsert_source(P, [_case(1), _case(3)], run_id=run2)
        gone = repo.mark_unseen_deleted(P, "test_case", since_run_id=run2)
        assert sorted(gone) == ["PROJ-T2", "PROJ-T4"]
        assert repo.deleted_source_keys(P, "test_case") == ["PROJ-T2", "PROJ-T4"]
        assert repo.source_counts(P) == {"test_case": 2}
        assert repo.source_counts(P, include_deleted=True) == {"test_case": 4}
        assert [r.source_key for r in repo.iter_source(P, "test_case")] == ["PROJ-T1", "PROJ-T3"]
        assert repo.source_keys(P, "test_case") == {"PROJ-T1", "PROJ-T3"}
        # Marking again finds nothing new.
        assert repo.mark_unseen_deleted(P, "test_case", since_run_id=run2) == []
    with store.session() as repo:
        run3 = repo.start_run(P, "extract", ["extract"])
        back = repo.upsert_source(P, [_case(2)], run_id=run3)
        assert back.changed == [("test_case", "PROJ-T2")]
        record = repo.get_source(P, "test_case", "PROJ-T2")
        assert record is not None
        assert record.deleted_at is None


def test_resumed_extract_does_not_delete_what_the_interrupted_run_saw(store: Store) -> None:
    with store.session() as repo:
        started = repo.start_run(P, "extract", ["extract"])
        repo.upsert_source(P, [_case(1), _case(2)], run_id=started)
    with store.session() as repo:  # the rerun resumes after PROJ-T2
        resumed = repo.start_run(P, "extract", ["extract"])
        repo.upsert_source(P, [_case(3)], run_id=resumed)
        assert repo.mark_unseen_deleted(P, "test_case", since_run_id=started) == []


def test_deletion_scoped_to_a_parent(store: Store) -> None:
    steps = [
        SourceItem("test_steps", f"PROJ-T{c}#{i}", {"i": i}, parent_key=f"PROJ-T{c}")
        for c in (1, 2)
        for i in (1, 2)
    ]
    with store.session() as repo:
        run1 = repo.start_run(P, "extract", [])
        repo.upsert_source(P, steps, run_id=run1)
        run2 = repo.start_run(P, "extract", [])
        repo.upsert_source(P, [steps[0]], run_id=run2)  # only PROJ-T1 re-read, with one step left
        gone = repo.mark_unseen_deleted(P, "test_steps", since_run_id=run2, parent_key="PROJ-T1")
        assert gone == ["PROJ-T1#2"]
        assert repo.source_counts(P) == {"test_steps": 3}


def test_iteration_order_pages_and_parent_filter(store: Store) -> None:
    items = [
        SourceItem("folder", "f-b", {}, source_id=None, parent_key=None),
        SourceItem("folder", "30", {}, source_id=30, parent_key="10"),
        SourceItem("folder", "10", {}, source_id=10),
        SourceItem("folder", "f-a", {}, source_id=None, parent_key="10"),
        SourceItem("folder", "20", {}, source_id=20, parent_key="10"),
        SourceItem("folder", "2", {}, source_id=2),
    ]
    with store.session() as repo:
        repo.upsert_source(P, items)
        for page_size in (1, 2, 1000):
            keys = [r.source_key for r in repo.iter_source(P, "folder", page_size=page_size)]
            assert keys == ["2", "10", "20", "30", "f-a", "f-b"]
        children = [r.source_key for r in repo.iter_source(P, "folder", parent_key="10", page_size=1)]
        assert children == ["20", "30", "f-a"]
        assert list(repo.iter_source(P, "nothing")) == []


def test_iteration_survives_commits_between_pages(store: Store) -> None:
    with store.session() as repo:
        repo.upsert_source(P, [_case(n) for n in range(25)])
    seen = []
    with store.session() as repo:
        for record in repo.iter_source(P, "test_case", page_size=4):
            seen.append(record.source_key)
            repo.replace_problems(P, "transform", "test_case", record.source_key, [])  # a write per row
            repo.commit()
    assert len(seen) == 25 == len(set(seen))


def test_batch_of_mixed_types_and_json_kinds(store: Store) -> None:
    payloads = {"null": None, "list": [1, 2.5, "x"], "text": "ünïcode ✓", "big": 2**60, "nested": {"a": [{}]}}
    with store.session() as repo:
        result = repo.upsert_source(P, [SourceItem("raw", k, v) for k, v in payloads.items()] + [_case(1)])
        assert len(result.new) == 6
    with store.session() as repo:
        for key, value in payloads.items():
            record = repo.get_source(P, "raw", key)
            assert record is not None
            assert record.payload == value


@pytest.mark.slow
def test_bulk_upsert_speed(store: Store, backend: str) -> None:
    """20,000 test cases and 100,000 step rows: a few seconds on SQLite."""
    cases = [
        SourceItem("test_case", f"PROJ-T{i}", {"key": f"PROJ-T{i}", "name": f"Case {i}", "labels": ["a"]}, i)
        for i in range(20_000)
    ]
    steps = [
        SourceItem(
            "test_steps",
            f"PROJ-T{i // 5}#{i % 5}",
            {"index": i % 5, "text": "do it"},
            None,
            f"PROJ-T{i // 5}",
        )
        for i in range(100_000)
    ]
    if backend == "postgresql":
        cases, steps = cases[:4000], steps[:20_000]  # the same code path, a fifth of the volume
    started = time.perf_counter()
    with store.session() as repo:
        run_id = repo.start_run(P, "extract", ["extract"])
        for batch in range(0, len(cases), 1000):
            repo.upsert_source(P, cases[batch : batch + 1000], run_id=run_id)
        for batch in range(0, len(steps), 1000):
            repo.upsert_source(P, steps[batch : batch + 1000], run_id=run_id)
    elapsed = time.perf_counter() - started
    with store.session() as repo:
        assert repo.source_counts(P) == {"test_case": len(cases), "test_steps": len(steps)}
        unchanged = repo.upsert_source(P, steps[:1000], run_id=run_id)
        assert len(unchanged.unchanged) == 1000
    assert elapsed < 20, f"bulk upsert took {elapsed:.1f} s"


def _steps(key: str, steps: list[str]) -> SourceItem:
    return SourceItem("test_steps", key, steps, parent_key=key)


def test_states_and_payloads_by_key_read_no_more_than_asked(store: Store) -> None:
    with store.session() as repo:
        run1 = repo.start_run(P, "extract", ["extract"])
        repo.upsert_source(P, [_case(1, name="a"), _case(2, name="b")], run_id=run1)
        repo.mark_unseen_deleted(P, "test_case", since_run_id=run1 + 1)  # both deleted
        run2 = repo.start_run(P, "extract", ["extract"])
        repo.upsert_source(P, [_case(1, name="a")], run_id=run2)
    with store.session() as repo:
        states = repo.source_states(P, "test_case", ["PROJ-T1", "PROJ-T2", "PROJ-T9", "PROJ-T1"])
        payloads = repo.payloads_by_key(P, "test_case", ["PROJ-T1", "PROJ-T2", "PROJ-T9"])
    assert set(states) == {"PROJ-T1", "PROJ-T2"}
    assert states["PROJ-T1"] == (content_hash({"key": "PROJ-T1", "name": "a"}), False, run2)
    assert states["PROJ-T2"].deleted
    assert states["PROJ-T2"].last_seen_run_id == run1
    assert payloads == {"PROJ-T1": {"key": "PROJ-T1", "name": "a"}}, "live rows only"


def test_bookkeeping_rows_are_removed_by_key_or_all_of_a_type(store: Store) -> None:
    with store.session() as repo:
        repo.upsert_source(
            P, [SourceItem("checkpoint", t, {"next": {"startAt": 3}}) for t in ("a", "b", "c")]
        )
        repo.upsert_source("OTHER", [SourceItem("checkpoint", "a", {})])
        assert repo.delete_source(P, "checkpoint", ["a", "zz"]) == 1
        assert repo.source_keys(P, "checkpoint") == {"b", "c"}
        assert repo.delete_source(P, "checkpoint") == 2
        assert repo.source_keys(P, "checkpoint") == set()
        assert repo.source_keys("OTHER", "checkpoint") == {"a"}


def test_parts_a_reread_did_not_return_are_marked_deleted(store: Store) -> None:
    with store.session() as repo:
        run1 = repo.start_run(P, "extract", ["extract"])
        repo.upsert_source(P, [_steps("PROJ-T1", ["x"]), _steps("PROJ-T2", ["y"])], run_id=run1)
        repo.upsert_source(
            P, [SourceItem("test_script", "PROJ-T1", {"text": "s"}, parent_key="PROJ-T1")], run_id=run1
        )
        run2 = repo.start_run(P, "extract", ["extract"])
        # PROJ-T1's parts were read again: steps now, no script any more. PROJ-T2 was not re-read.
        repo.upsert_source(P, [_steps("PROJ-T1", ["x", "z"])], run_id=run2)
        marked = sum(
            repo.mark_stale_parts_deleted(P, part, ["PROJ-T1"], run_id=run2)
            for part in ("test_steps", "test_script")
        )
        assert marked == 1
        assert repo.source_keys(P, "test_script") == set()
        assert repo.source_keys(P, "test_steps") == {"PROJ-T1", "PROJ-T2"}


def test_parts_of_deleted_or_missing_objects_are_marked_deleted(store: Store) -> None:
    with store.session() as repo:
        run1 = repo.start_run(P, "extract", ["extract"])
        repo.upsert_source(P, [_case(1), _case(2)], run_id=run1)
        repo.upsert_source(P, [_steps(f"PROJ-T{n}", []) for n in (1, 2, 3)], run_id=run1)
        repo.upsert_source(P, [SourceItem("test_steps", "loose", [])], run_id=run1)  # no parent key
        run2 = repo.start_run(P, "extract", ["extract"])
        repo.upsert_source(P, [_case(1)], run_id=run2)
        repo.mark_unseen_deleted(P, "test_case", since_run_id=run2)  # PROJ-T2 deleted
        assert repo.mark_orphans_deleted(P, "test_steps", "test_case") == 2  # T2's, and T3's (never stored)
        assert repo.source_keys(P, "test_steps") == {"PROJ-T1", "loose"}
        assert repo.mark_orphans_deleted(P, "test_steps", "test_case") == 0
