"""Zephyr models against payloads generated from the OpenAPI document itself (when it is at hand).

For each schema, two payloads are built: the *minimal* one (only ``required`` properties, all the
way down) and the *maximal* one (every property, using the spec's ``example`` values). Both must
validate. The spec is read from ZTOQ_SPECS_DIR, ``docs/specs`` or ``/work/shared/specs``; the
test is skipped when none holds it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from ztoq.zephyr import models as zm

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


MODELS: dict[str, type[BaseModel]] = {
    "TestCase": zm.TestCase,
    "TestCycle": zm.TestCycle,
    "TestPlan": zm.TestPlan,
    "TestExecution": zm.TestExecution,
    "Folder": zm.Folder,
    "TestStep": zm.TestStep,
    "TestExecutionStep": zm.TestExecutionStep,
    "TestScript": zm.TestScript,
    "Project": zm.Project,
    "Priority": zm.Priority,
    "Status": zm.Status,
    "Environment": zm.Environment,
    "IssueLink": zm.IssueLink,
    "WebLink": zm.WebLink,
    "JiraUserLink": zm.JiraUserLink,
    "TestCaseLinkList": zm.TestCaseLinks,
    "TestCycleLinkList": zm.TestCycleLinks,
    "TestExecutionLinkList": zm.TestExecutionLinks,
    "KeyedCreatedResource": zm.CreatedResource,
    "TestCaseList": zm.OffsetPage[zm.TestCase],
    "TestCycleList": zm.OffsetPage[zm.TestCycle],
    "TestPlanList": zm.OffsetPage[zm.TestPlan],
    "TestExecutionList": zm.OffsetPage[zm.TestExecution],
    "TestStepsList": zm.OffsetPage[zm.TestStep],
    "TestExecutionTestStepsList": zm.OffsetPage[zm.TestExecutionStep],
    "FolderList": zm.OffsetPage[zm.Folder],
    "CursorPagedTestCaseList": zm.CursorPage[zm.TestCase],
    "CursorPagedTestExecutionList": zm.CursorPage[zm.TestExecution],
}


@pytest.mark.parametrize("maximal", [False, True], ids=["minimal", "maximal"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_accepts_payload_generated_from_the_spec(name: str, maximal: bool) -> None:
    if name not in SCHEMAS:
        pytest.skip(f"{name} is not in this copy of the spec")
    payload = build({"$ref": f"#/components/schemas/{name}"}, maximal=maximal)
    parsed = MODELS[name].model_validate(payload)
    dumped = parsed.model_dump(by_alias=True, exclude_none=True, mode="json")
    if maximal:
        assert set(dumped) == set(payload)  # nothing renamed or dropped on the way back out


def test_generated_execution_version_url_is_readable() -> None:
    payload = build({"$ref": "#/components/schemas/TestExecution"}, maximal=True)
    assert zm.TestExecution.model_validate(payload).test_case_version() == ("PROJ-T1", 1)
