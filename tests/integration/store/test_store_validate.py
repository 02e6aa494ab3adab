"""What validation keeps in the store instead of memory: what it read of qTest, and each run's latest log."""

from __future__ import annotations

from ztoq.store import PlannedItem, Store
from ztoq.store.repo_validate import AttachmentRead

P = "PROJ"


def _plan(store: Store) -> None:
    """Four test cases: T1..T3 migrated (ids 11..13), T4 never; T5 skipped; a deleted mapping for T3."""
    with store.session() as repo:
        repo.upsert_planned(
            P,
            [
                PlannedItem("test_case", "PROJ-T1", {"body": {"name": "one"}}, sort_key="a"),
                PlannedItem("test_case", "PROJ-T2", {"body": {"name": "two"}}, sort_key="b"),
                PlannedItem("test_case", "PROJ-T3", {"body": {"name": "three"}}, sort_key="c"),
                PlannedItem("test_case", "PROJ-T4", {"body": {"name": "four"}}, sort_key="d"),
                PlannedItem("test_case", "PROJ-T5", {"body": None}, status="skipped"),
            ],
        )
        for number in (1, 2, 3, 5):
            repo.record_created(P, "test_case", f"PROJ-T{number}", 10 + number, "h")
        repo.mark_deleted(P, "test_case", "PROJ-T3")


def test_planned_entities_by_qtest_id_and_those_qtest_does_not_hold(store: Store) -> None:
    _plan(store)
    with store.session() as repo:
        found = repo.planned_for_targets(P, "test_case", [12, 11, 13, 15, 99])
        assert [r.source_key for r in found] == ["PROJ-T1", "PROJ-T2"]  # T3 deleted, T5 skipped
        repo.add_seen(P, "test-case", [(11, "PROJ-T1"), (99, None)])
        repo.add_seen(P, "test-case", [(11, "PROJ-T1")])  # read again: kept once
        page = repo.planned_unseen_page(P, "test_case", "test-case", limit=2)
        assert [r.source_key for r in page] == ["PROJ-T2", "PROJ-T3"]
        last = (page[-1].level, page[-1].sort_key, page[-1].source_key)
        assert [r.source_key for r in repo.planned_unseen_page(P, "test_case", "test-case", after=last)] == [
            "PROJ-T4"
        ]
        assert repo.seen_among(P, "test-case", [11, 12, 99]) == {11, 99}
        assert repo.mapped_targets_among(P, "test_case", [11, 13, 15, 16]) == {11, 15}
        repo.clear_seen(P, "test-case")
        assert repo.seen_among(P, "test-case", [11, 99]) == set()


def test_keys_carried_twice_and_keys_the_store_does_not_know(store: Store) -> None:
    _plan(store)
    with store.session() as repo:
        carried = [(11, "PROJ-T1"), (21, "PROJ-T1"), (22, "PROJ-T1"), (12, "PROJ-T2"), (13, "PROJ-T3")]
        repo.add_seen(
            P, "test-case", [*carried, (30, "PROJ-T9"), (31, "OTHER-T1"), (32, None), (33, "PROJ_X-1")]
        )
        repo.add_seen(P, "module", [(40, "PROJ-T2"), (41, "PROJ-T2")])
        twice, after = repo.seen_duplicates(P, "test-case")
        assert (twice, after) == ({"PROJ-T1": (11, 21, 22)}, None)
        first, after = repo.seen_duplicates(P, "module", limit=1)
        assert (first, after) == ({"PROJ-T2": (40, 41)}, "PROJ-T2")
        assert repo.seen_duplicates(P, "module", after=after) == ({}, None)
        # T3's mapping is deleted but it is still planned; T5 is skipped but migrated (id 15).
        unknown, after = repo.seen_unknown(P, "test-case", ["test_case"], "PROJ-")
        assert (unknown, after) == ({"PROJ-T9": (30,)}, None)
        assert repo.seen_unknown(P, "test-case", ["test_case"], "PROJ_")[0] == {"PROJ_X-1": (33,)}


def test_each_run_keeps_its_latest_planned_log(store: Store) -> None:
    logs = [
        ("PROJ-R1|PROJ-T1", "2024-01-02#2", "E2"),
        ("PROJ-R1|PROJ-T1", "2024-01-01#1", "E1"),
        ("PROJ-R1|PROJ-T2", "2024-01-03#3", "E3"),
        ("PROJ-R1|PROJ-T2", "2024-01-03#3", "E4"),  # equal sort keys: the first one stays
    ]
    with store.session() as repo:
        repo.upsert_planned(
            P,
            [
                PlannedItem("test_log", log, {"body": {}}, depends_on=[("test_run", run)], sort_key=sort_key)
                for run, sort_key, log in logs
            ],
        )
        refs = repo.planned_refs_page(P, "test_log", limit=3)
        assert [(key, deps) for _, _, key, deps in refs] == [
            ("E1", [("test_run", "PROJ-R1|PROJ-T1")]),
            ("E2", [("test_run", "PROJ-R1|PROJ-T1")]),
            ("E3", [("test_run", "PROJ-R1|PROJ-T2")]),
        ]
        assert [r[2] for r in repo.planned_refs_page(P, "test_log", after=refs[-1][:3])] == ["E4"]
        repo.add_latest_logs(P, logs[:2])
        repo.add_latest_logs(P, logs[2:])
        assert repo.latest_logs_page(P) == [("PROJ-R1|PROJ-T1", "E2"), ("PROJ-R1|PROJ-T2", "E3")]
        assert repo.latest_logs_page(P, after="PROJ-R1|PROJ-T1", limit=1) == [("PROJ-R1|PROJ-T2", "E3")]
        repo.clear_latest_logs(P)
        assert repo.latest_logs_page(P) == []


def test_the_objects_planned_attachments_were_uploaded_onto(store: Store) -> None:
    placed = {
        "A1": "test-cases/5",
        "A2": "test-step-logs/20",
        "A3": "test-step-logs/7",
        "A4": "test-step-logs/20",  # a second file on the same step log
        "A5": "defects/9",  # a type not asked for
        "A6": "test-logs/3",  # skipped below
    }
    with store.session() as repo:
        repo.upsert_planned(
            P,
            [
                PlannedItem("attachment", key, {"body": {}}, status="skipped" if key == "A6" else "planned")
                for key in [*placed, "A7"]  # A7 was never uploaded
            ],
        )
        for number, (key, place) in enumerate(placed.items()):
            repo.record_created(P, "attachment", key, 100 + number, "h", pid=place)
        types = ["test-cases", "test-logs", "test-steps", "test-step-logs"]
        assert repo.attachment_object_types(P, types) == ["test-cases", "test-step-logs"]
        first = repo.attachment_places_page(P, "test-step-logs", limit=1)
        assert first == ["test-step-logs/20"]
        assert repo.attachment_places_page(P, "test-step-logs", after=first[-1]) == ["test-step-logs/7"]
        assert repo.attachment_places_page(P, "test-cases") == ["test-cases/5"]
        repo.mark_deleted(P, "attachment", "A1")
        assert repo.attachment_places_page(P, "test-cases") == []


def test_where_attachments_are_asked_by_qtest_id(store: Store) -> None:
    with store.session() as repo:
        repo.upsert_planned(P, [PlannedItem("attachment", k, {"body": {}}) for k in ("A1", "A2", "A3")])
        repo.record_created(P, "attachment", "A1", 100, "h", pid="test-cases/5")
        repo.record_created(P, "attachment", "A2", 101, "h", pid="test-step-logs/7")
        repo.record_created(P, "attachment", "A3", 102, "h", pid="test-logs/3")
        repo.mark_deleted(P, "attachment", "A3")
        states = ("created", "updated", "adopted", "validated", "loaded")
        asked = [100, 101, 102, 103, 101]
        assert repo.target_places_of(P, "attachment", asked, states) == {
            100: "test-cases/5",
            101: "test-step-logs/7",
        }
        assert repo.target_places_of(P, "test_case", asked, states) == {}


def test_what_a_round_read_of_uploaded_files_is_kept_per_run_by_qtest_id(store: Store) -> None:
    with store.session() as repo:
        repo.record_created(P, "attachment", "A1", 100, "h", pid="test-cases/5")
        repo.record_created(P, "attachment", "A2", 200, "h", pid="test-logs/3")
        repo.record_created(P, "attachment", "A3", 300, "h")  # no place recorded
        repo.record_created(P, "attachment", "A4", 400, "h", pid="test-cases/5")
        repo.mark_deleted(P, "attachment", "A4")
        assert repo.attachment_uploads(P, ["A4", "A2", "A1", "A3", "A9"]) == [
            ("A1", 100, "test-cases/5"),
            ("A2", 200, "test-logs/3"),
        ]
        repo.add_attachment_reads(P, 1, [AttachmentRead(100, "A1", "test-cases/5", 10, None)])
        repo.add_attachment_reads(
            P,
            2,
            [
                AttachmentRead(100, "A1", "test-cases/5", 11, "ab"),  # read again: replaced
                AttachmentRead(200, "A2", "test-logs/3", 20, None),
            ],
        )
        repo.add_attachment_reads("OTHER", 1, [AttachmentRead(200, "B", "test-logs/3", 1, None)])
        assert repo.attachment_reads_among(P, 2, [100, 200, 999]) == {
            100: AttachmentRead(100, "A1", "test-cases/5", 11, "ab"),
            200: AttachmentRead(200, "A2", "test-logs/3", 20, None),
        }
        assert repo.attachment_reads_among(P, 1, [100, 200]) == {}, "only the run's own reads"
        repo.clear_attachment_reads(P, keep_run=3)
        assert repo.attachment_reads_among(P, 2, [100, 200]) == {}
        repo.add_attachment_reads(P, 3, [AttachmentRead(100, "A1", "test-cases/5", 12, None)])
        repo.clear_attachment_reads(P, keep_run=3)
        assert list(repo.attachment_reads_among(P, 3, [100])) == [100]
        repo.clear_attachment_reads(P)
        assert repo.attachment_reads_among(P, 3, [100]) == {}
        assert list(repo.attachment_reads_among("OTHER", 1, [200])) == [200]
