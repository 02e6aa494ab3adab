"""Problems about unmatched users name the accounts, so the report can list each person once."""

from __future__ import annotations

import mapping_builders as mb
from test_mapping_executions import execution, log_of
from test_mapping_testcases import plan


def _accounts(planned: object, code: str) -> list[list[str]]:
    return [p.detail["account_ids"] for p in planned.problems if p.code == code and p.detail]  # type: ignore[attr-defined]


def test_user_field_problems_name_only_the_unmatched_accounts() -> None:
    reviewers = [mb.GONE, mb.ADA]
    defaulted = plan(
        mb.zephyr_test_case(customFields={"Reviewer": reviewers}),
        mappings={"default_user": "migration-bot", "users": {mb.ADA: "ada@example.com"}},
    )
    assert _accounts(defaulted, "unmapped_user") == [[mb.GONE]]
    kept = plan(mb.zephyr_test_case(customFields={"Reviewer": mb.ADA}))
    assert _accounts(kept, "custom_field_unconvertible") == [[mb.ADA]]


def test_executor_and_assignee_problems_name_their_account() -> None:
    planned = log_of(execution(1, executedById=mb.GONE))
    assert [mb.GONE] in _accounts(planned, "unmapped_user")
