"""``ztoq fields plan``: every Zephyr field that carries values in the store, and where it lands in qTest.

The plan reads only the store: the records extract stored (decoded by the source's record reader,
a batch at a time) and the qTest field settings extract stored (:func:`load_target_fields`). It
names each field's qTest label exactly as transform will look it up (``custom_fields``,
``mappings``, else the same label), so what the plan calls "existing" is what transform fills.
The decisions themselves are pure (:mod:`ztoq.pipeline.fields_decide`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ztoq.config import ZtoqConfig
from ztoq.mapping.entity_rules import reference_name
from ztoq.mapping.fields import duration_text
from ztoq.mapping.lookups import SourceLookups, TargetFields, fold
from ztoq.mapping.properties import lookup_label
from ztoq.mapping.testcases import STANDARD_LABELS
from ztoq.pipeline.fields_decide import MISSING, FieldPlan, FieldTally, decide_landing
from ztoq.pipeline.source_rows import StoreRows, stored_reader
from ztoq.pipeline.target import load_target_fields
from ztoq.sources.records import TestCase, TestCycle, TestExecution, TestPlan
from ztoq.store import Repository, open_store

#: Entity kinds in the order the plan lists them: (kind, title, qTest object type, qTest name).
KINDS: tuple[tuple[str, str, str, str], ...] = (
    ("test_case", "test case", "test-cases", "test cases"),
    ("test_plan", "test plan", "releases", "releases"),
    ("test_cycle", "test cycle", "test-cycles", "test cycles"),
    ("test_execution", "execution", "test-runs", "test runs and test logs"),
)
OBJECT_TYPE = {kind: object_type for kind, _, object_type, _ in KINDS}


@dataclass(frozen=True)
class FieldToCreate:
    """A qTest field ``fields apply`` creates: where, its label, data type and allowed values."""

    object_type: str
    label: str
    data_type: int
    multiple: bool
    choices: tuple[str, ...]


@dataclass(frozen=True)
class ChoicesToAdd:
    """Allowed values ``fields apply`` adds to an existing pick list (when the user agrees)."""

    object_type: str
    field_id: int
    label: str
    choices: tuple[str, ...]


@dataclass(frozen=True)
class FieldsPlan:
    """Every Zephyr field with values, per entity kind, and where it lands in qTest."""

    project_key: str
    qtest_project_id: int
    rows: tuple[FieldPlan, ...]

    def to_create(self) -> list[FieldToCreate]:
        """The missing fields, once per (object type, label): two Zephyr fields may share one."""
        found: dict[tuple[str, str], FieldToCreate] = {}
        for row in self.rows:
            if row.status != MISSING or row.data_type is None:
                continue
            key = (row.object_type, fold(row.label))
            earlier = found.get(key)
            if earlier is None:
                found[key] = FieldToCreate(
                    row.object_type, row.label, row.data_type, row.multiple, row.choices
                )
            elif earlier.data_type == row.data_type and row.choices:
                merged = {fold(c): c for c in (*earlier.choices, *row.choices)}
                found[key] = FieldToCreate(
                    earlier.object_type,
                    earlier.label,
                    earlier.data_type,
                    earlier.multiple,
                    tuple(merged.values()),
                )
        return list(found.values())

    def to_extend(self) -> list[ChoicesToAdd]:
        """The existing pick lists that lack observed values, once per field."""
        found: dict[tuple[str, int], ChoicesToAdd] = {}
        for row in self.rows:
            if not row.missing_choices or row.field_id is None:
                continue
            key = (row.object_type, row.field_id)
            earlier = found.get(key)
            choices = row.missing_choices if earlier is None else (*earlier.choices, *row.missing_choices)
            unique = tuple({fold(c): c for c in choices}.values())
            found[key] = ChoicesToAdd(row.object_type, row.field_id, row.label, unique)
        return list(found.values())

    def to_json(self) -> dict[str, Any]:
        """The plan as ``--json`` and ``--output-file`` write it."""
        return {
            "project_key": self.project_key,
            "qtest_project_id": self.qtest_project_id,
            "fields": [row.to_json() for row in self.rows],
            "to_create": [
                {
                    "qtest_object_type": f.object_type,
                    "qtest_label": f.label,
                    "data_type": f.data_type,
                    "multiple": f.multiple,
                    "choices": list(f.choices),
                }
                for f in self.to_create()
            ],
            "to_extend": [
                {
                    "qtest_object_type": c.object_type,
                    "qtest_field_id": c.field_id,
                    "qtest_label": c.label,
                    "choices": list(c.choices),
                }
                for c in self.to_extend()
            ],
        }


class Tallies:
    """The tallies of one plan, in the order fields are first met (standard members first)."""

    def __init__(self, config: ZtoqConfig) -> None:
        self.config = config
        self.by_key: dict[tuple[str, str], FieldTally] = {}
        self.people: set[str] = set()

    def tally(
        self,
        kind: str,
        name: str,
        label: str,
        via: str,
        *,
        standard: bool = False,
        user: bool = False,
        free_text: bool = False,
    ) -> FieldTally:
        """The tally of Zephyr field ``name`` of ``kind``, made on first use."""
        key = (kind, name)
        found = self.by_key.get(key)
        if found is None:
            found = FieldTally(kind, name, label, via, standard=standard, user=user, free_text=free_text)
            self.by_key[key] = found
        return found

    def standard(
        self,
        kind: str,
        name: str,
        value: Any,
        label: str | None = None,
        via: str = "",
        *,
        user: bool = False,
        free_text: bool = False,
    ) -> None:
        """Count a record member's value (labels, owner, ...)."""
        tally = self.tally(
            kind, name, label or name, via or "same label", standard=True, user=user, free_text=free_text
        )
        tally.add(value)

    def person(
        self, kind: str, name: str, account: str | None, label: str | None = None, via: str = ""
    ) -> None:
        """Count a Jira user member (an owner)."""
        if account:
            self.people.add(account)
            self.standard(kind, name, account, label, via, user=True)

    def custom(self, kind: str, fields: Mapping[str, Any]) -> None:
        """Count the custom field values of one record of ``kind``."""
        # The custom field map has one section per entity kind, named as the kinds are.
        configured: dict[str, str] = getattr(self.config.custom_fields, kind)
        for name, value in fields.items():
            label = lookup_label(configured, name)
            via = f"custom_fields.{kind}" if label else "same label"
            self.tally(kind, name, label or name, via).add(value)


def _test_case(tallies: Tallies, case: TestCase) -> None:
    configured = tallies.config.mappings.test_case_fields
    members: tuple[tuple[str, Any], ...] = (
        ("estimatedTime", case.estimated_time),
        ("labels", list(case.labels)),
        ("component", None if case.component is None else reference_name(case.component, {}, "component")),
        ("createdOn", case.created_on),
    )
    for member, value in members:
        label = lookup_label(configured, member)
        via = "mappings.test_case_fields" if label else "same label"
        tallies.standard("test_case", member, value, label or STANDARD_LABELS[member], via)
    label = lookup_label(configured, "owner")
    via = "mappings.test_case_fields" if label else "same label"
    tallies.person("test_case", "owner", case.owner, label or STANDARD_LABELS["owner"], via)
    tallies.custom("test_case", case.custom_fields)


def _test_plan(tallies: Tallies, plan: TestPlan, lookups: SourceLookups) -> None:
    tallies.person("test_plan", "Owner", plan.owner)
    tallies.standard("test_plan", "Labels", list(plan.labels))
    folder = None if plan.folder is None else lookups.folder_path(plan.folder)
    tallies.standard("test_plan", "Folder", folder, free_text=True)
    tallies.custom("test_plan", plan.custom_fields)


def _test_cycle(tallies: Tallies, cycle: TestCycle) -> None:
    tallies.standard("test_cycle", "Planned Start Date", cycle.planned_start_date)
    tallies.standard("test_cycle", "Planned End Date", cycle.planned_end_date)
    tallies.person("test_cycle", "Owner", cycle.owner)
    version = None if cycle.jira_version is None else reference_name(cycle.jira_version, {}, "version")
    tallies.standard("test_cycle", "Jira Version", version)
    tallies.custom("test_cycle", cycle.custom_fields)


def _execution(tallies: Tallies, execution: TestExecution, lookups: SourceLookups) -> None:
    env = lookups.name_of(lookups.environments, execution.environment)
    if env is None and execution.environment is not None and execution.environment.id is not None:
        env = f"environment {execution.environment.id}"
    label = tallies.config.mappings.environment_field
    tallies.standard("test_execution", "Environment", env, label, "mappings.environment_field")
    estimated = None if execution.estimated_time is None else duration_text(execution.estimated_time)
    tallies.standard("test_execution", "Estimated time", estimated, free_text=True)
    version = (
        None if execution.jira_version is None else reference_name(execution.jira_version, {}, "version")
    )
    tallies.standard("test_execution", "Jira Version", version)
    tallies.standard("test_execution", "Automated", True if execution.automated else None)
    for account in (execution.executed_by, execution.assigned_to):
        if account:
            tallies.people.add(account)
    tallies.custom("test_execution", execution.custom_fields)


def _each(records: Iterable[Any], add: Callable[[Any], None]) -> None:
    for record in records:
        add(record)


def plan_from_tallies(
    project_key: str, qtest_project_id: int, tallies: Tallies, target: TargetFields
) -> FieldsPlan:
    """The plan of the fields counted in ``tallies`` against the target's fields (pure)."""
    mapped = frozenset(str(account) for account in tallies.config.mappings.users)
    people = frozenset(tallies.people)
    order = {kind: index for index, (kind, *_rest) in enumerate(KINDS)}
    types = tallies.config.field_types
    rows = [
        decide_landing(
            tally, OBJECT_TYPE[tally.kind], target, people, mapped, types.code_of(tally.kind, tally.name)
        )
        for tally in sorted(tallies.by_key.values(), key=lambda t: (order[t.kind], not t.standard))
        if tally.count
    ]
    return FieldsPlan(project_key, qtest_project_id, tuple(rows))


def read_fields_plan(repo: Repository, config: ZtoqConfig, target: TargetFields | None = None) -> FieldsPlan:
    """The fields plan of the configured project, from what extract stored.

    Args:
        repo: An open session of the store.
        config: The configuration (project, custom field map, ``field_types``).
        target: The qTest fields to plan against (the preflight's, read today); by default
            those extract stored.

    Raises:
        ConfigError: the store holds no qTest field settings (run extract with qTest configured).
    """
    project_key = config.zephyr.project_key
    target = target if target is not None else load_target_fields(repo, project_key)
    reader = stored_reader(repo, project_key)
    rows = StoreRows(repo, project_key, config.performance.batch_size)
    lookups = SourceLookups.build(folders=reader.folders(rows), environments=reader.environments(rows))
    tallies = Tallies(config)
    _each(reader.test_cases(rows), lambda case: _test_case(tallies, case))
    _each(reader.test_plans(rows), lambda plan: _test_plan(tallies, plan, lookups))
    _each(reader.test_cycles(rows), lambda cycle: _test_cycle(tallies, cycle))
    _each(
        reader.test_executions(rows, with_steps=False),
        lambda execution: _execution(tallies, execution, lookups),
    )
    return plan_from_tallies(project_key, config.qtest.project_id, tallies, target)


def plan_fields(config: ZtoqConfig) -> FieldsPlan:
    """The fields plan of the configured project, read from its store (nothing is written).

    Raises:
        StoreError: the store does not exist or is not a ztoq store.
        ConfigError: the store holds no qTest field settings (run extract with qTest configured).
    """
    with open_store(config.database, create_if_empty=False) as store, store.session() as repo:
        return read_fields_plan(repo, config)
