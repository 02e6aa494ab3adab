"""Converting one Zephyr value into the ``field_value`` string of one qTest field, by data type.

qTest takes every property as ``{"field_id": ..., "field_value": "<string>"}``. What the string holds
depends on the field (verified against public qTest API clients, see docs/mapping.md):

* pick list: the allowed value's id, e.g. ``"601"``;
* multi-select and multiple user list: the ids as a JSON array without spaces, e.g. ``"[1,2]"``;
* date / date time: ISO-8601 in UTC with milliseconds, e.g. ``"2024-05-01T00:00:00.000Z"``;
* number: the decimal number, ``"20"``, ``"2.5"``; checkbox: ``"true"`` / ``"false"``;
* text and text area: the text; rich text: HTML.

A value that cannot be converted raises :class:`UnconvertibleValue` with the reason; callers keep
it in the "Zephyr fields" block instead (nothing is dropped).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from ztoq.mapping.lookups import TargetField, fold
from ztoq.mapping.text import text_to_html
from ztoq.vendor import (
    QTEST_CHECKBOX,
    QTEST_DATE,
    QTEST_DATE_TIME,
    QTEST_MULTI_SELECT,
    QTEST_NUMBER,
    QTEST_PICK_LIST,
    QTEST_RICH_TEXT,
    QTEST_TEXT,
    QTEST_TEXT_AREA,
    QTEST_USER_LIST,
)


class UnconvertibleValue(ValueError):
    """A value the target field cannot hold; the message says why in one sentence."""


class Kind(StrEnum):
    """How a qTest field's value is written."""

    TEXT = "text"
    TEXT_AREA = "text area"
    RICH_TEXT = "rich text"
    PICK_LIST = "pick list"
    MULTI_SELECT = "multi-select"
    DATE = "date"
    DATE_TIME = "date time"
    NUMBER = "number"
    CHECKBOX = "checkbox"
    USER = "user list"


_BY_DATA_TYPE: dict[int, Kind] = {
    QTEST_TEXT: Kind.TEXT,
    QTEST_TEXT_AREA: Kind.TEXT_AREA,
    QTEST_RICH_TEXT: Kind.RICH_TEXT,
    QTEST_PICK_LIST: Kind.PICK_LIST,
    QTEST_MULTI_SELECT: Kind.MULTI_SELECT,
    QTEST_DATE: Kind.DATE,
    QTEST_DATE_TIME: Kind.DATE_TIME,
    QTEST_NUMBER: Kind.NUMBER,
    QTEST_CHECKBOX: Kind.CHECKBOX,
    QTEST_USER_LIST: Kind.USER,
}


def field_kind(target: TargetField) -> Kind:
    """The kind of a field: by ``data_type``, else guessed from ``attribute_type``/allowed values.

    qTest system fields report data types outside the custom-field codes (Tricentis' own sample
    shows a pick list with ``data_type`` 13), so an unknown code falls back to what the field
    shows: allowed values make it a choice, ``attribute_type`` "Date"/"Number"/"Boolean" the rest.
    """
    kind = _BY_DATA_TYPE.get(target.data_type) if target.data_type is not None else None
    if kind is None:
        attribute = (target.attribute_type or "").casefold()
        if target.allowed_values or attribute.startswith("array"):
            kind = Kind.PICK_LIST
        elif "date" in attribute:
            kind = Kind.DATE_TIME
        elif attribute.startswith("number") or attribute in ("integer", "long", "double"):
            kind = Kind.NUMBER
        elif attribute.startswith("bool"):
            kind = Kind.CHECKBOX
        else:
            kind = Kind.TEXT
    if kind is Kind.PICK_LIST and target.multiple:
        return Kind.MULTI_SELECT
    return kind


def is_empty(value: Any) -> bool:
    """True for what carries no information: None, "", whitespace, [] and {}."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, Sequence | Mapping) and len(value) == 0


def display(value: Any) -> str:
    """A Zephyr value as text for the "Zephyr fields" block (lists joined with ", ")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        # User pickers and Jira links arrive as objects; their identifying member is the value.
        for key in ("accountId", "name", "key", "value", "id"):
            if key in value:
                return display(value[key])
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, Sequence):
        return ", ".join(display(v) for v in value)
    return str(value)


def _items(value: Any) -> list[Any]:
    if isinstance(value, str | Mapping) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def format_timestamp(moment: datetime) -> str:
    """A datetime as qTest takes it: UTC, milliseconds, "Z" (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(value: Any) -> datetime:
    """A Zephyr date or date-time (``2018-05-20T13:15:13Z``, ``2020-01-01``) as an aware datetime.

    Raises:
        UnconvertibleValue: not a date.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        raise UnconvertibleValue(f"{display(value)!r} is not a date")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UnconvertibleValue(f"{value!r} is not an ISO-8601 date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def shift_ms(value: Any, milliseconds: int) -> str:
    """``value`` (a timestamp) moved by ``milliseconds``, formatted for qTest."""
    return format_timestamp(parse_timestamp(value) + timedelta(milliseconds=milliseconds))


def _date(value: Any) -> str:
    # A date field holds a calendar day as the user entered it: the day written, not its UTC shift.
    moment = parse_timestamp(value)
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T00:00:00.000Z"


def _number(value: Any) -> str:
    if isinstance(value, bool):
        raise UnconvertibleValue(f"{display(value)!r} is a yes/no value, not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise UnconvertibleValue(f"{display(value)!r} is not a number") from None
    if not number.is_finite():
        raise UnconvertibleValue(f"{display(value)!r} is not a finite number")
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


_TRUE = frozenset({"true", "yes", "y", "1", "on", "checked"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "unchecked"})


def _truth(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = display(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UnconvertibleValue(f"{display(value)!r} is not a yes/no value")


def _checkbox(value: Any, target: TargetField) -> str:
    """A check box value.

    Tricentis' v3 Swagger describes check box fields (data type 8) as multi-value pick lists: the
    field lists its allowed value(s) (e.g. "Yes") and a checked box holds that value's id. An
    unchecked box holds no value. Only a field that lists no allowed values takes "true"/"false".
    """
    checked = _truth(value)
    if not target.allowed_values:
        return "true" if checked else "false"
    if not checked:
        return "[]" if target.multiple else ""
    choice = next((v for v in target.allowed_values if fold(v.label) in _TRUE), target.allowed_values[0])
    return _id_array([choice.value]) if target.multiple else str(choice.value)


def _choice_ids(value: Any, target: TargetField) -> list[int]:
    ids: list[int] = []
    for item in _items(value):
        label = display(item)
        choice = target.choice(label)
        if choice is None:
            known = ", ".join(v.label for v in target.allowed_values) or "none"
            raise UnconvertibleValue(f"{label!r} is not a choice of {target.label!r} (choices: {known})")
        if choice.value not in ids:
            ids.append(choice.value)
    return ids


def _listed_choices(value: Any, target: TargetField) -> Any:
    """A multi-choice value written as one comma-separated text (``"UI, API"``) as its labels.

    Zephyr Scale Server sends multi-choice custom fields that way. The text is split only when it
    is not itself a choice and every part is one, so a label holding a comma still matches whole.
    """
    if not isinstance(value, str) or "," not in value or target.choice(value) is not None:
        return value
    parts = [part.strip() for part in value.split(",") if part.strip()]
    return parts if parts and all(target.choice(part) is not None for part in parts) else value


def _id_array(ids: Sequence[int]) -> str:
    return "[" + ",".join(str(i) for i in ids) + "]"


def _user_ids(value: Any, resolve_user: Callable[[str], int | None]) -> list[int]:
    ids: list[int] = []
    for item in _items(value):
        account = display(item)
        user_id = resolve_user(account)
        if user_id is None:
            raise UnconvertibleValue(f"Jira user {account!r} has no qTest user in mappings.users")
        if user_id not in ids:
            ids.append(user_id)
    return ids


def _no_user(_: str) -> int | None:
    return None


def convert_value(
    value: Any, target: TargetField, resolve_user: Callable[[str], int | None] = _no_user
) -> str:
    """The ``field_value`` string for ``value`` in ``target``.

    Args:
        value: a Zephyr value (string, number, bool, list, user object).
        target: the qTest field.
        resolve_user: Jira account id -> qTest user id (None when unmapped), for user lists.

    Raises:
        UnconvertibleValue: the value does not fit the field (unknown choice, bad date, ...).
    """
    kind = field_kind(target)
    if kind in (Kind.TEXT, Kind.TEXT_AREA):
        return display(value)
    if kind is Kind.RICH_TEXT:
        return text_to_html(display(value))
    if kind is Kind.PICK_LIST:
        ids = _choice_ids(value, target)
        if len(ids) != 1:
            raise UnconvertibleValue(f"{target.label!r} holds one choice, not {len(ids)}")
        return str(ids[0])
    if kind is Kind.MULTI_SELECT:
        return _id_array(_choice_ids(_listed_choices(value, target), target))
    if kind is Kind.USER:
        ids = _user_ids(value, resolve_user)
        if target.multiple:
            return _id_array(ids)
        if len(ids) != 1:
            raise UnconvertibleValue(f"{target.label!r} holds one user, not {len(ids)}")
        return str(ids[0])
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 1:
            raise UnconvertibleValue(f"{target.label!r} holds one {kind}, not a list of {len(value)}")
        value = value[0]
    if kind is Kind.DATE:
        return _date(value)
    if kind is Kind.DATE_TIME:
        return format_timestamp(parse_timestamp(value))
    if kind is Kind.NUMBER:
        return _number(value)
    return _checkbox(value, target)


def duration_text(milliseconds: int) -> str:
    """A duration as people read it, with the exact milliseconds: "2m 18s (138000 ms)"."""
    seconds, ms = divmod(milliseconds, 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes else []
    parts += [f"{secs}s"] if secs or not parts else []
    parts += [f"{ms}ms"] if ms else []
    return f"{' '.join(parts)} ({milliseconds} ms)"


def duration_minutes(milliseconds: int) -> str:
    """A duration in minutes as a decimal number (138000 ms -> "2.3") for number fields.

    Raises:
        UnconvertibleValue: the minutes need more than 4 decimals (the exact value goes to text).
    """
    minutes = Decimal(milliseconds) / Decimal(60_000)
    rounded = minutes.quantize(Decimal("0.0001"))
    if rounded != minutes:
        raise UnconvertibleValue(f"{milliseconds} ms is not a whole number of 1/10000 minutes")
    return _number(rounded)
