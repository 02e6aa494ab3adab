"""Plain values the preflight checks are tested with: a qTest target, names, bodies, work items."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ztoq.config import ZtoqConfig, build_config
from ztoq.mapping.lookups import TargetFields
from ztoq.pipeline.preflight_checks import Names
from ztoq.store.records import LoadWork, MappingRecord, PlannedRecord

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def target(**extra_fields: Any) -> TargetFields:
    """Test cases with a pick list, a multi-select, a user list, required and inactive fields."""
    settings = {
        "test-cases": [
            {
                "id": 1,
                "label": "Priority",
                "data_type": 3,
                "allowed_values": [
                    {"value": 11, "label": "High"},
                    {"value": 12, "label": "Medium", "is_default": True},
                    {"value": 13, "label": "Old", "is_active": False},
                ],
            },
            {
                "id": 2,
                "label": "Areas",
                "data_type": 17,
                "multiple": True,
                "allowed_values": [{"value": 21, "label": "UI"}],
            },
            {"id": 3, "label": "Owner", "data_type": 5},
            {"id": 4, "label": "Risk", "data_type": 1, "required": True},
            {"id": 5, "label": "Name", "data_type": 1, "required": True},
            {"id": 6, "label": "Gone", "data_type": 1, "is_active": False},
            {
                "id": 7,
                "label": "Status",
                "data_type": 3,
                "allowed_values": [{"value": 71, "label": "New", "is_default": True}],
            },
            *extra_fields.get("cases", []),
        ],
        "test-runs": [
            {
                "id": 30,
                "label": "Environment",
                "data_type": 3,
                "allowed_values": [{"value": 31, "label": "Chrome"}],
            },
            *extra_fields.get("runs", []),
        ],
    }
    return TargetFields.from_settings(
        settings,
        execution_statuses=[
            {"id": 601, "name": "Passed"},
            {"id": 605, "name": "Unexecuted", "is_default": True},
        ],
        users=[{"id": 500, "username": "ada@example.com"}],
    )


#: Names of today's inactive field, and of a field and a value only extract's stored copy has.
NAMES = Names.build(
    [
        {"test-cases": [{"id": 6, "label": "Gone", "is_active": False}]},
        {
            "test-cases": [
                {"id": 1, "label": "Priority", "allowed_values": [{"value": 13, "label": "Old"}]},
                {"id": 9, "label": "Deleted"},
            ]
        },
    ],
    [[{"id": 603, "name": "Incomplete"}]],
)


def case(*props: tuple[int, Any]) -> dict[str, Any]:
    """A test case body with these (field id, value) properties, plus its required 'Risk'."""
    return {
        "name": "x",
        "properties": [{"field_id": f, "field_value": v} for f, v in props]
        + [{"field_id": 4, "field_value": "r"}],
    }


def work(entity_type: str, mapping: dict[str, Any] | None, source_hash: str | None = "s1") -> LoadWork:
    """A work item planned with content hash "h2"; ``mapping`` overrides a created one's columns."""
    planned = PlannedRecord("P", entity_type, "K", {}, [], 0, "", "h2", source_hash, NOW, "planned")
    if mapping is None:
        return LoadWork(planned, None)
    values: dict[str, Any] = {
        "target_id": 7,
        "target_pid": None,
        "target_version": None,
        "state": "created",
        "intent_hash": None,
        "loaded_hash": "h1",
        "web_url": None,
        "attempts": 1,
        "last_error": None,
        "loaded_source_hash": None,
    }
    values.update(mapping)
    return LoadWork(planned, MappingRecord("P", entity_type, "K", created_at=NOW, updated_at=NOW, **values))


def config(**mappings: Any) -> ZtoqConfig:
    """A config for qTest project 9 with these ``mappings`` and two custom field maps."""
    return build_config(
        {
            "zephyr": {"project_key": "P"},
            "qtest": {
                "base_url": "https://x.qtestnet.com",
                "project_id": 9,
                "source_key_field": "Zephyr Key",
            },
            "mappings": mappings,
            "custom_fields": {"test_execution": {"Browser": "Environment"}, "test_case": {"Team": "Squad"}},
        }
    )
