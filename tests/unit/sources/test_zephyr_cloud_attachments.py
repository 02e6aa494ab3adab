"""Zephyr Cloud attachments: the path table, the probe of a tenant without the operations, inline images."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ztoq.http import ApiSession
from ztoq.sources.base import AttachmentOwner, AttachmentsUnavailable, RowsInMemory
from ztoq.sources.records import inline_image_id
from ztoq.sources.zephyr_cloud.attachments import ATTACHMENT_PATHS, ZephyrCloudAttachments, list_path

BASE = "https://api.zephyrscale.smartbear.com/v2"


async def _no_sleep(_: float) -> None:
    return None


def _reader(answers: list[httpx.Response]) -> tuple[ZephyrCloudAttachments, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return answers.pop(0) if len(answers) > 1 else answers[0]

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    session = ApiSession(client, api_name="Zephyr", base_url=BASE, sleep=_no_sleep, owns_client=True)
    return ZephyrCloudAttachments(session), seen


def _listed(*items: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"attachments": list(items)})


def test_every_owner_kind_has_one_path_template() -> None:
    assert set(ATTACHMENT_PATHS) == {
        "test_case",
        "test_step",
        "test_plan",
        "test_cycle",
        "test_execution",
        "execution_step",
    }
    assert list_path("test_step", "P-T1", 7) == "/testcases/P-T1/teststeps/7/attachments"
    assert list_path("test_case", "a/b") == "/testcases/a%2Fb/attachments"


class _CountingRows(RowsInMemory):
    """Rows that record which execution batches were read, and refuse reading every step result."""

    def __init__(self, rows: dict[str, list[tuple[str, Any]]]) -> None:
        super().__init__(rows, batch_size=1)
        self.batches_read = 0

    def batches(self, entity_type: str) -> Any:
        for batch in super().batches(entity_type):
            self.batches_read += entity_type == "test_execution"
            yield batch

    def payloads(self, entity_type: str) -> Any:
        assert entity_type != "execution_steps", "every execution's step results read at once"
        return super().payloads(entity_type)


def test_owners_of_executions_come_a_batch_at_a_time_with_their_steps() -> None:
    reader, _ = _reader([_listed()])
    rows = _CountingRows(
        {
            "test_execution": [("P-E1", {"id": 1001, "key": "P-E1"}), ("P-E2", {"key": "P-E2"})],
            "execution_steps": [("P-E1", [{"id": 77}, {"id": 78}]), ("P-E2", [{"id": 79}])],
        }
    )
    owners = reader.owners(rows)
    first = [next(owners) for _ in range(3)]
    # The first execution and its steps come before the second batch is read.
    assert rows.batches_read == 1
    rest = list(owners)
    assert [(o.owner_type, o.owner_key, o.step_index, o.address, o.parent_address) for o in first + rest] == [
        ("test_execution", "P-E1", None, "1001", ""),
        ("execution_step", "P-E1", 0, "77", "1001"),
        ("execution_step", "P-E1", 1, "78", "1001"),
        ("test_execution", "P-E2", None, "P-E2", ""),
        ("execution_step", "P-E2", 0, "79", "P-E2"),
    ]


def test_a_list_gives_keyed_attachments_with_their_download_path() -> None:
    reader, seen = _reader([_listed({"id": 5, "name": "shot.png"})])
    owner = AttachmentOwner("execution_step", "P-E1", 2, "77", "1001")
    [found] = asyncio.run(reader.list(owner))
    assert seen == ["/v2/testexecutions/1001/teststeps/77/attachments"]
    assert (found.source_key, found.content_type) == ("execution_step/P-E1/2/5", "image/png")
    assert found.locator == "/testexecutions/1001/teststeps/77/attachments/5"


def test_404_means_none() -> None:
    reader, _ = _reader([httpx.Response(404, json={"errorCode": 404, "message": "none"})])
    assert asyncio.run(reader.list(AttachmentOwner("test_case", "P-T1", address="P-T1"))) == []
    assert reader.confirmed


def test_a_tenant_answering_503_to_every_list_is_detected_without_retrying_each_in_full() -> None:
    reader, seen = _reader([httpx.Response(503, json={"errorCode": 503, "message": "backend"})])
    with pytest.raises(AttachmentsUnavailable):
        asyncio.run(reader.list(AttachmentOwner("test_case", "P-T1", address="P-T1")))
    assert len(seen) == 9  # three tries of three attempts, then it is said once


def test_a_chance_503_is_retried_and_the_operations_are_confirmed() -> None:
    busy = httpx.Response(503, json={"errorCode": 503, "message": "busy"})
    reader, seen = _reader([busy, busy, busy, _listed({"id": 1, "name": "a.txt"})])
    assert len(asyncio.run(reader.list(AttachmentOwner("test_case", "P-T1", address="P-T1")))) == 1
    assert reader.confirmed
    assert len(seen) == 4


class _Rows:
    def __init__(self, rows: dict[str, list[tuple[str, Any]]]) -> None:
        self.rows = rows

    def payloads(self, entity_type: str) -> Any:
        return iter(self.rows.get(entity_type, []))


def test_only_images_under_the_api_base_url_are_fetched_with_the_token() -> None:
    reader, _ = _reader([_listed()])
    own = f"{BASE}/attachments/embedded/9/shot%201.png"
    rows = _Rows(
        {
            "test_case": [
                ("P-T1", {"objective": f'<img src="{own}"> <img src="https://cdn.example/x.png">'})
            ],
            "execution_steps": [("P-E1", [{"actualResult": f'<img src="{own}">'}])],
        }
    )
    found = list(reader.inline_images(rows))
    assert [(f.owner_type, f.owner_key, f.name) for f in found] == [
        ("test_case", "P-T1", "shot 1.png"),
        ("test_execution", "P-E1", "shot 1.png"),
    ]
    assert found[0].source_id == inline_image_id(own)
    assert found[0].locator == "/attachments/embedded/9/shot%201.png"
    # Asked for some owner kinds only (extract asks for the test cases' first, the rest later).
    only = [(f.owner_type, f.owner_key) for f in reader.inline_images(rows, ("test_execution",))]
    assert only == [("test_execution", "P-E1")]
