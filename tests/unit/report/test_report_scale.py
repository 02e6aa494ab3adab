"""Scale: 100,000 test cases and 100,000 problems still give a small, fast HTML report."""

from __future__ import annotations

import json
import time

import pytest
from report_inputs import big_input

from ztoq.report import build_report, render_html, render_json, render_markdown

N = 100_000


@pytest.mark.slow
def test_100k_entities_and_problems_stay_small_and_fast() -> None:
    data = big_input(N)
    assert len(data.entities) == N
    assert len(data.problems) == N

    started = time.perf_counter()
    report = build_report(data)
    html = render_html(report)
    html_seconds = time.perf_counter() - started
    markdown = render_markdown(report)

    size = len(html.encode("utf-8"))
    assert size < 2_000_000, f"HTML is {size:,} bytes"
    assert html_seconds < 8, f"build + HTML took {html_seconds:.1f} s"
    assert len(markdown.encode("utf-8")) < 2_000_000
    # summaries with drill-down, never one giant table: capped samples pointing to the JSON
    assert html.count("<details") < 100
    assert "more problems in the JSON report" in html
    assert "… 9,950 more problems in the JSON report." in html
    assert html.count("<tr>") < 1_500

    doc = json.loads(render_json(report))
    assert sum(len(g["items"]) for g in doc["problems"]["groups"]) == N
    assert len(doc["entities"]) == N
    assert len(doc["mismatches"]) == N // 100
