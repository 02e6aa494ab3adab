"""In-memory state of the qTest Manager simulator: projects, users, tokens and every artifact.

The store is deliberately plain: dataclasses keyed by their (site-wide unique) IDs, with the
project ID on each record, in tables that keep indexes (``tables``: by project, parent, owner...)
so that no request scans a whole project. The route modules hold the API behaviour; this module
holds storage, ID/PID allocation, token bookkeeping and the loading of a ``--data`` dataset (see
``docs/simulators-qtest.md``).
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from ztoq.simulators.qtest.tables import PROJECT, Table

#: Attachment size limit of qTest SaaS ("SaaS: Attachment size limit is 50 MB", qTest API
#: specification page). Uploads over it are answered 413, as the Swagger file documents.
ATTACHMENT_LIMIT = 50 * 1024 * 1024

#: Scope string of issued tokens (the Swagger file's OAuthResponse example).
TOKEN_SCOPE = "read import administration create share baseline write delete execute export"

#: Password qTest gives invited users when none is set ("the default admin123 will be used").
DEFAULT_USER_PASSWORD = "admin123"

PID_PREFIXES = {
    "modules": "MD",
    "test-cases": "TC",
    "requirements": "RQ",
    "releases": "RL",
    "test-cycles": "CL",
    "test-suites": "TS",
    "test-runs": "TR",
}


class QTestError(Exception):
    """An API error answered with qTest's ``{"message": ...}`` body."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status} {message}")


@dataclass
class User:
    """A qTest user; ``projects`` holds the IDs of the projects the user is assigned to."""

    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    password: str = DEFAULT_USER_PASSWORD
    status: int = 1
    projects: set[int] = field(default_factory=set)

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}".strip()


@dataclass
class Project:
    """A project: its ProjectResource attributes (``data``), fields, statuses and profiles."""

    id: int
    data: dict[str, Any]
    fields: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    profiles: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Module:
    """A module of the test design tree (``parent_id`` None: under the root)."""

    id: int
    project_id: int
    pid: str
    name: str
    parent_id: int | None
    order: int
    created: datetime
    modified: datetime
    description: str | None = None
    shared: bool = False


@dataclass
class Version:
    """One version of a test case; its steps carry their own IDs (new IDs in every version)."""

    id: int
    version: str
    name: str
    description: str
    precondition: str
    properties: dict[int, str]
    steps: list[dict[str, Any]]
    created: datetime


@dataclass
class TestCase:
    """A test case and its versions, the last one being the latest."""

    __test__ = False  # not a pytest test class

    id: int
    project_id: int
    pid: str
    parent_id: int
    order: int
    creator_id: int
    created: datetime
    modified: datetime
    versions: list[Version] = field(default_factory=list)

    @property
    def latest(self) -> Version:
        """The latest version."""
        return self.versions[-1]

    def version_by_id(self, version_id: int) -> Version | None:
        """The version with this ID, if any."""
        return next((v for v in self.versions if v.id == version_id), None)

    def latest_approved(self) -> Version | None:
        """The latest approved (``x.0``) version, if any."""
        return next((v for v in reversed(self.versions) if v.version.endswith(".0")), None)


@dataclass
class Requirement:
    """A requirement, in the same module tree as the test cases."""

    id: int
    project_id: int
    pid: str
    name: str
    parent_id: int | None
    order: int
    properties: dict[int, str]
    created: datetime
    modified: datetime


@dataclass
class Release:
    """A release (``properties``: field ID -> stored value)."""

    id: int
    project_id: int
    pid: str
    name: str
    order: int
    properties: dict[int, str]
    created: datetime
    modified: datetime
    description: str | None = None
    note: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None


@dataclass
class TestCycle:
    """A test cycle under the root, a release or another test cycle."""

    __test__ = False  # not a pytest test class

    id: int
    project_id: int
    pid: str
    name: str
    parent_type: str
    parent_id: int
    order: int
    created: datetime
    modified: datetime
    description: str | None = None
    target_release_id: int | None = None
    target_build_id: int | None = None


@dataclass
class TestSuite:
    """A test suite under the root, a release or a test cycle."""

    __test__ = False  # not a pytest test class

    id: int
    project_id: int
    pid: str
    name: str
    parent_type: str
    parent_id: int
    order: int
    properties: dict[int, str]
    created: datetime
    modified: datetime
    target_release_id: int | None = None
    target_build_id: int | None = None


@dataclass
class TestRun:
    """A test run of one version of a test case, under any execution container."""

    __test__ = False  # not a pytest test class

    id: int
    project_id: int
    pid: str
    name: str
    parent_type: str
    parent_id: int
    order: int
    test_case_id: int
    version_id: int
    properties: dict[int, str]
    creator_id: int
    created: datetime
    modified: datetime


@dataclass
class TestLog:
    """A manual test log of a run; ``extra`` keeps note, name, times, build and defects."""

    __test__ = False  # not a pytest test class

    id: int
    project_id: int
    run_id: int
    version_id: int
    status_id: int
    exe_start: datetime
    exe_end: datetime
    submitted_by: int
    created: datetime
    result_number: int
    step_logs: list[dict[str, Any]] = field(default_factory=list)
    properties: dict[int, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Attachment:
    """A stored file attached to one object (``object_type`` as in the API paths)."""

    id: int
    project_id: int
    object_type: str
    object_id: int
    name: str
    content_type: str
    data: bytes
    author_id: int
    created: datetime


@dataclass
class Token:
    """An access token issued by ``POST /oauth/token`` (``expires`` None: never expires)."""

    access_token: str
    refresh_token: str
    user_id: int
    expires: datetime | None


T = TypeVar("T")


class QTestState:
    """Everything the simulator serves, plus token bookkeeping.

    Args:
        dataset: The ``--data`` object (see ``docs/simulators-qtest.md``).
        api_token: The static API token, always accepted as a bearer token (the admin's).
        clock: Source of the current time (tests inject a fixed or stepping clock).
        token_ttl: Lifetime in seconds of tokens issued by ``/oauth/token``.
    """

    def __init__(
        self,
        dataset: dict[str, Any],
        api_token: str,
        *,
        clock: Callable[[], datetime] | None = None,
        token_ttl: int = 3600,
    ) -> None:
        self.lock = threading.RLock()
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.api_token = api_token
        self.token_ttl = token_ttl
        self.attachment_limit = ATTACHMENT_LIMIT
        self.users: dict[int, User] = {}
        self.projects: dict[int, Project] = {}
        # Indexed tables (see ``tables``): a project holds tens of thousands of runs and logs,
        # and no request may scan them all. ``parent`` keys include the project.
        self.modules: Table[Module] = Table(parent=lambda m: ((m.project_id, m.parent_id),))
        self.test_cases: Table[TestCase] = Table(
            parent=lambda c: ((c.project_id, c.parent_id),),
            pid=lambda c: ((c.project_id, c.pid.lower()),),
            step=lambda c: {s["id"] for v in c.versions for s in v.steps},
        )
        self.requirements: Table[Requirement] = Table(parent=lambda r: ((r.project_id, r.parent_id),))
        self.releases: Table[Release] = Table()
        self.test_cycles: Table[TestCycle] = Table(parent=_in_container)
        self.test_suites: Table[TestSuite] = Table(parent=_in_container)
        self.test_runs: Table[TestRun] = Table(parent=_in_container, case=lambda r: (r.test_case_id,))
        self.test_logs: Table[TestLog] = Table(
            run=lambda log: (log.run_id,), step_log=lambda log: [s["test_step_log_id"] for s in log.step_logs]
        )
        #: (kind, parent) -> the order given to its last child (see ``next_order``).
        self._orders: dict[tuple[str, Hashable], int] = {}
        self.attachments: Table[Attachment] = Table(
            owner=lambda a: ((a.object_type, a.object_id),), kind=lambda a: ((a.project_id, a.object_type),)
        )
        #: requirement ID -> IDs of the test cases linked to it, in link order.
        self.links: dict[int, list[int]] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, int] = {}
        self._ids: dict[str, int] = {}
        self._pids: dict[tuple[int, str], int] = {}
        #: The user behind the static API token (set by the loader).
        self.admin_id = 0
        #: Batch test log submissions by job ID, and the work still queued (``run_queued``).
        self.jobs: dict[int, Any] = {}
        self.queued: list[Callable[[], None]] = []
        #: Tests set this to keep queued jobs waiting (``IN_WAITING``) until it is cleared.
        self.hold_queue = False
        # The loader needs this module's record types, hence the late import.
        from ztoq.simulators.qtest.loader import load_dataset

        load_dataset(self, dataset)

    # -- time and identifiers ---------------------------------------------------------------

    def now(self) -> datetime:
        """The current time, UTC, to the second."""
        return self.clock().astimezone(UTC).replace(microsecond=0)

    def next_id(self, kind: str) -> int:
        """Allocate the next site-wide ID of a kind of record (``test-cases``, ``steps``...)."""
        value = self._ids.get(kind, _ID_BASES.get(kind, 1)) + 1
        self._ids[kind] = value
        return value

    def seen_id(self, kind: str, value: int) -> None:
        """Make sure IDs allocated later for ``kind`` are above ``value`` (loaded data)."""
        if value > self._ids.get(kind, _ID_BASES.get(kind, 1)):
            self._ids[kind] = value

    def next_pid(self, project_id: int, kind: str) -> str:
        """Allocate the next PID (``TC-7``) of a kind of artifact in a project."""
        key = (project_id, kind)
        self._pids[key] = self._pids.get(key, 0) + 1
        return f"{PID_PREFIXES[kind]}-{self._pids[key]}"

    def seen_pid(self, project_id: int, kind: str, pid: str | None) -> None:
        """Keep PIDs allocated later above a loaded PID such as ``TC-12``."""
        if pid and "-" in pid and pid.rsplit("-", 1)[1].isdigit():
            number = int(pid.rsplit("-", 1)[1])
            key = (project_id, kind)
            self._pids[key] = max(self._pids.get(key, 0), number)

    # -- tokens -------------------------------------------------------------------------------

    def issue_token(self, user_id: int) -> Token:
        """Issue a new access token (and refresh token) for a user."""
        expires = self.now() + timedelta(seconds=self.token_ttl) if self.token_ttl > 0 else None
        token = Token(str(uuid.uuid4()), str(uuid.uuid4()), user_id, expires)
        self.tokens[token.access_token] = token
        self.refresh_tokens[token.refresh_token] = user_id
        return token

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user with this login (case-insensitive) and password, if any."""
        for user in self.users.values():
            if user.username.lower() == username.strip().lower() and user.status == 1:
                return user if secrets.compare_digest(user.password.encode(), password.encode()) else None
        return None

    def bearer_user(self, token: str) -> int | None:
        """The user ID a bearer token stands for, or None when unknown, revoked or expired."""
        if secrets.compare_digest(token.encode(), self.api_token.encode()):
            return self.admin_id
        issued = self.tokens.get(token)
        if issued is None:
            return None
        if issued.expires is not None and self.now() >= issued.expires:
            return None
        return issued.user_id

    def next_order(self, kind: str, parent: Hashable, count_existing: Callable[[], int]) -> int:
        """The ``order`` of a new child of ``parent``: one more than the children it already has.

        Counted once per parent (``count_existing``), then kept: creating the n-th run of a cycle
        must not rescan every run of the project.
        """
        key = (kind, parent)
        if key not in self._orders:
            self._orders[key] = count_existing()
        self._orders[key] += 1
        return self._orders[key]

    def run_queued(self) -> None:
        """Process the queued batch submissions (before the next request is answered)."""
        while self.queued and not self.hold_queue:
            self.queued.pop(0)()

    def logs_of(self, run_id: int) -> list[TestLog]:
        """The test logs of a run, oldest (lowest id) first."""
        return self.test_logs.by("run", run_id)

    def put_log(self, log: TestLog) -> None:
        """Store (or replace) a test log."""
        self.test_logs[log.id] = log

    def drop_log(self, log_id: int) -> None:
        """Remove a test log."""
        del self.test_logs[log_id]

    def revoke_tokens(self, *, include_refresh: bool = False) -> int:
        """Revoke every access token issued by ``/oauth/token`` (the static API token stays valid).

        Args:
            include_refresh: Also invalidate the refresh tokens, so only a password login works.

        Returns:
            How many access tokens were revoked.
        """
        with self.lock:
            count = len(self.tokens)
            self.tokens.clear()
            if include_refresh:
                self.refresh_tokens.clear()
            return count

    def expire_tokens(self) -> None:
        """Make every issued access token expired now (refresh tokens keep working)."""
        with self.lock:
            moment = self.now()
            for token in self.tokens.values():
                token.expires = moment

    # -- lookups ----------------------------------------------------------------------------

    def project(self, project_id: int) -> Project:
        """The project, or a 404 qTest error."""
        found = self.projects.get(project_id)
        if found is None:
            raise QTestError(404, f"Project with id {project_id} does not exist.")
        return found

    def user(self, user_id: int) -> User:
        """The user, or a 404 qTest error."""
        found = self.users.get(user_id)
        if found is None:
            raise QTestError(404, f"User with id {user_id} does not exist.")
        return found

    def members(self, project_id: int) -> list[User]:
        """Users assigned to a project, by ID."""
        return [u for _, u in sorted(self.users.items()) if project_id in u.projects]

    def get(self, table: dict[int, T], project_id: int, entity_id: int, what: str) -> T:
        """A record of ``table`` that belongs to the project, or a 404 qTest error."""
        self.project(project_id)
        found = table.get(entity_id)
        if found is None or getattr(found, "project_id", None) != project_id:
            raise QTestError(404, f"{what} with id {entity_id} does not exist in project {project_id}.")
        return found

    def in_project(self, table: Table[T], project_id: int) -> list[T]:
        """The records of ``table`` in a project, by ID."""
        return table.by(PROJECT, project_id)

    def children(self, table: Table[T], project_id: int | None, parent: Hashable) -> list[T]:
        """The records of ``table`` directly under ``parent`` (module ID, or container), by ID.

        Args:
            table: Modules, test cases and requirements (``parent``: a module ID or None), or
                test cycles, test suites and test runs (``parent``: ``(type, id)``).
            project_id: The project.
            parent: The parent.

        Returns:
            The records.
        """
        key = (project_id, *parent) if isinstance(parent, tuple) else (project_id, parent)
        return table.by("parent", key)

    def step_exists(self, project_id: int, step_id: int) -> bool:
        """Whether some version of a test case of the project has a step with this ID."""
        return any(
            c.project_id == project_id and any(s["id"] == step_id for v in c.versions for s in v.steps)
            for c in self.test_cases.iter_by("step", step_id)
        )

    def step_log_exists(self, project_id: int, step_log_id: int) -> bool:
        """Whether a test log of the project has a test step log with this ID."""
        return any(log.project_id == project_id for log in self.test_logs.iter_by("step_log", step_log_id))

    def fields_of(self, project_id: int, object_type: str) -> list[dict[str, Any]]:
        """The FieldResource dicts of an object type in a project (the live list)."""
        return self.project(project_id).fields.setdefault(object_type, [])

    def status(self, project_id: int, status_id: Any) -> dict[str, Any] | None:
        """The active execution status with this ID, if any."""
        for status in self.project(project_id).statuses:
            if status.get("id") == status_id and status.get("active", True):
                return status
        return None

    def attachments_of(self, object_type: str, object_id: int) -> list[Attachment]:
        """Attachments of one object, by ID."""
        return self.attachments.by("owner", (object_type, object_id))

    def drop_attachments(self, object_type: str, object_ids: Iterable[int]) -> None:
        """Delete the attachments of the given objects."""
        for object_id in set(object_ids):
            for attachment in self.attachments_of(object_type, object_id):
                del self.attachments[attachment.id]


def _in_container(record: TestCycle | TestSuite | TestRun) -> tuple[tuple[int, str, int]]:
    """The ``parent`` index key of a test cycle, suite or run: project and container."""
    return ((record.project_id, record.parent_type, record.parent_id),)


#: Where each ID sequence starts, so IDs look like a real site's (and kinds do not overlap).
_ID_BASES: dict[str, int] = {
    "users": 5200,
    "fields": 11000,
    "allowed-values": 900000,
    "modules": 2107600,
    "test-cases": 4500000,
    "versions": 13700000,
    "steps": 52000000,
    "requirements": 4171800,
    "releases": 149650,
    "test-cycles": 462370,
    "test-suites": 843970,
    "test-runs": 11595050,
    "test-logs": 75000000,
    "step-logs": 98000000,
    "attachments": 3200000,
    "jobs": 7100,
}
