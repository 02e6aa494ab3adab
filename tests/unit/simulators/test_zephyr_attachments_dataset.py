"""Attachments in the dataset: generated content, the generator's shares and cases, the format, the CLI."""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
from collections import Counter
from typing import Any

import httpx
import pytest

from ztoq.errors import InputError
from ztoq.serving import serve_in_thread
from ztoq.simulators.zephyr import (
    ZephyrSimulator,
    generate_dataset,
    generated_content_chunks,
    generated_content_sha256,
)
from ztoq.simulators.zephyr.attachment_content import GENERATED_CHUNK_SIZE, generated_content_bytes

AUTH = {"Authorization": "Bearer zephyr-sim-token"}
MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "application/pdf": b"%PDF-", "application/zip": b"PK\x03\x04"}


def get(sim: ZephyrSimulator, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://zephyr.test/v2", headers=AUTH
        ) as client:
            return await client.get(path)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return generate_dataset(20, seed=5)


# -- generated content ------------------------------------------------------------------------------------


def test_generated_content_is_deterministic_and_cut_anywhere_the_same() -> None:
    whole = generated_content_bytes(200_003, seed=9)
    assert len(whole) == 200_003
    assert whole == generated_content_bytes(200_003, seed=9)
    assert whole != generated_content_bytes(200_003, seed=10)
    assert b"".join(generated_content_chunks(200_003, 9, chunk_size=4097)) == whole
    assert generated_content_bytes(1000, seed=9) == whole[:1000]
    assert generated_content_sha256(200_003, 9) == hashlib.sha256(whole).hexdigest()
    assert list(generated_content_chunks(0, 9)) == []
    with pytest.raises(ValueError):
        next(generated_content_chunks(-1, 9))


async def _drive(app: Any, path: str) -> list[dict[str, Any]]:
    """Run one GET through the ASGI app and keep every message it sends."""
    sent: list[dict[str, Any]] = []
    done = asyncio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"zephyr.test"), (b"authorization", AUTH["Authorization"].encode())],
        "client": ("127.0.0.1", 1234),
        "server": ("zephyr.test", 80),
    }
    await app(scope, receive, send)
    return sent


def test_a_large_generated_file_is_streamed_in_chunks_and_hashes_as_computed() -> None:
    size = 3 * 1024 * 1024 + 17
    dataset = generate_dataset(10, seed=3, attachments=False, large_attachments=2, large_attachment_size=size)
    assert [e["owner"] for e in dataset["attachments"]] == ["testcase", "testexecution"]
    sim = ZephyrSimulator(dataset)
    entry = dataset["attachments"][0]
    path = f"/v2/testcases/{entry['ownerKey']}/attachments/{entry['id']}"
    messages = asyncio.run(_drive(sim.app, path))
    headers = dict(messages[0]["headers"])
    assert (messages[0]["status"], headers[b"content-length"]) == (200, str(size).encode())
    assert headers[b"content-type"] == b"video/mp4"
    bodies = [m["body"] for m in messages[1:] if m["body"]]
    assert len(bodies) == -(-size // GENERATED_CHUNK_SIZE), "one body message per chunk, never the whole file"
    assert max(map(len, bodies)) <= GENERATED_CHUNK_SIZE
    digest = hashlib.sha256()
    for body in bodies:
        digest.update(body)
    assert digest.hexdigest() == generated_content_sha256(size, entry["generated"]["seed"])

    # The same over a real socket, read as a stream.
    second = dataset["attachments"][1]
    with serve_in_thread(sim.app) as base, httpx.Client(base_url=f"{base}/v2", headers=AUTH) as client:
        url = f"/testexecutions/{second['ownerKey']}/attachments/{second['id']}"
        with client.stream("GET", url) as response:
            assert response.headers["content-length"] == str(size)
            streamed = hashlib.sha256()
            for chunk in response.iter_bytes():
                streamed.update(chunk)
    assert streamed.hexdigest() == generated_content_sha256(size, second["generated"]["seed"])


# -- generation ------------------------------------------------------------------------------------------


def test_same_seed_same_attachments_and_the_rest_of_the_dataset_does_not_change() -> None:
    with_them = generate_dataset(30, seed=8)
    assert json.dumps(with_them) == json.dumps(generate_dataset(30, seed=8))
    assert with_them["attachments"] != generate_dataset(30, seed=9)["attachments"]
    without = generate_dataset(30, seed=8, attachments=False)
    assert "attachments" not in without
    rest = {k: v for k, v in with_them.items() if k != "attachments"}
    assert json.dumps(rest) == json.dumps(without)
    large = generate_dataset(30, seed=8, large_attachments=2, large_attachment_size=10)
    assert large["attachments"][: len(with_them["attachments"])] == with_them["attachments"]
    assert {k: v for k, v in large.items() if k != "attachments"} == rest


def test_every_owner_kind_gets_about_its_share() -> None:
    dataset = generate_dataset(400, seed=2)
    owners: dict[str, set[tuple[str, int | None]]] = {}
    for entry in dataset["attachments"]:
        owners.setdefault(entry["owner"], set()).add((entry["ownerKey"], entry.get("stepIndex")))
    population = {
        "testcase": len(dataset["testcases"]),
        "teststep": sum(map(len, dataset["teststeps"].values())),
        "testcycle": len(dataset["testcycles"]),
        "testplan": len(dataset["testplans"]),
        "testexecution": len(dataset["testexecutions"]),
        "executionstep": sum(map(len, dataset["executionsteps"].values())),
    }
    shares = {"testcase": 0.2, "teststep": 0.1, "testcycle": 0.3, "testplan": 0.3, "testexecution": 0.2}
    shares["executionstep"] = 0.1
    for kind, share in shares.items():
        seen = len(owners[kind]) / population[kind]
        slack = 0.06 if population[kind] > 200 else 0.25
        assert abs(seen - share) <= slack, (kind, seen)


def test_generated_files_cover_the_cases_a_migration_meets(data: dict[str, Any]) -> None:
    entries = data["attachments"]
    types = Counter(e["contentType"] for e in entries)
    assert {"image/png", "application/pdf", "text/plain", "application/zip"} <= set(types)
    for entry in entries:
        content = base64.b64decode(entry["content"])
        assert content.startswith(MAGIC.get(entry["contentType"], b""))
        assert len(content) <= 8 * 1024
    assert any(e["content"] == "" for e in entries), "a 0-byte file"
    names = [e["name"] for e in entries]
    assert "résumé 测试 ✓.txt" in names
    assert any(240 <= len(n) <= 255 for n in names)
    by_content = Counter(e["content"] for e in entries)
    shared = max(by_content, key=lambda c: by_content[c])
    assert len({e["owner"] for e in entries if e["content"] == shared}) >= 2, "same content on several kinds"
    per_owner = Counter((e["owner"], e["ownerKey"], e.get("stepIndex"), e["name"]) for e in entries)
    assert max(per_owner.values()) >= 2, "the same name twice on one entity"
    assert len({e["id"] for e in entries}) == len(entries)


def test_large_attachment_arguments_are_checked() -> None:
    with pytest.raises(InputError):
        generate_dataset(3, large_attachments=-1)
    with pytest.raises(InputError):
        generate_dataset(3, large_attachments=1, large_attachment_size=-5)
    assert generate_dataset(0, large_attachments=2)["attachments"] == []
    sim = ZephyrSimulator.generated(
        5, seed=1, attachments=False, large_attachments=1, large_attachment_size=9
    )
    assert [a.size for a in sim.state.attachments.by_id.values()] == [9]


# -- the dataset format ------------------------------------------------------------------------------------


def test_a_dataset_round_trips_through_json_and_serves_every_attachment(data: dict[str, Any]) -> None:
    sim = ZephyrSimulator(json.loads(json.dumps(data)))
    assert len(sim.state.attachments) == len(data["attachments"])
    assert not sim.state.attachments.skipped
    for entry in data["attachments"]:
        stored = sim.state.attachments.by_id[entry["id"]]
        assert (stored.name, stored.content_type) == (entry["name"], entry["contentType"])
        assert b"".join(stored.chunks()) == base64.b64decode(entry["content"])
    execution_step = next(e for e in data["attachments"] if e["owner"] == "executionstep")
    steps = get(sim, f"/testexecutions/{execution_step['ownerKey']}/teststeps?maxResults=100").json()[
        "values"
    ]
    step_id = steps[execution_step["stepIndex"]]["id"]
    path = (
        f"/testexecutions/{execution_step['ownerKey']}/teststeps/{step_id}/attachments/{execution_step['id']}"
    )
    assert get(sim, path).content == base64.b64decode(execution_step["content"])


def _minimal(attachments: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "projects": [{"id": 1, "key": "MIN"}],
        "testcases": [{"id": 10, "key": "MIN-T1", "project": {"id": 1}}],
        "teststeps": {
            "MIN-T1": [{"id": 77, "inline": {"description": "a"}}, {"inline": {"description": "b"}}]
        },
        "testexecutions": [{"id": 30, "project": {"id": 1}, "testCase": {"id": 10}}],
        "executionsteps": {"30": [{"inline": {"description": "a"}}]},
        "attachments": attachments,
    }


def test_hand_written_entries_name_steps_by_id_or_index_and_may_be_generated() -> None:
    text = base64.b64encode(b"hello").decode()
    sim = ZephyrSimulator(
        _minimal(
            [
                {
                    "id": 1,
                    "owner": "teststep",
                    "ownerKey": "MIN-T1",
                    "stepId": 77,
                    "name": "a.txt",
                    "content": text,
                },
                {
                    "id": 2,
                    "owner": "teststep",
                    "ownerKey": "MIN-T1",
                    "stepIndex": 1,
                    "name": "b.txt",
                    "content": text,
                },
                {
                    "id": 3,
                    "owner": "executionstep",
                    "ownerKey": 30,
                    "stepIndex": 0,
                    "name": "big.bin",
                    "generated": {"size": 70_000, "seed": 4},
                },
                {"id": 4, "owner": "testcase", "ownerKey": "MIN-T404", "name": "gone.txt", "content": text},
            ]
        )
    )
    assert get(sim, "/testcases/MIN-T1/teststeps/77/attachments").json() == {
        "attachments": [{"id": 1, "name": "a.txt"}]
    }
    second = get(sim, "/testcases/MIN-T1/teststeps").json()["values"][1]["id"]
    assert get(sim, f"/testcases/MIN-T1/teststeps/{second}/attachments/2").content == b"hello"
    assert get(sim, "/testcases/MIN-T1/attachments/1").status_code == 404  # a step's, not the case's
    run_step = get(sim, "/testexecutions/30/teststeps").json()["values"][0]["id"]
    big = get(sim, f"/testexecutions/30/teststeps/{run_step}/attachments/3")
    assert big.headers["content-type"] == "application/octet-stream"
    assert big.content == generated_content_bytes(70_000, 4)
    assert len(sim.state.attachments.skipped) == 1, "an entry whose owner is not there is left out"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"id": 0}, "positive integer 'id'"),
        ({"owner": "folder"}, "'owner' must be one of"),
        ({"ownerKey": ""}, "ownerKey"),
        ({"name": "a/b.txt"}, "'/'"),
        ({"name": "x" * 256}, "1 to 255"),
        ({"contentType": "bild/png ✓"}, "contentType"),
        ({"content": "not base64!"}, "base64"),
        ({"generated": {"size": 5, "seed": 1}}, "exactly one of"),
        ({"content": None, "generated": {"size": -1}}, "generated.size"),
        ({"owner": "teststep"}, "stepId"),
    ],
)
def test_malformed_entries_are_refused(change: dict[str, Any], fragment: str) -> None:
    entry = {"id": 1, "owner": "testcase", "ownerKey": "MIN-T1", "name": "a.txt", "content": "aGk="}
    entry.update(change)
    entry = {k: v for k, v in entry.items() if v is not None}
    with pytest.raises(InputError, match=fragment.replace("(", r"\(")):
        ZephyrSimulator(_minimal([entry]))


def test_duplicate_ids_and_a_non_list_section_are_refused() -> None:
    entry = {"id": 1, "owner": "testcase", "ownerKey": "MIN-T1", "name": "a.txt", "content": "aGk="}
    with pytest.raises(InputError, match="used twice"):
        ZephyrSimulator(_minimal([entry, copy.deepcopy(entry)]))
    with pytest.raises(InputError, match="list of objects"):
        ZephyrSimulator({**_minimal([]), "attachments": {"1": entry}})


def test_an_edited_generated_dataset_still_loads(data: dict[str, Any]) -> None:
    edited = copy.deepcopy(data)
    for key in list(edited["executionsteps"]):
        edited["executionsteps"][key] = []
    edited["teststeps"].pop("DEMO-T1")
    sim = ZephyrSimulator(edited)
    kept = [
        e
        for e in data["attachments"]
        if e["owner"] != "executionstep" and not (e["owner"] == "teststep" and e["ownerKey"] == "DEMO-T1")
    ]
    assert sorted(sim.state.attachments.by_id) == [e["id"] for e in kept]
    assert len(sim.state.attachments.skipped) == len(data["attachments"]) - len(kept)


# -- the command line --------------------------------------------------------------------------------------


def test_simulate_zephyr_passes_the_attachment_options(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ztoq.cli.simulate import app

    created: list[ZephyrSimulator] = []

    class Recorded(ZephyrSimulator):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr("ztoq.simulators.zephyr.ZephyrSimulator", Recorded)
    monkeypatch.setattr("ztoq.serving.serve_forever", lambda app, host, port: None)
    runner = CliRunner()
    result = runner.invoke(app, ["zephyr", "--generate", "5", "--no-attachments", "--large-attachments", "2"])
    assert result.exit_code == 0, result.output
    large = list(created[0].state.attachments.by_id.values())
    assert [(a.is_generated, a.size) for a in large] == [(True, 51 * 1024 * 1024)] * 2
    assert created[0].state.attachments_available
    result = runner.invoke(app, ["zephyr", "--generate", "5", "--attachments-unavailable"])
    assert result.exit_code == 0, result.output
    assert not created[1].state.attachments_available
    assert len(created[1].state.attachments) > 2
