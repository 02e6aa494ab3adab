"""Attachments and search endpoints of the qTest simulator.

Uploads go through ``POST .../{objectType}/{objectId}/blob-handles`` with the raw file as the
body and its name and type in the ``File-Name`` and ``Content-Type`` headers; anything over the
50 MB SaaS limit is answered 413 (both documented by Tricentis). Downloading an attachment
returns the file itself (the Swagger file's ``OutputStream``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, unquote

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ztoq.simulators.qtest.attachments import render_attachment, store_attachment
from ztoq.simulators.qtest.fields import display_values
from ztoq.simulators.qtest.routes_design import render_test_case
from ztoq.simulators.qtest.routes_execution import render_cycle, render_release, render_suite
from ztoq.simulators.qtest.routes_modules import render_module
from ztoq.simulators.qtest.routes_requirements import render_requirement
from ztoq.simulators.qtest.routes_runs import render_log, render_run
from ztoq.simulators.qtest.routing import Req, endpoint, envelope, page_of, respond, user_names
from ztoq.simulators.qtest.search import QueryError, evaluate, parse_query
from ztoq.simulators.qtest.state import QTestError, QTestState

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
        found = any(
            s["id"] == object_id
            for c in state.in_project(state.test_cases, project_id)
            for v in c.versions
            for s in v.steps
        )
    elif object_type == "test-step-logs":
        found = any(
            s["test_step_log_id"] == object_id
            for log in state.in_project(state.test_logs, project_id)
            for s in log.step_logs
        )
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
    found = [
        a
        for a in req.state.in_project(req.state.attachments, req.project_id)
        if a.object_type == object_type
        and (not ids or a.object_id in ids)
        and (author is None or a.author_id == author)
    ]
    page, size = req.paging(default_size=100)
    items = [render_attachment(req.state, a, req.base) for a in page_of(found, page, size)]
    return respond(envelope(items, page, size, len(found)))


# -- search -------------------------------------------------------------------------------------

_FIELD_TYPES = {
    "test-cases": "test-cases",
    "test-runs": "test-runs",
    "test-suites": "test-suites",
    "releases": "releases",
    "requirements": "requirements",
    "test-logs": "test-runs",
}

#: Built-in criteria (lowercase) -> attribute of the rendered object.
_BUILTINS = {
    "id": "id",
    "pid": "pid",
    "name": "name",
    "created date": "created_date",
    "created_date": "created_date",
    "createddate": "created_date",
    "last modified date": "last_modified_date",
    "last_modified_date": "last_modified_date",
    "lastmodifieddate": "last_modified_date",
    "description": "description",
    "version": "version",
    "module": "parent_id",
    "parent_id": "parent_id",
    "parentid": "parentId",
    "execution start date": "exe_start_date",
    "execution end date": "exe_end_date",
}


def _rows(req: Req, object_type: str) -> list[dict[str, Any]]:
    state, project_id, base = req.state, req.project_id, req.base
    steps = req.q_bool("appendTestSteps", False)
    if object_type == "test-cases":
        return [
            render_test_case(state, c, base, steps=steps)
            for c in state.in_project(state.test_cases, project_id)
        ]
    if object_type == "test-runs":
        return [render_run(state, r, base) for r in state.in_project(state.test_runs, project_id)]
    if object_type == "test-suites":
        return [render_suite(state, s, base) for s in state.in_project(state.test_suites, project_id)]
    if object_type == "test-cycles":
        return [render_cycle(state, c, base) for c in state.in_project(state.test_cycles, project_id)]
    if object_type == "releases":
        return [render_release(state, r, base) for r in state.in_project(state.releases, project_id)]
    if object_type == "requirements":
        return [render_requirement(state, r, base) for r in state.in_project(state.requirements, project_id)]
    if object_type == "modules":
        return [render_module(state, m, base) for m in state.in_project(state.modules, project_id)]
    if object_type == "test-logs":
        return [render_log(state, log, base) for log in state.in_project(state.test_logs, project_id)]
    return []  # builds and defects are not simulated


def _lookup(req: Req, object_type: str, row: dict[str, Any]) -> Callable[[str], Sequence[str]]:
    fields = (
        req.state.fields_of(req.project_id, _FIELD_TYPES[object_type]) if object_type in _FIELD_TYPES else []
    )
    names = user_names(req.state)

    def lookup(criteria: str) -> Sequence[str]:
        key = criteria.strip().lower()
        for field in fields:
            if field["label"].lower() == key or str(field["id"]) == key:
                for prop in row.get("properties") or []:
                    if prop["field_id"] == field["id"]:
                        return display_values(field, str(prop.get("field_value") or ""), names)
                return []
        if key == "status" and isinstance(row.get("status"), dict):
            return [str(row["status"]["id"]), str(row["status"]["name"])]
        attribute = _BUILTINS.get(key)
        if attribute is None:
            raise QueryError(f"Unknown criteria '{criteria}' for {object_type}")
        value = row.get(attribute)
        return [] if value is None else [str(value)]

    return lookup


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
        found = [row for row in _rows(req, object_type) if evaluate(tree, _lookup(req, object_type, row))]
    except QueryError as exc:
        raise QTestError(400, f"Invalid query: {exc}") from None
    page, size = req.paging(default_size=100)
    items = page_of(found, page, size)
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
