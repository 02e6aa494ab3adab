"""Field settings of a simulated qTest project: building FieldResources, validating and rendering
the ``properties`` of artifacts against them.

Data type codes are the ones Tricentis documents for ``POST .../settings/{objectType}/fields``
(api-manager-v3.0.yaml): 1 Text box, 2 Text area, 3 Combo box, 4 Date picker, 5 User list,
6 Rich text editor, 7 Number, 8 Check box, 9 Date time picker, 12 URL, 17 Multiple selection
combobox; "data_type 8 or 17" are multiple picklists (``multiple=true``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ztoq.simulators.qtest.render import iso, parse_datetime
from ztoq.simulators.qtest.state import QTestError
from ztoq.values import int_or_none
from ztoq.vendor import (
    QTEST_CHECKBOX,
    QTEST_DATA_TYPES,
    QTEST_DATE,
    QTEST_DATE_TIME,
    QTEST_FIELD_OBJECT_TYPES,
    QTEST_MULTI_SELECT,
    QTEST_NUMBER,
    QTEST_PICK_LIST,
    QTEST_RICH_TEXT,
    QTEST_TEXT,
    QTEST_TEXT_AREA,
    QTEST_URL,
    QTEST_USER_LIST,
)

TEXT, TEXT_AREA, COMBO, DATE, USER_LIST, RICH_TEXT, NUMBER, CHECKBOX, DATE_TIME, URL, MULTI = (
    QTEST_TEXT,
    QTEST_TEXT_AREA,
    QTEST_PICK_LIST,
    QTEST_DATE,
    QTEST_USER_LIST,
    QTEST_RICH_TEXT,
    QTEST_NUMBER,
    QTEST_CHECKBOX,
    QTEST_DATE_TIME,
    QTEST_URL,
    QTEST_MULTI_SELECT,
)
DATA_TYPES = QTEST_DATA_TYPES
#: Types whose value is one or more allowed-value IDs.
PICKLIST_TYPES = frozenset({COMBO, CHECKBOX, MULTI})

#: Object types accepted by ``/settings/{objectType}/fields`` (the Swagger enum). Test cycles are
#: not among them: qTest has no custom fields on test cycles (TestCycleResource has no properties).
FIELD_OBJECT_TYPES = QTEST_FIELD_OBJECT_TYPES

#: FieldResource.instanceType per data type. The Swagger file only shows "NumberDataType"; the
#: other names follow the same pattern and are a guess.
INSTANCE_TYPES: dict[int, str] = {
    TEXT: "TextDataType",
    TEXT_AREA: "TextAreaDataType",
    COMBO: "LookupDataType",
    DATE: "DateDataType",
    USER_LIST: "UserListDataType",
    RICH_TEXT: "RichTextDataType",
    NUMBER: "NumberDataType",
    CHECKBOX: "CheckboxDataType",
    DATE_TIME: "DateTimeDataType",
    URL: "UrlDataType",
    MULTI: "MultipleLookupDataType",
}

Value = tuple[int, str, bool] | tuple[int, str, bool, str | None]


def make_field(
    field_id: int,
    label: str,
    data_type: int,
    *,
    order: int,
    system: bool = False,
    required: bool = False,
    multiple: bool | None = None,
    values: Sequence[Value] = (),
    original_name: str | None = None,
) -> dict[str, Any]:
    """Build a FieldResource dict.

    Args:
        field_id: Field ID.
        label: Display name.
        data_type: qTest data type code.
        order: Display order.
        system: True for a system field.
        required: True when a value is mandatory.
        multiple: Several values allowed (default: True for check box and multi-select).
        values: Allowed values as ``(value_id, label, is_default[, color])``.
        original_name: Original name (defaults to ``label``).

    Returns:
        The FieldResource dict (without ``links``).
    """
    allowed = [
        {
            "value": v[0],
            "label": v[1],
            "order": i + 1,
            "is_default": v[2],
            "is_active": True,
            "color": v[3] if len(v) > 3 else None,
        }
        for i, v in enumerate(values)
    ]
    default = next((str(v["value"]) for v in allowed if v["is_default"]), None)
    return {
        "id": field_id,
        "label": label,
        "original_name": original_name or label,
        "data_type": data_type,
        "required": required,
        "constrained": data_type in PICKLIST_TYPES or data_type == USER_LIST,
        "multiple": multiple if multiple is not None else data_type in (CHECKBOX, MULTI),
        "searchable": True,
        "system_field": system,
        "is_active": True,
        "allowed_values": allowed,
        "default_value": default,
        "order": order,
        "instanceType": INSTANCE_TYPES.get(data_type, "TextDataType"),
    }


def active(fields: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Active fields sorted by display order.

    Args:
        fields: FieldResource dicts.

    Returns:
        The active ones, in display order.
    """
    return sorted(
        (f for f in fields if f.get("is_active", True)), key=lambda f: (f.get("order") or 0, f["id"])
    )


def apply_properties(
    fields: Sequence[dict[str, Any]],
    given: Any,
    current: Mapping[int, str],
    member_ids: Collection[int],
    *,
    creating: bool,
) -> dict[int, str]:
    """Validate a request's ``properties`` and merge them into the stored values.

    Args:
        fields: FieldResource dicts of the object type.
        given: The ``properties`` attribute of the request body (None when absent).
        current: Values stored so far (empty on create), field ID -> stored string.
        member_ids: IDs of the project's users (valid values of user-list fields).
        creating: True on create: default values are filled in.

    Returns:
        The new field ID -> stored value map.

    Raises:
        QTestError: 400 on an unknown or inactive field, a value outside the allowed values, a
            malformed number or date, or a required field left empty.
    """
    by_id = {f["id"]: f for f in active(fields)}
    values = dict(current)
    if given is not None:
        if not isinstance(given, list):
            raise QTestError(400, "properties must be an array of field-value pairs")
        for prop in given:
            if not isinstance(prop, dict) or "field_id" not in prop:
                raise QTestError(400, "Each property needs a field_id")
            field_id = int_or_none(prop["field_id"])
            field = by_id.get(field_id) if field_id is not None else None
            if field is None:
                raise QTestError(400, f"Field with id {prop['field_id']} does not exist or is not active")
            values[field["id"]] = _normalize(field, prop.get("field_value"), member_ids)
    if creating:
        for field in by_id.values():
            if not values.get(field["id"]) and field.get("default_value"):
                values[field["id"]] = _normalize(field, field["default_value"], member_ids)
    for field in by_id.values():
        if field.get("required") and not values.get(field["id"]):
            raise QTestError(400, f"Field '{field['label']}' is required")
    return values


def render_properties(
    fields: Sequence[dict[str, Any]], values: Mapping[int, str], user_names: Mapping[int, str]
) -> list[dict[str, Any]]:
    """PropertyResource list of an artifact: one entry per active field, in display order.

    List-typed fields (picklists, user lists) carry ``field_value_name``; multiple values are
    rendered ``"[1,2]"`` / ``"[Label 1, Label 2]"`` as qTest's responses show for Assigned To.

    Args:
        fields: FieldResource dicts of the object type.
        values: Stored values, field ID -> string.
        user_names: User ID -> full name.

    Returns:
        The properties list.
    """
    out: list[dict[str, Any]] = []
    for field in active(fields):
        value = values.get(field["id"], "")
        prop: dict[str, Any] = {"field_id": field["id"], "field_name": field["label"], "field_value": value}
        if field["data_type"] in PICKLIST_TYPES or field["data_type"] == USER_LIST:
            prop["field_value_name"] = value_names(field, value, user_names)
        out.append(prop)
    return out


def value_names(field: Mapping[str, Any], value: str, user_names: Mapping[int, str]) -> str:
    """The label(s) of a stored list-typed value ("" when empty).

    Args:
        field: The FieldResource dict.
        value: The stored value (``"7"`` or ``"[7,8]"``).
        user_names: User ID -> full name.

    Returns:
        ``"Label"`` or ``"[Label 1, Label 2]"``.
    """
    if not value:
        return ""
    ids = [int(x) for x in value.strip("[]").split(",") if x.strip()]
    if field["data_type"] == USER_LIST:
        labels = [user_names.get(i, str(i)) for i in ids]
    else:
        by_value = {v["value"]: v["label"] for v in field.get("allowed_values") or []}
        labels = [by_value.get(i, str(i)) for i in ids]
    return f"[{', '.join(labels)}]" if value.startswith("[") else (labels[0] if labels else "")


def display_values(field: Mapping[str, Any], value: str, user_names: Mapping[int, str]) -> list[str]:
    """Every text a search criterion may match for a stored value: the value and its labels.

    Args:
        field: The FieldResource dict.
        value: The stored value.
        user_names: User ID -> full name.

    Returns:
        The texts (empty for an empty value).
    """
    if not value:
        return []
    if field["data_type"] in PICKLIST_TYPES or field["data_type"] == USER_LIST:
        names = value_names(field, value, user_names)
        parts = [p.strip() for p in names.strip("[]").split(",")] if value.startswith("[") else [names]
        ids = [x.strip() for x in value.strip("[]").split(",")]
        return [value, names, *parts, *ids]
    return [value]


def _normalize(field: Mapping[str, Any], raw: Any, member_ids: Collection[int]) -> str:
    data_type = field["data_type"]
    label = field["label"]
    if raw is None or raw == "" or raw == []:
        return ""
    if data_type in PICKLIST_TYPES or data_type == USER_LIST:
        ids = _id_list(raw, label)
        if not ids:
            return ""
        multiple = bool(field.get("multiple"))
        if not multiple and len(ids) != 1:
            raise QTestError(400, f"Field '{label}' accepts a single value")
        if data_type == USER_LIST:
            allowed = set(member_ids)
        else:
            allowed = {v["value"] for v in field.get("allowed_values") or [] if v.get("is_active", True)}
        for value in ids:
            if value not in allowed:
                raise QTestError(400, f"Value {value} is not an allowed value of field '{label}'")
        return "[" + ",".join(str(i) for i in ids) + "]" if multiple else str(ids[0])
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise QTestError(400, f"Field '{label}' needs a string value")
    text = str(raw)
    if data_type == NUMBER:
        try:
            float(text)
        except ValueError:
            raise QTestError(400, f"Field '{label}' needs a number, not '{text}'") from None
        return text.strip()
    if data_type in (DATE, DATE_TIME):
        return iso(parse_datetime(text, f"Field '{label}'")) or ""
    return text


def _id_list(raw: Any, label: str) -> list[int]:
    items: list[Any]
    if isinstance(raw, list):
        items = raw
    elif isinstance(raw, int) and not isinstance(raw, bool):
        items = [raw]
    elif isinstance(raw, str):
        items = [p for p in raw.strip().strip("[]").split(",") if p.strip()]
    else:
        raise QTestError(400, f"Field '{label}' needs allowed value IDs")
    ids: list[int] = []
    for item in items:
        value = int_or_none(item)
        if value is None:
            raise QTestError(400, f"'{item}' is not an allowed value ID of field '{label}'")
        ids.append(value)
    return ids
