"""The attachment calls of qTest: list, download, measure, upload and delete the files of an object.

A mixin of :class:`ztoq.qtest.client.QTestClient`, kept apart to keep modules short. Object types
are those of the API's attachment operations (``releases``, ``builds``, ``requirements``,
``test-cases``, ``test-logs``, ``test-steps``, ``test-step-logs``, ``defects``).

Files travel as streams: an upload reads its source chunk by chunk (re-opened if it must be sent
again) and a download hands the answer to a consumer, so an attachment is never held whole in
memory. Uploads are creates, sent with ``retry_unsafe=False``: one that failed in a way that may
have stored the file is not sent again blindly (the caller lists the object's attachments first).
An upload over the server's limit raises :class:`~ztoq.errors.PayloadTooLarge`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from urllib.parse import quote

from ztoq.http import ApiSession, Consume, SizeProbe, StreamedBody
from ztoq.qtest.models import Attachment, parse, parse_list

#: The object types the attachment search takes (``GET /attachments?type=``); ``test-step-logs``
#: is listed object by object.
SEARCHABLE_ATTACHMENT_TYPES = frozenset(
    {"releases", "builds", "requirements", "test-cases", "test-steps", "test-logs", "defects"}
)

#: Characters left as they are in the ``File-Name`` header; others are percent-encoded.
_FILE_NAME_SAFE = " !#$&'()+,;=@[]^`{}~"


def file_name_header(file_name: str) -> str:
    """The ``File-Name`` header value of an upload.

    HTTP header values are ASCII, so other characters are percent-encoded as UTF-8 (a guess: the
    API documentation says nothing about non-ASCII file names).
    """
    return quote(file_name, safe=_FILE_NAME_SAFE)


class AttachmentCalls:
    """Attachments of the objects of one project."""

    session: ApiSession
    base: str

    def _attachments_path(self, object_type: str, object_id: int) -> str:
        return f"{self.base}/{object_type}/{object_id}/attachments"

    async def list_attachments(self, object_type: str, object_id: int) -> list[Attachment]:
        """Every attachment of an object (``test-cases``, ``test-logs``, ...)."""
        path = self._attachments_path(object_type, object_id)
        return parse_list(Attachment, await self.session.get_json(path))

    async def download_attachment(
        self,
        object_type: str,
        object_id: int,
        attachment_id: int,
        consume: Consume,
        *,
        force_download: bool = False,
    ) -> None:
        """Stream one attachment's content to ``consume``.

        Args:
            object_type: The object's type, e.g. ``test-cases``.
            object_id: The object's id.
            attachment_id: The attachment's id.
            consume: Reads ``response.aiter_bytes()``; called again from the start when the
                connection drops mid-file, so it must reset its sink (truncate its file) each time.
            force_download: Also download a file qTest has not (successfully) scanned for malware.
        """
        path = f"{self._attachments_path(object_type, object_id)}/{attachment_id}"
        params = {"forceDownload": True} if force_download else None
        await self.session.download(path, consume, params)

    async def attachment_size(self, object_type: str, object_id: int, attachment_id: int) -> int:
        """The size in bytes of an attachment as qTest serves it (``AttachmentResource`` has none).

        Taken from the download's ``Content-Length`` when it has one (the file is then not read),
        otherwise by counting the bytes of the streamed file.
        """
        path = f"{self._attachments_path(object_type, object_id)}/{attachment_id}"
        probe = SizeProbe()
        # Uncompressed, so that Content-Length is the size of the file itself.
        await self.session.download(path, probe, headers={"Accept-Encoding": "identity"})
        return probe.size

    async def upload_attachment(
        self,
        object_type: str,
        object_id: int,
        file_name: str,
        content_type: str,
        data: bytes,
        *,
        retry_unsafe: bool = False,
    ) -> Attachment:
        """Attach a file held in memory to an object (``test-cases``, ``test-runs``, ``test-logs``, ...)."""
        path = f"{self.base}/{object_type}/{object_id}/blob-handles"
        headers = {"File-Name": file_name_header(file_name), "Content-Type": content_type}
        result = await self.session.post_bytes(path, data, headers, retry_unsafe=retry_unsafe)
        return parse(Attachment, result)

    async def upload_attachment_file(
        self,
        object_type: str,
        object_id: int,
        file_name: str,
        content_type: str,
        chunks: Callable[[], AsyncIterator[bytes]],
        size: int,
        *,
        retry_unsafe: bool = False,
    ) -> Attachment:
        """Attach a file streamed from its source to an object, without holding it in memory.

        Args:
            object_type: The object's type, e.g. ``test-logs``.
            object_id: The object's id.
            file_name: The attachment's name (sent in the ``File-Name`` header).
            content_type: Its MIME type.
            chunks: Opens the file's bytes from the start (e.g. a generator reading 1 MB chunks);
                called once per attempt.
            size: The file's size in bytes, sent as ``Content-Length``.
            retry_unsafe: Resend after a failure that may have stored the file (default: no).

        Raises:
            PayloadTooLarge: When the file is over qTest's attachment limit.
        """
        path = f"{self.base}/{object_type}/{object_id}/blob-handles"
        headers = {"File-Name": file_name_header(file_name), "Content-Type": content_type}
        body = StreamedBody(open=chunks, length=size)
        result = await self.session.post_stream(path, body, headers, retry_unsafe=retry_unsafe)
        return parse(Attachment, result)

    async def delete_attachment(self, object_type: str, object_id: int, attachment_id: int) -> None:
        """Delete an attachment of an object (its id is the ``blobHandleId`` of the API)."""
        await self.session.delete(f"{self.base}/{object_type}/{object_id}/blob-handles/{attachment_id}")
