"""The Zephyr simulator's attachment operations against the shapes of SmartBear's current schemas.

The operations were added to the v2 API in 2026; the April 2025 OpenAPI document predates them, so
their shapes come from the spec note ``zephyr-scale-cloud-v2-attachments.md``. Error bodies are
still checked against the document's ``Error`` schema.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema
import pytest

from ztoq.serving import serve_in_thread
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset

AUTH = {"Authorization": "Bearer zephyr-sim-token"}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[ZephyrSimulator, httpx.Client, str]]:
    sim = ZephyrSimulator(generate_dataset(36, seed=11))
    with (
        serve_in_thread(sim.app) as base,
        httpx.Client(base_url=f"{base}/v2", headers=AUTH, timeout=30) as client,
    ):
        yield sim, client, base


#: The shapes in /work/shared/specs/zephyr-scale-cloud-v2-attachments.md.
ATTACHMENT_ITEM = {
    "type": "object",
    "required": ["id", "name"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
    },
}
ATTACHMENT_LIST = {
    "type": "object",
    "required": ["attachments"],
    "additionalProperties": False,
    "properties": {"attachments": {"type": "array", "minItems": 1, "items": ATTACHMENT_ITEM}},
}
STEP_WITH_ID = {
    "type": "object",
    "required": ["values"],
    "properties": {
        "values": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "integer", "minimum": 1}},
            },
        }
    },
}
UNAVAILABLE = {"errorCode": 503, "message": "The backend service returned a 5xx or could not be reached"}


def _attachments_path(client: httpx.Client, entry: dict[str, Any]) -> str:
    kind, key = entry["owner"], entry["ownerKey"]
    if kind in ("teststep", "executionstep"):
        parent = "testcases" if kind == "teststep" else "testexecutions"
        steps = client.get(f"/{parent}/{key}/teststeps", params={"maxResults": 100}).json()["values"]
        return f"/{parent}/{key}/teststeps/{steps[entry['stepIndex']]['id']}/attachments"
    collection = {"testcase": "testcases", "testcycle": "testcycles", "testplan": "testplans"}
    return f"/{collection.get(kind, 'testexecutions')}/{key}/attachments"


def test_attachment_answers_match_the_shapes_of_the_spec_note(
    served: tuple[ZephyrSimulator, httpx.Client, str], zephyr_contract: Any
) -> None:
    _sim, client, _base = served
    entries = generate_dataset(36, seed=11)["attachments"]
    assert {e["owner"] for e in entries} == {
        "testcase",
        "teststep",
        "testcycle",
        "testplan",
        "testexecution",
        "executionstep",
    }
    lists: dict[str, Any] = {}
    for entry in entries:
        path = _attachments_path(client, entry)
        if path not in lists:
            response = client.get(path)
            assert response.status_code == 200, f"{path}: {response.text}"
            jsonschema.validate(response.json(), ATTACHMENT_LIST)
            lists[path] = response.json()
        content = client.get(f"{path}/{entry['id']}")
        assert content.status_code == 200
        assert content.headers["content-type"] == entry["contentType"]
        assert content.content == base64.b64decode(entry["content"])
        assert content.headers["content-length"] == str(len(content.content))
    # 404 bodies: an owner with no attachments, an owner that does not exist.
    owned = {e["ownerKey"] for e in entries if e["owner"] == "testcase"}
    bare = next(f"DEMO-T{n}" for n in range(1, 37) if f"DEMO-T{n}" not in owned)
    for path in (
        f"/testcases/{bare}/attachments",
        "/testcases/DEMO-T999/attachments",
        "/testplans/1/attachments/5",
    ):
        zephyr_contract.check_response(client.get(path), "Error", 404)
    for parent, key in (("testcases", "DEMO-T1"), ("testexecutions", "DEMO-E1")):
        jsonschema.validate(client.get(f"/{parent}/{key}/teststeps").json(), STEP_WITH_ID)


def test_upload_and_unavailable_answers_match_the_spec_note(zephyr_contract: Any) -> None:
    sim = ZephyrSimulator(generate_dataset(5, seed=5))
    with serve_in_thread(sim.app) as base, httpx.Client(base_url=f"{base}/v2", headers=AUTH) as api:
        name = "résumé 测试 ✓.txt"
        created = api.post(
            f"/testcycles/DEMO-R1/attachments/{quote(name)}",
            content=b"x",
            headers={"Content-Type": "text/plain"},
        )
        assert created.status_code == 201
        jsonschema.validate(created.json(), ATTACHMENT_ITEM)
        assert created.json()["name"] == name
        zephyr_contract.check_response(
            api.post("/testcycles/DEMO-R1/attachments/a%2Fb", content=b"x"), "Error", 400
        )
        sim.state.attachments_available = False
        for method, path in (
            ("GET", "/testcases/DEMO-T1/attachments"),
            ("GET", f"/testcycles/DEMO-R1/attachments/{created.json()['id']}"),
            ("POST", "/testexecutions/DEMO-E1/attachments/x.txt"),
        ):
            response = api.request(method, path, content=b"x" if method == "POST" else None)
            assert zephyr_contract.check_response(response, "Error", 503) == UNAVAILABLE
