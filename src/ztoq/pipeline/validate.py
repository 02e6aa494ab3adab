"""Validate: read qTest back (never the local store's idea of it) and compare with the source.

For the test design side it checks counts per type and, for every test case: it exists, its
name, its module path, its steps in order (description, expected result, called test case), its
priority and status, and that its Zephyr key is visible. For the execution side: every release
and test cycle exists under the right parent, every run under its cycle with its test case, and
every execution that ran is a log on its run with its status, end date and step results, the
run's latest log being the latest execution. Differences become ``missing`` and
``mismatch`` problems (replacing those of the previous validation) and make the run fail.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ztoq.errors import NotFound
from ztoq.mapping import find_source_key, resolve_refs
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.target import load_target_fields
from ztoq.plan import decode_planned
from ztoq.qtest.models import Module, TestCase, TestCycle, TestRun
from ztoq.store import PlannedRecord, ProblemItem

PHASE = "validate"

_SPACE = re.compile(r"\s+")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def normalise(text: Any) -> str:
    """Text as compared: HTML line breaks and whitespace runs folded (editors rewrite both)."""
    if text is None:
        return ""
    return _SPACE.sub(" ", _BR.sub("<br>", html.unescape(str(text)))).strip()


@dataclass
class TypeCounts:
    """Source, planned and target counts of one entity type."""

    source: int = 0
    planned: int = 0
    target: int = 0
    missing: int = 0
    mismatched: int = 0


@dataclass
class ValidationResult:
    """What validation found."""

    counts: dict[str, TypeCounts] = field(default_factory=dict)
    problems: list[tuple[str, str, ProblemItem]] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return sum(c.missing for c in self.counts.values())

    @property
    def mismatched(self) -> int:
        return sum(c.mismatched for c in self.counts.values())

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.mismatched == 0

    def add(self, entity_type: str, key: str, severity: str, code: str, message: str, **detail: Any) -> None:
        field_name = detail.pop("field", None)
        self.problems.append(
            (entity_type, key, ProblemItem(severity, code, message, field_name, detail or None))
        )
        counts = self.counts.setdefault(entity_type, TypeCounts())
        if severity == "missing":
            counts.missing += 1


def _module_paths(root: Module, root_name: str) -> dict[int, str]:
    """qTest module id -> path ("ROOT/Folder/Sub") over a module read with its descendants."""
    paths: dict[int, str] = {}

    def walk(module: Module, prefix: str) -> None:
        path = f"{prefix}/{module.name}" if prefix else str(module.name or root_name)
        if module.id is not None:
            paths[module.id] = path
        for child in module.children or ():
            walk(child, path)

    walk(root, "")
    return paths


def _compare_case(
    result: ValidationResult,
    key: str,
    expected: dict[str, Any],
    actual: TestCase,
    paths: dict[int, str],
    checked_fields: dict[int, str],
    key_field_id: int | None,
) -> None:
    before = len(result.problems)

    def differ(what: str, want: Any, got: Any) -> None:
        result.add(
            "test_case",
            key,
            "mismatch",
            f"{what}_differs",
            f"The {what.replace('_', ' ')} of {key} in qTest differs from Zephyr.",
            field=what,
            expected=str(want),
            actual=str(got),
            target_id=actual.id,
        )

    if normalise(expected.get("name")) != normalise(actual.name):
        differ("name", expected.get("name"), actual.name)
    want_parent, got_parent = expected.get("parent_id"), actual.parent_id
    if want_parent != got_parent:
        differ(
            "module_path", paths.get(want_parent or -1, want_parent), paths.get(got_parent or -1, got_parent)
        )
    want_steps = expected.get("test_steps") or []
    got_steps = sorted(actual.test_steps or [], key=lambda s: s.order or 0)
    if len(want_steps) != len(got_steps):
        differ("step_count", len(want_steps), len(got_steps))
    else:
        for index, (want, got) in enumerate(zip(want_steps, got_steps, strict=True), start=1):
            for attr in ("description", "expected"):
                if normalise(want.get(attr)) != normalise(getattr(got, attr)):
                    differ(f"step_{index}_{attr}", want.get(attr), getattr(got, attr))
            if want.get("called_test_case_id") != got.called_test_case_id:
                differ(
                    f"step_{index}_called_test_case", want.get("called_test_case_id"), got.called_test_case_id
                )
    got_props = {p.field_id: p.field_value for p in actual.properties or ()}
    for prop in expected.get("properties") or ():
        field_id = prop.get("field_id")
        if field_id in checked_fields and str(prop.get("field_value")) != str(got_props.get(field_id)):
            differ(checked_fields[field_id].lower(), prop.get("field_value"), got_props.get(field_id))
    visible = find_source_key(actual.description) == key or (
        key_field_id is not None and got_props.get(key_field_id) == key
    )
    if not visible:
        differ("zephyr_key", key, "not found in the source-key field or the description")
    if len(result.problems) > before:
        result.counts.setdefault("test_case", TypeCounts()).mismatched += 1


async def validate_design(ctx: PhaseContext, result: ValidationResult) -> None:
    """Modules and test cases: counts, and every test case field by field."""
    client, pk = ctx.qtest(), ctx.project_key
    with ctx.session() as repo:
        fields = load_target_fields(repo, pk)
        ids = {t: repo.mappings_for(pk, t) for t in ("module", "test_case")}
        planned: dict[str, list[PlannedRecord]] = {
            t: list(repo.iter_planned(pk, t)) for t in ("module", "test_case")
        }
        sources = repo.source_counts(pk)
    checked = {
        f.id: f.label
        for label in ("Priority", "Status")
        if (f := fields.field("test-cases", label)) is not None
    }
    key_field = fields.field("test-cases", ctx.config.qtest.source_key_field)
    root_id = ids["module"].get("root")
    paths: dict[int, str] = {}
    if root_id is not None:
        try:
            root = await client.get_module(root_id, expand_descendants=True)
            paths = _module_paths(root, ctx.config.root_module_name)
        except NotFound:
            paths = {}
    counts = result.counts.setdefault("module", TypeCounts())
    counts.source = sources.get("folder", 0)
    counts.planned = len(planned["module"])
    for record in planned["module"]:
        target = ids["module"].get(record.source_key)
        if target is None or target not in paths:
            result.add(
                "module",
                record.source_key,
                "missing",
                "not_in_qtest",
                f"Zephyr folder {record.source_key} has no module in qTest.",
            )
    counts.target = sum(1 for r in planned["module"] if ids["module"].get(r.source_key) in paths)

    found: dict[int, TestCase] = {}
    ctx.reporter.start(PHASE, "module", total=len(paths))
    for module_id in paths:
        async for case in client.iter_test_cases(parent_id=module_id, expand_steps=True, expand_props=True):
            if case.id is not None:
                found[case.id] = case
        ctx.reporter.advance(PHASE, "module")
        fault_point("validate.read")
    ctx.reporter.finish(PHASE, "module")

    # The same Zephyr key twice in qTest is a duplicate, whichever copy the store points at.
    seen_keys: dict[str, list[int]] = {}
    for case_id, case in found.items():
        props = {p.field_id: p.field_value for p in case.properties or ()}
        key_value = props.get(key_field.id) if key_field is not None else None
        case_key = key_value or find_source_key(case.description)
        if case_key:
            seen_keys.setdefault(case_key, []).append(case_id)
    counts = result.counts.setdefault("test_case", TypeCounts())
    for case_key, case_ids in seen_keys.items():
        if len(case_ids) > 1:
            counts.mismatched += 1
            result.add(
                "test_case",
                case_key,
                "mismatch",
                "duplicate_in_qtest",
                f"Test case {case_key} is in qTest {len(case_ids)} times.",
                field="duplicates",
                expected="1",
                actual=", ".join(str(i) for i in sorted(case_ids)),
            )
    counts.source = sources.get("test_case", 0)
    counts.planned = len(planned["test_case"])
    ctx.reporter.start(PHASE, "test_case", total=counts.planned)
    for record in planned["test_case"]:
        key = record.source_key
        target = ids["test_case"].get(key)
        actual = found.get(target) if target is not None else None
        if actual is None:
            result.add("test_case", key, "missing", "not_in_qtest", f"Test case {key} is not in qTest.")
        else:
            counts.target += 1
            body = decode_planned(record.entity_type, record.source_key, record.payload).body
            expected = resolve_refs(body or {}, lambda t, k: ids.get(t, {}).get(k))
            _compare_case(
                result, key, expected, actual, paths, checked, None if key_field is None else key_field.id
            )
        ctx.reporter.advance(PHASE, "test_case")
    ctx.reporter.finish(PHASE, "test_case")
    skipped = counts.source - counts.planned
    if skipped > 0:
        result.add(
            "test_case",
            "*",
            "missing",
            "not_planned",
            f"{skipped} Zephyr test case(s) were not planned for qTest; see the transform problems.",
        )


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _planned_by_type(ctx: PhaseContext, types: tuple[str, ...]) -> dict[str, list[PlannedRecord]]:
    with ctx.session() as repo:
        return {t: list(repo.iter_planned(ctx.project_key, t)) for t in types}


async def validate_execution(ctx: PhaseContext, result: ValidationResult) -> None:
    """Releases, cycles, runs and logs: each exists where it belongs, logs complete and in order."""
    client, pk = ctx.qtest(), ctx.project_key
    types = ("release", "cycle_folder", "test_cycle", "test_run", "test_log")
    planned = _planned_by_type(ctx, types)
    with ctx.session() as repo:
        ids = {t: repo.mappings_for(pk, t) for t in (*types, "test_case")}
        sources = repo.source_counts(pk)

    releases = {r.id for r in await client.list_releases(include_closed=True) if r.id is not None}
    counts = result.counts.setdefault("release", TypeCounts(source=sources.get("test_plan", 0)))
    counts.planned = len(planned["release"])
    for record in planned["release"]:
        if ids["release"].get(record.source_key) in releases:
            counts.target += 1
        else:
            result.add(
                "release",
                record.source_key,
                "missing",
                "not_in_qtest",
                f"Test plan {record.source_key} has no release in qTest.",
            )

    # Every test cycle with its parent, read from the tops of both trees (cycle folders, releases).
    parent_of: dict[int, tuple[str, int | None]] = {}

    def walk(cycle: TestCycle, parent: tuple[str, int | None]) -> None:
        if cycle.id is None:
            return
        parent_of[cycle.id] = parent
        for child in cycle.test_cycles or ():
            walk(child, ("test-cycle", cycle.id))

    for top in await client.list_test_cycles(None, "root", expand="descendants"):
        walk(top, ("root", None))
    for release_id in releases:
        for top in await client.list_test_cycles(release_id, "release", expand="descendants"):
            walk(top, ("release", release_id))
    for entity_type, source_type in (("cycle_folder", "folder"), ("test_cycle", "test_cycle")):
        counts = result.counts.setdefault(entity_type, TypeCounts())
        counts.planned = len(planned[entity_type])
        counts.source = sources.get(source_type, 0) if entity_type == "test_cycle" else counts.planned
        for record in planned[entity_type]:
            target = ids[entity_type].get(record.source_key)
            extra = decode_planned(record.entity_type, record.source_key, record.payload).options
            want_parent = resolve_refs(extra.get("parent_id"), lambda t, k: ids.get(t, {}).get(k))
            if target not in parent_of:
                result.add(
                    entity_type,
                    record.source_key,
                    "missing",
                    "not_in_qtest",
                    f"Test cycle {record.source_key} is not in qTest.",
                )
                continue
            counts.target += 1
            if parent_of[target][1] != want_parent:
                counts.mismatched += 1
                result.add(
                    entity_type,
                    record.source_key,
                    "mismatch",
                    "parent_differs",
                    f"Test cycle {record.source_key} is not under the qTest parent it belongs to.",
                    field="parent",
                    expected=str(want_parent),
                    actual=str(parent_of[target][1]),
                )

    # Runs: under the right cycle, of the right test case.
    runs: dict[int, TestRun] = {}
    for cycle_id in set(ids["test_cycle"].values()):
        async for run in client.iter_test_runs(cycle_id, "test-cycle"):
            if run.id is not None:
                runs[run.id] = run
    counts = result.counts.setdefault("test_run", TypeCounts(planned=len(planned["test_run"])))
    counts.source = counts.planned
    ctx.reporter.start(PHASE, "test_run", total=counts.planned)
    for record in planned["test_run"]:
        key = record.source_key
        cycle_key, _, case_key = key.partition("|")
        found_run = runs.get(ids["test_run"].get(key, -1))
        if found_run is None:
            result.add(
                "test_run",
                key,
                "missing",
                "not_in_qtest",
                f"The test run of {case_key} in {cycle_key} is not in qTest.",
            )
        else:
            counts.target += 1
            want_cycle, want_case = ids["test_cycle"].get(cycle_key), ids["test_case"].get(case_key)
            got_case = (
                found_run.test_case_id
                if found_run.test_case_id is not None
                else (found_run.test_case.id if found_run.test_case else None)
            )
            if found_run.parent_id != want_cycle or got_case != want_case:
                counts.mismatched += 1
                result.add(
                    "test_run",
                    key,
                    "mismatch",
                    "run_misplaced",
                    f"The test run of {case_key} in {cycle_key} is not under its cycle with its test case.",
                    field="run",
                    expected=f"cycle {want_cycle}, case {want_case}",
                    actual=f"cycle {found_run.parent_id}, case {got_case}",
                )
        ctx.reporter.advance(PHASE, "test_run")
    ctx.reporter.finish(PHASE, "test_run")

    # Logs: every execution that ran is a log on its run, with its status, end date and step
    # statuses, and the run's logs are in execution order (its latest log is the latest execution).
    by_run: dict[str, list[PlannedRecord]] = {}
    for record in planned["test_log"]:
        extra = decode_planned(record.entity_type, record.source_key, record.payload).options
        run_ref = extra.get("run") or {}
        by_run.setdefault(str(run_ref.get("$ref", "")).partition(":")[2], []).append(record)
    counts = result.counts.setdefault("test_log", TypeCounts(planned=len(planned["test_log"])))
    counts.source = sources.get("test_execution", 0)
    ctx.reporter.start(PHASE, "test_log", total=counts.planned)
    for run_key, records in by_run.items():
        run_id = ids["test_run"].get(run_key)
        logs = await client.list_test_logs(run_id) if run_id is not None and run_id in runs else []
        by_id = {log.id: log for log in logs if log.id is not None}
        for record in sorted(records, key=lambda r: r.sort_key):
            log = by_id.get(ids["test_log"].get(record.source_key, -1))
            body = decode_planned(record.entity_type, record.source_key, record.payload).body
            body = body or {}
            if log is None:
                result.add(
                    "test_log",
                    record.source_key,
                    "missing",
                    "not_in_qtest",
                    f"Execution {record.source_key} has no test log in qTest.",
                )
                continue
            counts.target += 1
            before = len(result.problems)
            want_status = (body.get("status") or {}).get("id")
            got_status = log.status.id if log.status else None
            if want_status != got_status:
                result.add(
                    "test_log",
                    record.source_key,
                    "mismatch",
                    "status_differs",
                    f"The status of execution {record.source_key} differs in qTest.",
                    field="status",
                    expected=str(want_status),
                    actual=str(got_status),
                )
            if _moment(body.get("exe_end_date")) != _moment(log.exe_end_date):
                result.add(
                    "test_log",
                    record.source_key,
                    "mismatch",
                    "end_date_differs",
                    f"The end date of execution {record.source_key} differs in qTest.",
                    field="exe_end_date",
                    expected=str(body.get("exe_end_date")),
                    actual=str(log.exe_end_date),
                )
            want_steps = [(s.get("status") or {}).get("id") for s in body.get("test_step_logs") or []]
            got_steps = [
                s.status.id if s.status else None
                for s in sorted(log.test_step_logs or [], key=lambda s: s.order or 0)
            ]
            if want_steps != got_steps:
                result.add(
                    "test_log",
                    record.source_key,
                    "mismatch",
                    "step_results_differ",
                    f"The step results of execution {record.source_key} differ in qTest.",
                    field="test_step_logs",
                    expected=str(want_steps),
                    actual=str(got_steps),
                )
            if len(result.problems) > before:
                counts.mismatched += 1
            ctx.reporter.advance(PHASE, "test_log")
        if logs and records:
            latest_planned = ids["test_log"].get(max(records, key=lambda r: r.sort_key).source_key)
            latest = max(
                logs,
                key=lambda lg: (_moment(lg.exe_end_date) or datetime.min.replace(tzinfo=UTC), lg.id or 0),
            )
            if latest.id != latest_planned:
                counts.mismatched += 1
                result.add(
                    "test_run",
                    run_key,
                    "mismatch",
                    "latest_log_differs",
                    f"The latest test log of run {run_key} is not its latest execution.",
                    field="latest_test_log",
                    expected=str(latest_planned),
                    actual=str(latest.id),
                )
    ctx.reporter.finish(PHASE, "test_log")


async def run_validate(ctx: PhaseContext) -> ValidationResult:
    """The validate phase: compare, then replace the previous validation's problems."""
    result = ValidationResult()
    await validate_design(ctx, result)
    await validate_execution(ctx, result)
    with ctx.session() as repo:
        repo.clear_problems(ctx.project_key, PHASE)
        by_entity: dict[tuple[str, str], list[ProblemItem]] = {}
        for entity_type, key, problem in result.problems:
            by_entity.setdefault((entity_type, key), []).append(problem)
        repo.replace_problems_bulk(
            ctx.project_key, PHASE, [(t, k, p) for (t, k), p in by_entity.items()], run_id=ctx.run_id
        )
    return result
