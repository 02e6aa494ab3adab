"""Validation of attachments: read back what qTest holds on each object ztoq uploaded to (I/O only).

For every qTest object ztoq put an attachment on, the object's attachments are listed once; the
size of each is read from its download (the list does not carry it; qTest's ``Content-Length``
answers it without reading the file). With ``--deep`` (or ``migration.verify_attachment_content``)
every attachment is downloaded back, streamed through SHA-256, never held in memory.
"""

from __future__ import annotations

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


async def read_attachments(
    client: QTestClient, places: frozenset[str], *, deep: bool
) -> dict[str, tuple[AttachmentSnapshot, ...]]:
    """The attachments of each object in ``places`` (an object qTest no longer has holds none)."""
    found: dict[str, tuple[AttachmentSnapshot, ...]] = {}
    for place in sorted(places):
        where = parse_placement(place)
        if where is None:
            continue
        object_type, object_id = where
        try:
            listed = await client.list_attachments(object_type, object_id)
        except NotFound:
            found[place] = ()
            continue
        read = []
        for attachment in listed:
            if attachment.id is None:
                continue
            sha256: str | None = None
            if deep:
                sha256, size = await _sha256(client, object_type, object_id, attachment.id)
            else:
                size = await client.attachment_size(object_type, object_id, attachment.id)
            read.append(AttachmentSnapshot(attachment.id, attachment.name, size, sha256))
        found[place] = tuple(read)
    return found
