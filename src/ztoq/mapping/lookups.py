"""The lookup tables every mapping function reads: what the qTest target offers, what the source referenced.

All are small frozen dataclasses built once per transform run (the target's from its raw API
JSON, the source's from canonical records), so the mapping functions stay pure: the same record
and the same lookups always give the same plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ztoq.config import ZtoqConfig
from ztoq.mapping.source_index import OptionKey, SourceIndex
from ztoq.sources.records import Folder, Option, Ref, TestCase, TestCycle, TestData, TestPlan
from ztoq.values import int_or_none


def fold(text: str) -> str:
    """The form two labels are compared in: qTest labels are matched case-insensitively, trimmed."""
    return text.strip().casefold()


@dataclass(frozen=True)
class AllowedValue:
    """One choice of a qTest pick list, multi-select or user list (``AllowedValueResource``)."""

    value: int
    label: str
    is_default: bool = False


@dataclass(frozen=True)
class TargetField:
    """One qTest field setting (``FieldResource``) of one object type."""

    id: int
    label: str
    data_type: int | None = None
    allowed_values: tuple[AllowedValue, ...] = ()
    multiple: bool = False
    required: bool = False
    default_value: str | None = None
    system_field: bool = False
    attribute_type: str | None = None
    original_name: str | None = None

    @classmethod
    def from_resource(cls, raw: Mapping[str, Any]) -> TargetField | None:
        """A field from its API JSON; None for a field qTest reports inactive or without id/label."""
        field_id = int_or_none(raw.get("id"))
        label = raw.get("label")
        if field_id is None or not isinstance(label, str) or raw.get("is_active") is False:
            return None
        values = tuple(
            AllowedValue(int(v["value"]), str(v.get("label", "")), bool(v.get("is_default")))
            for v in raw.get("allowed_values") or ()
            # Inactive choices cannot be set any more; matching them would make qTest reject the body.
            if int_or_none(v.get("value")) is not None and v.get("is_active") is not False
        )
        default = raw.get("default_value")
        return cls(
            id=field_id,
            label=label,
            data_type=int_or_none(raw.get("data_type")),
            allowed_values=values,
            multiple=bool(raw.get("multiple")),
            required=bool(raw.get("required")),
            default_value=None if default in (None, "") else str(default),
            system_field=bool(raw.get("system_field")),
            attribute_type=raw.get("attribute_type") or raw.get("instanceType"),
            original_name=raw.get("original_name"),
        )

    def choice(self, label: str) -> AllowedValue | None:
        """The allowed value whose label equals ``label`` (case-insensitive, trimmed)."""
        wanted = fold(label)
        return next((v for v in self.allowed_values if fold(v.label) == wanted), None)

    def default_field_value(self) -> str | None:
        """The ``field_value`` qTest would use by default, or None when the field has no default.

        ``default_value`` may hold an allowed value's id or its label depending on the qTest
        version, so both are accepted; a choice flagged ``is_default`` comes next.
        """
        if self.allowed_values:
            if self.default_value is not None:
                for v in self.allowed_values:
                    if str(v.value) == self.default_value.strip():
                        return str(v.value)
                by_label = self.choice(self.default_value)
                if by_label is not None:
                    return str(by_label.value)
            flagged = next((v for v in self.allowed_values if v.is_default), None)
            return None if flagged is None else str(flagged.value)
        return self.default_value

    def label_of(self, field_value: str) -> str:
        """The label of a choice id (for messages), else the value itself."""
        return next((v.label for v in self.allowed_values if str(v.value) == field_value), field_value)


@dataclass(frozen=True)
class ExecutionStatus:
    """One qTest test-run execution status (``GET /test-runs/execution-statuses``)."""

    id: int
    name: str
    is_default: bool = False


@dataclass(frozen=True)
class TargetUser:
    """One qTest user, as listed by the users API."""

    id: int
    username: str = ""
    email: str = ""
    first_name: str = ""
    last_name: str = ""


#: qTest object types whose field settings ztoq reads (path segment of /settings/{type}/fields).
OBJECT_TYPES: tuple[str, ...] = ("test-cases", "test-runs", "releases", "test-cycles", "test-suites")


@dataclass(frozen=True)
class TargetFields:
    """What the qTest target project offers: fields per object type, execution statuses, users."""

    by_object: Mapping[str, tuple[TargetField, ...]] = field(default_factory=dict)
    execution_statuses: tuple[ExecutionStatus, ...] = ()
    users: tuple[TargetUser, ...] = ()

    @classmethod
    def from_settings(
        cls,
        settings: Mapping[str, Sequence[Mapping[str, Any]]],
        execution_statuses: Iterable[Mapping[str, Any]] = (),
        users: Iterable[Mapping[str, Any]] = (),
    ) -> TargetFields:
        """Build from raw qTest JSON: ``{"test-cases": [FieldResource, ...], ...}``, statuses, users."""
        by_object: dict[str, tuple[TargetField, ...]] = {}
        for object_type, raw_fields in settings.items():
            parsed = (TargetField.from_resource(f) for f in raw_fields)
            by_object[object_type] = tuple(f for f in parsed if f is not None)
        statuses = tuple(
            ExecutionStatus(int(s["id"]), str(s.get("name", "")), bool(s.get("is_default")))
            for s in execution_statuses
            if int_or_none(s.get("id")) is not None
        )
        people = tuple(
            TargetUser(
                id=int(u["id"]),
                username=str(u.get("username") or ""),
                email=str(u.get("email") or ""),
                first_name=str(u.get("first_name") or ""),
                last_name=str(u.get("last_name") or ""),
            )
            for u in users
            if int_or_none(u.get("id")) is not None
        )
        return cls(by_object=by_object, execution_statuses=statuses, users=people)

    def fields(self, object_type: str) -> tuple[TargetField, ...]:
        """All active fields of an object type ("test-cases", "test-runs", ...)."""
        return self.by_object.get(object_type, ())

    def field(self, object_type: str, label: str | None) -> TargetField | None:
        """The field of ``object_type`` labelled ``label`` (case-insensitive), or None."""
        if not label:
            return None
        wanted = fold(label)
        return next((f for f in self.fields(object_type) if fold(f.label) == wanted), None)

    def execution_status(self, name: str) -> ExecutionStatus | None:
        """The qTest execution status named ``name`` (case-insensitive), or None."""
        wanted = fold(name)
        return next((s for s in self.execution_statuses if fold(s.name) == wanted), None)

    def default_execution_status(self) -> ExecutionStatus | None:
        """The status qTest flags as default, else "Unexecuted", else None."""
        flagged = next((s for s in self.execution_statuses if s.is_default), None)
        return flagged or self.execution_status("Unexecuted")

    def user(self, login_or_id: str | int) -> TargetUser | None:
        """The qTest user with this id, username or email (case-insensitive), or None."""
        as_id = int_or_none(login_or_id)
        if as_id is not None:
            return next((u for u in self.users if u.id == as_id), None)
        wanted = fold(str(login_or_id))
        return next((u for u in self.users if wanted in (fold(u.username), fold(u.email))), None)


@dataclass(frozen=True)
class UserResolver:
    """Jira account id -> qTest user id, through ``mappings.users`` and ``mappings.default_user``."""

    mapping: Mapping[str, str | int]
    default_user: str | int | None
    target: TargetFields

    @classmethod
    def from_config(cls, config: ZtoqConfig, target: TargetFields) -> UserResolver:
        return cls(dict(config.mappings.users), config.mappings.default_user, target)

    def _to_id(self, login_or_id: str | int) -> int | None:
        user = self.target.user(login_or_id)
        if user is not None:
            return user.id
        as_id = int_or_none(login_or_id)
        # A numeric id is trusted when the target's user list was not supplied: it cannot be checked.
        return as_id if as_id is not None and not self.target.users else None

    def resolve(self, account_id: str) -> int | None:
        """The qTest user id mapped to a Jira account id, or None when unmapped or unknown."""
        target = self.mapping.get(account_id)
        return None if target is None else self._to_id(target)

    def default_id(self) -> int | None:
        """The qTest id of ``mappings.default_user``, or None."""
        if self.default_user is None or self.default_user == "":
            return None
        return self._to_id(self.default_user)


@dataclass(frozen=True)
class SourceLookups:
    """What source records refer to, indexed from canonical records (:mod:`ztoq.sources.records`).

    Attributes:
        folders: folder key -> Folder (all folder kinds).
        statuses: status id (or name, for a source without ids) -> Status (test case, plan,
            cycle and execution statuses).
        priorities: priority id (or name) -> Priority.
        environments: environment id (or name) -> Environment.
        test_case_keys: keys of every test case that exists (targets of call-to-test steps).
        test_case_names: test case key -> name (names test runs).
        test_case_step_counts: test case key -> number of qTest steps its migrated version has
            (see :func:`ztoq.mapping.testcases.planned_step_count`).
        test_cycle_keys: test cycle id -> key (executions may refer to cycles by id).
        test_plan_keys: test plan id -> key (cycles may refer to plans by id).
        all_test_cycle_keys: keys of every test cycle, with or without an id (records may
            refer to cycles by key).
        all_test_plan_keys: keys of every test plan, with or without an id.
        test_data: test case key -> its test data (data-driven test cases only).
        plan_keys_by_cycle: test cycle id (or key) -> keys of the plans linking it (from the
            plans' side), keyed the way the plans refer to it.
        issue_keys: Jira issue id -> issue key, when the extractor resolved them.
        user_names: Jira account id -> display name, when known.
        component_names: Jira component id -> name, when known.
        version_names: Jira version id -> name, when known.
    """

    folders: Mapping[str, Folder] = field(default_factory=dict)
    statuses: Mapping[OptionKey, Option] = field(default_factory=dict)
    priorities: Mapping[OptionKey, Option] = field(default_factory=dict)
    environments: Mapping[OptionKey, Option] = field(default_factory=dict)
    test_case_keys: frozenset[str] = frozenset()
    test_case_names: Mapping[str, str] = field(default_factory=dict)
    test_case_step_counts: Mapping[str, int] = field(default_factory=dict)
    test_cycle_keys: Mapping[int, str] = field(default_factory=dict)
    test_plan_keys: Mapping[int, str] = field(default_factory=dict)
    all_test_cycle_keys: frozenset[str] = frozenset()
    all_test_plan_keys: frozenset[str] = frozenset()
    test_data: Mapping[str, TestData] = field(default_factory=dict)
    plan_keys_by_cycle: Mapping[int | str, tuple[str, ...]] = field(default_factory=dict)
    issue_keys: Mapping[int, str] = field(default_factory=dict)
    user_names: Mapping[str, str] = field(default_factory=dict)
    component_names: Mapping[int, str] = field(default_factory=dict)
    version_names: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        folders: Iterable[Folder] = (),
        statuses: Iterable[Option] = (),
        priorities: Iterable[Option] = (),
        environments: Iterable[Option] = (),
        test_cases: Iterable[TestCase] = (),
        test_cycles: Iterable[TestCycle] = (),
        test_plans: Iterable[TestPlan] = (),
        test_case_step_counts: Mapping[str, int] | None = None,
        issue_keys: Mapping[int, str] | None = None,
        user_names: Mapping[str, str] | None = None,
        component_names: Mapping[int, str] | None = None,
        version_names: Mapping[int, str] | None = None,
    ) -> SourceLookups:
        """Index canonical records held in memory (transform streams them through a ``SourceIndex``)."""
        index = SourceIndex()
        index.add_folders(folders)
        index.add_options("statuses", statuses)
        index.add_options("priorities", priorities)
        index.add_options("environments", environments)
        for test_case in test_cases:
            index.add_test_case(test_case)
        for plan in test_plans:
            index.add_test_plan(plan)
        for cycle in test_cycles:
            index.add_test_cycle(cycle)
        return cls(
            **index.tables(),
            test_case_step_counts=dict(test_case_step_counts or {}),
            issue_keys=dict(issue_keys or {}),
            user_names=dict(user_names or {}),
            component_names=dict(component_names or {}),
            version_names=dict(version_names or {}),
        )

    def name_of(self, table: Mapping[OptionKey, Option], ref: Ref | None) -> str | None:
        """The name a reference gives, else that of the record it points at; None when unknown."""
        if ref is None:
            return None
        if ref.name is not None:
            return ref.name
        record = None if ref.id is None else table.get(ref.id)
        return None if record is None else record.name

    def user_label(self, account_id: str) -> str:
        """A person as written in text: "Ada Lovelace (5b10...)" or the bare account id."""
        name = self.user_names.get(account_id)
        return f"{name} ({account_id})" if name else account_id

    def folder_path(self, folder: Ref) -> str:
        """The "/"-joined folder names from the top down to ``folder`` (cycle-safe)."""
        names: list[str] = []
        seen: set[str] = set()
        current: str | None = folder.key
        while current is not None and current in self.folders and current not in seen:
            seen.add(current)
            record = self.folders[current]
            names.append(record.name or current)
            current = None if record.parent is None else record.parent.key
        return "/".join(reversed(names)) if names else folder.key
