"""Which phases overlap, how the types are split between the parts, and which failure is raised."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import cast

import pytest

from ztoq.entities import LOAD_ORDER
from ztoq.errors import PhaseFailed, RunInterrupted, ZtoqError
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.overlap import (
    EARLY_TYPES,
    LATE_TYPES,
    LOG_TYPES,
    MIDDLE_TYPES,
    RUN_TYPES,
    _first_failure,
    _Overlap,
    split_phases,
)
from ztoq.pipeline.phase_record import PhaseRecorder
from ztoq.pipeline.validate_types import ValidationResult


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        (["extract", "transform", "load", "validate"], ([], True, ["validate"])),
        (["extract", "transform", "load"], ([], True, [])),
        (["extract", "transform"], (["extract", "transform"], False, [])),
        (["transform", "load", "validate"], (["transform", "load", "validate"], False, [])),
        (
            ["extract", "transform", "reconcile", "load"],
            (["extract", "transform", "reconcile", "load"], False, []),
        ),
        (["load"], (["load"], False, [])),
    ],
)
def test_only_extract_transform_and_load_in_a_row_overlap(
    phases: list[str], expected: tuple[list[str], bool, list[str]]
) -> None:
    assert split_phases(phases) == expected


def test_the_three_parts_cover_every_type_once_in_load_order() -> None:
    assert EARLY_TYPES + MIDDLE_TYPES + LATE_TYPES == LOAD_ORDER
    # The middle part loads in two: what needs the executions only, then the logs.
    assert RUN_TYPES + LOG_TYPES == MIDDLE_TYPES
    assert LOG_TYPES == ("test_log",)


def _ended(results: list[BaseException | None]) -> list[asyncio.Task[None]]:
    async def make() -> list[asyncio.Task[None]]:
        async def one(result: BaseException | None) -> None:
            if result is not None:
                raise result

        tasks = [asyncio.ensure_future(one(r)) for r in results]
        await asyncio.gather(*tasks, return_exceptions=True)
        return tasks

    return asyncio.run(make())


def test_the_first_real_failure_is_raised_not_the_interruptions_it_caused() -> None:
    failed = PhaseFailed("load", ZtoqError("qTest answered 500."))
    tasks = _ended([RunInterrupted("stopped"), failed, RunInterrupted("stopped")])
    assert _first_failure(tasks, tasks) is failed


def test_an_interruption_alone_is_raised_and_success_raises_nothing() -> None:
    interrupted = RunInterrupted("Interrupted")
    tasks = _ended([interrupted, None, None])
    assert _first_failure(tasks, tasks) is interrupted
    ok = _ended([None, None, None])
    assert _first_failure(ok, ok) is None


@pytest.mark.parametrize("propagate", [False, True])
def test_validate_reads_back_each_loaded_part_unless_deletions_end_the_load(propagate: bool) -> None:
    config = SimpleNamespace(migration=SimpleNamespace(propagate_deletions=propagate))
    overlap = _Overlap(cast(PhaseContext, SimpleNamespace(config=config)), cast(PhaseRecorder, None))
    parts = overlap.validate_parts()
    if propagate:
        assert parts == [(None, LOAD_ORDER)]
    else:
        assert parts == [
            (overlap.early_loaded, EARLY_TYPES),
            (overlap.middle_loaded, MIDDLE_TYPES),
            (None, LATE_TYPES),
        ]


def test_validation_parts_merge_into_one_verdict() -> None:
    whole, first, second = ValidationResult(), ValidationResult(), ValidationResult()
    first.count("test_case").source = 3
    second.count("test_run").missing = 2
    whole.merge(first)
    assert whole.failure() is None
    whole.merge(second)
    assert list(whole.counts) == ["test_case", "test_run"]
    assert whole.failure() == "Validation found 2 missing and 0 mismatched entities in qTest."
