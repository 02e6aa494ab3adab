"""Attachments and search endpoints of the qTest simulator.

Uploads go through ``POST .../{objectType}/{objectId}/blob-handles`` with the raw file as the
body and its name and type in the ``File-Name`` and ``Content-Type`` headers; anything over the
50 MB SaaS limit is answered 413 (both documented by Tricentis). Downloading an attachment
returns the file itself (the Swagger file's ``OutputStream``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ztoq.simulators.qtest.attachments import render_attachment, store_attachment
from ztoq.simulators.qtest.routing import Req, endpoint, envelope, page_of, respond
from ztoq.simulators.qtest.search import QueryError, parse_query
from ztoq.simulators.qtest.search_scan import SearchScan
from ztoq.simulators.qtest.state import Attachment, QTestError, QTestState

#: Object types that take attachments (the Swagger enum).
ATTACHMENT_TYPES = (
    "releases",
    "builds",
    "requirements",
    "test-cases",
    "test-logs",
    "test-steps",
    "test-step-logs",
    "defects",
)

#: Object types of ``POST /search``: the documented ones, plus ``modules`` (an extension).
SEARCH_TYPES = (
    "releases",
    "requirements",
    "test-cases",
    "test-runs",
    "test-suites",
    "test-cycles",
    "test-logs",
    "builds",
    "defects",
    "modules",
)


def _check_object(req: Req, object_type: str, object_id: int) -> None:
    """404 unless the object exists in the project (builds and defects are not simulated)."""
    state, project_id = req.state, req.project_id
    if object_type not in ATTACHMENT_TYPES:
        raise QTestError(400, f"Invalid object type '{object_type}'")
    tables: dict[str, dict[int, Any]] = {
        "releases": state.releases,
        "requirements": state.requirements,
        "test-cases": state.test_cases,
        "test-logs": state.test_logs,
    }
    if object_type in tables:
        state.get(
            tables[object_type], project_id, object_id, object_type.rstrip("s").replace("-", " ").title()
        )
        return
    if object_type == "test-steps":
        found = state.step_exists(project_id, object_id)
    elif object_type == "test-step-logs":
        found = state.step_log_exists(project_id, object_id)
    else:
        found = False
    if not found:
        raise QTestError(404, f"Object {object_type}/{object_id} does not exist in project {project_id}.")


def _upload(req: Req) -> Response:
    object_type, object_id = str(req.params["objectType"]), int(req.params["objectId"])
    _check_object(req, object_type, object_id)
    # Header values are ASCII: clients percent-encode other characters (ztoq does); decode them.
    name = unquote(req.headers.get("file-name") or "")
    if not name:
        raise QTestError(400, "The File-Name header is required")
    content_type = req.headers.get("content-type")
    if not content_type:
        raise QTestError(400, "The Content-Type header is required")
    attachment = store_attachment(req, object_type, object_id, name, content_type, req.body)
    return respond(render_attachment(req.state, attachment, req.base), 201)


def _list_attachments(req: Req) -> Response:
    object_type, object_id = str(req.params["objectType"]), int(req.params["objectId"])
    _check_object(req, object_type, object_id)
    found = req.state.attachments_of(object_type, object_id)
    return respond([render_attachment(req.state, a, req.base) for a in found])


def _attachment(req: Req, key: str) -> Any:
    object_type, object_id = str(req.params["objectType"]), int(req.params["objectId"])
    _check_object(req, object_type, object_id)
    attachment = req.state.attachments.get(int(req.params[key]))
    if attachment is None or (attachment.object_type, attachment.object_id) != (object_type, object_id):
        raise QTestError(404, f"Attachment with id {req.params[key]} does not exist")
    return attachment


def _download(req: Req) -> Response:
    attachment = _attachment(req, "attachmentId")
    # Header values are Latin-1: a non-ASCII name goes in RFC 6266's ``filename*`` (UTF-8).
    ascii_name = attachment.name.encode("ascii", "replace").decode().replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(attachment.name, safe='')}"
    return Response(
        attachment.data, media_type=attachment.content_type, headers={"Content-Disposition": disposition}
    )


def _delete_attachment(req: Req) -> Response:
    attachment = _attachment(req, "blobHandleId")
    del req.state.attachments[attachment.id]
    return respond({"message": f"Attachment {attachment.id} was deleted"})


def _search_attachments(req: Req) -> Response:
    object_type = req.query.get("type")
    if object_type not in ATTACHMENT_TYPES:
        raise QTestError(400, f"type must be one of {', '.join(ATTACHMENT_TYPES)}")
    ids = set(req.q_ids("ids"))
    author = req.q_int("author")
    state, project_id = req.state, req.project_id
    if ids:
        candidates = sorted(
            (a for i in ids for a in state.attachments_of(object_type, i)), key=_attachment_id
        )
    else:
        candidates = state.attachments.by("kind", (project_id, object_type))
    found = [
        a for a in candidates if a.project_id == project_id and (author is None or a.author_id == author)
    ]
    page, size = req.paging(default_size=100)
    items = [render_attachment(req.state, a, req.base) for a in page_of(found, page, size)]
    return respond(envelope(items, page, size, len(found)))


def _attachment_id(attachment: Attachment) -> int:
    return attachment.id


# -- search -------------------------------------------------------------------------------------


def _search(req: Req) -> Response:
    body = req.json_object()
    object_type = body.get("object_type")
    if object_type not in SEARCH_TYPES:
        raise QTestError(400, f"object_type must be one of {', '.join(SEARCH_TYPES)}")
    wanted = body.get("fields")
    if wanted is not None and (not isinstance(wanted, list) or not all(isinstance(f, str) for f in wanted)):
        raise QTestError(400, "fields must be an array of field names")
    query = body.get("query")
    if query is not None and not isinstance(query, str):
        raise QTestError(400, "query must be a string")
    try:
        tree = parse_query(query)
        scan = SearchScan(
            req.state, req.project_id, object_type, req.base, steps=req.q_bool("appendTestSteps", False)
        )
        found = scan.matching(tree)
    except QueryError as exc:
        raise QTestError(400, f"Invalid query: {exc}") from None
    page, size = req.paging(default_size=100)
    items = [scan.render(record) for record in page_of(found, page, size)]
    if wanted and "*" not in wanted:
        keep = {"id", "links", *wanted}
        items = [{k: v for k, v in row.items() if k in keep} for row in items]
    return respond(envelope(items, page, size, len(found)))


def routes(state: QTestState) -> list[BaseRoute]:
    """The attachment and search routes.

    Args:
        state: The simulator state.

    Returns:
        The routes.
    """
    p = "/api/v3/projects/{projectId:int}"
    obj = f"{p}/{{objectType}}/{{objectId:int}}"
    return [
        Route(f"{p}/search", endpoint(state, _search), methods=["POST"]),
        Route(f"{p}/attachments", endpoint(state, _search_attachments), methods=["GET"]),
        Route(f"{obj}/blob-handles", endpoint(state, _upload, raw_upload=True), methods=["POST"]),
        Route(
            f"{obj}/blob-handles/{{blobHandleId:int}}",
            endpoint(state, _delete_attachment),
            methods=["DELETE"],
        ),
        Route(f"{obj}/attachments", endpoint(state, _list_attachments), methods=["GET"]),
        Route(f"{obj}/attachments/{{attachmentId:int}}", endpoint(state, _download), methods=["GET"]),
    ]
