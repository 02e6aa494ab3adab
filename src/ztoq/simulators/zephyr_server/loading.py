"""Loading and checking a ``--data`` dataset of the Zephyr Scale Server simulator.

The format (docs/simulators-zephyr-server.md, "Dataset")::

    {"projects": [{"id": "10000", "key": "DC", "name": "..."}],
     "users": [{"key": "JIRAUSER10100", "name": "ada", "displayName": "...", "emailAddress": "..."}],
     "environments": [{"id": 1, "projectKey": "DC", "name": "Chrome", "description": "...", "index": 0}],
     "testCases": [...], "testPlans": [...], "testRuns": [...],   # wire objects, each with projectKey
     "testResults": [...],                                         # wire objects, each with testRunKey
     "attachments": [{"id": 88, "ownerType": "testcase", "ownerKey": "DC-T1", "stepIndex": null,
                      "fileName": "...", "contentType": "image/png", "fileSize": 20480,
                      "content": "<base64>" or null, "seed": 7}]}

Every section is optional. The first malformed entry stops the load with one ``InputError`` that
names it (``testRuns[3] (DC-C4): ...``); entities are kept as given, never copied or changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ztoq.errors import InputError
from ztoq.simulators.zephyr_server.attachments import parse_attachment
from ztoq.simulators.zephyr_server.protocol import ServerApiError

if TYPE_CHECKING:
    from ztoq.simulators.zephyr_server.state import ZephyrServerState

Entity = dict[str, Any]

SECTIONS = (
    "projects",
    "users",
    "environments",
    "testCases",
    "testPlans",
    "testRuns",
    "testResults",
    "attachments",
)
#: Keys of the Zephyr Cloud simulator's format: a dataset holding them was meant for the other one.
_CLOUD_KEYS = ("testcases", "testcycles", "testexecutions")


def load_server_dataset(state: ZephyrServerState, dataset: Mapping[str, Any]) -> None:
    """Check ``dataset`` and add it to ``state`` (the caller holds the lock).

    Raises:
        InputError: naming the first malformed entry and what is wrong with it.
    """
    if not isinstance(dataset, Mapping):
        raise InputError("The Zephyr Server dataset must be a JSON object.")
    cloud = [key for key in _CLOUD_KEYS if key in dataset]
    if cloud:
        raise InputError(
            f"The dataset holds '{cloud[0]}': it is in the Zephyr Cloud simulator's format; "
            "the Server simulator reads testCases, testRuns and testResults (see "
            "docs/simulators-zephyr-server.md)."
        )
    for name in SECTIONS:
        if not isinstance(dataset.get(name, []), list):
            raise InputError(f"Zephyr Server dataset: '{name}' must be a list of objects.")
    _load_projects(state, dataset.get("projects", []))
    _load_users(state, dataset.get("users", []))
    _load_environments(state, dataset.get("environments", []))
    for section, target, letter in (
        ("testCases", state.testcases, "case"),
        ("testPlans", state.testplans, "plan"),
        ("testRuns", state.testruns, "run"),
    ):
        for index, entity in enumerate(dataset.get(section, [])):
            label = _label(section, index, entity, "key")
            key = _keyed(state, entity, label, target)
            if letter == "run" and not isinstance(entity.get("items", []), list):
                raise _bad(label, "'items' must be a list of test run items")
            target[key] = entity
    for index, result in enumerate(dataset.get("testResults", [])):
        _load_result(state, result, _label("testResults", index, result, "id"))
    for index, entry in enumerate(dataset.get("attachments", [])):
        label = _label("attachments", index, entry, "id")
        attachment = parse_attachment(entry, label)
        if state.attachments.find(attachment.id) is not None:
            raise _bad(label, f"the id {attachment.id} is used twice")
        try:
            state.owner_entity(attachment.owner)
        except ServerApiError as exc:
            raise _bad(label, f"its owner does not exist ({exc.message})") from None
        state.attachments.add(attachment)


def _load_projects(state: ZephyrServerState, projects: list[Any]) -> None:
    for index, project in enumerate(projects):
        label = _label("projects", index, project, "key")
        key = _text(project, "key", label)
        ident = project.get("id")
        if isinstance(ident, bool) or not isinstance(ident, int | str) or not str(ident).isdigit():
            raise _bad(label, f"'id' must be a Jira project id such as \"10000\", got {ident!r}")
        if key in state.projects or any(str(p["id"]) == str(ident) for p in state.projects.values()):
            raise _bad(label, "the key or id is used twice")
        state.projects[key] = project


def _load_users(state: ZephyrServerState, users: list[Any]) -> None:
    for index, user in enumerate(users):
        label = _label("users", index, user, "key")
        key = _text(user, "key", label)
        if key in state.users:
            raise _bad(label, "the key is used twice")
        state.users[key] = user


def _load_environments(state: ZephyrServerState, environments: list[Any]) -> None:
    seen: set[int] = set()
    for index, environment in enumerate(environments):
        label = _label("environments", index, environment, "name")
        ident = environment.get("id")
        if isinstance(ident, bool) or not isinstance(ident, int) or ident < 1 or ident in seen:
            raise _bad(label, f"'id' must be a positive integer used once, got {ident!r}")
        _text(environment, "name", label)
        _project_key(state, environment, label)
        seen.add(ident)
        state.environments.append(environment)


def _keyed(state: ZephyrServerState, entity: Any, label: str, target: dict[str, Entity]) -> str:
    key = _text(entity, "key", label)
    if key in target:
        raise _bad(label, "the key is used twice")
    _project_key(state, entity, label)
    return key


def _load_result(state: ZephyrServerState, result: Any, label: str) -> None:
    if not isinstance(result, Mapping):
        raise _bad(label, "must be an object")
    ident = result.get("id")
    if isinstance(ident, bool) or not isinstance(ident, int) or ident < 1:
        raise _bad(label, f"'id' must be a positive integer, got {ident!r}")
    if ident in state.testresults:
        raise _bad(label, "the id is used twice")
    run_key = _text(result, "testRunKey", label)
    if run_key not in state.testruns:
        raise _bad(label, f"'testRunKey' {run_key} is not a test run of the dataset")
    if not isinstance(result.get("scriptResults", []), list):
        raise _bad(label, "'scriptResults' must be a list")
    state.add_result(dict(result) if not isinstance(result, dict) else result)


def _project_key(state: ZephyrServerState, entity: Mapping[str, Any], label: str) -> str:
    key = _text(entity, "projectKey", label)
    if key not in state.projects:
        raise _bad(label, f"'projectKey' {key} is not a project of the dataset")
    return key


def _text(entity: Any, name: str, label: str) -> str:
    if not isinstance(entity, Mapping):
        raise _bad(label, "must be an object")
    value = entity.get(name)
    if not isinstance(value, str) or not value:
        raise _bad(label, f"'{name}' must be a non-empty string, got {value!r}")
    return value


def _label(section: str, index: int, entity: Any, name: str) -> str:
    ident = entity.get(name) if isinstance(entity, Mapping) else None
    return f"{section}[{index}]" + (f" ({ident})" if ident is not None else "")


def _bad(label: str, reason: str) -> InputError:
    return InputError(f"Zephyr Server dataset: {label}: {reason}.")
