"""Validation reads attachments with the search, a hundred objects of a type at a time."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from ztoq.pipeline.validate_attachments import SEARCH_IDS, read_attachments
from ztoq.qtest import QTestClient
from ztoq.qtest.models import Attachment


class FakeClient:
    """Holds attachments per (object type, object id); counts the calls."""

    def __init__(self, held: dict[tuple[str, int], list[int]]) -> None:
        self.held = held
        self.searches: list[tuple[str, int]] = []
        self.lists: list[tuple[str, int]] = []

    async def search_attachments(self, object_type: str, ids: list[int]) -> list[Attachment]:
        self.searches.append((object_type, len(ids)))
        return [
            Attachment(id=a, name=f"f{a}", artifact_id=i)
            for i in ids
            for a in self.held.get((object_type, i), [])
        ]

    async def list_attachments(self, object_type: str, object_id: int) -> list[Attachment]:
        self.lists.append((object_type, object_id))
        return [Attachment(id=a, name=f"f{a}") for a in self.held.get((object_type, object_id), [])]

    async def attachment_size(self, object_type: str, object_id: int, attachment_id: int) -> int:
        return attachment_id * 10


def test_searchable_objects_are_read_in_searches_and_step_logs_one_by_one() -> None:
    held: dict[tuple[str, int], list[int]] = {("test-cases", i): [i * 100] for i in range(1, SEARCH_IDS + 6)}
    held[("test-step-logs", 7)] = [70, 71]
    places = frozenset(
        [f"test-cases/{i}" for i in range(1, SEARCH_IDS + 6)]
        + ["test-cases/9999", "test-step-logs/7", "test-logs/5"]
    )
    client = FakeClient(held)
    read: dict[str, Any] = asyncio.run(read_attachments(cast(QTestClient, client), places, deep=False))
    assert sorted(client.searches) == [("test-cases", 6), ("test-cases", SEARCH_IDS), ("test-logs", 1)]
    assert client.lists == [("test-step-logs", 7)]
    assert set(read) == places
    assert [(s.id, s.size) for s in read["test-cases/3"]] == [(300, 3000)]
    assert read["test-cases/9999"] == ()
    assert read["test-logs/5"] == ()
    assert [s.id for s in read["test-step-logs/7"]] == [70, 71]
