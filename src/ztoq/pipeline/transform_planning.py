"""What transform's planners share: the stored rows, the lookups indexed from them, and what was planned.

Nothing here holds a whole project, nor anything per test case. The lookups come from streaming
passes over the stored records (:class:`~ztoq.mapping.source_index.SourceIndex`: folders,
options, the keys and ids of plans and cycles, the call graph); what a batch needs of its test
cases (names, test data, planned step counts) is read per batch (:meth:`Planning.case_lookups`);
the executions are grouped into runs by further passes (:class:`~ztoq.mapping.run_groups.RunGroups`);
and what later planners need of earlier plans is read back by key or kept as a few keys (the
releases, the cycles' releases, the runs that cannot be created). Records themselves are decoded
a batch at a time, by the planners (:mod:`ztoq.pipeline.transform_plans`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import islice
from typing import Protocol, TypeVar

from ztoq.config import ZtoqConfig
from ztoq.mapping import SourceLookups, TargetFields
from ztoq.mapping.attachments import AttachmentOwners
from ztoq.mapping.run_groups import RunGroups
from ztoq.mapping.source_index import SourceIndex
from ztoq.plan import PlannedEntity
from ztoq.sources.base import RecordReader, StoredRows
from ztoq.sources.records import Attachment, Folder, TestData

T = TypeVar("T")


def in_batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), read lazily."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


#: Executions grouped per pass (:class:`RunGroups` ``parts``): up to this many, one pass.
EXECUTIONS_PER_PASS = 400_000


class AttachmentListing(Protocol):
    """The attachments extract listed."""

    def batches(self) -> Iterator[list[Attachment]]:
        """Every attachment listed, as canonical records, a batch at a time."""
        ...


class PlannedLookup(Protocol):
    """What transform planned so far in this run, read back by key."""

    def planned(self, entity_type: str, keys: Iterable[str]) -> Mapping[str, PlannedEntity]:
        """The planned (not skipped) entities of ``entity_type`` among ``keys``."""
        ...

    def planned_keys(self, entity_type: str, keys: Iterable[str]) -> set[str]:
        """The keys among ``keys`` of the planned (not skipped) entities of ``entity_type``."""
        ...


def inline_images_of(attachments: Iterable[Attachment]) -> dict[tuple[str, str], dict[str, str]]:
    """(owner kind, owner key) -> inline image id -> file name, of the embedded images downloaded."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    for attachment in attachments:
        ident = attachment.key.rpartition("/")[2]
        if ident.startswith("inline-") and attachment.sha256 is not None:
            found.setdefault((attachment.owner_type, attachment.owner_key), {})[ident] = attachment.name
    return found


@dataclass
class Planning:
    """What the planners share: the stored rows, the target's fields, the config, and what was planned.

    Planners run in load order, so a planner may use what an earlier one planned (test logs
    match step results to the steps of the planned test cases; attachments land on them).

    Attributes:
        rows: the stored source rows (read a batch at a time).
        reader: decodes them (the configured source's record reader).
        fields: the qTest target's fields, statuses and users.
        config: the migration configuration.
        plans: what was planned earlier in this run, by key.
        attachments: the attachment listing, or None when attachments are not migrated.
        attachment_limit: the largest attachment to send, in bytes.
        source_counts: how many rows of each type are stored (progress, grouping passes).
    """

    rows: StoredRows
    reader: RecordReader
    fields: TargetFields
    config: ZtoqConfig
    plans: PlannedLookup
    attachments: AttachmentListing | None = None
    attachment_limit: int = 0
    source_counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        """Records decoded and planned at a time (``performance.batch_size``)."""
        return self.config.performance.batch_size

    @cached_property
    def folders(self) -> list[Folder]:
        """Every folder, as read (folder trees are planned whole: they are small)."""
        return list(self.reader.folders(self.rows))

    @cached_property
    def index(self) -> SourceIndex:
        """The lookup tables of the stored records, from one streaming pass over each type."""
        index = SourceIndex(keep_test_cases=False)
        index.add_folders(self.folders)
        index.add_options("statuses", self.reader.statuses(self.rows))
        index.add_options("priorities", self.reader.priorities(self.rows))
        index.add_options("environments", self.reader.environments(self.rows))
        for test_case in self.reader.test_cases(self.rows):
            index.add_test_case(test_case)
        for plan in self.reader.test_plans(self.rows):
            index.add_test_plan(plan)
        for cycle in self.reader.test_cycles(self.rows):
            index.add_test_cycle(cycle)
        return index

    @cached_property
    def lookups(self) -> SourceLookups:
        """What the records refer to, without test cases (see :meth:`case_lookups`)."""
        return SourceLookups(**self.index.tables())

    def known_test_cases(self, keys: Collection[str]) -> set[str]:
        """Which of ``keys`` are stored test cases' keys ("None" too when one has no key: batches know it)."""
        found: set[str | None] = set()
        for batch in in_batches(sorted(keys), self.batch_size):
            found.update(c.key for c in self.reader.test_cases_for(self.rows, batch, with_steps=False))
        if self.index.keyless_test_case:
            found.add("None")
        return {key for key in keys if key in found}

    def case_lookups(self, case_keys: Iterable[str], *, step_counts: bool = False) -> SourceLookups:
        """:attr:`lookups` with these test cases: keys, names, test data, and their planned step counts."""
        wanted = sorted(set(case_keys))
        names: dict[str, str] = {}
        test_data: dict[str, TestData] = {}
        for case in self.reader.test_cases_for(self.rows, wanted, with_steps=False):
            if case.key is not None:
                names[case.key] = str(case.name or "")
                if case.test_data is not None:
                    test_data[case.key] = case.test_data
        counts: dict[str, int] = {}
        if step_counts:
            counts = planned_step_counts(self.plans.planned("test_case", wanted).values())
        return replace(
            self.lookups,
            test_case_keys=frozenset(names),
            test_case_names=names,
            test_case_step_counts=counts,
            test_data=test_data,
        )

    @cached_property
    def run_groups(self) -> RunGroups:
        """The run each execution belongs to and the latest execution of each run (no steps read)."""
        executions = self.source_counts.get("test_execution", 0)
        groups = RunGroups(self.lookups, parts=-(-executions // EXECUTIONS_PER_PASS))
        while not groups.done:
            for execution in self.reader.test_executions(self.rows, with_steps=False):
                groups.add(execution)
            groups.end_pass()
        return groups

    @cached_property
    def inline_images(self) -> dict[tuple[str, str], dict[str, str]]:
        """(owner kind, owner key) -> inline image id -> file name, of the embedded images downloaded."""
        if self.attachments is None:
            return {}
        found: dict[tuple[str, str], dict[str, str]] = {}
        for batch in self.attachments.batches():
            for owner, images in inline_images_of(batch).items():
                found.setdefault(owner, {}).update(images)
        return found


def planned_step_counts(plans: Iterable[PlannedEntity]) -> dict[str, int]:
    """Test case key -> number of qTest steps, of planned (not skipped) test cases."""
    owners = AttachmentOwners()
    owners.add(plans)
    return owners.test_case_steps
