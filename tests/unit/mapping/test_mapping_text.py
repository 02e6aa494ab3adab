"""Text rules: HTML kept, plain newlines as <br>, the Zephyr fields block, the source key marker."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ztoq.mapping.text import (
    NAME_MAX_LENGTH,
    FieldBlock,
    find_source_key,
    join_html,
    link_html,
    source_key_marker,
    table_html,
    text_to_html,
    truncate_name,
    with_source_key,
)


def test_html_is_kept_as_is() -> None:
    for value in (
        "Line 1<br>Line 2",
        "<p>Para</p>\n<p>Two</p>",
        "<b>bold</b> &amp; <i>it</i>",
        "<pre>a\n  b</pre>",
        "<script>alert('x')</script>",
        "<p>unbalanced <b>html",
        "😀 emoji, עברית RTL, 中文",
    ):
        assert text_to_html(value) == value


def test_plain_newlines_become_br_and_nothing_is_escaped() -> None:
    assert text_to_html("a\nb\r\nc\rd") == "a<br>b<br>c<br>d"
    assert text_to_html("x < y & z\n<script>") == "x < y & z<br><script>"
    assert text_to_html("<br>mixed\ntext") == "<br>mixed<br>text"
    assert text_to_html(None) == ""
    assert text_to_html("") == ""


def test_block_structured_html_keeps_its_newlines() -> None:
    value = "<ul>\n<li>one</li>\n</ul>"
    assert text_to_html(value) == value


def test_join_skips_empty_parts() -> None:
    assert join_html("a", "", "b") == "a<br>b"
    assert join_html("", "") == ""


def test_truncate_name() -> None:
    assert truncate_name("short") == ("short", False)
    long = "x" * (NAME_MAX_LENGTH + 10)
    cut, was_cut = truncate_name(long)
    assert was_cut
    assert len(cut) == NAME_MAX_LENGTH
    assert cut.endswith("…")
    assert truncate_name("x" * NAME_MAX_LENGTH) == ("x" * NAME_MAX_LENGTH, False)


def test_marker_is_exact() -> None:
    assert source_key_marker("PROJ-T12") == "Zephyr key: PROJ-T12"
    assert with_source_key("", "PROJ-T12") == "Zephyr key: PROJ-T12"
    assert with_source_key("Objective", "PROJ-T12") == "Objective<br>Zephyr key: PROJ-T12"


def test_find_source_key_tolerates_editor_rewrites() -> None:
    assert find_source_key("Objective<br>Zephyr key: PROJ-T12") == "PROJ-T12"
    assert find_source_key("Objective<br />Zephyr key: PROJ-T12  ") == "PROJ-T12"
    assert find_source_key("<p>Objective</p><p>Zephyr key: PROJ-T12</p>") == "PROJ-T12"
    assert find_source_key("Objective\nZephyr key: PROJ-T12\n") == "PROJ-T12"
    assert find_source_key("Zephyr key: PROJ-T12") == "PROJ-T12"


def test_find_source_key_only_reads_the_last_line() -> None:
    assert find_source_key(None) is None
    assert find_source_key("") is None
    assert find_source_key("Zephyr key: PROJ-T1<br>later text") is None
    assert find_source_key("see Zephyr key: PROJ-T1") is None
    assert find_source_key("Zephyr key: PROJ-T1<br>Zephyr key: PROJ-T2") == "PROJ-T2"


KEYS = st.from_regex(r"\A[A-Z][A-Z0-9_]{0,9}-[TRPCE][0-9]{1,6}\Z")


@given(KEYS, st.text())
def test_marker_round_trip(key: str, description: str) -> None:
    assert find_source_key(with_source_key(description, key)) == key


@given(KEYS, st.text(alphabet=st.characters(exclude_categories=["Cs"])))
def test_marker_round_trip_in_html_descriptions(key: str, text: str) -> None:
    description = text_to_html(text) + "<table><tr><td>x</td></tr></table>"
    assert find_source_key(with_source_key(description, key)) == key


def test_keys_the_marker_line_cannot_hold_are_percent_encoded() -> None:
    # Zephyr Scale Server folder keys are paths: spaces, "&", "<" and "%" would end or break the line.
    assert source_key_marker("TEST_CASE:/Orbiter/Cargo Bay") == "Zephyr key: TEST_CASE:/Orbiter/Cargo%20Bay"
    assert source_key_marker("TEST_CYCLE:/R&D <1> 100%") == "Zephyr key: TEST_CYCLE:/R%26D%20%3C1%3E%20100%25"
    assert source_key_marker("TEST_CASE:/Übersicht") == "Zephyr key: TEST_CASE:/Übersicht"
    assert (
        find_source_key("<p>Zephyr key: TEST_CASE:/Orbiter/Cargo%20Bay</p>") == "TEST_CASE:/Orbiter/Cargo Bay"
    )


@given(st.text(min_size=1), st.text())
def test_marker_round_trip_for_any_key(key: str, description: str) -> None:
    assert find_source_key(with_source_key(description, key)) == key


def test_field_block_renders_a_table_or_nothing() -> None:
    block = FieldBlock()
    assert block.render() == ""
    block.add("Legacy ID", "L-1")
    block.add("Notes", "a<br>b")
    html = block.render()
    assert html.startswith("<b>Zephyr fields</b><br><table")
    assert "<tr><th>Field</th><th>Value</th></tr>" in html
    assert "<tr><td>Legacy ID</td><td>L-1</td></tr>" in html
    assert "<tr><td>Notes</td><td>a<br>b</td></tr>" in html


def test_links_and_tables() -> None:
    assert (
        link_html('https://x/?a=1&b="2"', "docs") == '<a href="https://x/?a=1&amp;b=&quot;2&quot;">docs</a>'
    )
    assert link_html("https://x") == '<a href="https://x">https://x</a>'
    assert table_html(("A", "B"), [("1", "2")]) == (
        '<table border="1"><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>'
    )
