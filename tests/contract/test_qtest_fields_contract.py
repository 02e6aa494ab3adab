"""Contract test of the qTest simulator's field settings writes against Tricentis' Swagger file.

Creating a custom field (``createCustomField``), updating one (``updateCustomField``), adding
allowed values (``createProjectFieldAllowedValues``), deleting a value (``deleteProjectFieldValue``)
and a field (``deleteCustomField``) are driven through ``httpx.ASGITransport``;
every answer is checked against ``qtest-manager-v3-swagger.yaml`` (the declared answer and the
named model, no undeclared property), errors must be ``{message}``. Changing field settings
needs the project-admin permission: another user gets 403. Site-level system fields have
negative ids, and every call takes them. ztoq's own client (``QTestClient.create_field``,
``add_allowed_values``, and what rollback uses: ``finds_any``, ``delete_allowed_value``,
``delete_field``) is driven against the same simulator.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any, cast

import httpx
import pytest
from test_qtest_contract import SPEC_DIR, Api, check

from ztoq.config import QTestConfig
from ztoq.errors import PermissionDenied
from ztoq.qtest.client import QTestClient
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator
from ztoq.simulators.qtest.generate import TEST_DATA_SOURCE_ID
from ztoq.simulators.qtest.state import DEFAULT_USER_PASSWORD
from ztoq.vendor import QTEST_CHECKBOX, QTEST_MULTI_SELECT, QTEST_PICK_LIST, QTEST_TEXT

pytestmark = pytest.mark.skipif(SPEC_DIR is None, reason="the qTest Swagger file is not available")


@pytest.fixture
def sim() -> QTestSimulator:
    return QTestSimulator.generated(seed=5)


def _admin(sim: QTestSimulator) -> tuple[Api, str]:
    api = Api(sim, DEFAULT_QTEST_TOKEN)
    project = api.ok("GET", "/api/v3/projects", "List<ProjectResource>")[0]["id"]
    return api, f"/api/v3/projects/{project}/settings"


def _pick_list(api: Api, s: str, label: str, values: list[str]) -> dict[str, Any]:
    """A test-case pick list created through the API (the Swagger's FieldResource, 201)."""
    allowed = [{"label": value} for value in values]
    body = {"label": label, "data_type": QTEST_PICK_LIST, "allowed_values": allowed}
    return cast(dict[str, Any], api.ok("POST", f"{s}/test-cases/fields", "FieldResource", 201, json=body))


def _member(sim: QTestSimulator) -> Api:
    """A project member who is not its admin, logged in with the password grant."""
    member = next(u for u in sim.state.users.values() if u.id != sim.state.admin_id)
    basic = "Basic " + base64.b64encode(b"acme:").decode()
    login = Api(sim, None).ok(
        "POST",
        "/oauth/token",
        "OAuthResponse",
        data={"grant_type": "password", "username": member.username, "password": DEFAULT_USER_PASSWORD},
        headers={"Authorization": basic},
    )
    return Api(sim, login["access_token"])


def test_create_a_custom_field_of_every_kind(sim: QTestSimulator) -> None:
    api, s = _admin(sim)
    made = api.ok(
        "POST",
        f"{s}/test-cases/fields",
        "FieldResource",
        201,
        json={
            "label": "Labels",
            "data_type": QTEST_MULTI_SELECT,
            "multiple": True,
            "allowed_values": [{"label": "smoke", "order": 1}, {"label": "flaky", "order": 2}],
            "required": False,
            "searchable": True,
            "is_active": True,
        },
    )
    assert made["data_type"] == QTEST_MULTI_SELECT
    assert made["multiple"] is True
    assert [v["label"] for v in made["allowed_values"]] == ["smoke", "flaky"]
    box = api.ok(
        "POST",
        f"{s}/test-runs/fields",
        "FieldResource",
        201,
        json={"label": "Automated", "data_type": QTEST_CHECKBOX, "allowed_values": [{"label": "Yes"}]},
    )
    assert box["multiple"] is True
    for data_type in (2, 4, 5, 6, 7, 9, 12):
        api.ok(
            "POST",
            f"{s}/releases/fields",
            "FieldResource",
            201,
            json={"label": f"F{data_type}", "data_type": data_type},
        )
    listed = api.ok("GET", f"{s}/test-cases/fields", "List<FieldResource>")
    assert made["id"] in [f["id"] for f in listed]
    one = api.ok("GET", f"{s}/test-cases/fields/{made['id']}", "FieldResourceSwagger")
    assert one["label"] == "Labels"
    assert "allowed_values" not in one

    assert "already exists" in api.fails(
        "POST", f"{s}/test-cases/fields", 400, json={"label": "labels", "data_type": 1}
    )
    api.fails("POST", f"{s}/test-cases/fields", 400, json={"label": "X", "data_type": 99})
    api.fails("POST", f"{s}/test-cases/fields", 400, json={"data_type": QTEST_TEXT})
    api.fails("POST", f"{s}/test-cycles/fields", 400, json={"label": "X", "data_type": QTEST_TEXT})
    api.fails("POST", f"{s}/test-steps/fields", 400, json={"label": "X", "data_type": QTEST_TEXT})


def test_update_a_field_and_add_allowed_values(sim: QTestSimulator) -> None:
    api, s = _admin(sim)
    made = _pick_list(api, s, "Component", ["UI", "API"])
    ui, api_value = made["allowed_values"]
    updated = api.ok(
        "PUT",
        f"{s}/test-cases/fields/{made['id']}",
        "FieldResource",
        json={
            "label": "Jira Component",
            "allowed_values": [{"value": ui["value"], "label": "Web UI"}, {"label": "DB"}],
        },
    )
    assert updated["label"] == "Jira Component"
    labels = {v["label"]: v["value"] for v in updated["allowed_values"]}
    assert labels["Web UI"] == ui["value"]
    assert "DB" in labels
    assert api_value["value"] not in labels.values()
    assert "cannot be changed" in api.fails(
        "PUT", f"{s}/test-cases/fields/{made['id']}", 400, json={"data_type": QTEST_TEXT}
    )

    added = api.ok(
        "POST",
        f"{s}/test-cases/fields/{made['id']}/allowed-values",
        "AllowedValueResponseResource",
        201,
        json=[{"label": "Mobile"}, {"label": "Search"}],
    )
    assert added["total"] == 2
    assert [v["label"] for v in added["items"]] == ["Mobile", "Search"]
    listed = next(
        f for f in api.ok("GET", f"{s}/test-cases/fields", "List<FieldResource>") if f["id"] == made["id"]
    )
    assert {"Mobile", "Search", "Web UI", "DB"} == {v["label"] for v in listed["allowed_values"]}
    api.fails("POST", f"{s}/test-cases/fields/{made['id']}/allowed-values", 400, json=[{"label": "mobile"}])
    api.fails(
        "POST",
        f"{s}/test-cases/fields/{made['id']}/allowed-values",
        400,
        json=[{"label": f"v{i}"} for i in range(101)],
    )
    api.fails("POST", f"{s}/test-cases/fields/{made['id']}/allowed-values", 400, json=[])
    text = api.ok(
        "POST", f"{s}/test-cases/fields", "FieldResource", 201, json={"label": "T", "data_type": QTEST_TEXT}
    )
    api.fails("POST", f"{s}/test-cases/fields/{text['id']}/allowed-values", 400, json=[{"label": "x"}])
    api.fails("POST", f"{s}/test-cases/fields/987654321/allowed-values", 404, json=[{"label": "x"}])


def test_system_fields_with_negative_ids_take_updates_and_values(sim: QTestSimulator) -> None:
    api, s = _admin(sim)
    one = api.ok("GET", f"{s}/test-runs/fields/{TEST_DATA_SOURCE_ID}", "FieldResourceSwagger")
    assert one["id"] == TEST_DATA_SOURCE_ID < 0
    added = api.ok(
        "POST",
        f"{s}/test-runs/fields/{TEST_DATA_SOURCE_ID}/allowed-values",
        "AllowedValueResponseResource",
        201,
        json=[{"label": "Data set A"}],
    )
    assert added["items"][0]["label"] == "Data set A"
    api.ok("PUT", f"{s}/test-runs/fields/{TEST_DATA_SOURCE_ID}", "FieldResource", json={"order": 9})


def test_a_user_who_is_not_project_admin_gets_403(sim: QTestSimulator) -> None:
    api, s = _admin(sim)
    made = api.ok(
        "POST",
        f"{s}/releases/fields",
        "FieldResource",
        201,
        json={"label": "Train", "data_type": QTEST_PICK_LIST},
    )
    member = _member(sim)
    member.ok("GET", f"{s}/releases/fields", "List<FieldResource>")
    message = member.fails(
        "POST", f"{s}/releases/fields", 403, json={"label": "Other", "data_type": QTEST_TEXT}
    )
    assert "permission" in message
    member.fails("PUT", f"{s}/releases/fields/{made['id']}", 403, json={"label": "Renamed"})
    member.fails("POST", f"{s}/releases/fields/{made['id']}/allowed-values", 403, json=[{"label": "RT-1"}])
    check({"message": message}, "ErrorMessage", "403")


def _client(sim: QTestSimulator, project_id: int, token: str = DEFAULT_QTEST_TOKEN) -> QTestClient:
    config = QTestConfig(base_url="https://acme.qtestnet.com", bearer_token=token, project_id=project_id)
    return QTestClient.from_config(config, transport=httpx.ASGITransport(app=sim.app))


def test_ztoq_client_creates_fields_and_adds_values(sim: QTestSimulator) -> None:
    project_id = next(iter(sim.state.projects))

    async def go() -> tuple[Any, Any, list[str]]:
        client = _client(sim, project_id)
        try:
            made = await client.create_field(
                "test-cases",
                {"label": "Legacy ID", "data_type": QTEST_PICK_LIST, "allowed_values": [{"label": "A"}]},
            )
            added = await client.add_allowed_values("test-cases", made.id or 0, ["B", "C"])
            negative = await client.add_allowed_values("test-runs", TEST_DATA_SOURCE_ID, ["Rows"])
            return made, added, [v.label or "" for v in negative]
        finally:
            await client.aclose()

    made, added, negative = asyncio.run(go())
    assert made.id is not None
    assert made.label == "Legacy ID"
    assert [v.label for v in added] == ["B", "C"]
    assert all(v.value for v in added)
    assert negative == ["Rows"]

    sim.state.project(project_id).profiles[sim.state.admin_id] = {"project": {"admin": False}}

    async def refused() -> None:
        client = _client(sim, project_id)
        try:
            await client.create_field("test-cases", {"label": "X", "data_type": QTEST_TEXT})
        finally:
            await client.aclose()

    with pytest.raises(PermissionDenied):
        asyncio.run(refused())


def test_delete_a_custom_field_and_an_allowed_value(sim: QTestSimulator) -> None:
    api, s = _admin(sim)
    made = _pick_list(api, s, "Area", ["UI", "DB"])
    ui = made["allowed_values"][0]["value"]
    api.ok("DELETE", f"{s}/test-cases/fields/{made['id']}/allowed-values/{ui}", "Object")
    listed = {f["id"]: f for f in api.ok("GET", f"{s}/test-cases/fields", "List<FieldResource>")}
    assert [v["label"] for v in listed[made["id"]]["allowed_values"]] == ["DB"]
    api.fails("DELETE", f"{s}/test-cases/fields/{made['id']}/allowed-values/{ui}", 404)
    text = api.ok(
        "POST", f"{s}/test-cases/fields", "FieldResource", 201, json={"label": "T", "data_type": QTEST_TEXT}
    )
    api.fails("DELETE", f"{s}/test-cases/fields/{text['id']}/allowed-values/1", 400)

    member = _member(sim)
    member.fails("DELETE", f"{s}/test-cases/fields/{made['id']}", 403)
    api.ok("DELETE", f"{s}/test-cases/fields/{made['id']}", "Object")
    gone = api.ok("GET", f"{s}/test-cases/fields", "List<FieldResource>", params={"includeInactive": True})
    assert made["id"] not in {f["id"] for f in gone}
    api.fails("DELETE", f"{s}/test-cases/fields/{made['id']}", 404)
    # System fields cannot be deleted, whatever the sign of their id.
    api.fails("DELETE", f"{s}/test-runs/fields/{TEST_DATA_SOURCE_ID}", 400)
    system = next(f for f in gone if f["system_field"])
    api.fails("DELETE", f"{s}/test-cases/fields/{system['id']}", 400)


def test_ztoq_client_asks_whether_data_uses_a_field_then_deletes_it() -> None:
    sim = QTestSimulator.generated(seed=5, test_cases=1)
    project_id = next(iter(sim.state.projects))
    case = next(c for c in sim.state.test_cases.values() if c.project_id == project_id)

    async def go() -> tuple[bool, bool, bool, bool]:
        client = _client(sim, project_id)
        try:
            made = await client.create_field(
                "test-cases",
                {"label": "Legacy ID", "data_type": QTEST_PICK_LIST, "allowed_values": [{"label": "L-1"}]},
            )
            assert made.id is not None
            unused = await client.finds_any("test-cases", "'Legacy ID' is 'not empty'")
            value = (made.allowed_values or [])[0].value
            case.latest.properties[made.id] = str(value)
            used = await client.finds_any("test-cases", "'Legacy ID' is 'not empty'")
            by_value = await client.finds_any("test-cases", "'Legacy ID' = 'L-1'")
            assert value is not None
            await client.delete_allowed_value("test-cases", made.id, value)
            await client.delete_field("test-cases", made.id)
            left = any(f.id == made.id for f in await client.fields("test-cases", include_inactive=True))
            return unused, used, by_value, left
        finally:
            await client.aclose()

    assert asyncio.run(go()) == (False, True, True, False)
