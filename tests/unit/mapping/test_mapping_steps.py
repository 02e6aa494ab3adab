"""Test steps, scripts, call levels and step placeholders (ztoq.mapping.steps)."""

from __future__ import annotations

import random

import mapping_builders as mb
import pytest

from ztoq.mapping.base import Problem, ref
from ztoq.mapping.steps import (
    build_test_steps,
    call_edges,
    call_levels,
    find_step_refs,
    levels_of,
    parse_step_ref,
    planned_step_count,
    resolve_step_refs,
    step_ref,
)

KNOWN = frozenset({"PROJ-T1", "PROJ-T2", "PROJ-T3"})


def test_inline_steps_in_order_with_test_data_heading() -> None:
    steps = [
        mb.inline("Open <b>login</b>", "Form shown", testData="user = admin\npassword = secret"),
        mb.inline("Submit", "Dashboard"),
    ]
    out = build_test_steps("PROJ-T1", mb.steps(steps), None, KNOWN)
    assert out == [
        {
            "description": "Open <b>login</b><br><b>Test data</b><br>user = admin<br>password = secret",
            "expected": "Form shown",
            "order": 1,
        },
        {"description": "Submit", "expected": "Dashboard", "order": 2},
    ]


def test_test_data_alone_and_empty_steps_are_kept() -> None:
    out = build_test_steps(
        "PROJ-T1", mb.steps([{"inline": {"testData": "x=1"}}, {"inline": {}}, {}]), None, KNOWN
    )
    assert out == [
        {"description": "<b>Test data</b><br>x=1", "expected": "", "order": 1},
        {"description": "", "expected": "", "order": 2},
        {"description": "", "expected": "", "order": 3},
    ]


def test_step_custom_fields_go_into_the_description_once_reported() -> None:
    problems: list[Problem] = []
    steps = [
        mb.inline("A", "B", customFields={"Risk": "High", "Empty": None}),
        mb.inline("C", "D", customFields={"Risk": "Low"}, reflectRef="AI-1"),
    ]
    out = build_test_steps("PROJ-T1", mb.steps(steps), None, KNOWN, problems=problems)
    assert out[0]["description"] == "A<br><b>Zephyr step fields</b><br>Risk: High"
    assert out[1]["description"] == "C<br><b>Zephyr step fields</b><br>Risk: Low<br>reflectRef: AI-1"
    assert [(p.severity, p.code, p.field) for p in problems] == [
        ("kept_in_text", "step_field_in_description", "Risk"),
        ("kept_in_text", "step_field_in_description", "reflectRef"),
    ]


def test_call_to_test_with_parameters() -> None:
    problems: list[Problem] = []
    params = (
        {"name": "username", "type": "DEFAULT_VALUE", "value": "admin"},
        {"name": "pw", "value": "s3cret"},
    )
    out = build_test_steps("PROJ-T1", mb.steps([mb.call("PROJ-T2", *params)]), None, KNOWN, problems=problems)
    assert out == [
        {
            "description": "Call to test PROJ-T2<br><b>Parameters</b><br>username = admin (DEFAULT_VALUE)"
            "<br>pw = s3cret ()",
            "expected": "",
            "order": 1,
            "called_test_case_id": ref("test_case", "PROJ-T2"),
        }
    ]
    assert [(p.severity, p.code, p.field) for p in problems] == [
        ("kept_in_text", "call_parameters_in_text", "Call parameters")
    ]


def test_call_without_parameters_is_clean() -> None:
    problems: list[Problem] = []
    out = build_test_steps("PROJ-T1", mb.steps([mb.call("PROJ-T2")]), None, KNOWN, problems=problems)
    assert out[0]["description"] == "Call to test PROJ-T2"
    assert problems == []


def test_unknown_called_key_becomes_a_text_step() -> None:
    problems: list[Problem] = []
    out = build_test_steps("PROJ-T1", mb.steps([mb.call("OTHER-T9")]), None, KNOWN, problems=problems)
    assert out == [{"description": "Call to test OTHER-T9", "expected": "", "order": 1}]
    assert [(p.severity, p.code) for p in problems] == [("degraded", "unknown_called_test_case")]
    assert problems[0].detail == {"step": 1, "called": "OTHER-T9"}


def test_self_call_and_broken_calls_become_text_steps() -> None:
    problems: list[Problem] = []
    steps = [mb.call("PROJ-T1"), mb.call("PROJ-T2"), mb.call("PROJ-T3")]
    out = build_test_steps("PROJ-T1", mb.steps(steps), None, KNOWN, frozenset({1}), problems)
    assert "called_test_case_id" not in out[0]
    assert "called_test_case_id" not in out[1]
    assert out[2]["called_test_case_id"] == ref("test_case", "PROJ-T3")
    assert [p.code for p in problems] == ["call_cycle", "call_cycle"]


def test_plain_script_is_one_html_step() -> None:
    script = {"id": 1, "type": "plain", "text": "Attempt to login<br>then <i>logout</i>"}
    out = build_test_steps("PROJ-T1", (), mb.script(script), KNOWN)
    assert out == [{"description": "Attempt to login<br>then <i>logout</i>", "expected": "", "order": 1}]


def test_bdd_script_keeps_gherkin_lines_and_placeholders() -> None:
    gherkin = "Scenario Outline: login\n  Given user <name>\n  | name |\n  | ada & co |"
    out = build_test_steps("PROJ-T1", (), mb.script({"type": "bdd", "text": gherkin}), KNOWN)
    assert out[0]["description"] == (
        "<pre>Scenario Outline: login\n  Given user &lt;name&gt;\n  | name |\n  | ada &amp; co |</pre>"
    )


def test_script_after_steps_and_empty_scripts_ignored() -> None:
    out = build_test_steps(
        "PROJ-T1", mb.steps([mb.inline()]), mb.script({"type": "plain", "text": "More"}), KNOWN
    )
    assert [s["order"] for s in out] == [1, 2]
    assert build_test_steps("PROJ-T1", (), mb.script({"type": "plain", "text": "  "}), KNOWN) == []
    assert build_test_steps("PROJ-T1", (), mb.script({"type": "STEP_BY_STEP", "text": "x"}), KNOWN) == []
    assert planned_step_count(mb.steps([mb.inline()]), mb.script({"type": "bdd", "text": "x"})) == 2
    assert planned_step_count((), None) == 0


def test_call_levels_order_callees_first() -> None:
    steps = {
        "A": [mb.call("B"), mb.inline()],
        "B": [mb.call("C")],
        "C": [mb.inline()],
        "D": [mb.call("C"), mb.call("X-T9")],
    }
    levels, broken = call_levels(mb.steps_by_key(steps))
    assert levels == {"A": 2, "B": 1, "C": 0, "D": 1}
    assert broken == {}


def test_call_cycles_are_broken_deterministically() -> None:
    levels, broken = call_levels(
        mb.steps_by_key({"A": [mb.call("B")], "B": [mb.call("C")], "C": [mb.call("A")], "S": [mb.call("S")]})
    )
    assert broken == {"C": frozenset({0}), "S": frozenset({0})}
    assert levels == {"A": 2, "B": 1, "C": 0, "S": 0}


def test_call_levels_handle_long_chains_without_recursion() -> None:
    chain = {f"K{i}": [mb.call(f"K{i + 1}")] for i in range(5000)}
    chain["K5000"] = []
    levels, broken = call_levels(mb.steps_by_key(chain))
    assert levels["K0"] == 5000
    assert broken == {}


def test_levels_of_a_graph_without_the_cases_calling_nothing_are_those_of_the_whole() -> None:
    rng = random.Random(5)
    for _ in range(200):
        keys = [f"K{i}" for i in range(rng.randint(1, 12))]
        raw = {
            k: [mb.call(rng.choice(keys)) if rng.random() < 0.3 else mb.inline() for _ in range(3)]
            for k in keys
        }
        whole = call_levels(mb.steps_by_key(raw))
        calls = {k: call_edges(s) for k, s in mb.steps_by_key(raw).items()}
        levels, broken = levels_of({k: c for k, c in calls.items() if c})
        assert ({k: levels.get(k, 0) for k in keys}, broken) == whole


def test_step_placeholders() -> None:
    payload = {
        "test_step_logs": [{"test_step_id": step_ref("PROJ-T1", 2), "order": 2}],
        "x": [step_ref("P-T9", 1)],
    }
    assert parse_step_ref(step_ref("PROJ-T1", 2)) == ("PROJ-T1", 2)
    assert parse_step_ref({"$step": ["K", True]}) is None
    assert parse_step_ref({"$step": ["K", 1], "other": 1}) is None
    assert find_step_refs(payload) == [("PROJ-T1", 2), ("P-T9", 1)]
    ids = {("PROJ-T1", 2): 7002, ("P-T9", 1): 9001}
    resolved = resolve_step_refs(payload, lambda k, o: ids.get((k, o)))
    assert resolved == {"test_step_logs": [{"test_step_id": 7002, "order": 2}], "x": [9001]}
    with pytest.raises(KeyError, match="step 2 of test_case:PROJ-T1"):
        resolve_step_refs(payload, lambda k, o: None)
