"""Offset and cursor paging of the Zephyr simulator: pure functions, then through the app.

Properties: walking pages by the *echoed* page size returns every item exactly once and in
order, whatever the size of the list and the size asked for; a client that trusts the size it
asked for, above the server cap, misses items.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ztoq.simulators.zephyr import ZephyrSimulator
from ztoq.simulators.zephyr.pagination import (
    ZephyrApiError,
    cursor_page,
    cursor_request,
    offset_page,
    offset_request,
)

AUTH = {"Authorization": "Bearer zephyr-sim-token"}
FAST = settings(max_examples=150, deadline=None)
HTTP = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _walk_offset(items: list[int], start: int, asked: int, cap: int) -> tuple[list[int], int]:
    """Walk like a careful client: next startAt = startAt + echoed maxResults."""
    seen: list[int] = []
    while True:
        request = offset_request({"startAt": str(start), "maxResults": str(asked)}, cap)
        page = offset_page(items, request.start_at, request.max_results)
        seen += page.values
        if page.is_last:
            return seen, page.max_results
        start += page.max_results


@FAST
@given(n=st.integers(0, 300), start=st.integers(0, 320), asked=st.integers(-3, 400), cap=st.integers(1, 150))
def test_walking_by_the_echoed_max_results_returns_every_item_once(
    n: int, start: int, asked: int, cap: int
) -> None:
    items = list(range(n))
    if asked < 1:  # the spec's minimum is 1: 0 and below are refused, not served as empty pages
        with pytest.raises(ZephyrApiError) as caught:
            _walk_offset(items, start, asked, cap)
        assert caught.value.status == 400
        return
    seen, echoed = _walk_offset(items, start, asked, cap)
    assert seen == items[start:]
    assert echoed == min(asked, cap)


@FAST
@given(n=st.integers(0, 300), asked=st.integers(2, 400), cap=st.integers(1, 150))
def test_trusting_the_requested_size_above_the_cap_misses_items(n: int, asked: int, cap: int) -> None:
    items = list(range(n))
    seen: list[int] = []
    start = 0
    while start < n:
        request = offset_request({"startAt": str(start), "maxResults": str(asked)}, cap)
        seen += offset_page(items, request.start_at, request.max_results).values
        start += asked  # the naive client's step
    if asked > cap and n > cap:
        assert request.max_results != asked
        assert seen != items
    else:
        assert seen == items


@FAST
@given(n=st.integers(0, 300), start=st.integers(0, 350), size=st.integers(1, 50))
def test_page_fields_describe_the_page(n: int, start: int, size: int) -> None:
    page = offset_page(list(range(n)), start, size)
    assert page.total == n
    assert page.values == list(range(start, min(n, start + size)))
    assert page.is_last == (start + size >= n)
    assert page.next_start_at == (None if page.is_last else start + size)


@pytest.mark.parametrize(
    "query",
    [{"startAt": "-1"}, {"startAt": "1.5"}, {"maxResults": "0"}, {"maxResults": "-3"}, {"maxResults": "x"}],
)
def test_bad_offset_parameters_are_refused(query: dict[str, str]) -> None:
    with pytest.raises(ZephyrApiError) as caught:
        offset_request(query, 100)
    assert caught.value.status == 400
    assert caught.value.body()["errorCode"] == 400


def test_defaults_are_those_of_the_spec() -> None:
    assert offset_request({}, 100).max_results == 10
    assert offset_request({}, 100).start_at == 0
    assert cursor_request({}, 1000).limit == 10
    assert cursor_request({}, 1000).start_at_id == 0


@st.composite
def _ids(draw: st.DrawFn) -> list[int]:
    gaps = draw(st.lists(st.integers(1, 5), max_size=300))
    ids, current = [], 0
    for gap in gaps:
        current += gap
        ids.append(current)
    return ids


@FAST
@given(ids=_ids(), asked=st.integers(-3, 400), cap=st.integers(1, 150), start=st.integers(0, 50))
def test_walking_the_cursor_returns_every_item_from_start_once(
    ids: list[int], asked: int, cap: int, start: int
) -> None:
    if asked < 1:  # the addendum's minimum is 1
        with pytest.raises(ZephyrApiError):
            cursor_request({"startAtId": str(start), "limit": str(asked)}, cap)
        return
    seen: list[int] = []
    start_at_id: int | None = start
    while start_at_id is not None:
        request = cursor_request({"startAtId": str(start_at_id), "limit": str(asked)}, cap)
        page = cursor_page(ids, lambda i: i, request.start_at_id, request.limit)
        assert page.limit == min(asked, cap)
        assert len(page.values) <= page.limit
        if page.next_start_at_id is not None:
            assert len(page.values) == page.limit
            assert page.next_start_at_id > page.values[-1]
        seen += page.values
        start_at_id = page.next_start_at_id
    assert seen == [i for i in ids if i >= start]


@FAST
@given(ids=_ids(), asked=st.integers(2, 400), cap=st.integers(1, 150))
def test_trusting_the_requested_limit_above_the_cap_stops_early(ids: list[int], asked: int, cap: int) -> None:
    # A naive client stops as soon as a page is shorter than the limit it asked for.
    seen: list[int] = []
    start_at_id = 0
    while True:
        request = cursor_request({"startAtId": str(start_at_id), "limit": str(asked)}, cap)
        page = cursor_page(ids, lambda i: i, request.start_at_id, request.limit)
        seen += page.values
        if len(page.values) < asked or page.next_start_at_id is None:
            break
        start_at_id = page.next_start_at_id
    if asked > cap and len(ids) > cap:
        assert seen != ids
    else:
        assert seen == ids


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "-1"}, {"startAtId": "-1"}, {"startAtId": "a"}])
def test_bad_cursor_parameters_are_refused(query: dict[str, str]) -> None:
    with pytest.raises(ZephyrApiError):
        cursor_request(query, 1000)


# -- through the app ------------------------------------------------------------------------------------


def _dataset(n: int) -> dict[str, Any]:
    project = {"id": 1, "jiraProjectId": 2, "key": "P", "enabled": True}
    cases = [
        {"id": 10 + 3 * i, "key": f"P-T{i + 1}", "name": f"Case {i}", "project": {"id": 1}} for i in range(n)
    ]
    return {"projects": [project], "testcases": cases}


def _walk_http(sim: ZephyrSimulator, first: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    async def walk() -> list[dict[str, Any]]:
        bodies = []
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://zephyr.test/v2", headers=AUTH
        ) as client:
            url: str | None = first
            query: dict[str, Any] | None = params
            while url is not None:
                response = await client.get(url, params=query)
                assert response.status_code == 200, response.text
                bodies.append(response.json())
                url, query = bodies[-1].get("next"), None
        return bodies

    return asyncio.run(walk())


@HTTP
@given(n=st.integers(0, 300), asked=st.integers(5, 400), cap=st.integers(5, 120))
def test_offset_pages_over_http_follow_next_to_every_item(n: int, asked: int, cap: int) -> None:
    sim = ZephyrSimulator(_dataset(n), max_results_cap=cap)
    pages = _walk_http(sim, "/testcases", {"projectKey": "P", "maxResults": asked})
    keys = [c["key"] for page in pages for c in page["values"]]
    assert keys == [f"P-T{i + 1}" for i in range(n)]
    assert {page["maxResults"] for page in pages} == {min(asked, cap)}
    assert {page["total"] for page in pages} == {n}
    assert [page["isLast"] for page in pages] == [False] * (len(pages) - 1) + [True]
    assert "next" not in pages[-1]


@HTTP
@given(n=st.integers(0, 300), asked=st.integers(5, 1500), cap=st.integers(5, 120), start=st.integers(0, 400))
def test_cursor_pages_over_http_follow_next_to_every_item(n: int, asked: int, cap: int, start: int) -> None:
    sim = ZephyrSimulator(_dataset(n), cursor_limit_cap=cap)
    pages = _walk_http(sim, "/testcases/nextgen", {"limit": asked, "startAtId": start})
    ids = [c["id"] for page in pages for c in page["values"]]
    assert ids == [10 + 3 * i for i in range(n) if 10 + 3 * i >= start]
    assert {page["limit"] for page in pages} == {min(asked, cap)}
    assert pages[-1]["next"] is None
    assert pages[-1]["nextStartAtId"] is None
    for page in pages[:-1]:
        assert page["nextStartAtId"] == int(page["next"].split("startAtId=")[1].split("&")[0])


@pytest.mark.parametrize(
    "query", [{"maxResults": "0"}, {"maxResults": "-1"}, {"startAt": "-1"}, {"limit": "0"}]
)
def test_out_of_range_paging_parameters_answer_400_over_http(query: dict[str, str]) -> None:
    sim = ZephyrSimulator(_dataset(3))
    path = "/testcases/nextgen" if "limit" in query else "/testcases"

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://zephyr.test/v2", headers=AUTH
        ) as client:
            return await client.get(path, params=query)

    response = asyncio.run(get())
    assert response.status_code == 400
    assert response.json()["errorCode"] == 400


def test_the_cap_defaults_to_100_and_1000() -> None:
    sim = ZephyrSimulator(_dataset(1200))
    offset = _walk_http(sim, "/testcases", {"maxResults": 5000})
    assert [page["maxResults"] for page in offset] == [100] * 12
    cursor = _walk_http(sim, "/testcases/nextgen", {"limit": 5000})
    assert [page["limit"] for page in cursor] == [1000, 1000]
    assert [len(page["values"]) for page in cursor] == [1000, 200]
