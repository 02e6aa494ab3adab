"""Hand-built, spec-shaped inputs for the mapping tests (Zephyr Scale Cloud v2 / qTest v3 JSON).

The tests write Zephyr Scale Cloud JSON, as the API sends it; mapping takes canonical records, so
every such input goes through the Cloud adapter's decoder first (:func:`case`, :func:`executions`,
:func:`build_lookups`, ...), exactly as transform decodes the stored rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ztoq.config import ZtoqConfig, build_config
from ztoq.mapping.lookups import SourceLookups, TargetFields
from ztoq.sources.records import (
    Folder,
    Ref,
    TestCase,
    TestCycle,
    TestExecution,
    TestPlan,
    TestScript,
    TestStep,
)
from ztoq.sources.zephyr_cloud import decode as cloud
from ztoq.vendor import (
    QTEST_CHECKBOX,
    QTEST_DATE,
    QTEST_DATE_TIME,
    QTEST_MULTI_SELECT,
    QTEST_NUMBER,
    QTEST_PICK_LIST,
    QTEST_RICH_TEXT,
    QTEST_TEXT,
    QTEST_TEXT_AREA,
    QTEST_USER_LIST,
)

ADA = "5b10a2844c20165700ede21g"
GRACE = "5b10ac8d82e05b22cc7d4ef5"
GONE = "557058:aa11bb22-cc33-dd44-ee55-ff6677889900"


def config(**sections: Any) -> ZtoqConfig:
    """A config with project PROJ plus the given sections (dicts as in config.yaml)."""
    data: dict[str, Any] = {"zephyr": {"project_key": "PROJ"}}
    for name, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(name), dict):
            data[name] = {**data[name], **value}
        else:
            data[name] = value
    return build_config(data)


def choice(value: int, label: str, default: bool = False, active: bool = True) -> dict[str, Any]:
    return {"value": value, "label": label, "is_default": default, "is_active": active}


def qfield(field_id: int, label: str, data_type: int, *values: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A qTest FieldResource dict."""
    raw: dict[str, Any] = {
        "id": field_id,
        "label": label,
        "data_type": data_type,
        "required": False,
        "multiple": False,
        "system_field": False,
        "is_active": True,
    }
    if values:
        raw["allowed_values"] = list(values)
    raw.update(more)
    return raw


def case_fields(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        qfield(1, "Name", QTEST_TEXT, required=True, system_field=True),
        qfield(
            2,
            "Priority",
            QTEST_PICK_LIST,
            choice(21, "High"),
            choice(22, "Medium", default=True),
            choice(23, "Low"),
            choice(24, "Obsolete", active=False),
            system_field=True,
        ),
        qfield(
            3,
            "Status",
            QTEST_PICK_LIST,
            choice(31, "New", default=True),
            choice(32, "Approved"),
            choice(33, "Deprecated"),
            system_field=True,
        ),
        qfield(
            4,
            "Automation Status",
            QTEST_PICK_LIST,
            choice(41, "Not Automated"),
            choice(42, "In Progress"),
            choice(43, "Automated"),
        ),
        qfield(5, "Requirement", QTEST_TEXT),
        qfield(
            6,
            "Test Areas",
            QTEST_MULTI_SELECT,
            choice(61, "UI"),
            choice(62, "API"),
            choice(63, "Database"),
            choice(64, "Security"),
            multiple=True,
        ),
        qfield(7, "Review Date", QTEST_DATE),
        qfield(8, "Story Points", QTEST_NUMBER),
        qfield(9, "Regression", QTEST_CHECKBOX),
        qfield(10, "Reviewer", QTEST_USER_LIST),
        qfield(11, "Notes", QTEST_RICH_TEXT),
        qfield(12, "Labels", QTEST_TEXT_AREA),
        qfield(13, "Assigned To", QTEST_USER_LIST, multiple=True, system_field=True),
        qfield(14, "Last Review", QTEST_DATE_TIME),
        *extra,
    ]


USERS = [
    {"id": 501, "username": "ada@example.com", "email": "ada@example.com", "first_name": "Ada"},
    {"id": 502, "username": "grace", "email": "grace@example.com", "first_name": "Grace"},
    {"id": 509, "username": "migration-bot", "email": "bot@example.com"},
]

EXECUTION_STATUSES = [
    {"id": 601, "name": "Passed"},
    {"id": 602, "name": "Failed"},
    {"id": 603, "name": "Incomplete"},
    {"id": 604, "name": "Blocked"},
    {"id": 605, "name": "Unexecuted", "is_default": True},
]


def run_fields(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        qfield(
            801,
            "Environment",
            QTEST_PICK_LIST,
            choice(811, "Chrome Latest"),
            choice(812, "Firefox ESR"),
        ),
        qfield(
            802,
            "Browser Version",
            QTEST_PICK_LIST,
            choice(821, "Chrome"),
            choice(822, "Firefox"),
            choice(823, "Safari"),
        ),
        qfield(803, "Assigned To", QTEST_USER_LIST, multiple=True, system_field=True),
        *extra,
    ]


def target(
    test_cases: list[dict[str, Any]] | None = None,
    *,
    test_runs: list[dict[str, Any]] | None = None,
    releases: list[dict[str, Any]] | None = None,
    test_cycles: list[dict[str, Any]] | None = None,
) -> TargetFields:
    return TargetFields.from_settings(
        {
            "test-cases": case_fields() if test_cases is None else test_cases,
            "test-runs": run_fields() if test_runs is None else test_runs,
            "releases": releases
            if releases is not None
            else [
                qfield(
                    901,
                    "Status",
                    QTEST_PICK_LIST,
                    choice(911, "Planned", default=True),
                    choice(912, "Active"),
                )
            ],
            "test-cycles": test_cycles or [],
        },
        execution_statuses=EXECUTION_STATUSES,
        users=USERS,
    )


def folder(folder_id: int, name: str, parent: int | None = None, **more: Any) -> dict[str, Any]:
    return {
        "id": folder_id,
        "parentId": parent,
        "name": name,
        "index": more.pop("index", 0),
        "folderType": more.pop("folderType", "TEST_CASE"),
        "project": {"id": 10005, "self": "https://api/projects/10005"},
        **more,
    }


STATUSES = [
    {"id": 1, "name": "Draft", "index": 0, "project": {"id": 10005}},
    {"id": 2, "name": "Approved", "index": 1, "project": {"id": 10005}},
    {"id": 3, "name": "Deprecated", "index": 2, "project": {"id": 10005}},
    {"id": 20, "name": "Not Executed", "index": 0, "project": {"id": 10005}},
    {"id": 21, "name": "In Progress", "index": 1, "project": {"id": 10005}},
    {"id": 22, "name": "Pass", "index": 2, "project": {"id": 10005}},
    {"id": 23, "name": "Fail", "index": 3, "project": {"id": 10005}},
    {"id": 24, "name": "Blocked", "index": 4, "project": {"id": 10005}},
    {"id": 25, "name": "Retest Needed", "index": 5, "project": {"id": 10005}},
]
PRIORITIES = [
    {"id": 7, "name": "High", "index": 0, "project": {"id": 10005}},
    {"id": 8, "name": "Normal", "index": 1, "project": {"id": 10005}},
    {"id": 9, "name": "low", "index": 2, "project": {"id": 10005}},
]
ENVIRONMENTS = [
    {"id": 40, "name": "Chrome Latest", "index": 0, "project": {"id": 10005}},
    {"id": 41, "name": "Safari 17", "index": 1, "project": {"id": 10005}},
]


#: ``SourceLookups.build`` arguments given as Cloud JSON lists, and how each item is decoded.
_DECODED: dict[str, Callable[[Any], Any]] = {
    "folders": cloud.folder,
    "statuses": cloud.option,
    "priorities": cloud.option,
    "environments": cloud.option,
    "test_cases": cloud.case,
    "test_cycles": cloud.cycle,
    "test_plans": cloud.plan,
}


def build_lookups(**params: Any) -> SourceLookups:
    """``SourceLookups.build`` over Cloud JSON lists, decoded first (other arguments as they are)."""
    for name, read in _DECODED.items():
        if name in params:
            params[name] = [r for r in (read(raw) for raw in params[name]) if r is not None]
    return SourceLookups.build(**params)


def lookups(**more: Any) -> SourceLookups:
    params: dict[str, Any] = {
        "folders": [folder(100, "Login"), folder(101, "Sub", 100)],
        "statuses": STATUSES,
        "priorities": PRIORITIES,
        "environments": ENVIRONMENTS,
        "test_cases": [
            {"key": "PROJ-T1", "name": "Login works"},
            {"key": "PROJ-T2", "name": "Logout works"},
        ],
        "user_names": {ADA: "Ada Lovelace", GRACE: "Grace Hopper"},
    }
    params.update(more)
    return build_lookups(**params)


def zephyr_test_case(key: str = "PROJ-T1", **more: Any) -> dict[str, Any]:
    """A TestCase as GET /testcases returns it."""
    raw: dict[str, Any] = {
        "id": 1,
        "key": key,
        "name": "Login works",
        "project": {"id": 10005, "self": "https://api/projects/10005"},
        "createdOn": "2018-05-15T13:15:13Z",
        "objective": "To ensure the axial pump can be enabled",
        "precondition": "Latest version of the axial pump available",
        "priority": {"id": 7, "self": "https://api/priorities/7"},
        "status": {"id": 2, "self": "https://api/statuses/2"},
        "folder": {"id": 100, "self": "https://api/folders/100"},
        "testScript": {"self": f"https://api/testcases/{key}/testscript"},
        "customFields": {},
        "links": {"self": "https://api/links", "issues": [], "webLinks": []},
    }
    raw.update(more)
    return raw


def inline(description: str = "Do it", expected: str = "It works", **more: Any) -> dict[str, Any]:
    return {"inline": {"description": description, "expectedResult": expected, **more}}


def call(key: str, *parameters: dict[str, str]) -> dict[str, Any]:
    step: dict[str, Any] = {"testCase": {"testCaseKey": key, "self": f"https://api/testcases/{key}"}}
    if parameters:
        step["testCase"]["parameters"] = list(parameters)
    return step


def codes(planned: Any) -> list[str]:
    return [p.code for p in planned.problems]


def prop(planned: Any, field_id: int) -> str | None:
    return next((p["field_value"] for p in planned.body["properties"] if p["field_id"] == field_id), None)


# -- Cloud JSON -> canonical records, the way transform reads the stored rows ------------------------


def ref(link: Any) -> Ref | None:
    return cloud.ref(link)


def folders(raw: Sequence[dict[str, Any]]) -> list[Folder]:
    return [f for f in (cloud.folder(r) for r in raw) if f is not None]


def steps(raw: Sequence[dict[str, Any]]) -> tuple[TestStep, ...]:
    return tuple(cloud.step(r) for r in raw)


def steps_by_key(raw: Mapping[str, Sequence[dict[str, Any]]]) -> dict[str, tuple[TestStep, ...]]:
    return {key: steps(value) for key, value in raw.items()}


def script(raw: dict[str, Any] | None) -> TestScript | None:
    return cloud.text_script(raw)


def case(raw: dict[str, Any], steps: Any = (), script: Any = None) -> TestCase:
    """A test case with its steps (TestStep JSON) and script (TestScript JSON)."""
    return cloud.case(raw, steps, script)


def cases(
    raw: Sequence[dict[str, Any]],
    steps_by_key: Mapping[str, Any],
    scripts_by_key: Mapping[str, Any],
) -> list[TestCase]:
    """Test cases joined with their steps and scripts by key, as the Cloud reader joins stored rows."""
    return [
        cloud.case(r, steps_by_key.get(str(r.get("key")), ()), scripts_by_key.get(str(r.get("key"))))
        for r in raw
    ]


def execution(raw: dict[str, Any], steps: Any = ()) -> TestExecution:
    """An execution with its step results (TestExecutionStep JSON)."""
    return cloud.execution(raw, steps)


def executions(raw: Sequence[dict[str, Any]], steps_by_execution: Mapping[Any, Any]) -> list[TestExecution]:
    """Executions joined with their step results (found by id, key or id as text)."""
    return [cloud.execution(r, cloud.execution_steps_of(r, steps_by_execution)) for r in raw]


def plan(raw: dict[str, Any]) -> TestPlan:
    return cloud.plan(raw)


def cycle(raw: dict[str, Any]) -> TestCycle:
    return cloud.cycle(raw)
