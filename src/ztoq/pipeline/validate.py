"""Validate: read qTest back (never the local store's idea of it) and compare with the source.

For the test design side it checks counts per type and, for every test case: it exists, its
name, its module path, its steps in order (description, expected result, called test case), its
priority and status, and that its Zephyr key is visible. Differences become ``missing`` and
``mismatch`` problems (replacing those of the previous validation) and make the run fail.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from ztoq.errors import NotFound
from ztoq.mapping import find_source_key, resolve_refs
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.transform import load_target_fields, unwrap
from ztoq.qtest.models import Module, TestCase
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
    ctx.reporter.finish(PHASE, "module")

    counts = result.counts.setdefault("test_case", TypeCounts())
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
            body, _ = unwrap(record.payload)
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


async def run_validate(ctx: PhaseContext) -> ValidationResult:
    """The validate phase: compare, then replace the previous validation's problems."""
    result = ValidationResult()
    await validate_design(ctx, result)
    with ctx.session() as repo:
        repo.clear_problems(ctx.project_key, PHASE)
        by_entity: dict[tuple[str, str], list[ProblemItem]] = {}
        for entity_type, key, problem in result.problems:
            by_entity.setdefault((entity_type, key), []).append(problem)
        repo.replace_problems_bulk(
            ctx.project_key, PHASE, [(t, k, p) for (t, k), p in by_entity.items()], run_id=ctx.run_id
        )
    return result
