"""Loading a ``--data`` dataset into the state (the format is in docs/simulators-zephyr.md).

Objects are kept as given (the dataset handed over is never modified); steps are copied to give
each one its numeric ``id`` (step_ids.py), and the ``attachments`` section is checked against the
loaded entities, so it is loaded last.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ztoq.errors import InputError
from ztoq.simulators.zephyr.attachments import load_attachments
from ztoq.simulators.zephyr.step_ids import number_steps

if TYPE_CHECKING:
    from ztoq.simulators.zephyr.state import ZephyrState

Entity = dict[str, Any]

#: Top-level keys of the ``--data`` format holding lists of entities, and their id spaces.
LIST_KEYS = (
    "projects",
    "folders",
    "statuses",
    "priorities",
    "environments",
    "testcases",
    "testcycles",
    "testplans",
    "testexecutions",
)
MAP_KEYS = ("teststeps", "testscripts", "executionsteps", "links", "testcaseversions")
#: A Jira issue key, as the spec's ``issueKey`` pattern (``.+-[0-9]+``) asks.
_ISSUE_KEY = re.compile(r"^.+-[0-9]+$")


def load_dataset(state: ZephyrState, dataset: Mapping[str, Any]) -> None:
    """Add a ``--data`` dataset (see docs/simulators-zephyr.md); raises InputError when malformed."""
    if not isinstance(dataset, Mapping):
        raise InputError("The Zephyr dataset must be a JSON object.")
    with state.lock:
        if isinstance(dataset.get("jiraBaseUrl"), str):
            state.jira_base_url = dataset["jiraBaseUrl"].rstrip("/")
        for name in LIST_KEYS:
            _check_entities(dataset.get(name, []), name)
        for name in MAP_KEYS:
            if not isinstance(dataset.get(name, {}), Mapping):
                raise InputError(f"Dataset key '{name}' must be an object.")
        for name, target in (
            ("projects", state.projects),
            ("folders", state.folders),
            ("statuses", state.statuses),
            ("priorities", state.priorities),
            ("environments", state.environments),
        ):
            for entity in dataset.get(name, []):
                target[entity["id"]] = entity
        state.jira_issues.update(_jira_issues(dataset.get("jiraIssues", [])))
        links = dict(dataset.get("links", {}))
        _load_testcases(state, dataset, links)
        for name, target, ids in (
            ("testcycles", state.testcycles, state.cycle_ids),
            ("testplans", state.testplans, state.plan_ids),
            ("testexecutions", state.testexecutions, state.execution_ids),
        ):
            for entity in dataset.get(name, []):
                entity = _take_inline_links(entity, links)
                target[entity["id"]] = entity
                if isinstance(entity.get("key"), str):
                    ids[entity["key"]] = entity["id"]
                    state.note_key(entity)
        for key, steps in dataset.get("teststeps", {}).items():
            owner_id = state.case_step_owner_id(str(key))
            listed = _step_list(steps, f"teststeps[{key}]")
            state.teststeps[str(key)] = listed if owner_id is None else number_steps(listed, owner_id, "case")
        state.testscripts.update({str(k): v for k, v in dataset.get("testscripts", {}).items()})
        for ident, steps in dataset.get("executionsteps", {}).items():
            if not str(ident).isdigit():
                raise InputError(f"executionsteps keys must be execution ids, got '{ident}'.")
            listed = _step_list(steps, f"executionsteps[{ident}]")
            state.executionsteps[int(ident)] = number_steps(listed, int(ident), "execution")
        state.links.update(links)
        for name in LIST_KEYS:
            state.note_ids(name, (e["id"] for e in dataset.get(name, [])))
        state.note_ids("testcases", state.version_index)
        state.note_ids("links", (item["id"] for obj in state.links.values() for item in _link_items(obj)))
        state.note_ids("testscripts", (s["id"] for s in state.testscripts.values() if "id" in s))
        if "attachments" in dataset:
            load_attachments(state, dataset["attachments"])
        state.touch()


def _load_testcases(state: ZephyrState, dataset: Mapping[str, Any], links: dict[str, Any]) -> None:
    older: Mapping[str, Any] = dataset.get("testcaseversions", {})
    for case in dataset.get("testcases", []):
        key = case.get("key")
        if not isinstance(key, str):
            raise InputError(f"Test case {case.get('id')} has no key.")
        case = _take_inline_links(case, links)
        versions = [*older.get(key, []), case]
        _check_entities(versions, f"testcaseversions[{key}]")
        state.testcase_versions[key] = versions
        for number, version in enumerate(versions, start=1):
            state.version_index[version["id"]] = (key, number)
        state.note_key(case)


def _jira_issues(issues: Any) -> dict[int, str]:
    """The ``jiraIssues`` list as issue id -> key; InputError when malformed."""
    if not isinstance(issues, list):
        raise InputError('Dataset key \'jiraIssues\' must be a list of {"id", "key"} objects.')
    found: dict[int, str] = {}
    for issue in issues:
        ident = issue.get("id") if isinstance(issue, Mapping) else None
        key = issue.get("key") if isinstance(issue, Mapping) else None
        if not isinstance(ident, int) or ident < 1 or not isinstance(key, str) or not _ISSUE_KEY.match(key):
            raise InputError(
                f"Every entry of 'jiraIssues' needs a positive integer 'id' and a 'key' such as PROJ-123; "
                f"got {str(issue)[:80]}."
            )
        found[ident] = key
    return found


def _link_items(links: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        item
        for name in ("issues", "webLinks", "testPlans", "testCycles")
        for item in links.get(name) or []
        if isinstance(item, Mapping) and isinstance(item.get("id"), int)
    ]


def _take_inline_links(entity: Entity, links: dict[str, Any]) -> Entity:
    """Move an entity's inline ``links`` into the links map (the map wins when both are given)."""
    if "links" not in entity:
        return entity
    entity = dict(entity)
    inline = entity.pop("links")
    if isinstance(inline, Mapping):
        links.setdefault(links_key(entity), dict(inline))
    return entity


def links_key(entity: Entity) -> str:
    """Where an entity's links live in the links map: its key, or its id for an unkeyed execution."""
    key = entity.get("key")
    return key if isinstance(key, str) else str(entity["id"])


def _step_list(steps: Any, name: str) -> list[Entity]:
    if not isinstance(steps, list) or not all(isinstance(step, Mapping) for step in steps):
        raise InputError(f"Dataset key '{name}' must be a list of step objects.")
    return [step if isinstance(step, dict) else dict(step) for step in steps]


def _check_entities(entities: Any, name: str) -> None:
    if not isinstance(entities, list):
        raise InputError(f"Dataset key '{name}' must be a list of objects.")
    for entity in entities:
        if not isinstance(entity, Mapping) or not isinstance(entity.get("id"), int) or entity["id"] < 1:
            raise InputError(
                f"Every object in '{name}' needs a positive integer 'id'; got {str(entity)[:80]}."
            )
