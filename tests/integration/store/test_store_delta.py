"""What a delta validation reads again: the entities changed since a moment, or found wrong."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from ztoq.store import PlannedItem, ProblemItem, Store

P = "PROJ"


def test_in_question_are_the_changed_the_unmigrated_and_those_found_wrong(store: Store) -> None:
    keys = [f"PROJ-E{n}" for n in range(1, 6)]
    with store.session() as repo:
        repo.upsert_planned(P, [PlannedItem("test_log", k, {"body": {}}, sort_key=k) for k in keys])
        for number, key in enumerate(keys[:3], 1):  # E4 and E5 never reached qTest
            repo.record_created(P, "test_log", key, 100 + number, "h", pid=f"test-step-logs/{number}")
        wrong = ProblemItem("mismatch", "field_differs", "Found wrong.")
        repo.add_problems(P, "validate", [("test_log", "PROJ-E2", [wrong])])
        repo.add_problems(P, "validate", [("test_run", "PROJ-R1", [wrong]), ("test_run", "PROJ-R1", [wrong])])
    time.sleep(0.01)
    since = datetime.now(UTC)
    with store.session() as repo:
        repo.upsert_planned(P, [PlannedItem("test_log", "PROJ-E6", {"body": {}}, sort_key="PROJ-E6")])
        repo.record_created(P, "test_log", "PROJ-E3", 103, "h2", pid="test-step-logs/3")  # changed since
        repo.record_created(P, "test_log", "PROJ-E6", 106, "h", pid="test-step-logs/6")

    with store.session() as repo:
        assert repo.unchanged_among(P, "test_log", [*keys, "PROJ-E6", "PROJ-E9"], since) == {"PROJ-E1"}
        unseen = repo.planned_unseen_page(P, "test_log", "test-log", changed_since=since)
        assert [r.source_key for r in unseen] == ["PROJ-E2", "PROJ-E3", "PROJ-E4", "PROJ-E5", "PROJ-E6"]
        assert len(repo.planned_unseen_page(P, "test_log", "test-log")) == 6
        assert repo.keys_with_problem(P, "test_run", "field_differs") == ["PROJ-R1"]
        assert repo.keys_with_problem(P, "test_run", "latest_log_differs") == []


def test_problems_are_cleared_for_some_keys_or_all_codes_but_one(store: Store) -> None:
    wrong = ProblemItem("mismatch", "field_differs", "Found wrong.")
    latest = ProblemItem("mismatch", "latest_log_differs", "Not the latest.")
    with store.session() as repo:
        repo.add_problems(P, "validate", [("test_run", k, [wrong, latest]) for k in ("R1", "R2", "R3")])
        assert repo.clear_problems(P, "validate", entity_type="test_run", keys=["R1", "R9"]) == 2
        assert (
            repo.clear_problems(P, "validate", entity_type="test_run", except_code="latest_log_differs") == 2
        )
        left = sorted((p.source_key, p.code) for p in repo.iter_problems(P, phase="validate"))
    assert left == [("R2", "latest_log_differs"), ("R3", "latest_log_differs")]
