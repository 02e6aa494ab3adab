"""Reads a page at a time and by sets of keys (StreamQueries): what transform streams."""

from __future__ import annotations

from ztoq.store import PlannedItem, SourceItem, Store

P = "PROJ"


def _execution(key: str, source_id: int | None) -> SourceItem:
    return SourceItem("test_execution", key, {"key": key}, source_id=source_id)


def test_source_pages_are_iter_source_in_pages(store: Store) -> None:
    items = [_execution(f"E{n}", n % 7 if n % 3 else None) for n in range(40)]
    with store.session() as repo:
        run = repo.start_run(P, "extract", ["extract"])
        repo.upsert_source(P, [*items, SourceItem("test_steps", "E1", [1])], run_id=run)
        repo.upsert_source("OTHER", [_execution("E1", 1)])
    with store.session() as repo:
        expected = [(r.source_key, r.payload) for r in repo.iter_source(P, "test_execution")]
        pages = list(repo.source_pages(P, "test_execution", page_size=6))
        assert [len(page) for page in pages] == [6, 6, 6, 6, 2, 6, 6, 2]
        assert [row for page in pages for row in page] == expected
        assert list(repo.source_pages(P, "nothing")) == []


def test_rows_are_read_by_key_deleted_ones_left_out(store: Store) -> None:
    with store.session() as repo:
        first = repo.start_run(P, "extract", ["extract"])
        repo.upsert_source(P, [_execution(f"E{n}", n) for n in range(1200)], run_id=first)
        second = repo.start_run(P, "extract", ["extract"])
        repo.upsert_source(P, [_execution(f"E{n}", n) for n in range(1, 1200)], run_id=second)
        repo.mark_unseen_deleted(P, "test_execution", since_run_id=second)
    with store.session() as repo:
        wanted = [f"E{n}" for n in range(0, 1300, 2)] + ["E2"]
        found = repo.source_payloads_for(P, "test_execution", wanted)
        assert set(found) == {f"E{n}" for n in range(2, 1200, 2)}
        assert found["E1198"] == {"key": "E1198"}
        hashes = repo.source_hashes_for(P, "test_execution", ["E0", "E1", "E9"])
        assert set(hashes) == {"E1", "E9"}
        assert hashes["E1"] == repo.get_source(P, "test_execution", "E1").content_hash  # type: ignore[union-attr]
        assert repo.source_payloads_for(P, "test_execution", []) == {}


def _planned(key: str, status: str = "planned") -> PlannedItem:
    return PlannedItem("test_log", key, {"body": {"n": key}, "extra": {}}, status=status)


def test_planned_rows_by_key_and_key_pages(store: Store) -> None:
    with store.session() as repo:
        repo.upsert_planned(
            P, [_planned(f"L{n:02d}", "skipped" if n % 5 == 0 else "planned") for n in range(23)]
        )
        repo.upsert_planned("OTHER", [_planned("L01")])
    with store.session() as repo:
        found = repo.planned_payloads_for(P, "test_log", ["L00", "L01", "L02", "L99"])
        assert found == {
            "L01": {"body": {"n": "L01"}, "extra": {}},
            "L02": {"body": {"n": "L02"}, "extra": {}},
        }
        pages = []
        for page in repo.planned_key_pages(P, "test_log", page_size=10):
            pages.append(page)
            repo.delete_planned(P, "test_log", page[:3])  # deleting what was read moves nothing
        assert [len(p) for p in pages] == [10, 10, 3]
        assert [k for p in pages for k in p] == [f"L{n:02d}" for n in range(23)]
        assert len(repo.planned_keys(P, "test_log")) == 23 - 9
