"""What a rollback decides about the qTest fields ``fields apply`` added, and the preflight's
one sentence about the project-admin permission: without network or disk."""

from __future__ import annotations

import asyncio
from typing import Any

from ztoq.errors import FatalApiError
from ztoq.pipeline.fields_rollback import (
    AddedValues,
    CreatedField,
    added_values,
    created_field,
    field_query,
    in_use,
    quoted,
    searched_types,
    value_query,
)
from ztoq.pipeline.preflight_checks import WARNING
from ztoq.pipeline.preflight_config_checks import check_fields_permission


def test_store_rows_name_the_field_whatever_the_sign_of_its_id() -> None:
    row = {"object_type": "test-runs", "id": -184, "label": "Test Data Source", "choices": ["A", " "]}
    assert created_field("test-runs:-184", row) == CreatedField(
        "test-runs:-184", "test-runs", -184, "Test Data Source"
    )
    assert added_values("test-runs:-184", row) == AddedValues(
        "test-runs:-184", "test-runs", -184, "Test Data Source", ("A",)
    )
    assert created_field("k", {"object_type": "test-cases", "id": "12"}) == CreatedField(
        "k", "test-cases", 12, "k"
    )
    assert created_field("k", {"id": 3}) is None
    assert created_field("k", ["not", "a", "row"]) is None
    assert added_values("k", {"object_type": "releases", "id": 3, "choices": []}) is None


def test_queries_quote_names_and_values_in_quotes_they_do_not_hold() -> None:
    assert quoted("Legacy ID") == "'Legacy ID'"
    assert quoted("Reviewer's note") == '"Reviewer\'s note"'
    assert quoted("both ' and \"") is None
    assert field_query("Legacy ID") == "'Legacy ID' is 'not empty'"
    assert value_query("Component", "component 7") == "'Component' = 'component 7'"
    assert value_query("Component", 'it\'s "x"') is None
    assert searched_types("test-runs") == ("test-runs", "test-logs")
    assert searched_types("releases") == ("releases",)


class Searches:
    """A client whose searches answer from a table: object type -> found, or an error."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str]] = []

    async def finds_any(self, object_type: str, query: str) -> bool:
        self.asked.append((object_type, query))
        answer = self.answers.get(object_type, False)
        if isinstance(answer, Exception):
            raise answer
        return bool(answer)


def _in_use(client: Searches, object_type: str, query: str | None) -> str | None:
    return asyncio.run(in_use(client, object_type, query))  # type: ignore[arg-type]


def test_a_field_stays_while_any_entity_holds_data_in_it() -> None:
    unused = Searches({})
    assert _in_use(unused, "test-runs", "'F' is 'not empty'") is None
    assert [t for t, _ in unused.asked] == ["test-runs", "test-logs"]
    logs = Searches({"test-logs": True})
    assert "test-logs still hold data" in (_in_use(logs, "test-runs", "'F' is 'not empty'") or "")
    refused = Searches({"releases": FatalApiError("400 Unknown criteria", status=400)})
    assert "could not say" in (_in_use(refused, "releases", "'F' is 'not empty'") or "")
    unasked = Searches({})
    assert "quote" in (_in_use(unasked, "releases", None) or "")
    assert unasked.asked == []


def test_preflight_says_in_one_sentence_when_fields_apply_lacks_the_permission() -> None:
    not_admin = {"project": {"admin": False}, "test_case": {"create": True}}
    found = check_fields_permission(not_admin, 42, to_create=3, to_extend=1)
    assert len(found) == 1
    assert found[0].severity == WARNING
    assert found[0].check == "permissions"
    text = found[0].message
    assert "not a project admin of qTest project 42" in text
    assert "create the 3 missing qTest field(s) or add the missing values to 1 pick list(s)" in text
    assert ". " not in text  # one sentence
    assert text.endswith(".")
    admin = {"project": {"admin": True}}
    assert check_fields_permission(admin, 42, to_create=3, to_extend=0) == []
    assert check_fields_permission(not_admin, 42, to_create=0, to_extend=0) == []
    assert check_fields_permission(None, 42, to_create=3, to_extend=0) == []
