"""Datasets of the qTest simulator: the default project, generate_target and the --data loader."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from ztoq.errors import InputError
from ztoq.simulators import catalog
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, DEFAULT_QTEST_USER, QTestSimulator, generate_target
from ztoq.simulators.qtest.fields import CHECKBOX


def get(sim: QTestSimulator, path: str, method: str = "GET", **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://qtest.test") as client:
            headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
            return await client.request(method, path, headers=headers, **kw)

    return asyncio.run(go())


def test_default_simulator_serves_one_empty_project() -> None:
    sim = QTestSimulator()
    projects = get(sim, "/api/v3/projects").json()
    assert [p["id"] for p in projects] == [1]
    assert get(sim, "/api/v3/projects/1/modules").json() == []
    assert get(sim, "/api/v3/projects/1/test-cases").json() == []
    users = get(sim, "/api/v3/projects/1/users").json()
    assert DEFAULT_QTEST_USER in [u["username"] for u in users]
    assert len(users) == 3
    statuses = get(sim, "/api/v3/projects/1/test-runs/execution-statuses").json()
    assert [(s["id"], s["name"]) for s in statuses] == [
        (601, "Passed"),
        (602, "Failed"),
        (603, "Incomplete"),
        (604, "Blocked"),
        (605, "Unexecuted"),
    ]
    assert [s["is_default"] for s in statuses] == [False, False, False, False, True]
    labels = [f["label"] for f in get(sim, "/api/v3/projects/1/settings/test-cases/fields").json()]
    assert labels == ["Status", "Type", "Priority", "Assigned To", "Automation", "Automation Content"]


def test_generate_target_is_reproducible_and_json() -> None:
    assert generate_target(seed=3) == generate_target(seed=3)
    assert generate_target(seed=3)["projects"][0]["id"] != generate_target(seed=4)["projects"][0]["id"]
    data = generate_target(seed=3, project_name="Target X")
    assert json.loads(json.dumps(data)) == data
    assert data["projects"][0]["name"] == "Target X"


def test_generate_target_fields_match_the_catalog() -> None:
    fields = generate_target(seed=1)["fields"]
    assert "test-cycles" not in fields  # qTest test cycles have no custom fields
    for object_type in ("test-cases", "test-runs", "test-suites", "releases"):
        labels = [f["label"] for f in fields[object_type]]
        assert labels.count(catalog.SOURCE_KEY_FIELD) == 1, object_type
    expected = {
        "test-cases": catalog.TEST_CASE_FIELDS,
        "test-runs": catalog.TEST_EXECUTION_FIELDS,
        "test-suites": catalog.TEST_CYCLE_FIELDS,
        "releases": catalog.TEST_PLAN_FIELDS,
    }
    for object_type, specs in expected.items():
        by_label = {f["label"]: f for f in fields[object_type]}
        for spec in specs:
            if spec.qtest_label is None:
                assert spec.zephyr_name not in by_label
                continue
            field = by_label[spec.qtest_label]
            assert field["data_type"] == spec.qtest_data_type
            assert field["system_field"] is False
            labels = [v["label"] for v in field["allowed_values"]]
            assert labels == (list(spec.options) or (["Yes"] if spec.qtest_data_type == CHECKBOX else []))
    environment = {f["label"]: f for f in fields["test-runs"]}["Environment"]
    assert [v["label"] for v in environment["allowed_values"]] == list(catalog.ENVIRONMENTS)
    ids = [f["id"] for fs in fields.values() for f in fs]
    assert len(ids) == len(set(ids))


def test_generate_target_users_and_requirements() -> None:
    data = generate_target(seed=1, existing_test_cases=2)
    logins = {u["username"] for u in data["users"]}
    people = {u.qtest_login or u.qtest_other_login for u in catalog.USERS}
    assert logins == {DEFAULT_QTEST_USER} | {login for login in people if login}
    assert all(r["name"].startswith("DEMO-1") for r in data["requirements"])
    assert len(data["test_cases"]) == 2
    sim = QTestSimulator(data)
    p = f"/api/v3/projects/{data['projects'][0]['id']}"
    requirement = get(sim, f"{p}/requirements").json()[0]
    assert {x["field_name"]: x for x in requirement["properties"]}["Status"]["field_value_name"] == "New"
    case = get(sim, f"{p}/test-cases/TC-2?expand=teststep").json()
    assert (case["version"], len(case["test_steps"])) == ("1.0", 2)
    created = get(sim, f"{p}/test-cases", "POST", json={"name": "New"}).json()
    assert created["pid"] == "TC-3"
    assert created["id"] > max(c["id"] for c in data["test_cases"])


def test_generated_constructor_passes_arguments_through() -> None:
    sim = QTestSimulator.generated(test_cases=4, seed=9, project_name="Named", token="T-9")
    assert len(sim.state.test_cases) == 4
    assert next(iter(sim.state.projects.values())).data["name"] == "Named"
    assert sim.state.api_token == "T-9"


def test_dataset_with_two_projects_and_preexisting_data() -> None:
    dataset = {
        "projects": [{"id": 10, "name": "A"}, {"id": 20, "name": "B"}],
        "users": [
            {"id": 1, "username": "root@example.com", "first_name": "R", "last_name": "T", "password": "pw"},
            {
                "id": 2,
                "username": "b@example.com",
                "first_name": "B",
                "last_name": "Only",
                "assigned_projects": [20],
            },
        ],
        "api_token_user": "root@example.com",
        "fields": {"10": {"test-cases": [{"id": 5, "label": "Key", "data_type": 1, "required": True}]}},
        "execution_statuses": {
            "20": [{"id": 601, "name": "Passed"}, {"id": 650, "name": "Retest", "color": "#000"}]
        },
        "modules": [{"id": 100, "name": "Old", "project_id": 10, "pid": "MD-7"}],
        "test_cases": [
            {
                "id": 200,
                "project_id": 10,
                "name": "Old case",
                "parent_id": 100,
                "properties": [{"field_id": 5, "field_value": "K-1"}],
            }
        ],
        "user_profiles": [{"project_id": 20, "user_id": 1, "test_case": {"create": False}}],
    }
    sim = QTestSimulator(dataset)
    assert sim.state.admin_id == 1
    assert [u["id"] for u in get(sim, "/api/v3/projects/20/users").json()] == [1, 2]
    assert [u["id"] for u in get(sim, "/api/v3/projects/10/users").json()] == [1]
    statuses = get(sim, "/api/v3/projects/20/test-runs/execution-statuses").json()
    assert [s["id"] for s in statuses] == [601, 650]
    assert get(sim, "/api/v3/projects/10/settings/test-runs/fields").json() == []
    case = get(sim, "/api/v3/projects/10/test-cases/200").json()
    assert case["properties"][0]["field_value"] == "K-1"
    module = get(sim, "/api/v3/projects/10/modules", "POST", json={"name": "New"}).json()
    assert module["pid"] == "MD-8"
    denied = get(sim, "/api/v3/projects/20/test-cases", "POST", json={"name": "X"})
    assert denied.status_code == 403
    assert set(denied.json()) == {"message"}
    profile = get(sim, "/api/v3/projects/20/user-profiles/current").json()
    assert profile["test_case"]["create"] is False
    assert get(sim, "/api/v3/projects/20/test-cases/200").status_code == 404


@pytest.mark.parametrize(
    "dataset",
    [
        {},
        {"projects": [{"id": 1}]},
        {"projects": "nope"},
        {"projects": [{"id": 1, "name": "P"}], "fields": {"test-cycles": []}},
        {
            "projects": [{"id": 1, "name": "P"}],
            "fields": {"test-cases": [{"id": 1, "label": "X", "data_type": 42}]},
        },
        {"projects": [{"id": 1, "name": "P"}], "test_cases": [{"id": 1, "name": "T", "parent_id": 9}]},
        {"projects": [{"id": 1, "name": "P"}, {"id": 2, "name": "Q"}], "modules": [{"id": 3, "name": "M"}]},
        {"projects": [{"id": 1, "name": "P"}], "modules": [{"name": "no id"}]},
    ],
)
def test_malformed_datasets_are_input_errors(dataset: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="Invalid qTest simulator dataset"):
        QTestSimulator(dataset)
