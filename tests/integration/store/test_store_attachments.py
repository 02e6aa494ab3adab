"""The attachment catalogue: listing, change detection, deletions, download and upload results."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect

from ztoq.store import (
    AttachmentState,
    AttachmentTotals,
    ListedAttachment,
    Repository,
    Store,
    init_store,
)
from ztoq.store.database import alembic_config, migration_engine

P = "PROJ"
SHA = "ab" * 32
PENDING = (AttachmentState.LISTED, AttachmentState.FAILED)


def _listed(n: int, owner: str = "PROJ-T1", **changes: object) -> ListedAttachment:
    values: dict[str, object] = {
        "source_key": f"test_case/{owner}/{n}",
        "owner_type": "test_case",
        "owner_key": owner,
        "step_index": None,
        "source_id": str(n),
        "name": f"file{n}.png",
        "size": 100 * n,
        "content_type": "image/png",
        "locator": f"https://zephyr.example/attachments/{n}",
        **changes,
    }
    return ListedAttachment(**values)  # type: ignore[arg-type]


def _state(store: Store, key: str) -> tuple[str, str | None, int | None]:
    with store.session() as repo:
        found = repo.get_attachment(P, key)
    assert found is not None
    return found.state, found.sha256, found.target_id


def test_upsert_lists_new_and_keeps_what_did_not_change(store: Store) -> None:
    with store.session() as repo:
        run1 = repo.start_run(P, "extract", ["extract"])
        assert repo.upsert_attachments(P, [_listed(1), _listed(2), _listed(2)], run_id=run1) == 2
        assert repo.upsert_attachments(P, [], run_id=run1) == 0
        first = repo.get_attachment(P, "test_case/PROJ-T1/1")
        assert repo.get_attachment(P, "nope") is None
        assert repo.get_attachment("OTHER", "test_case/PROJ-T1/1") is None
    assert first is not None
    assert (first.state, first.sha256, first.size, first.deleted) == ("listed", None, 100, False)
    assert (first.owner_type, first.owner_key, first.source_id, first.locator) == (
        "test_case",
        "PROJ-T1",
        "1",
        "https://zephyr.example/attachments/1",
    )

    with store.session() as repo:
        repo.record_attachment_cached(P, "test_case/PROJ-T1/1", sha256=SHA, size=100, content_type=None)
        repo.record_attachment_target(
            P, "test_case/PROJ-T1/1", object_type="test-cases", object_id=7, target_id=70
        )
        run2 = repo.start_run(P, "extract", ["extract"])
        # Same file again (a size of None declares nothing): seen, nothing else changes.
        assert repo.upsert_attachments(P, [_listed(1, size=None), _listed(2)], run_id=run2) == 0
        again = repo.get_attachment(P, "test_case/PROJ-T1/1")
    assert again is not None
    assert (again.state, again.sha256, again.size, again.content_type) == ("cached", SHA, 100, "image/png")
    assert (again.target_object_type, again.target_object_id, again.target_id) == ("test-cases", 7, 70)
    assert (again.first_seen_run_id, again.last_seen_run_id) == (run1, run2)


@pytest.mark.parametrize(
    "change",
    [{"name": "renamed.png"}, {"locator": "https://zephyr.example/other"}, {"size": 999}],
    ids=["name", "locator", "size"],
)
def test_another_file_starts_over(store: Store, change: dict[str, object]) -> None:
    key = "test_case/PROJ-T1/1"
    with store.session() as repo:
        repo.upsert_attachments(P, [_listed(1)], run_id=None)
        repo.record_attachment_cached(P, key, sha256=SHA, size=100, content_type="image/png")
        repo.record_attachment_target(P, key, object_type="test-cases", object_id=7, target_id=70)
        assert repo.upsert_attachments(P, [_listed(1, **change)], run_id=None) == 1  # type: ignore[arg-type]
        changed = repo.get_attachment(P, key)
    assert changed is not None
    assert (changed.state, changed.sha256, changed.target_id, changed.reason) == ("listed", None, None, None)
    assert changed.size == change.get("size", 100)


def test_failed_download_is_pending_until_cached(store: Store) -> None:
    key = "test_case/PROJ-T1/1"
    with store.session() as repo:
        repo.upsert_attachments(P, [_listed(1), _listed(2, size=None)], run_id=None)
        assert repo.attachment_bytes_pending(P) == (2, 100)
        repo.record_attachment_failed(P, key, "HTTP 500 " + "x" * 5000)
        failed = repo.get_attachment(P, key)
        assert failed is not None
        assert failed.state == AttachmentState.FAILED
        assert failed.reason is not None
        assert failed.reason.startswith("HTTP 500")
        assert len(failed.reason) == 2000
        assert repo.attachment_bytes_pending(P) == (2, 100)
        # Seen again unchanged: still failed (the next download retries it).
        repo.upsert_attachments(P, [_listed(1)], run_id=None)
        assert _state_of(repo, key) == "failed"
        repo.record_attachment_cached(P, key, sha256=SHA, size=120, content_type="image/jpeg")
        cached = repo.get_attachment(P, key)
        assert cached is not None
        assert (cached.state, cached.reason, cached.size, cached.content_type) == (
            "cached",
            None,
            120,
            "image/jpeg",
        )
        assert repo.attachment_bytes_pending(P) == (1, 0)


def _state_of(repo: Repository, key: str) -> str:
    found = repo.get_attachment(P, key)
    assert found is not None
    return found.state


def test_unseen_are_marked_deleted_all_or_per_owner(store: Store) -> None:
    with store.session() as repo:
        run1 = repo.start_run(P, "extract", ["extract"])
        listed = [_listed(1), _listed(2), _listed(3, owner="PROJ-T2"), _listed(4, owner="PROJ-T3")]
        repo.upsert_attachments(P, listed, run_id=run1)
        assert repo.mark_unseen_attachments_deleted(P, since_run_id=run1) == 0

        run2 = repo.start_run(P, "extract", ["extract"])
        repo.upsert_attachments(P, [_listed(1)], run_id=run2)
        # Only PROJ-T1 and PROJ-T2 were listed again: PROJ-T3's attachment is not judged.
        owners = [("test_case", "PROJ-T1"), ("test_case", "PROJ-T2")]
        assert repo.mark_unseen_attachments_deleted(P, since_run_id=run2, owner_keys=owners) == 2
        assert repo.mark_unseen_attachments_deleted(P, since_run_id=run2, owner_keys=[]) == 0
        live = [a.source_key for a in repo.iter_attachments(P)]
        assert sorted(live) == ["test_case/PROJ-T1/1", "test_case/PROJ-T3/4"]
        assert repo.mark_unseen_attachments_deleted(P, since_run_id=run2) == 1
        gone = repo.get_attachment(P, "test_case/PROJ-T1/2")
        assert gone is not None
        assert gone.deleted is True
        assert len(list(repo.iter_attachments(P, include_deleted=True))) == 4
        assert repo.attachment_bytes_pending(P) == (1, 100)

        run3 = repo.start_run(P, "extract", ["extract"])
        assert repo.upsert_attachments(P, [_listed(2)], run_id=run3) == 1  # came back
        back = repo.get_attachment(P, "test_case/PROJ-T1/2")
    assert back is not None
    assert back.deleted is False
    assert (back.first_seen_run_id, back.last_seen_run_id) == (run1, run3)


def test_owner_keys_of_one_kind_are_those_with_live_files(store: Store) -> None:
    with store.session() as repo:
        run1 = repo.start_run(P, "extract", ["extract"])
        step = {"owner_type": "execution_step", "step_index": 0}
        listed = [
            _listed(1, owner="PROJ-E1", **step, source_key="execution_step/PROJ-E1/0/1"),
            _listed(2, owner="PROJ-E1", **step, source_key="execution_step/PROJ-E1/0/2"),
            _listed(3, owner="PROJ-E2", **step, source_key="execution_step/PROJ-E2/0/3"),
            _listed(4, owner="PROJ-T1"),
        ]
        repo.upsert_attachments(P, listed, run_id=run1)
        assert repo.attachment_owner_keys(P, "execution_step") == {"PROJ-E1", "PROJ-E2"}
        run2 = repo.start_run(P, "extract", ["extract"])
        repo.upsert_attachments(P, listed[:2] + listed[3:], run_id=run2)
        repo.mark_unseen_attachments_deleted(P, since_run_id=run2)
        assert repo.attachment_owner_keys(P, "execution_step") == {"PROJ-E1"}, "deleted files do not count"
        assert repo.attachment_owner_keys(P, "test_case") == {"PROJ-T1"}


def test_rows_of_some_keys_are_the_live_ones_in_key_order(store: Store) -> None:
    with store.session() as repo:
        run1 = repo.start_run(P, "extract", ["extract"])
        repo.upsert_attachments(P, [_listed(n) for n in (1, 2, 3)], run_id=run1)
        run2 = repo.start_run(P, "extract", ["extract"])
        repo.upsert_attachments(P, [_listed(2), _listed(3)], run_id=run2)
        repo.mark_unseen_attachments_deleted(P, since_run_id=run2)
        rows = repo.attachments_for(P, ["test_case/PROJ-T1/3", "test_case/PROJ-T1/1", "test_case/PROJ-T1/2"])
    assert [(r.source_key, r.last_seen_run_id) for r in rows] == [
        ("test_case/PROJ-T1/2", run2),
        ("test_case/PROJ-T1/3", run2),
    ], "not 1: deleted in the source"


def test_iteration_is_keyset_paginated_and_filtered(store: Store) -> None:
    items = [_listed(n, owner=f"PROJ-T{n % 3}") for n in range(1, 24)]
    with store.session() as repo:
        repo.upsert_attachments(P, items, run_id=None)
        repo.upsert_attachments("OTHER", [_listed(1)], run_id=None)
        for n in (2, 5, 7):
            repo.record_attachment_cached(P, items[n - 1].source_key, sha256=SHA, size=1, content_type=None)
        repo.record_attachment_failed(P, items[10].source_key, "gone")
        keys = [a.source_key for a in repo.iter_attachments(P, batch=5)]
        whole = [a.source_key for a in repo.iter_attachments(P, batch=100)]
        cached = [a.source_key for a in repo.iter_attachments(P, states=["cached"], batch=2)]
        pending = list(repo.iter_attachments(P, states=PENDING, batch=4))
    assert len(keys) == len(set(keys)) == 23
    assert set(keys) == {i.source_key for i in items}
    assert keys == whole  # pages follow the one order of the backend's ORDER BY, nothing lost or repeated
    assert sorted(cached) == sorted(items[n - 1].source_key for n in (2, 5, 7))
    assert len(pending) == 20
    assert {a.state for a in pending} == {"listed", "failed"}


def test_targets_are_recorded_and_cleared(store: Store) -> None:
    with store.session() as repo:
        repo.upsert_attachments(P, [_listed(1), _listed(2), _listed(3)], run_id=None)
        for n in (1, 2):
            repo.record_attachment_target(
                P, f"test_case/PROJ-T1/{n}", object_type="test-steps", object_id=n, target_id=10 + n
            )
        assert repo.clear_attachment_targets(P, ["test_case/PROJ-T1/1", "test_case/PROJ-T1/3", "x"]) == 2
        assert repo.clear_attachment_targets(P, []) == 0
    assert _state(store, "test_case/PROJ-T1/1") == ("listed", None, None)
    assert _state(store, "test_case/PROJ-T1/2") == ("listed", None, 12)


def test_totals_by_owner_and_state(store: Store) -> None:
    step = _listed(9, owner="PROJ-T1", owner_type="test_step", step_index=0, source_key="test_step/PROJ-T1/9")
    with store.session() as repo:
        repo.upsert_attachments(P, [_listed(1), _listed(2), _listed(3, size=None), step], run_id=None)
        repo.record_attachment_cached(P, "test_case/PROJ-T1/1", sha256=SHA, size=150, content_type=None)
        totals = repo.attachment_totals(P)
        assert repo.attachment_totals("OTHER") == []
        stored_step = repo.get_attachment(P, "test_step/PROJ-T1/9")
    assert totals == [
        AttachmentTotals("test_case", "cached", 1, 150),
        AttachmentTotals("test_case", "listed", 2, 200),
        AttachmentTotals("test_step", "listed", 1, 900),
    ]
    assert stored_step is not None
    assert stored_step.step_index == 0


def test_clearing_extract_keeps_only_uploaded_attachments(store: Store) -> None:
    with store.session() as repo:
        repo.upsert_attachments(P, [_listed(1), _listed(2)], run_id=None)
        repo.upsert_attachments("OTHER", [_listed(1)], run_id=None)
        repo.record_attachment_target(
            P, "test_case/PROJ-T1/1", object_type="test-cases", object_id=7, target_id=70
        )
        assert repo.table_counts(P)["attachments"] == 2
        assert repo.clear_phase(P, "extract")["attachments"] == 1
        assert [a.source_key for a in repo.iter_attachments(P)] == ["test_case/PROJ-T1/1"]
        assert repo.table_counts("OTHER")["attachments"] == 1


def test_downgrade_drops_the_table(db_url: str) -> None:
    init_store(db_url).close()
    engine = migration_engine(db_url)
    try:
        with engine.begin() as conn:
            assert "attachments" in inspect(conn).get_table_names()
            command.downgrade(alembic_config(conn), "0003")
        with engine.begin() as conn:
            assert "attachments" not in inspect(conn).get_table_names()
            command.upgrade(alembic_config(conn), "head")
        with engine.connect() as conn:
            assert "attachments" in inspect(conn).get_table_names()
    finally:
        engine.dispose()
