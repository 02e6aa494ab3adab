"""Value conversion by qTest data type (ztoq.mapping.fields)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import mapping_builders as mb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ztoq.mapping.fields import (
    Kind,
    UnconvertibleValue,
    convert_value,
    display,
    duration_minutes,
    duration_text,
    field_kind,
    format_timestamp,
    is_empty,
    parse_timestamp,
    shift_ms,
)
from ztoq.mapping.lookups import TargetField
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


def make(data_type: int | None, *values: tuple[int, str], **more: object) -> TargetField:
    raw = mb.qfield(99, "F", data_type or 0, *(mb.choice(v, label) for v, label in values), **more)
    if data_type is None:
        raw.pop("data_type")
    field = TargetField.from_resource(raw)
    assert field is not None
    return field


LABELS = ("UI", "API", "Database", "Security")
MULTI = make(QTEST_MULTI_SELECT, *zip((61, 62, 63, 64), LABELS, strict=True), multiple=True)
PICK = make(QTEST_PICK_LIST, (41, "Not Automated"), (42, "In Progress"), (43, "Automated"))


@pytest.mark.parametrize(
    ("data_type", "multiple", "kind"),
    [
        (QTEST_TEXT, False, Kind.TEXT),
        (QTEST_TEXT_AREA, False, Kind.TEXT_AREA),
        (QTEST_RICH_TEXT, False, Kind.RICH_TEXT),
        (QTEST_PICK_LIST, False, Kind.PICK_LIST),
        (QTEST_PICK_LIST, True, Kind.MULTI_SELECT),
        (QTEST_MULTI_SELECT, True, Kind.MULTI_SELECT),
        (QTEST_DATE, False, Kind.DATE),
        (QTEST_DATE_TIME, False, Kind.DATE_TIME),
        (QTEST_NUMBER, False, Kind.NUMBER),
        (QTEST_CHECKBOX, False, Kind.CHECKBOX),
        (QTEST_USER_LIST, True, Kind.USER),
    ],
)
def test_kind_by_data_type(data_type: int, multiple: bool, kind: Kind) -> None:
    assert field_kind(make(data_type, (1, "a"), multiple=multiple)) is kind


@pytest.mark.parametrize(
    ("attribute_type", "values", "kind"),
    [
        ("Number", ((1, "Functional"),), Kind.PICK_LIST),  # Tricentis' own sample: data_type 13
        ("ArrayNumber", (), Kind.PICK_LIST),
        ("Date", (), Kind.DATE_TIME),
        ("Number", (), Kind.NUMBER),
        ("Boolean", (), Kind.CHECKBOX),
        ("String", (), Kind.TEXT),
        (None, (), Kind.TEXT),
    ],
)
def test_unknown_data_type_falls_back_to_what_the_field_shows(
    attribute_type: str | None, values: tuple[tuple[int, str], ...], kind: Kind
) -> None:
    field = make(13, *values, attribute_type=attribute_type)
    assert field_kind(field) is kind


def test_text_fields_take_strings_and_join_lists() -> None:
    text = make(QTEST_TEXT)
    assert convert_value("Plain", text) == "Plain"
    assert convert_value(["Regression", "Smoke"], text) == "Regression, Smoke"
    assert convert_value(20, make(QTEST_TEXT_AREA)) == "20"
    assert convert_value(True, text) == "true"
    assert convert_value({"accountId": mb.ADA}, text) == mb.ADA


def test_text_keeps_html_unicode_and_script_untouched() -> None:
    value = "<b>ünïcødé</b> 🚀 שלום <script>alert(1)</script>"
    assert convert_value(value, make(QTEST_TEXT)) == value
    assert convert_value(value, make(QTEST_RICH_TEXT)) == value


def test_rich_text_turns_plain_newlines_into_br() -> None:
    assert convert_value("line 1\nline 2", make(QTEST_RICH_TEXT)) == "line 1<br>line 2"


def test_pick_list_takes_the_choice_id_case_insensitively() -> None:
    assert convert_value("Automated", PICK) == "43"
    assert convert_value("  in progress ", PICK) == "42"
    assert convert_value(["Automated"], PICK) == "43"


def test_pick_list_rejects_unknown_labels_and_several_choices() -> None:
    with pytest.raises(UnconvertibleValue, match="not a choice"):
        convert_value("Manual", PICK)
    with pytest.raises(UnconvertibleValue, match="one choice"):
        convert_value(["Automated", "In Progress"], PICK)


def test_inactive_choices_are_not_offered() -> None:
    raw = mb.qfield(1, "P", QTEST_PICK_LIST, mb.choice(1, "Old", active=False), mb.choice(2, "New"))
    field = TargetField.from_resource(raw)
    assert field is not None
    with pytest.raises(UnconvertibleValue):
        convert_value("Old", field)


def test_multi_select_is_a_json_array_of_ids() -> None:
    assert convert_value(["UI", "Security"], MULTI) == "[61,64]"
    assert convert_value("API", MULTI) == "[62]"
    assert convert_value(["ui", "UI"], MULTI) == "[61]"


def test_multi_select_with_one_unknown_label_is_unconvertible_as_a_whole() -> None:
    with pytest.raises(UnconvertibleValue, match="Performance"):
        convert_value(["UI", "Performance"], MULTI)


def test_multi_select_takes_comma_separated_text() -> None:
    # Zephyr Scale Server sends multi-choice custom fields as one text: "UI, API".
    assert convert_value("UI, API", MULTI) == "[61,62]"
    assert convert_value(" security ,ui,", MULTI) == "[64,61]"
    with pytest.raises(UnconvertibleValue, match="'UI, Performance'"):
        convert_value("UI, Performance", MULTI)
    with pytest.raises(UnconvertibleValue, match="not a choice"):
        convert_value("UI, API", PICK)
    assert convert_value("UI, API", make(QTEST_TEXT)) == "UI, API"


def test_a_choice_holding_a_comma_matches_whole() -> None:
    field = make(QTEST_MULTI_SELECT, (1, "A"), (2, "B"), (3, "A, B"), multiple=True)
    assert convert_value("A, B", field) == "[3]"


@given(st.lists(st.sampled_from(LABELS), min_size=1, unique=True))
def test_multi_select_round_trip(labels: list[str]) -> None:
    ids = json.loads(convert_value(labels, MULTI))
    by_id = {v.value: v.label for v in MULTI.allowed_values}
    assert [by_id[i] for i in ids] == labels


def test_dates() -> None:
    assert convert_value("2020-01-01", make(QTEST_DATE)) == "2020-01-01T00:00:00.000Z"
    # The calendar day as written, whatever the offset.
    assert convert_value("2024-05-01T23:30:00-05:00", make(QTEST_DATE)) == "2024-05-01T00:00:00.000Z"
    assert convert_value("2018-05-20T13:15:13Z", make(QTEST_DATE_TIME)) == "2018-05-20T13:15:13.000Z"
    assert convert_value("2018-05-20T15:15:13+02:00", make(QTEST_DATE_TIME)) == "2018-05-20T13:15:13.000Z"
    assert convert_value(date(2021, 2, 3), make(QTEST_DATE)) == "2021-02-03T00:00:00.000Z"


@pytest.mark.parametrize("bad", ["2020-13-01", "yesterday", "", 20200101, ["2020-01-01", "2020-01-02"]])
def test_bad_dates_are_unconvertible(bad: object) -> None:
    with pytest.raises(UnconvertibleValue):
        convert_value(bad, make(QTEST_DATE))


@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_date_round_trip(day: date) -> None:
    out = convert_value(day.isoformat(), make(QTEST_DATE))
    assert parse_timestamp(out).date() == day


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
        ),
    )
)
def test_timestamp_round_trip_to_the_millisecond(moment: datetime) -> None:
    out = format_timestamp(moment)
    assert out.endswith("Z")
    assert abs(parse_timestamp(out) - moment) < timedelta(milliseconds=1)


def test_shift_ms_moves_a_timestamp() -> None:
    assert shift_ms("2018-05-20T13:15:13Z", -120000) == "2018-05-20T13:13:13.000Z"


def test_numbers() -> None:
    number = make(QTEST_NUMBER)
    assert convert_value(20, number) == "20"
    assert convert_value(2.5, number) == "2.5"
    assert convert_value("3.0", number) == "3"
    assert convert_value(" -7 ", number) == "-7"
    assert convert_value(1e20, number) == "100000000000000000000"
    for bad in (True, "twelve", float("nan"), float("inf"), [1, 2]):
        with pytest.raises(UnconvertibleValue):
            convert_value(bad, number)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**9), max_value=10**9))
def test_number_round_trip(value: Decimal) -> None:
    assert Decimal(convert_value(value, make(QTEST_NUMBER))) == value


def test_checkboxes_without_allowed_values_take_true_false() -> None:
    box = make(QTEST_CHECKBOX)
    assert convert_value(True, box) == "true"
    assert convert_value(False, box) == "false"
    assert convert_value("Yes", box) == "true"
    assert convert_value("0", box) == "false"
    with pytest.raises(UnconvertibleValue):
        convert_value("maybe", box)


def test_checkboxes_with_allowed_values_hold_the_checked_value_id() -> None:
    # Tricentis' v3 Swagger: check box fields are multi-value pick lists ("Yes" checked).
    box = make(QTEST_CHECKBOX, (801, "Yes"), multiple=True)
    assert convert_value(True, box) == "[801]"
    assert convert_value("checked", box) == "[801]"
    assert convert_value(False, box) == "[]"
    single = make(QTEST_CHECKBOX, (5, "Enabled"), (6, "Yes"))
    assert convert_value(True, single) == "6"
    assert convert_value(False, single) == ""
    with pytest.raises(UnconvertibleValue):
        convert_value("maybe", box)


@given(st.booleans())
def test_checkbox_round_trip(value: bool) -> None:
    assert convert_value(value, make(QTEST_CHECKBOX)) == str(value).lower()


def test_user_lists_resolve_accounts() -> None:
    single = make(QTEST_USER_LIST)
    multiple = make(QTEST_USER_LIST, multiple=True)
    users = {mb.ADA: 501, mb.GRACE: 502}
    assert convert_value(mb.ADA, single, users.get) == "501"
    assert convert_value({"accountId": mb.ADA}, single, users.get) == "501"
    assert convert_value([mb.ADA, mb.GRACE], multiple, users.get) == "[501,502]"
    assert convert_value(mb.ADA, multiple, users.get) == "[501]"
    with pytest.raises(UnconvertibleValue, match="no qTest user"):
        convert_value(mb.GONE, single, users.get)
    with pytest.raises(UnconvertibleValue, match="one user"):
        convert_value([mb.ADA, mb.GRACE], single, users.get)


def test_display_and_emptiness() -> None:
    assert display(None) == ""
    assert display(["a", 1, False]) == "a, 1, false"
    assert display({"id": 10001, "self": "x"}) == "10001"
    assert display({"other": 1}) == '{"other": 1}'
    empties: tuple[object, ...] = (None, "", "  ", [], {})
    assert all(is_empty(v) for v in empties)
    assert not any(is_empty(v) for v in (0, False, "x", [0]))


def test_durations() -> None:
    assert duration_text(138000) == "2m 18s (138000 ms)"
    assert duration_text(3_600_500) == "1h 500ms (3600500 ms)"
    assert duration_text(0) == "0s (0 ms)"
    assert duration_minutes(138000) == "2.3"
    assert duration_minutes(60000) == "1"
    with pytest.raises(UnconvertibleValue):
        duration_minutes(1)
