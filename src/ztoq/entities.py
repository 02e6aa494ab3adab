"""The entity registry: every planned qTest entity type, in dependency order, with its facts.

This is the one answer to "which entity types exist". Every per-type table of the pipeline
(planners, loaders, validators, rollback and deletion order, preflight's field and permission
checks, status counts, report order) is derived from :data:`ENTITY_TYPES` or keyed by its names;
``tests/unit/core/test_entity_registry.py`` fails when a registered type is missing from a table,
or a table names a type that is not registered. Data only: it imports nothing but vendor facts.
"""

from __future__ import annotations

from dataclasses import dataclass

from ztoq.vendor import ZEPHYR_FOLDER_TEST_CASE, ZEPHYR_FOLDER_TEST_CYCLE


@dataclass(frozen=True)
class EntityType:
    """One planned entity type.

    Attributes:
        name: the type's name in the store, the report and messages ("test_case").
        singular: how a message names one ("test case").
        plural: how a message names several ("test cases").
        sources: the stored Zephyr entity types it is planned from (canonical record kinds).
        object_type: the qTest object type whose field settings its properties use, or None
            when it has no properties (modules).
        permission_area: the qTest permission area that creating or editing it needs.
        parents: the planned types its qTest parent can be; empty when it sits at the project's
            top level (releases) or its parent is inside its body (test cases).
        deleted_alone: rollback and deletion propagation delete it by itself; False for types
            that go with their parent (a test log with its test run).
        counted_from: the stored source type counted one to one for "how many does Zephyr hold",
            or None when the count comes from folders or from the plan.
        folder_type: for types built from a folder tree, the Zephyr folder type (one entity per
            folder, plus a root).
        needs_execute: creating it is "executing" in qTest (test logs), not "creating".
        parent_option: the load option that carries its parent ("parent_id", or "run" for a
            test log), or None when its parent is not a load option.
        body_parent: the body member that carries its parent instead ("parent_id" of a test case).
        kind: what qTest calls this kind of object ("test-cycle" for test cycles and cycle folders);
            a parent is named by its kind and id.
    """

    name: str
    singular: str
    plural: str
    sources: tuple[str, ...]
    object_type: str | None
    permission_area: str
    parents: tuple[str, ...] = ()
    deleted_alone: bool = True
    counted_from: str | None = None
    folder_type: str | None = None
    needs_execute: bool = False
    parent_option: str | None = None
    body_parent: str | None = None
    kind: str = ""

    def noun(self, count: int) -> str:
        """ "1 test case", "3 test cases"."""
        return f"{count} {self.singular if count == 1 else self.plural}"


#: Every planned entity type, in load order: dependencies first.
ENTITY_TYPES: tuple[EntityType, ...] = (
    EntityType(
        "module",
        "module",
        "modules",
        sources=("folder",),
        object_type=None,
        permission_area="module",
        parents=("module",),
        parent_option="parent_id",
        folder_type=ZEPHYR_FOLDER_TEST_CASE,
        kind="module",
    ),
    EntityType(
        "test_case",
        "test case",
        "test cases",
        sources=("test_case", "test_steps", "test_script"),
        object_type="test-cases",
        permission_area="test_case",
        parents=("module",),
        body_parent="parent_id",
        counted_from="test_case",
        kind="test-case",
    ),
    EntityType(
        "release",
        "release",
        "releases",
        sources=("test_plan",),
        object_type="releases",
        permission_area="release",
        counted_from="test_plan",
        kind="release",
    ),
    EntityType(
        "cycle_folder",
        "cycle folder",
        "cycle folders",
        sources=("folder",),
        object_type="test-cycles",
        permission_area="test_cycle",
        parents=("cycle_folder",),
        parent_option="parent_id",
        folder_type=ZEPHYR_FOLDER_TEST_CYCLE,
        kind="test-cycle",
    ),
    EntityType(
        "test_cycle",
        "test cycle",
        "test cycles",
        sources=("test_cycle",),
        object_type="test-cycles",
        permission_area="test_cycle",
        parents=("release", "cycle_folder"),
        parent_option="parent_id",
        counted_from="test_cycle",
        kind="test-cycle",
    ),
    EntityType(
        "test_run",
        "test run",
        "test runs",
        sources=("test_execution",),
        object_type="test-runs",
        permission_area="test_run",
        parents=("test_cycle",),
        parent_option="parent_id",
        kind="test-run",
    ),
    EntityType(
        "test_log",
        "test log",
        "test logs",
        sources=("test_execution", "execution_steps"),
        object_type="test-runs",
        permission_area="test_run",
        parents=("test_run",),
        deleted_alone=False,
        needs_execute=True,
        parent_option="run",
        kind="test-log",
    ),
    EntityType(
        "attachment",
        "attachment",
        "attachments",
        sources=("attachment",),
        object_type=None,
        permission_area="test_case",
        parents=("test_case", "release", "test_log"),
        parent_option="parent_id",
        kind="attachment",
    ),
)

#: The registry by name.
BY_NAME: dict[str, EntityType] = {t.name: t for t in ENTITY_TYPES}

#: Planned entity type names in load order (dependencies first).
LOAD_ORDER: tuple[str, ...] = tuple(t.name for t in ENTITY_TYPES)

#: What rollback and deletion propagation delete, in reverse dependency order.
DELETE_ORDER: tuple[str, ...] = tuple(t.name for t in reversed(ENTITY_TYPES) if t.deleted_alone)


def entity_type(name: str) -> EntityType:
    """The registered type called ``name``.

    Raises:
        KeyError: ``name`` is not a registered entity type.
    """
    return BY_NAME[name]


def noun(name: str | None, count: int) -> str:
    """ "1 test case", "3 test cases"; an unregistered name is used as it is."""
    registered = BY_NAME.get(name or "")
    if registered is not None:
        return registered.noun(count)
    if name:
        return f"{count} {name if count == 1 else name + 's'}"
    return f"{count} {'entity' if count == 1 else 'entities'}"
