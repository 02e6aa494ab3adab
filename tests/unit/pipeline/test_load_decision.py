"""The load decision: what load (and the dry run) does with one planned entity, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ztoq.pipeline.load_decision import LoadAction, decide_load
from ztoq.store import MappingRecord, PlannedRecord

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def planned(entity_type: str = "test_case", content: str = "h1", source: str | None = None) -> PlannedRecord:
    return PlannedRecord(
        project_key="P",
        entity_type=entity_type,
        source_key="P-1",
        payload={"body": {}, "extra": {}},
        depends_on=[],
        level=0,
        sort_key="",
        content_hash=content,
        source_hash=source,
        transformed_at=NOW,
        status="planned",
    )


def mapping(state: str, target_id: int | None = 7, **more: Any) -> MappingRecord:
    values: dict[str, Any] = {
        "project_key": "P",
        "entity_type": "test_case",
        "source_key": "P-1",
        "target_id": target_id,
        "target_pid": None,
        "target_version": None,
        "state": state,
        "intent_hash": None,
        "loaded_hash": None,
        "web_url": None,
        "attempts": 1,
        "last_error": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(more)
    return MappingRecord(**values)


def test_never_loaded_is_created() -> None:
    assert decide_load(planned(), None) is LoadAction.CREATE


def test_rolled_back_is_created_anew() -> None:
    assert decide_load(planned(), mapping("deleted", loaded_hash="h1")) is LoadAction.CREATE


def test_an_intent_without_id_is_reconciled_before_any_create() -> None:
    assert decide_load(planned(), mapping("intent", target_id=None, intent_hash="h0")) is LoadAction.RECONCILE


@pytest.mark.parametrize("state", ["failed", "skipped"])
def test_failed_or_skipped_without_id_is_created(state: str) -> None:
    assert decide_load(planned(), mapping(state, target_id=None)) is LoadAction.CREATE


@pytest.mark.parametrize("state", ["created", "updated", "adopted"])
def test_same_content_in_qtest_is_unchanged(state: str) -> None:
    assert decide_load(planned(content="h1"), mapping(state, loaded_hash="h1")) is LoadAction.UNCHANGED


@pytest.mark.parametrize("state", ["created", "updated", "adopted", "failed", "intent"])
def test_other_content_with_an_id_is_updated_in_place(state: str) -> None:
    assert decide_load(planned(content="h2"), mapping(state, loaded_hash="h1")) is LoadAction.UPDATE


def test_a_failed_update_is_sent_again_even_with_the_same_hash() -> None:
    assert decide_load(planned(content="h1"), mapping("failed", loaded_hash="h1")) is LoadAction.UPDATE


def test_a_log_whose_execution_did_not_change_is_kept() -> None:
    log = planned("test_log", content="plan-2", source="exec-1")
    loaded = mapping("created", loaded_hash="plan-1", loaded_source_hash="exec-1")
    assert decide_load(log, loaded) is LoadAction.KEEP


def test_a_log_whose_execution_changed_is_updated() -> None:
    log = planned("test_log", content="plan-2", source="exec-2")
    loaded = mapping("created", loaded_hash="plan-1", loaded_source_hash="exec-1")
    assert decide_load(log, loaded) is LoadAction.UPDATE


def test_only_logs_are_kept_by_source_hash() -> None:
    case = planned("test_case", content="plan-2", source="src-1")
    loaded = mapping("created", loaded_hash="plan-1", loaded_source_hash="src-1")
    assert decide_load(case, loaded) is LoadAction.UPDATE


@pytest.mark.parametrize(
    ("action", "summary", "sends"),
    [
        (LoadAction.CREATE, "create", True),
        (LoadAction.RECONCILE, "create", True),
        (LoadAction.UPDATE, "update", True),
        (LoadAction.KEEP, "unchanged", False),
        (LoadAction.UNCHANGED, "unchanged", False),
    ],
)
def test_how_the_dry_run_counts_each_action(action: LoadAction, summary: str, sends: bool) -> None:
    assert (action.summary, action.sends) == (summary, sends)


# -- adopt before create: is what qTest holds what the plan says, and where does an entity sit ----


def test_a_found_entity_that_says_what_the_plan_says_matches() -> None:
    from ztoq.pipeline.load_decision import matches_plan

    body = {
        "name": "Login",
        "description": "<p>Works</p>",
        "properties": [
            {"field_id": 7, "field_value": "[]"},
            {"field_id": 8, "field_value": "2024-05-01T00:00:00.000Z"},
        ],
        "test_steps": [{"description": "Open", "expected": "Shown", "order": 1}],
        "status": {"id": 601},
        "test_step_logs": [{"test_step_id": {"$step": ["P-T1", 1]}, "status": {"id": 601}}],
    }
    found = {
        "id": 5,
        "name": " Login",
        "description": "<p>Works</p>",
        "properties": [
            {"field_id": 7, "field_value": "", "field_name": "Labels"},
            {"field_id": 8, "field_value": "2024-05-01T00:00:00+00:00"},
            {"field_id": 9, "field_value": "not planned: ignored"},
        ],
        "test_steps": [{"id": 3, "description": "Open", "expected": "Shown", "order": 1}],
        "status": {"id": 601, "name": "Passed"},
        "test_step_logs": [{"test_step_id": 52, "status": {"id": 601}}],
    }
    assert matches_plan(found, body)


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Renamed"},
        {"properties": [{"field_id": 7, "field_value": "[1]"}]},
        {"test_steps": [{"description": "Open", "expected": "Other", "order": 1}]},
        {"test_steps": []},
        {"status": {"id": 602}},
    ],
)
def test_any_planned_difference_means_an_update(change: dict[str, Any]) -> None:
    from ztoq.pipeline.load_decision import matches_plan

    body = {
        "name": "Login",
        "properties": [{"field_id": 7, "field_value": ""}],
        "test_steps": [{"description": "Open", "expected": "Shown", "order": 1}],
        "status": {"id": 601},
    }
    assert matches_plan(body, body)
    assert not matches_plan({**body, **change}, body)
    assert not matches_plan(None, body)


def test_where_an_entity_sits_and_what_a_created_one_is_called() -> None:
    from ztoq.pipeline.load_decision import parent_of, placement_of
    from ztoq.plan import PlannedEntity

    assert parent_of(PlannedEntity("module", "1", {}, parent=10)) == ("module", 10)
    assert parent_of(PlannedEntity("module", "root", {}, parent=None)) is None
    assert parent_of(PlannedEntity("test_case", "P-T1", {"parent_id": 10})) == ("module", 10)
    assert parent_of(PlannedEntity("release", "P-P1", {})) is None
    assert parent_of(PlannedEntity("test_cycle", "P-R1", {}, parent=3, parent_type="release")) == (
        "release",
        3,
    )
    assert parent_of(PlannedEntity("cycle_folder", "5", {}, parent=4, parent_type="test-cycle")) == (
        "test-cycle",
        4,
    )
    assert parent_of(PlannedEntity("cycle_folder", "root", {}, parent=None, parent_type="root")) is None
    assert parent_of(PlannedEntity("test_run", "R|T", {}, parent=4, parent_type="test-cycle")) == (
        "test-cycle",
        4,
    )
    assert parent_of(PlannedEntity("test_log", "P-E1", {}, parent=9)) == ("test-run", 9)
    assert placement_of("cycle_folder", 4) == placement_of("test_cycle", 4) == ("test-cycle", 4)
    assert placement_of("test_run", 9) == ("test-run", 9)
