"""Test design in the qTest simulator: modules, test cases, versions, steps, paging."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator, generate_target


class Api:
    def __init__(self, sim: QTestSimulator) -> None:
        self.sim = sim
        self.p = f"/api/v3/projects/{next(iter(sim.state.projects))}"

    def __call__(self, method: str, path: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.sim.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://qtest.test") as client:
                headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
                return await client.request(method, self.p + path, headers=headers, **kw)

        return asyncio.run(go())

    def json(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        response = self(method, path, **kw)
        assert response.status_code == status, response.text
        return response.json()


def test_versions_across_create_update_approve() -> None:
    api = Api(QTestSimulator())
    module = api.json("POST", "/modules", 201, json={"name": "M"})["id"]
    steps = [{"description": "a", "expected": "1"}, {"description": "b", "expected": "2"}]
    created = api.json("POST", "/test-cases", json={"name": "T", "parent_id": module, "test_steps": steps})
    case = created["id"]
    first_steps = [s["id"] for s in created["test_steps"]]
    assert created["version"] == "0.1"
    assert api.json("PUT", f"/test-cases/{case}", json={"description": "d"})["version"] == "0.2"
    approved = api.json("PUT", f"/test-cases/{case}/approve")
    assert approved["version"] == "1.0"
    assert api.json("PUT", f"/test-cases/{case}/approve")["version"] == "1.0"  # already approved: no change
    v11 = api.json("PUT", f"/test-cases/{case}", json={"test_steps": [{"description": "c", "expected": "3"}]})
    assert v11["version"] == "1.1"
    assert [s["description"] for s in v11["test_steps"]] == ["c"]
    assert api.json("PUT", f"/test-cases/{case}/approve")["version"] == "2.0"
    versions = api.json("GET", f"/test-cases/{case}/versions")
    assert [v["version"] for v in versions] == ["1.0", "2.0"]
    ids = [v["test_case_version_id"] for v in versions]
    assert len({*ids, created["test_case_version_id"]}) == 3
    v10_steps = api.json("GET", f"/test-cases/{case}/versions/{ids[0]}/test-steps")
    assert [s["description"] for s in v10_steps] == ["a", "b"]
    assert not {s["id"] for s in v10_steps} & set(first_steps)  # every version has its own step IDs
    first = api.json("GET", f"/test-cases/{case}?versionId={created['test_case_version_id']}&expand=teststep")
    assert first["version"] == "0.1"
    assert [s["id"] for s in first["test_steps"]] == first_steps
    assert "test_steps" not in api.json("GET", f"/test-cases/{case}")  # steps only with expand=teststep
    assert api.json("GET", f"/test-cases/{created['pid']}")["id"] == case
    assert api("GET", f"/test-cases/{case}/versions/1").status_code == 404


def test_test_case_validation() -> None:
    api = Api(QTestSimulator())
    module = api.json("POST", "/modules", 201, json={"name": "M"})["id"]
    bad_bodies = [
        {"parent_id": module},
        {"name": "", "parent_id": module},
        {"name": "x" * 501, "parent_id": module},
        {"name": "T", "parent_id": 424242},
        {"name": "T", "parent_id": module, "test_steps": [{"expected": "no description"}]},
        {
            "name": "T",
            "parent_id": module,
            "test_steps": [{"description": "", "called_test_case_id": 424242}],
        },
        {"name": "T", "parent_id": module, "test_steps": "nope"},
    ]
    for body in bad_bodies:
        response = api("POST", "/test-cases", json=body)
        assert response.status_code == 400, body
        assert set(response.json()) == {"message"}
    assert api("POST", "/test-cases", content=b"{not json").status_code == 400
    case = api.json("POST", "/test-cases", json={"name": "T", "parent_id": module})["id"]
    calling_itself = {"test_steps": [{"description": "", "called_test_case_id": case}]}
    assert api("PUT", f"/test-cases/{case}", json=calling_itself).status_code == 400


def test_test_case_without_parent_goes_to_created_via_api() -> None:
    api = Api(QTestSimulator())
    first = api.json("POST", "/test-cases", json={"name": "A"})
    second = api.json("POST", "/test-cases", json={"name": "B"})
    assert first["parent_id"] == second["parent_id"]
    module = api.json("GET", f"/modules/{first['parent_id']}")
    assert module["name"] == "Created via API"
    assert module["parent_id"] is None


def test_call_to_test_steps_render_the_called_case() -> None:
    api = Api(QTestSimulator())
    callee = api.json("POST", "/test-cases", json={"name": "Log in"})
    caller = api.json(
        "POST",
        "/test-cases",
        json={"name": "Buy", "test_steps": [{"called_test_case_id": callee["id"]}, {"description": "pay"}]},
    )
    call, pay = caller["test_steps"]
    assert call["called_test_case_id"] == callee["id"]
    assert call["called_test_case_name"] == "Log in"
    assert pay["order"] == 2
    assert pay["expected"] == ""


def test_adding_a_step_changes_the_latest_version_in_place() -> None:
    api = Api(QTestSimulator())
    case = api.json("POST", "/test-cases", json={"name": "T", "test_steps": [{"description": "a"}]})
    last = api.json(
        "POST", f"/test-cases/{case['id']}/test-steps", json={"description": "z", "expected": "!"}
    )
    first = api.json("POST", f"/test-cases/{case['id']}/test-steps", json={"description": "0", "order": 1})
    assert (last["order"], first["order"]) == (2, 1)
    steps = api.json("GET", f"/test-cases/{case['id']}/test-steps")
    assert [(s["description"], s["order"]) for s in steps] == [("0", 1), ("a", 2), ("z", 3)]
    assert api.json("GET", f"/test-cases/{case['id']}")["version"] == "0.1"
    assert api("POST", f"/test-cases/{case['id']}/test-steps", json={"expected": "x"}).status_code == 400


def test_module_tree_moves_and_delete_with_and_without_force() -> None:
    api = Api(QTestSimulator.generated(seed=1))
    top = api.json("POST", "/modules", 201, json={"name": "Top"})
    child = api.json("POST", f"/modules?parentId={top['id']}", 201, json={"name": "Child"})
    other = api.json("POST", "/modules", 201, json={"name": "Other", "description": "d"})
    assert child["pid"] != top["pid"]
    assert [m["name"] for m in api.json("GET", f"/modules?parentId={top['id']}")] == ["Child"]
    assert [m["name"] for m in api.json("GET", "/modules?search=oth")] == ["Other"]
    assert api("PUT", f"/modules/{top['id']}?parentId={child['id']}", json={}).status_code == 400
    moved = api.json("PUT", f"/modules/{child['id']}?parentId={other['id']}", json={"name": "ignored"})
    assert (moved["parent_id"], moved["name"]) == (other["id"], "Child")
    case = api.json("POST", "/test-cases", json={"name": "T", "parent_id": child["id"]})
    refused = api("DELETE", f"/modules/{other['id']}")
    assert refused.status_code == 400
    assert "force=true" in refused.json()["message"]
    empty = api.json("DELETE", f"/modules/{top['id']}")
    assert "message" in empty
    assert api.json("DELETE", f"/modules/{other['id']}?force=true")["message"]
    assert api("GET", f"/modules/{child['id']}").status_code == 404
    assert api("GET", f"/test-cases/{case['id']}").status_code == 404
    assert api("GET", "/modules/424242").status_code == 404


def test_deleting_a_test_case_removes_its_runs_and_links() -> None:
    sim = QTestSimulator.generated(seed=1)
    api = Api(sim)
    case = api.json("POST", "/test-cases", json={"name": "T"})
    run = api.json("POST", "/test-runs", 201, json={"test_case": {"id": case["id"]}})
    requirement = next(iter(sim.state.requirements))
    api.json("POST", f"/requirements/{requirement}/link?type=test-cases", json=[case["id"]])
    assert api("DELETE", f"/test-cases/{case['id']}").status_code == 200
    assert api("GET", f"/test-runs/{run['id']}").status_code == 404
    assert api.json("GET", f"/linked-artifacts?type=requirements&ids={requirement}")[0]["objects"] == []


@settings(max_examples=30, deadline=None)
@given(count=st.integers(min_value=0, max_value=35), size=st.integers(min_value=1, max_value=25))
def test_test_case_list_pages_hold_every_item_once(count: int, size: int) -> None:
    sim = QTestSimulator(generate_target(seed=7, existing_test_cases=count))
    api = Api(sim)
    module = next(m.id for m in sim.state.modules.values() if m.name == "Existing Tests") if count else None
    query = f"&parentId={module}" if module else ""
    seen: list[int] = []
    page = 1
    while True:
        items = api.json("GET", f"/test-cases?page={page}&size={size}{query}&expandProps=false")
        assert len(items) <= size
        if not items:
            break
        assert all("properties" not in i for i in items)
        seen += [i["id"] for i in items]
        page += 1
    assert sorted(seen) == sorted(sim.state.test_cases)
    assert len(seen) == len(set(seen))
