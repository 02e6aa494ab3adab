"""Validation reads attachments with the project-wide search a page at a time, step logs one by one,
and the size of each planned file found where it was uploaded, once."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, cast

import httpx
import pytest

from ztoq.errors import NotFound
from ztoq.pipeline import validate_attachments
from ztoq.pipeline.validate_attachments import list_places, read_held, search_pages
from ztoq.pipeline.validate_types import ExpectedProject
from ztoq.plan import PlannedEntity
from ztoq.qtest import QTestClient
from ztoq.qtest.models import Attachment
from ztoq.store.repo_validate import AttachmentRead

#: The search's page size in these tests.
PAGE = 3


class FakeSession:
    """Answers the attachment search from ``held``: (object type, object id) -> attachment ids."""

    def __init__(self, held: dict[tuple[str, int], list[int]]) -> None:
        self.held = held
        self.asked: list[dict[str, Any]] = []

    async def get_json(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        assert path == "/p/attachments"
        self.asked.append(params)
        found = [
            {"id": a, "name": f"f{a}", "artifact_id": i}
            for (t, i), ids in sorted(self.held.items())
            if t == params["type"]
            for a in ids
        ]
        page, size = params["page"], params["pageSize"]
        items = found[(page - 1) * size : page * size]
        return {"page": page, "page_size": size, "total": len(found), "items": items}


class FakeClient:
    """Holds attachments per (object type, object id); counts the lists and size reads."""

    base = "/p"

    def __init__(self, held: dict[tuple[str, int], list[int]]) -> None:
        self.session = FakeSession(held)
        self.held = held
        self.lists: list[tuple[str, int]] = []
        self.sizes: list[tuple[str, int, int]] = []
        self.downloads: list[tuple[str, int, int]] = []

    async def list_attachments(self, object_type: str, object_id: int) -> list[Attachment]:
        self.lists.append((object_type, object_id))
        if (object_type, object_id) not in self.held:
            raise NotFound(f"No {object_type} {object_id}.")
        return [Attachment(id=a, name=f"f{a}") for a in self.held[(object_type, object_id)]]

    async def attachment_size(self, object_type: str, object_id: int, attachment_id: int) -> int:
        self.sizes.append((object_type, object_id, attachment_id))
        return attachment_id * 10

    async def download_attachment(
        self, object_type: str, object_id: int, attachment_id: int, consume: Any
    ) -> None:
        self.downloads.append((object_type, object_id, attachment_id))
        for _attempt in range(2):  # a dropped connection: the consumer starts over
            await consume(httpx.Response(200, content=b"file %d" % attachment_id))


async def _pages(client: FakeClient, object_type: str) -> list[list[tuple[str, Attachment]]]:
    return [page async for page in search_pages(cast(QTestClient, client), object_type)]


@pytest.mark.parametrize(("files", "requests"), [(7, 3), (6, 2), (0, 1)])
def test_the_search_reads_the_whole_project_a_page_at_a_time(
    monkeypatch: pytest.MonkeyPatch, files: int, requests: int
) -> None:
    monkeypatch.setattr(validate_attachments, "QTEST_MAX_PAGE_SIZE", PAGE)
    held = {("test-cases", i): [i * 100] for i in range(1, files + 1)}
    held[("test-logs", 1)] = [5]
    client = FakeClient(held)
    pages = asyncio.run(_pages(client, "test-cases"))
    assert len(client.session.asked) == requests, "a full last page that reaches the total ends it"
    assert all(asked["type"] == "test-cases" and "ids" not in asked for asked in client.session.asked)
    read = [(place, a.id) for page in pages for place, a in page]
    assert read == [(f"test-cases/{i}", i * 100) for i in range(1, files + 1)]


def test_step_logs_are_listed_one_by_one_and_a_gone_object_holds_none() -> None:
    client = FakeClient({("test-step-logs", 7): [70, 71]})
    places = ["test-step-logs/7", "test-step-logs/8"]
    listed = asyncio.run(list_places(cast(QTestClient, client), places))
    assert sorted(client.lists) == [("test-step-logs", 7), ("test-step-logs", 8)]
    assert [(place, a.id) for place, a in listed] == [("test-step-logs/7", 70), ("test-step-logs/7", 71)]


def test_only_planned_files_found_where_they_were_uploaded_are_measured() -> None:
    planned = [PlannedEntity("attachment", key, body={"name": key}) for key in ("A1", "A2", "A3", "A4")]
    expected = ExpectedProject(
        planned={"attachment": planned},
        target_ids={"attachment": {"A1": 100, "A2": 200, "A3": 300}},  # A4 was never uploaded
        attachment_places={"A1": "test-cases/1", "A2": "test-cases/2", "A3": "test-cases/3"},
    )
    listed = {
        100: ("test-cases/1", Attachment(id=100, name="A1")),
        200: ("test-cases/9", Attachment(id=200, name="A2")),  # on another object than planned
        900: ("test-cases/1", Attachment(id=900, name="other")),  # not ztoq's
    }  # 300 is not in qTest
    client = FakeClient({})
    held = asyncio.run(read_held(cast(QTestClient, client), [expected], listed, deep=False))
    assert client.sizes == [("test-cases", 1, 100)]
    assert {place: [(s.id, s.name, s.size) for s in found] for place, found in held.items()} == {
        "test-cases/1": [(100, "A1", 1000)]
    }


def test_a_deep_read_downloads_each_file_once_and_hashes_it() -> None:
    expected = ExpectedProject(
        planned={"attachment": [PlannedEntity("attachment", "A1", body={"name": "A1"})]},
        target_ids={"attachment": {"A1": 100}},
        attachment_places={"A1": "test-logs/4"},
    )
    listed = {100: ("test-logs/4", Attachment(id=100, name="A1"))}
    client = FakeClient({})
    held = asyncio.run(read_held(cast(QTestClient, client), [expected], listed, deep=True))
    assert (client.downloads, client.sizes) == ([("test-logs", 4, 100)], [])
    content = b"file 100"
    assert [(s.size, s.sha256) for s in held["test-logs/4"]] == [
        (len(content), hashlib.sha256(content).hexdigest())
    ]


def test_a_file_a_round_read_at_that_id_and_place_is_not_read_again() -> None:
    planned = [PlannedEntity("attachment", key, body={"name": key}) for key in ("A1", "A2", "A3", "A4")]
    places = {"A1": "test-cases/1", "A2": "test-cases/2", "A3": "test-cases/3", "A4": "test-cases/4"}
    expected = ExpectedProject(
        planned={"attachment": planned},
        target_ids={"attachment": {"A1": 100, "A2": 201, "A3": 300, "A4": 400}},
        attachment_places=places,
    )
    listed = {i: (places[f"A{i // 100}"], Attachment(id=i, name=f"n{i}")) for i in (100, 201, 300, 400)}
    known = {
        100: AttachmentRead(100, "A1", "test-cases/1", 7, None),  # read by a round: kept
        200: AttachmentRead(200, "A2", "test-cases/2", 8, None),  # A2 was uploaded again (now 201)
        300: AttachmentRead(300, "A3", "test-cases/9", 9, None),  # read on another object
        400: AttachmentRead(400, "A4", "test-cases/4", 9, "c0ffee"),  # read deeper than asked
    }
    client = FakeClient({})
    held = asyncio.run(read_held(cast(QTestClient, client), [expected], listed, deep=False, known=known))
    assert sorted(client.sizes) == [("test-cases", 2, 201), ("test-cases", 3, 300), ("test-cases", 4, 400)]
    found = {s.id: (s.name, s.size, s.sha256) for snapshots in held.values() for s in snapshots}
    assert found == {
        100: ("n100", 7, None),
        201: ("n201", 2010, None),
        300: ("n300", 3000, None),
        400: ("n400", 4000, None),
    }


def test_a_deep_validation_takes_a_round_s_deep_read_and_reads_a_size_only_one_again() -> None:
    planned = [PlannedEntity("attachment", key, body={"name": key}) for key in ("A1", "A2")]
    places = {"A1": "test-logs/1", "A2": "test-logs/2"}
    expected = ExpectedProject(
        planned={"attachment": planned},
        target_ids={"attachment": {"A1": 100, "A2": 200}},
        attachment_places=places,
    )
    listed = {100: ("test-logs/1", Attachment(id=100, name="A1")), 200: ("test-logs/2", Attachment(id=200))}
    known = {
        100: AttachmentRead(100, "A1", "test-logs/1", 7, "c0ffee"),
        200: AttachmentRead(200, "A2", "test-logs/2", 8, None),
    }
    client = FakeClient({})
    held = asyncio.run(read_held(cast(QTestClient, client), [expected], listed, deep=True, known=known))
    assert (client.downloads, client.sizes) == ([("test-logs", 2, 200)], [])
    assert [(s.size, s.sha256) for s in held["test-logs/1"]] == [(7, "c0ffee")]
    assert [s.sha256 for s in held["test-logs/2"]] == [hashlib.sha256(b"file 200").hexdigest()]
