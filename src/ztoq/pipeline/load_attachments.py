"""How attachments are uploaded to qTest, found again after a crash, replaced and deleted.

An attachment is uploaded with ``POST .../{objectType}/{objectId}/blob-handles``, its bytes
streamed from the local cache (never held in memory). Its planned parent is the qTest object it
lands on; a step's attachment names its step by position (``step``) and is resolved here: the
test step of the test case's current (approved) version, or the test step log of the test log
(read from its test run, ``run``). Where it landed is recorded as its placement
(``"test-cases/12"``): qTest deletes an attachment through its object.

After a crash between the upload and its recording, the object's attachments are listed and one
with the same name and the same size (as qTest serves it) is adopted instead of uploading again.
An attachment already adopted or uploaded for another Zephyr attachment is never adopted twice
(two files of the same name and size on one object stay two).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from functools import partial

from ztoq.errors import FatalApiError, NotFound
from ztoq.mapping.steps import parse_step_ref
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.load_listings import Listings
from ztoq.pipeline.load_types import (
    AttachmentPlaces,
    IdSet,
    KeySet,
    KnownIds,
    Loaded,
    LoaderFactory,
    LoaderInputs,
    read_step_ids,
    read_step_log_ids,
)
from ztoq.plan import PlannedEntity, parse_ref
from ztoq.qtest import QTestClient
from ztoq.qtest.models import Attachment
from ztoq.store import FileCache, Repository

#: Bytes read from the cache per piece of an upload (memory per upload in flight stays this small).
UPLOAD_CHUNK = 256 * 1024
#: The qTest object type of a test step log (an attachment on a step result).
STEP_LOGS = "test-step-logs"
#: The kind the attachments a run claimed are kept under in its :class:`IdSet`.
_CLAIMED = "attachment"


def placement(object_type: str, object_id: int) -> str:
    """How the object an attachment is on is recorded: ``"test-cases/12"``."""
    return f"{object_type}/{object_id}"


def parse_placement(value: str | None) -> tuple[str, int] | None:
    """``(object_type, object_id)`` of a recorded placement, or None."""
    object_type, _, ident = (value or "").partition("/")
    return (object_type, int(ident)) if object_type and ident.isdigit() else None


def step_log_owners(repo: Repository, project_key: str) -> KeySet:
    """The Zephyr keys of the test logs whose step logs receive attachments: those with a planned
    attachment on a step log, and the executions extract found files on the steps of (before
    transform plans those files: when test logs load while the other attachments are still being
    listed).

    The test log loader keeps their step log ids from its create answers (and only theirs, so
    memory grows with such attachments, not with the test logs). A key sharing a digest with an
    owner's only keeps step log ids that are not needed.
    """
    owners = KeySet()
    for record in repo.iter_planned(project_key, "attachment"):
        extra = record.payload.get("extra") if isinstance(record.payload, Mapping) else None
        if isinstance(extra, Mapping) and extra.get("parent_type") == STEP_LOGS:
            target = parse_ref(extra.get("parent_id"))
            if target is not None and target[0] == "test_log":
                owners.add(target[1])
    for key in repo.attachment_owner_keys(project_key, "execution_step"):
        owners.add(key)
    return owners


class AttachmentLoader:
    """Zephyr attachments as qTest attachments (blob handles)."""

    def __init__(
        self,
        cache: FileCache | None,
        places: AttachmentPlaces,
        case_steps: KnownIds | None = None,
        step_logs: KnownIds | None = None,
    ) -> None:
        """Upload from ``cache``; ``places`` knows where each attachment already in qTest is.

        ``case_steps`` and ``step_logs`` are the step ids and step log ids the test case and test
        log loaders kept from their answers (what they do not hold is read once per object).
        """
        self.cache = cache
        self.places = places
        #: qTest attachments this run uploaded or adopted (8 bytes each), with those ``places``
        #: knows: they already stand for a Zephyr attachment and are never adopted again.
        self.claimed = IdSet()
        self.case_steps = case_steps if case_steps is not None else KnownIds()
        self.step_logs = step_logs if step_logs is not None else KnownIds()

    async def _object(self, client: QTestClient, entity: PlannedEntity) -> tuple[str, int]:
        """The qTest object the attachment goes on (a step's id is looked up from its position)."""
        body, object_type, parent = entity.body or {}, str(entity.parent_type), int(entity.parent)
        if object_type == "test-steps":
            order = (parse_step_ref(body.get("step")) or ("", 0))[1]
            ids = await self.case_steps.get(parent, partial(read_step_ids, client, parent))
            return object_type, _at(ids, order, f"test case {parent} has no step {order}")
        if object_type == STEP_LOGS:
            order, run = int(body.get("step") or 0), int(body.get("run") or 0)
            ids = await self.step_logs.get(parent, partial(read_step_log_ids, client, run, parent))
            return object_type, _at(ids, order, f"test log {parent} has no step log {order}")
        return object_type, parent

    async def create(self, client: QTestClient, entity: PlannedEntity) -> Loaded:
        body = entity.body or {}
        object_type, object_id = await self._object(client, entity)
        sha256, size = str(body["sha256"]), int(body.get("size") or 0)
        cache = self.cache
        if cache is None or not cache.has(sha256):
            raise FatalApiError(
                f"The file of attachment {body.get('name')!r} is not in the attachment cache any more; "
                "run the extract phase again to download it.",
                api="qTest",
            )
        fault_point("load.attachment_before_upload")
        uploaded = await client.upload_attachment_file(
            object_type,
            object_id,
            str(body["name"]),
            str(body.get("content_type") or "application/octet-stream"),
            _file_source(cache, sha256, size),
            size,
        )
        fault_point("load.attachment_uploaded")
        return self._loaded(uploaded, object_type, object_id, size)

    def _loaded(self, attachment: Attachment, object_type: str, object_id: int, size: int) -> Loaded:
        if attachment.id is None:
            raise FatalApiError("qTest answered an attachment upload without an id.", api="qTest")
        where = placement(object_type, object_id)
        self.claimed.add((_CLAIMED, attachment.id))
        wire = {"name": attachment.name, "size": size}
        return Loaded(int(attachment.id), pid=where, web_url=attachment.web_url, wire=wire)

    async def update(self, client: QTestClient, target_id: int, entity: PlannedEntity) -> Loaded:
        """qTest cannot change an attachment: upload the new one, then delete the old one."""
        new = await self.create(client, entity)
        if target_id != new.target_id:
            with contextlib.suppress(NotFound):  # already gone
                await self.delete(client, target_id)
        return new

    async def candidates(self, entity: PlannedEntity, listings: Listings) -> list[Loaded]:
        body = entity.body or {}
        client = listings.client
        try:
            object_type, object_id = await self._object(client, entity)
        except FatalApiError:
            return []
        name, size = body.get("name"), int(body.get("size") or 0)
        found = []
        named = [
            (int(attachment.id), attachment)
            for attachment in await listings.attachments(object_type, object_id)
            if attachment.id is not None
            and attachment.name == name
            and (_CLAIMED, attachment.id) not in self.claimed
        ]
        taken = self.places.places_of([ident for ident, _attachment in named])
        for ident, attachment in named:
            if ident in taken or await client.attachment_size(object_type, object_id, ident) != size:
                continue
            found.append(self._loaded(attachment, object_type, object_id, size))
            break
        return found

    async def adopted(self, client: QTestClient, found: Loaded, entity: PlannedEntity) -> Loaded:
        return found

    async def delete(self, client: QTestClient, target_id: int, placement: str | None = None) -> None:
        where = parse_placement(placement or self.places.places_of([target_id]).get(target_id))
        if where is None:
            raise FatalApiError(
                f"ztoq does not know which qTest object attachment {target_id} is on; delete it in qTest.",
                api="qTest",
            )
        await client.delete_attachment(where[0], where[1], target_id)


def _file_source(cache: FileCache, sha256: str, size: int) -> Callable[[], AsyncIterator[bytes]]:
    """Opens a cached file for one upload attempt: a small one in a single read (one trip to a
    worker thread instead of three), a large one ``UPLOAD_CHUNK`` at a time."""
    if size >= UPLOAD_CHUNK:
        return lambda: cache.achunks(sha256, UPLOAD_CHUNK)
    path = cache.path_of(sha256)

    def read() -> bytes:
        with path.open("rb") as handle:
            return handle.read(size + 1)  # a byte more: a file that grew is refused, not cut short

    async def whole() -> AsyncIterator[bytes]:
        yield await asyncio.to_thread(read)

    return whole


def _at(ids: Sequence[int], order: int, missing: str) -> int:
    if 0 < order <= len(ids):
        return ids[order - 1]
    raise FatalApiError(f"The attachment has no place: {missing}.", api="qTest")


def _loader(inputs: LoaderInputs) -> AttachmentLoader:
    return AttachmentLoader(
        inputs.attachment_cache, inputs.attachment_places, inputs.case_steps, inputs.step_logs
    )


#: How the attachment loader is built.
ATTACHMENT_LOADERS: dict[str, LoaderFactory] = {"attachment": _loader}
