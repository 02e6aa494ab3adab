"""Preflight: what a load would send to qTest, and everything that would stop it, without writing.

``run_preflight(config)`` reads the store (what transform planned, what is already loaded) and
asks qTest only GET requests: the project, the field settings of every object type (inactive
fields included, so a field switched off can be named), the execution statuses, the project's
users and the token user's permissions (``user-profiles/current``). It then checks:

* **plan**: entities transform could not plan (a ``failed`` transform problem) cannot be sent;
* **fields**: every ``field_id`` in the planned ``properties`` is an active field of its object
  type today, every pick-list value is an active allowed value, every user is a project member,
  every execution status of a test log (and of its steps) is still offered;
* **required**: every required field of the object type gets a value (or has a default);
* **permissions**: the token's user may create (edit, approve, execute) what would be sent;
* **mappings**: ``mappings.priority``/``status``/``execution_status`` name values qTest offers,
  ``mappings.users`` targets and ``default_user`` are project members, ``environment_field``,
  ``qtest.source_key_field``, ``mappings.test_case_fields`` and ``custom_fields.*`` name fields
  that exist.

A *blocking* finding means entities would fail (qTest would refuse them, or transform could not
plan them); a *warning* means values would be degraded (defaulted or kept in text) but nothing
fails. The checks themselves are pure functions of plain values (``check_entity``,
``missing_required``, ``check_permissions``, ``check_mappings``, ``classify``), so they are unit
tested without a network or a database; :func:`gather_qtest_facts` and :func:`run_preflight` do
the I/O.

Findings are returned, not stored: the ``problems`` table would accept the phase name, but its
findings would then count as failed entities in ``ztoq migrate status`` and the report's verdict,
and no later phase would clear them once fixed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import httpx

from ztoq.config import ZtoqConfig
from ztoq.entities import LOAD_ORDER
from ztoq.errors import ApiError, ConfigError, FatalApiError
from ztoq.mapping.fields import Kind, field_kind
from ztoq.mapping.lookups import TargetField, TargetFields, fold
from ztoq.mapping.properties import BODY_LABELS
from ztoq.pipeline.extract import TARGET_OBJECT_TYPES
from ztoq.plan import decode_planned
from ztoq.qtest import QTestClient
from ztoq.store import Repository, Store, open_store
from ztoq.store.records import LoadWork

BLOCKING = "blocking"
WARNING = "warning"

#: The checks, in the order they are reported, with what each one proves when it passes.
CHECKS: dict[str, str] = {
    "plan": "every Zephyr entity could be planned",
    "fields": "every planned field and value exists in qTest",
    "required": "every required qTest field gets a value",
    "permissions": "the token may create what would be sent",
    "mappings": "the configuration names real qTest values",
}

#: qTest object type whose field settings apply to each planned entity type (None: no properties).
OBJECT_TYPE_OF: dict[str, str | None] = {
    "module": None,
    "test_case": "test-cases",
    "release": "releases",
    "cycle_folder": "test-cycles",
    "test_cycle": "test-cycles",
    "test_run": "test-runs",
    "test_log": "test-runs",
}

#: Singular and plural names of the planned entity types, for messages.
NOUNS: dict[str, tuple[str, str]] = {
    "module": ("module", "modules"),
    "test_case": ("test case", "test cases"),
    "release": ("release", "releases"),
    "cycle_folder": ("cycle folder", "cycle folders"),
    "test_cycle": ("test cycle", "test cycles"),
    "test_run": ("test run", "test runs"),
    "test_log": ("test log", "test logs"),
}

#: How many source keys a finding names as examples.
EXAMPLES = 5

Action = Literal["create", "update", "unchanged"]


def noun(entity_type: str | None, count: int) -> str:
    """ "1 test case", "3 test cases"."""
    one, many = NOUNS.get(entity_type or "", (entity_type or "entity", f"{entity_type or 'entitie'}s"))
    return f"{count} {one if count == 1 else many}"


# -- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One problem the preflight found; entity findings are grouped (count and example keys)."""

    check: str
    severity: str
    code: str
    message: str
    entity_type: str | None = None
    count: int = 0
    examples: tuple[str, ...] = ()

    @property
    def blocking(self) -> bool:
        return self.severity == BLOCKING

    def text(self) -> str:
        """The message, with how many entities it concerns and a few of their Zephyr keys."""
        if not self.count:
            return self.message
        more = ", ..." if self.count > len(self.examples) else ""
        keys = f": {', '.join(self.examples)}{more}" if self.examples else ""
        return f"{self.message} ({noun(self.entity_type, self.count)}{keys})"


@dataclass
class TypeCounts:
    """What a load would do with one planned entity type."""

    entity_type: str
    planned: int = 0
    create: int = 0
    update: int = 0
    unchanged: int = 0
    #: Planned as skipped by transform (never sent): by design or because planning failed.
    not_planned: int = 0

    @property
    def send(self) -> int:
        return self.create + self.update


@dataclass(frozen=True)
class ProblemGroup:
    """Transform problems of one severity and code on one entity type."""

    severity: str
    code: str
    entity_type: str
    count: int
    message: str
    examples: tuple[str, ...] = ()


@dataclass
class PreflightReport:
    """Everything the preflight found; ``ok`` is False when anything is blocking."""

    project_key: str
    qtest_project_id: int
    qtest_project_name: str
    counts: list[TypeCounts]
    findings: list[Finding]
    transform: list[ProblemGroup] = field(default_factory=list)
    #: qTest requests the preflight made, by method (only GET; a password login adds a POST).
    qtest_requests: dict[str, int] = field(default_factory=dict)

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.blocking]

    @property
    def ok(self) -> bool:
        return not self.blocking

    def status_of(self, check: str) -> str:
        """``passed``, ``warning`` or ``failed`` for one of :data:`CHECKS`."""
        found = [f for f in self.findings if f.check == check]
        if any(f.blocking for f in found):
            return "failed"
        return "warning" if found else "passed"

    def findings_of(self, check: str) -> list[Finding]:
        return [f for f in self.findings if f.check == check]

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (``ztoq migrate run --dry-run --json``)."""
        return {
            "project_key": self.project_key,
            "qtest_project": {"id": self.qtest_project_id, "name": self.qtest_project_name},
            "ok": self.ok,
            "counts": [{**asdict(c), "send": c.send} for c in self.counts],
            "checks": {name: self.status_of(name) for name in CHECKS},
            "findings": [
                {**asdict(f), "examples": list(f.examples), "text": f.text()} for f in self.findings
            ],
            "transform_problems": [{**asdict(g), "examples": list(g.examples)} for g in self.transform],
            "qtest_requests": self.qtest_requests,
        }


# -- what qTest says -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """Labels of fields, values and statuses (today's and those extract stored), for messages."""

    fields: Mapping[tuple[str, int], str] = field(default_factory=dict)
    values: Mapping[tuple[str, int, int], str] = field(default_factory=dict)
    statuses: Mapping[int, str] = field(default_factory=dict)
    inactive_fields: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def build(
        cls,
        settings: Iterable[Mapping[str, Sequence[Mapping[str, Any]]]],
        statuses: Iterable[Iterable[Mapping[str, Any]]] = (),
    ) -> Names:
        """From raw field settings (object type -> FieldResource list), freshest first."""
        fields: dict[tuple[str, int], str] = {}
        values: dict[tuple[str, int, int], str] = {}
        inactive: set[tuple[str, int]] = set()
        for index, by_type in enumerate(settings):
            for object_type, raw_fields in by_type.items():
                for raw in raw_fields:
                    field_id = _int(raw.get("id"))
                    if field_id is None:
                        continue
                    fields.setdefault((object_type, field_id), str(raw.get("label") or ""))
                    if index == 0 and raw.get("is_active") is False:
                        inactive.add((object_type, field_id))
                    for value in raw.get("allowed_values") or ():
                        value_id = _int(value.get("value"))
                        if value_id is not None:
                            values.setdefault(
                                (object_type, field_id, value_id), str(value.get("label") or "")
                            )
        names: dict[int, str] = {}
        for listing in statuses:
            for status in listing:
                status_id = _int(status.get("id"))
                if status_id is not None:
                    names.setdefault(status_id, str(status.get("name") or ""))
        return cls(fields, values, names, frozenset(inactive))

    def field(self, object_type: str, field_id: int, label: str | None = None) -> str:
        """``test-cases field 'Priority' (id 12)``; ``label`` is used when no label is known."""
        label = self.fields.get((object_type, field_id)) or label
        return (
            f"{object_type} field {label!r} (id {field_id})" if label else f"{object_type} field {field_id}"
        )

    def value(self, object_type: str, field_id: int, value: int) -> str:
        label = self.values.get((object_type, field_id, value))
        return f"{value} ({label!r})" if label else str(value)

    def status(self, status_id: int) -> str:
        name = self.statuses.get(status_id)
        return f"{status_id} ({name!r})" if name else str(status_id)


@dataclass(frozen=True)
class QTestFacts:
    """What the preflight read from qTest (GET only)."""

    project_id: int
    project_name: str
    #: Active fields, active values, active execution statuses and active project users.
    target: TargetFields
    names: Names
    #: ``UserProfile`` of the token's user in the project; None when it could not be read.
    profile: Mapping[str, Any] | None
    profile_error: str | None
    requests: dict[str, int]


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


async def gather_qtest_facts(
    config: ZtoqConfig,
    *,
    stored_settings: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> QTestFacts:
    """Read the project, fields, statuses, users and permissions from qTest (GET requests only).

    Raises:
        ConfigError: qTest cannot be reached or refuses the token or the project (exit 2).
    """
    config.require_target()
    pid = config.qtest.project_id
    client = QTestClient.from_config(
        config.qtest, network=config.network, performance=config.performance, transport=transport
    )
    try:
        try:
            project = await client.project()
        except ApiError as exc:
            raise ConfigError(
                f"The preflight cannot read qTest project {pid}: {exc} "
                "Run `ztoq verify-tokens --config <file>` to see what is wrong."
            ) from exc
        raw_fields: dict[str, list[dict[str, Any]]] = {}
        for object_type in TARGET_OBJECT_TYPES:
            try:
                listed = await client.fields(object_type, include_inactive=True)
            except FatalApiError as exc:
                if exc.status not in (400, 404, 405):
                    # Refused (401/403): "no fields" would flag every planned value as deleted.
                    raise ConfigError(
                        f"The preflight cannot read the qTest {object_type} field settings: {exc}"
                    ) from exc
                # As extract: an object type without field settings has nothing to map onto.
                listed = []
            raw_fields[object_type] = [f.to_wire() for f in listed]
        statuses = [s.to_wire() for s in await client.execution_statuses()]
        users = [u.to_wire() for u in await client.users()]
        profile: Mapping[str, Any] | None
        try:
            profile = await client.current_permissions()
            profile_error = None
        except FatalApiError as exc:
            profile, profile_error = None, str(exc)
        stats = client.session.snapshot()
    finally:
        await client.aclose()
    active_statuses = [s for s in statuses if s.get("active") is not False]
    target = TargetFields.from_settings(raw_fields, execution_statuses=active_statuses, users=users)
    names = Names.build([raw_fields, dict(stored_settings or {})], [statuses])
    return QTestFacts(
        project_id=pid,
        project_name=str(project.name or ""),
        target=target,
        names=names,
        profile=profile,
        profile_error=profile_error,
        requests={str(k): int(v) for k, v in (stats.get("requests_by_method") or {}).items()},
    )


# -- pure checks: one planned entity ------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """One problem of one planned entity; issues with the same text are grouped into a Finding."""

    check: str
    severity: str
    code: str
    message: str


def classify(work: LoadWork) -> Action:
    """What load would do with this work item (mirrors ``Loader.load_one``)."""
    mapping = work.mapping
    if mapping is None or mapping.state == "deleted" or mapping.target_id is None:
        return "create"
    planned = work.planned
    if (
        planned.entity_type == "test_log"
        and mapping.loaded_source_hash is not None
        and mapping.loaded_source_hash == planned.source_hash
    ):
        return "unchanged"  # the execution did not change: the log is kept as it is
    return "update"


def _ids(value: Any) -> list[str]:
    """The tokens of a list field's value: ``"723"``, ``"[1,2]"``, ``[1, 2]`` -> ["723"] / ["1", "2"]."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in str(value).strip().strip("[]").split(",") if p.strip()]


def _is_empty(value: Any) -> bool:
    return not _ids(value) if isinstance(value, list) else str(value or "").strip() in ("", "[]")


def _choice_field(target: TargetField) -> bool:
    kind = field_kind(target)
    return kind in (Kind.PICK_LIST, Kind.MULTI_SELECT) or (
        kind is Kind.CHECKBOX and bool(target.allowed_values)
    )


def check_entity(
    entity_type: str, body: Mapping[str, Any], target: TargetFields, names: Names
) -> list[Issue]:
    """The field, value, user and status problems of one planned body against today's qTest.

    Every one of them makes qTest refuse the entity (400), so every issue is blocking.
    """
    issues: list[Issue] = []
    object_type = OBJECT_TYPE_OF.get(entity_type)
    if object_type is not None:
        by_id = {f.id: f for f in target.fields(object_type)}
        member_ids = {u.id for u in target.users}
        for prop in body.get("properties") or ():
            if not isinstance(prop, Mapping):
                continue
            field_id = _int(prop.get("field_id"))
            if field_id is None:
                continue
            where = names.field(object_type, field_id)
            found = by_id.get(field_id)
            if found is None:
                state = (
                    "is inactive" if (object_type, field_id) in names.inactive_fields else "no longer exists"
                )
                issues.append(
                    Issue(
                        "fields",
                        BLOCKING,
                        "field_missing",
                        f"{where} {state} in qTest; qTest refuses a value for it",
                    )
                )
                continue
            value = prop.get("field_value")
            if _is_empty(value):
                continue
            issues.extend(_value_issues(object_type, found, value, member_ids, names))
    if entity_type == "test_log":
        issues.extend(_status_issues(body, target, names))
    return issues


def _value_issues(
    object_type: str, found: TargetField, value: Any, member_ids: set[int], names: Names
) -> list[Issue]:
    where = names.field(object_type, found.id, found.label)
    kind = field_kind(found)
    tokens = _ids(value)
    if kind is Kind.USER:
        issues = []
        for token in tokens:
            user_id = _int(token)
            if member_ids and (user_id is None or user_id not in member_ids):
                issues.append(
                    Issue(
                        "fields",
                        BLOCKING,
                        "user_not_member",
                        f"{where} names qTest user {token}, who is not an active member of the project",
                    )
                )
        if len(tokens) > 1 and not found.multiple:
            issues.append(
                Issue(
                    "fields",
                    BLOCKING,
                    "single_value_field",
                    f"{where} now takes one user; the plan has several",
                )
            )
        return issues
    if not _choice_field(found):
        return []
    allowed = {v.value for v in found.allowed_values}
    issues = []
    for token in tokens:
        choice = _int(token)
        if choice is None or choice not in allowed:
            shown = names.value(object_type, found.id, choice) if choice is not None else repr(token)
            issues.append(
                Issue(
                    "fields",
                    BLOCKING,
                    "value_not_allowed",
                    f"{where} no longer offers value {shown}; qTest refuses it",
                )
            )
    if len(tokens) > 1 and not found.multiple:
        issues.append(
            Issue(
                "fields", BLOCKING, "single_value_field", f"{where} now takes one value; the plan has several"
            )
        )
    return issues


def _status_issues(body: Mapping[str, Any], target: TargetFields, names: Names) -> list[Issue]:
    offered = {s.id for s in target.execution_statuses}
    used: list[int] = []
    status = body.get("status")
    if isinstance(status, Mapping) and _int(status.get("id")) is not None:
        used.append(int(status["id"]))
    for step in body.get("test_step_logs") or ():
        step_status = step.get("status") if isinstance(step, Mapping) else None
        if isinstance(step_status, Mapping) and _int(step_status.get("id")) is not None:
            used.append(int(step_status["id"]))
    return [
        Issue(
            "fields",
            BLOCKING,
            "status_missing",
            f"execution status {names.status(status_id)} is no longer offered by qTest; "
            "qTest refuses the log",
        )
        for status_id in dict.fromkeys(used)
        if status_id not in offered
    ]


def missing_required(entity_type: str, body: Mapping[str, Any], target: TargetFields) -> list[TargetField]:
    """Required fields of the entity's object type that get no value and have no default.

    Fields qTest fills from the request body (name, description, ...) never count.
    """
    object_type = OBJECT_TYPE_OF.get(entity_type)
    if object_type is None:
        return []
    given = {
        _int(p.get("field_id"))
        for p in body.get("properties") or ()
        if isinstance(p, Mapping) and not _is_empty(p.get("field_value"))
    }
    return [
        f
        for f in target.fields(object_type)
        if f.required
        and f.id not in given
        and fold(f.label) not in BODY_LABELS
        and fold(f.original_name or "") not in BODY_LABELS
        and f.default_field_value() is None
    ]


def required_issues(
    entity_type: str, body: Mapping[str, Any], target: TargetFields, names: Names
) -> list[Issue]:
    """:func:`missing_required` as blocking issues."""
    object_type = OBJECT_TYPE_OF.get(entity_type) or ""
    return [
        Issue(
            "required",
            BLOCKING,
            "required_field_missing",
            f"qTest requires {names.field(object_type, f.id, f.label)}, which has no default and no "
            "planned value; qTest refuses the entity",
        )
        for f in missing_required(entity_type, body, target)
    ]


class Grouper:
    """Groups per-entity issues into findings: one per (check, severity, code, type, message)."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str, str, str, str], list[Any]] = {}

    def add(self, entity_type: str, source_key: str, issues: Iterable[Issue]) -> None:
        for issue in issues:
            key = (issue.check, issue.severity, issue.code, entity_type, issue.message)
            group = self._groups.setdefault(key, [0, []])
            group[0] += 1
            if len(group[1]) < EXAMPLES:
                group[1].append(source_key)

    def findings(self) -> list[Finding]:
        return [
            Finding(check, severity, code, message, entity_type, count, tuple(examples))
            for (check, severity, code, entity_type, message), (count, examples) in self._groups.items()
        ]


# -- pure checks: permissions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Permission:
    """One qTest permission (``UserProfile.<area>.<action>``) and why ztoq needs it."""

    area: str
    action: str
    purpose: str

    @property
    def name(self) -> str:
        return f"{self.area}.{self.action}"


#: qTest permission area of each planned entity type.
AREA_OF: dict[str, str] = {
    "module": "module",
    "test_case": "test_case",
    "release": "release",
    "cycle_folder": "test_cycle",
    "test_cycle": "test_cycle",
    "test_run": "test_run",
    "test_log": "test_run",
}


def migration_permissions(*, approve: bool = True) -> list[Permission]:
    """Every permission a whole migration (load and validate) needs in the qTest project."""
    perms = [
        Permission("module", "create", "create modules"),
        Permission("module", "edit", "update modules"),
        Permission("module", "view", "read modules back (recovery, validation)"),
        Permission("test_case", "create", "create test cases"),
        Permission("test_case", "edit", "update test cases"),
        Permission("test_case", "view", "read test cases back (recovery, validation)"),
    ]
    if approve:
        perms.append(
            Permission("test_case", "approve", "approve test cases, as qtest.approve_test_cases is on")
        )
    perms += [
        Permission("release", "create", "create releases"),
        Permission("release", "edit", "update releases"),
        Permission("release", "view", "read releases back (recovery, validation)"),
        Permission("test_cycle", "create", "create test cycles"),
        Permission("test_cycle", "edit", "update test cycles"),
        Permission("test_cycle", "view", "read test cycles back (recovery, validation)"),
        Permission("test_run", "create", "create test runs"),
        Permission("test_run", "edit", "update test runs"),
        Permission("test_run", "view", "read test runs and logs back (recovery, validation)"),
        Permission("test_run", "execute", "submit test logs"),
    ]
    return perms


def needed_permissions(counts: Sequence[TypeCounts], *, approve: bool) -> dict[str, str]:
    """Permission name -> why this load needs it, from what it would send."""
    needed: dict[str, list[str]] = {}

    def need(name: str, why: str) -> None:
        needed.setdefault(name, []).append(why)

    for row in counts:
        area = AREA_OF.get(row.entity_type)
        if area is None:
            continue
        if row.planned:
            need(f"{area}.view", f"{noun(row.entity_type, row.planned)} to validate")
        if row.entity_type == "test_log":
            if row.send:
                need("test_run.execute", f"{noun('test_log', row.send)} to submit")
            continue
        if row.create:
            need(f"{area}.create", f"{noun(row.entity_type, row.create)} to create")
        if row.update:
            need(f"{area}.edit", f"{noun(row.entity_type, row.update)} to update")
        if row.entity_type == "test_case" and approve and row.send:
            need(
                "test_case.approve",
                f"{noun('test_case', row.send)} to approve, as qtest.approve_test_cases is on",
            )
    return {name: "; ".join(whys) for name, whys in needed.items()}


def denied(profile: Mapping[str, Any], name: str) -> bool:
    """True when the profile explicitly refuses ``area.action`` (an unlisted permission is not judged)."""
    area, _, action = name.partition(".")
    section = profile.get(area)
    return isinstance(section, Mapping) and section.get(action) is False


def check_permissions(
    profile: Mapping[str, Any] | None,
    needed: Mapping[str, str],
    *,
    profile_error: str | None = None,
    approve: bool = True,
) -> list[Finding]:
    """Missing permissions: blocking when this load needs them, warnings for the rest of a migration's."""
    if profile is None:
        return [
            Finding(
                "permissions",
                WARNING,
                "permissions_unreadable",
                f"The token user's permissions could not be read ({profile_error or 'no answer'}); "
                "they were not checked.",
            )
        ]
    if not any(isinstance(v, Mapping) for v in profile.values()):
        return [
            Finding(
                "permissions",
                WARNING,
                "permissions_unreadable",
                "qTest reported no permissions for the token's user; they were not checked.",
            )
        ]
    findings = [
        Finding(
            "permissions",
            BLOCKING,
            "permission_missing",
            f"The token's user lacks qTest permission {name}, needed for {why}; "
            "qTest would refuse those requests (403).",
        )
        for name, why in needed.items()
        if denied(profile, name)
    ]
    for perm in migration_permissions(approve=approve):
        if perm.name not in needed and denied(profile, perm.name):
            findings.append(
                Finding(
                    "permissions",
                    WARNING,
                    "permission_missing",
                    f"The token's user lacks qTest permission {perm.name}, needed to {perm.purpose}; "
                    "this run does not need it, a later one may.",
                )
            )
    return findings


# -- pure checks: the configuration ---------------------------------------------------------------------

#: ``custom_fields`` section -> the qTest object type its labels name (as transform maps them).
CUSTOM_FIELD_OBJECT_TYPES: dict[str, str] = {
    "test_case": "test-cases",
    "test_cycle": "test-cycles",
    "test_execution": "test-runs",
    "test_plan": "releases",
}

#: Object types whose entities carry their Zephyr key in ``qtest.source_key_field`` when it exists.
SOURCE_KEY_OBJECT_TYPES = ("test-cases", "releases", "test-runs")


def _choices(found: TargetField) -> str:
    return ", ".join(v.label for v in found.allowed_values) or "none"


def _fallback(found: TargetField) -> tuple[str, str]:
    """(severity, what happens) when a mapped label is not a choice of ``found``."""
    default = found.default_field_value()
    if default is None and found.required:
        return BLOCKING, "the field is required and has no default, so those entities fail"
    if default is None:
        return WARNING, "the field stays empty and the Zephyr value is kept in text"
    return WARNING, f"its default {found.label_of(default)!r} is used and the Zephyr value is kept in text"


def check_mappings(config: ZtoqConfig, target: TargetFields) -> list[Finding]:
    """Every qTest value, user and field label the configuration names, against today's qTest."""
    findings: list[Finding] = []
    mappings = config.mappings

    def add(severity: str, code: str, message: str) -> None:
        findings.append(Finding("mappings", severity, code, message))

    priority = target.field("test-cases", "Priority")
    if mappings.priority and priority is None:
        add(
            WARNING,
            "mapping_field_missing",
            "mappings.priority is set, but qTest test-cases have no 'Priority' field.",
        )
    for zephyr, label in mappings.priority.items():
        if priority is not None and priority.choice(label) is None:
            severity, outcome = _fallback(priority)
            add(
                severity,
                "mapping_target_missing",
                f"mappings.priority maps {zephyr!r} to {label!r}, which qTest test-cases field "
                f"'Priority' does not offer (choices: {_choices(priority)}); {outcome}.",
            )
    status_fields = {
        object_type: found
        for object_type in ("test-cases", "releases", "test-cycles")
        if (found := target.field(object_type, "Status")) is not None
    }
    if mappings.status and not status_fields:
        add(
            WARNING,
            "mapping_field_missing",
            "mappings.status is set, but no qTest object type has a 'Status' field.",
        )
    for zephyr, label in mappings.status.items() if status_fields else ():
        if any(found.choice(label) is not None for found in status_fields.values()):
            continue
        offered = "; ".join(f"{t}: {_choices(f)}" for t, f in status_fields.items())
        outcomes = [_fallback(f) for f in status_fields.values()]
        severity = BLOCKING if any(s == BLOCKING for s, _ in outcomes) else WARNING
        add(
            severity,
            "mapping_target_missing",
            f"mappings.status maps {zephyr!r} to {label!r}, which no qTest 'Status' field offers "
            f"({offered}); "
            + (
                "a required Status field without default makes those entities fail."
                if severity == BLOCKING
                else "the default status is used and the Zephyr value is kept in text."
            ),
        )
    statuses = target.execution_statuses
    for zephyr, label in mappings.execution_status.items():
        if target.execution_status(label) is None:
            default = target.default_execution_status()
            offered = ", ".join(s.name for s in statuses) or "none"
            add(
                BLOCKING if default is None else WARNING,
                "mapping_target_missing",
                f"mappings.execution_status maps {zephyr!r} to {label!r}, which qTest does not offer "
                f"(statuses: {offered}); "
                + (
                    "there is no default status, so those test logs fail."
                    if default is None
                    else f"{default.name!r} is used and the Zephyr status is kept in the note."
                ),
            )
    if target.users:
        for account, user in mappings.users.items():
            if target.user(user) is None:
                add(
                    WARNING,
                    "user_missing",
                    f"mappings.users maps Jira account {account} to qTest user {user!r}, who is not an "
                    f"active member of qTest project {config.qtest.project_id}; that person is named in "
                    "text instead.",
                )
        default_user = mappings.default_user
        if default_user not in (None, "") and target.user(default_user) is None:
            add(
                WARNING,
                "user_missing",
                f"mappings.default_user {default_user!r} is not an active member of qTest project "
                f"{config.qtest.project_id}; unmapped users are only named in text.",
            )
    if mappings.environment_field and target.field("test-runs", mappings.environment_field) is None:
        add(
            WARNING,
            "field_missing",
            f"mappings.environment_field {mappings.environment_field!r} is not a field of qTest test-runs; "
            "environments are written into the test log notes instead.",
        )
    key_field = config.qtest.source_key_field
    lacking = [t for t in SOURCE_KEY_OBJECT_TYPES if key_field and target.field(t, key_field) is None]
    if lacking:
        add(
            WARNING,
            "field_missing",
            f"qtest.source_key_field {key_field!r} is not a field of qTest {', '.join(lacking)}; their "
            "Zephyr keys are written as the last line of the description or note instead.",
        )
    for member, label in mappings.test_case_fields.items():
        if target.field("test-cases", label) is None:
            add(
                WARNING,
                "field_missing",
                f"mappings.test_case_fields maps {member!r} to qTest field {label!r}, which qTest "
                "test-cases do not have; the value is kept in text.",
            )
    for section, object_type in CUSTOM_FIELD_OBJECT_TYPES.items():
        for zephyr, label in getattr(config.custom_fields, section).items():
            if target.field(object_type, label) is None:
                known = ", ".join(f.label for f in target.fields(object_type)) or "none"
                add(
                    WARNING,
                    "field_missing",
                    f"custom_fields.{section} maps Zephyr field {zephyr!r} to qTest field {label!r}, which "
                    f"qTest {object_type} do not have (fields: {known}); the value is kept in text.",
                )
    return findings


# -- the store ---------------------------------------------------------------------------------------------


def _planned_failures(repo: Repository, project_key: str) -> tuple[list[Finding], list[ProblemGroup]]:
    """Transform problems grouped by severity, code and type; failed ones as blocking findings."""
    # (severity, code, type) -> (first message, keys of the entities concerned, in recorded order)
    groups: dict[tuple[str, str, str], tuple[str, dict[str, None]]] = {}
    for problem in repo.iter_problems(project_key, phase="transform"):
        key = (problem.severity, problem.code, problem.entity_type)
        groups.setdefault(key, (problem.message, {}))[1][problem.source_key] = None
    summary = [
        ProblemGroup(severity, code, entity_type, len(keys), message, tuple(list(keys)[:EXAMPLES]))
        for (severity, code, entity_type), (message, keys) in groups.items()
    ]
    order = {t: i for i, t in enumerate(LOAD_ORDER)}
    rank = {"failed": 0, "skipped": 1, "degraded": 2}
    summary.sort(key=lambda g: (rank.get(g.severity, 3), order.get(g.entity_type, 99), -g.count, g.code))
    findings = [
        Finding(
            "plan",
            BLOCKING,
            g.code,
            f"Transform could not plan these; they cannot be sent. First reason: {g.message.rstrip('.')}",
            g.entity_type,
            g.count,
            g.examples,
        )
        for g in summary
        if g.severity == "failed"
    ]
    return findings, summary


def scan_plan(
    repo: Repository, project_key: str, target: TargetFields, names: Names
) -> tuple[list[TypeCounts], list[Finding]]:
    """Counts per type of what a load would send, and the field/required findings of what it sends."""
    planned = repo.planned_counts(project_key)
    grouper = Grouper()
    counts: list[TypeCounts] = []
    for entity_type in LOAD_ORDER:
        by_status = planned.get(entity_type, {})
        row = TypeCounts(
            entity_type, planned=by_status.get("planned", 0), not_planned=by_status.get("skipped", 0)
        )
        for work in repo.iter_load_work(project_key, entity_type):
            action = classify(work)
            if action == "unchanged":
                continue
            if action == "create":
                row.create += 1
            else:
                row.update += 1
            body = decode_planned(
                work.planned.entity_type, work.planned.source_key, work.planned.payload
            ).body
            body = body or {}
            grouper.add(
                entity_type,
                work.planned.source_key,
                [
                    *check_entity(entity_type, body, target, names),
                    *required_issues(entity_type, body, target, names),
                ],
            )
        row.unchanged = max(0, row.planned - row.send)
        counts.append(row)
    return counts, grouper.findings()


def stored_settings(repo: Repository, project_key: str) -> dict[str, Any]:
    """The qTest field settings extract stored (object type -> FieldResource list)."""
    return {r.source_key: r.payload for r in repo.iter_source(project_key, "qtest_fields")}


def run_preflight(
    config: ZtoqConfig,
    *,
    store: Store | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> PreflightReport:
    """Check, with GET requests only, what a load of the current plan would meet in qTest.

    Raises:
        ConfigError: qTest settings are missing or wrong, or nothing is planned yet (exit 2).
    """
    config.require_target()
    key = config.zephyr.project_key
    own_store = store is None
    store = store or open_store(config.database)
    try:
        with store.session() as repo:
            if not repo.planned_counts(key):
                raise ConfigError(
                    f"Nothing is planned for Zephyr project {key!r} in {store.description}; run extract and "
                    "transform first (ztoq migrate run --dry-run does both)."
                )
            settings = stored_settings(repo, key)
        facts = asyncio.run(gather_qtest_facts(config, stored_settings=settings, transport=transport))
        with store.session() as repo:
            counts, entity_findings = scan_plan(repo, key, facts.target, facts.names)
            plan_findings, summary = _planned_failures(repo, key)
    finally:
        if own_store:
            store.close()
    approve = config.qtest.approve_test_cases
    findings = [
        *plan_findings,
        *entity_findings,
        *check_permissions(
            facts.profile,
            needed_permissions(counts, approve=approve),
            profile_error=facts.profile_error,
            approve=approve,
        ),
        *check_mappings(config, facts.target),
    ]
    return PreflightReport(
        project_key=key,
        qtest_project_id=facts.project_id,
        qtest_project_name=facts.project_name,
        counts=counts,
        findings=findings,
        transform=summary,
        qtest_requests=facts.requests,
    )
