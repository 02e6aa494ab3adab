"""Validation of attachments: read back what qTest holds on each object ztoq uploaded to (I/O only).

For every qTest object ztoq put an attachment on, the object's attachments are listed once; the
size of each is read from its download (the list does not carry it; qTest's ``Content-Length``
answers it without reading the file). With ``--deep`` (or ``migration.verify_attachment_content``)
every attachment is downloaded back, streamed through SHA-256, never held in memory.
"""

from __future__ import annotations

import asyncio
import hashlib

import httpx

from ztoq.errors import NotFound
from ztoq.pipeline.load_attachments import parse_placement
from ztoq.pipeline.validate_types import AttachmentSnapshot
from ztoq.qtest import QTestClient


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


async def read_attachments(
    client: QTestClient, places: frozenset[str], *, deep: bool
) -> dict[str, tuple[AttachmentSnapshot, ...]]:
    """The attachments of each object in ``places`` (an object qTest no longer has holds none).

    Every object is read at once; the client's session keeps ``performance.max_workers``
    requests in flight at most.
    """
    ordered = sorted(places)
    found = await asyncio.gather(*(_read_place(client, place, deep) for place in ordered))
    return dict(zip(ordered, found, strict=True))
