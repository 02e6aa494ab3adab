"""The Cloud decoder against payloads generated from the OpenAPI document itself (when it is at hand).

For each schema, two payloads are built: the *minimal* one (only ``required`` properties, all the
way down) and the *maximal* one (every property, using the spec's ``example`` values). Both must
decode, and the maximal one must carry every member the canonical record has a place for. The
spec is read from ZTOQ_SPECS_DIR, ``docs/specs`` or ``/work/shared/specs``; the test is skipped
when none holds it.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ztoq.sources.records import FolderKind, Ref, ScriptKind
from ztoq.sources.zephyr_cloud import decode

SPEC_NAME = "zephyr-scale-cloud-v2-openapi.yml"
ADDENDUM_NAME = "zephyr-scale-cloud-v2-nextgen-addendum.json"


def _spec_dir() -> Path | None:
    candidates = [os.environ.get("ZTOQ_SPECS_DIR", "")]
    root = Path(__file__).resolve().parents[3]
    candidates += [str(root / "docs" / "specs"), str(root / "specs"), "/work/shared/specs"]
    for candidate in candidates:
        if candidate and (Path(candidate) / SPEC_NAME).is_file():
            return Path(candidate)
    return None


SPEC_DIR = _spec_dir()
pytestmark = pytest.mark.skipif(SPEC_DIR is None, reason="the Zephyr OpenAPI document is not available")


def _schemas() -> dict[str, Any]:
    assert SPEC_DIR is not None
    spec = yaml.safe_load((SPEC_DIR / SPEC_NAME).read_text(encoding="utf-8"))
    schemas: dict[str, Any] = spec["components"]["schemas"]
    addendum = SPEC_DIR / ADDENDUM_NAME
    if addendum.is_file():
        schemas.update(json.loads(addendum.read_text(encoding="utf-8"))["components"]["schemas"])
    return schemas


SCHEMAS = _schemas() if SPEC_DIR is not None else {}

_BY_TYPE: dict[str, Any] = {"string": "text", "integer": 1, "number": 1.5, "boolean": True}
_BY_FORMAT: dict[str, Any] = {"date-time": "2018-05-15T13:15:13Z", "url": "https://example.com/x"}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _flatten(schema: dict[str, Any]) -> tuple[dict[str, Any], set[str], dict[str, Any]]:
    """Properties, required names and the remaining keywords of a schema, allOf merged in."""
    schema = _resolve(schema)
    properties = dict(schema.get("properties", {}))
    required = set(schema.get("required", []))
    rest = {k: v for k, v in schema.items() if k not in ("properties", "required", "allOf")}
    for part in schema.get("allOf", []):
        p, r, other = _flatten(part)
        properties.update(p)
        required |= r
        rest = {**other, **rest}
    return properties, required, rest


def build(schema: dict[str, Any], *, maximal: bool) -> Any:
    """A payload valid for ``schema``: required-only (maximal=False) or with every property."""
    properties, required, rest = _flatten(schema)
    if properties or required:
        names = properties if maximal else [name for name in properties if name in required]
        payload = {name: build(properties[name], maximal=maximal) for name in names}
        if maximal and isinstance(rest.get("example"), dict):
            payload.update(rest["example"])  # the spec's own example of the whole object wins
        return payload
    if "example" in rest:
        return rest["example"]
    if "enum" in rest:
        return rest["enum"][0]
    kind = rest.get("type", "object")
    if kind == "array":
        return [build(rest["items"], maximal=maximal)] if maximal else []
    if kind == "object":
        return {}
    return _BY_FORMAT.get(rest.get("format", ""), _BY_TYPE[kind])


def _wire(value: Any) -> str:
    """A YAML timestamp of the spec's examples as the API sends it: ISO-8601 text."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert isinstance(value, date)
    return value.isoformat()


def payload(name: str, *, maximal: bool) -> Any:
    """A payload of schema ``name`` as it arrives on the wire (JSON: timestamps are text)."""
    if name not in SCHEMAS:
        pytest.skip(f"{name} is not in this copy of the spec")
    return json.loads(
        json.dumps(build({"$ref": f"#/components/schemas/{name}"}, maximal=maximal), default=_wire)
    )


@pytest.mark.parametrize("maximal", [False, True], ids=["minimal", "maximal"])
def test_test_case(maximal: bool) -> None:
    raw = payload("TestCase", maximal=maximal)
    record = decode.case(raw, [payload("TestStep", maximal=maximal)], None)
    assert record.key == raw["key"]
    assert record.priority == Ref(id=raw["priority"]["id"])
    assert record.status == Ref(id=raw["status"]["id"])
    assert len(record.steps) == 1
    if maximal:
        assert record.folder == Ref(id=raw["folder"]["id"])
        assert record.owner == raw["owner"]["accountId"]
        assert record.component == Ref(id=raw["component"]["id"])
        assert record.labels == tuple(raw["labels"])
        assert record.estimated_time == raw["estimatedTime"]
        assert record.created_on == raw["createdOn"]
        assert (record.objective, record.precondition) == (raw["objective"], raw["precondition"])
        assert record.custom_fields == raw["customFields"]
        assert len(record.links.issues) == len(raw["links"]["issues"])
        assert len(record.links.web_links) == len(raw["links"]["webLinks"])


@pytest.mark.parametrize("maximal", [False, True], ids=["minimal", "maximal"])
def test_test_step_and_script(maximal: bool) -> None:
    step = decode.step(payload("TestStep", maximal=maximal))
    script = decode.text_script({**payload("TestScript", maximal=maximal), "type": "bdd"})
    assert script is not None
    assert script.kind is ScriptKind.BDD
    if maximal:
        raw = payload("TestStep", maximal=True)
        # A step is a call when it names a test case, else it is written inline.
        assert step.called_test_case == raw["testCase"]["testCaseKey"]
        assert len(step.parameters) == len(raw["testCase"].get("parameters") or ())


@pytest.mark.parametrize("maximal", [False, True], ids=["minimal", "maximal"])
def test_test_plan_and_cycle(maximal: bool) -> None:
    raw_plan = payload("TestPlan", maximal=maximal)
    raw_cycle = payload("TestCycle", maximal=maximal)
    plan, cycle = decode.plan(raw_plan), decode.cycle(raw_cycle)
    assert (plan.key, plan.id, plan.name) == (raw_plan["key"], raw_plan["id"], raw_plan["name"])
    assert (cycle.key, cycle.id, cycle.name) == (raw_cycle["key"], raw_cycle["id"], raw_cycle["name"])
    if maximal:
        assert plan.test_cycles == tuple(
            Ref(id=link["testCycleId"]) for link in raw_plan["links"]["testCycles"]
        )
        assert cycle.test_plans == tuple(
            Ref(id=link["testPlanId"]) for link in raw_cycle["links"]["testPlans"]
        )
        assert cycle.planned_start_date == raw_cycle["plannedStartDate"]
        assert cycle.jira_version == Ref(id=raw_cycle["jiraProjectVersion"]["id"])


@pytest.mark.parametrize("maximal", [False, True], ids=["minimal", "maximal"])
def test_test_execution(maximal: bool) -> None:
    raw = payload("TestExecution", maximal=maximal)
    record = decode.execution(raw, [payload("TestExecutionStep", maximal=maximal)])
    assert record.id == raw["id"]
    assert record.status == Ref(id=raw["testExecutionStatus"]["id"])
    assert [s.index for s in record.steps] == [0]
    if maximal:
        assert (record.test_case_key, record.test_case_version) == ("PROJ-T1", "1")
        assert record.test_cycle is not None
        assert record.test_cycle.id == raw["testCycle"]["id"]
        assert record.actual_end_date == raw["actualEndDate"]
        assert (record.executed_by, record.assigned_to) == (raw["executedById"], raw["assignedToId"])
        step = payload("TestExecutionStep", maximal=True)["inline"]
        assert record.steps[0].status == Ref(id=step["status"]["id"])
        assert record.steps[0].actual_result == step["actualResult"]


@pytest.mark.parametrize("name", ["Folder", "Status", "Priority", "Environment"])
def test_folders_and_options(name: str) -> None:
    raw = payload(name, maximal=True)
    if name == "Folder":
        folder = decode.folder({**raw, "folderType": "TEST_CYCLE"})
        assert folder is not None
        assert (folder.key, folder.name, folder.kind) == (str(raw["id"]), raw["name"], FolderKind.TEST_CYCLE)
        assert folder.parent == Ref(id=raw["parentId"])
        return
    option = decode.option(raw)
    assert option is not None
    assert (option.id, option.name) == (raw["id"], raw["name"])
