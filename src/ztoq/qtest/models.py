"""Pydantic models of the qTest Manager v3 resources ztoq sends and reads, with their exact wire names.

Wire names come from qtest-manager-v3-models.derived.json: mostly snake_case, with a few
camelCase (``parentId``/``parentType``/``testCaseId`` on test runs and suites, ``instanceType``
on fields, ``submittedBy`` on test logs) and two hyphenated (``test-cycles``/``test-suites``
inside a test cycle). Python attribute names are snake_case; the wire names are aliases.

Reading is lenient (every field optional, unknown fields kept); writing is exact: build a model
and send :meth:`QTestModel.to_wire`, which uses the wire names and leaves out unset fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic import Field as WireField

from ztoq.errors import ApiError


class QTestModel(BaseModel):
    """Base of every qTest model."""

    model_config = ConfigDict(extra="allow", validate_by_name=True, validate_by_alias=True)
    __test__: ClassVar[bool] = False  # "Test*" classes are not pytest test classes

    def to_wire(self) -> dict[str, Any]:
        """The JSON body to send: wire names, no None values, dates as ISO 8601 strings."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Link(QTestModel):
    """A HATEOAS link: ``{rel, href}``."""

    rel: str | None = None
    href: str | None = None


class Linked(QTestModel):
    """Fields every qTest resource carries."""

    id: int | None = None
    links: list[Link] | None = None


class Property(QTestModel):
    """A field value of a test case, run, release, suite or requirement.

    ``field_value`` is a string on the wire: multi-value fields are written ``"[1,2]"``.
    """

    field_id: int | None = None
    field_name: str | None = None
    field_value: str | None = None
    field_value_name: str | None = None

    @field_validator("field_value", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        # Some servers answer numbers or lists for pick-list fields; keep them in wire form.
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, list):
            return "[" + ",".join(str(v) for v in value) + "]"
        return value


class AllowedValue(QTestModel):
    """One option of a pick-list field."""

    value: int | None = None
    label: str | None = None
    color: str | None = None
    is_active: bool | None = None
    is_default: bool | None = None
    order: int | None = None
    links: list[Link] | None = None


class Field(Linked):
    """A field of an object type (system or custom)."""

    label: str | None = None
    original_name: str | None = None
    data_type: int | None = None
    instance_type: str | None = WireField(None, alias="instanceType")
    required: bool | None = None
    constrained: bool | None = None
    multiple: bool | None = None
    searchable: bool | None = None
    system_field: bool | None = None
    is_active: bool | None = None
    default_value: str | None = None
    order: int | None = None
    allowed_values: list[AllowedValue] | None = None


class Status(Linked):
    """A test run execution status (``id`` alone when sent inside a test log)."""

    name: str | None = None
    color: str | None = None
    is_default: bool | None = None
    active: bool | None = None


class User(Linked):
    """A qTest user."""

    username: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    status: int | None = None
    ldap_username: str | None = None
    external_user_name: str | None = None
    avatar: str | None = None


class Project(Linked):
    """A qTest project."""

    name: str | None = None
    description: str | None = None
    status_id: int | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    automation: bool | None = None
    uuid: str | None = None


class Artifact(Linked):
    """Fields every tree object has (modules, test cases, releases, cycles, suites, runs, requirements)."""

    pid: str | None = None
    name: str | None = None
    order: int | None = None
    created_date: datetime | None = None
    last_modified_date: datetime | None = None


class Module(Artifact):
    """A module (folder) of test cases."""

    description: str | None = None
    parent_id: int | None = None
    shared: bool | None = None
    recursive: bool | None = None
    children: list[Module] | None = None


class TestStep(Linked):
    """One step of a test case (or a call to another test case)."""

    description: str | None = None
    expected: str | None = None
    order: int | None = None
    group: int | None = None
    called_test_case_id: int | None = None
    called_test_case_name: str | None = None
    parent_test_step_id: int | None = None
    root_called_test_case_id: int | None = None
    plain_value_text: str | None = None
    parameter_values: list[str] | None = None


class TestCase(Artifact):
    """A test case (``TestCaseWithCustomFieldResource``)."""

    web_url: str | None = None
    description: str | None = None
    precondition: str | None = None
    parent_id: int | None = None
    properties: list[Property] | None = None
    test_steps: list[TestStep] | None = None
    version: str | None = None
    test_case_version_id: int | None = None
    creator_id: int | None = None
    agent_ids: list[int] | None = None


class Release(Artifact):
    """A release."""

    web_url: str | None = None
    description: str | None = None
    note: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    properties: list[Property] | None = None


class TestSuite(Artifact):
    """A test suite; its parent is given by ``parentId``/``parentType`` (root, release, test-cycle)."""

    parent_id: int | None = WireField(None, alias="parentId")
    parent_type: str | None = WireField(None, alias="parentType")
    properties: list[Property] | None = None
    target_release_id: int | None = None
    target_build_id: int | None = None
    web_url: str | None = None


class TestCycle(Artifact):
    """A test cycle; ``test-cycles``/``test-suites`` hold its children when expanded."""

    description: str | None = None
    target_release_id: int | None = None
    target_build_id: int | None = None
    web_url: str | None = None
    test_cycles: list[TestCycle] | None = WireField(None, alias="test-cycles")
    test_suites: list[TestSuite] | None = WireField(None, alias="test-suites")


class ShortTestLog(QTestModel):
    """The latest test log summary inside a test run (``status`` is the status name here)."""

    id: int | None = None
    status: str | None = None
    exe_start_date: datetime | None = None
    exe_end_date: datetime | None = None


class TestRun(Artifact):
    """A test run of one test case under a release, cycle or suite."""

    parent_id: int | None = WireField(None, alias="parentId")
    parent_type: str | None = WireField(None, alias="parentType")
    test_case_id: int | None = WireField(None, alias="testCaseId")
    test_case: TestCase | None = None
    test_case_version_id: int | None = None
    test_case_version: str | None = None
    properties: list[Property] | None = None
    automation: str | None = None
    latest_test_log: ShortTestLog | None = None
    creator_id: int | None = None


class LinkedDefect(Linked):
    """A defect linked to a test log or step log."""

    pid: str | None = None
    summary: str | None = None
    description: str | None = None
    status: str | None = None
    web_url: str | None = None
    external_defect_id: str | None = None
    external_project_id: str | None = None
    connection_id: int | None = None


class Attachment(Linked):
    """An attachment; ``data`` is base64 when an attachment is sent inside a test log."""

    name: str | None = None
    content_type: str | None = None
    data: str | None = None
    artifact_id: int | None = None
    web_url: str | None = None
    created_date: datetime | None = None


class TestStepLog(QTestModel):
    """The result of one step inside a test log."""

    test_step_id: int | None = None
    test_step_log_id: int | None = None
    called_test_case_id: int | None = None
    parent_test_step_id: int | None = None
    status: Status | None = None
    actual_result: str | None = None
    expected_result: str | None = None
    description: str | None = None
    order: int | None = None
    group: int | None = None
    exe_date: datetime | None = None
    user_id: int | None = None
    defects: list[LinkedDefect] | None = None
    links: list[Link] | None = None


class _TestLogFields(Linked):
    """What a test log has, submitted or read back."""

    name: str | None = None
    status: Status | None = None
    exe_start_date: datetime | None = None
    exe_end_date: datetime | None = None
    note: str | None = None
    test_step_logs: list[TestStepLog] | None = None
    defects: list[LinkedDefect] | None = None
    properties: list[Property] | None = None
    attachments: list[Attachment] | None = None
    planned_exe_time: int | None = None
    actual_exe_time: int | None = None
    build_number: str | None = None
    build_url: str | None = None
    result_number: int | None = None
    test_case_version_id: int | None = None


class ManualTestLog(_TestLogFields):
    """A manual test log as submitted (``ManualTestLogResource``); ``status`` needs only ``id``."""

    submitted_by: str | None = WireField(None, alias="submittedBy")


class TestLog(_TestLogFields):
    """A test log as read back (``TestLogResource``)."""

    test_case: TestCase | None = None
    test_run_id: int | None = None


class Requirement(Artifact):
    """A requirement."""

    parent_id: int | None = None
    web_url: str | None = None
    properties: list[Property] | None = None


class OAuthToken(QTestModel):
    """The answer of ``POST /oauth/token``."""

    access_token: str | None = None
    token_type: str | None = None
    refresh_token: str | None = None
    expires_in: int | None = None
    scope: str | None = None
    agent: str | None = None


T = TypeVar("T")


class Page(QTestModel, Generic[T]):
    """The ``{links, page, page_size, total, items}`` envelope of test runs, test logs and search."""

    page: int | None = None
    page_size: int | None = None
    total: int | None = None
    items: list[T] = WireField(default_factory=list)
    links: list[Link] | None = None


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], raw: Any) -> M:
    """Validate one qTest answer, with a one-sentence error naming the resource and the field.

    Raises:
        ApiError: When the answer cannot be read as ``model``.
    """
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(answer)"
        raise ApiError(
            f"qTest returned a {model.__name__} ztoq cannot read: field '{loc}': {err['msg']}.", api="qTest"
        ) from None


def parse_list(model: type[M], raw: Any) -> list[M]:
    """Validate a JSON array of ``model`` (None reads as empty)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError(
            f"qTest answered with {type(raw).__name__} where a list of {model.__name__} was expected.",
            api="qTest",
        )
    return [parse(model, item) for item in raw]
