"""Validation of qTest simulator answers against Tricentis' Swagger 2.0 file for qTest Manager v3.

``qtest-manager-v3-swagger.yaml`` (see SOURCES.md in the specs folder) holds every path,
parameter and model with its required fields. Its definitions become JSON Schema (draft 4):

* a property may be ``null`` (Swagger 2.0 cannot say so; real answers carry ``null`` for empty
  attributes, e.g. ``"description": null``);
* ``date-time`` must be ISO-8601 with a UTC offset, ``int64`` must fit 64 bits;
* besides the schema, :meth:`QTestSwagger.unknown_fields` rejects any property the Swagger does
  not define, recursively.

Where answers published from real qTest sites contradict the Swagger, the real answer wins and the
schema is patched here, each patch naming its evidence:

* a test run's nested ``test_case`` is ``{links, id}`` without ``expand=testcase`` (answers of a
  qTest SaaS site to GET/POST ``.../test-runs`` recorded in 2023 by the ``qtest_reporter`` package,
  ``api/test_run.py``; see docs/simulators-qtest.md), while
  TestCaseWithCustomFieldResource requires ``properties``;
* ``AutomationObjectTree.children`` is typed as strings (the example ``"<Container's direct
  children>"``); the simulator answers the children as nested trees.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema
import yaml

SWAGGER_NAME = "qtest-manager-v3-swagger.yaml"
SWAGGER_URI = "urn:qtest-manager-v3"

#: The short nested test case real sites send inside a test run (see the module docstring).
SHORT_TEST_CASE = {
    "type": "object",
    "required": ["id"],
    "additionalProperties": False,
    "properties": {
        "links": {"type": "array", "items": {"$ref": "#/definitions/Link"}},
        "id": {"type": "integer"},
    },
}


def _to_json_schema(node: Any) -> Any:
    """Swagger 2.0 schema objects -> JSON Schema draft 4, every typed value nullable."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items() if k not in ("example", "readOnly", "xml")}
    if isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    elif "$ref" in out:
        out = {"anyOf": [{"$ref": out["$ref"]}, {"type": "null"}]}
    return out


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


class QTestSwagger:
    """The Swagger's definitions and operations, and checks of answers against them."""

    def __init__(self, spec_dir: Path) -> None:
        spec = yaml.safe_load((spec_dir / SWAGGER_NAME).read_text(encoding="utf-8"))
        self.spec = spec
        definitions = copy.deepcopy(spec["definitions"])
        run = definitions["TestRunWithCustomFieldResource"]["properties"]
        run["test_case"] = {
            "anyOf": [{"$ref": "#/definitions/TestCaseWithCustomFieldResource"}, SHORT_TEST_CASE]
        }
        # RepresentationModel is the base of every resource (Spring HATEOAS): the items of a
        # PagedResource are its subtypes, checked against the model the test names.
        definitions["RepresentationModel"]["additionalProperties"] = True
        tree = definitions["AutomationObjectTree"]["properties"]
        tree["children"] = {"type": "array", "items": {"$ref": "#/definitions/AutomationObjectTree"}}
        self.definitions: dict[str, Any] = definitions
        document = _to_json_schema({"definitions": definitions})
        resource = referencing.Resource.from_contents(
            document, default_specification=referencing.jsonschema.DRAFT4
        )
        self._registry: referencing.Registry[Any] = referencing.Registry().with_resource(
            SWAGGER_URI, resource
        )
        self._checker = jsonschema.FormatChecker(formats=())
        self._checker.checks("date-time")(_is_datetime)
        self._checker.checks("int64")(lambda v: not isinstance(v, int) or -(2**63) <= v < 2**63)
        self._paths = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"), template)
            for template in spec["paths"]
        ]

    # -- operations ------------------------------------------------------------------------------

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """The path template and operation a concrete request hits (literal segments win)."""
        path = path.split("?", 1)[0]
        found = [t for regex, t in self._paths if regex.match(path)]
        found = [t for t in found if method.lower() in self.spec["paths"][t]]
        if not found:
            return None
        template = max(found, key=lambda t: sum(1 for part in t.split("/") if part and "{" not in part))
        return template, self.spec["paths"][template][method.lower()]

    def response_schema(self, method: str, path: str, status: int) -> dict[str, Any] | None:
        """The schema the Swagger declares for an answer, or None when it declares none."""
        found = self.operation(method, path)
        if found is None:
            return None
        responses = found[1].get("responses", {})
        declared = responses.get(status) or responses.get(str(status))
        return declared.get("schema") if declared else None

    # -- bodies ------------------------------------------------------------------------------------

    def errors(self, schema: dict[str, Any], body: Any) -> list[str]:
        """Schema violations and properties the Swagger does not define, as readable strings."""
        rebased = _rebase(schema)
        validator = jsonschema.Draft4Validator(
            _to_json_schema(rebased), registry=self._registry, format_checker=self._checker
        )
        found = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
        found += [f"{path}: not a property of the Swagger" for path in self._unknown(schema, body, "$")]
        return found

    def check(self, schema: dict[str, Any] | str, body: Any, context: str = "") -> None:
        """Fail with every violation of ``schema`` (a definition name, ``List<X>`` or a schema)."""
        problems = self.errors(as_schema(schema), body)
        assert not problems, f"{context} does not match {schema}:\n" + "\n".join(problems[:20])

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.definitions[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _unknown(self, schema: dict[str, Any], value: Any, path: str) -> list[str]:
        schema = self._resolve(schema)
        if "anyOf" in schema:
            options = [self._unknown(option, value, path) for option in schema["anyOf"]]
            return min(options, key=len)
        found: list[str] = []
        if isinstance(value, dict) and "additionalProperties" not in schema and schema.get("properties"):
            props = schema["properties"]
            for name, item in value.items():
                if name not in props:
                    found.append(f"{path}.{name}")
                else:
                    found += self._unknown(props[name], item, f"{path}.{name}")
        elif isinstance(value, list) and "items" in schema:
            for index, item in enumerate(value):
                found += self._unknown(schema["items"], item, f"{path}[{index}]")
        return found


def as_schema(schema: dict[str, Any] | str) -> dict[str, Any]:
    """``"X"`` -> a reference to definition X; ``"List<X>"`` -> an array of X; a schema as is."""
    if isinstance(schema, dict):
        return schema
    if schema.startswith("List<"):
        return {"type": "array", "items": as_schema(schema[5:-1])}
    if schema == "Object":
        return {"type": "object"}
    return {"$ref": f"#/definitions/{schema}"}


def _rebase(node: Any) -> Any:
    """References of a response schema, made absolute to the registered document."""
    if isinstance(node, list):
        return [_rebase(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        k: (f"{SWAGGER_URI}{v}" if k == "$ref" and str(v).startswith("#/") else _rebase(v))
        for k, v in node.items()
    }
