"""Rendering: escaping in all three formats, safe links, a self-contained HTML page, write_report."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_inputs import HOSTILE, HOSTILE_IMG, QTEST, clean_input, empty_input, fixed_input

from ztoq.report import (
    EntityLink,
    ProblemRecord,
    build_report,
    format_for,
    render,
    render_html,
    render_json,
    render_markdown,
    write_report,
)
from ztoq.report.render_html import PRINT_SCRIPT
from ztoq.report.render_markdown import md
from ztoq.report.svg import bar_chart, donut

ALLOWED_TAGS = {
    *("html", "head", "meta", "title", "style", "body", "header", "div", "span", "b", "section", "ul", "li"),
    *("nav", "a", "h1", "h2", "h3", "p", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "details"),
    *("summary", "footer", "script", "svg", "rect", "text", "circle"),
}


class _Page(HTMLParser):
    """Collects tags, attributes, script and style bodies, and visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._raw: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._raw = self.scripts if tag == "script" else self.styles
            self._raw.append("")

    def handle_endtag(self, tag: str) -> None:
        self._raw = None

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            self._raw[-1] += data
        else:
            self.text.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


#: Markup (never escaped text, which cannot contain "<") that would load something.
_LOADING_MARKUP = re.compile(
    r"<(link|img|iframe|frame|object|embed|video|audio|source|track|base|image|use|feimage)\b"
    r"|<[^>]*\s(src|srcset|poster|data|action|formaction|background|xlink:href)\s*=",
    re.IGNORECASE,
)


def assert_self_contained(html: str, allowed_links: set[str]) -> None:
    """No external resource at all: only same-page anchors and known http(s) entity links."""
    assert _LOADING_MARKUP.search(html) is None
    page = parse(html)
    for css in page.styles:
        assert "url(" not in css.lower()
        assert "@import" not in css.lower()
    for tag, attrs in page.tags:
        assert tag in ALLOWED_TAGS, tag
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert "src" not in attrs
        assert "style" not in attrs
        if "href" in attrs:
            assert tag == "a", tag
            href = attrs["href"] or ""
            assert href.startswith("#") or href in allowed_links, href
            if not href.startswith("#"):
                assert href.startswith(("http://", "https://")), href
    assert page.scripts == [PRINT_SCRIPT]


# --- HTML ---------------------------------------------------------------------------------------


def test_html_escapes_hostile_text_and_links_only_http() -> None:
    report = build_report(fixed_input())
    html = render_html(report)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert HOSTILE_IMG not in html
    assert "<img" not in html
    assert "javascript:" not in html
    assert "(URL not linked: not http/https)" in html
    page = parse(html)
    visible = "".join(page.text)
    assert HOSTILE in visible
    assert HOSTILE_IMG in visible
    links = {e.link for e in report.entities if e.link}
    assert_self_contained(html, links)
    assert f'<a href="{QTEST}203" rel="noopener noreferrer">&lt;script&gt;' in html.replace("&amp;", "&")


def test_html_csp_allows_exactly_the_print_script() -> None:
    html = render_html(build_report(fixed_input()))
    digest = base64.b64encode(hashlib.sha256(PRINT_SCRIPT.encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    policy = csp.group(1).replace("&#39;", "'")
    assert "default-src 'none'" in policy
    assert f"script-src 'sha256-{digest}'" in policy
    assert html.index("Content-Security-Policy") < html.index("<style>")


def test_html_top_has_verdict_then_rate_limit_notice() -> None:
    html = render_html(build_report(fixed_input()))
    verdict = html.index('id="verdict"')
    notice = html.index("Rate limiting: qTest or Zephyr answered 429")
    assert verdict < notice < html.index('id="counts"')
    assert 'class="n neg">−1<' in html  # the count difference is highlighted


def test_html_lists_values_kept_in_text_apart_with_a_count_per_field() -> None:
    html = render_html(build_report(fixed_input()))
    kept = html[html.index('<section id="kept">') :]
    kept = kept[: kept.index("</section>")]
    assert html.index('id="problems"') < html.index('id="kept"') < html.index('id="runs"')
    assert '<a href="#kept">Kept in text</a>' in html
    assert "3 values without a qTest field are kept whole in text" in kept
    assert '<tr><td>labels</td><td class="n">2</td><td>test_case 2</td>' in kept
    assert '<tr><td>Environment</td><td class="n">1</td><td>test_run 1</td>' in kept
    assert "kept_in_text" not in html[html.index('id="problems"') : html.index('id="kept"')]
    assert 'id="kept"' not in render_html(build_report(clean_input()))


def test_html_print_css_expands_details_and_drops_backgrounds() -> None:
    html = render_html(build_report(fixed_input()))
    print_css = html[html.index("@media print") :]
    assert "background:none!important" in print_css
    assert "details::details-content" in print_css


def test_html_caps_samples_and_points_to_json() -> None:
    problems = [ProblemRecord("t", "degraded", "a", "test_case", f"K-{i}", "m") for i in range(30)]
    html = render_html(build_report(clean_input(problems=problems), sample_size=5))
    assert html.count("K-") == 5
    assert "… 25 more problems in the JSON report." in html


def test_empty_report_says_so_in_every_format() -> None:
    report = build_report(empty_input())
    for text in (render_html(report), render_markdown(report), render_json(report)):
        assert "Nothing was migrated or validated" in text
    html = render_html(report)
    assert "No run recorded" in html
    assert "No counts recorded" in html
    assert_self_contained(html, set())


def test_the_source_is_named_next_to_the_project_in_every_format() -> None:
    server = "Zephyr Scale Server/Data Center (REST API v1)"
    report = build_report(replace(fixed_input(), source=server))
    assert f"<span>Zephyr project <b>PROJ</b></span>\n<span>Source <b>{server}</b></span>" in render_html(
        report
    )
    assert f"- Zephyr project: PROJ\n- Source: {md(server)}\n" in render_markdown(report)
    assert json.loads(render_json(report))["source"] == server
    unknown = build_report(empty_input())
    assert "- Source:" not in render_markdown(unknown)
    assert "<span>Source" not in render_html(unknown)
    assert json.loads(render_json(unknown))["source"] is None


# --- Markdown -----------------------------------------------------------------------------------


def test_markdown_escapes_hostile_text() -> None:
    text = render_markdown(build_report(fixed_input()))
    assert "<script" not in text
    assert "<img" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "javascript:" not in text
    assert f"](<{QTEST}201>)" in text
    assert "**Verdict: FAILED**" in text


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a|b", "a\\|b"),
        ("*bold* and `code`", "\\*bold\\* and \\`code\\`"),
        ("[x](javascript:y)", "\\[x\\](javascript:y)"),
        ("test_case", "test_case"),
        ("_under_", "\\_under\\_"),
        ("line\nbreak", "line break"),
        ("a & <b>", "a &amp; &lt;b&gt;"),
        (None, "–"),
    ],
)
def test_md_escape(raw: str | None, escaped: str) -> None:
    assert md(raw) == escaped


@given(st.text(max_size=60))
def test_md_escape_is_inert(text: str) -> None:
    out = md(text)
    assert "<" not in out
    assert ">" not in out
    assert "\n" not in out
    assert re.search(r"(?<!\\)[|`*\[\]]", out.replace("\\\\", "")) is None


# --- JSON ---------------------------------------------------------------------------------------


def test_json_is_complete_inert_and_round_trips() -> None:
    data = fixed_input()
    text = render_json(build_report(data, sample_size=1))
    assert "<" not in text
    assert ">" not in text
    doc = json.loads(text)
    assert doc["schema"] == "ztoq-report/1"
    assert doc["generated_at"] == "2024-05-01T09:30:00+00:00"
    kept = doc["kept_in_text"]
    problems = sum(len(g["items"]) for g in doc["problems"]["groups"])
    assert problems + sum(len(g["items"]) for g in kept["groups"]) == len(data.problems)
    assert (doc["problems"]["total"], kept["total"]) == (problems, 3)
    assert kept["by_field"] == [
        {"field": "labels", "count": 2, "entity_types": {"test_case": 2}, "codes": ["field_in_description"]},
        {
            "field": "Environment",
            "count": 1,
            "entity_types": {"test_run": 1},
            "codes": ["field_in_description"],
        },
    ]
    assert len(doc["entities"]) == len(data.entities)
    keys = {e["source_key"] for e in doc["entities"]}
    assert HOSTILE in keys
    assert "javascript:alert(document.cookie)" in {e["web_url"] for e in doc["entities"]}
    assert [m["source_key"] for m in doc["mismatches"]] == ["PROJ-T2", HOSTILE]
    assert list(doc)[:9] == [
        "schema",
        "title",
        "project_key",
        "source",
        "qtest_project_id",
        "generated_at",
        "ztoq_version",
        "store",
        "verdict",
    ]


def test_json_is_stable() -> None:
    assert render_json(build_report(fixed_input())) == render_json(build_report(fixed_input()))


# --- property: any source text stays text in HTML -------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.text(min_size=1, max_size=40), message=st.text(max_size=80), url=st.text(max_size=40))
def test_any_source_text_stays_text_in_html(key: str, message: str, url: str) -> None:
    data = clean_input(
        problems=[ProblemRecord("t", "degraded", message or "c", "test_case", key, message, key)],
        entities=[EntityLink("test_case", key, 1, url, "created")],
    )
    report = build_report(data)
    html = render_html(report)
    links = {e.link for e in report.entities if e.link}
    assert_self_contained(html, links)


# --- SVG and write_report -----------------------------------------------------------------------


def test_svg_escapes_labels_and_handles_empty_data() -> None:
    chart = str(bar_chart([(HOSTILE, 3, None, 3), ("test_case", 0, 0, 0)]))
    assert "<script" not in chart
    assert "&lt;script&gt;" in chart
    assert "not counted" in chart
    ring = str(donut([(HOSTILE, 0)]))
    assert "<script" not in ring
    assert ">0<" in ring


def test_write_report_by_suffix_and_by_format(tmp_path: Path) -> None:
    report = build_report(fixed_input())
    html = write_report(report, tmp_path / "out" / "r.html")
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert json.loads(write_report(report, tmp_path / "r.json").read_text(encoding="utf-8"))["verdict"]
    assert write_report(report, tmp_path / "r.md").read_text(encoding="utf-8").startswith("# ")
    forced = write_report(report, tmp_path / "report.txt", "markdown")
    assert forced.read_text(encoding="utf-8") == render_markdown(report)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "r.json", "r.md", "report.txt"]


def test_format_choice_errors() -> None:
    assert format_for("x.HTM") == "html"
    assert format_for("x", "md") == "markdown"
    with pytest.raises(ValueError, match="cannot tell the report format"):
        format_for("report.txt")
    with pytest.raises(ValueError, match="unknown report format"):
        render(build_report(empty_input()), "pdf")


def test_passed_report_renders_without_problem_sections() -> None:
    report = build_report(replace(clean_input(), title="All good"))
    html = render_html(report)
    assert "No degraded, skipped or failed value was recorded" in html
    assert "None recorded." in render_markdown(report)


def test_mismatch_reasons_and_fields_both_shown() -> None:
    data = clean_input(
        problems=[
            ProblemRecord(
                "validate", "mismatch", "steps_differ", "test_case", "PROJ-T1", "Step count differs."
            ),
            ProblemRecord(
                "validate",
                "mismatch",
                "x",
                "test_case",
                "PROJ-T1",
                "m",
                "name",
                {"expected": "a", "actual": "b"},
            ),
        ]
    )
    report = build_report(data)
    (group,) = report.issues
    (issue,) = group.items
    assert issue.reasons == ("Step count differs.",)
    assert [(d.field, d.expected, d.actual) for d in issue.fields] == [("name", "a", "b")]
    html = render_html(report)
    assert 'rowspan="2"' in html
    assert "Step count differs." in html
    markdown = render_markdown(report)
    assert "| name | a | b |" in markdown
    assert "Step count differs." in markdown
