"""The smaller sections of the configuration: Jira, the custom-field map, field types, notifications.

:mod:`ztoq.config` builds the whole configuration from these and re-exports them; they live here
to keep that module small. ``_Section`` is every section's base (unknown keys are refused).
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ztoq.vendor import QTEST_DATA_TYPE_NAMES, qtest_data_type


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _check_url(value: str, what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an http(s) URL such as https://example.com, not {value!r}")
    return value.rstrip("/")


class JiraConfig(_Section):
    """Jira's own REST API, read only by ``ztoq users plan`` to name the people Zephyr refers to.

    Jira Cloud: ``email`` + ``api_token`` (an Atlassian API token). Jira Server/Data Center:
    ``pat`` (a personal access token), or ``username`` + ``password``. Empty ``base_url``: no Jira.
    """

    base_url: str = ""
    email: str | None = None
    api_token: SecretStr | None = None
    pat: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v, "jira.base_url") if v else v

    @property
    def configured(self) -> bool:
        """True when a Jira site is set (its credentials are checked when it is used)."""
        return bool(self.base_url)


class CustomFieldMap(_Section):
    """The seed guide's custom_fields_map.yaml: Zephyr field name -> qTest field label, per entity."""

    test_case: dict[str, str] = Field(default_factory=dict)
    test_cycle: dict[str, str] = Field(default_factory=dict)
    test_execution: dict[str, str] = Field(default_factory=dict)
    test_plan: dict[str, str] = Field(default_factory=dict)


class FieldTypes(_Section):
    """``field_types``: the qTest data type ``ztoq fields apply`` gives a Zephyr field it creates.

    Per entity kind, Zephyr field name (as ``ztoq fields plan`` lists it) -> a data type name
    (text, text area, pick list, date, user list, rich text, number, checkbox, date time, url,
    multi-select) or its qTest code; it replaces the type the plan proposes from the values.
    """

    test_case: dict[str, str] = Field(default_factory=dict)
    test_cycle: dict[str, str] = Field(default_factory=dict)
    test_execution: dict[str, str] = Field(default_factory=dict)
    test_plan: dict[str, str] = Field(default_factory=dict)

    @field_validator("test_case", "test_cycle", "test_execution", "test_plan", mode="before")
    @classmethod
    def _known_types(cls, given: Any) -> Any:
        if not isinstance(given, dict):
            return given
        named: dict[str, str] = {}
        for name, value in given.items():
            code = qtest_data_type(value)
            if code is None:
                raise ValueError(
                    f"Zephyr field {name!r} names data type {value!r}, which qTest does not have; "
                    f"use one of {', '.join(QTEST_DATA_TYPE_NAMES.values())}"
                )
            named[str(name)] = QTEST_DATA_TYPE_NAMES[code]
        return named

    def code_of(self, kind: str, zephyr_field: str) -> int | None:
        """The data type code configured for ``zephyr_field`` of ``kind`` (names match in any case)."""
        configured: dict[str, str] = getattr(self, kind, {})
        wanted = zephyr_field.casefold()
        name = next((v for k, v in configured.items() if k.casefold() == wanted), None)
        return None if name is None else qtest_data_type(name)


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class NotificationsConfig(_Section):
    """A message to a chat or HTTP webhook when ``ztoq migrate run`` ends (``ztoq.report.notify``).

    The webhook URL is a secret (anyone holding it can post): it is read from the environment
    variable ``webhook_url_env`` names, never from the config file, and never logged.
    """

    #: The environment variable holding the webhook URL.
    webhook_url_env: str = "ZTOQ_WEBHOOK_URL"
    #: slack: a Slack incoming webhook (text and blocks); teams: a Microsoft Teams incoming webhook or
    #: workflow (an Adaptive Card); generic: a JSON document of the outcome.
    format: Literal["slack", "teams", "generic"] = "generic"
    #: always: after every run; failure: only after a run that did not pass.
    on: Literal["always", "failure"] = "always"
    #: Where readers find the report (a CI artifact page, a dashboard); ``${VAR}`` is expanded from
    #: the environment when the message is sent.
    report_url: str | None = None
    #: Seconds to wait for the receiver; a slow or dead one never holds up or fails the run.
    timeout: float = Field(10.0, gt=0, le=60)

    @model_validator(mode="before")
    @classmethod
    def _no_url_in_file(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "webhook_url" in data:
            raise ValueError(
                "webhook_url is a secret and is not read from the config; put it in the environment "
                "variable named by notifications.webhook_url_env (default ZTOQ_WEBHOOK_URL)"
            )
        if True in data:
            # YAML 1.1 reads an unquoted ``on:`` key as the boolean true.
            data = {("on" if key is True else key): value for key, value in data.items()}
        return data

    @field_validator("webhook_url_env")
    @classmethod
    def _env_name(cls, v: str) -> str:
        if not _ENV_NAME.fullmatch(v):
            raise ValueError("must name an environment variable (e.g. ZTOQ_WEBHOOK_URL), not hold a URL")
        return v
