"""In-memory state of the simulated Zephyr Scale Cloud: dataset loading, indexes and queries.

Entities are kept in the shape the API serves them, minus the ``self`` URLs that point into the
Zephyr API (they depend on the base URL a request came in on and are added by
``present.Presenter``). Jira-side URLs (owner, component, jiraProjectVersion, issue targets) are
kept as given. Keys starting with ``_`` are simulator metadata and are never served (only
``_statusType`` on statuses: the API's ``Status`` has no type field, yet ``GET /statuses``
filters by one).

The state is shared between the server thread and tests, so every access goes through ``lock``;
write operations (``writes.py``) replace objects instead of changing them in place, so a dataset
handed to the simulator is never modified.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ztoq.simulators.zephyr.attachments import AttachmentStore, case_owners
from ztoq.simulators.zephyr.loading import load_dataset
from ztoq.simulators.zephyr.pagination import ZephyrApiError, parse_served_datetime
from ztoq.simulators.zephyr.step_ids import StepOwnerKind, number_steps

Entity = dict[str, Any]

STATUS_TYPES = ("TEST_CASE", "TEST_PLAN", "TEST_CYCLE", "TEST_EXECUTION")
FOLDER_TYPES = ("TEST_CASE", "TEST_PLAN", "TEST_CYCLE")
DEFAULT_JIRA_BASE_URL = "https://ztoq-sim.atlassian.net"

_KEY_RE = re.compile(r"^(?P<project>.+)-(?P<kind>[TRPE])(?P<number>[0-9]+)$")
_DIGITS_RE = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class ExecutionFilter:
    """The filters of ``GET /testexecutions`` (and its NextGen twin), resolved to ids and keys."""

    project_id: int | None = None
    cycle_id: int | None = None  # -1: the given cycle does not exist, nothing matches
    case_key: str | None = None
    ended_after: datetime | None = None
    ended_before: datetime | None = None
    jira_version_id: int | None = None
    only_last: bool = False


class ZephyrState:
    """Everything the simulated Zephyr Scale Cloud knows, with the lookups the routes need."""

    def __init__(self, dataset: Mapping[str, Any] | None = None) -> None:
        self.lock = threading.RLock()
        self.jira_base_url = DEFAULT_JIRA_BASE_URL
        self.projects: dict[int, Entity] = {}
        self.folders: dict[int, Entity] = {}
        self.statuses: dict[int, Entity] = {}
        self.priorities: dict[int, Entity] = {}
        self.environments: dict[int, Entity] = {}
        #: Test case key -> every version, oldest first; the last one is the current test case.
        self.testcase_versions: dict[str, list[Entity]] = {}
        #: Version entity id -> (test case key, version number starting at 1).
        self.version_index: dict[int, tuple[str, int]] = {}
        self.testcycles: dict[int, Entity] = {}
        self.testplans: dict[int, Entity] = {}
        self.testexecutions: dict[int, Entity] = {}
        self.teststeps: dict[str, list[Entity]] = {}
        self.testscripts: dict[str, Entity] = {}
        self.executionsteps: dict[int, list[Entity]] = {}
        #: Entity key -> its links object (issues, webLinks, testPlans/testCycles), without selfs.
        self.links: dict[str, Entity] = {}
        #: Jira issue id -> key, as the dataset's ``jiraIssues`` names them (issue_links.py).
        self.jira_issues: dict[int, str] = {}
        self.cycle_ids: dict[str, int] = {}
        self.plan_ids: dict[str, int] = {}
        self.execution_ids: dict[str, int] = {}
        self.last_ids: dict[str, int] = {}
        self.last_key_numbers: dict[tuple[int, str], int] = {}
        #: Attachments of every owner kind (attachments.py); served only while available.
        self.attachments = AttachmentStore()
        #: False: the tenant lacks the attachment operations, which all answer 503.
        self.attachments_available = True
        #: (step owner kind, owner id) -> the next step slot, once the API wrote steps (step_ids.py).
        self.step_slots: dict[tuple[StepOwnerKind, int], int] = {}
        self.revision = 0
        self._cache: dict[tuple[Any, ...], Any] = {}
        if dataset is not None:
            self.load(dataset)

    # -- loading ---------------------------------------------------------------------------

    def load(self, dataset: Mapping[str, Any]) -> None:
        """Add a ``--data`` dataset (see docs/simulators-zephyr.md); raises InputError when malformed."""
        load_dataset(self, dataset)

    def note_key(self, entity: Entity) -> None:
        """Record a loaded key (``DEMO-T7``) so that keys the API allocates come after it."""
        match = _KEY_RE.match(str(entity.get("key", "")))
        project = entity.get("project") or {}
        if match and isinstance(project.get("id"), int):
            slot = (project["id"], match.group("kind"))
            self.last_key_numbers[slot] = max(self.last_key_numbers.get(slot, 0), int(match.group("number")))

    def note_ids(self, kind: str, ids: Iterable[int]) -> None:
        """Record loaded ids of an id space so that ids the API allocates come after them."""
        self.last_ids[kind] = max([self.last_ids.get(kind, 0), *ids])

    # -- allocation and cache ---------------------------------------------------------------

    def allocate_id(self, kind: str) -> int:
        """A fresh id in the id space ``kind`` (e.g. ``testcases`` covers every version)."""
        with self.lock:
            self.last_ids[kind] = self.last_ids.get(kind, 0) + 1
            return self.last_ids[kind]

    def allocate_key(self, project: Entity, letter: str) -> str:
        """The next key of a kind in a project: ``DEMO-T{n}`` (T, R, P or E)."""
        with self.lock:
            slot = (int(project["id"]), letter)
            self.last_key_numbers[slot] = self.last_key_numbers.get(slot, 0) + 1
            return f"{project['key']}-{letter}{self.last_key_numbers[slot]}"

    def case_step_owner_id(self, key: str) -> int | None:
        """The owner id of a test case's step ids: its first version's id (None when unknown)."""
        versions = self.testcase_versions.get(key)
        return int(versions[0]["id"]) if versions else None

    def number_new_steps(
        self, kind: StepOwnerKind, owner_id: int, steps: list[Entity], slots_used: int
    ) -> list[Entity]:
        """Give steps written through the API fresh ids: the owner's next slots.

        Args:
            kind: Whose steps these are.
            owner_id: The test case's first version id, or the execution id.
            steps: The new steps, in order.
            slots_used: How many steps the owner had before, when the API never wrote its steps.
        """
        with self.lock:
            first = self.step_slots.get((kind, owner_id), slots_used)
            try:
                numbered = number_steps(steps, owner_id, kind, first_slot=first)
            except ValueError as exc:
                raise ZephyrApiError(400, str(exc)) from None
            self.step_slots[(kind, owner_id)] = first + len(steps)
            return numbered

    def delete_test_case(self, key: str) -> None:
        """Remove a test case with its versions, steps, script, links and attachments.

        The v2 API has no delete endpoint; tests use this to stand for a user deleting the test
        case in Jira. Executions of it are left as they are (Zephyr keeps them).
        """
        with self.lock:
            versions = self.testcase_versions.pop(key, None)
            if versions is None:
                raise KeyError(key)
            for version in versions:
                self.version_index.pop(int(version["id"]), None)
            self.attachments.drop_owners(case_owners(self, key))
            self.teststeps.pop(key, None)
            self.testscripts.pop(key, None)
            self.links.pop(key, None)
            self.touch()

    def touch(self) -> None:
        """Record a change: cached query results are dropped."""
        with self.lock:
            self.revision += 1
            self._cache.clear()

    def cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """A query result, computed once per state revision (list endpoints page through it)."""
        with self.lock:
            if key not in self._cache:
                self._cache[key] = compute()
            return self._cache[key]

    # -- lookups ----------------------------------------------------------------------------

    def project(self, id_or_key: str) -> Entity:
        """A project by id or key; 404 when unknown."""
        with self.lock:
            for project in self.projects.values():
                if str(project.get("id")) == id_or_key or project.get("key") == id_or_key:
                    return project
        raise ZephyrApiError(404, f"Project '{id_or_key}' does not exist or you do not have access to it.")

    def project_by_key(self, key: str) -> Entity | None:
        """A project by key, or None."""
        with self.lock:
            return next((p for p in self.projects.values() if p.get("key") == key), None)

    def project_filter(self, key: str | None) -> int | None:
        """Resolve a ``projectKey`` filter to a project id; 400 for a project nobody can access.

        The spec documents this answer for unknown projects (``UserAccessError``:
        "Cannot access projects 'ProjectKey'", errorCode 400).
        """
        if key is None or key == "":
            return None
        project = self.project_by_key(key)
        if project is None:
            raise ZephyrApiError(400, f"Cannot access projects '{key}'.")
        return int(project["id"])

    def one(self, collection: dict[int, Entity], ident: int, label: str) -> Entity:
        """An entity of a collection by id; 404 with the spec's "does not exist" message."""
        with self.lock:
            entity = collection.get(ident)
        if entity is None:
            raise ZephyrApiError(404, f"{label} '{ident}' does not exist or you do not have access to it.")
        return entity

    def current_case(self, key: str) -> Entity:
        """The current version of a test case; 404 when unknown."""
        with self.lock:
            versions = self.testcase_versions.get(key)
        if not versions:
            raise ZephyrApiError(404, f"Test case '{key}' does not exist or you do not have access to it.")
        return versions[-1]

    def case_version(self, key: str, number: int) -> Entity:
        """Version ``number`` (1 = oldest) of a test case; 404 when unknown."""
        with self.lock:
            versions = self.testcase_versions.get(key) or []
        if not 1 <= number <= len(versions):
            raise ZephyrApiError(404, f"Version {number} of test case '{key}' does not exist.")
        return versions[number - 1]

    def _by_id_or_key(
        self, ident: str, collection: dict[int, Entity], keys: dict[str, int], label: str
    ) -> Entity:
        with self.lock:
            entity_id = int(ident) if _DIGITS_RE.match(ident) else keys.get(ident)
            entity = collection.get(entity_id) if entity_id is not None else None
        if entity is None:
            raise ZephyrApiError(404, f"{label} '{ident}' does not exist or you do not have access to it.")
        return entity

    def cycle(self, id_or_key: str) -> Entity:
        """A test cycle by id or key; 404 when unknown."""
        return self._by_id_or_key(id_or_key, self.testcycles, self.cycle_ids, "Test cycle")

    def plan(self, id_or_key: str) -> Entity:
        """A test plan by id or key; 404 when unknown."""
        return self._by_id_or_key(id_or_key, self.testplans, self.plan_ids, "Test plan")

    def execution(self, id_or_key: str) -> Entity:
        """A test execution by id or key; 404 when unknown."""
        return self._by_id_or_key(id_or_key, self.testexecutions, self.execution_ids, "Test execution")

    def status_type(self, status: Entity) -> str | None:
        """The statusType of a status (simulator metadata), None when the dataset did not say."""
        value = status.get("_statusType")
        return value if isinstance(value, str) else None

    def find_status(self, project_id: int, status_type: str, name: str) -> Entity | None:
        """A non-archived status of a project and type by name (the write API takes names)."""
        with self.lock:
            for status in self.statuses.values():
                if (
                    _project_id(status) == project_id
                    and self.status_type(status) in (status_type, None)
                    and status.get("name") == name
                    and not status.get("archived", False)
                ):
                    return status
        return None

    def default_status(self, project_id: int, status_type: str) -> Entity | None:
        """The project's default status of a type (else its first one)."""
        candidates = self.list_statuses(project_id, status_type)
        return next((s for s in candidates if s.get("default")), candidates[0] if candidates else None)

    def find_named(self, collection: dict[int, Entity], project_id: int, name: str) -> Entity | None:
        """A priority or environment of a project by name."""
        with self.lock:
            return next(
                (e for e in collection.values() if _project_id(e) == project_id and e.get("name") == name),
                None,
            )

    # -- list queries -------------------------------------------------------------------------

    def list_projects(self) -> list[Entity]:
        """Every project, by id."""
        with self.lock:
            return sorted(self.projects.values(), key=lambda e: int(e["id"]))

    def list_folders(self, project_id: int | None, folder_type: str | None) -> list[Entity]:
        """Folders of a project and type, by id."""

        def compute() -> list[Entity]:
            return [
                f
                for f in sorted(self.folders.values(), key=lambda e: int(e["id"]))
                if (project_id is None or _project_id(f) == project_id)
                and (folder_type is None or f.get("folderType") == folder_type)
            ]

        return list(self.cached(("folders", project_id, folder_type), compute))

    def list_statuses(self, project_id: int | None, status_type: str | None) -> list[Entity]:
        """Statuses of a project and type, by id (a status without a known type matches every type)."""
        with self.lock:
            return [
                s
                for s in sorted(self.statuses.values(), key=lambda e: int(e["id"]))
                if (project_id is None or _project_id(s) == project_id)
                and (status_type is None or self.status_type(s) in (status_type, None))
            ]

    def list_options(self, collection: dict[int, Entity], project_id: int | None) -> list[Entity]:
        """Priorities or environments of a project, by id."""
        with self.lock:
            return [
                e
                for e in sorted(collection.values(), key=lambda e: int(e["id"]))
                if project_id is None or _project_id(e) == project_id
            ]

    def list_cases(
        self, project_id: int | None, folder_id: int | None, *, by_id: bool = False
    ) -> list[Entity]:
        """Current versions of test cases, in creation order (``by_id``: by current id, for NextGen)."""

        def compute() -> list[Entity]:
            # Creation order = order of the first version's id, stable when a new version appears.
            ordered = sorted(self.testcase_versions.values(), key=lambda vs: int(vs[0]["id"]))
            cases = [
                vs[-1]
                for vs in ordered
                if (project_id is None or _project_id(vs[-1]) == project_id)
                and (folder_id is None or _link_id(vs[-1].get("folder")) == folder_id)
            ]
            return sorted(cases, key=lambda e: int(e["id"])) if by_id else cases

        return list(self.cached(("cases", project_id, folder_id, by_id), compute))

    def list_cycles(
        self, project_id: int | None, folder_id: int | None, version_id: int | None
    ) -> list[Entity]:
        """Test cycles filtered as ``GET /testcycles`` does, by id."""
        with self.lock:
            return [
                c
                for c in sorted(self.testcycles.values(), key=lambda e: int(e["id"]))
                if (project_id is None or _project_id(c) == project_id)
                and (folder_id is None or _link_id(c.get("folder")) == folder_id)
                and (version_id is None or _link_id(c.get("jiraProjectVersion")) == version_id)
            ]

    def list_plans(self, project_id: int | None) -> list[Entity]:
        """Test plans of a project, by id."""
        with self.lock:
            return [
                p
                for p in sorted(self.testplans.values(), key=lambda e: int(e["id"]))
                if project_id is None or _project_id(p) == project_id
            ]

    def case_key_of_execution(self, execution: Entity) -> str | None:
        """The key of the test case an execution ran (whatever version it ran)."""
        found = self.version_index.get(_link_id(execution.get("testCase")) or -1)
        return found[0] if found else None

    def last_execution_ids(self) -> set[int]:
        """Ids of executions that are the last of their test cycle item (cycle, test case).

        "Last" is the most recently created (highest id): Zephyr flags the newest execution of
        each cycle item. Ad hoc executions (no cycle) are all included, as the spec says.
        """

        def compute() -> set[int]:
            newest: dict[tuple[int, str], int] = {}
            ad_hoc: set[int] = set()
            for execution in self.testexecutions.values():
                cycle_id = _link_id(execution.get("testCycle"))
                if cycle_id is None:
                    ad_hoc.add(int(execution["id"]))
                    continue
                item = (cycle_id, self.case_key_of_execution(execution) or "")
                newest[item] = max(newest.get(item, 0), int(execution["id"]))
            return ad_hoc | set(newest.values())

        return set(self.cached(("last-executions",), compute))

    def list_executions(self, flt: ExecutionFilter) -> list[Entity]:
        """Test executions matching the spec's filters, by id."""

        def compute() -> list[Entity]:
            last = self.last_execution_ids() if flt.only_last else set()
            result = []
            for execution in sorted(self.testexecutions.values(), key=lambda e: int(e["id"])):
                if not self._execution_matches(execution, flt):
                    continue
                if flt.only_last and int(execution["id"]) not in last:
                    continue
                result.append(execution)
            return result

        return list(self.cached(("executions", flt), compute))

    def _execution_matches(self, execution: Entity, flt: ExecutionFilter) -> bool:
        if flt.project_id is not None and _project_id(execution) != flt.project_id:
            return False
        if flt.cycle_id is not None and _link_id(execution.get("testCycle")) != flt.cycle_id:
            return False
        if flt.case_key is not None and self.case_key_of_execution(execution) != flt.case_key:
            return False
        if (
            flt.jira_version_id is not None
            and _link_id(execution.get("jiraProjectVersion")) != flt.jira_version_id
        ):
            return False
        if flt.ended_after is not None or flt.ended_before is not None:
            # Executions never run have no actualEndDate and match no date filter.
            ended = parse_served_datetime(str(execution.get("actualEndDate", "")))
            if ended is None:
                return False
            if flt.ended_after is not None and not ended > flt.ended_after:
                return False
            if flt.ended_before is not None and not ended < flt.ended_before:
                return False
        return True

    def resolve_cycle_filter(self, value: str | None) -> int | None:
        """A ``testCycle`` filter (id or key) as a cycle id; -1 when no such cycle exists."""
        if not value:
            return None
        with self.lock:
            if _DIGITS_RE.match(value):
                return int(value) if int(value) in self.testcycles else -1
            return self.cycle_ids.get(value, -1)

    def resolve_case_filter(self, value: str | None) -> str | None:
        """A ``testCase`` filter (id of any version, or key) as a test case key."""
        if not value:
            return None
        with self.lock:
            if _DIGITS_RE.match(value):
                found = self.version_index.get(int(value))
                return found[0] if found else "\x00no-such-case"
            return value


def _project_id(entity: Entity) -> int | None:
    return _link_id(entity.get("project"))


def _link_id(link: Any) -> int | None:
    """The id of a link object ``{"id": ..., ...}``, None when absent."""
    if isinstance(link, Mapping) and isinstance(link.get("id"), int):
        return int(link["id"])
    return None
