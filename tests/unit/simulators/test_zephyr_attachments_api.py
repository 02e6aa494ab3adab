"""Attachment endpoints of the Zephyr simulator: list, content and upload for every owner kind."""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from ztoq.simulators.zephyr import UNAVAILABLE_MESSAGE, ZephyrSimulator, attachment_routes, generate_dataset

AUTH = {"Authorization": "Bearer zephyr-sim-token"}
KINDS = ("testcase", "teststep", "testcycle", "testplan", "testexecution", "executionstep")


def call(
    sim: ZephyrSimulator,
    method: str,
    path: str,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://zephyr.test/v2", headers=AUTH
        ) as client:
            return await client.request(method, path, content=content, headers=headers)

    return asyncio.run(go())


def ok(sim: ZephyrSimulator, path: str) -> Any:
    response = call(sim, "GET", path)
    assert response.status_code == 200, response.text
    return response.json()


def error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errorCode", "message"}
    assert body["errorCode"] == status
    return str(body["message"])


def step_id(sim: ZephyrSimulator, kind: str, key: str, index: int) -> int:
    parent = "testcases" if kind == "teststep" else "testexecutions"
    return int(ok(sim, f"/{parent}/{key}/teststeps?maxResults=100")["values"][index]["id"])


def attachments_path(kind: str, key: str, step: int | str | None = None) -> str:
    return {
        "testcase": f"/testcases/{key}",
        "teststep": f"/testcases/{key}/teststeps/{step}",
        "testcycle": f"/testcycles/{key}",
        "testplan": f"/testplans/{key}",
        "testexecution": f"/testexecutions/{key}",
        "executionstep": f"/testexecutions/{key}/teststeps/{step}",
    }[kind] + "/attachments"


def owner_of(sim: ZephyrSimulator, entry: dict[str, Any]) -> str:
    """The attachments path of a dataset entry's owner."""
    step = None
    if entry["owner"] in ("teststep", "executionstep"):
        step = step_id(sim, entry["owner"], entry["ownerKey"], entry["stepIndex"])
    return attachments_path(entry["owner"], entry["ownerKey"], step)


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return generate_dataset(20, seed=7)


@pytest.fixture(scope="module")
def served(data: dict[str, Any]) -> ZephyrSimulator:
    """A simulator nobody writes to."""
    return ZephyrSimulator(data)


@pytest.fixture
def sim(data: dict[str, Any]) -> ZephyrSimulator:
    """A fresh simulator, for tests that write."""
    return ZephyrSimulator(data)


@pytest.mark.parametrize("kind", KINDS)
def test_every_owner_kind_lists_and_serves_its_attachments(
    served: ZephyrSimulator, data: dict[str, Any], kind: str
) -> None:
    entry = next(e for e in data["attachments"] if e["owner"] == kind)
    path = owner_of(served, entry)
    expected = [
        {"id": e["id"], "name": e["name"]} for e in data["attachments"] if owner_of(served, e) == path
    ]
    assert ok(served, path) == {"attachments": expected}
    response = call(served, "GET", f"{path}/{entry['id']}")
    assert response.status_code == 200
    assert response.content == base64.b64decode(entry["content"])
    assert response.headers["content-type"] == entry["contentType"]
    assert response.headers["content-length"] == str(len(response.content))
    assert "filename*=UTF-8''" in response.headers["content-disposition"]


def test_owners_are_named_by_key_or_id(served: ZephyrSimulator) -> None:
    by_key = ok(served, "/testcases/DEMO-T1/attachments")
    assert ok(served, f"/testcases/{ok(served, '/testcases/DEMO-T1')['id']}/attachments") == by_key
    cycle = ok(served, "/testcycles/DEMO-R1")
    assert ok(served, f"/testcycles/{cycle['id']}/attachments") == ok(
        served, "/testcycles/DEMO-R1/attachments"
    )
    execution = ok(served, "/testexecutions/DEMO-E1")
    assert ok(served, f"/testexecutions/{execution['id']}/attachments")["attachments"]


@pytest.mark.parametrize("kind", KINDS)
def test_an_upload_adds_an_attachment_and_the_same_name_adds_another(
    sim: ZephyrSimulator, data: dict[str, Any], kind: str
) -> None:
    ran = next(e["key"] for e in data["testexecutions"][1:] if data["executionsteps"][str(e["id"])])
    key = {"testcase": "DEMO-T3", "teststep": "DEMO-T1", "testcycle": "DEMO-R2", "testplan": "DEMO-P2"}.get(
        kind, ran
    )
    step = step_id(sim, kind, key, 0) if kind in ("teststep", "executionstep") else None
    path = attachments_path(kind, key, step)
    before = call(sim, "GET", path)
    known = before.json()["attachments"] if before.status_code == 200 else []
    name = "résumé 测试 ✓.txt"
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    first = call(sim, "POST", f"{path}/{quote(name)}", "première ligne\n".encode(), headers)
    assert first.status_code == 201, first.text
    assert first.json() == {"id": first.json()["id"], "name": name}
    second = call(sim, "POST", f"{path}/{quote(name)}", b"", headers)
    assert second.status_code == 201
    assert second.json()["id"] > first.json()["id"]
    assert ok(sim, path)["attachments"] == [*known, first.json(), second.json()]
    content = call(sim, "GET", f"{path}/{first.json()['id']}")
    assert content.content == "première ligne\n".encode()
    assert content.headers["content-type"] == "text/plain; charset=utf-8"
    empty = call(sim, "GET", f"{path}/{second.json()['id']}")
    assert (empty.content, empty.headers["content-length"]) == (b"", "0")


def test_an_upload_without_a_content_type_is_octet_stream(sim: ZephyrSimulator) -> None:
    created = call(sim, "POST", "/testplans/DEMO-P1/attachments/blob.bin", b"\x00\x01")
    assert created.status_code == 201
    read = call(sim, "GET", f"/testplans/DEMO-P1/attachments/{created.json()['id']}")
    assert read.headers["content-type"] == "application/octet-stream"


def test_404_and_400_rules(served: ZephyrSimulator, data: dict[str, Any]) -> None:
    owned = {e["ownerKey"] for e in data["attachments"] if e["owner"] == "testcase"}
    bare = next(c["key"] for c in data["testcases"] if c["key"] not in owned)
    assert "has no attachments" in error(call(served, "GET", f"/testcases/{bare}/attachments"), 404)
    assert "does not exist" in error(call(served, "GET", "/testcases/DEMO-T999/attachments"), 404)
    assert "does not exist" in error(call(served, "GET", "/testcycles/DEMO-R999/attachments"), 404)
    assert "does not exist" in error(call(served, "GET", "/testplans/424242/attachments"), 404)
    assert "does not exist" in error(call(served, "GET", "/testexecutions/DEMO-E99999/attachments"), 404)
    # A step id that exists, but in another test case; an unknown one; not a number.
    other = step_id(served, "teststep", "DEMO-T2", 0)
    assert "does not exist" in error(
        call(served, "GET", f"/testcases/DEMO-T1/teststeps/{other}/attachments"), 404
    )
    assert "does not exist" in error(
        call(served, "GET", "/testexecutions/DEMO-E1/teststeps/7/attachments"), 404
    )
    error(call(served, "GET", "/testcases/DEMO-T1/teststeps/first/attachments"), 400)
    # Attachment ids: unknown, another owner's, not a number.
    cycle_attachment = ok(served, "/testcycles/DEMO-R1/attachments")["attachments"][0]["id"]
    error(call(served, "GET", "/testcases/DEMO-T1/attachments/999999"), 404)
    error(call(served, "GET", f"/testcases/DEMO-T1/attachments/{cycle_attachment}"), 404)
    error(call(served, "GET", "/testcases/DEMO-T1/attachments/abc"), 400)
    error(call(served, "POST", "/testcases/DEMO-T999/attachments/x.txt", b"x"), 404)
    error(call(served, "DELETE", "/testcases/DEMO-T1/attachments"), 405)


@pytest.mark.parametrize(
    ("encoded_name", "fragment"),
    [
        ("a%2Fb.txt", "'/'"),
        ("a%5Cb.txt", "'\\'"),
        ("%2E%2E", "'..'"),
        ("notes..txt", "'..'"),
        ("a%00b.txt", "NUL"),
        ("", "1 to 255"),
        ("x" * 256, "1 to 255"),
    ],
)
def test_bad_file_names_are_refused(served: ZephyrSimulator, encoded_name: str, fragment: str) -> None:
    before = ok(served, "/testcases/DEMO-T1/attachments")
    response = call(served, "POST", f"/testcases/DEMO-T1/attachments/{encoded_name}", b"x")
    assert fragment in error(response, 400)
    assert ok(served, "/testcases/DEMO-T1/attachments") == before


def test_names_are_url_decoded_and_255_characters_are_accepted(sim: ZephyrSimulator) -> None:
    longest = "é" * 251 + ".txt"
    for name in (longest, "100% done & ready?.txt", "a b+c.txt"):
        created = call(sim, "POST", f"/testcycles/DEMO-R1/attachments/{quote(name, safe='')}", b"ok")
        assert created.status_code == 201, created.text
        assert created.json()["name"] == name


def test_uploads_over_the_limit_answer_413(sim: ZephyrSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attachment_routes, "MAX_UPLOAD_BYTES", 10)
    assert call(sim, "POST", "/testcases/DEMO-T1/attachments/ten.bin", b"0123456789").status_code == 201
    error(call(sim, "POST", "/testcases/DEMO-T1/attachments/eleven.bin", b"0123456789a"), 413)


def test_a_tenant_without_the_feature_answers_503_to_every_attachment_operation(data: dict[str, Any]) -> None:
    sim = ZephyrSimulator(data, attachments_available=False)
    step = step_id(sim, "teststep", "DEMO-T1", 0)
    for kind, key in (("testcase", "DEMO-T1"), ("teststep", "DEMO-T1"), ("testexecution", "DEMO-E999999")):
        path = attachments_path(kind, key, step)
        for method, url in (("GET", path), ("GET", f"{path}/800001"), ("POST", f"{path}/x.txt")):
            response = call(sim, method, url, b"x" if method == "POST" else None)
            assert response.status_code == 503
            assert response.json() == {"errorCode": 503, "message": UNAVAILABLE_MESSAGE}
    assert ok(sim, "/testcases/DEMO-T1/teststeps")["values"][0]["id"] == step  # steps keep their ids
    sim.state.attachments_available = True
    assert ok(sim, "/testcases/DEMO-T1/attachments")["attachments"]
    sim.state.attachments_available = False
    assert call(sim, "GET", "/testcases/DEMO-T1/attachments").status_code == 503


def test_deleting_a_test_case_drops_its_attachments_and_its_steps_ones(sim: ZephyrSimulator) -> None:
    step = step_id(sim, "teststep", "DEMO-T1", 0)
    assert ok(sim, attachments_path("teststep", "DEMO-T1", step))["attachments"]
    steps = {s["id"] for s in ok(sim, "/testcases/DEMO-T1/teststeps?maxResults=100")["values"]}
    owned = [
        a
        for a in sim.state.attachments.by_id.values()
        if a.owner in {("testcase", "DEMO-T1")} | {("teststep", s) for s in steps}
    ]
    before = len(sim.state.attachments)
    sim.state.delete_test_case("DEMO-T1")
    assert len(sim.state.attachments) == before - len(owned)
    assert ("testcase", "DEMO-T1") not in sim.state.attachments.by_owner
    assert ("teststep", step) not in sim.state.attachments.by_owner
    error(call(sim, "GET", "/testcases/DEMO-T1/attachments"), 404)


def test_overwritten_steps_and_steps_replaced_by_a_script_lose_their_attachments(
    sim: ZephyrSimulator,
) -> None:
    step = step_id(sim, "teststep", "DEMO-T1", 0)
    body = {"mode": "OVERWRITE", "items": [{"inline": {"description": "new"}}]}
    response = asyncio.run(_post_json(sim, "/testcases/DEMO-T1/teststeps", body))
    assert response.status_code == 201
    assert ("teststep", step) not in sim.state.attachments.by_owner
    error(call(sim, "GET", attachments_path("teststep", "DEMO-T1", step)), 404)
    new_step = step_id(sim, "teststep", "DEMO-T1", 0)
    assert (
        call(sim, "POST", f"{attachments_path('teststep', 'DEMO-T1', new_step)}/a.txt", b"a").status_code
        == 201
    )
    script = {"type": "plain", "text": "Do it"}
    assert asyncio.run(_post_json(sim, "/testcases/DEMO-T1/testscript", script)).status_code == 201
    assert ("teststep", new_step) not in sim.state.attachments.by_owner


async def _post_json(sim: ZephyrSimulator, path: str, body: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://zephyr.test/v2", headers=AUTH
    ) as client:
        return await client.post(path, json=body)
