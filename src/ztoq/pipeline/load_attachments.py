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
from collections.abc import Awaitable, Callable, Mapping

from ztoq.errors import FatalApiError, NotFound
from ztoq.mapping.steps import parse_step_ref
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.load_listings import Listings
from ztoq.pipeline.load_types import Loaded, LoaderFactory, LoaderInputs
from ztoq.plan import PlannedEntity
from ztoq.qtest import QTestClient
from ztoq.qtest.models import Attachment
from ztoq.store import FileCache

#: Bytes read from the cache per piece of an upload (memory per upload in flight stays this small).
UPLOAD_CHUNK = 256 * 1024


def placement(object_type: str, object_id: int) -> str:
    """How the object an attachment is on is recorded: ``"test-cases/12"``."""
    return f"{object_type}/{object_id}"


def parse_placement(value: str | None) -> tuple[str, int] | None:
    """``(object_type, object_id)`` of a recorded placement, or None."""
    object_type, _, ident = (value or "").partition("/")
    return (object_type, int(ident)) if object_type and ident.isdigit() else None


class AttachmentLoader:
    """Zephyr attachments as qTest attachments (blob handles)."""

    def __init__(self, cache: FileCache | None, places: Mapping[int, str]) -> None:
        """Upload from ``cache``; ``places`` holds the placement of each attachment already in qTest."""
        self.cache = cache
        self.places = dict(places)
        #: qTest attachments that already stand for a Zephyr attachment: never adopted again.
        self.claimed: set[int] = set(places)
        self._steps: dict[tuple[str, int, int], asyncio.Future[list[int]]] = {}

    async def _ids(self, key: tuple[str, int, int], read: Callable[[], Awaitable[list[int]]]) -> list[int]:
        """The step ids of a test case or the step log ids of a test log, read once per run."""
        future = self._steps.get(key)
        if future is None:
            future = asyncio.ensure_future(read())
            self._steps[key] = future
        try:
            return await future
        except BaseException:
            self._steps.pop(key, None)
            raise

    async def _object(self, client: QTestClient, entity: PlannedEntity) -> tuple[str, int]:
        """The qTest object the attachment goes on (a step's id is looked up from its position)."""
        body, object_type, parent = entity.body or {}, str(entity.parent_type), int(entity.parent)
        if object_type == "test-steps":
            order = (parse_step_ref(body.get("step")) or ("", 0))[1]

            async def case_steps() -> list[int]:
                case = await client.get_test_case(parent, expand_steps=True)
                steps = sorted(case.test_steps or [], key=lambda s: s.order or 0)
                return [int(s.id) for s in steps if s.id is not None]

            ids = await self._ids(("test-case", parent, 0), case_steps)
            return object_type, _at(ids, order, f"test case {parent} has no step {order}")
        if object_type == "test-step-logs":
            order, run = int(body.get("step") or 0), int(body.get("run") or 0)

            async def step_logs() -> list[int]:
                log = await client.get_test_log(run, parent)
                steps = sorted(log.test_step_logs or [], key=lambda s: s.order or 0)
                return [int(s.test_step_log_id) for s in steps if s.test_step_log_id is not None]

            ids = await self._ids(("test-log", parent, run), step_logs)
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
            lambda: cache.achunks(sha256, UPLOAD_CHUNK),
            size,
        )
        fault_point("load.attachment_uploaded")
        return self._loaded(uploaded, object_type, object_id, size)

    def _loaded(self, attachment: Attachment, object_type: str, object_id: int, size: int) -> Loaded:
        if attachment.id is None:
            raise FatalApiError("qTest answered an attachment upload without an id.", api="qTest")
        where = placement(object_type, object_id)
        self.claimed.add(attachment.id)
        self.places[attachment.id] = where
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
        for attachment in await listings.attachments(object_type, object_id):
            if attachment.id is None or attachment.id in self.claimed or attachment.name != name:
                continue
            if await client.attachment_size(object_type, object_id, attachment.id) != size:
                continue
            found.append(self._loaded(attachment, object_type, object_id, size))
            break
        return found

    async def adopted(self, client: QTestClient, found: Loaded, entity: PlannedEntity) -> Loaded:
        return found

    async def delete(self, client: QTestClient, target_id: int, placement: str | None = None) -> None:
        where = parse_placement(placement or self.places.get(target_id))
        if where is None:
            raise FatalApiError(
                f"ztoq does not know which qTest object attachment {target_id} is on; delete it in qTest.",
                api="qTest",
            )
        await client.delete_attachment(where[0], where[1], target_id)
        self.claimed.discard(target_id)


def _at(ids: list[int], order: int, missing: str) -> int:
    if 0 < order <= len(ids):
        return ids[order - 1]
    raise FatalApiError(f"The attachment has no place: {missing}.", api="qTest")


def _loader(inputs: LoaderInputs) -> AttachmentLoader:
    return AttachmentLoader(inputs.attachment_cache, inputs.attachment_places)


#: How the attachment loader is built.
ATTACHMENT_LOADERS: dict[str, LoaderFactory] = {"attachment": _loader}
