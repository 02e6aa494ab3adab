"""The qTest simulator's indexed tables, and the indexes kept right through the API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator
from ztoq.simulators.qtest.search_scan import QUICK_ATTRIBUTES, SearchScan, quick_attribute
from ztoq.simulators.qtest.tables import PROJECT, Table


@dataclass
class Record:
    id: int
    project_id: int
    parent: int
    tags: tuple[int, ...] = ()


def _table() -> Table[Record]:
    return Table(parent=lambda r: (r.parent,), tag=lambda r: r.tags)


def _model_by(records: dict[int, Record], index: str, key: Any) -> list[Record]:
    """What an index must answer: a scan of every record, by ID."""
    keys: dict[str, Callable[[Record], Iterable[Any]]] = {
        PROJECT: lambda r: (r.project_id,),
        "parent": lambda r: (r.parent,),
        "tag": lambda r: r.tags,
    }
    return [r for _, r in sorted(records.items()) if key in keys[index](r)]


_ops = st.lists(
    st.tuples(
        st.sampled_from(["set", "del", "pop", "move", "setdefault", "update", "popitem"]),
        st.integers(min_value=1, max_value=12),
        st.integers(min_value=0, max_value=2),
        st.lists(st.integers(min_value=0, max_value=3), max_size=2),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops=_ops)
def test_indexes_answer_what_a_scan_answers(ops: list[tuple[str, int, int, list[int]]]) -> None:
    table = _table()
    model: dict[int, Record] = {}
    for op, key, value, tags in ops:
        record = Record(key, value % 2, value, tuple(tags))
        if op == "set":
            table[key] = model[key] = record
        elif op == "setdefault":
            assert table.setdefault(key, record) is model.setdefault(key, record)
        elif op == "update":
            table.update({key: record})
            model[key] = record
        elif op == "del" and key in model:
            del table[key]
            del model[key]
        elif op == "pop":
            assert table.pop(key, None) is model.pop(key, None)
        elif op == "popitem" and model:
            gone, _ = table.popitem()
            del model[gone]
        elif op == "move" and key in model:
            model[key].parent = value
            model[key].tags = tuple(tags)
            table.reindex(key)
        assert dict(table) == model
        for index, index_key in ((PROJECT, value % 2), ("parent", value), *(("tag", t) for t in range(4))):
            expected = _model_by(model, index, index_key)
            assert table.by(index, index_key) == expected
            assert list(table.iter_by(index, index_key)) == expected
            assert table.count(index, index_key) == len(expected)
    table.clear()
    assert table.by(PROJECT, 0) == []
    assert table.count("parent", 0) == 0


def test_a_replaced_record_keeps_its_place_and_is_the_one_listed() -> None:
    table = _table()
    for i in (5, 2, 9):
        table[i] = Record(i, 1, 0)
    newer = Record(2, 1, 0)
    table[2] = newer
    assert [r.id for r in table.by("parent", 0)] == [2, 5, 9]
    assert table.by("parent", 0)[0] is newer


class _Api:
    def __init__(self, sim: QTestSimulator) -> None:
        self.sim = sim
        self.p = f"/api/v3/projects/{next(iter(sim.state.projects))}"

    def __call__(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.sim.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://qtest.test") as client:
                headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}", **kw.pop("headers", {})}
                return await client.request(method, self.p + path, headers=headers, **kw)

        response = asyncio.run(go())
        assert response.status_code == status, response.text
        return response.json()


_FILE = {"File-Name": "f.txt", "Content-Type": "text/plain"}


def test_steps_of_later_versions_take_attachments() -> None:
    api = _Api(QTestSimulator())
    case = api("POST", "/test-cases", json={"name": "T", "test_steps": [{"description": "a"}]})
    approved = api("PUT", f"/test-cases/{case['id']}/approve")
    updated = api("PUT", f"/test-cases/{case['id']}", json={"test_steps": [{"description": "b"}]})
    added = api("POST", f"/test-cases/{case['id']}/test-steps", json={"description": "c"})
    approved_steps = api("GET", f"/test-cases/{case['id']}/versions/{approved['test_case_version_id']}")
    step_ids = [
        case["test_steps"][0]["id"],
        approved_steps["test_steps"][0]["id"],
        updated["test_steps"][0]["id"],
        added["id"],
    ]
    assert len(set(step_ids)) == 4
    for step in step_ids:
        api("POST", f"/test-steps/{step}/blob-handles", 201, content=b"x", headers=_FILE)
        assert [a["name"] for a in api("GET", f"/test-steps/{step}/attachments")] == ["f.txt"]
    api("POST", f"/test-steps/{max(step_ids) + 1000}/blob-handles", 404, content=b"x", headers=_FILE)


def test_moved_runs_modules_and_cases_are_listed_under_their_new_parent() -> None:
    api = _Api(QTestSimulator())
    first, second = (api("POST", "/test-cycles", 201, json={"name": n})["id"] for n in ("C1", "C2"))
    case = api("POST", "/test-cases", json={"name": "T"})
    run = api("POST", f"/test-runs?parentId={first}&parentType=test-cycle", 201, json={"test_case": case})
    api("PUT", f"/test-runs/{run['id']}?parentId={second}&parentType=test-cycle")
    listed = {
        c: api("GET", f"/test-runs?parentId={c}&parentType=test-cycle")["total"] for c in (first, second)
    }
    assert listed == {first: 0, second: 1}
    top, other = (api("POST", "/modules", 201, json={"name": n})["id"] for n in ("M1", "M2"))
    child = api("POST", f"/modules?parentId={top}", 201, json={"name": "Child"})["id"]
    api("PUT", f"/modules/{child}?parentId={other}")
    assert [m["id"] for m in api("GET", f"/modules?parentId={other}")] == [child]
    assert api("GET", f"/modules?parentId={top}") == []
    api("PUT", f"/test-cases/{case['id']}", json={"parent_id": other})
    assert [c["id"] for c in api("GET", f"/test-cases?parentId={other}")] == [case["id"]]


def test_quick_attributes_are_what_the_rendered_objects_show() -> None:
    sim = QTestSimulator.generated(seed=3, test_cases=3)
    api = _Api(sim)
    case = api("GET", "/test-cases?page=1&size=1")[0]
    cycle = api("POST", "/test-cycles", 201, json={"name": "C"})["id"]
    run = api("POST", f"/test-runs?parentId={cycle}&parentType=test-cycle", 201, json={"test_case": case})
    log = {
        "status": {"id": 601},
        "exe_start_date": "2024-05-01T10:00:00Z",
        "exe_end_date": "2024-05-01T10:05:00Z",
    }
    api("POST", f"/test-runs/{run['id']}/test-logs", 201, json={**log, "name": "Logged"})
    api("POST", "/releases", 201, json={"name": "R"})
    api("POST", f"/test-suites?parentId={cycle}&parentType=test-cycle", json={"name": "S"})
    project_id = next(iter(sim.state.projects))
    kinds = (
        "test-cases",
        "test-runs",
        "test-suites",
        "test-cycles",
        "releases",
        "requirements",
        "modules",
        "test-logs",
    )
    for kind in kinds:
        scan = SearchScan(sim.state, project_id, kind, "http://qtest.test", steps=False)
        records = scan.matching(None)
        assert records, kind
        for record in records:
            quick = {name: quick_attribute(kind, record, name) for name in QUICK_ATTRIBUTES}
            rendered = scan.render(record)
            assert quick == {name: rendered.get(name) for name in QUICK_ATTRIBUTES}, kind
