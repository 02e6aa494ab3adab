"""Validation of the execution side (pure): releases, test cycles, test runs and test logs.

Each release and test cycle must exist, a cycle under the parent it was planned under; each run
under its cycle with its test case; each execution that ran a log on its run with its status,
end date and step results, the run's latest log being its latest execution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from ztoq.pipeline.validate_types import (
    ExpectedProject,
    LogSnapshot,
    QTestSnapshot,
    ValidationResult,
    Validator,
    check_found,
)
from ztoq.plan import PlannedEntity, parse_ref

_EARLIEST = datetime.min.replace(tzinfo=UTC)


def moment(value: Any) -> datetime | None:
    """A date-time (or ISO 8601 text) as an aware datetime (UTC when it has no zone), else None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_the_second(value: datetime | None) -> datetime | None:
    """``value`` without its fraction of a second: qTest keeps log dates to the second, while
    Zephyr Scale Server dates carry milliseconds (``…T14:44:36.699Z`` reads back as ``…T14:44:36``)."""
    return None if value is None else value.replace(microsecond=0)


def validate_releases(expected: ExpectedProject, snapshot: QTestSnapshot, result: ValidationResult) -> None:
    """Every planned release exists in qTest."""
    check_found(
        "release",
        expected,
        snapshot.release_ids,
        result,
        lambda key: f"Test plan {key} has no release in qTest.",
    )


def _validate_cycles(
    entity_type: str, expected: ExpectedProject, snapshot: QTestSnapshot, result: ValidationResult
) -> None:
    """Every planned test cycle (or cycle folder) exists in qTest, under its planned parent."""
    counts = result.count(entity_type)
    planned = expected.planned_of(entity_type)
    counts.planned += len(planned)
    counts.source = expected.source_count(entity_type)
    for entity in planned:
        target = expected.target_id(entity_type, entity.source_key)
        want_parent = expected.resolve(entity.parent)
        if target is None or target not in snapshot.cycle_parents:
            result.not_in_qtest(
                entity_type, entity.source_key, f"Test cycle {entity.source_key} is not in qTest."
            )
            continue
        counts.target += 1
        got_parent = snapshot.cycle_parents[target]
        if got_parent != want_parent:
            counts.mismatched += 1
            result.mismatch(
                entity_type,
                entity.source_key,
                "parent_differs",
                f"Test cycle {entity.source_key} is not under the qTest parent it belongs to.",
                field="parent",
                expected=want_parent,
                actual=got_parent,
            )


def validate_cycle_folders(
    expected: ExpectedProject, snapshot: QTestSnapshot, result: ValidationResult
) -> None:
    """Every planned cycle folder exists in qTest, under its parent folder."""
    _validate_cycles("cycle_folder", expected, snapshot, result)


def validate_test_cycles(
    expected: ExpectedProject, snapshot: QTestSnapshot, result: ValidationResult
) -> None:
    """Every planned test cycle exists in qTest, under its release or cycle folder."""
    _validate_cycles("test_cycle", expected, snapshot, result)


def validate_test_runs(expected: ExpectedProject, snapshot: QTestSnapshot, result: ValidationResult) -> None:
    """Every planned test run exists in qTest, under its cycle, with its test case."""
    counts = result.count("test_run")
    planned = expected.planned_of("test_run")
    counts.planned += len(planned)
    counts.source = counts.planned  # one run per (cycle, test case) pair: no Zephyr object of its own
    for entity in planned:
        key = entity.source_key
        cycle_key, _, case_key = key.partition("|")
        run_id = expected.target_id("test_run", key)
        found = None if run_id is None else snapshot.test_runs.get(run_id)
        if found is None:
            result.not_in_qtest(
                "test_run", key, f"The test run of {case_key} in {cycle_key} is not in qTest."
            )
            continue
        counts.target += 1
        want_cycle = expected.target_id("test_cycle", cycle_key)
        want_case = expected.target_id("test_case", case_key)
        if found.parent_id != want_cycle or found.test_case_id != want_case:
            counts.mismatched += 1
            result.mismatch(
                "test_run",
                key,
                "run_misplaced",
                f"The test run of {case_key} in {cycle_key} is not under its cycle with its test case.",
                field="run",
                expected=f"cycle {want_cycle}, case {want_case}",
                actual=f"cycle {found.parent_id}, case {found.test_case_id}",
            )


def _compare_log(key: str, body: dict[str, Any], log: LogSnapshot, result: ValidationResult) -> bool:
    """Status, end date and step results of one execution against its log; True when any differs."""
    before = len(result.problems)
    want_status = (body.get("status") or {}).get("id")
    if want_status != log.status_id:
        result.mismatch(
            "test_log",
            key,
            "status_differs",
            f"The status of execution {key} differs in qTest.",
            field="status",
            expected=want_status,
            actual=log.status_id,
        )
    if to_the_second(moment(body.get("exe_end_date"))) != to_the_second(moment(log.exe_end_date)):
        result.mismatch(
            "test_log",
            key,
            "end_date_differs",
            f"The end date of execution {key} differs in qTest.",
            field="exe_end_date",
            expected=body.get("exe_end_date"),
            actual=log.exe_end_date,
        )
    want_steps = [(s.get("status") or {}).get("id") for s in body.get("test_step_logs") or []]
    got_steps = list(log.step_status_ids)
    if want_steps != got_steps:
        result.mismatch(
            "test_log",
            key,
            "step_results_differ",
            f"The step results of execution {key} differ in qTest.",
            field="test_step_logs",
            expected=want_steps,
            actual=got_steps,
        )
    return len(result.problems) > before


def logs_by_run(planned: Sequence[PlannedEntity]) -> dict[str, list[PlannedEntity]]:
    """Planned test logs grouped by the source key of their run, in planned order."""
    by_run: dict[str, list[PlannedEntity]] = {}
    for entity in planned:
        run_ref = parse_ref(entity.parent)
        by_run.setdefault(run_ref[1] if run_ref else "", []).append(entity)
    return by_run


def validate_test_logs(expected: ExpectedProject, snapshot: QTestSnapshot, result: ValidationResult) -> None:
    """Every execution that ran (of a batch: counts add up) is a log on its run, as it ran.

    Whether each run's latest log is its latest execution is checked once every log is counted
    (:func:`check_latest_logs`).
    """
    counts = result.count("test_log")
    planned = expected.planned_of("test_log")
    counts.planned += len(planned)
    counts.source = expected.source_count("test_log")
    for run_key, entities in logs_by_run(planned).items():
        run_id = expected.target_id("test_run", run_key)
        logs = _logs_of(snapshot, run_id)
        by_id = {log.id: log for log in logs if log.id is not None}
        for entity in sorted(entities, key=lambda e: e.sort_key):
            log_id = expected.target_id("test_log", entity.source_key)
            log = None if log_id is None else by_id.get(log_id)
            if log is None:
                result.not_in_qtest(
                    "test_log", entity.source_key, f"Execution {entity.source_key} has no test log in qTest."
                )
                continue
            counts.target += 1
            if _compare_log(entity.source_key, entity.body or {}, log, result):
                counts.mismatched += 1


def _logs_of(snapshot: QTestSnapshot, run_id: int | None) -> tuple[LogSnapshot, ...]:
    """The test logs qTest holds on a run (none when the run is not among the runs read)."""
    if run_id is None or run_id not in snapshot.test_runs:
        return ()
    return snapshot.test_logs.get(run_id, ())


class LatestLogs:
    """Per run with planned logs, in the order its first log comes: the run's qTest id and the
    qTest id of its latest planned log (the greatest sort key; the first of equals).

    Filled a batch of planned logs at a time, in store order (:meth:`add_all`), or a run at a time
    once its latest planned log is known (:meth:`add`): a few ids per run, never the logs.
    """

    def __init__(self) -> None:
        #: run source key -> (sort key of its latest planned log, that log's qTest id, the run's qTest id)
        self.runs: dict[str, tuple[str, int | None, int | None]] = {}

    def add_all(self, planned: Iterable[PlannedEntity], target_id: Callable[[str, str], int | None]) -> None:
        """Take in planned logs (``target_id``: entity type, source key -> qTest id, or None)."""
        for entity in planned:
            run_ref = parse_ref(entity.parent)
            run_key = run_ref[1] if run_ref else ""
            known = self.runs.get(run_key)
            if known is None or entity.sort_key > known[0]:
                run_id = known[2] if known else target_id("test_run", run_key)
                self.runs[run_key] = (entity.sort_key, target_id("test_log", entity.source_key), run_id)

    def add(self, run_key: str, latest_log_id: int | None, run_id: int | None) -> None:
        """Take in a run whose latest planned log is known (its qTest id, and the run's)."""
        self.runs[run_key] = ("", latest_log_id, run_id)


#: The problem of a run whose latest log is not its latest execution (filed under the run).
LATEST_LOG_DIFFERS = "latest_log_differs"


def check_latest_logs(latest: LatestLogs, snapshot: QTestSnapshot, result: ValidationResult) -> None:
    """Each run's latest log in qTest is its latest execution (filed under the run, counted with the logs)."""
    counts = result.count("test_log")
    for run_key, (_, latest_planned, run_id) in latest.runs.items():
        logs = _logs_of(snapshot, run_id)
        if not logs:
            continue
        newest = max(logs, key=lambda lg: (moment(lg.exe_end_date) or _EARLIEST, lg.id or 0))
        if newest.id != latest_planned:
            counts.mismatched += 1
            result.mismatch(
                "test_run",
                run_key,
                LATEST_LOG_DIFFERS,
                f"The latest test log of run {run_key} is not its latest execution.",
                field="latest_test_log",
                expected=latest_planned,
                actual=newest.id,
            )


#: The execution side's validators, by entity type.
EXECUTION_VALIDATORS: dict[str, Validator] = {
    "release": validate_releases,
    "cycle_folder": validate_cycle_folders,
    "test_cycle": validate_test_cycles,
    "test_run": validate_test_runs,
    "test_log": validate_test_logs,
}
