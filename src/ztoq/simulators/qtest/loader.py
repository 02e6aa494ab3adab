"""Loading a ``--data`` dataset into a :class:`~ztoq.simulators.qtest.state.QTestState`.

The format is described in ``docs/simulators-qtest.md``: objects in the API's own shape
(ProjectResource, UserResource, FieldResource, StatusResource, ModuleResource,
TestCaseWithCustomFieldResource, RequirementResource, ReleaseWithCustomFieldResource), with a
``project_id`` on artifacts when the dataset has more than one project.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from ztoq.errors import InputError
from ztoq.simulators.qtest.fields import DATA_TYPES, FIELD_OBJECT_TYPES, apply_properties
from ztoq.simulators.qtest.generate import DEFAULT_QTEST_USER, execution_statuses, system_fields
from ztoq.simulators.qtest.render import parse_datetime
from ztoq.simulators.qtest.state import (
    Module,
    Project,
    QTestError,
    QTestState,
    Release,
    Requirement,
    TestCase,
    User,
    Version,
)


def load_dataset(state: QTestState, dataset: dict[str, Any]) -> None:
    """Fill ``state`` from a dataset.

    Args:
        state: An empty state.
        dataset: The ``--data`` object.

    Raises:
        InputError: The dataset is malformed (the message names the offending entry).
    """
    try:
        _load(state, copy.deepcopy(dataset))
    except QTestError as exc:
        raise InputError(f"Invalid qTest simulator dataset: {exc.message}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"Invalid qTest simulator dataset: {type(exc).__name__}: {exc}") from exc


def _load(state: QTestState, data: dict[str, Any]) -> None:
    if not isinstance(data, dict):
        raise TypeError("the dataset must be a JSON object")
    for raw in _list(data, "projects"):
        project = Project(id=int(raw["id"]), data={k: v for k, v in raw.items() if k != "links"})
        if "name" not in project.data:
            raise ValueError(f"project {project.id} has no name")
        state.projects[project.id] = project
    if not state.projects:
        raise ValueError("the dataset has no project")
    all_projects = set(state.projects)
    for raw in _list(data, "users"):
        user = User(
            id=int(raw["id"]),
            username=str(raw["username"]),
            email=str(raw.get("email") or raw["username"]),
            first_name=str(raw.get("first_name") or ""),
            last_name=str(raw.get("last_name") or ""),
            status=int(raw.get("status", 1)),
            projects={int(p) for p in raw.get("assigned_projects", all_projects)},
        )
        if raw.get("password"):
            user.password = str(raw["password"])
        state.users[user.id] = user
        state.seen_id("users", user.id)
    admin_login = str(data.get("api_token_user") or DEFAULT_QTEST_USER).lower()
    admins = [u.id for u in state.users.values() if u.username.lower() == admin_login]
    state.admin_id = admins[0] if admins else min(state.users, default=0)
    _load_fields(state, data)
    _load_statuses(state, data)
    for raw in _list(data, "user_profiles"):
        state.project(int(raw["project_id"])).profiles[int(raw["user_id"])] = raw
    for raw in _list(data, "modules"):
        _load_module(state, raw)
    for raw in _list(data, "requirements"):
        _load_requirement(state, raw)
    for raw in _list(data, "test_cases"):
        _load_test_case(state, raw)
    for raw in _list(data, "releases"):
        _load_release(state, raw)


def _list(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise TypeError(f"'{key}' must be a list of objects")
    return value


def _per_project(state: QTestState, value: Any, key: str) -> dict[int, Any]:
    """``value`` for every project, or ``{projectId: value}`` when keyed by project IDs."""
    if isinstance(value, dict) and value and all(str(k).isdigit() for k in value):
        return {int(k): v for k, v in value.items()}
    if value is not None and not isinstance(value, dict | list):
        raise TypeError(f"'{key}' has an unexpected shape")
    return dict.fromkeys(state.projects, value)


def _system_fields(state: QTestState) -> dict[str, list[dict[str, Any]]]:
    return system_fields(
        lambda: state.next_id("fields"), lambda: state.next_id("allowed-values"), ("Chrome", "Firefox")
    )


def _load_fields(state: QTestState, data: dict[str, Any]) -> None:
    """Fields of the dataset; projects it does not list get the system fields of a new project."""
    given = _per_project(state, data["fields"], "fields") if "fields" in data else {}
    for project_id in state.projects.keys() - given.keys():
        state.projects[project_id].fields = _system_fields(state)
    for project_id, by_type in given.items():
        project = state.project(project_id)
        if not isinstance(by_type, dict):
            raise TypeError("'fields' must map object types to lists of fields")
        project.fields = {t: [] for t in FIELD_OBJECT_TYPES}
        for object_type, fields in by_type.items():
            if object_type not in FIELD_OBJECT_TYPES:
                raise ValueError(f"fields: '{object_type}' is not an object type with fields")
            project.fields[object_type] = [_field(state, f) for f in fields]


def _field(state: QTestState, raw: dict[str, Any]) -> dict[str, Any]:
    if raw.get("data_type") not in DATA_TYPES:
        raise ValueError(f"field '{raw.get('label')}' has an unknown data_type {raw.get('data_type')}")
    state.seen_id("fields", int(raw["id"]))
    data_type = raw["data_type"]
    allowed = []
    for i, value in enumerate(raw.get("allowed_values") or []):
        state.seen_id("allowed-values", int(value["value"]))
        allowed.append(
            {
                "value": int(value["value"]),
                "label": str(value["label"]),
                "order": value.get("order", i + 1),
                "is_default": bool(value.get("is_default", False)),
                "is_active": bool(value.get("is_active", True)),
                "color": value.get("color"),
            }
        )
    field = {
        "id": int(raw["id"]),
        "label": str(raw["label"]),
        "original_name": raw.get("original_name") or raw["label"],
        "data_type": data_type,
        "required": bool(raw.get("required", False)),
        "constrained": bool(raw.get("constrained", data_type in (3, 5, 8, 17))),
        "multiple": bool(raw.get("multiple", data_type in (8, 17))),
        "searchable": bool(raw.get("searchable", True)),
        "system_field": bool(raw.get("system_field", False)),
        "is_active": bool(raw.get("is_active", True)),
        "allowed_values": allowed,
        "default_value": raw.get("default_value"),
        "order": raw.get("order"),
        "instanceType": raw.get("instanceType"),
    }
    if field["default_value"] is None:
        field["default_value"] = next((str(v["value"]) for v in allowed if v["is_default"]), None)
    return field


def _load_statuses(state: QTestState, data: dict[str, Any]) -> None:
    for project_id, statuses in _per_project(
        state, data.get("execution_statuses"), "execution_statuses"
    ).items():
        state.project(project_id).statuses = [
            {
                "id": int(s["id"]),
                "name": str(s["name"]),
                "is_default": bool(s.get("is_default", False)),
                "color": s.get("color"),
                "active": bool(s.get("active", True)),
            }
            for s in (statuses if statuses is not None else execution_statuses())
        ]


def _project_of(state: QTestState, raw: dict[str, Any], what: str) -> int:
    if "project_id" in raw:
        return state.project(int(raw["project_id"])).id
    if len(state.projects) == 1:
        return next(iter(state.projects))
    raise ValueError(f"{what} '{raw.get('name')}' needs a project_id (the dataset has several projects)")


def _date(raw: dict[str, Any], key: str, default: datetime) -> datetime:
    return parse_datetime(raw[key], key) if raw.get(key) else default


def _next_order(items: list[int]) -> int:
    return len(items) + 1


def _load_module(state: QTestState, raw: dict[str, Any]) -> None:
    project_id = _project_of(state, raw, "module")
    module_id = int(raw["id"])
    parent = raw.get("parent_id")
    if parent is not None:
        state.get(state.modules, project_id, int(parent), "Parent module")
    siblings = [m.id for m in state.modules.values() if m.parent_id == parent and m.project_id == project_id]
    now = state.now()
    pid = raw.get("pid") or state.next_pid(project_id, "modules")
    state.seen_pid(project_id, "modules", pid)
    state.seen_id("modules", module_id)
    state.modules[module_id] = Module(
        id=module_id,
        project_id=project_id,
        pid=pid,
        name=str(raw["name"]),
        parent_id=int(parent) if parent is not None else None,
        order=int(raw.get("order") or _next_order(siblings)),
        created=_date(raw, "created_date", now),
        modified=_date(raw, "last_modified_date", now),
        description=raw.get("description"),
        shared=bool(raw.get("shared", False)),
    )


def _properties(state: QTestState, project_id: int, object_type: str, raw: dict[str, Any]) -> dict[int, str]:
    members = [u.id for u in state.members(project_id)]
    return apply_properties(
        state.fields_of(project_id, object_type), raw.get("properties"), {}, members, creating=True
    )


def _load_requirement(state: QTestState, raw: dict[str, Any]) -> None:
    project_id = _project_of(state, raw, "requirement")
    parent = raw.get("parent_id")
    if parent is not None:
        state.get(state.modules, project_id, int(parent), "Parent module")
    now = state.now()
    req_id = int(raw["id"])
    pid = raw.get("pid") or state.next_pid(project_id, "requirements")
    state.seen_pid(project_id, "requirements", pid)
    state.seen_id("requirements", req_id)
    siblings = [r.id for r in state.requirements.values() if r.parent_id == parent]
    state.requirements[req_id] = Requirement(
        id=req_id,
        project_id=project_id,
        pid=pid,
        name=str(raw["name"]),
        parent_id=int(parent) if parent is not None else None,
        order=int(raw.get("order") or _next_order(siblings)),
        properties=_properties(state, project_id, "requirements", raw),
        created=_date(raw, "created_date", now),
        modified=_date(raw, "last_modified_date", now),
    )


def _load_test_case(state: QTestState, raw: dict[str, Any]) -> None:
    project_id = _project_of(state, raw, "test case")
    parent = int(raw["parent_id"])
    state.get(state.modules, project_id, parent, "Parent module")
    now = state.now()
    case_id = int(raw["id"])
    version_id = int(raw.get("test_case_version_id") or state.next_id("versions"))
    state.seen_id("test-cases", case_id)
    state.seen_id("versions", version_id)
    pid = raw.get("pid") or state.next_pid(project_id, "test-cases")
    state.seen_pid(project_id, "test-cases", pid)
    steps = []
    for i, step in enumerate(sorted(raw.get("test_steps") or [], key=lambda s: s.get("order") or 0)):
        step_id = int(step.get("id") or state.next_id("steps"))
        state.seen_id("steps", step_id)
        steps.append(
            {
                "id": step_id,
                "description": str(step.get("description") or ""),
                "expected": str(step.get("expected") or ""),
                "order": i + 1,
                "called_test_case_id": step.get("called_test_case_id"),
                "parent_test_step_id": step.get("parent_test_step_id"),
            }
        )
    siblings = [c.id for c in state.children(state.test_cases, project_id, parent)]
    created = _date(raw, "created_date", now)
    version = Version(
        id=version_id,
        version=str(raw.get("version") or "1.0"),
        name=str(raw["name"]),
        description=str(raw.get("description") or ""),
        precondition=str(raw.get("precondition") or ""),
        properties=_properties(state, project_id, "test-cases", raw),
        steps=steps,
        created=created,
    )
    state.test_cases[case_id] = TestCase(
        id=case_id,
        project_id=project_id,
        pid=pid,
        parent_id=parent,
        order=int(raw.get("order") or _next_order(siblings)),
        creator_id=int(raw.get("creator_id") or state.admin_id),
        created=created,
        modified=_date(raw, "last_modified_date", created),
        versions=[version],
    )


def _load_release(state: QTestState, raw: dict[str, Any]) -> None:
    project_id = _project_of(state, raw, "release")
    now = state.now()
    release_id = int(raw["id"])
    pid = raw.get("pid") or state.next_pid(project_id, "releases")
    state.seen_pid(project_id, "releases", pid)
    state.seen_id("releases", release_id)

    def parse(key: str) -> datetime | None:
        return parse_datetime(raw[key], key) if raw.get(key) else None

    state.releases[release_id] = Release(
        id=release_id,
        project_id=project_id,
        pid=pid,
        name=str(raw["name"]),
        order=int(raw.get("order") or len(state.in_project(state.releases, project_id)) + 1),
        properties=_properties(state, project_id, "releases", raw),
        created=_date(raw, "created_date", now),
        modified=_date(raw, "last_modified_date", now),
        description=raw.get("description"),
        note=raw.get("note"),
        start_date=parse("start_date"),
        end_date=parse("end_date"),
    )
