"""qTest models: exact wire names on write, lenient reads, and a contract check of every field name."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from ztoq.errors import ApiError
from ztoq.qtest import models as qm

MAX_TEST_CASE: dict[str, Any] = {
    "id": 11,
    "pid": "TC-11",
    "name": "Login works",
    "description": "<p>desc</p>",
    "precondition": "logged out",
    "order": 1,
    "parent_id": 3,
    "properties": [
        {"field_id": 5, "field_name": "Priority", "field_value": "711", "field_value_name": "High"}
    ],
    "test_steps": [
        {
            "id": 1,
            "description": "open",
            "expected": "page",
            "order": 1,
            "group": 0,
            "plain_value_text": "open",
        },
        {"id": 2, "called_test_case_id": 12, "called_test_case_name": "Setup", "parent_test_step_id": 1},
    ],
    "version": "1.0",
    "test_case_version_id": 99,
    "creator_id": 4,
    "agent_ids": [],
    "created_date": "2024-01-01T10:00:00+00:00",
    "last_modified_date": "2024-01-02T10:00:00.000Z",
    "web_url": "https://acme.qtestnet.com/p/7/portal/project#id=11",
    "links": [{"rel": "self", "href": "https://acme.qtestnet.com/api/v3/projects/7/test-cases/11"}],
}

MAX_TEST_RUN: dict[str, Any] = {
    "id": 8,
    "pid": "TR-8",
    "name": "Login works",
    "order": 1,
    "parentId": 5,
    "parentType": "test-cycle",
    "testCaseId": 11,
    "test_case": {"id": 11, "name": "Login works"},
    "test_case_version_id": 99,
    "test_case_version": "1.0",
    "properties": [{"field_id": 9, "field_value": "[1,2]"}],
    "automation": "No",
    "latest_test_log": {"id": 3, "status": "Passed", "exe_start_date": "2024-01-01T10:00:00Z"},
    "creator_id": 4,
    "created_date": "2024-01-01T10:00:00Z",
    "links": [],
}

MAX_TEST_LOG: dict[str, Any] = {
    "id": 3,
    "name": "Login works",
    "status": {"id": 601, "name": "Passed", "color": "#6cc644", "is_default": False, "active": True},
    "exe_start_date": "2024-05-01T10:00:00Z",
    "exe_end_date": "2024-05-01T10:05:00Z",
    "note": "all good",
    "test_step_logs": [
        {
            "test_step_id": 1,
            "status": {"id": 601},
            "actual_result": "ok",
            "expected_result": "page",
            "description": "open",
            "order": 1,
            "exe_date": "2024-05-01T10:01:00Z",
            "user_id": 4,
            "defects": [{"id": 2, "pid": "DF-2", "summary": "bug", "external_defect_id": "JIRA-1"}],
        }
    ],
    "defects": [],
    "properties": [],
    "attachments": [{"name": "log.txt", "content_type": "text/plain", "data": "aGk="}],
    "planned_exe_time": 0,
    "actual_exe_time": 300000,
    "build_number": "42",
    "result_number": 1,
    "test_case_version_id": 99,
    "submittedBy": "ada@example.com",
    "test_case": {"id": 11},
    "test_run_id": 8,
}

MAX_TEST_CYCLE: dict[str, Any] = {
    "id": 5,
    "pid": "CL-5",
    "name": "Sprint 1",
    "description": "d",
    "order": 1,
    "target_release_id": 2,
    "target_build_id": None,
    "web_url": "https://acme.qtestnet.com/p/7/portal/project#tab=testexecution&object=2&id=5",
    "test-cycles": [{"id": 6, "name": "Sub"}],
    "test-suites": [{"id": 7, "name": "Suite", "parentId": 5, "parentType": "test-cycle"}],
}

MAX_FIELD: dict[str, Any] = {
    "id": 5,
    "label": "Priority",
    "original_name": "Priority",
    "data_type": 3,
    "instanceType": "TestCase",
    "required": False,
    "constrained": True,
    "multiple": False,
    "searchable": True,
    "system_field": True,
    "is_active": True,
    "default_value": "712",
    "order": 3,
    "allowed_values": [{"value": 711, "label": "High", "is_active": True, "is_default": False, "order": 1}],
}

READS: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (qm.TestCase, MAX_TEST_CASE),
    (qm.TestRun, MAX_TEST_RUN),
    (qm.TestLog, MAX_TEST_LOG),
    (qm.TestCycle, MAX_TEST_CYCLE),
    (qm.Field, MAX_FIELD),
    (qm.Module, {"id": 3, "pid": "MD-3", "name": "Login", "parent_id": None, "children": [{"id": 4}]}),
    (qm.Release, {"id": 2, "pid": "RL-2", "name": "R1", "start_date": "2024-01-01T00:00:00Z", "note": "n"}),
    (qm.TestSuite, {"id": 7, "name": "Suite", "parentId": 5, "parentType": "test-cycle", "properties": []}),
    (qm.Status, {"id": 601, "name": "Passed", "color": "#6cc644", "is_default": False, "active": True}),
    (qm.User, {"id": 4, "username": "ada@example.com", "first_name": "Ada", "last_name": "L", "status": 1}),
    (qm.Requirement, {"id": 1, "pid": "RQ-1", "name": "Login", "parent_id": 2, "properties": []}),
    (qm.Project, {"id": 7, "name": "Project", "start_date": "2024-01-01T00:00:00Z", "automation": False}),
    (qm.OAuthToken, {"access_token": "a", "token_type": "bearer", "refresh_token": "r", "expires_in": 3600}),
    (qm.Page[qm.TestRun], {"links": [], "page": 1, "page_size": 100, "total": 1, "items": [MAX_TEST_RUN]}),
]


@pytest.mark.parametrize(("model", "payload"), READS, ids=lambda v: getattr(v, "__name__", ""))
def test_reads_and_writes_back_the_same_wire_names(
    model: type[qm.QTestModel], payload: dict[str, Any]
) -> None:
    parsed = model.model_validate(payload)
    assert set(parsed.to_wire()) == {k for k, v in payload.items() if v is not None}
    assert model.model_validate(parsed.to_wire()) == parsed


@pytest.mark.parametrize(("model", "payload"), READS, ids=lambda v: getattr(v, "__name__", ""))
def test_reads_are_lenient(model: type[qm.QTestModel], payload: dict[str, Any]) -> None:
    assert model.model_validate({}) is not None
    parsed = model.model_validate({**payload, "added_in_2026": [1]})
    assert parsed.to_wire()["added_in_2026"] == [1]


def test_camel_case_and_hyphenated_names() -> None:
    run = qm.TestRun.model_validate(MAX_TEST_RUN)
    assert (run.parent_id, run.parent_type, run.test_case_id) == (5, "test-cycle", 11)
    cycle = qm.TestCycle.model_validate(MAX_TEST_CYCLE)
    assert cycle.test_cycles is not None
    assert cycle.test_suites is not None
    assert cycle.test_suites[0].parent_id == 5
    assert qm.Field.model_validate(MAX_FIELD).instance_type == "TestCase"
    assert qm.ManualTestLog.model_validate(MAX_TEST_LOG).submitted_by == "ada@example.com"


def test_writes_are_exact() -> None:
    body = qm.TestRun(name="R", parent_id=5, parent_type="test-cycle", test_case=qm.TestCase(id=11)).to_wire()
    assert body == {"name": "R", "parentId": 5, "parentType": "test-cycle", "test_case": {"id": 11}}
    log = qm.ManualTestLog(
        status=qm.Status(id=601),
        exe_start_date="2024-05-01T10:00:00Z",
        exe_end_date="2024-05-01T10:05:00+02:00",
        note="n",
        submitted_by="ada",
    ).to_wire()
    assert log == {
        "status": {"id": 601},
        "exe_start_date": "2024-05-01T10:00:00Z",
        "exe_end_date": "2024-05-01T10:05:00+02:00",
        "note": "n",
        "submittedBy": "ada",
    }
    cycle = qm.TestCycle(name="C", test_cycles=[qm.TestCycle(name="D")]).to_wire()
    assert cycle == {"name": "C", "test-cycles": [{"name": "D"}]}


@pytest.mark.parametrize(
    ("value", "wire"), [(5, "5"), (True, "true"), ([1, 2], "[1,2]"), ("x", "x"), (None, None), (1.5, "1.5")]
)
def test_property_values_are_text_on_the_wire(value: Any, wire: str | None) -> None:
    assert qm.Property.model_validate({"field_id": 1, "field_value": value}).field_value == wire


def test_parse_errors_name_the_resource_and_field() -> None:
    with pytest.raises(ApiError) as info:
        qm.parse(qm.TestRun, {"id": "not a number"})
    assert str(info.value).startswith("qTest returned a TestRun ztoq cannot read: field 'id'")
    with pytest.raises(ApiError):
        qm.parse_list(qm.TestRun, {"items": []})
    assert qm.parse_list(qm.TestRun, None) == []


# -- contract: every wire name ztoq uses exists in the derived qTest models ---------------------

DERIVED_NAME = "qtest-manager-v3-models.derived.json"


def _derived() -> dict[str, Any] | None:
    root = Path(__file__).resolve().parents[3]
    for folder in (os.environ.get("ZTOQ_SPECS_DIR", ""), root / "docs" / "specs", "/work/shared/specs"):
        path = Path(folder) / DERIVED_NAME
        if folder and path.is_file():
            models: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["models"]
            return models
    return None


DERIVED = _derived()

CONTRACT: dict[type[qm.QTestModel], str] = {
    qm.Link: "Link",
    qm.Property: "PropertyResource",
    qm.AllowedValue: "AllowedValueResource",
    qm.Field: "FieldResource",
    qm.Status: "StatusResource",
    qm.User: "UserResource",
    qm.Project: "ProjectResource",
    qm.Module: "ModuleResource",
    qm.TestStep: "TestStepResource",
    qm.TestCase: "TestCaseWithCustomFieldResource",
    qm.Release: "ReleaseWithCustomFieldResource",
    qm.TestSuite: "TestSuiteWithCustomFieldResource",
    qm.TestCycle: "TestCycleResource",
    qm.ShortTestLog: "ShortTestLogResource",
    qm.TestRun: "TestRunWithCustomFieldResource",
    qm.LinkedDefect: "LinkedDefectResource",
    qm.Attachment: "AttachmentResource",
    qm.TestStepLog: "TestStepLogResource",
    qm.ManualTestLog: "ManualTestLogResource",
    qm.TestLog: "TestLogResource",
    qm.Requirement: "RequirementResource",
    qm.OAuthToken: "OAuthResponse",
    qm.Page: "TestRunListResource",
}


@pytest.mark.skipif(DERIVED is None, reason="the derived qTest models are not available")
@pytest.mark.parametrize("model", list(CONTRACT), ids=lambda m: m.__name__)
def test_every_wire_name_exists_in_the_derived_model(model: type[qm.QTestModel]) -> None:
    assert DERIVED is not None
    known = set(DERIVED[CONTRACT[model]]["properties"])
    wire_names = {info.alias or name for name, info in model.model_fields.items()}
    assert wire_names - known == set()
