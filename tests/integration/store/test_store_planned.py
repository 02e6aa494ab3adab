"""Planned entities: change detection, load order by level, the work load still has to do."""

from __future__ import annotations

from ztoq.store import MappingState, PlannedItem, Store, content_hash

P = "PROJ"


def _module(key: str, level: int, name: str = "", parent: str | None = None) -> PlannedItem:
    depends = [("module", parent)] if parent else []
    return PlannedItem("module", key, {"name": name or key, "parentId": parent}, depends, level)


def test_iteration_in_level_order(store: Store) -> None:
    items = [
        _module("c", 2, parent="b"),
        _module("a", 0),
        _module("b", 1, parent="a"),
        _module("b2", 1, parent="a"),
        _module("a2", 0),
        _module("c2", 2, parent="b2"),
    ]
    with store.session() as repo:
        repo.upsert_planned(P, items)
        for page_size in (1, 4, 1000):
            order = [(p.level, p.source_key) for p in repo.iter_planned(P, "module", page_size=page_size)]
            assert order == [(0, "a"), (0, "a2"), (1, "b"), (1, "b2"), (2, "c"), (2, "c2")]
        assert [p.source_key for p in repo.iter_planned(P, "module", level=1)] == ["b", "b2"]
        assert repo.planned_levels(P, "module") == [0, 1, 2]
        record = repo.get_planned(P, "module", "c")
    assert record is not None
    assert record.depends_on == [("module", "b")]
    assert record.content_hash == content_hash({"name": "c", "parentId": "b"})


def test_sort_key_orders_within_a_level(store: Store) -> None:
    logs = [
        PlannedItem("test_log", "E-3", {"n": 3}, [("test_run", "R")], 0, "2024-03-01T00:00:00Z"),
        PlannedItem("test_log", "E-1", {"n": 1}, [("test_run", "R")], 0, "2024-01-01T00:00:00Z"),
        PlannedItem("test_log", "E-2", {"n": 2}, [("test_run", "R")], 0, "2024-02-01T00:00:00Z"),
    ]
    with store.session() as repo:
        repo.upsert_planned(P, logs)
        assert [p.source_key for p in repo.iter_planned(P, "test_log", page_size=2)] == ["E-1", "E-2", "E-3"]


def test_upsert_planned_reports_changes(store: Store) -> None:
    with store.session() as repo:
        first = repo.upsert_planned(P, [_module("a", 0), _module("b", 1)])
        assert len(first.new) == 2
        second = repo.upsert_planned(
            P,
            [
                _module("a", 0),  # same
                _module("b", 3),  # only the level moved: stored, but load would send the same
                PlannedItem("module", "c", {"name": "c"}, status="skipped"),
            ],
        )
        assert second.unchanged == [("module", "a"), ("module", "b")]
        assert second.new == [("module", "c")]
        moved = repo.get_planned(P, "module", "b")
        assert moved is not None
        assert moved.level == 3
        third = repo.upsert_planned(
            P, [_module("a", 0, name="renamed"), PlannedItem("module", "c", {"name": "c"}, status="planned")]
        )
        assert third.changed == [("module", "a"), ("module", "c")]
        assert [p.source_key for p in repo.iter_planned(P, "module", status=None)] == ["a", "c", "b"]
        assert repo.planned_counts(P) == {"module": {"planned": 3}}


def test_load_work_follows_mappings(store: Store) -> None:
    items = [_module("a", 0), _module("b", 0), _module("c", 0), _module("d", 0)]
    items.append(PlannedItem("module", "s", {"name": "s"}, status="skipped"))
    with store.session() as repo:
        repo.upsert_planned(P, items)
        hashes = {p.source_key: p.content_hash for p in repo.iter_planned(P, "module")}
        repo.record_created(P, "module", "a", 1, hashes["a"])  # loaded as planned
        repo.record_created(P, "module", "b", 2, "an older hash")  # planned content changed since
        repo.record_intent(P, "module", "c", hashes["c"])  # crashed before the answer
        work = list(repo.iter_load_work(P, "module", page_size=2))
    assert [w.planned.source_key for w in work] == ["b", "c", "d"]
    by_key = {w.planned.source_key: w.mapping for w in work}
    assert by_key["b"] is not None
    assert by_key["b"].target_id == 2
    assert by_key["c"] is not None
    assert by_key["c"].state == MappingState.INTENT
    assert by_key["d"] is None


def test_load_work_pages_by_key_within_a_level_and_counts_the_type(store: Store) -> None:
    logs = [
        PlannedItem("test_log", f"E-{n}", {"n": n}, [("test_run", "R")], n % 2, f"2024-01-{10 + n % 5:02d}")
        for n in range(9)
    ]
    with store.session() as repo:
        repo.upsert_planned(P, logs)
        loaded = repo.get_planned(P, "test_log", "E-4")
        assert loaded is not None
        repo.record_created(P, "test_log", "E-4", 4, loaded.content_hash)  # nothing left to send
        assert repo.count_load_work(P, "test_log") == 8
        expected = [w.planned.source_key for w in repo.iter_load_work(P, "test_log", level=0)]
        pages: list[list[str]] = []
        after: tuple[str, str] | None = None
        while True:
            page = repo.load_work_page(P, "test_log", 0, after=after, limit=2)
            pages.append([w.planned.source_key for w in page])
            if len(page) < 2:
                break
            after = (page[-1].planned.sort_key, page[-1].planned.source_key)
    assert [key for page in pages for key in page] == expected == ["E-0", "E-6", "E-2", "E-8"]
    assert [len(page) for page in pages] == [2, 2, 0]


def test_load_work_of_some_keys_is_theirs_only_in_load_order(store: Store) -> None:
    items = [_module("c", 1, parent="a"), _module("a", 0), _module("b", 0), _module("d", 0)]
    with store.session() as repo:
        repo.upsert_planned(P, items)
        loaded = repo.get_planned(P, "module", "b")
        assert loaded is not None
        repo.record_created(P, "module", "b", 2, loaded.content_hash)  # nothing left to send
        work = repo.load_work_for(P, "module", ["c", "b", "a", "unknown"])
    assert [w.planned.source_key for w in work] == ["a", "c"], "not d: only the keys asked for"


def test_delete_planned(store: Store) -> None:
    with store.session() as repo:
        repo.upsert_planned(P, [_module("a", 0), _module("b", 0)])
        assert repo.delete_planned(P, "module", ["a", "zzz"]) == 1
        assert [p.source_key for p in repo.iter_planned(P, "module")] == ["b"]
