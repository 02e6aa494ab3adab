"""Test scripts (inline steps, call-to-test steps, plain and BDD scripts) -> qTest test steps.

Also the step placeholder test logs use: qTest step ids exist only once the test case is loaded,
so a step result names its step as ``{"$step": [test_case_key, order]}`` and the load phase swaps
in the id of the step with that ``order`` (see :func:`resolve_step_refs`).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ztoq.mapping.base import KEPT_IN_TEXT, Problem, find_placeholders, ref, replace_placeholders
from ztoq.mapping.call_graph import CallGraph, call_edges, levels_of
from ztoq.mapping.fields import display, is_empty
from ztoq.mapping.text import join_html, text_to_html
from ztoq.sources.records import CallParameter, TestScript, TestStep

STEP_REF_KEY = "$step"
#: The field the Problem "call_parameters_in_text" names (parameters kept in a call step's text).
CALL_PARAMETERS = "Call parameters"


def step_ref(test_case_key: str, order: int) -> dict[str, list[str | int]]:
    """A placeholder for the qTest id of step ``order`` (1-based) of a migrated test case."""
    return {STEP_REF_KEY: [test_case_key, order]}


def parse_step_ref(value: Any) -> tuple[str, int] | None:
    """``(test_case_key, order)`` when ``value`` was made by :func:`step_ref`, else None."""
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get(STEP_REF_KEY), list):
        key, order = (value[STEP_REF_KEY] + [None, None])[:2]
        if isinstance(key, str) and isinstance(order, int) and not isinstance(order, bool):
            return key, order
    return None


def find_step_refs(payload: Any) -> list[tuple[str, int]]:
    """Every step placeholder in a payload, in document order, without duplicates."""
    return find_placeholders(payload, parse_step_ref)


def resolve_step_refs(payload: Any, resolve: Callable[[str, int], int | None]) -> Any:
    """A copy of ``payload`` with every step placeholder replaced by ``resolve(key, order)``.

    Raises:
        KeyError: a placeholder whose step has no qTest id (``resolve`` returned None).
    """
    return replace_placeholders(
        payload, parse_step_ref, lambda t: resolve(*t), lambda t: f"step {t[1]} of test_case:{t[0]}"
    )


def script_text(script: TestScript | None) -> tuple[str, str] | None:
    """``(kind, text)`` of a plain or BDD script worth a step, else None."""
    if script is None or not script.text.strip():
        return None
    return script.kind.value, script.text


def planned_step_count(steps: Sequence[TestStep], script: TestScript | None) -> int:
    """How many qTest steps the migrated test case has: one per source step, one for a script."""
    return len(steps) + (1 if script_text(script) else 0)


def _parameters_html(parameters: Sequence[CallParameter]) -> str:
    lines = [f"{p.name or ''} = {p.value or ''} ({p.type or ''})" for p in parameters]
    return join_html("<b>Parameters</b>", *lines) if lines else ""


def _inline_step(step: TestStep, order: int, field_names: list[str]) -> dict[str, Any]:
    description = text_to_html(step.description)
    test_data = text_to_html(step.test_data)
    if test_data:
        description = join_html(description, "<b>Test data</b>", test_data)
    extras = {name: value for name, value in step.fields.items() if not is_empty(value)}
    if extras:
        lines = [f"{name}: {text_to_html(display(value))}" for name, value in extras.items()]
        description = join_html(description, "<b>Zephyr step fields</b>", *lines)
        field_names.extend(n for n in extras if n not in field_names)
    return {
        "description": description,
        "expected": text_to_html(step.expected_result),
        "order": order,
    }


def build_test_steps(
    test_case_key: str,
    steps: Sequence[TestStep],
    script: TestScript | None,
    known_keys: frozenset[str] | set[str],
    broken_calls: frozenset[int] = frozenset(),
    problems: list[Problem] | None = None,
) -> list[dict[str, Any]]:
    """The qTest ``test_steps`` of a test case, in the source's order, with ``order`` 1..n.

    Args:
        test_case_key: the calling test case (a call to itself is a cycle).
        steps: the test case's steps (inline or call-to-test), in order.
        script: its plain or BDD script, or None; it becomes the last step.
        known_keys: keys of every test case that will exist in qTest.
        broken_calls: indexes (0-based) of call steps that close a call cycle.
        problems: receives what was degraded.
    """
    problems = problems if problems is not None else []
    out: list[dict[str, Any]] = []
    field_names: list[str] = []
    for index, step in enumerate(steps):
        order = index + 1
        key = step.called_test_case
        if key is None:
            out.append(_inline_step(step, order, field_names))
            continue
        text = join_html(f"Call to test {key}", _parameters_html(step.parameters))
        if key == test_case_key or index in broken_calls:
            problems.append(
                Problem(
                    "degraded",
                    "call_cycle",
                    f"Step {order} calls {key}, which closes a call cycle; it is kept as a text step.",
                    detail={"step": order, "called": key},
                )
            )
            out.append({"description": text, "expected": "", "order": order})
        elif key not in known_keys:
            problems.append(
                Problem(
                    "degraded",
                    "unknown_called_test_case",
                    f"Step {order} calls {key}, which is not a migrated test case; "
                    "it is kept as a text step.",
                    detail={"step": order, "called": key},
                )
            )
            out.append({"description": text, "expected": "", "order": order})
        else:
            if step.parameters:
                problems.append(
                    Problem(
                        KEPT_IN_TEXT,
                        "call_parameters_in_text",
                        f"The parameters of step {order} (call to {key}) have no qTest equivalent; "
                        "they are written into the step description.",
                        field=CALL_PARAMETERS,
                        detail={"step": order, "called": key},
                    )
                )
            out.append(
                {
                    "description": text,
                    "expected": "",
                    "order": order,
                    "called_test_case_id": ref("test_case", key),
                }
            )
    for name in field_names:
        problems.append(
            Problem(
                KEPT_IN_TEXT,
                "step_field_in_description",
                f"Step field {name!r} has no qTest equivalent; its values are written into the "
                "step descriptions.",
                field=name,
            )
        )
    found = script_text(script)
    if found is not None:
        kind, text = found
        # Gherkin is plain text, not HTML: escaped inside <pre> so "<placeholder>" in a Scenario
        # Outline survives and indentation and tables keep their columns. Plain scripts are
        # Zephyr rich text (HTML), kept as is.
        body = f"<pre>{html.escape(text, quote=False)}</pre>" if kind == "bdd" else text_to_html(text)
        out.append({"description": body, "expected": "", "order": len(out) + 1})
    return out


def call_levels(
    steps_by_key: Mapping[str, Sequence[TestStep]],
) -> tuple[dict[str, int], dict[str, frozenset[int]]]:
    """Call depth of each test case and the call steps that close a cycle.

    Depth 0 calls nothing in ``steps_by_key``; depth n calls something of depth n-1, so loading by
    increasing depth creates every called test case before its callers. Cycles are broken at the
    back edges of a depth-first walk in sorted key order (deterministic, never loops).

    Returns:
        ``(levels, broken)``: key -> depth, and key -> indexes of its cycle-closing call steps.
    """
    edges = {key: call_edges(steps) for key, steps in steps_by_key.items()}
    return levels_of({key: [(i, c) for i, c in calls if c in steps_by_key] for key, calls in edges.items()})


__all__ = [
    "STEP_REF_KEY",
    "CallGraph",
    "build_test_steps",
    "call_edges",
    "call_levels",
    "find_step_refs",
    "levels_of",
    "parse_step_ref",
    "planned_step_count",
    "resolve_step_refs",
    "script_text",
    "step_ref",
]
