"""Attachments of the qTest simulator: storing a file and its AttachmentResource.

Uploads over the attachment limit (50 MB, qTest SaaS) are answered 413, as documented.
"""

from __future__ import annotations

from typing import Any

from ztoq.simulators.qtest.render import api, attachment_url, iso, link
from ztoq.simulators.qtest.routing import Req
from ztoq.simulators.qtest.state import Attachment, QTestError, QTestState


def store_attachment(
    req: Req, object_type: str, object_id: int, name: str, content_type: str, data: bytes
) -> Attachment:
    """Store an attachment.

    Args:
        req: The request.
        object_type: API object type it belongs to.
        object_id: ID of the object.
        name: File name.
        content_type: MIME type.
        data: The file.

    Returns:
        The attachment.

    Raises:
        QTestError: 413 when larger than the attachment limit.
    """
    if len(data) > req.state.attachment_limit:
        raise QTestError(413, "The attachment is too large")
    attachment = Attachment(
        id=req.state.next_id("attachments"),
        project_id=req.project_id,
        object_type=object_type,
        object_id=object_id,
        name=name,
        content_type=content_type or "application/octet-stream",
        data=data,
        author_id=req.user_id,
        created=req.state.now(),
    )
    req.state.attachments[attachment.id] = attachment
    return attachment


def render_attachment(state: QTestState, attachment: Attachment, base: str) -> dict[str, Any]:
    """AttachmentResource of an attachment (``data`` is for uploads only: never returned).

    Args:
        state: The simulator state.
        attachment: The attachment.
        base: Site URL the client used.

    Returns:
        The AttachmentResource dict.
    """
    author = state.users.get(attachment.author_id)
    path = f"{attachment.object_type}/{attachment.object_id}/attachments/{attachment.id}"
    return {
        "links": [link("self", api(base, attachment.project_id, path))],
        "name": attachment.name,
        "content_type": attachment.content_type,
        "id": attachment.id,
        "web_url": attachment_url(base, attachment.project_id, attachment.object_type, attachment.id),
        "created_date": iso(attachment.created),
        "author": {
            "id": attachment.author_id,
            "email": author.email if author else None,
            "first_name": author.first_name if author else None,
            "last_name": author.last_name if author else None,
        },
        "artifact_id": attachment.object_id,
    }
