"""What validation reads of the store: its setup, a batch's expectations, and where problems go.

:func:`read_setup` is read once per validation (a few rows); :func:`read_batch` turns a page of
planned entities into the :class:`~ztoq.pipeline.validate_types.ExpectedProject` the pure
validators take; :func:`flush` writes what was found and lets it go.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

from ztoq.entities import BY_NAME
from ztoq.mapping.modules import ROOT_KEY
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.status import source_counts
from ztoq.pipeline.target import load_target_fields, source_key_field_ids
from ztoq.pipeline.validate_keys import KnownKeys
from ztoq.pipeline.validate_types import PHASE, ExpectedProject, SnapshotScope, ValidationResult
from ztoq.plan import decode_planned, find_refs
from ztoq.store import TARGET_STATES, EntityKey, PlannedRecord, ProblemItem, Repository

#: The test-case fields whose values are compared, by label.
CHECKED_CASE_FIELDS = ("Priority", "Status")

#: Planned entities per page when only their references are read.
_REFS_PAGE = 1000


@dataclass(frozen=True)
class ValidationSetup:
    """What every batch of a validation shares, read from the store once (a few rows).

    Attributes:
        project_key: the Zephyr project.
        base: an :class:`ExpectedProject` with no planned entity: the source counts and the
            compared fields, which every batch's expectations copy.
        scope: what to read back from qTest.
    """

    project_key: str
    base: ExpectedProject
    scope: SnapshotScope


def _cycle_release_ids(repo: Repository, project_key: str) -> frozenset[int]:
    """The qTest ids of the releases the plan puts test cycles or cycle folders under."""
    releases: set[EntityKey] = set()
    for entity_type in ("cycle_folder", "test_cycle"):
        after: tuple[int, str, str] | None = None
        while True:
            page = repo.planned_refs_page(project_key, entity_type, after=after, limit=_REFS_PAGE)
            releases.update(ref for row in page for ref in row[3] if ref[0] == "release")
            if len(page) < _REFS_PAGE:
                break
            after = page[-1][:3]
    return frozenset(repo.target_ids(project_key, releases).values())


def read_setup(
    repo: Repository, project_key: str, key_field_label: str | None, root_module_name: str, *, deep: bool
) -> ValidationSetup:
    """The source counts, compared fields and read-back scope of a validation.

    Raises:
        ConfigError: the store has no qTest field settings (extract has not read them).
    """
    fields = load_target_fields(repo, project_key)
    case_object_type = str(BY_NAME["test_case"].object_type)
    checked = {
        found.id: found.label
        for label in CHECKED_CASE_FIELDS
        if (found := fields.field(case_object_type, label)) is not None
    }
    key_field = fields.field(case_object_type, key_field_label)
    key_fields = source_key_field_ids(fields, key_field_label) if key_field_label else {}
    base = ExpectedProject(
        source_counts=source_counts(repo, project_key, repo.planned_counts(project_key)),
        checked_fields=checked,
        key_field_id=None if key_field is None else key_field.id,
        key_fields=key_fields,
        project_key=project_key,
    )
    root = repo.target_ids(project_key, [("module", ROOT_KEY)])
    scope = SnapshotScope(
        root_module_id=root.get(("module", ROOT_KEY)),
        root_module_name=root_module_name,
        cycle_release_ids=_cycle_release_ids(repo, project_key),
        key_fields=key_fields,
        deep_attachments=deep,
    )
    return ValidationSetup(project_key, base, scope)


def read_batch(repo: Repository, setup: ValidationSetup, page: list[PlannedRecord]) -> ExpectedProject:
    """The expectations of one page of planned entities of a type: the page decoded, and the qTest
    ids of its entities and of everything they refer to (for attachments: where each went)."""
    wanted: set[EntityKey] = set()
    for record in page:
        wanted.add((record.entity_type, record.source_key))
        wanted.update(find_refs(record.payload))
        wanted.update(record.depends_on)
        if record.entity_type == "test_run":
            cycle_key, _, case_key = record.source_key.partition("|")
            wanted.update((("test_cycle", cycle_key), ("test_case", case_key)))
    target_ids: dict[str, dict[str, int]] = {}
    for (entity_type, key), target in repo.target_ids(setup.project_key, wanted).items():
        target_ids.setdefault(entity_type, {})[key] = target
    entity_type = page[0].entity_type if page else ""
    places = (
        repo.target_places_for(setup.project_key, entity_type, [r.source_key for r in page], TARGET_STATES)
        if entity_type == "attachment"
        else {}
    )
    planned = [
        decode_planned(r.entity_type, r.source_key, r.payload, level=r.level, sort_key=r.sort_key)
        for r in page
    ]
    return replace(
        setup.base, planned={entity_type: planned}, target_ids=target_ids, attachment_places=places
    )


def flush(ctx: PhaseContext, result: ValidationResult) -> None:
    """Write what was found since the last flush (grouped by entity, in the order found) and let it go."""
    if not result.problems:
        return
    by_entity: dict[tuple[str, str], list[ProblemItem]] = {}
    for entity_type, key, problem in result.problems:
        by_entity.setdefault((entity_type, key), []).append(problem)
    with ctx.session() as repo:
        repo.add_problems(
            ctx.project_key, PHASE, [(t, k, p) for (t, k), p in by_entity.items()], run_id=ctx.run_id
        )
    result.problems.clear()


def store_known(ctx: PhaseContext) -> KnownKeys:
    """Which keys the store knows, asked of the store a few keys at a time."""

    def known(entity_type: str, keys: Collection[str]) -> set[str]:
        if not keys:
            return set()
        with ctx.session() as repo:
            return repo.known_keys_among(ctx.project_key, entity_type, keys)

    return known
