"""Attachments of Zephyr Scale Cloud v2: which objects carry them, how they are listed and downloaded.

SmartBear added the attachment operations to the v2 API in 2026. Its published schemas name the
operations and their path parameters but not their URL paths: the paths below follow v2's naming
and are an inference (``/work/shared/specs/zephyr-scale-cloud-v2-attachments.md``). They are kept
in this one table (:data:`ATTACHMENT_PATHS`) so that a correction is one line.

Rules from the schemas: a list answers ``{"attachments": [{"id", "name"}]}``; 404 on a list means
the object has none (the object itself is known to exist: extract just read it); a tenant without
the operations answers 503 (or 404) to every list. Step attachments are addressed by the numeric
``id`` every test case step and execution step carries; a step without one cannot be addressed.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Collection, Iterator
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ztoq.errors import NotFound, ServerError
from ztoq.http import ApiSession
from ztoq.sources.base import AttachmentOwner, AttachmentsUnavailable, Consumer, StoredRows
from ztoq.sources.records import embedded_image_urls, inline_image_id
from ztoq.store import ListedAttachment
from ztoq.values import int_or_none

#: List path of each owner kind; ``{owner}`` is the object's key or id, ``{step}`` the step's id.
#: The content of one attachment is ``<list path>/{attachmentId}``; an upload is
#: ``POST <list path>/{fileName}`` with the file as the raw body. (Inferred paths: see above.)
ATTACHMENT_PATHS: dict[str, str] = {
    "test_case": "/testcases/{owner}/attachments",
    "test_step": "/testcases/{owner}/teststeps/{step}/attachments",
    "test_plan": "/testplans/{owner}/attachments",
    "test_cycle": "/testcycles/{owner}/attachments",
    "test_execution": "/testexecutions/{owner}/attachments",
    "execution_step": "/testexecutions/{owner}/teststeps/{step}/attachments",
}

#: Stored row types whose rich text may embed images, and the owner kind of those images.
_RICH_TEXT_ROWS = (
    ("test_case", "test_case"),
    ("test_steps", "test_case"),
    ("test_script", "test_case"),
    ("test_plan", "test_plan"),
    ("test_cycle", "test_cycle"),
    ("test_execution", "test_execution"),
    ("execution_steps", "test_execution"),
)

#: Statuses of a list that mean "this tenant has no attachment operations".
_UNAVAILABLE = frozenset({501, 503})
#: Attempts per list while it is not known whether the tenant has the operations.
PROBE_ATTEMPTS = 3
#: Lists refused that many times in a row (before any list was answered): the tenant lacks them.
PROBE_REFUSALS = 3


def _seg(value: str | int) -> str:
    return quote(str(value), safe="")


def list_path(owner_type: str, owner: str | int, step: str | int | None = None) -> str:
    """The list path of an object's attachments (see :data:`ATTACHMENT_PATHS`)."""
    return ATTACHMENT_PATHS[owner_type].format(owner=_seg(owner), step=_seg("" if step is None else step))


def attachment_key(owner: AttachmentOwner, attachment_id: str) -> str:
    """How ztoq keys one attachment: ``test_step/PROJ-T1/2/101`` (owner kind, owner, step, id)."""
    step = "" if owner.step_index is None else f"/{owner.step_index}"
    return f"{owner.owner_type}/{owner.owner_key}{step}/{attachment_id}"


def guess_content_type(name: str) -> str | None:
    """The MIME type a file name suggests, or None."""
    return mimetypes.guess_type(name, strict=False)[0]


class ZephyrCloudAttachments:
    """The :class:`~ztoq.sources.base.AttachmentReader` of Zephyr Scale Cloud v2."""

    def __init__(self, session: ApiSession) -> None:
        """Send the attachment calls through ``session`` (the Zephyr client's)."""
        self.session = session
        #: A list answered: the tenant has the operations (a later 503 is an ordinary failure).
        self.confirmed = False
        #: Lists answered 503 (or 501) on every attempt before any list was answered.
        self.refusals = 0

    async def _get_list(self, path: str) -> Any:
        """One list's answer; decides, on the first lists, whether the tenant has the operations.

        Until a list is answered, each try is capped at :data:`PROBE_ATTEMPTS` attempts: a tenant
        without the operations answers 503 to all of them, and retrying each list in full would
        spend minutes of quota. :data:`PROBE_REFUSALS` refused tries in a row (across lists) mean
        the tenant lacks them; a chance 503 (a busy server) is retried like any other answer.
        """
        while not self.confirmed:
            try:
                answer = self.session.decode(
                    await self.session.request("GET", path, max_attempts=PROBE_ATTEMPTS)
                )
            except ServerError as exc:
                if exc.status not in _UNAVAILABLE:
                    raise
                self.refusals += 1
                if self.refusals >= PROBE_REFUSALS and not self.confirmed:
                    raise AttachmentsUnavailable(f"HTTP {exc.status}") from exc
                continue
            self.confirmed = True
            return answer
        return await self.session.get_json(path)

    def owners(self, rows: StoredRows) -> Iterator[AttachmentOwner]:
        """Test cases and their steps, test plans, test cycles, executions and their steps."""
        for key, _ in rows.payloads("test_case"):
            yield AttachmentOwner("test_case", key, address=key)
        for key, steps in rows.payloads("test_steps"):
            yield from _steps("test_step", key, key, steps, "test_steps")
        for entity_type, owner_type in (("test_plan", "test_plan"), ("test_cycle", "test_cycle")):
            for key, _ in rows.payloads(entity_type):
                yield AttachmentOwner(owner_type, key, address=key)
        # Each batch of executions, then their steps (read by key): nothing held per execution.
        for batch in rows.batches("test_execution"):
            addresses: dict[str, str] = {}
            for key, execution in batch:
                address = str(_get(execution, "id") or _get(execution, "key") or key)
                addresses[key] = address
                yield AttachmentOwner("test_execution", key, address=address)
            steps_of = rows.payloads_for("execution_steps", addresses)
            for key, address in addresses.items():
                if key in steps_of:
                    yield from _steps("execution_step", key, address, steps_of[key], "execution_steps")

    def inline_images(
        self, rows: StoredRows, owner_types: Collection[str] | None = None
    ) -> Iterator[ListedAttachment]:
        """Embedded images served under the API's own base URL (the only ones the token may fetch).

        The token is never sent anywhere else: an image on another host (SmartBear's CDN) is
        left to mapping, which keeps a visible reference to it.
        """
        base = self.session.base_url.rstrip("/") + "/"
        for entity_type, owner_type in _RICH_TEXT_ROWS:
            if owner_types is not None and owner_type not in owner_types:
                continue
            for key, payload in rows.payloads(entity_type):
                seen: set[str] = set()
                for url in _image_urls(payload):
                    if not url.startswith(base) or url in seen:
                        continue
                    seen.add(url)
                    ident = inline_image_id(url)
                    name = guess_name(url)
                    yield ListedAttachment(
                        source_key=f"{owner_type}/{key}/{ident}",
                        owner_type=owner_type,
                        owner_key=key,
                        step_index=None,
                        source_id=ident,
                        name=name,
                        size=None,
                        content_type=guess_content_type(name),
                        locator="/" + url[len(base) :],
                    )

    async def list(self, owner: AttachmentOwner) -> list[ListedAttachment]:
        """The attachments of one object; 404 means it has none."""
        if owner.step_index is None:
            path = list_path(owner.owner_type, owner.address)
        else:
            path = list_path(owner.owner_type, owner.parent_address, owner.address)
        try:
            answer = await self._get_list(path)
        except NotFound:
            self.confirmed = True  # the operation exists: the object has no attachments
            return []
        items = answer.get("attachments") if isinstance(answer, dict) else None
        listed = []
        for item in items if isinstance(items, list) else ():
            ident = _get(item, "id")
            if ident is None:
                continue
            name = str(_get(item, "name") or f"attachment-{ident}")
            listed.append(
                ListedAttachment(
                    source_key=attachment_key(owner, str(ident)),
                    owner_type=owner.owner_type,
                    owner_key=owner.owner_key,
                    step_index=owner.step_index,
                    source_id=str(ident),
                    name=name,
                    size=int_or_none(_get(item, "size")),
                    content_type=_get(item, "contentType") or guess_content_type(name),
                    locator=f"{path}/{_seg(ident)}",
                )
            )
        return listed

    async def download(self, locator: str, consume: Consumer) -> None:
        """Stream one attachment's content (``locator``: its list path plus its id)."""
        await self.session.download(locator, consume)


def guess_name(url: str) -> str:
    """A file name for a URL: its last path segment, decoded."""
    return unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2]) or "image"


def _image_urls(value: Any) -> Iterator[str]:
    """Every embedded image URL in the strings of a JSON value."""
    if isinstance(value, str):
        yield from embedded_image_urls(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _image_urls(item)
    elif isinstance(value, list):
        for item in value:
            yield from _image_urls(item)


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else None


def _steps(
    owner_type: str, key: str, parent_address: str, steps: Any, part: str
) -> Iterator[AttachmentOwner]:
    for index, step in enumerate(steps if isinstance(steps, list) else ()):
        step_id = int_or_none(_get(step, "id"))
        if step_id is not None:
            yield AttachmentOwner(owner_type, key, index, str(step_id), parent_address, part)
