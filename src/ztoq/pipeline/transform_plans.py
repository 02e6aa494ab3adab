"""Transform's planners, one per entity type, each yielding its plans a batch at a time.

Every planner reads its records a batch at a time (``performance.batch_size``) through the
source's record reader, maps each with the pure functions of :mod:`ztoq.mapping` and the
lookups of :class:`~ztoq.pipeline.transform_planning.Planning`, and yields the batch. Folder
trees come whole (a tree is repaired as a whole, and folders are few).

A test run takes its fields from the latest execution of its (cycle, test case) group, and a
test log is skipped when its run cannot be created, so executions are read three times, each
time a batch at a time: once to group them (``Planning.run_groups``: per run only the position
of its latest execution), once to plan the runs from those latest executions, and once, with
their step results, to plan the logs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from ztoq.mapping import (
    plan_cycle_folders,
    plan_modules,
    plan_release,
    plan_test_case,
    plan_test_cycle,
)
from ztoq.mapping.attachments import AttachmentOwners, plan_attachment
from ztoq.mapping.cycles import plan_adhoc_cycle
from ztoq.mapping.executions import drop_log_of_failed_run, plan_group_run, plan_test_log
from ztoq.mapping.run_groups import run_of
from ztoq.pipeline.transform_planning import Planning, in_batches
from ztoq.plan import PlannedEntity
from ztoq.sources.records import Attachment


def plan_module_tree(planning: Planning) -> Iterator[list[PlannedEntity]]:
    """The module tree (test case folders)."""
    yield plan_modules(planning.folders, planning.config)


def plan_cycle_folder_tree(planning: Planning) -> Iterator[list[PlannedEntity]]:
    """The test-cycle tree (test cycle folders)."""
    yield plan_cycle_folders(planning.folders, planning.config)


def plan_test_case_batches(planning: Planning) -> Iterator[list[PlannedEntity]]:
    """Every test case, with its call level and its cycle-closing calls from the whole call graph."""
    levels, broken = planning.index.call_levels(planning.known_test_cases)
    for batch in in_batches(planning.reader.test_cases(planning.rows), planning.batch_size):
        called = {c for case in batch for step in case.steps if (c := step.called_test_case) is not None}
        # A test case knows the calls it makes to test cases that exist (plan_test_cases: all of them).
        lookups = replace(planning.lookups, test_case_keys=frozenset(planning.known_test_cases(called)))
        yield [
            plan_test_case(
                test_case,
                lookups,
                planning.fields,
                planning.config,
                level=levels.get(str(test_case.key), 0),
                broken_calls=broken.get(str(test_case.key), frozenset()),
            )
            for test_case in batch
        ]


def plan_release_batches(planning: Planning) -> Iterator[list[PlannedEntity]]:
    """Every test plan, as a release."""
    for batch in in_batches(planning.reader.test_plans(planning.rows), planning.batch_size):
        yield [plan_release(p, planning.lookups, planning.fields, planning.config) for p in batch]


def plan_test_cycle_batches(planning: Planning) -> Iterator[list[PlannedEntity]]:
    """Every test cycle, then the ad hoc cycle when some execution has no known cycle."""
    for batch in in_batches(planning.reader.test_cycles(planning.rows), planning.batch_size):
        yield [plan_test_cycle(c, planning.lookups, planning.fields, planning.config) for c in batch]
    if planning.run_groups.has_adhoc:
        yield [plan_adhoc_cycle(planning.config)]


def plan_run_batches(planning: Planning) -> Iterator[list[PlannedEntity]]:
    """One test run per (cycle, test case) group, from the group's latest execution."""
    groups = planning.run_groups
    executions = planning.reader.test_executions(planning.rows, with_steps=False)
    latest = (e for position, e in enumerate(executions) if groups.is_latest(position))
    for batch in in_batches(latest, planning.batch_size):
        lookups = planning.case_lookups(e.test_case_key or "" for e in batch)
        runs: list[PlannedEntity] = []
        for execution in batch:
            key, _ = run_of(execution, lookups)
            run = plan_group_run(
                key, execution, groups.lost_cycles.get(key, ()), lookups, planning.fields, planning.config
            )
            runs.append(run)
        yield runs


def plan_log_batches(planning: Planning) -> Iterator[list[PlannedEntity]]:
    """One test log per execution that ran, with its step results (skipped when its run is).

    Whether each run is planned is read from the store a batch at a time: the runs may have been
    planned by an earlier call (the overlapped run plans them before the executions' files are
    listed, the logs after).
    """
    for batch in in_batches(planning.reader.test_executions(planning.rows), planning.batch_size):
        lookups = planning.case_lookups((e.test_case_key or "" for e in batch), step_counts=True)
        run_keys = [run_of(execution, lookups)[0] for execution in batch]
        created = planning.plans.planned_keys("test_run", run_keys)
        logs: list[PlannedEntity] = []
        for execution, run_key in zip(batch, run_keys, strict=True):
            log = plan_test_log(execution, lookups, planning.fields, planning.config)
            if log is None:
                continue
            if run_key not in created:
                drop_log_of_failed_run(log)
            logs.append(log)
        if logs:
            yield logs


#: The planned type each attachment owner kind lands on (read by key, a batch at a time).
_PLANNED_OWNER = (
    ("test_case", ("test_case", "test_step")),
    ("release", ("test_plan",)),
    ("test_cycle", ("test_cycle",)),
    ("test_log", ("test_execution", "execution_step")),
)


def plan_attachment_batches(planning: Planning) -> Iterator[list[PlannedEntity]]:
    """Every attachment listed, placed on what its owner was planned as (read by key per batch)."""
    if planning.attachments is None:
        return
    for batch in planning.attachments.batches():
        yield plan_attachment_batch(planning, batch)


def plan_attachment_batch(planning: Planning, batch: Sequence[Attachment]) -> list[PlannedEntity]:
    """These attachments, each placed on what its owner was planned as (the owners read by key)."""
    owners = AttachmentOwners()
    for entity_type, kinds in _PLANNED_OWNER:
        keys = sorted({a.owner_key for a in batch if a.owner_type in kinds})
        if keys:
            owners.add(planning.plans.planned(entity_type, keys).values())
    return [plan_attachment(a, owners, planning.attachment_limit) for a in batch]
