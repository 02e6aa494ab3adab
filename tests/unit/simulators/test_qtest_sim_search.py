"""The qTest simulator's search query language (pure functions) and the search endpoint."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator
from ztoq.simulators.qtest.search import (
    BoolOp,
    Condition,
    QueryError,
    Token,
    evaluate,
    matches,
    parse_query,
    tokenize,
)


def test_tokenize_quotes_operators_and_words() -> None:
    assert tokenize("'Zephyr Key' = 'DEMO-T1'") == [
        Token("quoted", "Zephyr Key"),
        Token("op", "="),
        Token("quoted", "DEMO-T1"),
    ]
    assert [t.text for t in tokenize('id>=5 and(Name!~"x")')] == [
        "id",
        ">=",
        "5",
        "and",
        "(",
        "Name",
        "!~",
        "x",
        ")",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'it''s'", "it's"),
        ("'it\\'s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        ("'a \"b\" c'", 'a "b" c'),
    ],
)
def test_quoting_rules(text: str, expected: str) -> None:
    assert tokenize(text) == [Token("quoted", expected)]


def test_parse_simple_conditions() -> None:
    assert parse_query("'Name' = 'x'") == Condition("Name", "=", "x")
    assert parse_query("pid = 'TC-1'") == Condition("pid", "=", "TC-1")
    assert parse_query("Name ~ login") == Condition("Name", "~", "login")
    assert parse_query("Name != 'x'") == Condition("Name", "<>", "x")
    assert parse_query("'Story Points' >= 3") == Condition("Story Points", ">=", "3")


def test_and_binds_tighter_than_or_and_parentheses_group() -> None:
    a, b, c = (Condition(n, "=", "1") for n in "abc")
    assert parse_query("a = 1 or b = 1 and c = 1") == BoolOp("or", a, BoolOp("and", b, c))
    assert parse_query("(a = 1 or b = 1) AND c = 1") == BoolOp("and", BoolOp("or", a, b), c)


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("Name is 'empty'", "is empty"),
        ("Name is 'not empty'", "is not empty"),
        ("Name is empty", "is empty"),
        ("Name is not empty", "is not empty"),
    ],
)
def test_emptiness_operators(text: str, op: str) -> None:
    assert parse_query(text) == Condition("Name", op, None)


def test_blank_query_matches_everything() -> None:
    assert parse_query(None) is None
    assert parse_query("   ") is None
    assert evaluate(None, lambda _: [])


@pytest.mark.parametrize(
    "text",
    [
        "Name =",
        "Name 'x'",
        "= 'x'",
        "'unterminated",
        "Name = 'x' and",
        "(Name = 'x'",
        "Name = 'x' extra",
        "a # b",
        "Name is nothing",
    ],
)
def test_malformed_queries_are_rejected(text: str) -> None:
    with pytest.raises(QueryError):
        parse_query(text)


@pytest.mark.parametrize(
    ("op", "value", "values", "expected"),
    [
        ("=", "demo-t1", ["DEMO-T1"], True),
        ("=", "DEMO-T1", ["DEMO-T10"], False),
        ("<>", "x", ["y"], True),
        ("~", "LOG", ["Login page"], True),
        ("!~", "log", ["Login page"], False),
        (">", "5", ["10"], True),
        ("<", "5", ["10"], False),
        (">=", "2024-01-01T00:00:00Z", ["2024-05-01T00:00:00+00:00"], True),
        ("<=", "b", ["a"], True),
        ("is empty", None, ["", " "], True),
        ("is not empty", None, ["x"], True),
    ],
)
def test_matches(op: str, value: str | None, values: list[str], expected: bool) -> None:
    assert matches(Condition("f", op, value), values) is expected


def test_evaluate_uses_the_lookup() -> None:
    row = {"name": ["Login"], "zephyr key": ["DEMO-T1"]}

    def lookup(criteria: str) -> list[str]:
        if criteria.lower() not in row:
            raise QueryError(f"unknown {criteria}")
        return row[criteria.lower()]

    assert evaluate(parse_query("Name ~ 'log' and 'Zephyr Key' = 'DEMO-T1'"), lookup)
    assert not evaluate(parse_query("Name = 'x' or 'Zephyr Key' = 'DEMO-T2'"), lookup)
    with pytest.raises(QueryError):
        evaluate(parse_query("Nope = 1"), lookup)


def _post(sim: QTestSimulator, path: str, body: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://qtest.test") as client:
            headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
            return await client.post(path, json=body, headers=headers)

    return asyncio.run(go())


def test_search_endpoint_filters_pages_and_rejects_bad_queries() -> None:
    sim = QTestSimulator.generated(seed=5, test_cases=7)
    p = f"/api/v3/projects/{next(iter(sim.state.projects))}"
    page = _post(
        sim, f"{p}/search?pageSize=3&page=2", {"object_type": "test-cases", "query": "Name ~ 'existing'"}
    )
    assert page.status_code == 200
    body = page.json()
    assert (body["page"], body["page_size"], body["total"]) == (2, 3, 7)
    assert [i["name"] for i in body["items"]] == ["Existing test 4", "Existing test 5", "Existing test 6"]
    by_pid = _post(sim, f"{p}/search", {"object_type": "test-cases", "query": "pid = 'TC-2' or pid = 'TC-3'"})
    assert [i["pid"] for i in by_pid.json()["items"]] == ["TC-2", "TC-3"]
    by_status = _post(
        sim, f"{p}/search", {"object_type": "requirements", "query": "Status = 'New' and Name ~ '103'"}
    )
    assert [i["name"] for i in by_status.json()["items"]] == ["DEMO-103 Search returns results"]
    for bad in (
        {"object_type": "nope"},
        {"object_type": "test-cases", "query": "Name ="},
        {"object_type": "test-cases", "query": "Unknown = 1"},
    ):
        response = _post(sim, f"{p}/search", bad)
        assert response.status_code == 400
        assert set(response.json()) == {"message"}
