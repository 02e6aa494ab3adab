"""The strict TQL subset of the Zephyr Scale Server simulator: what it parses, matches and refuses."""

from __future__ import annotations

import pytest

from ztoq.simulators.zephyr_server.tql import (
    TEST_CASE_FIELDS,
    TEST_RUN_FIELDS,
    Clause,
    TqlError,
    matches,
    parse_query,
)


def cases(text: str) -> tuple[Clause, ...]:
    return parse_query(text, TEST_CASE_FIELDS, "test cases")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('projectKey = "DC"', (Clause("projectKey", ("DC",)),)),
        ('projectKey IN ("DC", "QA")', (Clause("projectKey", ("DC", "QA")),)),
        ('projectKey IN ("DC","QA")', (Clause("projectKey", ("DC", "QA")),)),
        ('key = "DC-T1"', (Clause("key", ("DC-T1",)),)),
        ('key IN ("DC-T1", "QA-T9")', (Clause("key", ("DC-T1", "QA-T9")),)),
        ('folder = "/"', (Clause("folder", ("/",)),)),
        ('folder IN ("/A", "/A/B")', (Clause("folder", ("/A", "/A/B")),)),
        ('status = "Draft"', (Clause("status", ("Draft",)),)),
        ('name = "Say \\"hi\\" AND go"', (Clause("name", ('Say "hi" AND go',)),)),
        (
            'projectKey = "DC" AND folder = "/Orbiter" AND status IN ("Draft", "Approved")',
            (
                Clause("projectKey", ("DC",)),
                Clause("folder", ("/Orbiter",)),
                Clause("status", ("Draft", "Approved")),
            ),
        ),
    ],
)
def test_the_supported_forms_parse_into_clauses(text: str, expected: tuple[Clause, ...]) -> None:
    assert cases(text) == expected


def test_no_query_matches_everything() -> None:
    assert cases("") == ()
    assert parse_query(None, TEST_CASE_FIELDS, "test cases") == ()
    assert matches({"key": "DC-T1"}, ())


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('projectKey = "DC" OR projectKey = "QA"', "OR is not supported"),
        ('projectKey = "DC" and status = "Draft"', "AND (upper case)"),
        ("projectKey = DC", "double quotes"),
        ("projectKey = 'DC'", "double quotes"),
        ('projectKey="DC"', "one space is required between"),
        ('projectKey  = "DC"', "only one space"),
        ('projectKey =  "DC"', "only one space"),
        ('projectKey ="DC"', "one space is required after '='"),
        ('projectKey = "DC"  AND status = "Draft"', "expected ' AND '"),
        ('projectKey = "DC" ', "expected ' AND '"),
        (' projectKey = "DC"', "expected a field name"),
        ('projectKey in ("DC")', "must be written 'IN'"),
        ('projectKey IN("DC")', "must be written 'IN'"),
        ('projectKey LIKE "DC"', "unknown operator 'LIKE'"),
        ('projectKey IN "DC"', "expected '('"),
        ('projectKey IN ("DC" "QA")', "expected ',' or ')'"),
        ('estimatedTime > "100"', "the field 'estimatedTime' is not supported"),
        ('status >= "Draft"', "operator '>=' is not supported"),
        ('status != "Draft"', "operator '!=' is not supported"),
        ('"My Field" = "x"', "custom fields"),
        ('colour = "red"', "the field 'colour' is not supported for test cases"),
        ('name = "open', "no closing double quote"),
        ('folder = "Orbiter"', "must start with '/'"),
    ],
)
def test_queries_outside_the_subset_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(TqlError) as caught:
        cases(text)
    assert reason in str(caught.value)


def test_test_runs_accept_only_project_key_and_folder() -> None:
    assert parse_query('projectKey = "DC" AND folder = "/R"', TEST_RUN_FIELDS, "test runs")
    with pytest.raises(TqlError) as caught:
        parse_query('status = "Done"', TEST_RUN_FIELDS, "test runs")
    assert "not supported for test runs (use folder, projectKey)" in str(caught.value)


def test_error_messages_say_where_the_query_went_wrong() -> None:
    with pytest.raises(TqlError) as caught:
        cases('projectKey = "DC" AND status = Draft')
    assert "character 32 ('Draft')" in str(caught.value)


def test_matching_folders_is_exact_and_a_missing_folder_is_the_root() -> None:
    root, child = {"key": "A-T1"}, {"key": "A-T2", "folder": "/Orbiter/Cargo"}
    assert matches(root, cases('folder = "/"'))
    assert not matches(child, cases('folder = "/"'))
    assert not matches(child, cases('folder = "/Orbiter"'))
    assert matches(child, cases('folder IN ("/Orbiter", "/Orbiter/Cargo")'))


def test_matching_other_fields_labels_and_conjunctions() -> None:
    case = {"key": "DC-T1", "projectKey": "DC", "status": "Draft", "labels": ["Smoke", "UI"]}
    assert matches(case, cases('projectKey = "DC" AND key IN ("DC-T1", "DC-T2")'))
    assert not matches(case, cases('projectKey = "DC" AND status = "Approved"'))
    assert matches(case, cases('labels IN ("UI")'))
    assert not matches(case, cases('labels = "API"'))
    assert not matches(case, cases('priority = "High"'))  # no such field on the entity
