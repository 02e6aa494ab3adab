"""Validation of simulator answers against SmartBear's Zephyr Scale Cloud v2 OpenAPI document.

The vendor document (plus the NextGen addendum) is turned into JSON Schema: ``nullable`` becomes a
``null`` type, and formats are checked strictly (``date-time`` must be the spec's
``yyyy-MM-dd'T'HH:mm:ss'Z'``, ``url`` an absolute http(s) URL). Two schema defects are patched,
each contradicted by the spec itself:

* ``CustomFields.additionalProperties`` says ``type: object``, but the schema's own description
  and example give strings, numbers, booleans and lists as values;
* ``Folder.parentId`` is a required ``EntityId`` (>= 1), but ``FolderInput.parentId`` "Must be
  ``null`` for root folders", so root folders are served with ``parentId: null``.

And one change the document predates: SmartBear's current schemas (the spec note
``zephyr-scale-cloud-v2-attachments.md``) give every test case step (``TestStep``) and execution
step (``TestExecutionStep``) a numeric ``id``, so both schemas get it as a required property.

Besides the schema, ``unknown_fields`` rejects any property the spec does not define (the spec's
objects do not forbid extra properties, but the simulator must serve exactly its field names).

The documents are read from ZTOQ_SPECS_DIR, ``docs/specs``, ``specs`` or ``/work/shared/specs``.
"""

from __future__ import annotations

import copy
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest
import referencing
import referencing.jsonschema
import yaml

SPEC_NAME = "zephyr-scale-cloud-v2-openapi.yml"
ADDENDUM_NAME = "zephyr-scale-cloud-v2-nextgen-addendum.json"
SPEC_URI = "urn:zephyr-scale-cloud-v2"
ZEPHYR_TOKEN = "zephyr-sim-token"
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _spec_dir() -> Path | None:
    root = Path(__file__).resolve().parents[2]
    candidates = [os.environ.get("ZTOQ_SPECS_DIR", ""), str(root / "docs" / "specs"), str(root / "specs")]
    candidates.append("/work/shared/specs")
    for candidate in candidates:
        if candidate and (Path(candidate) / SPEC_NAME).is_file():
            return Path(candidate)
    return None


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects -> JSON Schema (draft 4): ``nullable`` becomes a null type."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items() if k not in ("example", "nullable")}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


class ZephyrContract:
    """The vendor schemas, and checks of response bodies against them."""

    def __init__(self, spec_dir: Path) -> None:
        spec = yaml.safe_load((spec_dir / SPEC_NAME).read_text(encoding="utf-8"))
        addendum = json.loads((spec_dir / ADDENDUM_NAME).read_text(encoding="utf-8"))
        schemas = spec["components"]["schemas"]
        schemas.update(addendum["components"]["schemas"])
        # Patches for the two self-contradicting schemas (see the module docstring).
        schemas["CustomFields"]["additionalProperties"] = {}
        entity_id = {"$ref": "#/components/schemas/EntityId"}
        schemas["Folder"]["properties"]["parentId"] = {"anyOf": [entity_id, {"type": "null"}]}
        # The current schemas' step ids (see the module docstring).
        for name in ("TestStep", "TestExecutionStep"):
            schemas[name]["properties"]["id"] = {"type": "integer", "minimum": 1}
            schemas[name]["required"] = sorted({*schemas[name].get("required", []), "id"})
        self.spec = spec
        self.addendum = addendum
        self.schemas: dict[str, Any] = schemas
        document = _to_json_schema({"components": {"schemas": schemas}})
        self._document = document
        resource = referencing.Resource.from_contents(
            document, default_specification=referencing.jsonschema.DRAFT4
        )
        self._registry: referencing.Registry[Any] = referencing.Registry().with_resource(SPEC_URI, resource)
        self._checker = jsonschema.FormatChecker(formats=())
        self._checker.checks("date-time")(_is_datetime)
        self._checker.checks("url")(_is_url)
        self._checker.checks("int64")(lambda v: not isinstance(v, int) or -(2**63) <= v < 2**63)
        self._validators: dict[str, jsonschema.Draft4Validator] = {}

    def errors(self, schema_name: str, body: Any) -> list[str]:
        """Schema violations and properties the spec does not define, as readable strings."""
        validator = self._validators.get(schema_name)
        if validator is None:
            ref = {"$ref": f"{SPEC_URI}#/components/schemas/{schema_name}"}
            validator = jsonschema.Draft4Validator(ref, registry=self._registry, format_checker=self._checker)
            self._validators[schema_name] = validator
        found = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
        found += [f"{path}: not a property of the spec" for path in self.unknown_fields(schema_name, body)]
        return found

    def check(self, schema_name: str, body: Any, context: str = "") -> None:
        """Fail the test with every violation of the schema ``schema_name``."""
        problems = self.errors(schema_name, body)
        assert not problems, f"{context} does not match {schema_name}:\n" + "\n".join(problems[:20])

    def check_response(self, response: httpx.Response, schema_name: str, status: int = 200) -> Any:
        """Check the status and the JSON body of an answer; return the body."""
        context = f"{response.request.method} {response.request.url}"
        assert response.status_code == status, f"{context}: {response.status_code} {response.text[:300]}"
        body = response.json()
        self.check(schema_name, body, context)
        return body

    # -- exact field names ---------------------------------------------------------------------------

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _shape(self, schema: dict[str, Any]) -> tuple[dict[str, Any], bool, dict[str, Any] | None]:
        """Properties (merged across allOf/anyOf), whether any property is allowed, the items schema."""
        schema = self._resolve(schema)
        props: dict[str, Any] = dict(schema.get("properties", {}))
        is_open = "additionalProperties" in schema
        items = schema.get("items")
        for sub in schema.get("allOf", []) + schema.get("anyOf", []):
            sub_props, sub_open, sub_items = self._shape(sub)
            props.update(sub_props)
            is_open = is_open or sub_open
            items = items or sub_items
        return props, is_open, items

    def unknown_fields(self, schema_name: str, body: Any) -> list[str]:
        """Paths of properties in ``body`` that the schema (recursively) does not define."""
        return self._unknown({"$ref": f"#/components/schemas/{schema_name}"}, body, "$")

    def _unknown(self, schema: dict[str, Any], value: Any, path: str) -> list[str]:
        props, is_open, items = self._shape(schema)
        found: list[str] = []
        if isinstance(value, dict) and not is_open:
            for name, item in value.items():
                if name not in props:
                    found.append(f"{path}.{name}")
                else:
                    found += self._unknown(props[name], item, f"{path}.{name}")
        elif isinstance(value, list) and items is not None:
            for index, item in enumerate(value):
                found += self._unknown(items, item, f"{path}[{index}]")
        return found


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATETIME_RE.match(value):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")  # refuses e.g. month 13
    except ValueError:
        return False
    return True


def _is_url(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


SPEC_DIR = _spec_dir()


@pytest.fixture(scope="session")
def zephyr_contract() -> ZephyrContract:
    """The Zephyr Scale Cloud v2 contract; skips when the vendor document is not at hand."""
    if SPEC_DIR is None:
        pytest.skip("the Zephyr OpenAPI document is not available (set ZTOQ_SPECS_DIR)")
    return ZephyrContract(SPEC_DIR)


@pytest.fixture(scope="session")
def zephyr_spec_paths(zephyr_contract: ZephyrContract) -> dict[str, Any]:
    """The spec's paths with the addendum's merged in (a deep copy)."""
    paths = copy.deepcopy(zephyr_contract.spec["paths"])
    paths.update(copy.deepcopy(zephyr_contract.addendum["paths"]))
    return dict(paths)
