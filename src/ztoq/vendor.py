"""Facts the vendors publish: qTest codes and names, Zephyr Scale hosts and enumerations.

A leaf module (it imports nothing of ztoq): the product, the simulators and the tests all read
these constants from here, so a vendor fact is written down exactly once.
"""

from __future__ import annotations

from typing import Final

# -- qTest Manager v3 ----------------------------------------------------------------------------

#: Field data type codes, as Tricentis documents them for ``POST .../settings/{objectType}/fields``
#: (qtest-manager-v3-swagger.yaml): 1 Text box, 2 Text area, 3 Combo box, 4 Date picker,
#: 5 User list, 6 Rich text editor, 7 Number, 8 Check box, 9 Date time picker, 12 URL,
#: 17 Multiple selection combobox.
QTEST_TEXT: Final = 1
QTEST_TEXT_AREA: Final = 2
QTEST_PICK_LIST: Final = 3
QTEST_DATE: Final = 4
QTEST_USER_LIST: Final = 5
QTEST_RICH_TEXT: Final = 6
QTEST_NUMBER: Final = 7
QTEST_CHECKBOX: Final = 8
QTEST_DATE_TIME: Final = 9
QTEST_URL: Final = 12
QTEST_MULTI_SELECT: Final = 17

QTEST_DATA_TYPES: Final = frozenset(
    {
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
    }
)

#: ztoq's names of the data types (``fields plan`` tables, ``field_types`` in the configuration).
QTEST_DATA_TYPE_NAMES: Final = {
    QTEST_TEXT: "text",
    QTEST_TEXT_AREA: "text area",
    QTEST_PICK_LIST: "pick list",
    QTEST_DATE: "date",
    QTEST_USER_LIST: "user list",
    QTEST_RICH_TEXT: "rich text",
    QTEST_NUMBER: "number",
    QTEST_CHECKBOX: "checkbox",
    QTEST_DATE_TIME: "date time",
    QTEST_URL: "url",
    QTEST_MULTI_SELECT: "multi-select",
}


def qtest_data_type(given: object) -> int | None:
    """The data type code a name ("Text Area", "text_area", "textarea") or a code (2) stands for."""
    if isinstance(given, int) and not isinstance(given, bool):
        return given if given in QTEST_DATA_TYPE_NAMES else None

    def letters(text: str) -> str:
        return "".join(c for c in text.casefold() if c.isalnum())

    wanted = letters(str(given))
    return next((code for code, name in QTEST_DATA_TYPE_NAMES.items() if letters(name) == wanted), None)


#: Object types accepted by ``/settings/{objectType}/fields`` (the Swagger's enum). Test cycles
#: are not among them: qTest has no custom fields on test cycles (TestCycleResource has no
#: ``properties``).
QTEST_FIELD_OBJECT_TYPES: Final = (
    "releases",
    "builds",
    "requirements",
    "test-cases",
    "test-steps",
    "defects",
    "test-suites",
    "test-runs",
)

#: qTest object types whose field settings ztoq reads and stores for transform.
QTEST_SETTINGS_OBJECT_TYPES: Final = ("test-cases", "test-runs", "releases", "test-suites")

#: ``parentType`` values of test cycles and test runs.
QTEST_PARENT_ROOT: Final = "root"
QTEST_PARENT_RELEASE: Final = "release"
QTEST_PARENT_CYCLE: Final = "test-cycle"

#: The largest page qTest's paged listings serve (``pageSize``/``size``: "up to 999", Swagger).
QTEST_MAX_PAGE_SIZE: Final = 999

#: Permission areas of a qTest user profile (``GET /user-profiles/current``: the keys holding a
#: ``*Permission`` object), and the actions ztoq checks in them.
QTEST_PERMISSION_AREAS: Final = (
    "release",
    "build",
    "module",
    "requirement",
    "test_case",
    "test_cycle",
    "test_suite",
    "test_run",
    "defect",
    "session",
    "schedule",
)
QTEST_PERMISSION_ACTIONS: Final = ("view", "create", "edit", "delete", "approve", "execute")

# -- Zephyr Scale ------------------------------------------------------------------------------

#: Zephyr Scale Cloud API hosts per region; a token only works in the region of its Jira site.
ZEPHYR_REGIONS: Final = {
    "api.zephyrscale.smartbear.com": "eu.api.zephyrscale.smartbear.com",
    "eu.api.zephyrscale.smartbear.com": "api.zephyrscale.smartbear.com",
}

ZEPHYR_CLOUD_EXAMPLE: Final = "https://api.zephyrscale.smartbear.com/v2"

#: Where a Jira Server/Data Center site serves the Zephyr Scale REST API v1 (below the site URL).
ZEPHYR_SERVER_API_PATH: Final = "/rest/atm/1.0"
#: Jira's own REST API on a Server/Data Center site (projects, users), same credentials.
JIRA_SERVER_API_PATH: Final = "/rest/api/2"
#: Zephyr Scale Server's default ``maxResults`` of the search endpoints (the v1 spec's words).
ZEPHYR_SERVER_DEFAULT_MAX_RESULTS: Final = 200

#: Zephyr folder types (``Folder.folderType``).
ZEPHYR_FOLDER_TEST_CASE: Final = "TEST_CASE"
ZEPHYR_FOLDER_TEST_PLAN: Final = "TEST_PLAN"
ZEPHYR_FOLDER_TEST_CYCLE: Final = "TEST_CYCLE"
ZEPHYR_FOLDER_TYPES: Final = (ZEPHYR_FOLDER_TEST_CASE, ZEPHYR_FOLDER_TEST_PLAN, ZEPHYR_FOLDER_TEST_CYCLE)

#: The Zephyr issue link type meaning "this test case covers that Jira issue" (``IssueLink.type``).
ZEPHYR_ISSUE_LINK_COVERAGE: Final = "COVERAGE"

#: Zephyr Scale Cloud test script types (``TestScript.type``) that hold text rather than steps.
ZEPHYR_SCRIPT_PLAIN: Final = "plain"
ZEPHYR_SCRIPT_BDD: Final = "bdd"
