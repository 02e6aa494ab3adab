"""Canonical source records: what a source adapter reads, in names and types no source owns.

Mapping plans qTest entities from these records only, so a second source (Zephyr Scale Server /
Data Center, whose REST API names statuses instead of numbering them, writes folders as paths
such as ``/A/B`` and numbers step results from 0) is one more adapter that fills the same records.
Each record carries what the source said and nothing more: a member the source left out is None
(or empty), and deciding what that means (a default, a placeholder name, a Problem) is mapping's
job. Text is kept as the source wrote it (rich text as HTML, timestamps as ISO-8601 text), and
custom field values as the JSON they arrived as.

A leaf module: it imports only vendor facts, so mapping can read it without loading any client.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from ztoq.vendor import (
    ZEPHYR_FOLDER_TEST_CASE,
    ZEPHYR_FOLDER_TEST_CYCLE,
    ZEPHYR_FOLDER_TEST_PLAN,
    ZEPHYR_ISSUE_LINK_COVERAGE,
    ZEPHYR_SCRIPT_BDD,
    ZEPHYR_SCRIPT_PLAIN,
)

#: A custom field's value, as the source's JSON holds it (text, number, yes/no, list, user, ...).
FieldValue = Any


class FolderKind(StrEnum):
    """What a folder holds; each kind is its own tree."""

    TEST_CASE = ZEPHYR_FOLDER_TEST_CASE
    TEST_PLAN = ZEPHYR_FOLDER_TEST_PLAN
    TEST_CYCLE = ZEPHYR_FOLDER_TEST_CYCLE
    #: A kind ztoq has no tree for (the folder is known, so references to it resolve).
    OTHER = "OTHER"


class ScriptKind(StrEnum):
    """How a test case written as one text (not as steps) is written."""

    PLAIN = ZEPHYR_SCRIPT_PLAIN
    BDD = ZEPHYR_SCRIPT_BDD


@dataclass(frozen=True)
class Ref:
    """A reference to another record, by its number, by its name (or key, or path), or by both.

    Zephyr Scale Cloud refers by number (``{"id": 10}``), Server by name (``"Approved"``, a folder
    path ``/A/B``, a test run key); a source fills what it has.
    """

    id: int | None = None
    name: str | None = None

    @property
    def key(self) -> str:
        """What lookup tables keyed by text find the record under: the number, else the name."""
        return str(self.id) if self.id is not None else self.name or ""

    @property
    def shown(self) -> int | str | None:
        """The reference as the source wrote it (the number, else the name), for messages."""
        return self.id if self.id is not None else self.name


@dataclass(frozen=True)
class Option:
    """One entry of a source lookup table: a status, a priority or an environment."""

    id: int | None
    name: str | None


@dataclass(frozen=True)
class Folder:
    """A folder of test cases, test plans or test cycles.

    Attributes:
        key: what records refer to it by (Cloud: its id as text; Server: its path).
        name: its own name (not the path).
        kind: the tree it belongs to; None when the source did not say (it then counts as a
            folder of every tree, as Zephyr Scale Cloud folders without ``folderType`` do).
        parent: the folder it sits in; None at the top.
        index: its position among its siblings.
        id: its number, when the source has one (siblings at the same index keep that order).
    """

    key: str
    name: str | None
    kind: FolderKind | None
    parent: Ref | None = None
    index: int = 0
    id: int | None = None


@dataclass(frozen=True)
class IssueLink:
    """A Jira issue a record links to.

    Attributes:
        key: the issue key ("PROJ-12"), when the source gave it.
        issue_id: the Jira issue id, when the source gave it (an extractor may know its key).
        type: the link type as the source names it ("COVERAGE", "RELATED", ...); "" when none.
        target: the issue's URL, when the source gave it.
    """

    key: str | None = None
    issue_id: int | None = None
    type: str = ""
    target: str | None = None

    @property
    def covers(self) -> bool:
        """True for a coverage link: the test case tests the issue (a requirement in qTest)."""
        return self.type.upper() == ZEPHYR_ISSUE_LINK_COVERAGE


@dataclass(frozen=True)
class WebLink:
    """A web link of a record."""

    url: str
    description: str | None = None


@dataclass(frozen=True)
class Links:
    """The Jira issue links and web links of a record."""

    issues: tuple[IssueLink, ...] = ()
    web_links: tuple[WebLink, ...] = ()


@dataclass(frozen=True)
class CallParameter:
    """A parameter a call-to-test step passes to the test case it calls."""

    name: str | None = None
    value: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class TestStep:
    """One step of a test case: written inline, or a call to another test case.

    Attributes:
        description: what to do (inline steps).
        test_data: the data to do it with (inline steps).
        expected_result: what should happen (inline steps).
        fields: the step's other members, in order (custom fields and source-only members such
            as Cloud's ``reflectRef``); empty values included, as the source sent them.
        called_test_case: the key of the test case a call step calls; None for an inline step.
        parameters: what a call step passes to the called test case.
    """

    __test__: ClassVar[bool] = False

    description: str | None = None
    test_data: str | None = None
    expected_result: str | None = None
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    called_test_case: str | None = None
    parameters: tuple[CallParameter, ...] = ()


@dataclass(frozen=True)
class TestDataVariable:
    """One column of a data-driven test case's test data (Zephyr Server's ``parameters.variables``).

    Attributes:
        name: the variable's name (steps refer to it as ``{name}``).
        type: how its values are given (``FREE_TEXT``, ``DATA_SET``), as the source names it.
        data_set: the named data set its values come from, for ``DATA_SET`` variables.
    """

    __test__: ClassVar[bool] = False

    name: str
    type: str | None = None
    data_set: str | None = None


@dataclass(frozen=True)
class TestData:
    """The test data of a data-driven test case: its variables and one row of values per run.

    Attributes:
        variables: the columns, in order.
        rows: one mapping of variable name -> value per data row, in order.
    """

    __test__: ClassVar[bool] = False

    variables: tuple[TestDataVariable, ...] = ()
    rows: tuple[Mapping[str, FieldValue], ...] = ()


@dataclass(frozen=True)
class TestScript:
    """A test case written as one text: a plain-text script or a BDD (Gherkin) scenario."""

    __test__: ClassVar[bool] = False

    kind: ScriptKind
    text: str


@dataclass(frozen=True)
class TestCase:
    """A test case (its latest version) with its steps or its script.

    Attributes:
        key: its key ("PROJ-T12"); None when the source gave none.
        id: its number, when the source has one.
        name: its name.
        folder: the test case folder it is in; None at the top.
        priority: its priority.
        status: its status.
        owner: the Jira account of its owner.
        component: its Jira component.
        labels: its labels.
        estimated_time: how long it takes, in milliseconds.
        created_on: when it was created (ISO-8601 text).
        objective: what it checks (rich text).
        precondition: what must hold before it runs (rich text).
        custom_fields: custom field name -> value, in the source's order.
        links: its Jira issue links (coverage among them) and web links.
        steps: its steps, in order (none for a script or an empty test case).
        script: its plain-text or BDD script, when it has one.
        test_data: its test data table (data-driven test cases of Zephyr Server), else None.
    """

    __test__: ClassVar[bool] = False

    key: str | None
    id: int | None = None
    name: str | None = None
    folder: Ref | None = None
    priority: Ref | None = None
    status: Ref | None = None
    owner: str | None = None
    component: Ref | None = None
    labels: tuple[str, ...] = ()
    estimated_time: int | None = None
    created_on: str | None = None
    objective: str | None = None
    precondition: str | None = None
    custom_fields: Mapping[str, FieldValue] = field(default_factory=dict)
    links: Links = field(default_factory=Links)
    steps: tuple[TestStep, ...] = ()
    script: TestScript | None = None
    test_data: TestData | None = None


@dataclass(frozen=True)
class TestPlan:
    """A test plan: a group of test cycles (a release in qTest).

    Attributes:
        test_cycles: the test cycles it links to (by number or by key).
        Others: as on :class:`TestCase`.
    """

    __test__: ClassVar[bool] = False

    key: str | None
    id: int | None = None
    name: str | None = None
    status: Ref | None = None
    owner: str | None = None
    labels: tuple[str, ...] = ()
    folder: Ref | None = None
    objective: str | None = None
    custom_fields: Mapping[str, FieldValue] = field(default_factory=dict)
    links: Links = field(default_factory=Links)
    test_cycles: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class TestCycle:
    """A test cycle (a test run in Zephyr Scale Server): where test cases are executed.

    Attributes:
        planned_start_date: when it is planned to start (ISO-8601 text).
        planned_end_date: when it is planned to end (ISO-8601 text).
        jira_version: the Jira version it tests.
        test_plans: the test plans it links to (by number or by key).
        Others: as on :class:`TestCase`.
    """

    __test__: ClassVar[bool] = False

    key: str | None
    id: int | None = None
    name: str | None = None
    status: Ref | None = None
    owner: str | None = None
    folder: Ref | None = None
    description: str | None = None
    planned_start_date: str | None = None
    planned_end_date: str | None = None
    jira_version: Ref | None = None
    custom_fields: Mapping[str, FieldValue] = field(default_factory=dict)
    links: Links = field(default_factory=Links)
    test_plans: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class StepResult:
    """The result of one step of an executed test case.

    Attributes:
        index: the step's position in the test case, from 0.
        status: the step's execution status.
        actual_result: what happened (rich text).
        description, test_data, expected_result: the step as it was executed.
        row: for a data-driven test case, the 0-based test data row the step ran with; None
            when the test case has no test data.
    """

    index: int
    status: Ref | None = None
    actual_result: str | None = None
    description: str | None = None
    test_data: str | None = None
    expected_result: str | None = None
    row: int | None = None


@dataclass(frozen=True)
class TestExecution:
    """One execution of one test case version (a test result in Zephyr Scale Server).

    Attributes:
        key: its key ("PROJ-E3"); None when the source gave none.
        id: its number, when the source has one.
        test_case_key: the key of the executed test case.
        test_case_version: the executed version of that test case.
        test_cycle: the test cycle it belongs to (by number or by key); None for an execution
            outside any cycle.
        status: its execution status.
        environment: the environment it ran in.
        actual_end_date: when it finished (ISO-8601 text); None when it never ran.
        execution_time: how long it took, in milliseconds.
        estimated_time: how long it was expected to take, in milliseconds.
        executed_by: the Jira account of the tester.
        assigned_to: the Jira account it was assigned to.
        comment: the tester's comment (rich text).
        jira_version: the Jira version it was executed for.
        automated: whether an automation tool reported it.
        custom_fields: custom field name -> value.
        links: the Jira issues it links to (defects).
        steps: the results of its steps, in step order.
    """

    __test__: ClassVar[bool] = False

    key: str | None
    id: int | None = None
    test_case_key: str | None = None
    test_case_version: str | None = None
    test_cycle: Ref | None = None
    status: Ref | None = None
    environment: Ref | None = None
    actual_end_date: str | None = None
    execution_time: int | None = None
    estimated_time: int | None = None
    executed_by: str | None = None
    assigned_to: str | None = None
    comment: str | None = None
    jira_version: Ref | None = None
    automated: bool = False
    custom_fields: Mapping[str, FieldValue] = field(default_factory=dict)
    links: Links = field(default_factory=Links)
    steps: tuple[StepResult, ...] = ()


@dataclass(frozen=True)
class SourceRecords:
    """Everything of one project a source adapter read, as canonical records (what transform plans)."""

    folders: tuple[Folder, ...] = ()
    statuses: tuple[Option, ...] = ()
    priorities: tuple[Option, ...] = ()
    environments: tuple[Option, ...] = ()
    test_cases: tuple[TestCase, ...] = ()
    test_plans: tuple[TestPlan, ...] = ()
    test_cycles: tuple[TestCycle, ...] = ()
    test_executions: tuple[TestExecution, ...] = ()


@dataclass(frozen=True)
class Attachment:
    """A file attached to a test case, a step, a plan, a cycle, an execution or a step result.

    Attributes:
        key: how ztoq keys it (unique in the project).
        owner_type: what it is attached to: ``test_case``, ``test_step``, ``test_plan``,
            ``test_cycle``, ``test_execution`` or ``execution_step``.
        owner_key: the key of the test case, plan, cycle or execution (of the step's, for steps).
        step_index: for steps, the step's 0-based position.
        name: the file name, as the source has it.
        size: its size in bytes (once downloaded, or as the source declared it), or None.
        content_type: its MIME type, or None.
        sha256: the SHA-256 of its content once it is in the local cache, else None.
        cache_path: where it is in the local cache (for the report), or None.
        reason: why it could not be downloaded, or None.
    """

    key: str
    owner_type: str
    owner_key: str
    step_index: int | None
    name: str
    size: int | None
    content_type: str | None
    sha256: str | None
    cache_path: str | None = None
    reason: str | None = None


_IMG_SRC = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*(['\"])(.*?)\1[^>]*>", re.IGNORECASE | re.DOTALL)


def embedded_image_urls(text: str) -> list[str]:
    """The ``src`` of every ``<img>`` embedded in an HTML text (rich-text fields), in order."""
    if "<img" not in text.lower():
        return []
    return [html.unescape(m.group(2)) for m in _IMG_SRC.finditer(text)]


def inline_image_id(url: str) -> str:
    """The source id of the attachment made of an image embedded in rich text (from its URL)."""
    return "inline-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
