"""The verdict rules and the notices shown at the top of the report (pure functions).

Rules, first match wins:

1. **incomplete**: no run is recorded; the last run is still running or was interrupted; validate
   never ran, did not succeed, or entities were loaded after the last validation.
2. **failed**: the last run failed, or anything is missing, failed or mismatched (problems of
   severity failed/missing/mismatch or of an unknown severity, entities in state failed/intent,
   mismatch records, failed counts, or qTest holding fewer entities than expected).
3. **passed with degradations**: only degraded values and entities skipped by design.
4. **passed**: every source entity is in qTest and validation found no difference. Values kept
   whole in text because qTest has no field for them (severity kept_in_text) are information:
   the reason counts them, the verdict stays "passed".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ztoq.report.formatting import fmt_seconds, fmt_signed, plural
from ztoq.report.sections import (
    DEGRADING_SEVERITIES,
    FAILED,
    INCOMPLETE,
    KEPT_IN_TEXT,
    PASSED,
    PASSED_WITH_DEGRADATIONS,
    CountLine,
    IssueGroup,
    Notice,
    Traffic,
    Verdict,
)

if TYPE_CHECKING:
    from ztoq.report.model import PhaseRecord, ReportInput, RunRecord


def _when(value: datetime) -> float:
    return value.timestamp()


def _latest(phases: Sequence[PhaseRecord], name: str) -> PhaseRecord | None:
    chosen = [p for p in phases if p.phase == name and p.status != "skipped"]
    return max(chosen, key=lambda p: (p.run_id, _when(p.started_at)), default=None)


def last_run(runs: Sequence[RunRecord]) -> RunRecord | None:
    """The most recent run (highest id).

    Args:
        runs: Every recorded run.

    Returns:
        The last run, or None when there is none.
    """
    return max(runs, key=lambda r: r.id, default=None)


def _incomplete(data: ReportInput) -> str | None:
    """Why the evidence is incomplete, or None when the last run finished and validated."""
    run = last_run(data.runs)
    if run is None:
        where = f"project {data.project_key}" if data.project_key else "this project"
        return f"Nothing was migrated or validated: the store records no ztoq run for {where}."
    if run.status == "running":
        return (
            f"Run #{run.id} ({run.command}) has not finished: it is still running or stopped without "
            "recording its end; run the same command again to resume."
        )
    if run.status == "interrupted":
        return f"Run #{run.id} ({run.command}) was interrupted; run the same command again to resume."
    if run.status == "failed":
        return None  # a failed run is a failure, decided below
    validate = _latest(data.phases, "validate")
    if validate is None:
        return "Validation never ran, so nothing proves the entities are in qTest; run the validate phase."
    if validate.status != "succeeded":
        return f"The last validation (run #{validate.run_id}) did not succeed (status {validate.status})."
    load = _latest(data.phases, "load")
    if load is not None and (load.run_id, _when(load.started_at)) > (
        validate.run_id,
        _when(validate.started_at),
    ):
        return (
            f"Entities were loaded (run #{load.run_id}) after the last validation "
            f"(run #{validate.run_id}); validate again."
        )
    return None


def decide(
    data: ReportInput,
    counts: Sequence[CountLine],
    totals: CountLine,
    issues: Sequence[IssueGroup],
    severity_totals: Sequence[tuple[str, int]],
    *,
    kept_in_text: int = 0,
) -> Verdict:
    """Apply the verdict rules (see the module docstring).

    Args:
        data: The report input.
        counts: Count lines per entity type.
        totals: Their sum.
        issues: Missing, failed and mismatched entity groups.
        severity_totals: Problems per severity.
        kept_in_text: Values kept whole in text (named in the reason; they change no verdict).

    Returns:
        The verdict with one sentence saying why.
    """
    why = _incomplete(data)
    if why is not None:
        return Verdict(INCOMPLETE, why)
    per_kind = {
        kind: sum(g.count for g in issues if g.kind == kind) for kind in ("missing", "failed", "mismatch")
    }
    shortfall = sum(
        -line.difference for line in counts if line.difference is not None and line.difference < 0
    )
    failed_counts = sum(line.failed for line in counts)
    blocking = sum(n for sev, n in severity_totals if sev not in DEGRADING_SEVERITIES and sev != KEPT_IN_TEXT)
    parts = []
    if shortfall:
        parts.append(f"qTest holds {plural(shortfall, 'entity', 'entities')} fewer than expected")
    if per_kind["missing"]:
        parts.append(f"{plural(per_kind['missing'], 'entity is', 'entities are')} missing")
    failed_n = max(per_kind["failed"], failed_counts)
    if failed_n:
        parts.append(f"{plural(failed_n, 'entity', 'entities')} failed to load")
    if per_kind["mismatch"]:
        parts.append(f"{plural(per_kind['mismatch'], 'entity differs', 'entities differ')} from Zephyr")
    if blocking and not parts:
        parts.append(f"{plural(blocking, 'blocking problem')} recorded")
    run = last_run(data.runs)
    if run is not None and run.status == "failed":
        error = f": {run.error}" if run.error else ""
        tail = f" ({'; '.join(parts)})" if parts else ""
        return Verdict(FAILED, f"Run #{run.id} ({run.command}) failed{error}{tail}.")
    if parts:
        return Verdict(FAILED, "; ".join(parts) + ".")
    unverified = _unverified(counts)
    caveat = f" (qTest was not counted for {', '.join(unverified)})" if unverified else ""
    degraded = sum(n for sev, n in severity_totals if sev == "degraded")
    skipped = max(sum(n for sev, n in severity_totals if sev == "skipped"), totals.skipped)
    kept = (
        f" {plural(kept_in_text, 'value', 'values')} without a qTest field "
        f"{'is' if kept_in_text == 1 else 'are'} kept whole in text."
        if kept_in_text
        else ""
    )
    if degraded or skipped:
        return Verdict(
            PASSED_WITH_DEGRADATIONS,
            f"All {plural(totals.expected, 'entity', 'entities')} to migrate are in qTest{caveat}; "
            f"{plural(degraded, 'value was', 'values were')} degraded and "
            f"{plural(skipped, 'entity was', 'entities were')} skipped by design, "
            f"each listed with its reason.{kept}",
        )
    if totals.source == 0:
        return Verdict(
            PASSED, f"Project {data.project_key} has no entities in Zephyr: there was nothing to migrate."
        )
    return Verdict(
        PASSED,
        f"All {plural(totals.source, 'source entity', 'source entities')} are in qTest{caveat} "
        f"and validation found no difference.{kept}",
    )


def _unverified(counts: Sequence[CountLine]) -> list[str]:
    return [line.entity_type for line in counts if line.target is None and line.expected > 0]


def make_notices(data: ReportInput, counts: Sequence[CountLine], traffic: Traffic) -> tuple[Notice, ...]:
    """The statements for the top of the report; rate limiting always comes first.

    Args:
        data: The report input.
        counts: Count lines per entity type.
        traffic: API traffic over every run.

    Returns:
        The notices, rate limiting first, then errors, then warnings.
    """
    found: list[Notice] = []
    if traffic.rate_limit_waits or traffic.rate_limit_wait_seconds:
        retried = f" and retried {plural(traffic.retries, 'request')} in all" if traffic.retries else ""
        found.append(
            Notice(
                "warning",
                "rate_limiting",
                f"Rate limiting: qTest or Zephyr answered 429 (Too Many Requests) "
                f"{plural(traffic.rate_limit_waits, 'time')}; ztoq waited "
                f"{fmt_seconds(traffic.rate_limit_wait_seconds)} in total{retried}.",
            )
        )
    elif traffic.retries:
        found.append(
            Notice(
                "warning",
                "retries",
                f"Retries: ztoq retried {plural(traffic.retries, 'request')} after server or network errors; "
                "no API rate-limited it (no 429).",
            )
        )
    run = last_run(data.runs)
    if run is not None and run.status in ("failed", "interrupted"):
        error = f": {run.error}" if run.error else "."
        found.append(
            Notice("error", f"run_{run.status}", f"Run #{run.id} ({run.command}) {run.status}{error}")
        )
    elif run is not None and run.status == "running":
        found.append(
            Notice(
                "warning",
                "run_unfinished",
                f"Run #{run.id} ({run.command}) has no recorded end (status running).",
            )
        )
    unverified = _unverified(counts)
    if unverified:
        found.append(
            Notice(
                "warning",
                "not_counted",
                f"qTest was not counted for {', '.join(unverified)}: "
                "those rows are not verified by validation.",
            )
        )
    extra = [line for line in counts if line.difference is not None and line.difference > 0]
    if extra:
        listed = ", ".join(f"{line.entity_type} ({fmt_signed(line.difference)})" for line in extra)
        found.append(
            Notice(
                "warning",
                "extra_in_target",
                f"qTest holds more than expected for {listed}: entities that existed before the migration, "
                "or duplicates.",
            )
        )
    return tuple(found)
