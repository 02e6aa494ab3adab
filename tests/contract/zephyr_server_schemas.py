"""The two layers of the Zephyr Scale Server / Data Center v1 contract the simulator is tested against.

1. ``ServerSpec``: SmartBear's v1 OpenAPI document itself. Its response bodies are unresolved
   (``"Can not resolve testcase_get.example"``, ``$ref: schema/testCase.json`` with no such file),
   which ``openapi-core`` refuses to load, so a small matcher of our own checks what the document
   does settle: the path template and method of every request, its query parameters (declared
   ones only, required ones present, integers where the spec says integer), the status code
   (declared by the operation) and a JSON answer where the spec says ``application/json``.
2. JSON Schemas (draft 2020-12) of the wire objects of docs/simulators-zephyr-server.md: types,
   required members, dates as ``yyyy-MM-ddTHH:mm:ss.SSSZ`` and no member the doc does not define
   (``additionalProperties: false`` everywhere but ``customFields``, whose names are the site's).

The document is read from ZTOQ_SPECS_DIR, ``docs/specs``, ``specs`` or ``/work/shared/specs``.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import jsonschema

SPEC_NAME = "zephyr-scale-server-v1-openapi.json"
API_PATH = "/rest/atm/1.0"
#: Served paths outside the v1 document: the attachment download (the ``url`` of the lists) and
#: Jira's own project call.
OFF_SPEC_PATHS = {
    "/rest/tests/1.0/attachment/{id}": re.compile(r"^/rest/tests/1\.0/attachment/[^/]+$"),
    "/rest/api/2/project/{projectIdOrKey}": re.compile(r"^/rest/api/2/project/[^/]+$"),
}
_INTEGER_RE = re.compile(r"^-?[0-9]+$")


def spec_path() -> Path | None:
    """The v1 document, or None when it is not at hand."""
    root = Path(__file__).resolve().parents[2]
    candidates = [os.environ.get("ZTOQ_SPECS_DIR", ""), str(root / "docs" / "specs"), str(root / "specs")]
    for candidate in [*candidates, "/work/shared/specs"]:
        if candidate and (Path(candidate) / SPEC_NAME).is_file():
            return Path(candidate) / SPEC_NAME
    return None


# -- layer 1: the OpenAPI document ------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One operation of the document, its parameters merged from the path item."""

    method: str
    template: str
    pattern: re.Pattern[str]
    parameters: dict[tuple[str, str], dict[str, Any]]  # (in, name) -> parameter object
    responses: dict[str, Any]

    def json_statuses(self) -> set[str]:
        return {
            code for code, answer in self.responses.items() if "application/json" in answer.get("content", {})
        }


class ServerSpec:
    """The operations of the v1 document, and checks of exchanges against them."""

    def __init__(self, path: Path) -> None:
        document = json.loads(path.read_text(encoding="utf-8"))
        self.operations: dict[tuple[str, str], Operation] = {}
        for template, item in document["paths"].items():
            shared = {(p["in"], p["name"]): p for p in item.get("parameters", [])}
            regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            for method, operation in item.items():
                if method == "parameters":
                    continue
                own = {(p["in"], p["name"]): p for p in operation.get("parameters", [])}
                self.operations[(method.upper(), template)] = Operation(
                    method.upper(), template, re.compile(regex), {**shared, **own}, operation["responses"]
                )

    def find(self, method: str, api_path: str) -> Operation | None:
        """The operation of a path below ``/rest/atm/1.0``; literal segments win over ``{params}``."""
        candidates = [op for op in self.operations.values() if op.pattern.match(api_path)]
        candidates.sort(key=lambda op: op.template.count("{"))
        if not candidates:
            return None
        template = candidates[0].template
        return self.operations.get((method, template))

    def templates(self, method: str) -> set[str]:
        return {template for (m, template) in self.operations if m == method}

    def problems(
        self,
        response: httpx.Response,
        *,
        extra_statuses: frozenset[int] = frozenset(),
        basic: bool = True,
        required: bool = True,
    ) -> list[str]:
        """What in one request/answer pair the document does not allow (empty when all is well).

        Args:
            response: The answer, its request attached.
            extra_statuses: Statuses allowed beyond the operation's (429 and 5xx of the fault tests).
            basic: Require the document's one security scheme, HTTP Basic.
            required: Require the operation's required parameters (not in a test of their absence).
        """
        request = response.request
        raw_path = unquote(urlsplit(str(request.url)).path)
        context = f"{request.method} {request.url}"
        if not raw_path.startswith(API_PATH + "/"):
            if any(p.match(raw_path) for p in OFF_SPEC_PATHS.values()):
                return []
            return [f"{context}: neither a v1 path nor a known Jira path"]
        operation = self.find(request.method, raw_path.removeprefix(API_PATH))
        if operation is None:
            return [f"{context}: no operation of the spec"]
        found: list[str] = []
        query = request.url.params
        declared = {name for (where, name) in operation.parameters if where == "query"}
        found += [f"{context}: query parameter {n!r} not declared" for n in set(query) - declared]
        for (where, name), parameter in operation.parameters.items():
            if required and where == "query" and parameter.get("required") and name not in query:
                found.append(f"{context}: required query parameter {name!r} missing")
        if 200 <= response.status_code < 300:
            found += self._type_problems(operation, raw_path.removeprefix(API_PATH), query, context)
        status = str(response.status_code)
        if status not in operation.responses and response.status_code not in extra_statuses:
            found.append(f"{context}: status {status} not declared ({sorted(operation.responses)})")
        if status in operation.json_statuses():
            if not response.headers.get("content-type", "").startswith("application/json"):
                found.append(f"{context}: {status} is not application/json")
            else:
                try:
                    response.json()
                except ValueError:
                    found.append(f"{context}: {status} body is not JSON")
        if basic and not request.headers.get("authorization", "").startswith("Basic "):
            found.append(f"{context}: not the spec's security scheme (HTTP Basic)")
        return found

    @staticmethod
    def _type_problems(operation: Operation, path: str, query: httpx.QueryParams, context: str) -> list[str]:
        """Integer parameters of an answered request must have been integers."""
        values = dict(zip(operation.template.split("/"), path.split("/"), strict=True))
        found = []
        for (where, name), parameter in operation.parameters.items():
            if parameter.get("schema", {}).get("type") != "integer":
                continue
            value = values.get("{" + name + "}") if where == "path" else query.get(name)
            if value is not None and not _INTEGER_RE.match(value):
                found.append(f"{context}: {where} parameter {name}={value!r} is not an integer, yet answered")
        return found


# -- layer 2: the wire format of docs/simulators-zephyr-server.md --------------------------------------

_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_PROJECT = r"[A-Z][A-Z0-9_]*"

TEXT = {"type": "string"}
NAME = {"type": "string", "minLength": 1}
USER = NAME  # a Jira user key (or a login name on old sites)
DATE_TIME = {"type": "string", "format": "date-time"}
ID = {"type": "integer", "minimum": 1}
INDEX = {"type": "integer", "minimum": 0}
MILLISECONDS = {"type": "integer", "minimum": 0}
FOLDER = {"type": "string", "pattern": "^/"}
PROJECT_KEY = {"type": "string", "pattern": f"^{_PROJECT}$"}
ISSUE_KEY = {"type": "string", "pattern": f"^{_PROJECT}-[1-9][0-9]*$"}
TEST_CASE_KEY = {"type": "string", "pattern": f"^{_PROJECT}-T[1-9][0-9]*$"}
TEST_PLAN_KEY = {"type": "string", "pattern": f"^{_PROJECT}-P[1-9][0-9]*$"}
TEST_RUN_KEY = {"type": "string", "pattern": f"^{_PROJECT}-C[1-9][0-9]*$"}
LABELS = {"type": "array", "items": NAME}
ISSUE_LINKS = {"type": "array", "items": ISSUE_KEY}
#: Names are the site's; values as Server sends them (multi-choice as "UI, API", checkbox as a
#: boolean, number as a number, date and user picker as text).
CUSTOM_FIELDS = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}


def _object(required: list[str], properties: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
        **more,
    }


def array_of(item: dict[str, Any]) -> dict[str, Any]:
    """A JSON array of ``item``."""
    return {"type": "array", "items": item}


STEP = _object(
    ["id", "index"],
    {
        "id": ID,
        "index": INDEX,
        "description": TEXT,
        "testData": TEXT,
        "expectedResult": TEXT,
        "testCaseKey": TEST_CASE_KEY,
        "customFields": CUSTOM_FIELDS,
    },
    # A call-to-test step has testCaseKey instead of the three texts.
    dependentSchemas={
        "testCaseKey": {"properties": {"description": False, "testData": False, "expectedResult": False}}
    },
)
TEST_SCRIPT = _object(
    ["type"],
    {
        "id": ID,
        "type": {"enum": ["STEP_BY_STEP", "PLAIN_TEXT", "BDD"]},
        "steps": array_of(STEP),
        "text": TEXT,
    },
    **{
        "if": {"properties": {"type": {"const": "STEP_BY_STEP"}}},
        "then": {"required": ["steps"], "properties": {"text": False}},
        "else": {"required": ["text"], "properties": {"steps": False}},
    },
)
VARIABLE = _object(
    ["name", "type"],
    {"name": NAME, "type": {"enum": ["FREE_TEXT", "DATA_SET"]}, "dataSet": NAME},
    **{"if": {"properties": {"type": {"const": "DATA_SET"}}}, "then": {"required": ["dataSet"]}},
)
PARAMETERS = _object(
    ["variables", "entries"],
    {
        "variables": {"type": "array", "minItems": 1, "items": VARIABLE},
        "entries": array_of({"type": "object", "additionalProperties": TEXT}),
    },
)
TEST_CASE = _object(
    ["key", "projectKey", "name", "status", "priority", "createdOn", "majorVersion", "latestVersion"],
    {
        "key": TEST_CASE_KEY,
        "projectKey": PROJECT_KEY,
        "name": NAME,
        "status": NAME,
        "priority": NAME,
        "component": NAME,
        "folder": FOLDER,
        "owner": USER,
        "objective": TEXT,
        "precondition": TEXT,
        "estimatedTime": MILLISECONDS,
        "labels": LABELS,
        "issueLinks": ISSUE_LINKS,
        "customFields": CUSTOM_FIELDS,
        "createdOn": DATE_TIME,
        "createdBy": USER,
        "updatedOn": DATE_TIME,
        "updatedBy": USER,
        "majorVersion": ID,
        "latestVersion": {"type": "boolean"},
        "lastTestResultStatus": NAME,
        "parameters": PARAMETERS,
        "testScript": TEST_SCRIPT,
    },
)
TEST_PLAN = _object(
    ["key", "projectKey", "name", "status", "createdOn"],
    {
        "key": TEST_PLAN_KEY,
        "projectKey": PROJECT_KEY,
        "name": NAME,
        "objective": TEXT,
        "folder": FOLDER,
        "status": NAME,
        "owner": USER,
        "labels": LABELS,
        "issueLinks": ISSUE_LINKS,
        "customFields": CUSTOM_FIELDS,
        "createdOn": DATE_TIME,
        "createdBy": USER,
        "updatedOn": DATE_TIME,
        "updatedBy": USER,
        "testRuns": array_of(_object(["key"], {"key": TEST_RUN_KEY})),
    },
)
TEST_RUN_ITEM = _object(
    ["id", "index", "testCaseKey", "status"],
    {
        "id": ID,
        "index": INDEX,
        "testCaseKey": TEST_CASE_KEY,
        "userKey": USER,
        "environment": NAME,
        "status": NAME,
        "executionDate": DATE_TIME,
        "executedBy": USER,
    },
)
TEST_RUN = _object(
    ["key", "projectKey", "name", "status", "testCaseCount", "createdOn", "items"],
    {
        "key": TEST_RUN_KEY,
        "projectKey": PROJECT_KEY,
        "name": NAME,
        "folder": FOLDER,
        "status": NAME,
        "description": TEXT,
        "owner": USER,
        "testPlanKey": TEST_PLAN_KEY,
        "issueKey": ISSUE_KEY,
        "version": NAME,
        "iteration": NAME,
        "plannedStartDate": DATE_TIME,
        "plannedEndDate": DATE_TIME,
        "estimatedTime": MILLISECONDS,
        "executionTime": MILLISECONDS,
        "testCaseCount": INDEX,
        "customFields": CUSTOM_FIELDS,
        "createdOn": DATE_TIME,
        "createdBy": USER,
        "updatedOn": DATE_TIME,
        "items": array_of(TEST_RUN_ITEM),
    },
)
SCRIPT_RESULT = _object(["index", "status"], {"index": INDEX, "status": NAME, "comment": TEXT})
TEST_RESULT = _object(
    ["id", "projectKey", "testRunKey", "testCaseKey", "status", "scriptResults"],
    {
        "id": ID,
        "projectKey": PROJECT_KEY,
        "testRunKey": TEST_RUN_KEY,
        "testCaseKey": TEST_CASE_KEY,
        "testCaseMajorVersion": ID,
        "status": NAME,
        "environment": NAME,
        "comment": TEXT,
        "assignedTo": USER,
        "executedBy": USER,
        "userKey": USER,
        "executionTime": MILLISECONDS,
        "executionDate": DATE_TIME,
        "actualStartDate": DATE_TIME,
        "actualEndDate": DATE_TIME,
        "automated": {"type": "boolean"},
        "customFields": CUSTOM_FIELDS,
        "issueLinks": ISSUE_LINKS,
        "scriptResults": array_of(SCRIPT_RESULT),
    },
)
ENVIRONMENT = _object(["id", "name"], {"id": ID, "name": NAME, "description": TEXT, "index": INDEX})
ATTACHMENT = _object(
    ["id", "fileName", "fileSize", "contentType", "url"],
    {
        "id": ID,
        "fileName": NAME,
        "fileSize": {"type": "integer", "minimum": 0},
        "contentType": {"type": "string", "pattern": r"^[\w.+-]+/[\w.+-]+"},
        "url": {"type": "string", "format": "uri", "pattern": "^https?://"},
    },
)
JIRA_PROJECT = _object(
    ["self", "id", "key", "name"],
    {
        "self": {"type": "string", "format": "uri"},
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "key": PROJECT_KEY,
        "name": NAME,
    },
)
_MESSAGES = {"type": "array", "minItems": 1, "items": NAME}
ERROR = _object(["errorMessages"], {"errorMessages": _MESSAGES})
#: Jira's own REST API (``/rest/api/2``) adds an ``errors`` map.
JIRA_ERROR = _object(["errorMessages", "errors"], {"errorMessages": _MESSAGES, "errors": {"type": "object"}})
CREATED_TEST_CASE = _object(["key"], {"key": TEST_CASE_KEY})
CREATED_RESULTS = {"type": "array", "minItems": 1, "items": _object(["id"], {"id": ID})}

SCHEMAS: dict[str, dict[str, Any]] = {
    "test_case": TEST_CASE,
    "test_case_list": array_of(TEST_CASE),
    "test_plan": TEST_PLAN,
    "test_plan_list": array_of(TEST_PLAN),
    "test_run": TEST_RUN,
    "test_run_list": array_of(TEST_RUN),
    "test_result": TEST_RESULT,
    "test_result_list": array_of(TEST_RESULT),
    "environment_list": array_of(ENVIRONMENT),
    "attachment_list": array_of(ATTACHMENT),
    "jira_project": JIRA_PROJECT,
    "error": ERROR,
    "jira_error": JIRA_ERROR,
    "created_test_case": CREATED_TEST_CASE,
    "created_results": CREATED_RESULTS,
}


def partial(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema of an answer cut down by ``fields``: no top-level member (of it or its items) required."""
    out = copy.deepcopy(schema)
    (out["items"] if out.get("type") == "array" else out).pop("required", None)
    return out


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATETIME_RE.match(value):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")  # refuses e.g. month 13
    except ValueError:
        return False
    return True


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc)


FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checks("date-time")(_is_datetime)
FORMATS.checks("uri")(_is_uri)


def wire_problems(schema: str | dict[str, Any], body: Any) -> list[str]:
    """Violations of a wire schema (by name in ``SCHEMAS``, or given), as ``path: message`` lines."""
    resolved = SCHEMAS[schema] if isinstance(schema, str) else schema
    validator = jsonschema.Draft202012Validator(resolved, format_checker=FORMATS)
    return [
        f"${''.join(f'[{p!r}]' for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)
    ]
