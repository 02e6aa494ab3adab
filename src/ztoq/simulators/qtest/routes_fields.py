"""Field settings of the qTest simulator: list, read, create, update and delete fields and allowed values.

As the Swagger file describes ``/settings/{objectType}/fields``: the list takes ``includeInactive``;
one field is read as FieldResourceSwagger (without allowed values); creating answers 201
FieldResource; updating (PUT, FieldInputResource) cannot change ``data_type`` and replaces the
allowed values (a value left out is deleted, one without ``value`` is new); ``POST
.../allowed-values`` adds at most 100 values and answers AllowedValueResponseResource; DELETE
removes a custom field (a system field cannot be deleted: 400) or one allowed value, answering
``{}`` (the Swagger's "object"). Field ids may be negative (site-level system fields), so
``fieldId`` is read as any integer.

Changing field settings is project administration: a caller who is not a project admin (the
``project.admin`` of its UserProfile) gets 403 with qTest's ``{"message": ...}`` body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ztoq.simulators.qtest.fields import DATA_TYPES, FIELD_OBJECT_TYPES, PICKLIST_TYPES, make_field
from ztoq.simulators.qtest.routing import Req, endpoint, respond
from ztoq.simulators.qtest.state import QTestError, QTestState
from ztoq.values import int_or_none

#: Most allowed values one ``POST .../allowed-values`` creates ("Creates maximum 100 allowed values").
MAX_NEW_VALUES = 100


def _object_type(req: Req) -> str:
    object_type = str(req.params["objectType"])
    if object_type not in FIELD_OBJECT_TYPES:
        raise QTestError(
            400, f"Invalid object type '{object_type}'. Valid values include {', '.join(FIELD_OBJECT_TYPES)}"
        )
    return object_type


def _writable_type(req: Req) -> str:
    object_type = _object_type(req)
    if object_type == "test-steps":
        raise QTestError(400, "Invalid object type 'test-steps'")
    return object_type


def _require_admin(req: Req) -> None:
    """403 unless the caller administers the project (field settings are project administration)."""
    custom = req.state.project(req.project_id).profiles.get(req.user_id, {})
    admin = (custom.get("project") or {}).get("admin", req.user_id == req.state.admin_id)
    if not admin:
        raise QTestError(403, "User does not have permission to manage project field settings")


def _render(field: dict[str, Any], req: Req, object_type: str) -> dict[str, Any]:
    href = f"{req.base}/api/v3/projects/{req.params['projectId']}/settings/{object_type}/fields/{field['id']}"
    return {"links": [{"rel": "self", "href": href}], **field}


def _field(req: Req, object_type: str) -> dict[str, Any]:
    # Not an ``:int`` route parameter: site-level system fields have negative IDs (-184...).
    field_id = int_or_none(req.params["fieldId"])
    for found in req.state.fields_of(req.project_id, object_type):
        if found["id"] == field_id:
            return found
    raise QTestError(404, f"Field with id {req.params['fieldId']} does not exist")


def _get_fields(req: Req) -> Response:
    project_id, object_type = req.project_id, _object_type(req)
    fields = req.state.fields_of(project_id, object_type)
    if not req.q_bool("includeInactive", False):
        fields = [f for f in fields if f.get("is_active", True)]
    return respond([_render(f, req, object_type) for f in fields])


def _get_field(req: Req) -> Response:
    object_type = _object_type(req)
    found = _field(req, object_type)
    # The Swagger file answers one field as FieldResourceSwagger, which has no allowed values.
    shown = {k: v for k, v in found.items() if k != "allowed_values"}
    return respond(_render(shown, req, object_type))


def _label(body: dict[str, Any]) -> str:
    label = body.get("label")
    if not isinstance(label, str) or not label.strip():
        raise QTestError(400, "label is required")
    return label.strip()


def _new_value(req: Req, raw: Any, order: int) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("label"), str) or not raw["label"].strip():
        raise QTestError(400, "Each allowed value needs a label")
    return {
        "value": req.state.next_id("allowed-values"),
        "label": raw["label"].strip(),
        "order": order,
        "is_default": bool(raw.get("is_default", False)),
        "is_active": bool(raw.get("is_active", True)),
        "color": raw.get("color"),
    }


def _create_field(req: Req) -> Response:
    object_type = _writable_type(req)
    _require_admin(req)
    body = req.json_object()
    label = _label(body)
    data_type = body.get("data_type")
    if data_type not in DATA_TYPES:
        raise QTestError(400, f"data_type {data_type} is not supported")
    fields = req.state.fields_of(req.project_id, object_type)
    if any(f["label"].lower() == label.lower() for f in fields):
        raise QTestError(400, f"Field '{label}' already exists")
    order = max((f.get("order") or 0 for f in fields), default=0) + 1
    field = make_field(
        req.state.next_id("fields"),
        label,
        data_type,
        order=order,
        required=bool(body.get("required", False)),
        multiple=body.get("multiple") if isinstance(body.get("multiple"), bool) else None,
    )
    field["allowed_values"] = [
        _new_value(req, raw, index + 1) for index, raw in enumerate(body.get("allowed_values") or [])
    ]
    field["default_value"] = next((str(v["value"]) for v in field["allowed_values"] if v["is_default"]), None)
    field["is_active"] = bool(body.get("is_active", True))
    field["searchable"] = bool(body.get("searchable", True))
    fields.append(field)
    return respond(_render(field, req, object_type), 201)


def _update_field(req: Req) -> Response:
    object_type = _writable_type(req)
    _require_admin(req)
    field = _field(req, object_type)
    body = req.json_object()
    if "data_type" in body and body["data_type"] != field["data_type"]:
        raise QTestError(400, "data_type of a field cannot be changed")
    if "label" in body:
        label = _label(body)
        others = [f for f in req.state.fields_of(req.project_id, object_type) if f is not field]
        if any(f["label"].lower() == label.lower() for f in others):
            raise QTestError(400, f"Field '{label}' already exists")
        field["label"] = label
    for name in ("required", "multiple", "searchable", "is_active"):
        if isinstance(body.get(name), bool):
            field[name] = body[name]
    if isinstance(body.get("order"), int):
        field["order"] = body["order"]
    if "default_value" in body:
        field["default_value"] = body["default_value"]
    if isinstance(body.get("allowed_values"), list):
        field["allowed_values"] = _replace_values(req, field, body["allowed_values"])
    return respond(_render(field, req, object_type))


def _replace_values(req: Req, field: dict[str, Any], given: list[Any]) -> list[dict[str, Any]]:
    """The allowed values a PUT leaves: those given (kept by ``value``, new without one)."""
    current = {v["value"]: v for v in field.get("allowed_values") or []}
    values: list[dict[str, Any]] = []
    for index, raw in enumerate(given):
        known = current.get(int_or_none(raw.get("value"))) if isinstance(raw, dict) else None
        if known is None:
            values.append(_new_value(req, raw, index + 1))
            continue
        for name in ("label", "is_default", "is_active", "color"):
            if name in raw:
                known[name] = raw[name]
        known["order"] = index + 1
        values.append(known)
    return values


def _add_values(req: Req) -> Response:
    object_type = _writable_type(req)
    _require_admin(req)
    field = _field(req, object_type)
    given = req.json()
    if not isinstance(given, list) or not given:
        raise QTestError(400, "The body must be a non-empty array of allowed values")
    if len(given) > MAX_NEW_VALUES:
        raise QTestError(400, f"At most {MAX_NEW_VALUES} allowed values can be created at once")
    if field["data_type"] not in PICKLIST_TYPES:
        raise QTestError(400, f"Field '{field['label']}' does not take allowed values")
    values = field.setdefault("allowed_values", [])
    known = {v["label"].lower() for v in values}
    created = []
    for raw in given:
        value = _new_value(req, raw, len(values) + 1)
        if value["label"].lower() in known:
            raise QTestError(400, f"Value '{value['label']}' already exists in field '{field['label']}'")
        known.add(value["label"].lower())
        values.append(value)
        created.append(value)
    return respond({"links": [], "total": len(created), "items": created}, 201)


def _delete_field(req: Req) -> Response:
    """``deleteCustomField``: the field and the values entities hold in it go (qTest asks nothing)."""
    object_type = _writable_type(req)
    _require_admin(req)
    field = _field(req, object_type)
    if field.get("system_field"):
        raise QTestError(400, f"System field '{field['label']}' cannot be deleted")
    req.state.fields_of(req.project_id, object_type).remove(field)
    return respond({})


def _delete_value(req: Req) -> Response:
    """``deleteProjectFieldValue``: one allowed value (by its ``value`` id) of a pick list."""
    object_type = _writable_type(req)
    _require_admin(req)
    field = _field(req, object_type)
    if field["data_type"] not in PICKLIST_TYPES:
        raise QTestError(400, f"Field '{field['label']}' has no allowed values")
    value_id = int_or_none(req.params["value"])
    values = field.get("allowed_values") or []
    found = next((v for v in values if v["value"] == value_id), None)
    if found is None:
        raise QTestError(404, f"Value {req.params['value']} does not exist in field '{field['label']}'")
    values.remove(found)
    if field.get("default_value") == str(value_id):
        field["default_value"] = None
    return respond({})


def routes(state: QTestState) -> list[BaseRoute]:
    """The field settings routes.

    Args:
        state: The simulator state.

    Returns:
        The routes.
    """

    def r(path: str, handler: Callable[[Req], Response], method: str = "GET") -> Route:
        return Route(path, endpoint(state, handler), methods=[method])

    p = "/api/v3/projects/{projectId:int}/settings/{objectType}/fields"
    return [
        r(p, _get_fields),
        r(p, _create_field, "POST"),
        r(f"{p}/{{fieldId}}", _get_field),
        r(f"{p}/{{fieldId}}", _update_field, "PUT"),
        r(f"{p}/{{fieldId}}", _delete_field, "DELETE"),
        r(f"{p}/{{fieldId}}/allowed-values", _add_values, "POST"),
        r(f"{p}/{{fieldId}}/allowed-values/{{value}}", _delete_value, "DELETE"),
    ]
