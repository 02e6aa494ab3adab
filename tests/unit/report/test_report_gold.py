"""Gold-file tests: a fixed ReportInput rendered to JSON and Markdown must match tests/unit/report/gold/.

Modelled on coverage.py's ``tests/goldtest.py``: timestamps are scrubbed from both sides before
comparing; on a difference the actual output is saved under ``test-artifacts/gold-actual/`` and the
diff is shown. Run with ``ZTOQ_UPDATE_GOLD=1`` to rewrite the gold files after an intended change.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest
from report_inputs import empty_input, fixed_input

from ztoq.report import ReportInput, build_report, render_json, render_markdown

GOLD_DIR = Path(__file__).parent / "gold"
ACTUAL_DIR = Path(__file__).parents[3] / "test-artifacts" / "gold-actual"

#: (pattern, replacement) applied to expected and actual text alike.
SCRUBS: list[tuple[str, str]] = [
    (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)?", "TIMESTAMP"),
]


def scrub(text: str) -> str:
    """Replace what legitimately varies (timestamps) with fixed words."""
    for pattern, replacement in SCRUBS:
        text = re.sub(pattern, replacement, text)
    return text


def compare_gold(name: str, actual: str) -> None:
    """Compare ``actual`` with ``gold/<name>``, or rewrite it when ZTOQ_UPDATE_GOLD=1."""
    gold = GOLD_DIR / name
    if os.environ.get("ZTOQ_UPDATE_GOLD") == "1":
        gold.parent.mkdir(parents=True, exist_ok=True)
        gold.write_text(scrub(actual), encoding="utf-8", newline="\n")
        return
    if not gold.exists():
        pytest.fail(f"no gold file {gold}; run with ZTOQ_UPDATE_GOLD=1 to create it")
    expected = scrub(gold.read_text(encoding="utf-8"))
    got = scrub(actual)
    if got != expected:
        ACTUAL_DIR.mkdir(parents=True, exist_ok=True)
        (ACTUAL_DIR / name).write_text(got, encoding="utf-8", newline="\n")
        diff = difflib.unified_diff(
            expected.splitlines(), got.splitlines(), f"gold/{name}", f"actual/{name}", lineterm="", n=2
        )
        shown = "\n".join(list(diff)[:120])
        pytest.fail(
            f"{name} differs from its gold file (actual saved to {ACTUAL_DIR / name}; "
            f"ZTOQ_UPDATE_GOLD=1 rewrites the gold):\n{shown}"
        )


CASES: dict[str, ReportInput] = {"fixed": fixed_input(), "empty": empty_input()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_json_gold(case: str) -> None:
    compare_gold(f"{case}.json", render_json(build_report(CASES[case], sample_size=3)))


@pytest.mark.parametrize("case", sorted(CASES))
def test_markdown_gold(case: str) -> None:
    compare_gold(f"{case}.md", render_markdown(build_report(CASES[case], sample_size=3)))


def test_scrub_replaces_timestamps_only() -> None:
    assert scrub("at 2024-05-01T09:30:00.123+00:00 and 2024-05-01 09:30:00, run #2") == (
        "at TIMESTAMP and TIMESTAMP, run #2"
    )
