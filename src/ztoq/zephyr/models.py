"""Pydantic models of the Zephyr Scale Cloud v2 entities, as lenient as the real API requires.

Only the OpenAPI ``required`` fields are required; every other field is optional and may be
null (the live API sends ``null`` for unset links and dates); unknown fields are kept. Input
constraints (patterns, minimums) are not re-checked: a value ztoq cannot interpret is the
transform phase's problem, not a reason to lose it. Python names are snake_case; the wire
names (camelCase, ``self``) are aliases, so ``model_dump(by_alias=True)`` gives the API's JSON.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from ztoq.errors import ApiError

CustomFields = dict[str, Any]


class ZephyrModel(BaseModel):
    """Base of every Zephyr model: camelCase aliases, unknown fields kept."""

    model_config = ConfigDict(
        extra="allow", alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )
    __test__: ClassVar[bool] = False  # "Test*" classes are not pytest test classes


class Link(ZephyrModel):
    """``{self}``: the URL of a resource."""

    self_url: str | None = Field(None, alias="self")


class ResourceLink(Link):
    """``{id, self}``: a reference to another resource (project, status, folder, ...)."""

    id: int


class JiraUserLink(Link):
    """``{accountId, self}``: a Jira user."""

    account_id: str


class TestCaseVersionLink(Link):
    """``{id, self}`` where ``self`` ends in ``/testcases/{key}/versions/{n}``."""

    id: int | None = None


class TestCycleLink(Link):
    """``{id, self}`` of the test cycle an execution belongs to."""

    id: int | None = None


class IssueLink(Link):
    """A Jira issue linked to a test case, cycle, plan or execution."""

    issue_id: int
    id: int | None = None
    target: str | None = None
    type: str | None = None


class WebLink(Link):
    """A web link of a test case, cycle or plan."""

    url: str
    description: str | None = None
    id: int | None = None
    type: str | None = None


class TestCycleTestPlanLink(Link):
    """A test plan a test cycle is linked to."""

    id: int
    test_plan_id: int | None = None
    type: str | None = None
    target: str | None = None


class TestPlanTestCycleLink(Link):
    """A test cycle a test plan is linked to."""

    id: int
    test_cycle_id: int | None = None
    type: str | None = None
    target: str | None = None


class TestCaseLinks(Link):
    """``GET /testcases/{key}/links`` and ``TestCase.links``."""

    issues: list[IssueLink] | None = None
    web_links: list[WebLink] | None = None


class TestCycleLinks(Link):
    """``GET /testcycles/{idOrKey}/links`` and ``TestCycle.links``."""

    issues: list[IssueLink] | None = None
    web_links: list[WebLink] | None = None
    test_plans: list[TestCycleTestPlanLink] | None = None


class TestPlanLinks(ZephyrModel):
    """``TestPlan.links``."""

    web_links: list[WebLink] | None = None
    issues: list[IssueLink] | None = None
    test_cycles: list[TestPlanTestCycleLink] | None = None


class TestExecutionLinks(Link):
    """``GET /testexecutions/{idOrKey}/links`` and ``TestExecution.links``."""

    issues: list[IssueLink] | None = None


class Project(ZephyrModel):
    """A Jira project with Zephyr Scale enabled."""

    id: int
    jira_project_id: int
    key: str
    enabled: bool


class Folder(ZephyrModel):
    """A folder of test cases, plans or cycles.

    The spec lists ``parentId`` as required, but root folders carry ``parentId: null``; a
    missing one is read as a root folder too.
    """

    id: int
    name: str
    index: int
    folder_type: str
    parent_id: int | None = None
    project: ResourceLink | None = None


class OptionValue(ZephyrModel):
    """A project-level option: status, priority or environment."""

    id: int
    index: int
    name: str
    project: ResourceLink
    description: str | None = None


class Status(OptionValue):
    """A status of test cases, plans, cycles or executions."""

    color: str | None = None
    archived: bool | None = None
    default: bool | None = None


class Priority(OptionValue):
    """A test case priority."""

    color: str | None = None
    default: bool | None = None


class Environment(OptionValue):
    """A test execution environment."""

    archived: bool | None = None


class TestCase(ZephyrModel):
    """A test case (the latest version, or one version from ``/versions/{n}``)."""

    id: int
    key: str
    name: str
    project: ResourceLink
    priority: ResourceLink
    status: ResourceLink
    created_on: datetime | None = None
    objective: str | None = None
    precondition: str | None = None
    estimated_time: int | None = None
    labels: list[str] | None = None
    component: ResourceLink | None = None
    folder: ResourceLink | None = None
    owner: JiraUserLink | None = None
    test_script: Link | None = None
    custom_fields: CustomFields | None = None
    links: TestCaseLinks | None = None


class TestScript(ZephyrModel):
    """A plain-text or BDD test script (``GET /testcases/{key}/testscript``)."""

    type: str
    text: str
    id: int | None = None


class InlineStep(ZephyrModel):
    """The inline definition of a test step."""

    description: str | None = None
    test_data: str | None = None
    expected_result: str | None = None
    custom_fields: CustomFields | None = None
    reflect_ref: str | None = None


class CallParameter(ZephyrModel):
    """A parameter passed to a called test case."""

    name: str | None = None
    type: str | None = None
    value: str | None = None


class CallToTestCase(Link):
    """A test step delegating to another test case."""

    test_case_key: str
    parameters: list[CallParameter] | None = None


class TestStep(ZephyrModel):
    """One step of a step-by-step script: ``inline`` or a call to another test case (``testCase``)."""

    inline: InlineStep | None = None
    test_case: CallToTestCase | None = None

    @property
    def is_call(self) -> bool:
        """True when the step calls another test case."""
        return self.test_case is not None


class TestCycle(ZephyrModel):
    """A test cycle."""

    id: int
    key: str
    name: str
    project: ResourceLink
    status: ResourceLink
    jira_project_version: ResourceLink | None = None
    folder: ResourceLink | None = None
    description: str | None = None
    planned_start_date: datetime | None = None
    planned_end_date: datetime | None = None
    owner: JiraUserLink | None = None
    custom_fields: CustomFields | None = None
    links: TestCycleLinks | None = None


class TestPlan(ZephyrModel):
    """A test plan."""

    id: int
    key: str
    name: str
    project: ResourceLink
    status: ResourceLink
    objective: str | None = None
    folder: ResourceLink | None = None
    owner: JiraUserLink | None = None
    custom_fields: CustomFields | None = None
    labels: list[str] | None = None
    links: TestPlanLinks | None = None


class TestExecution(ZephyrModel):
    """A test execution (a result of running one test case version)."""

    id: int
    project: ResourceLink
    test_case: TestCaseVersionLink
    test_execution_status: ResourceLink
    key: str | None = None
    environment: ResourceLink | None = None
    jira_project_version: ResourceLink | None = None
    actual_end_date: datetime | None = None
    estimated_time: int | None = None
    execution_time: int | None = None
    executed_by_id: str | None = None
    assigned_to_id: str | None = None
    comment: str | None = None
    automated: bool | None = None
    test_cycle: TestCycleLink | None = None
    custom_fields: CustomFields | None = None
    links: TestExecutionLinks | None = None

    def test_case_version(self) -> tuple[str, int] | None:
        """``(test case key, version)`` from ``testCase.self``, or None when it cannot be read."""
        if not self.test_case.self_url:
            return None
        try:
            return parse_version_url(self.test_case.self_url)
        except ValueError:
            return None


class InlineExecutionStep(ZephyrModel):
    """The inline part of an execution step: what was expected and what happened."""

    description: str | None = None
    test_data: str | None = None
    expected_result: str | None = None
    actual_result: str | None = None
    test_data_row_number: int | None = None
    reflect_ref: str | None = None
    status: ResourceLink | None = None


class TestExecutionStep(ZephyrModel):
    """One step result of a test execution."""

    inline: InlineExecutionStep | None = None


class CreatedResource(Link):
    """The answer to a create: ``{id, self}`` plus ``key`` for keyed entities."""

    id: int | None = None
    key: str | None = None


T = TypeVar("T")


class OffsetPage(ZephyrModel, Generic[T]):
    """A ``startAt``/``maxResults`` page."""

    start_at: int
    max_results: int
    total: int | None = None
    is_last: bool | None = None
    next: str | None = None
    values: list[T] = Field(default_factory=list)


class CursorPage(ZephyrModel, Generic[T]):
    """A NextGen ``limit``/``startAtId`` page; ``nextStartAtId`` is null on the last page."""

    limit: int
    next_start_at_id: int | None
    next: str | None = None
    values: list[T] = Field(default_factory=list)


_VERSION_PATH = re.compile(r"/testcases/(?P<key>[^/]+)/versions/(?P<version>\d+)/*$", re.IGNORECASE)

M = TypeVar("M", bound=BaseModel)


def parse_version_url(url: str) -> tuple[str, int]:
    """Read ``(test case key, version)`` from a test case version URL.

    Accepts any host, base path, trailing slash and percent-encoding, e.g.
    ``https://api.zephyrscale.smartbear.com/v2/testcases/PROJ-T1/versions/3/`` -> ``("PROJ-T1", 3)``.

    Raises:
        ValueError: When the URL does not end in ``/testcases/{key}/versions/{n}``.
    """
    path = urlsplit(url.strip()).path
    match = _VERSION_PATH.search(path)
    if match is None:
        raise ValueError(f"not a Zephyr test case version URL: {url!r}")
    return unquote(match["key"]), int(match["version"])


def parse(model: type[M], raw: Any, *, what: str | None = None) -> M:
    """Validate one raw payload, with a one-sentence error naming the entity and the field.

    Raises:
        ApiError: When the payload lacks a required field or has one of the wrong type.
    """
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(payload)"
        ident = raw.get("key") or raw.get("id") if isinstance(raw, dict) else None
        name = what or model.__name__
        raise ApiError(
            f"Zephyr returned a {name}{f' ({ident})' if ident else ''} ztoq cannot read: "
            f"field '{loc}': {err['msg']}.",
            api="Zephyr",
        ) from None
