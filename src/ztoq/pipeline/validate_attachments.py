"""Validation of attachments: read back what qTest holds on each object ztoq uploaded to (I/O only).

For every qTest object ztoq put an attachment on, the object's attachments are read once (with the
attachment search, a hundred objects of a type at a time, or listed for test step logs); the
size of each is read from its download (the list does not carry it; qTest's ``Content-Length``
answers it without reading the file). With ``--deep`` (or ``migration.verify_attachment_content``)
every attachment is downloaded back, streamed through SHA-256, never held in memory.
"""

from __future__ import annotations

import asyncio
import hashlib

import httpx

from ztoq.errors import NotFound
from ztoq.pipeline.load_attachments import parse_placement, placement
from ztoq.pipeline.validate_types import AttachmentSnapshot
from ztoq.qtest import QTestClient
from ztoq.qtest.attachments import SEARCHABLE_ATTACHMENT_TYPES
from ztoq.qtest.models import Attachment

#: How many objects one attachment search names (their ids go in the query string).
SEARCH_IDS = 100


async def _sha256(
    client: QTestClient, object_type: str, object_id: int, attachment_id: int
) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0

    async def consume(response: httpx.Response) -> None:
        nonlocal digest, size
        digest, size = hashlib.sha256(), 0  # a retried download starts over
        async for chunk in response.aiter_bytes():
            digest.update(chunk)
            size += len(chunk)

    await client.download_attachment(object_type, object_id, attachment_id, consume)
    return digest.hexdigest(), size


async def _read_one(
    client: QTestClient, object_type: str, object_id: int, attachment_id: int, name: str | None, deep: bool
) -> AttachmentSnapshot:
    if deep:
        sha256, size = await _sha256(client, object_type, object_id, attachment_id)
        return AttachmentSnapshot(attachment_id, name, size, sha256)
    return AttachmentSnapshot(
        attachment_id, name, await client.attachment_size(object_type, object_id, attachment_id)
    )


async def _read_place(client: QTestClient, place: str, deep: bool) -> tuple[AttachmentSnapshot, ...]:
    where = parse_placement(place)
    if where is None:
        return ()
    object_type, object_id = where
    try:
        listed = await client.list_attachments(object_type, object_id)
    except NotFound:
        return ()  # the object is gone: its attachments are missing
    reads = (
        _read_one(client, object_type, object_id, a.id, a.name, deep) for a in listed if a.id is not None
    )
    return tuple(await asyncio.gather(*reads))


async def _search_places(
    client: QTestClient, object_type: str, object_ids: list[int], deep: bool
) -> dict[int, tuple[AttachmentSnapshot, ...]]:
    """The attachments of objects of one searchable type, from one search (a page of 999 or more)."""
    listed = await client.search_attachments(object_type, object_ids)
    by_object: dict[int, list[Attachment]] = {}
    for attachment in listed:
        if attachment.id is not None and attachment.artifact_id is not None:
            by_object.setdefault(int(attachment.artifact_id), []).append(attachment)

    async def read(object_id: int) -> tuple[AttachmentSnapshot, ...]:
        held = by_object.get(object_id, [])
        reads = (_read_one(client, object_type, object_id, int(a.id or 0), a.name, deep) for a in held)
        return tuple(await asyncio.gather(*reads))

    found = await asyncio.gather(*(read(object_id) for object_id in object_ids))
    return dict(zip(object_ids, found, strict=True))


async def read_attachments(
    client: QTestClient, places: frozenset[str], *, deep: bool
) -> dict[str, tuple[AttachmentSnapshot, ...]]:
    """The attachments of each object in ``places`` (an object qTest no longer has holds none).

    Objects of a type the attachment search takes are read :data:`SEARCH_IDS` at a time with one
    search each; the others (test step logs) are listed one by one. Everything is asked at once;
    the client's session keeps ``performance.max_workers`` requests in flight at most.
    """
    ordered = sorted(places)
    searched: dict[str, list[int]] = {}
    one_by_one: list[str] = []
    for place in ordered:
        where = parse_placement(place)
        if where is not None and where[0] in SEARCHABLE_ATTACHMENT_TYPES:
            searched.setdefault(where[0], []).append(where[1])
        else:
            one_by_one.append(place)
    chunks = [
        (object_type, ids[start : start + SEARCH_IDS])
        for object_type, ids in searched.items()
        for start in range(0, len(ids), SEARCH_IDS)
    ]
    found, listed = await asyncio.gather(
        asyncio.gather(*(_search_places(client, t, ids, deep) for t, ids in chunks)),
        asyncio.gather(*(_read_place(client, place, deep) for place in one_by_one)),
    )
    read: dict[str, tuple[AttachmentSnapshot, ...]] = dict(zip(one_by_one, listed, strict=True))
    for (object_type, _ids), snapshots in zip(chunks, found, strict=True):
        for object_id, held in snapshots.items():
            read[placement(object_type, object_id)] = held
    return {place: read.get(place, ()) for place in ordered}
