"""Field settings and ``properties`` validation of the qTest simulator."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ztoq.simulators import catalog
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator, generate_target
from ztoq.simulators.qtest.fields import (
    CHECKBOX,
    COMBO,
    DATE,
    MULTI,
    NUMBER,
    TEXT,
    USER_LIST,
    apply_properties,
    make_field,
    render_properties,
)
from ztoq.simulators.qtest.state import QTestError


def call(sim: QTestSimulator, method: str, path: str, **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://qtest.test") as client:
            headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
            return await client.request(method, path, headers=headers, **kw)

    return asyncio.run(go())


FIELDS = [
    make_field(1, "Priority", COMBO, order=1, values=[(10, "High", False), (11, "Low", True)]),
    make_field(2, "Areas", MULTI, order=2, values=[(20, "UI", False), (21, "API", False)]),
    make_field(3, "Reviewer", USER_LIST, order=3),
    make_field(4, "Points", NUMBER, order=4),
    make_field(5, "Due", DATE, order=5),
    make_field(6, "Key", TEXT, order=6, required=True),
    make_field(7, "Done", CHECKBOX, order=7, values=[(30, "Yes", False)]),
]


def test_apply_properties_normalizes_and_fills_defaults() -> None:
    values = apply_properties(
        FIELDS,
        [
            {"field_id": 2, "field_value": "[21, 20]"},
            {"field_id": "3", "field_value": 7},
            {"field_id": 4, "field_value": "2.5"},
            {"field_id": 5, "field_value": "2024-05-01T12:00:00Z"},
            {"field_id": 6, "field_value": "DEMO-T1"},
            {"field_id": 7, "field_value": [30]},
        ],
        {},
        [7],
        creating=True,
    )
    assert values == {
        1: "11",
        2: "[21,20]",
        3: "7",
        4: "2.5",
        5: "2024-05-01T12:00:00+00:00",
        6: "DEMO-T1",
        7: "[30]",
    }
    rendered = {p["field_name"]: p for p in render_properties(FIELDS, values, {7: "Ada Lovelace"})}
    assert rendered["Priority"]["field_value_name"] == "Low"
    assert rendered["Areas"]["field_value_name"] == "[API, UI]"
    assert rendered["Reviewer"]["field_value_name"] == "Ada Lovelace"
    assert "field_value_name" not in rendered["Key"]


@pytest.mark.parametrize(
    ("props", "fragment"),
    [
        ([{"field_id": 99, "field_value": "x"}], "99 does not exist"),
        ([{"field_value": "x"}], "field_id"),
        ([{"field_id": 1, "field_value": "12"}], "12 is not an allowed value"),
        ([{"field_id": 1, "field_value": "High"}], "not an allowed value ID"),
        ([{"field_id": 1, "field_value": "[10,11]"}], "single value"),
        ([{"field_id": 3, "field_value": "8"}], "8 is not an allowed value"),
        ([{"field_id": 4, "field_value": "many"}], "needs a number"),
        ([{"field_id": 5, "field_value": "01/05/2024"}], "ISO-8601"),
        ([{"field_id": 6, "field_value": ""}], "'Key' is required"),
        ("not a list", "array"),
    ],
)
def test_apply_properties_rejects(props: Any, fragment: str) -> None:
    with pytest.raises(QTestError) as caught:
        apply_properties(FIELDS, props, {6: "k"}, [7], creating=False)
    assert caught.value.status == 400
    assert fragment in caught.value.message


def test_missing_required_field_on_create() -> None:
    with pytest.raises(QTestError, match="'Key' is required"):
        apply_properties(FIELDS, [], {}, [7], creating=True)


def test_inactive_field_is_unknown() -> None:
    fields = [dict(FIELDS[0], is_active=False)]
    with pytest.raises(QTestError, match="not active"):
        apply_properties(fields, [{"field_id": 1, "field_value": "10"}], {}, [], creating=True)


def _setup(
    dataset: dict[str, Any] | None = None,
) -> tuple[QTestSimulator, str, dict[str, dict[str, Any]], int]:
    sim = QTestSimulator(dataset if dataset is not None else generate_target(seed=2))
    pid = next(iter(sim.state.projects))
    p = f"/api/v3/projects/{pid}"
    fields = {f["label"]: f for f in call(sim, "GET", f"{p}/settings/test-cases/fields").json()}
    module = call(sim, "POST", f"{p}/modules", json={"name": "M"}).json()["id"]
    return sim, p, fields, module


def test_test_case_properties_are_validated_with_400_and_message() -> None:
    sim, p, fields, module = _setup()
    bad = [
        [{"field_id": 1, "field_value": "x"}],
        [{"field_id": fields["Automation Status"]["id"], "field_value": "424242"}],
        [{"field_id": fields["Reviewer"]["id"], "field_value": "1"}],
    ]
    for props in bad:
        response = call(
            sim, "POST", f"{p}/test-cases", json={"name": "T", "parent_id": module, "properties": props}
        )
        assert response.status_code == 400, props
        assert set(response.json()) == {"message"}
    assert sim.state.test_cases == {}


def test_defaults_and_labels_in_created_test_case() -> None:
    sim, p, fields, module = _setup()
    areas = {v["label"]: v["value"] for v in fields["Test Areas"]["allowed_values"]}
    body = {
        "name": "T",
        "parent_id": module,
        "properties": [
            {"field_id": fields["Test Areas"]["id"], "field_value": f"[{areas['UI']},{areas['API']}]"}
        ],
    }
    created = call(sim, "POST", f"{p}/test-cases", json=body).json()
    props = {x["field_name"]: x for x in created["properties"]}
    assert props["Status"]["field_value_name"] == "New"
    assert props["Priority"]["field_value"] == "723"
    assert props["Test Areas"]["field_value_name"] == "[UI, API]"
    assert props[catalog.SOURCE_KEY_FIELD]["field_value"] == ""


def test_required_custom_field_from_dataset_and_from_the_api() -> None:
    dataset = generate_target(seed=4)
    key = next(f for f in dataset["fields"]["test-cases"] if f["label"] == catalog.SOURCE_KEY_FIELD)
    key["required"] = True
    sim, p, _, module = _setup(dataset)
    missing = call(sim, "POST", f"{p}/test-cases", json={"name": "T", "parent_id": module})
    assert missing.status_code == 400
    assert "'Zephyr Key' is required" in missing.json()["message"]
    ok = call(
        sim,
        "POST",
        f"{p}/test-cases",
        json={
            "name": "T",
            "parent_id": module,
            "properties": [{"field_id": key["id"], "field_value": "DEMO-T9"}],
        },
    )
    assert ok.status_code == 200
    cleared = call(
        sim,
        "PUT",
        f"{p}/test-cases/{ok.json()['id']}",
        json={"properties": [{"field_id": key["id"], "field_value": ""}]},
    )
    assert cleared.status_code == 400

    created = call(
        sim,
        "POST",
        f"{p}/settings/test-runs/fields",
        json={"label": "Build", "data_type": 1, "required": True},
    )
    assert created.status_code == 201
    assert created.json()["required"] is True
    duplicate = call(sim, "POST", f"{p}/settings/test-runs/fields", json={"label": "build", "data_type": 1})
    assert duplicate.status_code == 400
    run = call(sim, "POST", f"{p}/test-runs", json={"name": "R", "test_case": {"id": ok.json()["id"]}})
    assert run.status_code == 400
    assert "'Build' is required" in run.json()["message"]


def test_field_settings_endpoints() -> None:
    sim, p, fields, _ = _setup()
    assert fields["Status"]["system_field"] is True
    assert [v["label"] for v in fields["Priority"]["allowed_values"]] == ["Urgent", "High", "Medium", "Low"]
    assert fields["Zephyr Key"]["data_type"] == TEXT
    assert call(sim, "GET", f"{p}/settings/test-cycles/fields").status_code == 400
    assert call(sim, "GET", f"{p}/settings/test-cases/fields/424242").status_code == 404
    assert (
        call(sim, "POST", f"{p}/settings/test-cases/fields", json={"label": "X", "data_type": 99}).status_code
        == 400
    )
    field = next(
        f for f in sim.state.fields_of(int(p.rsplit("/", 1)[1]), "test-cases") if f["label"] == "Notes"
    )
    field["is_active"] = False
    active = call(sim, "GET", f"{p}/settings/test-cases/fields").json()
    every = call(sim, "GET", f"{p}/settings/test-cases/fields?includeInactive=true").json()
    assert len(every) == len(active) + 1
