"""The Zephyr paginators against fake page sources with arbitrary sizes, caps and omissions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ztoq.errors import FatalApiError
from ztoq.sources.zephyr_cloud import CursorPaginator, OffsetPaginator, PaginationStalled


def offset_source(
    items: list[int], cap: int, *, send_total: bool, send_is_last: bool, echo_max: bool = True
) -> Any:
    """A fake Zephyr offset endpoint: serves ``min(asked, cap)`` items and echoes what it used."""

    def page(start_at: int, max_results: int) -> dict[str, Any]:
        size = min(max_results, cap)
        values = [{"id": i} for i in items[start_at : start_at + size]]
        body: dict[str, Any] = {"startAt": start_at, "values": values}
        if echo_max:
            body["maxResults"] = size
        if send_total:
            body["total"] = len(items)
        if send_is_last:
            body["isLast"] = start_at + size >= len(items)
        return body

    return page


def drain_offset(pager: OffsetPaginator, source: Any, limit: int = 100_000) -> list[int]:
    seen: list[int] = []
    while not pager.finished:
        params = pager.params()
        seen.extend(v["id"] for v in pager.advance(source(params["startAt"], params["maxResults"])))
        assert pager.pages < limit
    return seen


@settings(max_examples=200, deadline=None, database=None)
@given(
    n=st.integers(min_value=0, max_value=450),
    asked=st.integers(min_value=1, max_value=1000),
    cap=st.integers(min_value=1, max_value=200),
    send_total=st.booleans(),
    send_is_last=st.booleans(),
    echo_max=st.booleans(),
)
def test_offset_paging_reads_every_item_exactly_once(
    n: int, asked: int, cap: int, send_total: bool, send_is_last: bool, echo_max: bool
) -> None:
    items = list(range(1, n + 1))
    source = offset_source(items, cap, send_total=send_total, send_is_last=send_is_last, echo_max=echo_max)
    assert drain_offset(OffsetPaginator(asked), source) == items


def test_echoed_max_results_is_trusted_over_the_requested_size() -> None:
    pager = OffsetPaginator(page_size=1000)
    values = pager.advance(
        {"startAt": 0, "maxResults": 100, "total": 250, "isLast": False, "values": [{}] * 100}
    )
    assert len(values) == 100
    assert pager.params() == {"startAt": 100, "maxResults": 1000}
    assert not pager.finished


@pytest.mark.parametrize(
    "page",
    [
        {"startAt": 0, "maxResults": 10, "isLast": True, "values": [{}] * 10},
        {"startAt": 0, "maxResults": 10, "values": []},
        {"startAt": 0, "maxResults": 10, "total": 10, "values": [{}] * 10},
        {"startAt": 0, "maxResults": 10},
    ],
)
def test_offset_stops(page: dict[str, Any]) -> None:
    pager = OffsetPaginator(10)
    pager.advance(page)
    assert pager.finished
    with pytest.raises(RuntimeError):
        pager.advance(page)


def test_offset_refuses_a_server_that_ignores_start_at() -> None:
    pager = OffsetPaginator(10, what="/testcases")
    first = {"startAt": 0, "maxResults": 10, "isLast": False, "values": [{}] * 10}
    pager.advance(first)
    with pytest.raises(PaginationStalled) as info:
        pager.advance(first)  # the server answered startAt=0 again
    assert isinstance(info.value, FatalApiError)
    assert "never move forward" in str(info.value)


def cursor_source(ids: list[int], cap: int) -> Any:
    """A fake NextGen endpoint: items with id >= startAtId, at most ``min(limit, cap)`` of them."""

    def page(start_at_id: int, limit: int) -> dict[str, Any]:
        size = min(limit, cap)
        matching = [i for i in ids if i >= start_at_id]
        values = [{"id": i} for i in matching[:size]]
        more = len(matching) > size
        return {
            "limit": size,
            "nextStartAtId": values[-1]["id"] + 1 if more else None,
            "next": "https://api.example/v2/testcases/nextgen?startAtId=..." if more else None,
            "values": values,
        }

    return page


@settings(max_examples=200, deadline=None, database=None)
@given(
    ids=st.lists(st.integers(min_value=1, max_value=10**9), unique=True, max_size=300).map(sorted),
    asked=st.integers(min_value=1, max_value=1000),
    cap=st.integers(min_value=1, max_value=150),
)
def test_cursor_paging_reads_every_item_exactly_once(ids: list[int], asked: int, cap: int) -> None:
    source = cursor_source(ids, cap)
    pager = CursorPaginator(asked)
    seen: list[int] = []
    while not pager.finished:
        params = pager.params()
        seen.extend(v["id"] for v in pager.advance(source(params["startAtId"], params["limit"])))
        assert pager.pages <= len(ids) + 1
    assert seen == ids


def test_cursor_refuses_a_cursor_that_does_not_move() -> None:
    pager = CursorPaginator(10, start_at_id=50)
    with pytest.raises(PaginationStalled):
        pager.advance({"limit": 10, "nextStartAtId": 50, "values": [{"id": 50}]})


def test_cursor_stops_on_null_cursor_or_empty_page() -> None:
    pager = CursorPaginator(10)
    assert pager.advance({"limit": 10, "nextStartAtId": None, "values": [{"id": 1}]}) == [{"id": 1}]
    assert pager.finished
    pager = CursorPaginator(10)
    assert pager.advance({"limit": 10, "nextStartAtId": 99, "values": []}) == []
    assert pager.finished


def test_cursor_reads_a_numeric_string_cursor() -> None:
    pager = CursorPaginator(10)
    pager.advance({"limit": 10, "nextStartAtId": "12", "values": [{"id": 11}]})
    assert pager.params() == {"limit": 10, "startAtId": 12}


def test_page_sizes_must_be_positive() -> None:
    with pytest.raises(ValueError):
        OffsetPaginator(0)
    with pytest.raises(ValueError):
        CursorPaginator(0)
