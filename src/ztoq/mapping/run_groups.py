"""Which qTest test run each execution belongs to, and which execution each run takes its fields from.

qTest keeps one test run per (cycle, test case) pair and Zephyr one execution per run of a test
case, so executions are grouped by :func:`run_key`; a run's fields come from its group's latest
execution (:func:`recency`: end date, then id; the first of equals). :class:`RunGroups` reads the
executions once, in order, and keeps per group only its number, the position of its latest
execution and the reasons its cycle is unknown, so a million executions cost a few megabytes (and
a share of that when the keys are grouped a share per pass); a further pass then picks the latest
executions by position (:meth:`RunGroups.is_latest`).
"""

from __future__ import annotations

import zlib
from array import array
from datetime import UTC, datetime, timedelta

from ztoq.mapping.cycles import ADHOC_KEY
from ztoq.mapping.fields import UnconvertibleValue, parse_timestamp
from ztoq.mapping.lookups import SourceLookups
from ztoq.sources.records import TestExecution

_NEVER = datetime.min.replace(tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def executed_test_case(execution: TestExecution) -> tuple[str | None, str | None]:
    """``(test case key, version)`` of an execution."""
    return execution.test_case_key, execution.test_case_version


def execution_key(execution: TestExecution) -> str:
    """The source key of an execution: its key, or its id when it has none."""
    return str(execution.key or execution.id)


def cycle_of(execution: TestExecution, lookups: SourceLookups) -> tuple[str, str | None]:
    """``(cycle source key, problem)``: the cycle's key, or "adhoc" when it has none we know.

    Cloud executions name their cycle by number, Server test results by key (``Ref(name="DC-C1")``);
    a key is taken as given unless the lookups list the extracted cycles and it is not among them.
    """
    cycle = execution.test_cycle
    if cycle is None:
        return ADHOC_KEY, None
    key = cycle.name or (lookups.test_cycle_keys.get(cycle.id) if cycle.id is not None else None)
    if key and cycle.name and lookups.all_test_cycle_keys and key not in lookups.all_test_cycle_keys:
        return ADHOC_KEY, f"test cycle {key} was not extracted"
    if key:
        return key, None
    return ADHOC_KEY, f"test cycle {cycle.id} was not extracted"


def run_key(cycle_key: str, case_key: str) -> str:
    """The source key of the run of ``case_key`` in ``cycle_key``: ``"PROJ-R1|PROJ-T1"``."""
    return f"{cycle_key}|{case_key}"


def run_of(execution: TestExecution, lookups: SourceLookups) -> tuple[str, str | None]:
    """``(run key, problem)``: the run an execution is a log of, and why its cycle is unknown (or None)."""
    cycle_key, why = cycle_of(execution, lookups)
    return run_key(cycle_key, execution.test_case_key or ""), why


def end_of(execution: TestExecution) -> datetime | None:
    """When an execution ended, or None when it has no (readable) end date."""
    try:
        return parse_timestamp(execution.actual_end_date)
    except UnconvertibleValue:
        return None


def recency(execution: TestExecution) -> tuple[datetime, int]:
    """What orders a group's executions: end date (none first), then id."""
    moment = end_of(execution) or _NEVER
    return moment, execution.id if execution.id is not None else 0


class RunGroups:
    """The run groups of executions read in order (positions 0, 1, ...), kept compact.

    Read every execution in order, calling :meth:`add` for each, then :meth:`end_pass`; repeat
    while not :attr:`done`. With ``parts`` > 1 each pass keeps only the runs of one share of the
    run keys (by CRC-32), so the groups held at a time are ``1 / parts`` of them; the result is
    the same. Afterwards :meth:`is_latest` tells, by position, which executions the runs take
    their fields from. Ids are Zephyr's (Java longs), so they fit the signed 64-bit arrays.
    """

    def __init__(self, lookups: SourceLookups, parts: int = 1) -> None:
        self.lookups = lookups
        self.parts = max(1, parts)
        self.part = 0
        #: executions read in the current pass (in all, once a pass is done).
        self.executions = 0
        #: how many runs the executions call for (once done).
        self.count = 0
        self.has_adhoc = False
        #: run key -> reasons its executions' cycles are unknown, in first-seen order (rare).
        self.lost_cycles: dict[str, list[str]] = {}
        self._groups: dict[str, int] = {}
        self._position = array("q")
        self._moment = array("q")
        self._ident = array("q")
        self._latest = bytearray()

    @property
    def done(self) -> bool:
        """Whether every pass was made."""
        return self.part >= self.parts

    def add(self, execution: TestExecution) -> None:
        """Count the next execution into its run's group (when the run is of this pass's share)."""
        position = self.executions
        self.executions += 1
        key, why = run_of(execution, self.lookups)
        if self.parts > 1 and zlib.crc32(key.encode("utf-8", "surrogatepass")) % self.parts != self.part:
            return
        moment, ident = recency(execution)
        micros = (moment - _EPOCH) // _MICROSECOND
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = len(self._position)
            self._position.append(position)
            self._moment.append(micros)
            self._ident.append(ident)
            self.has_adhoc = self.has_adhoc or key.startswith(ADHOC_KEY + "|")
        elif (micros, ident) > (self._moment[group], self._ident[group]):
            self._position[group], self._moment[group], self._ident[group] = position, micros, ident
        if why is not None and why not in (reasons := self.lost_cycles.setdefault(key, [])):
            reasons.append(why)

    def end_pass(self) -> None:
        """Keep only which positions are latest (one bit per execution), and start the next pass."""
        size = (self.executions + 7) // 8
        self._latest.extend(bytes(max(0, size - len(self._latest))))
        for position in self._position:
            self._latest[position >> 3] |= 1 << (position & 7)
        self.count += len(self._position)
        self._groups.clear()
        self._position, self._moment, self._ident = array("q"), array("q"), array("q")
        self.part += 1
        if not self.done:
            self.executions = 0

    def is_latest(self, position: int) -> bool:
        """Whether the execution at ``position`` is its run's latest (once :attr:`done`)."""
        at = position >> 3
        return at < len(self._latest) and bool(self._latest[at] & (1 << (position & 7)))
