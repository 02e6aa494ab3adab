"""In-memory state of the simulated Zephyr Scale Server: the entities, their lookups and queries.

Entities are kept in the shape the API serves them (the wire objects of
docs/simulators-zephyr-server.md), in dataset order, then creation order. Lookups that fail raise
``ServerApiError`` with the 404 answer the route gives.

The state is shared between the server thread and tests, so every access goes through ``lock``;
writes (``writes.py``) replace objects instead of changing them in place, so a dataset handed to
the simulator is never modified.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ztoq.simulators.zephyr_server.attachments import AttachmentStore, Owner
from ztoq.simulators.zephyr_server.loading import load_server_dataset
from ztoq.simulators.zephyr_server.protocol import ServerApiError
from ztoq.simulators.zephyr_server.tql import Clause, matches

Entity = dict[str, Any]

_ISSUE_KEY_RE = re.compile(r"^(?P<project>[A-Z][A-Z0-9_]*)-[1-9][0-9]*$")

#: Labels of the owner types in 404 messages.
_LABELS = {
    "testcase": "Test Case",
    "testcaseStep": "Test Case",
    "testplan": "Test Plan",
    "testrun": "Test Run",
    "testresult": "Test Result",
    "testresultStep": "Test Result",
}


def step_indexes(entity: Mapping[str, Any]) -> set[int]:
    """The 0-based step indexes of a test case (its step-by-step script) or of a test result.

    A result's steps are its ``scriptResults``; for a data-driven test case they run over
    rows × steps, so they are read from the result rather than counted from the test case.
    """
    if "scriptResults" in entity:
        steps = entity.get("scriptResults") or []
    else:
        script = entity.get("testScript") or {}
        steps = script.get("steps") or [] if script.get("type") == "STEP_BY_STEP" else []
    indexes: set[int] = set()
    for position, step in enumerate(steps):
        index = step.get("index", position) if isinstance(step, Mapping) else position
        if isinstance(index, int):
            indexes.add(index)
    return indexes


class ZephyrServerState:
    """Everything the simulated Zephyr Scale Server (and its Jira) knows, with the lookups the routes need."""

    def __init__(self, dataset: Mapping[str, Any] | None = None) -> None:
        self.lock = threading.RLock()
        #: Jira projects and users, by key.
        self.projects: dict[str, Entity] = {}
        self.users: dict[str, Entity] = {}
        self.environments: list[Entity] = []
        #: Zephyr entities by key (results by id), in dataset then creation order.
        self.testcases: dict[str, Entity] = {}
        self.testplans: dict[str, Entity] = {}
        self.testruns: dict[str, Entity] = {}
        self.testresults: dict[int, Entity] = {}
        #: Test run key -> its results, oldest (lowest id) first.
        self.run_results: dict[str, list[Entity]] = {}
        self.attachments = AttachmentStore()
        self.revision = 0
        self._cache: dict[tuple[Any, ...], Any] = {}
        if dataset is not None:
            self.load(dataset)

    def load(self, dataset: Mapping[str, Any]) -> None:
        """Add a ``--data`` dataset (docs/simulators-zephyr-server.md); InputError naming a bad entry."""
        with self.lock:
            load_server_dataset(self, dataset)
            self.touch()

    def touch(self) -> None:
        """Record a change: cached query results are dropped."""
        with self.lock:
            self.revision += 1
            self._cache.clear()

    def cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """A query result, computed once per state revision (search pages slice the same list)."""
        with self.lock:
            if key not in self._cache:
                self._cache[key] = compute()
            return self._cache[key]

    def add_result(self, result: Entity) -> None:
        """Store a test result and keep its run's list in id order."""
        with self.lock:
            self.testresults[int(result["id"])] = result
            listed = self.run_results.setdefault(str(result["testRunKey"]), [])
            listed.append(result)
            listed.sort(key=lambda r: int(r["id"]))

    # -- lookups (404 when unknown) --------------------------------------------------------------

    def project(self, id_or_key: str) -> Entity:
        """A Jira project by id or key; 404 with Jira's message when unknown."""
        with self.lock:
            found = self.projects.get(id_or_key) or next(
                (p for p in self.projects.values() if str(p.get("id")) == id_or_key), None
            )
        if found is None:
            raise ServerApiError(404, f"No project could be found with key '{id_or_key}'.", jira=True)
        return found

    def user(self, key: str | None, username: str | None) -> Entity:
        """A Jira user by key or by login name; 404 with Jira's message when unknown."""
        with self.lock:
            if key is not None:
                found = self.users.get(key)
            else:
                found = next((u for u in self.users.values() if u.get("name") == username), None)
        if found is None:
            label = f"key '{key}'" if key is not None else f"username '{username}'"
            raise ServerApiError(404, f"The user with the {label} does not exist", jira=True)
        return found

    def test_case(self, key: str) -> Entity:
        """A test case by key; 404 when unknown."""
        return _found(self.testcases.get(key), f"Test Case {key} not found")

    def test_plan(self, key: str) -> Entity:
        """A test plan by key; 404 when unknown."""
        return _found(self.testplans.get(key), f"Test Plan {key} not found")

    def test_run(self, key: str) -> Entity:
        """A test run by key; 404 when unknown."""
        return _found(self.testruns.get(key), f"Test Run {key} not found")

    def test_result(self, ident: str) -> Entity:
        """A test result by id (as text in the path); 404 when unknown or not a number."""
        result = self.testresults.get(int(ident)) if ident.isdigit() else None
        return _found(result, f"Test Result {ident} not found")

    def owner_entity(self, owner: Owner) -> Entity:
        """The entity an attachment owner names; 404 when it, or its step, does not exist."""
        owner_type, key, step = owner
        with self.lock:
            if owner_type in ("testcase", "testcaseStep"):
                entity = self.test_case(key)
            elif owner_type == "testplan":
                entity = self.test_plan(key)
            elif owner_type == "testrun":
                entity = self.test_run(key)
            else:
                entity = self.test_result(key)
        if step is not None and step not in step_indexes(entity):
            raise ServerApiError(404, f"{_LABELS[owner_type]} {key} has no step with index {step}")
        return entity

    # -- queries ------------------------------------------------------------------------------------

    def search(self, kind: str, clauses: tuple[Clause, ...]) -> list[Entity]:
        """Test cases, plans or runs (``kind``: testcase, testplan, testrun) matching every clause."""
        collections = {"testcase": self.testcases, "testplan": self.testplans, "testrun": self.testruns}
        collection = collections[kind]

        def compute() -> list[Entity]:
            return [entity for entity in collection.values() if matches(entity, clauses)]

        return list(self.cached(("search", kind, clauses), compute))

    def results_of_run(self, key: str) -> list[Entity]:
        """Every result of a test run, oldest (lowest id) first; 404 when the run is unknown."""
        with self.lock:
            self.test_run(key)
            return list(self.run_results.get(key, []))

    def latest_result_of_case(self, key: str) -> Entity:
        """The newest (highest id) result of a test case; 404 when unknown or never run."""
        with self.lock:
            self.test_case(key)
            results = [r for r in self.testresults.values() if r.get("testCaseKey") == key]
        if not results:
            raise ServerApiError(404, f"Test Case {key} has no test results")
        return max(results, key=lambda r: int(r["id"]))

    def environments_of(self, project_key: str | None) -> list[Entity]:
        """The environments of a project, by ``index``; 400 when the project is missing or unknown."""
        if not project_key:
            raise ServerApiError(400, "The projectKey parameter is required.")
        with self.lock:
            if project_key not in self.projects:
                raise ServerApiError(400, f"Project {project_key} not found")
            found = [e for e in self.environments if e.get("projectKey") == project_key]
        return sorted(found, key=lambda e: (int(e.get("index") or 0), int(e["id"])))

    def cases_linked_to(self, issue_key: str) -> list[Entity]:
        """Test cases whose ``issueLinks`` hold the issue; 404 when no project of the site owns the key."""
        match = _ISSUE_KEY_RE.match(issue_key)
        with self.lock:
            if match is None or match.group("project") not in self.projects:
                raise ServerApiError(404, f"Issue {issue_key} not found")
            return [c for c in self.testcases.values() if issue_key in (c.get("issueLinks") or [])]


def _found(entity: Entity | None, message: str) -> Entity:
    if entity is None:
        raise ServerApiError(404, message)
    return entity
