"""What the generated Zephyr project and the generated qTest target project agree on.

``ztoq simulate zephyr --generate N`` builds a Zephyr project whose custom fields, users and
environments are listed here; ``ztoq simulate qtest --generate N`` builds a qTest project ready to
receive it (the same field labels where a real admin would have created them, and some fields
deliberately missing so the "Zephyr fields" fallback is exercised).
"""

from __future__ import annotations

from dataclasses import dataclass

# qTest field data types: the vendor facts live in ztoq.vendor (see docs/simulators-qtest.md).
from ztoq.vendor import (
    QTEST_CHECKBOX,
    QTEST_DATE,
    QTEST_MULTI_SELECT,
    QTEST_NUMBER,
    QTEST_PICK_LIST,
    QTEST_RICH_TEXT,
    QTEST_TEXT,
    QTEST_USER_LIST,
)


@dataclass(frozen=True)
class CustomFieldSpec:
    """One Zephyr custom field and the qTest field (if any) a real target project would have."""

    zephyr_name: str
    #: SINGLE_LINE_TEXT, MULTI_LINE_TEXT, SINGLE_CHOICE, MULTI_CHOICE, NUMBER, DECIMAL, DATE,
    #: CHECKBOX or USER_PICKER.
    zephyr_type: str
    qtest_label: str | None  # None: the target has no such field (value goes to the "Zephyr fields" block)
    qtest_data_type: int | None
    options: tuple[str, ...] = ()


TEST_CASE_FIELDS: tuple[CustomFieldSpec, ...] = (
    CustomFieldSpec(
        "Automation Status",
        "SINGLE_CHOICE",
        "Automation Status",
        QTEST_PICK_LIST,
        ("Not Automated", "In Progress", "Automated"),
    ),
    # Mapped by name through the custom field map (Zephyr "Requirement ID" -> qTest "Requirement").
    CustomFieldSpec("Requirement ID", "SINGLE_LINE_TEXT", "Requirement", QTEST_TEXT),
    CustomFieldSpec(
        "Test Areas", "MULTI_CHOICE", "Test Areas", QTEST_MULTI_SELECT, ("UI", "API", "Database", "Security")
    ),
    CustomFieldSpec("Review Date", "DATE", "Review Date", QTEST_DATE),
    CustomFieldSpec("Story Points", "NUMBER", "Story Points", QTEST_NUMBER),
    CustomFieldSpec("Regression", "CHECKBOX", "Regression", QTEST_CHECKBOX),
    CustomFieldSpec("Reviewer", "USER_PICKER", "Reviewer", QTEST_USER_LIST),
    CustomFieldSpec("Notes", "MULTI_LINE_TEXT", "Notes", QTEST_RICH_TEXT),
    CustomFieldSpec("Legacy ID", "SINGLE_LINE_TEXT", None, None),
)

TEST_CYCLE_FIELDS: tuple[CustomFieldSpec, ...] = (
    CustomFieldSpec("Sprint", "SINGLE_LINE_TEXT", "Sprint Number", QTEST_TEXT),
    CustomFieldSpec("Build", "SINGLE_LINE_TEXT", None, None),
)

TEST_EXECUTION_FIELDS: tuple[CustomFieldSpec, ...] = (
    CustomFieldSpec(
        "Browser", "SINGLE_CHOICE", "Browser Version", QTEST_PICK_LIST, ("Chrome", "Firefox", "Safari")
    ),
    CustomFieldSpec("Defect Notes", "MULTI_LINE_TEXT", None, None),
)

TEST_PLAN_FIELDS: tuple[CustomFieldSpec, ...] = (
    CustomFieldSpec("Release Train", "SINGLE_LINE_TEXT", None, None),
)

#: The seed guide's custom_fields_map.yaml for the generated project.
DEMO_CUSTOM_FIELD_MAP: dict[str, dict[str, str]] = {
    "test_case": {"Requirement ID": "Requirement"},
    "test_cycle": {"Sprint": "Sprint Number"},
    "test_execution": {"Browser": "Browser Version"},
}


@dataclass(frozen=True)
class UserSpec:
    """A person known to Jira (by Atlassian account id) and, unless ``qtest_login`` is None, to qTest.

    Attributes:
        account_id: the Atlassian account id Zephyr Scale Cloud names them by.
        display_name: their Jira display name (qTest's first and last name too).
        qtest_login: the qTest login the demo's hand-written ``mappings.users`` maps them to;
            None for someone that map leaves out.
        jira_email: the e-mail Jira's user API shows; None when their profile hides it (Jira
            Cloud then omits ``emailAddress``).
        qtest_other_login: a qTest login under another e-mail than Jira's, which only a match by
            display name finds (``ztoq users plan``).
    """

    account_id: str
    display_name: str
    qtest_login: str | None
    jira_email: str | None = None
    qtest_other_login: str | None = None


USERS: tuple[UserSpec, ...] = (
    UserSpec("5b10a2844c20165700ede21g", "Ada Lovelace", "ada@example.com", "ada@example.com"),
    UserSpec("5b10ac8d82e05b22cc7d4ef5", "Grace Hopper", "grace@example.com", "grace@example.com"),
    UserSpec("60e5a1b2c3d4e5f6a7b8c9d0", "Alan Turing", "alan@example.com", "alan@example.com"),
    UserSpec(
        "712020:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        "José Müller-Ñúñez",
        "jose@example.com",
        "jose@example.com",
    ),
    # Someone who left: the hand-written map leaves them out, so executions by them are "unmapped
    # user" cases; Jira hides their e-mail, and qTest knows them under a partner address.
    UserSpec(
        "557058:aa11bb22-cc33-dd44-ee55-ff6677889900",
        "Former Contractor",
        None,
        qtest_other_login="f.contractor@partner.example.org",
    ),
)

ENVIRONMENTS: tuple[str, ...] = ("Chrome Latest", "Firefox ESR", "Safari 17", "Android 14")

#: Zephyr execution statuses of the generated project; the last one is a custom status.
EXECUTION_STATUSES: tuple[str, ...] = (
    "Not Executed",
    "In Progress",
    "Pass",
    "Fail",
    "Blocked",
    "Retest Needed",
)
TEST_CASE_STATUSES: tuple[str, ...] = ("Draft", "Approved", "Deprecated")
PRIORITIES: tuple[str, ...] = ("High", "Normal", "Low")

#: qTest field label holding the Zephyr key of every migrated entity.
SOURCE_KEY_FIELD = "Zephyr Key"
