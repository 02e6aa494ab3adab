"""The source lookup tables, indexed one record at a time: what :class:`SourceLookups` is built from.

A project's records are read once, in any order, and :class:`SourceIndex` keeps only what the
lookups use: folders and options (small), and of test cases, plans and cycles their keys, ids,
names and links, never the records themselves. Transform streams the stored records through it,
so it holds a compact index instead of the project; ``SourceLookups.build`` indexes records held
in memory through the same code.

Test cases also leave their call graph (:meth:`SourceIndex.call_levels`: only the test cases that
call another). Transform does not keep their keys, names and test data (``keep_test_cases``): a
batch of runs or logs needs those of its own test cases only, which transform reads per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any

from ztoq.mapping.call_graph import call_edges, levels_of
from ztoq.sources.records import Folder, Option, TestCase, TestCycle, TestData, TestPlan

#: A source lookup table's key: the record's number (Zephyr Scale Cloud), else its name (Server).
OptionKey = int | str


def options_table(records: Iterable[Option]) -> dict[OptionKey, Option]:
    """Options by number, or by name when the source names them without numbers (Server)."""
    table: dict[OptionKey, Option] = {}
    for record in records:
        key = record.id if record.id is not None else record.name
        if key is not None:
            table[key] = record
    return table


class SourceIndex:
    """What the lookups keep of a project's records, added one record at a time."""

    def __init__(self, *, keep_test_cases: bool = True) -> None:
        """``keep_test_cases``: keep every test case's key, name and test data (else only the calls)."""
        self.keep_test_cases = keep_test_cases
        self.folders: dict[str, Folder] = {}
        self.statuses: dict[OptionKey, Option] = {}
        self.priorities: dict[OptionKey, Option] = {}
        self.environments: dict[OptionKey, Option] = {}
        #: test case key -> name ("" when it has none), of every test case with a key.
        self.test_case_names: dict[str, str] = {}
        #: whether some test case has no key (a batch of test cases knows it as "None").
        self.keyless_test_case = False
        self.test_data: dict[str, TestData] = {}
        self._calls: dict[str, list[tuple[int, str]]] = {}
        self.test_cycle_keys: dict[int, str] = {}
        self.all_test_cycle_keys: set[str] = set()
        self.test_plan_keys: dict[int, str] = {}
        self.all_test_plan_keys: set[str] = set()
        self._plans_by_cycle: dict[int | str, list[str]] = {}

    def add_folders(self, folders: Iterable[Folder]) -> None:
        """Index folders (by key)."""
        self.folders.update((f.key, f) for f in folders)

    def add_options(self, table: str, options: Iterable[Option]) -> None:
        """Index ``statuses``, ``priorities`` or ``environments``."""
        target: dict[OptionKey, Option] = getattr(self, table)
        target.update(options_table(options))

    def add_test_case(self, test_case: TestCase) -> None:
        """Index a test case: key, name, test data, and the test cases its steps call."""
        key = test_case.key
        if key is None:
            self.keyless_test_case = True
        elif self.keep_test_cases:
            self.test_case_names[key] = str(test_case.name or "")
            if test_case.test_data is not None:
                self.test_data[key] = test_case.test_data
        # Test cases are planned by str(key), as the calls they make are (a repeated key: the last wins).
        calls = call_edges(test_case.steps)
        if calls or str(key) in self._calls:
            self._calls[str(key)] = calls

    def add_test_plan(self, plan: TestPlan) -> None:
        """Index a test plan: key, id, and the cycles it links (by cycle id, or key)."""
        if plan.key is None:
            return
        self.all_test_plan_keys.add(plan.key)
        if plan.id is not None:
            self.test_plan_keys[plan.id] = plan.key
        for cycle in plan.test_cycles:
            cycle_ref = cycle.id if cycle.id is not None else cycle.name
            if cycle_ref is not None:
                self._plans_by_cycle.setdefault(cycle_ref, []).append(plan.key)

    def add_test_cycle(self, cycle: TestCycle) -> None:
        """Index a test cycle: key and id."""
        if cycle.key is None:
            return
        self.all_test_cycle_keys.add(cycle.key)
        if cycle.id is not None:
            self.test_cycle_keys[cycle.id] = cycle.key

    def known_test_case_keys(self, keys: Collection[str]) -> set[str]:
        """Which of ``keys`` a batch of test cases knows (test cases are planned by str(key): "None" too).

        Only with ``keep_test_cases``; transform asks the store instead.
        """
        return {k for k in keys if k in self.test_case_names or (k == "None" and self.keyless_test_case)}

    def call_levels(
        self, known: Callable[[Collection[str]], Collection[str]] | None = None
    ) -> tuple[dict[str, int], dict[str, frozenset[int]]]:
        """:func:`ztoq.mapping.steps.call_levels` of every test case indexed (from its call graph).

        Args:
            known: which of the called keys are test cases (default: :meth:`known_test_case_keys`).
        """
        called = {c for calls in self._calls.values() for _, c in calls}
        exists = set((known or self.known_test_case_keys)(called))
        graph = {key: [(i, c) for i, c in calls if c in exists] for key, calls in self._calls.items()}
        return levels_of(graph)

    def tables(self) -> dict[str, Any]:
        """The :class:`~ztoq.mapping.lookups.SourceLookups` fields this index makes."""
        return {
            "folders": self.folders,
            "statuses": self.statuses,
            "priorities": self.priorities,
            "environments": self.environments,
            "test_case_keys": frozenset(self.test_case_names),
            "test_case_names": self.test_case_names,
            "test_cycle_keys": self.test_cycle_keys,
            "test_plan_keys": self.test_plan_keys,
            "all_test_cycle_keys": frozenset(self.all_test_cycle_keys),
            "all_test_plan_keys": frozenset(self.all_test_plan_keys),
            "test_data": self.test_data,
            "plan_keys_by_cycle": {k: tuple(v) for k, v in self._plans_by_cycle.items()},
        }
